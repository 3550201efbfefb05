"""The nightly command end to end on the shipped scenarios."""
import json
import subprocess
from pathlib import Path

CLI = Path(__file__).resolve().parents[1] / "tracenic-cli"


def test_run_writes_report_and_passes(tmp_path):
    run = subprocess.run(["/usr/bin/python3", str(CLI), "run", "--report-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed"] == 0 and summary["passed"] >= 2
    for r in summary["results"]:
        assert (tmp_path / r["name"] / "trace.bin").stat().st_size > 128
        assert (tmp_path / r["name"] / "timeline.json").exists()
    assert "PASS boot-clean" in run.stdout


def test_check_subcommand_exit_status(tmp_path):
    bad = tmp_path / "not-a-trace.bin"
    bad.write_bytes(b"x" * 200)
    assert subprocess.run(["/usr/bin/python3", str(CLI), "check", str(bad)],
                          capture_output=True).returncode == 2
