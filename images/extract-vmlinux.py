#!/usr/bin/python3
"""Extract the uncompressed kernel ELF (vmlinux) from a bzImage.

Under TCG, the bzImage's own decompressor (Debian's is XZ, 8 MB -> 65 MB)
takes about 2.5 s of every boot.  QEMU loads an ELF vmlinux with a PVH entry
note (CONFIG_PVH) directly, SeaBIOS then only jumps to it; harness/tracenic/
harness/tracenic/qemu_cmd.py boots this file for SeaBIOS guests.  Exits 1, writing nothing, if the
payload is not XZ or not an ELF.

Usage: extract-vmlinux.py BZIMAGE OUTPUT
"""
import lzma
import os
import sys


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    start = data.find(b"\xfd7zXZ\x00")
    if start < 0:
        print(f"extract-vmlinux: no XZ payload in {src}", file=sys.stderr)
        return 1
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:])
    if elf[:4] != b"\x7fELF":
        print(f"extract-vmlinux: the payload of {src} is not an ELF file", file=sys.stderr)
        return 1
    with open(dst + ".tmp", "wb") as f:
        f.write(elf)
    os.replace(dst + ".tmp", dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
