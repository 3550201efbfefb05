"""NIC throughput: tracenic (trace off, trace + check on) against QEMU's e1000,
e1000e and virtio-net-pci.

Every configuration boots the same guest kernel and bench initramfs on the
same QEMU and accelerator, with the same backend: a UDP socket netdev on
loopback to tn-hostnet (sink for guest TX, source for guest RX).  One boot
runs tn-blast for each direction and frame size; the guest's runner reports
"blast-ready" before and "blast ..." after each, and this module starts and
stops the host end in between by watching results.txt (a vm.Watch); the VM
itself runs through the harness's one loop, tracenic.vm.drive.
"""
import itertools
import os
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

from tracenic import paths
from tracenic.qemu_cmd import file, firmware_dirs, kernel_for
from tracenic.qemu_cmd import machine_args as _machine_args
from tracenic.scenario import Machine
from tracenic.vm import QemuVm, Watch, drive, free_udp_port

MAC = "52:54:00:12:34:56"
INITRAMFS = paths.BUILD / "images" / "initramfs-bench.cpio.gz"
HOSTNET = paths.BUILD / "bench" / "tn-hostnet"

# key, label, QEMU device model, guest driver, extra device properties, driver
# module parameters.  The last one is the driver with its per-frame costs
# back (an interrupt per frame, no IAM, every ledger register written for
# every command): what the defaults save, measured in the same run.
CONFIGS = [
    ("tracenic", "tracenic, trace off", "tracenic", "tracenic", {}, ""),
    ("tracenic-trace", "tracenic, trace + check on", "tracenic", "tracenic",
     {"trace": "@TRACE@", "check": "on"}, ""),
    ("e1000", "e1000", "e1000", "e1000", {"romfile": ""}, ""),
    ("e1000e", "e1000e", "e1000e", "e1000e", {"romfile": ""}, ""),
    ("e1000e-trace", "e1000e, traced through the kit (trace on)", "e1000e", "e1000e",
     {"romfile": "", "trace": "@TRACE@"}, ""),
    ("virtio-net", "virtio-net-pci", "virtio-net-pci", "virtio_net", {"romfile": ""}, ""),
    ("tracenic-trace-perframe", "tracenic, trace + check on, driver tx_irq_every=1 iam=0 "
     "ledger_compact=0 itr_busy_us=0", "tracenic", "tracenic",
     {"trace": "@TRACE@", "check": "on"}, "tx_irq_every=1 iam=0 ledger_compact=0 itr_busy_us=0"),
]
TESTS = [("tx", 64), ("tx", 1500), ("rx", 64), ("rx", 1500)]
EXTRA_QEMU_ARGS: list[str] = []     # for experiments, e.g. ["-icount", "shift=0"]


def qemu_cmd_machine_args(workdir: Path) -> list[str]:
    """The scenario machine's defaults: SeaBIOS, no IOMMU."""
    return _machine_args(Machine(), workdir)


def qemu_command(workdir: Path, model: str, props: dict, port_a: int, port_b: int,
                 accel: str) -> list[str]:
    device = ",".join([model, "netdev=n0", f"mac={MAC}"] +
                      [f"{k}={v}" for k, v in props.items()])
    cmd = [str(paths.QEMU)] + firmware_dirs() + qemu_cmd_machine_args(workdir)
    cmd += ["-accel", accel, "-m", "512", "-nodefaults", "-nographic", "-no-reboot",
            "-kernel", str(kernel_for("seabios")), "-initrd", str(INITRAMFS),
            "-append", "console=ttyS0 panic=-1 quiet",
            "-netdev", f"socket,id=n0,udp=127.0.0.1:{port_a},localaddr=127.0.0.1:{port_b}",
            "-device", device,
            "-fw_cfg", f"name=opt/tracenic/steps,file={file(workdir, 'steps')}",
            "-serial", f"file:{file(workdir, 'console')}",
            "-serial", f"file:{file(workdir, 'results')}",
            "-qmp", f"unix:{file(workdir, 'qmp')},server=on,wait=off"]
    return cmd + EXTRA_QEMU_ARGS


