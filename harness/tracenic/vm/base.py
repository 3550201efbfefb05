"""The VM-backend interface and what a run returns (the loop itself is in __init__.py)."""
import abc
import dataclasses
from pathlib import Path

from .. import qemu_cmd, results


class VmStartError(Exception):
    """The backend could not start the VM; the message says why."""


class Vm(abc.ABC):
    """One VM of one backend, driven by vm.drive(): start() once, then running(),
    paused() and resume() while it runs, stop() to end it gracefully (the device
    still finishes its trace), kill() to end it now, close() to release what the
    backend holds, artifacts() to copy what the backend kept elsewhere into the
    run directory.  kill() may be called from another thread (kill_all on Ctrl-C)
    and more than once."""
    backend: str = ""
    stop_note: str = ""     # what stop() does, for the run's notes
    kill_note: str = ""     # said when the VM outlived the grace period; {grace} is filled in

    def __init__(self, workdir: Path, accel: str):
        self.workdir = workdir
        self.accel = accel
        self.notes: list[str] = []      # what the backend wants the user to know

    @abc.abstractmethod
    def start(self) -> None:
        """Start the VM; raises VmStartError when the backend refuses."""

    @abc.abstractmethod
    def running(self) -> bool:
        """The VM exists (running or paused)."""

    @abc.abstractmethod
    def paused(self) -> bool:
        """The VM is paused by the device's on-violation=stop."""

    @abc.abstractmethod
    def resume(self) -> None:
        """Continue a paused VM."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Ask the VM to end cleanly (QMP quit, libvirt's graceful destroy)."""

    @abc.abstractmethod
    def kill(self) -> None:
        """End the VM now (SIGKILL, destroy)."""

    @abc.abstractmethod
    def exit_code(self) -> int | None:
        """QEMU's exit status once the VM is gone (0 where the backend cannot tell)."""

    def monitor(self, command: str, /, **args) -> dict:
        """Run a QMP command on the running VM (the sweep's qom-set and set_link)."""
        raise VmStartError(f"the {self.backend} backend gives the harness no QMP monitor")

    def close(self) -> None:
        """Release connections and reap the process; the VM is gone by now."""

    def artifacts(self) -> None:
        """Copy what the backend kept outside the run directory into it."""


@dataclasses.dataclass
class VmResult:
    workdir: Path
    backend: str
    accel: str
    exit_code: int | None      # QEMU's exit status; None when the harness ended the VM
    timed_out: bool
    seconds: float
    guest: results.GuestResults
    notes: list[str] = dataclasses.field(default_factory=list)   # what the harness did
    errors: list[str] = dataclasses.field(default_factory=list)  # harness-side failures
    stopped: bool = False      # repro: the VM stopped on a violation at least once
    trace_path: Path = None

    @property
    def results(self) -> list[str]:
        """The TNR lines without the prefix."""
        return self.guest.lines

    @property
    def completed(self) -> bool:
        """The runner reached its last line ("TNR done")."""
        return self.guest.done

    @property
    def trace(self) -> Path:
        return self.trace_path

    @property
    def console(self) -> str:
        try:
            return qemu_cmd.file(self.workdir, "console").read_text(errors="replace")
        except FileNotFoundError:
            return ""


class Watch:
    """Hooks for a caller that follows a run as it goes (bench/latency.py, bench/nic.py):
    started(vm) right after the VM was started, poll() at every turn of the wait
    loop (every poll_seconds) and once more after the VM is gone."""
    poll_seconds = 0.1

    def started(self, vm: Vm) -> None:
        pass

    def poll(self) -> None:
        pass
