"""Run one guest and collect what it left behind.

    run_vm(machine, steps, workdir, timeout, *, accel=None, libvirt_uri=...,
           debug=None, on_stop=None) -> VmResult

machine is a scenario.Machine (backend qemu|libvirt, firmware, iommu, accel,
memory, pcap, tracenic properties); steps are guest step lines
(docs/guest-protocol.md) plus the host step `rx COUNT SIZE`; workdir receives
every artifact (names in qemu_cmd.FILES); timeout is a hard limit in seconds
for the whole run.  run_vm always ends the VM before it returns (QMP quit or
libvirt's graceful destroy first, so the device still finishes its trace;
then SIGKILL / destroy) and never raises because the guest misbehaved: the
VmResult says how the run ended.  kill_all() ends every VM this process
still runs (Ctrl-C, SIGTERM).

run_guest(workdir, steps, device_props, timeout, firmware, iommu, accel) is
the short form for a plain QEMU run with default machine settings.
"""
import dataclasses
import grp
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from . import libvirt_xml, paths, qemu_cmd, results
from .scenario import Machine

DEFAULT_LIBVIRT_URI = "qemu:///system"
GRACE_SECONDS = 10           # after QMP quit / graceful destroy, before SIGKILL / destroy
POLL_SECONDS = 0.1


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

    trace_path: Path = None


GuestRun = VmResult     # the name the first tests used


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


# ---- QMP --------------------------------------------------------------------------------
class Qmp:
    """A minimal QMP client on QEMU's unix socket."""

    def __init__(self, path: Path, timeout: float = 5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""
        self.events = []
        self._read()                          # greeting
        self.command("qmp_capabilities")

    def _read(self) -> dict:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, name: str, **args) -> dict:
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise OSError(f"QMP {name}: {reply['error'].get('desc')}")
            return reply.get("return", {})

    def close(self):
        self.sock.close()


def qmp_quit(sock_path: Path, timeout: float = 5.0) -> bool:
    """Ask QEMU to quit cleanly (the device then finishes its trace)."""
    try:
        q = Qmp(sock_path, timeout)
        try:
            q.command("quit")
        except OSError:
            pass            # QEMU may close the socket before it answers
        q.close()
        return True
    except (OSError, ValueError):
        return False


# ---- accelerator --------------------------------------------------------------------------
_accel_cache: dict[str, str] = {}
_accel_lock = threading.Lock()
# A working KVM boots the probe guest to power-off in about a second; a
# broken one (nested) hangs it in the firmware until this runs out.
KVM_PROBE_SECONDS = 20
# The verdict, kept per host boot and QEMU build, so each run does not probe again.
ACCEL_CACHE = paths.BUILD / "accel-probe.json"


def _probe_key() -> dict:
    boot = Path("/proc/sys/kernel/random/boot_id")
    qemu = paths.QEMU.stat() if paths.QEMU.exists() else None
    return {"boot_id": boot.read_text().strip() if boot.exists() else "",
            "qemu": [qemu.st_mtime_ns, qemu.st_size] if qemu else None}


def _cached_accel(key: dict) -> str | None:
    try:
        saved = json.loads(ACCEL_CACHE.read_text())
    except (OSError, ValueError):
        return None
    return saved.get("accel") if saved.get("key") == key else None


def _save_accel(key: dict, accel: str) -> None:
    tmp = ACCEL_CACHE.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"key": key, "accel": accel}) + "\n")
        tmp.replace(ACCEL_CACHE)
    except OSError:
        pass    # no cache: the next process probes again, which is only slower


def pick_accel(workdir: Path) -> str:
    """KVM only if a probe guest really boots and powers off under it; else TCG.

    /dev/kvm can exist and still not work (nested virtualisation), so the
    probe is a real boot, done once per host boot and QEMU build.
    """
    with _accel_lock:
        if "accel" not in _accel_cache:
            accel = "tcg"
            if os.access("/dev/kvm", os.R_OK | os.W_OK):
                key = _probe_key()
                accel = _cached_accel(key)
                if accel is None:
                    run = run_vm(Machine(pcap=False), [], workdir / "kvm-probe",
                                 KVM_PROBE_SECONDS, accel="kvm")
                    accel = "kvm" if run.completed and run.exit_code == 0 else "tcg"
                    _save_accel(key, accel)
            _accel_cache["accel"] = accel
        return _accel_cache["accel"]


