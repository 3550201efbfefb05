"""Where the build puts things (see the top-level Makefile)."""
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
HARNESS = TOP / "harness"
SCENARIOS = HARNESS / "scenarios"
BUILD = TOP / "build"
QEMU = BUILD / "qemu" / "qemu-system-x86_64"
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

# What a run needs, and the make target that builds it.
NEEDED = {QEMU: "make qemu", KERNEL: "make images", INITRAMFS: "make images",
          DMACHECK: "make dmacheck", TRAFFICGEN: "make -C harness/trafficgen"}


def missing() -> list[str]:
    """One sentence per build output that is not there."""
    return [f"{p} is missing: run `{how}`" for p, how in NEEDED.items() if not p.exists()]
