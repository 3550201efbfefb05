#!/bin/sh
# Build tracenic.ko (the miniport) and tracenic-agent.ko (the DMA-API agent) against the guest kernel's Debian headers (ABI resolved
# from linux-image-amd64, never hard-coded).  Out of tree, in build/guest-driver.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
out=$top/build/guest-driver
abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: linux-image-\(.*\)-amd64$/\1/p' | head -n 1)
kdir=/usr/src/linux-headers-$abi-amd64
[ -d "$kdir" ] || {
	echo "guest-driver: $kdir is missing; run 'make deps' (it installs linux-headers-$abi-amd64)" >&2
	exit 1
}
mkdir -p "$out"
cp "$here"/*.c "$here"/*.h "$here/Kbuild" "$out/"
rm -rf "$out/include" && cp -r "$top/include" "$out/include"
make -s -C "$kdir" M="$out" modules >"$out/build.log" 2>&1 || {
	cat "$out/build.log" >&2
	echo "guest-driver: build failed" >&2
	exit 1
}
grep -E 'warning' "$out/build.log" >&2 || true
mkdir -p "$top/build/images"
for m in tracenic tracenic-agent; do
	cp "$out/$m.ko" "$top/build/images/$m.ko"
	echo "guest-driver: $top/build/images/$m.ko"
done
