"""Run one guest and collect what it left behind, on either backend.

    run_vm(machine, steps, workdir, timeout, *, accel=None, libvirt_uri=...,
           debug=None, on_stop=None) -> VmResult

machine is a scenario.Machine (backend qemu|libvirt, firmware, iommu, accel,
memory, pcap, tracenic properties); steps are guest step lines
(docs/guest-protocol.md) plus the host step `rx COUNT SIZE`; workdir receives
every artifact (names in qemu_cmd.FILES); timeout is a hard limit in seconds
for the whole run.  run_vm always ends the VM before it returns (a graceful
stop first, so the device still finishes its trace; then a kill) and never
raises because the guest misbehaved: the VmResult says how the run ended.
kill_all() ends every VM this process still runs (Ctrl-C, SIGTERM).

The parts, one module each: base (the backend interface Vm, VmResult,
Watch), qemu and libvirt (the two backends), qmp (the QMP client: QEMU's own
library), accel (the KVM probe), traffic (the host's RX flood, free ports).
drive() below is the one wait/stop loop every backend runs through; bench/
builds its own QemuVm and drives it the same way.
"""
import shutil
import threading
import time
from pathlib import Path

from .. import libvirt_xml, paths, qemu_cmd, results
from ..scenario import Machine
from .accel import pick_accel, resolve_accel
from .base import Vm, VmResult, VmStartError, Watch
from .libvirt import (DEFAULT_LIBVIRT_URI, LibvirtVm, domain_name,
                      ensure_local_libvirtd, libvirt_kvm_note)
from .qemu import QemuVm
from .traffic import Floods, free_tcp_port, free_udp_port, guest_lines

__all__ = ["DEFAULT_LIBVIRT_URI", "GRACE_SECONDS", "LibvirtVm", "Machine", "QemuVm", "Vm",
           "VmResult", "VmStartError", "Watch", "drive", "ensure_local_libvirtd",
           "free_tcp_port", "free_udp_port", "kill_all", "libvirt_kvm_note", "make_vm",
           "pick_accel", "prepare_run_dir", "resolve_accel", "run_guest", "run_vm"]

GRACE_SECONDS = 10           # after the graceful stop, before the kill
POLL_SECONDS = 0.1


# ---- every live VM of this process, so Ctrl-C can end them all -------------------------
_live: dict[int, callable] = {}
_live_lock = threading.Lock()
_live_next = [0]


def _register(kill) -> int:
    with _live_lock:
        _live_next[0] += 1
        _live[_live_next[0]] = kill
        return _live_next[0]


def _unregister(key: int) -> None:
    with _live_lock:
        _live.pop(key, None)


def kill_all() -> int:
    """End every VM still running in this process; returns how many there were."""
    with _live_lock:
        kills = list(_live.values())
        _live.clear()
    for kill in kills:
        try:
            kill()
        except Exception:   # noqa: BLE001 - best effort, the next one must still run
            pass
    return len(kills)


# ---- the loop ----------------------------------------------------------------------------
class _NoTraffic:
    errors: list[str] = []

    def poll(self, _reported: int) -> None:
        pass

    def finish(self) -> None:
        pass


def _reported(workdir: Path) -> results.GuestResults:
    return results.parse_file(qemu_cmd.file(workdir, "results"))


def drive(vm: Vm, timeout: float, *, traffic=None, on_stop=None, watch: Watch | None = None,
          trace: Path | None = None) -> VmResult:
    """Start @vm, wait until it powers off or @timeout seconds pass, end it.

    traffic (traffic.Floods) is told how many steps the guest has reported;
    on_stop(result_so_far) is called (repro) each time the VM pauses on a
    violation and returns "cont" to resume or "quit" to end the run; watch
    follows the run (base.Watch).  The result's guest lines are those of
    qemu_cmd.file(workdir, "results"), its trace @trace (default: the run
    directory's).
    """
    traffic = traffic or _NoTraffic()
    watch = watch or Watch()
    poll = watch.poll_seconds if watch.poll_seconds else POLL_SECONDS
    workdir = vm.workdir
    trace = trace or qemu_cmd.file(workdir, "trace")
    notes, errors = [], []
    stopped = timed_out = ended_by_us = False
    try:
        vm.start()
    except VmStartError as e:
        errors.append(str(e))
        vm.close()
        vm.artifacts()
        return VmResult(workdir, vm.backend, vm.accel, None, False, 0.0,
                        results.GuestResults(), vm.notes, errors, trace_path=trace)
    key = _register(vm.kill)
    watch.started(vm)
    try:
        deadline = time.monotonic() + timeout
        while vm.running():
            watch.poll()
            traffic.poll(len(_reported(workdir).steps))
            if on_stop is not None and vm.paused():
                stopped = True
                partial = VmResult(workdir, vm.backend, vm.accel, None, False, 0.0,
                                   _reported(workdir), trace_path=trace)
                if on_stop(partial) == "cont":
                    vm.resume()
                    deadline = time.monotonic() + timeout
                else:
                    notes.append("ended at the user's request after the stop")
                    ended_by_us = True
                    break
            if time.monotonic() > deadline:
                timed_out = ended_by_us = True
                notes.append(f"no power-off within {timeout:g} s: {vm.stop_note}")
                break
            time.sleep(poll)
        if vm.running():
            vm.stop()
            end = time.monotonic() + GRACE_SECONDS
            while vm.running() and time.monotonic() < end:
                time.sleep(POLL_SECONDS)
            if vm.running():
                notes.append(vm.kill_note.format(grace=GRACE_SECONDS))
    finally:
        # Also on Ctrl-C or an exception: never leave a VM behind.
        vm.kill()
        vm.close()
        _unregister(key)
    watch.poll()
    vm.artifacts()
    return VmResult(workdir, vm.backend, vm.accel, None if ended_by_us else vm.exit_code(),
                    timed_out, 0.0, results.GuestResults(), vm.notes + notes, errors, stopped,
                    trace_path=trace)


