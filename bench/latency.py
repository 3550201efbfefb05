"""Scenario latency: one scenario from QEMU's start to the verdict, in phases,
and the wall time of the whole default matrix.

A run is what harness/tracenic/nightly.run_one does (the same QEMU command
line from qemu_cmd.qemu_argv, then verdict.check), with timestamps taken on the
host while it runs:

  qemu-start   spawn -> QMP answers query-status (QEMU initialised, guest started)
  firmware     -> kernel start: SeaBIOS, the Linux loader, kernel decompression
               (kernel start = when the runner's "TNR uptime" line appeared
               minus the guest uptime it reports)
  kernel-boot  -> the runner's first line: kernel init, initramfs, init script
  scenario     -> "TNR done": PCI inventory, fw_cfg steps
  power-off    -> QEMU exited (trace closed)
  check        -> dmacheck's verdict (verdict.check: JSON + timeline + text report)
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tracenic import paths, verdict
from tracenic.scenario import load_dir
from tracenic import qemu_cmd

SCENARIOS = paths.TOP / "harness" / "scenarios"
PHASES = ["qemu-start", "firmware", "kernel-boot", "scenario", "power-off", "check"]


def _qmp_running(sock_path: Path, t0: float, deadline: float) -> float | None:
    """Seconds from t0 until QMP says the VM is running (main loop is up)."""
    while time.monotonic() < deadline:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(deadline - time.monotonic())
                s.connect(str(sock_path))
                f = s.makefile("rwb", buffering=0)
                f.readline()                                           # greeting
                s.sendall(b'{"execute":"qmp_capabilities"}\n')
                f.readline()
                s.sendall(b'{"execute":"query-status"}\n')
                while True:
                    msg = json.loads(f.readline())
                    if "return" in msg:
                        if msg["return"].get("running"):
                            return time.monotonic() - t0
                        break
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    return None


def timed_run(name: str, workdir: Path, accel: str, timeout: float = 60) -> dict:
    scenario = next(s for s in load_dir(SCENARIOS, verdict.known_rules()) if s.name == name)
    workdir.mkdir(parents=True, exist_ok=True)
    for old in ("results.txt", "console.log", "trace.bin", "qmp.sock"):
        (workdir / old).unlink(missing_ok=True)     # from an earlier make bench
    (workdir / "steps.txt").write_text("".join(s + "\n" for s in scenario.steps))
    if scenario.machine.firmware == "ovmf":
        shutil.copyfile(paths.OVMF_VARS, qemu_cmd.file(workdir, "ovmf_vars"))
    cmd = qemu_cmd.qemu_argv(scenario.machine, workdir, accel)
    results = workdir / "results.txt"
    seen: dict[str, float] = {}
    qmp: list = []
    t0 = time.monotonic()
    with open(workdir / "qemu-stderr.log", "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                start_new_session=True)
        th = threading.Thread(target=lambda: qmp.append(
            _qmp_running(workdir / "qmp.sock", t0, t0 + timeout)))
        th.start()
        uptime = None
        try:
            while proc.poll() is None and time.monotonic() - t0 < timeout:
                if results.exists():
                    now = time.monotonic() - t0
                    # Only complete lines: the serial port writes byte by byte.
                    for line in results.read_text(errors="replace").split("\n")[:-1]:
                        seen.setdefault(" ".join(line.split()[:2]), now)
                        if line.startswith("TNR uptime ") and uptime is None:
                            uptime = float(line.split()[2])
                time.sleep(0.005)
            exited = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        th.join()
    v = verdict.check(workdir / "trace.bin", workdir)
    verdict_at = time.monotonic() - t0
    ready = qmp[0] if qmp else None
    first = min((t for k, t in seen.items() if k.startswith("TNR ")), default=None)
    up_seen = seen.get("TNR uptime")
    done = seen.get("TNR done")
    ok = (None not in (ready, first, up_seen, done, uptime) and proc.returncode == 0
          and v.status == 0 and v.rules == scenario.expect_rules)
    r = {"ok": ok, "total": verdict_at, "exit_status": proc.returncode,
         "rules": sorted(v.rules)}
    if ok:
        kernel_start = up_seen - uptime
        r.update({"qemu-start": ready, "firmware": kernel_start - ready,
                  "kernel-boot": first - kernel_start, "scenario": done - first,
                  "power-off": exited - done, "check": verdict_at - exited})
    return r


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
