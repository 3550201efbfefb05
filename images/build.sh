#!/bin/sh
# Build the guest: Debian's kernel (extracted from linux-image-<abi>-amd64,
# the ABI resolved from linux-image-amd64 at build time) and a busybox
# initramfs with the scenario runner.  No root needed; reruns are cheap.
set -eu
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
chmod +x "$stage/init" "$stage/bin/tn-runner"

# Kernel modules the runner needs, uncompressed for busybox insmod.
for m in $(cat "$here/modules.list"); do
	f=$(find "$kroot/lib/modules/$abi-amd64" -name "$m.ko*" | head -n 1)
	[ -n "$f" ] || {
		echo "images: module $m is not in $pkg; update images/modules.list" >&2
		exit 1
	}
	case $f in
	*.xz) xz -dc "$f" >"$stage/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" >"$stage/lib/modules/$m.ko" ;;
	*) cp "$f" "$stage/lib/modules/$m.ko" ;;
	esac
done
if [ -f "$out/tracenic.ko" ]; then
	cp "$out/tracenic.ko" "$stage/lib/modules/tracenic.ko"
fi

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) \
	>"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
echo "images: ready: $out/vmlinuz (kernel $abi), $out/initramfs.cpio.gz"
