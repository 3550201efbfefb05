"""Host-driven traffic: the `rx COUNT SIZE` step's UDP flood, and free loopback ports.

The flood goes from the host's loopback to the guest through a UDP forward
(slirp hostfwd, see qemu_cmd.netdev_arg); bench/nic.py uses free_udp_port for
its socket netdev.
"""
import socket
import subprocess
from pathlib import Path

from .. import paths

RX_PPS = 1000                 # paced: an unpaced burst would only overflow slirp's socket


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    return _free_port(socket.SOCK_DGRAM)


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is bound to right now (repro's gdbstub)."""
    return _free_port(socket.SOCK_STREAM)


def rx_window_ms(count: int) -> int:
    """How long the guest waits while the host floods it.

    The flood lasts count / RX_PPS seconds, about twice the window, so the
    second half of it arrives during the steps that follow (MTU change,
    reset, down, unload): those free paths then run under RX traffic.
    """
    return 300 + count * 1000 // RX_PPS // 2


def guest_lines(steps: list[str]) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """The steps as the guest runs them, and the host floods keyed by step index.

    `rx COUNT SIZE` becomes a guest `sleep` long enough for the flood; the
    harness starts the flood once the guest has reported the step before it.
    """
    lines, floods = [], {}
    for i, step in enumerate(steps):
        words = step.split()
        if words and words[0] == "rx":
            count = int(words[1])
            size = int(words[2]) if len(words) > 2 else 1000
            floods[i] = (count, size)
            lines.append(f"sleep {rx_window_ms(count)}")
        else:
            lines.append(step)
    return lines, floods


class Floods:
    """Starts each flood when the guest has reported the step before it."""

    def __init__(self, floods: dict[int, tuple[int, int]], port: int | None, workdir: Path):
        self.pending = dict(floods)
        self.port = port
        self.log = workdir / "trafficgen.log"
        self.procs = []
        self.errors = []

    def poll(self, reported: int):
        for index in sorted(self.pending):
            if reported < index:
                continue
            count, size = self.pending.pop(index)
            if not paths.TRAFFICGEN.exists():
                self.errors.append(f"step {index + 1} (rx): {paths.TRAFFICGEN} is missing; "
                                   "run `make -C harness/trafficgen`")
                continue
            with open(self.log, "a") as log:
                log.write(f"step {index + 1}: rx {count} {size}\n")
                log.flush()
                self.procs.append(subprocess.Popen(
                    [str(paths.TRAFFICGEN), "--port", str(self.port), "--count", str(count),
                     "--size", str(size), "--pps", str(RX_PPS)], stdout=log, stderr=log,
                    stdin=subprocess.DEVNULL))

    def finish(self):
        for p in self.procs:
            try:
                rc = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
            if rc != 0:
                self.errors.append(f"the traffic generator failed (exit status {rc}; "
                                   "see trafficgen.log)")
        for index in self.pending:
            # The guest never got that far: not a harness failure, the verdict says why.
            with open(self.log, "a") as log:
                log.write(f"step {index + 1}: rx not sent, the guest did not reach it\n")
