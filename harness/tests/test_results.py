"""Parsing the guest runner's TNR lines."""
from tracenic import results
from tracenic.contract import C

VENDOR, DEVICE = f"0x{C.TN_PCI_VENDOR_ID:04x}", f"0x{C.TN_PCI_DEVICE_ID:04x}"
SAMPLE = f"""\
SeaBIOS noise TNR-not-a-result
TNR pci 0000:00:02.0 {VENDOR} {DEVICE} 0x020000
TNR 1 load ok
TNR 2 ping fail 2 packets transmitted, 0 packets received, 100% packet loss
TNR ndis RULE free-flags id=3 site=0x10055 flags=0 expected=0x2
\x00\x00TNR oops BUG: unable to handle page fault for address: ffff
TNR 3 up ok
TNR what is this
TNR done
"""


def test_parse_everything():
    r = results.parse(SAMPLE)
    assert r.pci == [("0000:00:02.0", VENDOR, DEVICE, "0x020000")]
    assert [(s.number, s.name, s.ok) for s in r.steps] == [(1, "load", True), (2, "ping", False),
                                                          (3, "up", True)]
    assert r.failed_steps[0].detail.startswith("2 packets transmitted")
    assert r.ndis == ["RULE free-flags id=3 site=0x10055 flags=0 expected=0x2"]
    assert r.oops == ["BUG: unable to handle page fault for address: ffff"]
    assert r.garbage == ["what is this"]
    assert r.done
    assert r.lines[0].startswith("pci ") and r.lines[-1] == "done"


def test_no_done_means_the_guest_died():
    r = results.parse("TNR 1 load ok\nTNR 2 up ok\n")
    assert not r.done and len(r.steps) == 2


def test_missing_file(tmp_path):
    r = results.parse_file(tmp_path / "results.txt")
    assert not r.done and r.lines == []


def test_ledger_lines_and_a_line_cut_mid_write():
    r = results.parse("TNR ledger cmd=4 id=0x80000001 va=0x10 bus=0x0 len=98 ext=2\n"
                      "TNR ndis-summary allocs=3 frees=3 live=0\n"
                      "TNR ndis-result ok slot=0 freed free_delta_kb=2044 uncached=0\n"
                      "TNR ledger cmd=2 id=1 bus=")
    assert r.ledger == [{"cmd": 4, "id": 0x80000001, "va": 0x10, "bus": 0, "len": 98, "ext": 2}]
    assert r.ndis_summary == {"allocs": "3", "frees": "3", "live": "0"}
    assert r.ndis_results[0]["ok"] and r.ndis_results[0]["free_delta_kb"] == "2044"
    assert r.garbage == ["ledger cmd=2 id=1 bus="]


AGENT = """\
TNR site 0xc023c8c2 e1000_clean_rx_ring+0x1d2/0x390 [e1000e]
TNR dmar DMAR: [DMA Read NO_PASID] Request device [00:01.0] fault addr 0xffffe000 [fault reason 0x06] PTE Read access is not set
TNR oops WARNING: CPU: 0 PID: 17 at drivers/iommu/dma-iommu.c:1041 iommu_dma_unmap_page+0x79/0x90
TNR agent-missed dma_map_page_attrs: 2 calls missed
TNR agent-summary 1 mappings and allocations still live, 0 unmaps or frees of nothing mapped, 0 pages freed while mapped, 0 maps not fully indexed (table full), 2 calls missed by the probes
TNR dmabench 2000 map+unmap pairs in 123456 ns
TNR done
"""


def test_agent_lines_and_what_the_kernel_said():
    r = results.parse(AGENT)
    assert r.sites == {"0xffffffffc023c8c2": "e1000_clean_rx_ring+0x1d2/0x390 [e1000e]"}
    assert r.dmar and r.kernel_reports == {"dmar-fault", "warning"}
    assert r.agent_missed == 2 and r.agent_missed_by == ["dma_map_page_attrs: 2 calls missed"]
    assert "dmabench 2000 map+unmap pairs in 123456 ns" in r.lines
    assert results.parse("TNR oops BUG: x\nTNR oops Oops: y\n").kernel_reports == {"bug", "oops"}
    assert results.parse("TNR done\n").kernel_reports == frozenset()
    assert results.parse("TNR done\n").agent_missed == 0
