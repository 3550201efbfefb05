"""The one wait/stop loop (vm.drive) on a scripted backend, and the QMP client on a real,
never-started QEMU (-S): no guest boots here."""
import os
import subprocess
import time

import pytest

from tracenic import paths, qemu_cmd, vm
from tracenic.vm import qmp
from tracenic.vm.base import Vm, VmStartError


class ScriptedVm(Vm):
    """A backend whose VM powers off after @runs polls (None: never), pauses at the polls
    in @pauses, and ignores a graceful stop when @stubborn."""
    backend = "scripted"
    stop_note = "asked it to stop"
    kill_note = "it did not stop within {grace} s: killed it"

    def __init__(self, workdir, runs=None, pauses=(), stubborn=False, refuse=False):
        super().__init__(workdir, "tcg")
        self.runs, self.pauses, self.stubborn, self.refuse = runs, set(pauses), stubborn, refuse
        self.polls = 0
        self.calls = []
        self.alive = False
        self.is_paused = False

    def start(self):
        self.calls.append("start")
        if self.refuse:
            raise VmStartError("the backend said no")
        self.alive = True

    def running(self):
        if self.alive and self.runs is not None and self.polls >= self.runs:
            self.alive = False
        self.polls += 1
        if self.polls in self.pauses:
            self.is_paused = True
        return self.alive

    def paused(self):
        return self.is_paused

    def resume(self):
        self.calls.append("resume")
        self.is_paused = False

    def stop(self):
        self.calls.append("stop")
        if not self.stubborn:
            self.alive = False

    def kill(self):
        self.calls.append("kill")
        self.alive = False

    def exit_code(self):
        return 0

    def close(self):
        self.calls.append("close")

    def artifacts(self):
        self.calls.append("artifacts")


def test_powered_off_by_itself(tmp_path):
    v = ScriptedVm(tmp_path, runs=3)
    r = vm.drive(v, 10)
    assert (r.exit_code, r.timed_out, r.notes, r.errors) == (0, False, [], [])
    assert v.calls == ["start", "kill", "close", "artifacts"]
    assert r.trace == tmp_path / "trace.bin"


def test_timeout_stops_gracefully(tmp_path):
    v = ScriptedVm(tmp_path)
    start = time.monotonic()
    r = vm.drive(v, 0.3)
    assert time.monotonic() - start < 2
    assert r.timed_out and r.exit_code is None
    assert r.notes == ["no power-off within 0.3 s: asked it to stop"]
    assert v.calls == ["start", "stop", "kill", "close", "artifacts"]


def test_a_vm_that_ignores_the_stop_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(vm, "GRACE_SECONDS", 0.3)
    v = ScriptedVm(tmp_path, stubborn=True)
    r = vm.drive(v, 0.2)
    assert r.notes == ["no power-off within 0.2 s: asked it to stop",
                       "it did not stop within 0.3 s: killed it"]
    assert v.calls == ["start", "stop", "kill", "close", "artifacts"]


def test_pauses_go_to_on_stop(tmp_path):
    seen = []

    def on_stop(partial):
        seen.append(partial.trace)
        return "cont" if len(seen) == 1 else "quit"

    v = ScriptedVm(tmp_path, pauses=(2, 4))
    r = vm.drive(v, 10, on_stop=on_stop, trace=tmp_path / "elsewhere.bin")
    assert seen == [tmp_path / "elsewhere.bin"] * 2 and r.stopped
    assert r.notes == ["ended at the user's request after the stop"] and r.exit_code is None
    assert v.calls == ["start", "resume", "stop", "kill", "close", "artifacts"]


def test_start_refused_is_an_error_not_an_exception(tmp_path):
    v = ScriptedVm(tmp_path, refuse=True)
    r = vm.drive(v, 10)
    assert r.errors == ["the backend said no"] and not r.timed_out
    assert v.calls == ["start", "close", "artifacts"]


def test_kill_all_ends_a_running_vm(tmp_path):
    v = ScriptedVm(tmp_path)

    class KillAllOnce(vm.Watch):
        poll_seconds = 0.01

        def poll(self):
            if v.alive and v.polls > 2:
                assert vm.kill_all() == 1

    r = vm.drive(v, 10, watch=KillAllOnce())
    assert not r.timed_out and vm.kill_all() == 0


@pytest.fixture
def idle_qemu(built, tmp_path):
    """A QEMU that never starts its guest (-S), with a monitor socket."""
    sock = tmp_path / "qmp.sock"
    p = subprocess.Popen([str(paths.QEMU), "-S", "-nodefaults", "-display", "none",
                          *qemu_cmd.firmware_dirs(), "-qmp", f"unix:{sock},server=on,wait=off"])
    for _ in range(500):
        if sock.exists():
            break
        time.sleep(0.01)
    yield p, sock
    if p.poll() is None:
        p.kill()
        p.wait()


def test_qmp_client_is_qemus_library(idle_qemu, tmp_path):
    p, sock = idle_qemu
    assert qmp.connect(tmp_path / "nothing.sock") is None
    with qmp.Qmp(sock) as mon:
        assert type(mon._client).__module__.startswith("qemu.qmp")
        assert mon.command("query-status")["status"] == "prelaunch"
        with pytest.raises(qmp.QmpError, match="QMP no-such-command: The command "
                                               "no-such-command has not been found"):
            mon.command("no-such-command")
        assert qmp.quit(mon, sock)
    assert p.wait(timeout=10) == 0
    assert not os.path.exists(sock) or qmp.connect(sock, timeout=1) is None
