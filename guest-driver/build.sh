#!/bin/sh
# Build tracenic.ko (the miniport) and tracenic-agent.ko (the DMA-API agent) against the guest kernel's Debian headers (ABI resolved
# from linux-image-amd64, never hard-coded).  Out of tree, in build/guest-driver.
# Then Linux's e1000e with the seeded bug modes (e1000e-seeded/, docs/bugs.md): its directory only,
# extracted from Debian's linux-source-6.1 tarball, patched with e1000e-seeded/bugs.patch, built
# out of tree into build/images/seeded/e1000e.ko.
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
for m in tracenic tracenic-agent tn-dmabench; do
	cp "$out/$m.ko" "$top/build/images/$m.ko"
	echo "guest-driver: $top/build/images/$m.ko"
done

# --- Linux's e1000e with seeded bugs --------------------------------------------------------
tarball=/usr/src/linux-source-6.1.tar.xz
e1k=drivers/net/ethernet/intel/e1000e
seeded=$top/build/e1000e-seeded
[ -f "$tarball" ] || {
	echo "guest-driver: $tarball is missing; run 'make deps' (it installs linux-source-6.1)" >&2
	exit 1
}
# Only e1000e's directory: about 9 s to read through the 139 MB tarball, once.
if [ ! -f "$seeded/orig/.extracted" ] || [ "$tarball" -nt "$seeded/orig/.extracted" ]; then
	rm -rf "$seeded/orig"
	mkdir -p "$seeded/orig"
	tar -xJf "$tarball" -C "$seeded/orig" --strip-components=1 "linux-source-6.1/$e1k" || {
		echo "guest-driver: cannot extract $e1k from $tarball" >&2
		exit 1
	}
	touch "$seeded/orig/.extracted"
fi
rm -rf "$seeded/mod"
mkdir -p "$seeded/mod"
cp -r "$seeded/orig/drivers" "$seeded/mod/"
patch -s -p1 -d "$seeded/mod" <"$here/e1000e-seeded/bugs.patch" || {
	echo "guest-driver: guest-driver/e1000e-seeded/bugs.patch does not apply to linux-source-6.1's e1000e;" \
		"update the patch for $(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null)" >&2
	exit 1
}
cp "$here/e1000e-seeded/tn_e1000e_bugs.h" "$here/tn_bug_list.h" "$seeded/mod/$e1k/"
make -s -C "$kdir" M="$seeded/mod/$e1k" CONFIG_E1000E=m modules >"$seeded/build.log" 2>&1 || {
	cat "$seeded/build.log" >&2
	echo "guest-driver: the seeded e1000e build failed" >&2
	exit 1
}
grep -E 'warning' "$seeded/build.log" >&2 || true
mkdir -p "$top/build/images/seeded"
cp "$seeded/mod/$e1k/e1000e.ko" "$top/build/images/seeded/e1000e.ko"
echo "guest-driver: $top/build/images/seeded/e1000e.ko"
