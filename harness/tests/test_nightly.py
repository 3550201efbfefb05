"""The nightly command end to end: the whole default matrix, every verdict asserted."""
import json
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import qemu_processes, tracenic_domains
from tracenic import paths, scenario
from tracenic.contract import C

CLI = Path(__file__).resolve().parents[1] / "tracenic-cli"
PER_SCENARIO = ("console.log", "results.txt", "trace.bin", "dmacheck.txt", "dmacheck.json",
                "timeline.json", "traffic.pcap", "qemu-stderr.log")


def test_matrix_every_verdict_as_expected(built, libvirtd, tmp_path):
    expected = {s.name: s for s in scenario.load_dir(paths.SCENARIOS)}
    start = time.monotonic()
    run = subprocess.run(["/usr/bin/python3", str(CLI), "run", "--report-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=1200)
    took = time.monotonic() - start
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {r["name"] for r in summary["results"]} == set(expected)
    for r in summary["results"]:
        s = expected[r["name"]]
        assert r["ok"], r
        assert set(r["got"]) == s.expect_rules, r
        assert r["backend"] == s.machine.backend
        for f in PER_SCENARIO:
            assert (tmp_path / r["name"] / f).exists(), f"{r['name']}/{f} missing"
        assert (tmp_path / r["name"] / "trace.bin").stat().st_size > C.TN_TRACE_HEADER_SIZE
    # the stale reference: the frame lands in a page mapped again, and the report says so
    stale = (tmp_path / "bug-rx-realloc-posted" / "dmacheck.txt").read_text()
    assert "on this region, which was freed since): the bytes" in stale
    assert "  now      the bytes belong to live region id" in stale
    # one progress line per scenario, then the total
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("  [")]
    assert len(lines) == len(expected) and all(" PASS " in ln for ln in lines)
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("tests") == str(len(expected)) and suite.get("failures") == "0"
    assert "failed" in (tmp_path / "index.html").read_text()
    assert not qemu_processes(str(tmp_path)) and not tracenic_domains()
    print(f"matrix: {len(expected)} scenarios in {took:.0f} s")


def test_a_wrong_expectation_fails_the_run(built, tmp_path):
    # The same scenario, expecting what it does not do: the verdict must say so, exit 1.
    scen = tmp_path / "scenarios"
    scen.mkdir()
    text = (paths.SCENARIOS / "bug-leak-on-halt.toml").read_text()
    (scen / "bug-leak-on-halt.toml").write_text(text.replace('rules = ["leak"]', 'rules = []'))
    report = tmp_path / "report"
    run = subprocess.run(["/usr/bin/python3", str(CLI), "--scenarios", str(scen), "run",
                          "--report-dir", str(report)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAIL bug-leak-on-halt" in run.stdout
    assert "expected clean, dmacheck reported leak" in run.stdout
    suite = ET.parse(report / "junit.xml").getroot()
    assert suite.get("failures") == "1"
