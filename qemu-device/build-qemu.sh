#!/bin/sh
# Build qemu-system-x86_64 with the tracenic device (make qemu).
#
# Default: Debian's own QEMU source package (apt-get source qemu) unpacked in
# build/qemu-src, built minimal (x86_64-softmmu: kvm, tcg, slirp, fdt) in
# build/qemu.  QEMU_SRC=<dir> builds into your own tree instead (build dir
# QEMU_BUILD, default <dir>/build-tracenic).  SANITIZE=1 builds with ASan and
# UBSan into build/qemu-asan (or <dir>/build-tracenic-asan) for
# `SANITIZE=1 qemu-device/run-qtests.sh`.  FETCH_ONLY=1 stops after fetching
# and integrating and prints the source directory (qemu-device/fuzz/ builds
# its own configuration of the same tree).  Reruns only rebuild what changed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
jobs=${JOBS:-$(nproc)}

if [ -n "${QEMU_SRC:-}" ]; then
	src=$(cd "$QEMU_SRC" && pwd)
	build=${QEMU_BUILD:-$src/build-tracenic${SANITIZE:+-asan}}
else
	pkgdir=$top/build/qemu-src
	build=$top/build/qemu${SANITIZE:+-asan}
	find_src() {
		for d in "$pkgdir"/qemu-*/; do
			[ -f "$d/configure" ] && echo "${d%/}" && return
		done
		return 0
	}
	src=$(find_src)
	# The stamp is written once apt-get source (download, unpack, Debian's
	# patches) has finished: an interrupted fetch is started again.
	if [ -z "$src" ] || [ ! -f "$pkgdir/.tracenic-fetched" ]; then
		echo "qemu: fetching Debian's QEMU source package"
		rm -rf "$pkgdir" && mkdir -p "$pkgdir"
		(cd "$pkgdir" && apt-get source -q qemu >fetch.log 2>&1) || {
			echo "qemu: 'apt-get source qemu' failed (see $pkgdir/fetch.log);" \
				"run 'make deps' to enable deb-src, then retry." >&2
			exit 1
		}
		src=$(find_src)
		touch "$pkgdir/.tracenic-fetched"
	fi
fi

"$here/integrate.sh" "$src"
if [ -n "${FETCH_ONLY:-}" ]; then
	echo "$src"
	exit 0
fi

# Debian's 7.2 builds without a single warning here, so warnings stay fatal;
# a tree of your own (other version, other compiler) gets them as warnings.
werror=--enable-werror
[ -z "${QEMU_SRC:-}" ] || werror=--disable-werror
[ -z "${SANITIZE:-}" ] || werror="--disable-werror --enable-sanitizers"
config="--target-list=x86_64-softmmu --meson=/usr/bin/meson --without-default-features
--enable-kvm --enable-tcg --enable-slirp --enable-fdt=system --disable-docs $werror"
stamp=$build/.tracenic-configure
if [ ! -f "$build/build.ninja" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$config" ]; then
	echo "qemu: configuring $src into $build"
	mkdir -p "$build"
	# shellcheck disable=SC2086 # the options are words
	(cd "$build" && "$src/configure" $config >configure.log 2>&1) || {
		echo "qemu: configure failed; see $build/configure.log" >&2
		exit 1
	}
	echo "$config" >"$stamp"
fi

echo "qemu: building qemu-system-x86_64 in $build"
ninja -C "$build" -j "$jobs" qemu-system-x86_64 >"$build/ninja.log" 2>&1 || {
	grep -E 'error|Error' "$build/ninja.log" | head -20 >&2
	echo "qemu: build failed; full log in $build/ninja.log" >&2
	exit 1
}
echo "qemu: ready: $build/qemu-system-x86_64"
