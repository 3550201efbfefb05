"""Where the build puts things (see the top-level Makefile)."""
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
HARNESS = TOP / "harness"
SCENARIOS = HARNESS / "scenarios"
INCLUDE = TOP / "include" / "tracenic"     # the contract headers (contract.py reads them)
BUILD = TOP / "build"
QEMU = BUILD / "qemu" / "qemu-system-x86_64"
# Debian's QEMU source package, unpacked by `make qemu` (qemu-device/build-qemu.sh).
QEMU_SRC = BUILD / "qemu-src"
FIRMWARE_DIRS = ("/usr/share/seabios", "/usr/share/qemu", "/usr/lib/ipxe/qemu")
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS.fd")
KERNEL = BUILD / "images" / "vmlinuz"
# The same kernel uncompressed (images/extract-vmlinux.py), for PVH direct boot.
KERNEL_PVH = BUILD / "images" / "vmlinux"
INITRAMFS = BUILD / "images" / "initramfs.cpio.gz"
DMACHECK = BUILD / "bin" / "dmacheck"
TRAFFICGEN = BUILD / "bin" / "tracenic-trafficgen"
REPORTS = TOP / "reports"


def qemu_python() -> Path:
    """The python/ directory of the QEMU source tree: it holds QEMU's own QMP
    library, the package qemu.qmp (vm/qmp.py imports it from there)."""
    for d in sorted(QEMU_SRC.glob("qemu-*/python")):
        if (d / "qemu" / "qmp" / "__init__.py").exists():
            return d
    return QEMU_SRC / "qemu-VERSION" / "python"


# What a run needs, and the make target that builds it.
NEEDED = {QEMU: "make qemu", KERNEL: "make images", INITRAMFS: "make images",
          DMACHECK: "make dmacheck", TRAFFICGEN: "make -C harness/trafficgen",
          qemu_python() / "qemu" / "qmp": "make qemu"}


def missing() -> list[str]:
    """One sentence per build output that is not there."""
    return [f"{p} is missing: run `{how}`" for p, how in NEEDED.items() if not p.exists()]