def resolve_accel(requested: str, workdir: Path) -> tuple[str, str]:
    """(accel, note): 'auto' and 'kvm' become KVM only when the probe worked."""
    if requested == "tcg":
        return "tcg", ""
    got = pick_accel(workdir)
    if requested == "kvm" and got != "kvm":
        return "tcg", "KVM was asked for but does not work here (no /dev/kvm or the probe " \
                      "boot failed): ran under TCG"
    return got, ""


# ---- host-driven RX traffic ------------------------------------------------------------------
def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RX_PPS = 1000                 # paced: an unpaced burst would only overflow slirp's socket


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


class _Floods:
    """Starts each flood when the guest has reported the step before it."""

    def __init__(self, floods, port, workdir):
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
                     "--size", str(size), "--pps", str(RX_PPS)], stdout=log, stderr=log, stdin=subprocess.DEVNULL))

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


# ---- the run -----------------------------------------------------------------------------
def prepare_run_dir(machine: Machine, steps: list[str], workdir: Path):
    """Empty the run directory of old artifacts, write the steps; returns the host floods."""
    return _prepare(machine, steps, workdir)


def _prepare(machine: Machine, steps: list[str], workdir: Path):
    workdir.mkdir(parents=True, exist_ok=True)
    for what in ("console", "results", "trace", "pcap", "qmp", "pidfile"):
        qemu_cmd.file(workdir, what).unlink(missing_ok=True)
    lines, floods = guest_lines(steps)
    qemu_cmd.file(workdir, "steps").write_text("".join(s + "\n" for s in lines))
    if machine.firmware == "ovmf":
        shutil.copyfile(paths.OVMF_VARS, qemu_cmd.file(workdir, "ovmf_vars"))
    return floods


def _reported(workdir: Path) -> results.GuestResults:
    return results.parse_file(qemu_cmd.file(workdir, "results"))


def run_vm(machine: Machine, steps: list[str], workdir: Path, timeout: float, *,
           accel: str | None = None, libvirt_uri: str = DEFAULT_LIBVIRT_URI,
           dac_label: str | None = None, debug: qemu_cmd.Debug | None = None,
           on_stop=None) -> VmResult:
    """Boot, run the steps, end the VM; see the module docstring.

    on_stop(result_so_far) is called (repro) each time the VM pauses on a
    violation; it returns "cont" to resume or "quit" to end the run.
    """
    start = time.monotonic()
    notes = []
    if accel is None:
        accel, note = resolve_accel(machine.accel, workdir.parent)
        notes += [note] if note else []
    floods = _prepare(machine, steps, workdir)
    port = free_udp_port() if floods else None
    traffic = _Floods(floods, port, workdir)
    run = _QemuRun if machine.backend == "qemu" else _LibvirtRun
    r = run(machine, workdir, accel, port, debug, libvirt_uri, dac_label).wait(
        timeout, traffic, on_stop)
    traffic.finish()
    r.seconds = time.monotonic() - start
    r.notes = notes + r.notes
    r.errors += traffic.errors
    r.guest = _reported(workdir)
    trace = machine.device.get("trace")
    r.trace_path = Path(trace) if trace else qemu_cmd.file(workdir, "trace")
    return r


