#!/bin/sh
# make fuzz-device: coverage-guided fuzzing of the traced devices with QEMU's
# generic-fuzz (libFuzzer, ASan, UBSan): two tracenic NICs and QEMU's e1000e
# on one hub (one's TX is the others' RX), a tracenic-ledger, all writing
# into one -object tracenic-trace with check=on.  docs/fuzzing.md.
#
#   fuzz-device.sh              build, seed, fuzz FUZZ_SECONDS (default 600)
#   fuzz-device.sh --repro F    run the one input F (a crash-*, timeout-* or
#                               corpus file) again; REPRO_QEMU_ARGS adds QEMU
#                               options, e.g. "-d guest_errors,trace:tracenic_*,trace:tnkit_*"
#                               for what the devices did
#
# Output in FUZZ_DIR (default build/fuzz): seeds/ (make_seeds.py), corpus/
# (what libFuzzer found interesting, kept across runs), artifacts/ (crash-*,
# timeout-*, oom-*: the reproducers), fuzz.log, coverage.txt (the project's
# functions reached, from coverage.log).  Exit status 1 when the run found a crash, a hang, an
# assertion or a sanitizer report.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
seconds=${FUZZ_SECONDS:-600}
work=${FUZZ_DIR:-$top/build/fuzz}
build=${QEMU_FUZZ_BUILD:-$top/build/qemu-fuzz}
fuzzer=$build/qemu-fuzz-x86_64
# An input that runs this long (seconds) is a hang: generic-fuzz's own
# per-command timeout is switched off below because it ends the input
# silently with status 0, which would hide a device that never returns.
hang=${FUZZ_HANG_SECONDS:-10}

case $seconds in
'' | *[!0-9]*)
	echo "fuzz: FUZZ_SECONDS='$seconds' is not a number of seconds; e.g. FUZZ_SECONDS=300." >&2
	exit 2
	;;
esac

# The fuzzed machine.  The NICs sit at fixed slots; the second one delays
# its DMA and write-backs so that in-flight transfers, their timers and
# late write-back are reachable too.  The online check judges the trace in
# process; the file is written by every forked run at the same offsets
# (pwrite), so it holds the last run's records and does not grow.  It
# cannot be /dev/null: the writer reserves the file's space (fallocate).
mkdir -p "$work"
# (One line: generic-fuzz splits it with wordexp(), which refuses newlines.)
QEMU_FUZZ_ARGS="-nodefaults -L /usr/share/seabios -L /usr/share/qemu"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS -object tracenic-trace,id=t0,file=$work/trace.bin,check=on"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS -netdev hubport,id=n0,hubid=0 -netdev hubport,id=n1,hubid=0"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS -device tracenic,netdev=n0,trace-hub=t0,addr=04.0"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS -device tracenic,netdev=n1,trace-hub=t0,addr=05.0"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS,tx-dma-delay-ns=3000,rx-dma-delay-ns=3000,late-writeback=on,prefetch=1"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS -device tracenic-ledger,trace-hub=t0,addr=06.0"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS -netdev hubport,id=n2,hubid=0"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS -device e1000e,netdev=n2,trace-hub=t0,addr=07.0,romfile="
# QOM type names (and memory-region names) generic-fuzz fuzzes: tracenic,
# tracenic-ledger, the tracenic-trace object and e1000e.
QEMU_FUZZ_OBJECTS="tracenic* e1000e"
QEMU_FUZZ_TIMEOUT=0
# A UBSan report stops the run like an ASan one; leaks of QEMU's own
# start-up are not this target's business (each run ends in _Exit anyway).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
# ubsan.supp lists the reports of Debian's own code that are fixed upstream.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp}
export QEMU_FUZZ_ARGS QEMU_FUZZ_OBJECTS QEMU_FUZZ_TIMEOUT ASAN_OPTIONS UBSAN_OPTIONS

shim=$build/tn-fork-kick.so
run_fuzzer() { # libFuzzer arguments...
	LD_PRELOAD=$shim nice "$fuzzer" --fuzz-target=generic-fuzz "$@"
}

if [ "${1:-}" = --repro ]; then
	if [ -z "${2:-}" ] || [ ! -f "$2" ]; then
		echo "fuzz: --repro needs an input file, e.g. $work/artifacts/crash-<sha1>" >&2
		exit 2
	fi
	if [ ! -x "$fuzzer" ] || [ ! -f "$shim" ]; then
		echo "fuzz: $fuzzer is not built; run 'make fuzz-device' first." >&2
		exit 1
	fi
	QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS ${REPRO_QEMU_ARGS:-}" run_fuzzer -timeout="$hang" "$2"
	exit
