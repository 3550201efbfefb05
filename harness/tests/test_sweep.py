"""The race sweep (docs/sweep.md): seeded schedules, fingerprints, and a real sweep that must
find a seeded timing-only bug, re-run its finding to the same fingerprint, and leave the
correct driver clean under the same schedule."""
import dataclasses
import json
import subprocess
import sys
import time

from tracenic import contract, paths, scenario, sweep

CLI = [sys.executable, str(paths.TOP / "harness" / "tracenic-cli")]


def _scenario(name: str) -> scenario.Scenario:
    return scenario.load(paths.SCENARIOS / f"{name}.toml")


def test_same_seed_same_schedule_and_seeds_differ():
    s = _scenario("correct-free-paths")
    a = [sweep.schedule(7, n, s) for n in range(50)]
    assert a == [sweep.schedule(7, n, s) for n in range(50)]
    assert a != [sweep.schedule(8, n, s) for n in range(50)]
    assert len({tuple(x) for x in a}) == 50        # every run its own schedule
    # ... and in another process (no hash randomisation reaches it)
    code = ("import sys, json, dataclasses; sys.path.insert(0, 'harness');"
            "from tracenic import scenario, sweep, paths;"
            "s = scenario.load(paths.SCENARIOS / 'correct-free-paths.toml');"
            "print(json.dumps([dataclasses.asdict(e) for e in sweep.schedule(7, 3, s)]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=paths.TOP, capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == [dataclasses.asdict(e) for e in a[3]]


def test_schedules_use_the_devices_properties_in_range():
    props = set(contract.table("tn_prop_name").values())
    s = _scenario("correct-free-paths")
    events = [e for n in range(300) for e in sweep.schedule(1, n, s)]
    assert {e.do for e in events} == {"set", "burst", "link"}
    assert {e.prop for e in events if e.do == "set"} == props
    for e in events:
        assert 0 <= e.step < len(s.steps) and 0 <= e.after_ms <= sweep.AFTER_MS_MAX
        if e.prop == "prefetch":
            assert 0 <= e.value <= contract.const("TN_PREFETCH_MAX")
        elif e.prop.endswith("-ns"):
            assert 0 <= e.value <= sweep.DELAY_MAX_NS
    delays = [e.value for e in events if e.prop.endswith("-ns")]
    assert 0 in delays and max(delays) > 1_000_000 and min(d for d in delays if d) < 10_000
    # a QEMU model traced through the kit has no properties of its own: bursts and flaps
    e1000e = _scenario("e1000e-agent-free-paths")
    assert {e.do for n in range(100) for e in sweep.schedule(1, n, e1000e)} == {"burst", "link"}


def _violation(rule, alloc=0x202e9, free=0x2018f, cause="tx-buf-read", refs=()):
    v = {"rule": rule, "region": {"api": "DMA mapping", "alloc_site": alloc, "free_site": free}}
    if cause:
        v["dma"] = {"cause": cause}
    else:
        v["device"] = {"refs": [{"kind": k} for k in refs]}
    return v


def test_fingerprints_name_rule_region_sites_and_cause():
    report = {"violations": [
        _violation("dma-after-free"), _violation("dma-after-free"),       # once per run
        _violation("free-not-quiesced", cause="", refs=("prefetched buffer", "in-flight transfer")),
        _violation("unmap-unknown", alloc=0xc0247e55, free=0xc0247f00, cause="")]}
    sites = {"0xffffffffc0247e55": "e1000_alloc_rx_buffers+0x55/0x400 [e1000e]"}
    fps = sweep.fingerprints(report, sites)
    assert fps[0] == {"rule": "dma-after-free", "region": "DMA mapping", "alloc_site": "2:745",
                      "free_site": "2:399", "cause": "tx-buf-read"}
    assert fps[2]["cause"] == "in-flight transfer+prefetched buffer"
    # agent sites by symbol (KASLR moves the address), unknown ones by address
    assert fps[3]["alloc_site"] == "e1000_alloc_rx_buffers+0x55"
    assert fps[3]["free_site"] == "0xffffffffc0247f00"
    ids = [sweep.fingerprint_id(fp) for fp in fps]
    assert ids[0] == ids[1] and len(set(ids)) == 3 and ids[0].startswith("dma-after-free-")
    # a different free site is a different finding
    other = sweep.fingerprints({"violations": [_violation("dma-after-free", free=0x20190)]}, {})
    assert sweep.fingerprint_id(other[0]) != ids[0]

    s = _scenario("bug-tx-reclaim-past-done")
    run = {"why_code": "rules", "sites": sites}
    found = sweep.run_findings(s, run, report)
    assert len(found) == 3 and [f["expected"] for f in found] == [True, True, False]
    # a ping that failed during a link flap is not a finding; a hung guest is
    assert sweep.run_findings(s, {"why_code": "failed-step"}, None) == []
    hung = sweep.run_findings(s, {"why_code": "hung"}, None)
    assert [f["rule"] for f in hung] == ["hung"] and not hung[0]["expected"]
    assert "the run itself failed" in sweep.describe(hung[0])
    wild = sweep.fingerprints({"violations": [{"rule": "wild-dma", "region": None,
                                               "dma": {"cause": "rx-buf-write"}}]}, {})
    assert sweep.describe(wild[0]) == "wild-dma, by rx-buf-write"
    assert sweep.describe(fps[0]) == ("dma-after-free on DMA mapping allocated at 2:745, "
                                      "freed at 2:399, by tx-buf-read")


def test_sweep_finds_the_timing_only_bug_and_reruns_it(built, tmp_path):
    """A short sweep over a timing-only bug must find it; its finding re-runs to the same
    fingerprint; the same schedule on the correct driver (the bug mode off) is clean."""
    name = "bug-tx-reclaim-past-done"
    s = _scenario(name)
    plain = subprocess.run(CLI + ["run", "-j", "1", "--report-dir", str(tmp_path / "plain"),
                                  name], capture_output=True, text=True)
    assert plain.returncode == 0, plain.stdout + plain.stderr     # clean without a sweep
    out = tmp_path / "sweep"
    r = subprocess.run(CLI + ["sweep", "--minutes", "4", "--seed", "1", "--until-found",
                              "--dir", str(out), name], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["findings"] and all(f["expected"] for f in summary["findings"]), r.stdout
    assert {f["fingerprint"]["rule"] for f in summary["findings"]} <= s.expect_sweep
    f = summary["findings"][0]
    d = out / "findings" / f["id"]
    assert (d / "run" / "dmacheck.txt").exists() and (d / "run" / "sweep-events.log").exists()
    assert f["schedule"] == [dataclasses.asdict(e) for e in sweep.schedule(1, f["run"], s)]
    assert "tracenic-cli sweep --rerun" in r.stdout

    again = subprocess.run(CLI + ["sweep", "--rerun", str(d), "--dir", str(tmp_path / "re")],
                           capture_output=True, text=True)
    assert again.returncode == 0 and "reproduced at attempt" in again.stdout, \
        again.stdout + again.stderr

    # near-miss twin: the finding's schedule, the same steps, the bug mode off
    twin = dataclasses.replace(s, name="twin", steps=[
        "load" if st.startswith("load") else st for st in s.steps], expect_sweep=frozenset())
    events = [sweep.Event(**e) for e in f["schedule"]]
    result, report = sweep.run_scheduled(twin, events, tmp_path / "twin")
    assert sweep.run_findings(twin, result, report) == [], result["why"]
    assert (tmp_path / "twin" / "sweep-events.log").read_text().count("qom-set") >= 1


def test_a_row_of_harness_errors_stops_the_sweep(tmp_path, monkeypatch):
    """Runs that fail at once (QEMU missing, or rebuilt under the sweep) must not spin."""
    def broken(*_args):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(sweep, "run_scheduled", broken)
    sw = sweep.Sweep([_scenario("boot-clean")], 1, 5, 2, tmp_path, progress=lambda _l: None)
    start = time.monotonic()
    s = sw.run()
    assert time.monotonic() - start < 30            # not the 5 minutes asked for
    assert s["runs"] == 0 and len(s["harness_errors"]) >= sweep.HARNESS_ERRORS_IN_A_ROW + 1
    assert any("the sweep stopped" in e for e in s["harness_errors"])