class _QemuRun:
    def __init__(self, machine, workdir, accel, port, debug, _uri, _label):
        self.workdir, self.accel = workdir, accel
        self.cmd = qemu_cmd.qemu_argv(machine, workdir, accel, port, debug)
        (workdir / "qemu-cmdline.txt").write_text(" ".join(self.cmd) + "\n")

    def _kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self, timeout, traffic, on_stop) -> VmResult:
        deadline = time.monotonic() + timeout
        notes, errors, stopped = [], [], False
        with open(qemu_cmd.file(self.workdir, "stderr"), "wb") as err:
            # Its own session: a terminal's Ctrl-C reaches the harness, which ends QEMU.
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, start_new_session=True)
        key = _register(self._kill)
        timed_out = False
        qmp = None
        try:
            while self.proc.poll() is None:
                traffic.poll(len(_reported(self.workdir).steps))
                if on_stop is not None:
                    qmp = qmp or _try_qmp(self.workdir)
                    if qmp and _paused(qmp):
                        stopped = True
                        if on_stop(self._partial()) == "cont":
                            qmp.command("cont")
                            deadline = time.monotonic() + timeout
                        else:
                            notes.append("ended at the user's request after the stop")
                            break
                if time.monotonic() > deadline:
                    timed_out = True
                    notes.append(f"no power-off within {timeout:g} s: asked QEMU to quit")
                    break
                time.sleep(POLL_SECONDS)
            if self.proc.poll() is None:
                if qmp:
                    qmp.close()
                    qmp = None
                qmp_quit(qemu_cmd.file(self.workdir, "qmp"))
                try:
                    self.proc.wait(timeout=GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    notes.append(f"QEMU did not quit within {GRACE_SECONDS} s: killed it")
        finally:
            if qmp:
                qmp.close()
            # Also on Ctrl-C or an exception: never leave a QEMU behind.
            self._kill()
            self.proc.wait()
            _unregister(key)
        ended_by_us = timed_out or bool(notes)
        return VmResult(self.workdir, "qemu", self.accel,
                        None if ended_by_us else self.proc.returncode, timed_out, 0.0,
                        results.GuestResults(), notes, errors, stopped)

    def _partial(self) -> VmResult:
        return VmResult(self.workdir, "qemu", self.accel, None, False, 0.0,
                        _reported(self.workdir), trace_path=qemu_cmd.file(self.workdir, "trace"))


def _try_qmp(workdir: Path):
    try:
        return Qmp(qemu_cmd.file(workdir, "qmp"))
    except (OSError, ValueError):
        return None


def _paused(qmp: Qmp) -> bool:
    try:
        status = qmp.command("query-status")
    except OSError:
        return False
    return not status.get("running", True) and status.get("status") not in ("prelaunch",
                                                                             "shutdown")


# ---- libvirt -------------------------------------------------------------------------------
LIBVIRT_SOCKET = Path("/run/libvirt/libvirt-sock")


def is_local_system(uri: str) -> bool:
    """qemu:///system of this machine (not a remote host's, not qemu:///session)."""
    return uri in ("qemu:///system", "qemu:///system?")


def ensure_local_libvirtd(uri: str) -> list[str]:
    """Start virtlogd and libvirtd when the URI is this machine's and none runs.

    Returns what it started (so a test fixture can say so); remote URIs
    (qemu+ssh://host/system) are left alone: their hosts run their daemons.
    """
    if not is_local_system(uri):
        return []
    if LIBVIRT_SOCKET.exists() and _connectable(LIBVIRT_SOCKET):
        return []
    started = []
    for daemon in ("virtlogd", "libvirtd"):
        if subprocess.run(["pgrep", "-x", daemon], capture_output=True).returncode != 0:
            subprocess.run([daemon, "-d"], check=True)
            started.append(daemon)
    for _ in range(100):
        if LIBVIRT_SOCKET.exists() and _connectable(LIBVIRT_SOCKET):
            return started
        time.sleep(0.1)
    raise RuntimeError(f"libvirtd did not open {LIBVIRT_SOCKET} within 10 s "
                       "(see /var/log/libvirt/libvirtd.log or run `libvirtd` by hand)")


def libvirt_kvm_note(uri: str) -> str:
    """A note when libvirt will re-probe QEMU at every domain start on this machine.

    libvirt keeps QEMU's capabilities only while /dev/kvm is as usable to its
    QEMU user (group kvm) as when it probed them; a /dev/kvm left at 0600
    root (no udev, as in containers) fails that check every time.
    """
    if not is_local_system(uri):
        return ""
    try:
        st = os.stat("/dev/kvm")
        kvm_gid = grp.getgrnam("kvm").gr_gid
    except (OSError, KeyError):
        return ""
    if st.st_mode & 0o006 or (st.st_gid == kvm_gid and st.st_mode & 0o060 == 0o060):
        return ""
    return ("libvirt re-probes QEMU's capabilities at every domain start here (about 48 s on "
            "the 2-core machine): /dev/kvm is not open to group kvm, libvirt's QEMU user; "
            "`chgrp kvm /dev/kvm && chmod 0660 /dev/kvm` does what udev does on a normal host")


def _connectable(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(path))
        return True
    except OSError:
        return False


_name_lock = threading.Lock()
_name_next = [0]


def domain_name(workdir: Path) -> str:
    with _name_lock:
        _name_next[0] += 1
        return f"tracenic-{workdir.name[:40]}-{os.getpid()}-{_name_next[0]}"


class _LibvirtRun:
    def __init__(self, machine, workdir, accel, port, debug, uri, dac_label):
        self.workdir, self.accel, self.uri = workdir, accel, uri
        self.name = domain_name(workdir)
        self.xml = libvirt_xml.domain_xml(self.name, machine, workdir, accel, port,
                                          dac_label, debug)
        (workdir / "domain.xml").write_text(self.xml)

    def _destroy(self, graceful: bool = False):
        import libvirt
        try:
            if graceful:
                self.dom.destroyFlags(libvirt.VIR_DOMAIN_DESTROY_GRACEFUL)
            else:
                self.dom.destroy()
        except libvirt.libvirtError:
            pass            # already gone

    def _gone(self) -> bool:
        import libvirt
        try:
            state, _ = self.dom.state()
        except libvirt.libvirtError:
            return True     # transient domains disappear when they shut off
        return state in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_CRASHED)

    def wait(self, timeout, traffic, on_stop) -> VmResult:
        import libvirt
        # libvirt prints every error to stderr by default; here "domain gone" is normal.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        ensure_local_libvirtd(self.uri)
        notes, errors = [], []
        slow_start = libvirt_kvm_note(self.uri)
        notes += [slow_start] if slow_start else []
        conn = libvirt.open(self.uri)
        timed_out = False
        try:
            # AUTODESTROY: if this process dies, libvirtd destroys the domain itself.
            try:
                self.dom = conn.createXML(self.xml, libvirt.VIR_DOMAIN_START_AUTODESTROY)
            except libvirt.libvirtError as e:
                errors.append(f"libvirt could not start the domain: {e}")
                return VmResult(self.workdir, "libvirt", self.accel, None, False, 0.0,
                                results.GuestResults(), notes, errors)
            key = _register(self._destroy)
            try:
                deadline = time.monotonic() + timeout
                while not self._gone():
                    traffic.poll(len(_reported(self.workdir).steps))
                    if time.monotonic() > deadline:
                        timed_out = True
                        notes.append(f"no power-off within {timeout:g} s: destroyed the "
                                     "domain gracefully (SIGTERM)")
                        self._destroy(graceful=True)
                        for _ in range(int(GRACE_SECONDS / POLL_SECONDS)):
                            if self._gone():
                                break
                            time.sleep(POLL_SECONDS)
                        break
                    time.sleep(POLL_SECONDS)
            finally:
                self._destroy()
                _unregister(key)
        finally:
            conn.close()
        self._copy_log()
        return VmResult(self.workdir, "libvirt", self.accel, None if timed_out else 0,
                        timed_out, 0.0, results.GuestResults(), notes, errors)

    def _copy_log(self):
        log = Path("/var/log/libvirt/qemu") / f"{self.name}.log"
        if self.uri.startswith("qemu:///") and log.exists():
            shutil.copyfile(log, qemu_cmd.file(self.workdir, "stderr"))


def run_guest(workdir: Path, steps: list[str], device_props=None, timeout: float = 60.0,
              firmware: str = "seabios", iommu: bool = False, accel: str = "tcg") -> VmResult:
    machine = Machine(firmware=firmware, iommu=iommu, device=dict(device_props or {}))
    return run_vm(machine, steps, workdir, timeout, accel=accel)
