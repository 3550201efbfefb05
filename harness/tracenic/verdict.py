"""Verdicts come from dmacheck; this only runs it and compares with the expectation."""
import dataclasses
import json
import subprocess
from pathlib import Path

from . import paths


def known_rules() -> set[str]:
    out = subprocess.run([str(paths.DMACHECK), "--list-rules"], capture_output=True,
                         text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@dataclasses.dataclass
class Verdict:
    status: int                 # dmacheck's exit status: 0 clean, 1 violations, 2 unreadable
    rules: frozenset[str]
    report: dict | None
    error: str


def check(trace: Path, artifacts: Path) -> Verdict:
    if not trace.exists():
        return Verdict(2, frozenset(), None, f"no trace file at {trace}")
    run = subprocess.run([str(paths.DMACHECK), "--json", "--perfetto",
                          str(artifacts / "timeline.json"), str(trace)],
                         capture_output=True, text=True)
    (artifacts / "dmacheck.json").write_text(run.stdout)
    text = subprocess.run([str(paths.DMACHECK), str(trace)], capture_output=True, text=True)
    (artifacts / "dmacheck.txt").write_text(text.stdout + text.stderr)
    if run.returncode == 2:
        return Verdict(2, frozenset(), None, run.stderr.strip())
    report = json.loads(run.stdout)
    return Verdict(run.returncode, frozenset(report["rules"]), report, "")
