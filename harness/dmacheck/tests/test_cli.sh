#!/bin/sh
# The dmacheck command line: exit statuses, --json, --dump, --perfetto, --stats.
# Usage: test_cli.sh DMACHECK CORPUS_DIR (the corpus comes from test-rules)
set -u
dc=$1 corpus=$2
top=$(cd "$(dirname "$0")/../../.." && pwd)
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # name, expected status, command...
	name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL $name: exit $got, expected $want"
		cat "$tmp/out" "$tmp/err" | head -20
	fi
}

check clean-exit-0 0 "$dc" "$corpus/dma-after-free-twin-realloc.bin"
check violation-exit-1 1 "$dc" "$corpus/dma-after-free.bin"
grep -q "VIOLATION dma-after-free" "$tmp/out" || { fail=$((fail + 1)); echo "FAIL text report lacks the rule"; }
grep -q "freed at" "$tmp/out" || { fail=$((fail + 1)); echo "FAIL text report lacks the free time"; }
check invalid-exit-2 2 "$dc" "$corpus/invalid/invalid-magic.bin"
grep -q "offset 0" "$tmp/err" || { fail=$((fail + 1)); echo "FAIL invalid input message lacks the offset"; }
check missing-file-exit-2 2 "$dc" "$tmp/does-not-exist.bin"
check bad-option-exit-2 2 "$dc" --frobnicate "$corpus/leak.bin"

check json 1 "$dc" --json "$corpus/free-not-quiesced-prefetch.bin"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["verdict"]=="violations"; v=d["violations"][0]; assert v["rule"]=="free-not-quiesced" and v["device"]["refs"][0]["kind"]=="prefetched buffer", v' "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL --json output"; }

check dump 0 "$dc" --dump "$corpus/map-leak-twin-unmapped.bin"
[ "$(wc -l <"$tmp/out")" -eq 5 ] && /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL --dump: not one JSON object per record"; }

check perfetto 1 "$dc" --perfetto "$tmp/p.json" "$corpus/dma-after-free.bin"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); names=[e.get("name","") for e in d["traceEvents"]]; assert any(n.startswith("VIOLATION dma-after-free") for n in names), names; assert any(e.get("ph")=="X" for e in d["traceEvents"])' "$tmp/p.json" ||
	{ fail=$((fail + 1)); echo "FAIL --perfetto output"; }

check stats 0 "$dc" --stats "$corpus/wild-dma-twin-contiguous.bin"
grep -q "tx-buf-read" "$tmp/out" || { fail=$((fail + 1)); echo "FAIL --stats lacks the cause"; }
check stats-regions 0 "$dc" --stats "$corpus/wild-dma-twin-contiguous.bin"
grep -q "id 1, NdisAllocateMemory, length 8192.*live at the end: 8192 bytes, tx-buf-read 8192" "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL --stats lacks the per-region line"; }
check json-stats 0 "$dc" --json --stats "$corpus/wild-dma-twin-contiguous.bin"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d["stats"]["top_regions"][0]; assert t["id"]==1 and t["by_cause"]=={"tx-buf-read":8192}, t' "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL --json --stats is not one JSON document with the statistics"; }
check truncated-banner 1 "$dc" "$corpus/trace-truncated.bin"
head -1 "$tmp/out" | grep -q "WARNING: records were dropped" ||
	{ fail=$((fail + 1)); echo "FAIL a truncated trace is not announced first"; }
check incomplete-banner 1 "$dc" "$corpus/trace-incomplete.bin"
head -1 "$tmp/out" | grep -q "WARNING: the trace has no END record" ||
	{ fail=$((fail + 1)); echo "FAIL an incomplete trace is not announced first"; }
check list-rules 0 "$dc" --list-rules
# as many as rules.h names (one "[TN_RULE_X] = {" line each)
rules=$(grep -c '^[[:space:]]*\[TN_RULE_[A-Z_]*\] = {' "$top/include/tracenic/rules.h")
[ "$(wc -l <"$tmp/out")" -eq "$rules" ] || { fail=$((fail + 1)); echo "FAIL --list-rules count"; }

# A dma-after-free report says what the device was doing when the memory was freed.
check after-free-state 1 "$dc" "$corpus/dma-after-free-same-page.bin"
grep -q "device   at the free: QUIESCED; rings active: none; 0 device references" "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL dma-after-free report lacks the device state at the free"; }

