#!/bin/sh
# Build the guest: Debian's kernel (extracted from linux-image-<abi>-amd64,
# the ABI resolved from linux-image-amd64 at build time) and a busybox
# initramfs with the scenario runner.  No root needed; reruns are cheap.
#
# images/build.sh --bench also writes initramfs-bench.cpio.gz: the same image
# plus the NIC drivers of bench-modules.list and the static tn-blast traffic
# generator (bench/tn-blast.c), for make bench.  Scenario boots keep using
# the small initramfs.cpio.gz.
set -eu
bench=no
[ "${1:-}" = --bench ] && bench=yes
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
out=$top/build/images
mkdir -p "$out/deb"

abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: linux-image-\(.*\)-amd64$/\1/p' | head -n 1)
[ -n "$abi" ] || {
	echo "images: cannot resolve the kernel ABI from linux-image-amd64;" \
		"run 'make deps' (it runs apt-get update) and retry." >&2
	exit 1
}
pkg=linux-image-$abi-amd64
kroot=$out/kernel-$abi

if [ ! -f "$kroot/.extracted" ]; then
	deb=$(ls "$out"/deb/"${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		echo "images: downloading $pkg"
		(cd "$out/deb" && apt-get download -q "$pkg" >download.log 2>&1) || {
			echo "images: 'apt-get download $pkg' failed; see $out/deb/download.log" >&2
			exit 1
		}
		deb=$(ls "$out"/deb/"${pkg}"_*.deb | head -n 1)
	fi
	rm -rf "$kroot"
	dpkg-deb -x "$deb" "$kroot"
	touch "$kroot/.extracted"
fi
cp -f "$kroot/boot/vmlinuz-$abi-amd64" "$out/vmlinuz"
echo "$abi" >"$out/kernel-abi.txt"
# The uncompressed kernel for PVH direct boot of SeaBIOS guests (harness/tracenic/qemu_cmd.py): no
# decompression inside the guest, about 2.5 s less per boot under TCG.
if ! grep -qx 'CONFIG_PVH=y' "$kroot/boot/config-$abi-amd64" 2>/dev/null; then
	rm -f "$out/vmlinux"
	echo "images: the kernel has no CONFIG_PVH; guests boot vmlinuz" >&2
elif [ ! -f "$out/vmlinux" ] || [ "$kroot/boot/vmlinuz-$abi-amd64" -nt "$out/vmlinux" ]; then
	/usr/bin/python3 "$here/extract-vmlinux.py" "$out/vmlinuz" "$out/vmlinux" || {
		rm -f "$out/vmlinux"
		echo "images: could not extract vmlinux; guests boot vmlinuz" >&2
	}
fi

# The initramfs tree is rebuilt from scratch each time: it is small.
stage=$out/initramfs
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/sbin" "$stage/proc" "$stage/sys" "$stage/dev" \
	"$stage/tmp" "$stage/lib/modules" "$stage/etc"
cp /bin/busybox "$stage/bin/busybox"
for app in $("$stage/bin/busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "$stage/bin/$app"
done
cp "$here/init" "$stage/init"
cp "$here/runner.sh" "$stage/bin/tn-runner"
# The contract values the runner needs, read from include/tracenic/ (their
# only source), as shell assignments it sources.
contract() { # header name...
	hdr=$top/include/tracenic/$1
	shift
	for name; do
		val=$(sed -n "s/^#define[[:space:]]\{1,\}$name[[:space:]]\{1,\}\(0x[0-9a-fA-F]\{1,\}\|[0-9]\{1,\}\)[[:space:]]*\(\/\*.*\)\{0,1\}$/\1/p" "$hdr")
		[ -n "$val" ] || {
			echo "images: $hdr has no plain numeric '#define $name'; the runner needs it" >&2
			exit 1
		}
		echo "$name=$val"
	done
}
contract regs.h TN_PCI_VENDOR_ID TN_PCI_DEVICE_ID >"$stage/etc/tracenic-contract.sh"
chmod +x "$stage/init" "$stage/bin/tn-runner"

# A kernel module, uncompressed for busybox insmod.
add_module() { # name list-file
	[ -f "$stage/lib/modules/$1.ko" ] && return 0
	f=$(find "$kroot/lib/modules/$abi-amd64" -name "$1.ko*" | head -n 1)
	[ -n "$f" ] || {
		echo "images: module $1 is not in $pkg; update images/$2" >&2
		exit 1
	}
	case $f in
	*.xz) xz -dc "$f" >"$stage/lib/modules/$1.ko" ;;
	*.zst) zstd -qdc "$f" >"$stage/lib/modules/$1.ko" ;;
	*) cp "$f" "$stage/lib/modules/$1.ko" ;;
	esac
}

pack() { # output name
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) \
		>"$out/$1.tmp"
	mv "$out/$1.tmp" "$out/$1"
}

# Kernel modules the runner needs: the project's (guest-driver/build.sh), Debian's.
for m in tracenic tracenic-agent tn-dmabench; do
	if [ -f "$out/$m.ko" ]; then
		cp "$out/$m.ko" "$stage/lib/modules/$m.ko"
	fi
done
# Linux's e1000e with the seeded bug modes (guest-driver/build.sh), beside Debian's own.
if [ -f "$out/seeded/e1000e.ko" ]; then
	mkdir -p "$stage/lib/modules/seeded"
	cp "$out/seeded/e1000e.ko" "$stage/lib/modules/seeded/e1000e.ko"
fi
for m in $(cat "$here/modules.list"); do
	add_module "$m" modules.list
done
# ethtool's ring resize and reset for drivers without tracenic's debugfs files.
gcc -static -O2 -Wall -Wextra -Werror -o "$stage/bin/tn-ethtool" "$here/tn-ethtool.c"
pack initramfs.cpio.gz
echo "images: ready: $out/vmlinuz (kernel $abi), $out/initramfs.cpio.gz"

[ "$bench" = yes ] || exit 0
grep -v '^#' "$here/bench-modules.list" >"$stage/etc/tn-bench-modules"
for m in $(cut -d' ' -f2- "$stage/etc/tn-bench-modules"); do
	add_module "$m" bench-modules.list
done
gcc -static -O2 -Wall -Wextra -Werror -I"$top/include" -o "$stage/bin/tn-blast" "$top/bench/tn-blast.c"
pack initramfs-bench.cpio.gz
echo "images: ready: $out/initramfs-bench.cpio.gz (with $(cut -d' ' -f1 "$stage/etc/tn-bench-modules" | tr '\n' ' ')drivers and tn-blast)"
