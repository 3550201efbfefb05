"""Run scenarios, each in its own artifacts directory, judge them, write the report."""
import concurrent.futures
import dataclasses
import os
import time
import traceback
from pathlib import Path

from . import report, verdict, vm
from .scenario import Scenario


def machine_summary(s: Scenario, backend: str) -> str:
    m = s.machine
    iommu = ("intel-iommu strict" if m.iommu_strict else "intel-iommu") if m.iommu else "no iommu"
    return (f"{backend}, {m.firmware}, {iommu}, "
            f"{m.memory} MiB")


def run_one(s: Scenario, report_dir: Path, accel: str | None = None,
            libvirt_uri: str = vm.DEFAULT_LIBVIRT_URI, backend: str | None = None, *,
            art: Path | None = None, watch: vm.Watch | None = None,
            rx_port: int | None = None) -> dict:
    """Boot, run, check; `why` says in one sentence what went wrong, if anything, and
    `why_code` what kind of thing (verdict.WHY_CODES).  art: the run directory (default
    <report_dir>/<name>); watch, rx_port: vm.run_vm's (the sweep's schedule)."""
    art = art or report_dir / s.name
    machine = dataclasses.replace(s.machine, backend=backend or s.machine.backend)
    run = vm.run_vm(machine, s.steps, art, s.timeout, accel=accel, libvirt_uri=libvirt_uri,
                    watch=watch, rx_port=rx_port)
    v = verdict.check(run.trace, art, sites=run.guest.sites)
    code, why = verdict.judge_why(s.expect_rules, run, v, s.timeout, s.expect_ledger,
                                  s.expect_dma, s.expect_refs, s.expect_kernel)
    return {"name": s.name, "description": s.description, "ok": not why, "why": why,
            "why_code": code, "sites": run.guest.sites,
            "expected": sorted(s.expect_rules), "got": sorted(v.rules),
            "said": verdict.said(v.rules, (v.report or {}).get("verdict", "")),
            "seconds": round(run.seconds, 1), "backend": machine.backend,
            "accel": run.accel, "machine": machine_summary(s, machine.backend),
            "device": s.device, "steps": s.steps, "notes": run.notes,
            "failed_steps": [f"{st.number} {st.name}: {st.detail}"
                             for st in run.guest.failed_steps],
            "kernel": sorted(run.guest.kernel_reports),
            "guest_results": run.results}


def _crashed(s: Scenario, report_dir: Path, exc: BaseException) -> dict:
    """A harness bug must not hide the other scenarios' verdicts."""
    art = report_dir / s.name
    art.mkdir(parents=True, exist_ok=True)
    (art / "harness-error.txt").write_text("".join(traceback.format_exception(exc)))
    return {"name": s.name, "description": s.description, "ok": False,
            "why": f"the harness failed on this scenario: {exc!r} (see harness-error.txt)",
            "expected": sorted(s.expect_rules), "got": [], "said": "", "seconds": 0.0,
            "backend": s.machine.backend, "accel": "", "machine": "", "device": s.device,
            "steps": s.steps, "notes": [], "failed_steps": [], "guest_results": []}


def run_all(scenarios: list[Scenario], report_dir: Path, jobs: int, progress,
            libvirt_uri: str = vm.DEFAULT_LIBVIRT_URI, backend: str | None = None,
            meta: dict | None = None) -> list[dict]:
    report_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    accel = vm.pick_accel(report_dir)
    results = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(run_one, s, report_dir, None, libvirt_uri, backend): s
                   for s in scenarios}
        for f in concurrent.futures.as_completed(futures):
            try:
                r = f.result()
            except Exception as e:  # noqa: BLE001 - reported as that scenario's verdict
                r = _crashed(futures[f], report_dir, e)
            results.append(r)
            progress(r)
    except BaseException:
        # Ctrl-C / SIGTERM: start nothing new; the caller ends the running VMs
        # (vm.kill_all) and the workers then see them gone.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    results.sort(key=lambda r: r["name"])
    info = {"accel": accel, "jobs": jobs, "seconds": round(time.monotonic() - start, 1),
            "host_cpus": os.cpu_count(), "libvirt_uri": libvirt_uri}
    info.update(meta or {})
    report.write(report_dir, results, info)
    return results
