#!/bin/sh
# Build and run the tracenic qtests and the trace-writer benchmark (make qtest).
# Mounts a small tmpfs for the disk-full test, so it needs root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${QEMU_BUILD:-$top/build/qemu${SANITIZE:+-asan}}
out=$top/build/qtest${SANITIZE:+-asan}
mkdir -p "$out/bin"

# Ours, and QEMU's own e1000e qtests: the patched e1000e untraced, and traced.
ninja -C "$build" qemu-system-x86_64 tests/qtest/tracenic-test \
	tests/qtest/e1000e-trace-test tests/qtest/qos-test \
	tests/qtest/fuzz-e1000e-test >"$out/ninja.log" 2>&1 || {
	grep -E 'error' "$out/ninja.log" | head -20 >&2
	echo "qtest: build failed; see $out/ninja.log" >&2
	exit 1
}
# The e1000e qtests run dmacheck on their traces.
make -s -C "$top/harness/dmacheck" all >"$out/dmacheck-build.log" 2>&1 || {
	tail -20 "$out/dmacheck-build.log" >&2
	echo "qtest: building dmacheck failed; see $out/dmacheck-build.log" >&2
	exit 1
}
dmacheck=$top/build/bin/dmacheck

# libqtest derives the target from the binary's name, so the wrapper must
# be called qemu-system-x86_64.  It adds the firmware search paths.
cat >"$out/bin/qemu-system-x86_64" <<WRAP
#!/bin/sh
exec "$build/qemu-system-x86_64" -L /usr/share/seabios -L /usr/share/qemu -L /usr/lib/ipxe/qemu "\$@"
WRAP
chmod +x "$out/bin/qemu-system-x86_64"
# The same, with every e1000e writing a trace of its own (one per QEMU).
traces=$out/e1000e-traces
rm -rf "$traces" && mkdir -p "$traces" "$out/bin/traced"
cat >"$out/bin/traced/qemu-system-x86_64" <<WRAP
#!/bin/sh
exec "$out/bin/qemu-system-x86_64" -global e1000e.trace="$traces/trace-\$\$.bin" "\$@"
WRAP
chmod +x "$out/bin/traced/qemu-system-x86_64"

fullfs=$out/full-fs
mkdir -p "$fullfs"
mountpoint -q "$fullfs" || mount -t tmpfs -o size=4200k tracenic-full "$fullfs" || {
	echo "qtest: cannot mount a tmpfs on $fullfs for the disk-full test;" \
		"run as root (CI does)." >&2
	exit 1
}
trap 'umount "$fullfs" 2>/dev/null || true' EXIT

# run <name> <qemu wrapper> <test binary> [args]: TAP into $out/<name>.tap
pass=0 fail=0
run() {
	name=$1 qemu=$2
	shift 2
	st=0
	QTEST_QEMU_BINARY=$qemu TRACENIC_FULL_FS=$fullfs TRACENIC_DMACHECK=$dmacheck \
		"$@" --tap -k >"$out/$name.tap" 2>&1 || st=$?
	grep -v "^# starting QEMU" "$out/$name.tap" | sed "s|^|$name: |"
	p=$(grep -c '^ok ' "$out/$name.tap" || true)
	f=$(grep -c -E '^(not ok |Bail out)' "$out/$name.tap" || true)
	[ "$st" -eq 0 ] && [ "$p" -gt 0 ] || f=$((f + 1))
	pass=$((pass + p)) fail=$((fail + f))
}
run tracenic-test "$out/bin/qemu-system-x86_64" "$build/tests/qtest/tracenic-test"
run e1000e-trace-test "$out/bin/qemu-system-x86_64" "$build/tests/qtest/e1000e-trace-test"
# QEMU's own e1000e qtests (qos-test's e1000e paths; glib's -p takes whole
# paths), on the patched e1000e without a trace, then traced.
paths=$(QTEST_QEMU_BINARY=$out/bin/qemu-system-x86_64 "$build/tests/qtest/qos-test" -l |
	grep '/e1000e/' | sed 's/^/-p /')
[ -n "$paths" ] || {
	echo "qtest: qos-test lists no e1000e test; is CONFIG_E1000E_PCI_EXPRESS on?" >&2
	exit 1
}
# shellcheck disable=SC2086 # one -p per path
run qos-e1000e "$out/bin/qemu-system-x86_64" "$build/tests/qtest/qos-test" $paths
run fuzz-e1000e "$out/bin/qemu-system-x86_64" "$build/tests/qtest/fuzz-e1000e-test"
# shellcheck disable=SC2086
run qos-e1000e-traced "$out/bin/traced/qemu-system-x86_64" "$build/tests/qtest/qos-test" $paths
run fuzz-e1000e-traced "$out/bin/traced/qemu-system-x86_64" \
	"$build/tests/qtest/fuzz-e1000e-test"
# Every trace those wrote is one dmacheck reads, with no violation but one:
# QEMU's qtests end with the device running (none resets it the way a
# driver's remove does), so a trace may end with references held
# (ref-held-at-end, docs/rules.md).  Anything else fails.
n=0 held=0
for tr in "$traces"/trace-*.bin; do
	[ -f "$tr" ] || continue
	n=$((n + 1))
	st=0
	"$dmacheck" --json-out "$tr.json" "$tr" >"$tr.txt" 2>&1 || st=$?
	rules=$(/usr/bin/python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["rules"]))' \
		"$tr.json" 2>/dev/null) || rules="(no JSON)"
	case "$st:$rules" in
	0: | "1:ref-held-at-end") [ "$st" -eq 0 ] || held=$((held + 1)) ;;
	*)
		echo "qtest: dmacheck $tr: exit $st, rules '$rules':" >&2
		cat "$tr.txt" >&2
		fail=$((fail + 1))
		;;
	esac
done
echo "qtest: dmacheck read $n traces of QEMU's e1000e qtests run traced: no violation" \
	"($held end with the device still holding its rings: the tests never reset it)"
[ "$n" -ge 5 ] || {
	echo "qtest: QEMU's e1000e qtests left $n traces, expected one per e1000e they start (5 or more)" >&2
	fail=$((fail + 1))
}
echo "qtest: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1

gcc -O2 -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -I"$here" \
	"$here/bench/trace-writer-bench.c" "$here/tnkit-trace.c" -o "$out/bin/trace-writer-bench"
echo "bench: $out/bin/trace-writer-bench 10000000 $out/bench.bin"
"$out/bin/trace-writer-bench" 10000000 "$out/bench.bin"
