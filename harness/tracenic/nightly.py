"""Run scenarios, each in its own artifacts directory, and judge them."""
import concurrent.futures
import os
import time
from pathlib import Path

from . import report, verdict
from .scenario import Scenario
from .vm import pick_accel, run_guest


def run_one(s: Scenario, report_dir: Path, accel: str = "tcg") -> dict:
    """Boot, run, check; `why` says in one sentence what went wrong, if anything."""
    art = report_dir / s.name
    run = run_guest(art, s.steps, s.device, timeout=s.timeout, firmware=s.firmware,
                    iommu=s.iommu, accel=accel)
    v = verdict.check(run.trace, art)
    got = sorted(v.rules)
    why = ""
    panic = next((ln for ln in run.console.splitlines() if "Kernel panic" in ln), "")
    oops = next((r for r in run.results if r.startswith("oops ")), "")
    if panic:
        why = f"the guest panicked: {panic.strip()} (see console.log)"
    elif run.timed_out:
        why = f"the guest hung: no power-off within {s.timeout:.0f} s (see console.log)"
    elif not run.completed:
        why = (f"QEMU died before the scenario finished (exit status {run.exit_code}; "
               "see console.log and qemu-stderr.log)")
    elif oops:
        why = f"the guest kernel reported: {oops[5:]}"
    elif v.status == 2:
        why = f"dmacheck could not read the trace: {v.error}"
    elif v.rules != s.expect_rules:
        why = f"expected {sorted(s.expect_rules) or 'clean'}, dmacheck reported {got or 'clean'}"
    return {"name": s.name, "ok": not why, "why": why, "expected": sorted(s.expect_rules),
            "got": got, "seconds": run.seconds, "guest_results": run.results}


def run_all(scenarios: list[Scenario], report_dir: Path, jobs: int, progress) -> list[dict]:
    report_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    accel = pick_accel(report_dir)
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_one, s, report_dir, accel): s for s in scenarios}
        for f in concurrent.futures.as_completed(futures):
            r = f.result()
            results.append(r)
            progress(r)
    results.sort(key=lambda r: r["name"])
    report.write(report_dir, results, {"accel": accel, "jobs": jobs,
                                       "seconds": round(time.monotonic() - start, 1),
                                       "host_cpus": os.cpu_count()})
    return results
