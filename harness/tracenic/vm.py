"""Boot one guest on the project's QEMU and collect what it reported.

run_guest(workdir, steps, device_props, timeout) starts QEMU with the tracenic
device (trace in workdir/trace.bin), the guest kernel and initramfs, the
scenario steps through fw_cfg, the console on workdir/console.log and the
results port on workdir/results.txt.  It always reaps QEMU, even on timeout
or Ctrl-C, and returns a GuestRun saying how the run ended.
"""
import dataclasses
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from . import paths


@dataclasses.dataclass
class GuestRun:
    workdir: Path
    exit_code: int | None      # None: stopped by the harness on timeout
    timed_out: bool
    seconds: float
    results: list[str]         # the "TNR ..." lines, without the prefix

    @property
    def trace(self) -> Path:
        return self.workdir / "trace.bin"

    @property
    def console(self) -> str:
        return (self.workdir / "console.log").read_text(errors="replace")

    @property
    def completed(self) -> bool:
        """The runner reached its last line ("TNR done")."""
        return bool(self.results) and self.results[-1] == "done"


OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"


def machine_args(workdir: Path, firmware: str = "seabios", iommu: bool = False) -> list[str]:
    """-M and firmware options; intel-iommu needs q35 with a split irqchip."""
    args = []
    if iommu:
        args += ["-M", "q35,kernel-irqchip=split", "-device", "intel-iommu,intremap=on"]
    if firmware == "ovmf":
        vars_copy = workdir / "OVMF_VARS.fd"
        vars_copy.write_bytes(Path(OVMF_VARS).read_bytes())
        args += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,file={vars_copy}"]
    elif firmware != "seabios":
        raise ValueError(f"firmware must be 'seabios' or 'ovmf', not {firmware!r}")
    return args


def kernel_for(firmware: str) -> Path:
    """SeaBIOS boots the uncompressed vmlinux through its PVH entry (QEMU loads
    the ELF itself; no decompression in the guest, ~2.5 s less under TCG).
    OVMF loads only bzImages (EFI stub): vmlinuz."""
    if firmware == "seabios" and paths.KERNEL_PVH.exists():
        return paths.KERNEL_PVH
    return paths.KERNEL


_accel_cache: dict[str, str] = {}


def pick_accel(workdir: Path) -> str:
    """KVM only if a probe guest really boots and powers off under it; else TCG.

    /dev/kvm can exist and still not work (nested virtualisation), so the
    probe is a real boot, done once per process.
    """
    if "accel" in _accel_cache:
        return _accel_cache["accel"]
    accel = "tcg"
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        probe = workdir / "kvm-probe"
        probe.mkdir(parents=True, exist_ok=True)
        run = run_guest(probe, [], timeout=60, accel="kvm")
        if run.completed and run.exit_code == 0:
            accel = "kvm"
    _accel_cache["accel"] = accel
    return accel


def qemu_command(workdir: Path, device_props: dict[str, object] | None = None,
                 netdev: str = "user,id=n0", memory_mb: int = 512,
                 firmware: str = "seabios", iommu: bool = False,
                 accel: str = "tcg") -> list[str]:
    props = {"netdev": "n0", "trace": str(workdir / "trace.bin")}
    props.update(device_props or {})
    device = "tracenic," + ",".join(f"{k}={_prop(v)}" for k, v in props.items())
    cmd = [str(paths.QEMU)]
    for d in paths.FIRMWARE_DIRS:
        cmd += ["-L", d]
    cmd += machine_args(workdir, firmware, iommu)
    cmd += ["-accel", accel, "-m", str(memory_mb), "-nodefaults", "-nographic",
            "-no-reboot", "-kernel", str(kernel_for(firmware)), "-initrd", str(paths.INITRAMFS),
            "-append", "console=ttyS0 panic=-1 quiet" + (" intel_iommu=on" if iommu else ""),
            "-netdev", netdev, "-device", device,
            "-fw_cfg", f"name=opt/tracenic/steps,file={workdir / 'steps.txt'}",
            "-serial", f"file:{workdir / 'console.log'}",
            "-serial", f"file:{workdir / 'results.txt'}",
            "-qmp", f"unix:{workdir / 'qmp.sock'},server=on,wait=off",
            "-pidfile", str(workdir / "qemu.pid")]
    return cmd


def qmp_quit(sock_path: Path, timeout: float = 5.0) -> bool:
    """Ask QEMU to quit cleanly (the device then finishes its trace)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(sock_path))
            s.recv(4096)                                    # greeting
            for cmd in ("qmp_capabilities", "quit"):
                s.sendall(json.dumps({"execute": cmd}).encode() + b"\n")
                s.recv(4096)
        return True
    except OSError:
        return False


def _prop(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def run_guest(workdir: Path, steps: list[str], device_props=None,
              timeout: float = 60.0, firmware: str = "seabios",
              iommu: bool = False, accel: str = "tcg") -> GuestRun:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "steps.txt").write_text("".join(s + "\n" for s in steps))
    cmd = qemu_command(workdir, device_props, firmware=firmware, iommu=iommu, accel=accel)
    (workdir / "qemu-cmdline.txt").write_text(" ".join(cmd) + "\n")
    start = time.monotonic()
    with open(workdir / "qemu-stderr.log", "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            if qmp_quit(workdir / "qmp.sock"):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            # Also on Ctrl-C: never leave a QEMU behind.
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    results_file = workdir / "results.txt"
    lines = results_file.read_text(errors="replace").splitlines() if results_file.exists() else []
    results = [ln[4:].strip() for ln in lines if ln.startswith("TNR ")]
    return GuestRun(workdir, None if timed_out else proc.returncode, timed_out,
                    time.monotonic() - start, results)
