#!/bin/sh
# Build qemu-fuzz-x86_64 (QEMU's libFuzzer targets, among them generic-fuzz)
# with the tracenic device, ASan and UBSan, into build/qemu-fuzz.
#
# Same source tree as `make qemu` (build/qemu-src, or QEMU_SRC=<dir>), a
# second meson build dir next to build/qemu (QEMU_FUZZ_BUILD to move it).
# Only what generic-fuzz needs is configured: x86_64-softmmu, KVM as the one
# accelerator (the fuzzer runs with accel=qtest, so TCG is not built), no
# slirp, no docs.
# Reruns only rebuild what changed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
jobs=${JOBS:-2}

# build-qemu.sh fetches Debian's source when it is not there yet (or takes
# QEMU_SRC) and links the device in; it prints the source directory last.
src=$(FETCH_ONLY=1 "$top/qemu-device/build-qemu.sh" | tail -n 1)
[ -f "$src/configure" ] || {
	echo "fuzz: qemu-device/build-qemu.sh did not name a QEMU source tree ('$src')" >&2
	exit 1
}
build=${QEMU_FUZZ_BUILD:-$top/build/qemu-fuzz}

# clang-14 has no -fsanitize=fuzzer without Debian's libclang-rt-14-dev
# (libclang_rt.fuzzer*.a); ci/install-deps.sh installs it with clang.
for tool in clang clang++; do
	command -v "$tool" >/dev/null || {
		echo "fuzz: $tool is missing; run 'make deps' (ci/install-deps.sh installs clang and libFuzzer)." >&2
		exit 1
	}
done

config="--target-list=x86_64-softmmu --meson=/usr/bin/meson --without-default-features
--enable-kvm --disable-tcg --disable-docs --disable-werror
--cc=clang --cxx=clang++ --enable-fuzzing --enable-sanitizers"
stamp=$build/.tracenic-configure
if [ ! -f "$build/build.ninja" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$config" ]; then
	echo "fuzz: configuring $src into $build"
	mkdir -p "$build"
	# shellcheck disable=SC2086 # the options are words
	(cd "$build" && "$src/configure" $config >configure.log 2>&1) || {
		echo "fuzz: configure failed; see $build/configure.log" >&2
		exit 1
	}
	echo "$config" >"$stamp"
fi

echo "fuzz: building qemu-fuzz-x86_64 in $build (first build: 6 min on 2 cores)"
nice ninja -C "$build" -j "$jobs" qemu-fuzz-x86_64 >"$build/ninja.log" 2>&1 || {
	grep -E 'error|Error' "$build/ninja.log" | head -20 >&2
	echo "fuzz: build failed; full log in $build/ninja.log" >&2
	exit 1
}
echo "fuzz: ready: $build/qemu-fuzz-x86_64"