# File names are data: a quote or backslash in one must not break --json.
cp "$corpus/dma-after-free.bin" "$tmp/we\"ird\\name.bin"
check json-file-name 1 "$dc" --json "$tmp/we\"ird\\name.bin"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["trace"].endswith("we\"ird\\name.bin"), d["trace"]; r=d["violations"][0]["region"]; assert r["freed"] and "at_free" in r, r' "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL --json with an odd file name"; }

# One invocation writes every output: the text report (and --stats) on stdout,
# --json-out FILE and --perfetto FILE, each equal to what a separate run writes.
for t in dma-after-free dma-after-free-twin-realloc free-not-quiesced-prefetch trace-truncated \
	 wild-dma-twin-contiguous; do
	f=$corpus/$t.bin
	"$dc" --stats "$f" >"$tmp/sep.txt" 2>&1; sep=$?
	"$dc" --json "$f" >"$tmp/sep.json" 2>&1
	"$dc" --perfetto "$tmp/sep.pf" "$f" >/dev/null 2>&1
	"$dc" --stats --json-out "$tmp/one.json" --perfetto "$tmp/one.pf" "$f" >"$tmp/one.txt" 2>&1
	one=$?
	if [ "$one" -eq "$sep" ] && cmp -s "$tmp/sep.txt" "$tmp/one.txt" &&
	   cmp -s "$tmp/sep.json" "$tmp/one.json" && cmp -s "$tmp/sep.pf" "$tmp/one.pf"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL one invocation's outputs of $t differ from separate runs' (exit $one vs $sep)"
	fi
done
rm -f "$tmp/one.json"
check json-out-invalid 2 "$dc" --json-out "$tmp/one.json" "$corpus/invalid/invalid-magic.bin"
[ ! -e "$tmp/one.json" ] || { fail=$((fail + 1)); echo "FAIL --json-out left a report of an unreadable trace"; }
check json-out-unwritable 2 "$dc" --json-out "$tmp/no/such/dir.json" "$corpus/leak.bin"
grep -q "cannot write" "$tmp/err" || { fail=$((fail + 1)); echo "FAIL --json-out to a bad path does not say so"; }

# --stopped-on-violation: a trace paused at the device's violation and then ended
# has no END, and is not trace-incomplete for that; the report says it ends at the stop.
check stopped 1 "$dc" --stopped-on-violation "$corpus/stopped-on-violation.bin"
grep -q "the trace ends at the stop" "$tmp/out" && ! grep -q "trace-incomplete" "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL --stopped-on-violation text report"; }
check stopped-json 1 "$dc" --stopped-on-violation --json "$corpus/stopped-on-violation.bin"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["stopped_on_violation"] is True and list(d["rules"]) == ["dma-after-free"] and not d["complete"], d' "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL --stopped-on-violation --json"; }
check stopped-without-option 1 "$dc" --json "$corpus/stopped-on-violation.bin"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "stopped_on_violation" not in d and "trace-incomplete" in d["rules"], d' "$tmp/out" ||
	{ fail=$((fail + 1)); echo "FAIL a stopped trace without --stopped-on-violation is not trace-incomplete"; }
for t in stopped-on-violation-twin-no-violation stopped-on-violation-twin-no-stop-flag \
	 stopped-on-violation-twin-cut-short; do
	check "stopped-$t" 1 "$dc" --stopped-on-violation "$corpus/$t.bin"
	grep -q "trace-incomplete" "$tmp/out" && ! grep -q "ends at the stop" "$tmp/out" ||
		{ fail=$((fail + 1)); echo "FAIL $t with --stopped-on-violation is not trace-incomplete"; }
done

# The corpus's .expect files say what this dmacheck reports on each trace (other
# tests read them as the verdict): the rules in --json, and exit 1 or 0.
for e in "$corpus"/*.expect; do
	t=${e%.expect}.bin
	want=1
	[ -s "$e" ] || want=0
	check "corpus-$(basename "$t")" $want "$dc" --json "$t"
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); got="".join(r+"\n" for r in d["rules"]); want=open(sys.argv[2]).read(); assert got==want, (got, want)' "$tmp/out" "$e" ||
		{ fail=$((fail + 1)); echo "FAIL $t: the rules reported differ from $e"; }
done

echo "dmacheck cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
