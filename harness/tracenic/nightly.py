"""Run scenarios, each in its own artifacts directory, judge them, write the report."""
import concurrent.futures
import dataclasses
import os
import time
import traceback
from pathlib import Path

from . import qemu_cmd, replay, report, verdict, vm
from .scenario import Scenario


def machine_summary(s: Scenario, backend: str) -> str:
    m = s.machine
    iommu = ("intel-iommu strict" if m.iommu_strict else "intel-iommu") if m.iommu else "no iommu"
    return (f"{backend}, {m.firmware}, {iommu}, "
            f"{m.memory} MiB")


def run_one(s: Scenario, report_dir: Path, accel: str | None = None,
            libvirt_uri: str = vm.DEFAULT_LIBVIRT_URI, backend: str | None = None, *,
            art: Path | None = None, watch: vm.Watch | None = None,
            rx_port: int | None = None, record: bool = False) -> dict:
    """Boot, run, check; `why` says in one sentence what went wrong, if anything, and
    `why_code` what kind of thing (verdict.WHY_CODES).  art: the run directory (default
    <report_dir>/<name>); watch, rx_port: vm.run_vm's (the sweep's schedule); record:
    under QEMU's record/replay, leaving a bundle (`bundle`) that `replay` runs again."""
    art = art or report_dir / s.name
    machine = dataclasses.replace(s.machine, backend=backend or s.machine.backend)
    rec = None
    if record:
        if machine.backend != "qemu":
            raise ValueError(f"{s.name}: record/replay needs the qemu backend (libvirt owns "
                             "its QEMU's command line); run it with --backend qemu")
        rec = qemu_cmd.Record("record", qemu_cmd.file(art, "replay_log"))
        if rx_port is None and vm.guest_lines(s.steps)[1]:
            rx_port = vm.free_udp_port()      # known before the run: the bundle names it
    run = vm.run_vm(machine, s.steps, art, s.timeout, accel=accel, libvirt_uri=libvirt_uri,
                    watch=watch, rx_port=rx_port, record=rec)
    v = verdict.check(run.trace, art, sites=run.guest.sites)
    code, why = verdict.judge_why(s.expect_rules, run, v, s.timeout, s.expect_ledger,
                                  s.expect_dma, s.expect_refs, s.expect_kernel)
    bundle, bundle_note = None, None
    if rec is not None:
        if run.exit_code is None or not run.trace.exists():
            bundle_note = ("no bundle: the recorded run did not end by itself (a replay log "
                           "is complete only when QEMU exits)")
        else:
            bundle = str(replay.make_bundle(s, art, rx_port, run.seconds, machine))
    return {"name": s.name, "description": s.description, "ok": not why, "why": why,
            "bundle": bundle, "bundle_note": bundle_note,
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


RECORDED_SUFFIX = "-recorded"


def record_again(s: Scenario, report_dir: Path, first: dict, backend: str | None) -> dict:
    """Run a scenario whose verdict was not the expected one once more, under QEMU's
    record/replay, and keep the bundle: if it shows again, `replay` reproduces it to the
    instruction.  Says whether the recorded run gave the same verdict."""
    if (backend or s.machine.backend) != "qemu":
        return {"bundle": None, "same": False,
                "note": "not recorded: record/replay needs the qemu backend, and this "
                        "scenario runs on libvirt"}
    art = report_dir / f"{s.name}{RECORDED_SUFFIX}"
    rr = run_one(s, report_dir, backend="qemu", art=art, record=True)
    same = rr["ok"] == first["ok"] and rr["got"] == first["got"]
    got = ", ".join(rr["got"]) or "clean"
    if rr["bundle"] is None:
        note = f"re-ran under record: {rr['bundle_note']}"
    elif same:
        note = (f"re-ran under record: the same verdict ({got}); replay it to the "
                f"instruction: tracenic-cli replay {rr['bundle']}")
    else:
        note = (f"re-ran under record, and the recorded run did NOT show what this run "
                f"did: it gave {got} ({rr['why'] or 'as expected'}); its bundle is kept: "
                f"{rr['bundle']}")
    bundle = Path(rr["bundle"]).relative_to(report_dir).as_posix() if rr["bundle"] else None
    return {"bundle": bundle, "same": same, "got": rr["got"], "note": note,
            "seconds": rr["seconds"]}


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
            meta: dict | None = None, record: bool = False,
            record_failures: bool = True, say=None) -> list[dict]:
    """Every scenario, @jobs at a time; progress(result) after each.  record: every run
    under record/replay; record_failures: a run whose verdict is not the expected one is
    run once more under record (record_again), its bundle linked from the report, and
    say(line) tells how that went."""
    report_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    accel = vm.pick_accel(report_dir)
    results = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(run_one, s, report_dir, None, libvirt_uri, backend,
                               record=record): s
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
    if record_failures and not record:
        by_name = {s.name: s for s in scenarios}
        for r in results:
            if not r["ok"] and r["name"] in by_name and "why_code" in r:
                r["recorded"] = record_again(by_name[r["name"]], report_dir, r, backend)
                if say:
                    say(f"        {r['name']}: {r['recorded']['note']}")
    results.sort(key=lambda r: r["name"])
    info = {"accel": accel, "jobs": jobs, "seconds": round(time.monotonic() - start, 1),
            "host_cpus": os.cpu_count(), "libvirt_uri": libvirt_uri}
    info.update(meta or {})
    report.write(report_dir, results, info)
    return results
