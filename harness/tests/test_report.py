"""The report writer: summary.json, junit.xml, index.html."""
import json
import xml.etree.ElementTree as ET

from tracenic import report


def result(name, ok, why="", expected=(), got=()):
    return {"name": name, "ok": ok, "why": why, "expected": list(expected), "got": list(got),
            "seconds": 2.5, "machine": "qemu, seabios, no iommu, 512 MiB", "notes": [],
            "failed_steps": [], "steps": ["load", "up"], "description": "d"}


def test_report_files(tmp_path):
    (tmp_path / "bad<one>").mkdir()
    (tmp_path / "bad<one>" / "dmacheck.txt").write_text("VIOLATION leak: <x>\n")
    (tmp_path / "bad<one>" / "timeline.json").write_text("{}")
    (tmp_path / "bad<one>" / "traffic.pcap").write_bytes(b"")
    results = [result("ok-one", True),
               result("bad<one>", False, "expected clean, dmacheck reported leak", got=["leak"])]
    report.write(tmp_path, results, {"accel": "tcg", "seconds": 12.5, "jobs": 2})

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["passed"] == 1 and summary["failed"] == 1
    assert summary["meta"]["accel"] == "tcg" and summary["results"][1]["got"] == ["leak"]

    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["ok-one"].find("failure") is None
    failure = cases["bad<one>"].find("failure")
    assert failure.get("message") == "expected clean, dmacheck reported leak"
    assert "VIOLATION leak: <x>" in cases["bad<one>"].findtext("system-out")

    page = (tmp_path / "index.html").read_text()
    assert "1 passed, 1 failed" in page
    assert "bad&lt;one&gt;" in page and "<one>" not in page
    assert 'href="bad&lt;one&gt;/timeline.json">Perfetto timeline</a>' in page
    assert 'traffic.pcap">pcap</a>' in page
    assert "VIOLATION leak: &lt;x&gt;" in page
    assert "console.log" not in page.split('id="bad&lt;one&gt;"')[1]   # only files that exist


def test_long_dmacheck_report_is_cut_in_junit(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "dmacheck.txt").write_text("v" * 20000)
    report.write(tmp_path, [result("x", False, "why")], {})
    out = ET.parse(tmp_path / "junit.xml").getroot().find("testcase/system-out").text
    assert "more bytes]" in out and len(out) < 8000
