"""Scenario latency: one scenario from QEMU's start to the verdict, in phases,
and the wall time of the whole default matrix.

A run is what harness/tracenic/nightly.run_one does (vm.run_vm, then
verdict.check), with timestamps taken on the host while the harness's loop
drives it (a vm.Watch polling every 5 ms):

  qemu-start   spawned -> QMP answers query-status (QEMU initialised, guest started)
  firmware     -> kernel start: SeaBIOS, the Linux loader, kernel decompression
               (kernel start = when the runner's "TNR uptime" line appeared
               minus the guest uptime it reports)
  kernel-boot  -> the runner's first line: kernel init, initramfs, init script
  scenario     -> "TNR done": PCI inventory, fw_cfg steps
  power-off    -> QEMU exited (trace closed)
  check        -> dmacheck's verdict (verdict.check: one dmacheck run writes the
               text report, the JSON and the timeline)
"""
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from tracenic import paths, qemu_cmd, verdict, vm
from tracenic.scenario import load_dir
from tracenic.vm import qmp

PHASES = ["qemu-start", "firmware", "kernel-boot", "scenario", "power-off", "check"]


class _Phases(vm.Watch):
    """Timestamps of one run, taken while the harness's loop drives it."""
    poll_seconds = 0.005

    def __init__(self, workdir: Path, timeout: float):
        self.results = qemu_cmd.file(workdir, "results")
        self.sock = qemu_cmd.file(workdir, "qmp")
        self.timeout = timeout
        self.seen: dict[str, float] = {}
        self.uptime = None
        self.ready = None           # seconds until QMP said the VM runs
        self.t0 = self.last = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._qmp_running)

    def started(self, _vm) -> None:
        self.t0 = time.monotonic()
        self.thread.start()

    def _qmp_running(self) -> None:
        """Until QMP says the VM is running (main loop up), every 2 ms."""
        deadline = self.t0 + self.timeout
        while time.monotonic() < deadline and not self.done.is_set():
            mon = qmp.connect(self.sock, timeout=1.0)
            if mon is not None:
                try:
                    if mon.command("query-status").get("running"):
                        self.ready = time.monotonic() - self.t0
                        return
                except qmp.QmpError:
                    pass
                finally:
                    mon.close()
            time.sleep(0.002)

    def poll(self) -> None:
        # Called at every turn and once after QEMU exited: the last call is the exit.
        self.last = now = time.monotonic() - self.t0
        if self.results.exists():
            # Only complete lines: the serial port writes byte by byte.
            for line in self.results.read_text(errors="replace").split("\n")[:-1]:
                self.seen.setdefault(" ".join(line.split()[:2]), now)
                if line.startswith("TNR uptime ") and self.uptime is None:
                    self.uptime = float(line.split()[2])

    def finish(self) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()


def timed_run(name: str, workdir: Path, accel: str, timeout: float = 60) -> dict:
    scenario = next(s for s in load_dir(paths.SCENARIOS)
                    if s.name == name)
    phases = _Phases(workdir, timeout)
    try:
        r = vm.run_vm(scenario.machine, scenario.steps, workdir, timeout, accel=accel,
                      watch=phases)
    finally:
        phases.finish()
    exited = phases.last
    v = verdict.check(r.trace, workdir)
    verdict_at = time.monotonic() - phases.t0
    ready, seen, uptime = phases.ready, phases.seen, phases.uptime
    first = min((t for k, t in seen.items() if k.startswith("TNR ")), default=None)
    up_seen = seen.get("TNR uptime")
    done = seen.get("TNR done")
    ok = (None not in (ready, first, up_seen, done, uptime) and r.exit_code == 0
          and v.status == 0 and v.rules == scenario.expect_rules)
    r_out = {"ok": ok, "total": verdict_at, "exit_status": r.exit_code,
             "rules": sorted(v.rules)}
    if ok:
        kernel_start = up_seen - uptime
        r_out.update({"qemu-start": ready, "firmware": kernel_start - ready,
                      "kernel-boot": first - kernel_start, "scenario": done - first,
                      "power-off": exited - done, "check": verdict_at - exited})
    return r_out


def run(outdir: Path, name: str, runs: int, accel: str, log) -> dict:
    out = []
    for i in range(1, runs + 1):
        r = timed_run(name, outdir / f"{name}-{i}", accel)
        log(f"  {name} run {i}: " + ("  ".join(f"{p} {r[p]:.2f}" for p in PHASES if p in r)
                                     + f"  total {r['total']:.2f} s" if r["ok"] else
                                     f"FAILED (exit {r['exit_status']}, rules {r['rules']})"))
        out.append(r)
    return {"scenario": name, "runs": out}


def matrix(outdir: Path, log) -> dict:
    """The default matrix exactly as a user runs it: harness/tracenic-cli run."""
    cmd = [sys.executable, str(paths.TOP / "harness" / "tracenic-cli"), "run",
           "--report-dir", str(outdir)]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    lines = p.stdout.splitlines()
    log("\n".join("  " + ln for ln in lines))
    summary = {}
    try:
        summary = json.loads((outdir / "summary.json").read_text())
    except (OSError, ValueError):
        pass
    return {"command": "harness/tracenic-cli run", "wall": wall, "exit_status": p.returncode,
            "passed": summary.get("passed"), "failed": summary.get("failed"),
            "jobs": summary.get("meta", {}).get("jobs"),
            "scenarios": [(r["name"], r["seconds"], r["ok"]) for r in summary.get("results", [])],
            "output": p.stdout + p.stderr}
