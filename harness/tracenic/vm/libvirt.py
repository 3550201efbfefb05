"""The libvirt backend: a transient domain on a libvirt URI (qemu:///system by default).

The domain runs the project's QEMU (libvirt_xml.domain_xml); libvirt's own
log of it is copied back as qemu-stderr.log.  The Python binding is imported
only when a libvirt run starts, so the qemu backend needs no libvirt.
"""
import grp
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from .. import qemu_cmd
from .base import Vm, VmStartError

DEFAULT_LIBVIRT_URI = "qemu:///system"
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


class LibvirtVm(Vm):
    """A transient domain from @xml named @name, on @uri."""
    backend = "libvirt"
    stop_note = "destroyed the domain gracefully (SIGTERM)"
    kill_note = "the domain did not shut off within {grace} s: destroyed it"

    def __init__(self, workdir: Path, xml: str, name: str, uri: str, accel: str):
        super().__init__(workdir, accel)
        self.xml, self.name, self.uri = xml, name, uri
        self.conn = self.dom = None
        (workdir / "domain.xml").write_text(xml)

    def start(self) -> None:
        import libvirt
        # libvirt prints every error to stderr by default; here "domain gone" is normal.
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        ensure_local_libvirtd(self.uri)
        slow_start = libvirt_kvm_note(self.uri)
        self.notes += [slow_start] if slow_start else []
        self.conn = libvirt.open(self.uri)
        # AUTODESTROY: if this process dies, libvirtd destroys the domain itself.
        try:
            self.dom = self.conn.createXML(self.xml, libvirt.VIR_DOMAIN_START_AUTODESTROY)
        except libvirt.libvirtError as e:
            raise VmStartError(f"libvirt could not start the domain: {e}") from None

    def _state(self) -> int | None:
        """libvirt's state of the domain; None once it is gone (transient domains
        disappear when they shut off)."""
        import libvirt
        try:
            return self.dom.state()[0]
        except libvirt.libvirtError:
            return None

    def running(self) -> bool:
        import libvirt
        return self._state() not in (None, libvirt.VIR_DOMAIN_SHUTOFF,
                                     libvirt.VIR_DOMAIN_CRASHED)

    def paused(self) -> bool:
        import libvirt
        return self._state() == libvirt.VIR_DOMAIN_PAUSED

    def resume(self) -> None:
        self.dom.resume()

    def _destroy(self, flags: int = 0) -> None:
        import libvirt
        if self.dom is None:
            return
        try:
            self.dom.destroyFlags(flags)
        except libvirt.libvirtError:
            pass            # already gone

    def stop(self) -> None:
        import libvirt
        self._destroy(libvirt.VIR_DOMAIN_DESTROY_GRACEFUL)

    def kill(self) -> None:
        self._destroy()

    def exit_code(self) -> int | None:
        return 0            # libvirt does not tell QEMU's exit status

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def artifacts(self) -> None:
        log = Path("/var/log/libvirt/qemu") / f"{self.name}.log"
        if self.uri.startswith("qemu:///") and log.exists():
            shutil.copyfile(log, qemu_cmd.file(self.workdir, "stderr"))
