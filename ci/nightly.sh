#!/bin/bash
# The nightly regression on one machine: `make run` (or one shard of it), then the
# report published where a web server or the CI system picks it up.
#
#   ci/nightly.sh                       # whole matrix, report in reports/<timestamp>/
#   SHARD=2/4 ci/nightly.sh             # this machine's quarter of the night
#   PUBLISH=/srv/www/tracenic ci/nightly.sh   # also copy the report there (latest -> it)
#   LIBVIRT_URI=qemu+ssh://lab-host/system ci/nightly.sh   # libvirt scenarios on a lab host
#   SWEEP_MINUTES=30 ci/nightly.sh      # the closing race sweep's length (default 2, 0: none;
#                                       # docs/sweep.md), its findings in the report's sweep/
#   FUZZ_SECONDS=1800 ci/nightly.sh     # then `make fuzz-device` for that long, its coverage,
#                                       # log and reproducers in the report's fuzz-device/
#
# Exit status: make run's (non-zero when any verdict differs from its expectation, or the
# sweep has a finding no scenario expects), else
# make fuzz-device's when it ran (non-zero on a crash, hang or sanitizer report).
set -uo pipefail
cd "$(dirname "$0")/.."

stamp=$(date +%Y%m%d-%H%M%S)
report="reports/${stamp}${SHARD:+-shard-${SHARD/\//of}}"
args=(--report-dir "$report")
[ -n "${SHARD:-}" ] && args+=(--shard "$SHARD")
[ -n "${LIBVIRT_URI:-}" ] && args+=(--libvirt-uri "$LIBVIRT_URI")

make run RUN_ARGS="${args[*]}"
rc=$?

# A night that failed before writing its report still leaves a sentence behind.
if [ ! -f "$report/summary.json" ]; then
	mkdir -p "$report"
	echo "tracenic nightly: make run exited with status $rc before writing a report" \
		>"$report/ERROR.txt"
fi
if [ -n "${FUZZ_SECONDS:-}" ]; then
	FUZZ_SECONDS=$FUZZ_SECONDS make fuzz-device
	frc=$?
	mkdir -p "$report/fuzz-device"
	cp -r build/fuzz/coverage.txt build/fuzz/fuzz.log build/fuzz/layout.json \
		build/fuzz/artifacts "$report/fuzz-device/" 2>/dev/null
	[ "$frc" -eq 0 ] || echo "tracenic nightly: make fuzz-device exited with status $frc;" \
		"reproducers in fuzz-device/artifacts/, see docs/fuzzing.md" >"$report/fuzz-device/ERROR.txt"
	[ "$rc" -ne 0 ] || rc=$frc
fi
ln -sfn "$(basename "$report")" reports/latest
if [ -n "${PUBLISH:-}" ]; then
	mkdir -p "$PUBLISH"
	cp -r "$report" "$PUBLISH/"
	ln -sfn "$(basename "$report")" "$PUBLISH/latest"
fi
exit $rc
