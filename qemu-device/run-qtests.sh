#!/bin/sh
# Build and run the tracenic qtests and the trace-writer benchmark (make qtest).
# Mounts a small tmpfs for the disk-full test, so it needs root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${QEMU_BUILD:-$top/build/qemu${SANITIZE:+-asan}}
out=$top/build/qtest${SANITIZE:+-asan}
mkdir -p "$out/bin"

ninja -C "$build" qemu-system-x86_64 tests/qtest/tracenic-test >"$out/ninja.log" 2>&1 || {
	grep -E 'error' "$out/ninja.log" | head -20 >&2
	echo "qtest: build failed; see $out/ninja.log" >&2
	exit 1
}

# libqtest derives the target from the binary's name, so the wrapper must
# be called qemu-system-x86_64.  It adds the firmware search paths.
cat >"$out/bin/qemu-system-x86_64" <<WRAP
#!/bin/sh
exec "$build/qemu-system-x86_64" -L /usr/share/seabios -L /usr/share/qemu -L /usr/lib/ipxe/qemu "\$@"
WRAP
chmod +x "$out/bin/qemu-system-x86_64"

fullfs=$out/full-fs
mkdir -p "$fullfs"
mountpoint -q "$fullfs" || mount -t tmpfs -o size=4200k tracenic-full "$fullfs" || {
	echo "qtest: cannot mount a tmpfs on $fullfs for the disk-full test;" \
		"run as root (CI does)." >&2
	exit 1
}
trap 'umount "$fullfs" 2>/dev/null || true' EXIT

status=0
QTEST_QEMU_BINARY=$out/bin/qemu-system-x86_64 TRACENIC_FULL_FS=$fullfs \
	"$build/tests/qtest/tracenic-test" --tap -k >"$out/tracenic-test.tap" 2>&1 || status=$?
grep -v "^# starting QEMU" "$out/tracenic-test.tap"
pass=$(grep -c '^ok ' "$out/tracenic-test.tap" || true)
fail=$(grep -c -E '^(not ok |Bail out)' "$out/tracenic-test.tap" || true)
echo "qtest: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ] && [ "$status" -eq 0 ] || exit 1

gcc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -I"$here" \
	"$here/bench/trace-writer-bench.c" "$here/tnkit-trace.c" -o "$out/bin/trace-writer-bench"
echo "bench: $out/bin/trace-writer-bench 10000000 $out/bench.bin"
"$out/bin/trace-writer-bench" 10000000 "$out/bench.bin"
