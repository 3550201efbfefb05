"""Where the build puts things (see the top-level Makefile)."""
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
BUILD = TOP / "build"
QEMU = BUILD / "qemu" / "qemu-system-x86_64"
FIRMWARE_DIRS = ("/usr/share/seabios", "/usr/share/qemu", "/usr/lib/ipxe/qemu")
KERNEL = BUILD / "images" / "vmlinuz"
# The same kernel uncompressed (images/extract-vmlinux.py), for PVH direct boot.
KERNEL_PVH = BUILD / "images" / "vmlinux"
INITRAMFS = BUILD / "images" / "initramfs.cpio.gz"
DMACHECK = BUILD / "bin" / "dmacheck"