def parse_figures(words: list[str]) -> dict:
    """["pps=1", "mbps=2.5", ...] -> {"pps": 1.0, "mbps": 2.5, ...}"""
    out = {}
    for w in words:
        k, sep, v = w.partition("=")
        if sep:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def pin(cpu: int | None) -> list[str]:
    """The command prefix that keeps a process and its threads on host CPU @cpu."""
    return [] if cpu is None else ["taskset", "-c", str(cpu)]


class HostEnd:
    """tn-hostnet sink or source for one test; stop() returns its figures."""

    def __init__(self, args: list[str], cpu: int | None = None):
        self.proc = subprocess.Popen(pin(cpu) + [str(HOSTNET)] + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        if args[0] == "sink":      # traffic may start as soon as the socket is bound
            self.proc.stdout.readline()

    def wait_armed(self, timeout: float) -> bool:
        """Until the sink saw tn-blast's armed frame: the guest has received
        the sink's answer to its hello and now waits for its go."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ready, _, _ = select.select([self.proc.stdout], [], [], end - time.monotonic())
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("tn-hostnet: guest armed"):
                return True
        return False

    def stop(self) -> dict:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10)
        for line in out.splitlines():
            if line.startswith("tn-hostnet: sink ") or line.startswith("tn-hostnet: source "):
                return parse_figures(line.split()[2:])
        return {"error": out.strip()}


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process @pid (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Blast(Watch):
    """Follows one boot's results.txt: starts and stops the host end of each
    test around the guest's blast-ready / blast lines (see boot())."""
    poll_seconds = 0.02

    def __init__(self, workdir, key, cpu, host_cpu, port_a, port_b, trace, timeout,
                 start_together):
        self.results = workdir / "results.txt"
        self.workdir, self.key, self.trace, self.timeout = workdir, key, trace, timeout
        self.cpu, self.host_cpu, self.port_a, self.port_b = cpu, host_cpu, port_a, port_b
        self.start_together = start_together
        self.tests, self.failures = [], []
        self.host = None
        self.ready_size = 0
        self.ready_cpu = 0.0
        self.seen = 0
        self.pid = None

    def started(self, vm) -> None:
        self.pid = vm.pid

    def poll(self) -> None:
        # Only complete lines: the serial port writes byte by byte.
        lines = (self.results.read_text(errors="replace").split("\n")[:-1]
                 if self.results.exists() else [])
        for line in lines[self.seen:]:
            self.seen += 1
            self.line(line.split())

    def line(self, w: list[str]) -> None:
        key, cpu = self.key, self.cpu
        if len(w) >= 6 and w[:2] == ["TNR", "blast-ready"]:
            direction, size = w[3], int(w[4])
            if self.host:
                self.host.stop()
            hcpu = cpu if self.host_cpu is None else self.host_cpu
            # Its figures for tx; for rx only the handshake.  On a
            # host CPU apart from QEMU's, it may take all of it.
            busy = ["0", "busy"] if self.host_cpu is not None and self.host_cpu != cpu else []
            self.host = HostEnd(["sink", f"127.0.0.1:{self.port_a}"] + busy, hcpu)
            if not self.host.wait_armed(30):
                self.failures.append(f"{key}: tn-blast {direction} not armed in 30 s "
                                     f"(see {self.workdir}/console.log)")
            if self.start_together:
                try:
                    self.start_together.wait(timeout=self.timeout)
                except threading.BrokenBarrierError:
                    pass    # the other boot failed: its pair is dropped
            if direction == "tx":   # the go: a 20 ms burst
                subprocess.run(pin(hcpu) + [str(HOSTNET), "source",
                                            f"127.0.0.1:{self.port_b}", "64", "0.02", MAC],
                               capture_output=True, timeout=10)
            else:
                self.host.stop()
                self.host = HostEnd(["source", f"127.0.0.1:{self.port_b}", str(size), "0",
                                     MAC], hcpu)
            self.ready_size = _size(self.trace)
            self.ready_cpu = cpu_seconds(self.pid)
        elif len(w) >= 6 and w[:2] == ["TNR", "blast"]:
            figures = parse_figures(w[5:])
            # QEMU's CPU time per frame, warm-up and window together:
            # unlike packets/s it hardly moves when other jobs
            # share the host.
            used = cpu_seconds(self.pid) - self.ready_cpu
            if figures.get("total"):
                figures["cpu_us_per_pkt"] = used / figures["total"] * 1e6
            figures.update(direction=w[3], size=int(w[4]), config=key,
                           host=self.host.stop() if self.host else {})
            self.host = None
            if self.trace:
                figures["trace_bytes"] = _size(self.trace) - self.ready_size
            self.tests.append(figures)
        elif len(w) >= 4 and w[0] == "TNR" and w[3] == "fail":
            self.failures.append(f"{key}: step {w[2]} failed: {' '.join(w[4:])}")
            if self.host:
                self.host.stop()
                self.host = None


def boot(workdir: Path, cfg: tuple, seconds: float, accel: str, timeout: float = 180,
         cpu: int | None = None, host_cpu: int | None = None,
         tests: list | None = None, start_together: threading.Barrier | None = None) -> dict:
    """One guest boot running each of @tests (default: TESTS) once for @cfg:
    QEMU on host CPU @cpu only, the tn-hostnet ends on @host_cpu (default: @cpu).

    The host starts each test window once the guest's start handshake (see
    tn-blast.c) has shown that frames reach it: RX when its source starts, TX
    with a go (a short burst).  With @start_together, a barrier shared with
    another boot, both wait for each other's guest first.  The VM runs through
    the harness's loop (tracenic.vm.drive), as every scenario does."""
    tests_run = TESTS if tests is None else tests
    key, _, model, driver, props, driver_params = cfg
    workdir.mkdir(parents=True, exist_ok=True)
    for old in ("results.txt", "console.log", "trace.bin", "qmp.sock"):
        (workdir / old).unlink(missing_ok=True)     # from an earlier make bench
    trace = workdir / "trace.bin" if "trace" in props else None
    props = {k: (str(trace) if v == "@TRACE@" else v) for k, v in props.items()}
    steps = [f"netload {driver} {driver_params}".strip()] + [f"blast {driver} {d} {s} {seconds:g}" for d, s in tests_run]
    (workdir / "steps.txt").write_text("".join(s + "\n" for s in steps))
    port_a, port_b = free_udp_port(), free_udp_port()
    cmd = pin(cpu) + qemu_command(workdir, model, props, port_a, port_b, accel)
    blast = _Blast(workdir, key, cpu, host_cpu, port_a, port_b, trace, timeout, start_together)
    start = time.monotonic()
    try:
        r = drive(QemuVm(workdir, cmd, accel), timeout, watch=blast)
    finally:
        if start_together:
            start_together.abort()      # never leave the other boot waiting
        if blast.host:
            blast.host.stop()
    failures = blast.failures + r.errors
    if r.timed_out:
        failures.append(f"{key}: no power-off within {timeout:.0f} s")
    if len(blast.tests) != len(tests_run) and not failures:
        failures.append(f"{key}: {len(blast.tests)} of {len(tests_run)} tests reported "
                        f"(QEMU exit status {r.exit_code}; see {workdir}/console.log)")
    return {"tests": blast.tests, "failures": failures, "trace": str(trace) if trace else None,
            "trace_size": _size(trace), "seconds": time.monotonic() - start}


def run(outdir: Path, rounds: int, seconds: float, accel: str, keep_trace, log) -> dict:
    """@rounds boots per configuration, round-robin so drift hits all alike.

    keep_trace(path) is called with the first trace-on trace (for the checker
    timing); every trace is deleted afterwards.
    """
    runs, failures = [], []
    kept = False
    for rnd in range(1, rounds + 1):
        for cfg in CONFIGS:
            r = boot(outdir / f"{cfg[0]}-{rnd}", cfg, seconds, accel)
            for t in r["tests"]:
                t["round"] = rnd
                log(f"  round {rnd} {cfg[0]:15} {t['direction']} {t['size']:5} B "
                    f"{t['pps']:9.0f} pps {t['mbps']:8.1f} Mbit/s")
            runs += r["tests"]
            failures += r["failures"]
            for f in r["failures"]:
                log("  FAILED: " + f)
            if r["trace"]:
                if not kept and not r["failures"] and cfg[0] == "tracenic-trace":
                    keep_trace(Path(r["trace"]))
                    kept = True
                Path(r["trace"]).unlink(missing_ok=True)
    return {"rounds": rounds, "seconds": seconds, "runs": runs, "failures": failures,
            "configs": [(c[0], c[1]) for c in CONFIGS]}


# Paired runs: (A, B) whose ratio A/B is a target.
PAIRS = [("tracenic-trace", "tracenic"), ("tracenic-trace", "e1000"),
         ("e1000e-trace", "e1000e")]    # QEMU's e1000e traced through the kit, and not


def run_paired(outdir: Path, rounds: int, seconds: float, accel: str, log) -> dict:
    """A and B of each pair boot at the same time, both pinned to the same host
    CPU (the other CPU in the next round), their tn-hostnet ends to the other
    CPU, and the ratio A/B is taken test by test.  Each test has boots of its
    own, and the host starts both guests' windows together once both are
    ready: with all tests in one boot the differences in boot and link-up
    time added up, and one guest ran alone for a good part of its window.

    The two guests share one CPU's time and speed, so whatever else the host
    runs slows both alike and a difference in speed between the host's CPUs
    cannot enter the ratio; sequential figures move by tens of percent from
    one round to the next.  The price is half a core per guest.
    """
    if (os.cpu_count() or 1) < 2:
        return {"skipped": "paired runs need 2 host CPUs", "runs": [], "failures": []}
    cfgs = {c[0]: c for c in CONFIGS}
    runs, failures = [], []
    for rnd in range(1, rounds + 1):
        cpu = rnd % 2
        for (a, b), (d, s) in itertools.product(PAIRS, TESTS):
            out = {}
            together = threading.Barrier(2)

            def one(key, tag):
                out[tag] = boot(outdir / f"{a}-vs-{b}-{d}{s}-{rnd}-{tag}", cfgs[key], seconds,
                                accel, cpu=cpu, host_cpu=1 - cpu, tests=[(d, s)],
                                start_together=together)

            threads = [threading.Thread(target=one, args=(k, t)) for k, t in ((a, "a"), (b, "b"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for r in out.values():
                failures += r["failures"]
                if r["trace"]:
                    Path(r["trace"]).unlink(missing_ok=True)
            x = out["a"]["tests"][0] if out["a"]["tests"] else {}
            y = out["b"]["tests"][0] if out["b"]["tests"] else {}
            if x.get("pps") and y.get("pps"):
                runs.append({"a": a, "b": b, "round": rnd, "direction": d, "size": s,
                             "a_pps": x["pps"], "b_pps": y["pps"],
                             "ratio": x["pps"] / y["pps"], "cpu": cpu,
                             "a_cpu_us": x.get("cpu_us_per_pkt"),
                             "b_cpu_us": y.get("cpu_us_per_pkt")})
                log(f"  paired round {rnd} (CPU {cpu}) {a} / {b} {d} {s:5} B: "
                    f"{x['pps']:8.0f} / {y['pps']:8.0f} = {runs[-1]['ratio']:.3f}")
    return {"rounds": rounds, "seconds": seconds, "pairs": PAIRS, "runs": runs,
            "failures": failures}