fi

"$here/build-fuzz.sh"
[ -x "$fuzzer" ] || {
	echo "fuzz: the build did not produce $fuzzer" >&2
	exit 1
}
# fork-kick.c says why generic-fuzz's forked runs need it (built each time:
# it takes a tenth of a second).
cc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$shim" "$here/fork-kick.c" -ldl

mkdir -p "$work/seeds" "$work/corpus" "$work/artifacts"
# Reproducers are the output of this run only.
rm -f "$work"/artifacts/crash-* "$work"/artifacts/timeout-* "$work"/artifacts/oom-* \
	"$work"/artifacts/leak-* "$work"/artifacts/slow-unit-*

# Which generic-fuzz index is which device and BAR: run the probe input
# with the devices' guest-error messages and e1000e's register-write trace
# events on, and let make_seeds.py read them.
"$py" "$here/make_seeds.py" probe "$work/probe.bin"
probe_log="-d guest_errors,trace:e1000e_core_write,trace:e1000e_wrn_regs_write_*"
QEMU_FUZZ_ARGS="$QEMU_FUZZ_ARGS $probe_log" run_fuzzer "$work/probe.bin" \
	>"$work/probe.log" 2>&1 || {
	tail -20 "$work/probe.log" >&2
	echo "fuzz: the probe run failed; full output in $work/probe.log" >&2
	exit 1
}
rm -f "$work"/seeds/*
"$py" "$here/make_seeds.py" seeds "$work/probe.log" "$work/seeds"
echo "fuzz: $(find "$work/seeds" -type f | wc -l) seeds in $work/seeds (layout: $work/layout.json)"

echo "fuzz: fuzzing for ${seconds}s; log in $work/fuzz.log"
# Its own process group: a hung input leaves a forked child behind when
# libFuzzer stops at the timeout, and that child is ended with the group.
# No -print_coverage here: a forked run that crashes prints coverage on its
# way out and thereby rewrites libFuzzer's bookkeeping, which fork_fuzz.ld
# shares with the parent (measured: the parent then died in
# TracePC::UpdateObservedPCs); coverage is a pass of its own below.
set +e
# shellcheck disable=SC2016 # $1 and $@ are the inner shell's
setsid sh -c 'cd "$1" && shift && exec "$@"' sh "$work/artifacts" \
	env LD_PRELOAD="$shim" nice "$fuzzer" --fuzz-target=generic-fuzz \
	-max_total_time="$seconds" -timeout="$hang" -max_len=16384 \
	-artifact_prefix="$work/artifacts/" -print_final_stats=1 \
	"$work/corpus" "$work/seeds" >"$work/fuzz.log" 2>&1 &
pid=$!
wait "$pid"
rc=$?
set -e
kill -- "-$pid" 2>/dev/null || true
grep -E '^(stat::|#[0-9]+ +DONE)' "$work/fuzz.log" | tail -8 || true

# Coverage: every input the run kept, once, and libFuzzer's per-function
# coverage at the end; coverage.py keeps the project's functions.
run_fuzzer -runs=0 -print_coverage=1 -max_len=16384 "$work/corpus" "$work/seeds" \
	>"$work/coverage.log" 2>&1 || true
"$py" "$here/coverage.py" "$work/coverage.log" >"$work/coverage.txt" || true
head -n 1 "$work/coverage.txt"

artifacts=$(ls "$work"/artifacts/crash-* "$work"/artifacts/timeout-* \
	"$work"/artifacts/oom-* "$work"/artifacts/leak-* 2>/dev/null || true)
if [ -n "$artifacts" ] || [ "$rc" -ne 0 ] ||
	grep -qE 'ERROR: (AddressSanitizer|libFuzzer)|runtime error:' "$work/fuzz.log"; then
	grep -m1 -A40 -E 'ERROR: (AddressSanitizer|libFuzzer)|runtime error:' "$work/fuzz.log" >&2 || true
	echo "fuzz: FAILED (libFuzzer status $rc). Reproducers:" >&2
	for f in $artifacts; do echo "  $f" >&2; done
	echo "fuzz: run one again with: qemu-device/fuzz/fuzz-device.sh --repro <file>" \
		"(docs/fuzzing.md); full log in $work/fuzz.log" >&2
	exit 1
fi
echo "fuzz: no crash, hang or sanitizer report in ${seconds}s; coverage in $work/coverage.txt"
