"""verdict.judge: what the guest kernel reported by itself must be what the scenario expects
(expect.kernel), an agent that missed a call fails the run, and code sites are named."""
import types

from tracenic import results, verdict


def run(tnr: str):
    return types.SimpleNamespace(errors=[], console="", timed_out=False, completed=True,
                                 exit_code=0, results=[], guest=results.parse(tnr + "TNR done\n"))


CLEAN = verdict.Verdict(0, frozenset(), {"verdict": "clean", "stats": {}}, "")
LEAK = verdict.Verdict(1, frozenset({"unmap-unknown"}), {"verdict": "violations", "stats": {}}, "")
WARN = "TNR oops WARNING: CPU: 0 PID: 17 at drivers/iommu/dma-iommu.c:1041\n"
DMAR = "TNR dmar DMAR: [DMA Read NO_PASID] Request device [00:01.0] fault addr 0xffffe000\n"


def test_kernel_reports_must_be_the_expected_ones():
    rules = frozenset({"unmap-unknown"})
    assert verdict.judge(rules, run(WARN), LEAK, 60, kernel=frozenset({"warning"})) == ""
    why = verdict.judge(rules, run(WARN), LEAK, 60)
    assert why.startswith("the guest kernel reported warning, the scenario expects nothing")
    assert "dma-iommu.c:1041" in why
    why = verdict.judge(rules, run(""), LEAK, 60, kernel=frozenset({"warning"}))
    assert why.startswith("the guest kernel reported nothing, the scenario expects warning")
    why = verdict.judge(frozenset(), run(DMAR), CLEAN, 60)
    assert "reported dmar-fault" in why and "fault addr 0xffffe000" in why


def test_an_agent_that_missed_a_call_fails_the_run():
    tnr = ("TNR agent-missed dma_map_page_attrs: 1 calls missed\n"
           "TNR agent-summary 1 mappings and allocations still live, 0 unmaps or frees of "
           "nothing mapped, 0 pages freed while mapped, 0 maps not fully indexed (table full), "
           "1 calls missed by the probes\n")
    why = verdict.judge(frozenset(), run(tnr), CLEAN, 60)
    assert why.startswith("the DMA-API agent missed 1 calls")
    assert "dma_map_page_attrs: 1 calls missed" in why


def test_code_sites_a_report_mentions_are_named():
    sites = {"0xffffffffc023c8c2": "e1000_clean_rx_ring+0x1d2/0x390 [e1000e]",
             "0xffffffffc0000001": "never_mentioned+0x0/0x1 [x]"}
    text = "free page freed(...) from site 0xffffffffc023c8c2\n"
    named = verdict.name_sites(text, sites)
    assert "0xffffffffc023c8c2  e1000_clean_rx_ring+0x1d2/0x390 [e1000e]" in named
    assert "never_mentioned" not in named
    assert verdict.name_sites("clean\n", sites) == ""