# ---- a scenario run ------------------------------------------------------------------------
def prepare_run_dir(machine: Machine, steps: list[str], workdir: Path):
    """Empty the run directory of old artifacts, write the steps; returns the host floods."""
    workdir.mkdir(parents=True, exist_ok=True)
    for what in ("console", "results", "trace", "pcap", "qmp", "pidfile", "replay_log",
                 "monitor_events"):
        qemu_cmd.file(workdir, what).unlink(missing_ok=True)
    lines, floods = guest_lines(steps)
    qemu_cmd.file(workdir, "steps").write_text("".join(s + "\n" for s in lines))
    if machine.firmware == "ovmf":
        shutil.copyfile(paths.OVMF_VARS, qemu_cmd.file(workdir, "ovmf_vars"))
    return floods


def make_vm(machine: Machine, workdir: Path, accel: str, rx_port: int | None = None,
            debug: qemu_cmd.Debug | None = None, libvirt_uri: str = DEFAULT_LIBVIRT_URI,
            dac_label: str | None = None, record: qemu_cmd.Record | None = None,
            images: qemu_cmd.Images | None = None) -> Vm:
    """The backend @machine names, set up for the run directory @workdir."""
    if machine.backend == "qemu":
        return QemuVm(workdir, qemu_cmd.qemu_argv(machine, workdir, accel, rx_port, debug,
                                                  record, images), accel)
    if record:
        raise ValueError("record/replay runs QEMU itself: libvirt owns the QEMU of a libvirt "
                         "scenario; record it with the qemu backend")
    name = domain_name(workdir)
    xml = libvirt_xml.domain_xml(name, machine, workdir, accel, rx_port, dac_label, debug)
    return LibvirtVm(workdir, xml, name, libvirt_uri, accel)


def run_vm(machine: Machine, steps: list[str], workdir: Path, timeout: float, *,
           accel: str | None = None, libvirt_uri: str = DEFAULT_LIBVIRT_URI,
           dac_label: str | None = None, debug: qemu_cmd.Debug | None = None,
           on_stop=None, watch: Watch | None = None, rx_port: int | None = None,
           record: qemu_cmd.Record | None = None,
           images: qemu_cmd.Images | None = None) -> VmResult:
    """Boot, run the steps, end the VM; see the module docstring and drive().
    rx_port: the host's UDP forward into the guest (the sweep's traffic bursts);
    default: a free port when a step floods the guest, else none.
    record: run under QEMU's record/replay (TCG only); images: boot these instead
    of the built kernel and initramfs (a replay's bundle)."""
    start = time.monotonic()
    notes = []
    if record is not None:
        accel = "tcg"
    if accel is None:
        accel, note = resolve_accel(machine.accel, workdir.parent)
        notes += [note] if note else []
    floods = prepare_run_dir(machine, steps, workdir)
    port = rx_port or (free_udp_port() if floods else None)
    traffic = Floods(floods, port, workdir)
    trace = machine.device.get("trace")
    vm = make_vm(machine, workdir, accel, port, debug, libvirt_uri, dac_label, record, images)
    r = drive(vm, timeout, traffic=traffic, on_stop=on_stop, watch=watch,
              trace=Path(trace) if trace else None)
    traffic.finish()
    r.seconds = time.monotonic() - start
    r.notes = notes + r.notes
    r.errors += traffic.errors
    r.guest = _reported(workdir)
    return r


def run_guest(workdir: Path, steps: list[str], device_props=None, timeout: float = 60.0,
              firmware: str = "seabios", iommu: bool = False, accel: str = "tcg") -> VmResult:
    """The short form for a plain QEMU run with default machine settings."""
    machine = Machine(firmware=firmware, iommu=iommu, device=dict(device_props or {}))
    return run_vm(machine, steps, workdir, timeout, accel=accel)
