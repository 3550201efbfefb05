"""The qemu backend: the project's QEMU as a child process, its monitor over QMP."""
import os
import signal
import subprocess
from pathlib import Path

from .. import qemu_cmd
from . import qmp
from .base import Vm


class QemuVm(Vm):
    """QEMU started from @argv (qemu_cmd.qemu_argv, or bench/nic.py's own line).

    The command line must open the harness's monitor at qemu_cmd.file(workdir,
    "qmp") and may write its output anywhere; stdout and stderr go to
    qemu-stderr.log.
    """
    backend = "qemu"
    stop_note = "asked QEMU to quit"
    kill_note = "QEMU did not quit within {grace} s: killed it"

    def __init__(self, workdir: Path, argv: list[str], accel: str):
        super().__init__(workdir, accel)
        self.argv = argv
        self.proc = None
        self.qmp = None             # opened when first needed (a pause check or the stop)
        (workdir / "qemu-cmdline.txt").write_text(" ".join(argv) + "\n")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self) -> None:
        with open(qemu_cmd.file(self.workdir, "stderr"), "wb") as err:
            # Its own session: a terminal's Ctrl-C reaches the harness, which ends QEMU.
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, start_new_session=True)

    def running(self) -> bool:
        return self.proc.poll() is None

    def _monitor(self):
        self.qmp = self.qmp or qmp.connect(qemu_cmd.file(self.workdir, "qmp"))
        return self.qmp

    def paused(self) -> bool:
        mon = self._monitor()
        if mon is None:
            return False
        try:
            status = mon.command("query-status")
        except qmp.QmpError:
            return False
        return not status.get("running", True) and status.get("status") not in ("prelaunch",
                                                                                 "shutdown")

    def resume(self) -> None:
        self._monitor().command("cont")

    def monitor(self, command: str, /, **args) -> dict:
        mon = self._monitor()
        if mon is None:
            raise qmp.QmpError(f"QMP {command}: the monitor is not open (yet)")
        return mon.command(command, **args)

    def stop(self) -> None:
        qmp.quit(self.qmp, qemu_cmd.file(self.workdir, "qmp"))
        self._close_monitor()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)

    def exit_code(self) -> int | None:
        return self.proc.returncode

    def close(self) -> None:
        self._close_monitor()
        if self.proc is not None:
            self.proc.wait()

    def _close_monitor(self) -> None:
        if self.qmp is not None:
            self.qmp.close()
            self.qmp = None
