"""Paired A/B of one test, for deciding a change: how much trace + check on
costs against trace off (or against e1000), with one or more QEMU binaries,
run in interleaved blocks so that the host's slow phases hit them all alike.

Each round is one pair of simultaneous boots pinned to one host CPU, exactly
as the paired part of `make bench` runs them (nic.run_paired).  Printed per
binary and block: the cost in frames per QEMU CPU-second (1 - A/B for
trace-off, or B/A - 1 against e1000: positive is slower than B) and the
packets/s ratio of every round.  Nothing is written to build/bench/results.json.

  /usr/bin/python3 bench/paired_ab.py --test tx64 --qemu old/qemu-system-x86_64 \\
      --qemu build/qemu/qemu-system-x86_64 --blocks 3 --rounds 2
"""
import argparse
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))
sys.path.insert(0, str(HERE))

import nic  # noqa: E402
from tracenic import paths  # noqa: E402
from tracenic.vm import pick_accel  # noqa: E402


def parse_test(spec: str) -> tuple[str, int]:
    """"tx64" -> ("tx", 64); "rx1500" -> ("rx", 1500)."""
    m = re.fullmatch(r"(tx|rx)(64|1500)", spec)
    if not m:
        raise ValueError(f"test {spec!r}: write tx64, tx1500, rx64 or rx1500")
    return m.group(1), int(m.group(2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test", default="tx64", help="tx64, tx1500, rx64 or rx1500")
    ap.add_argument("--against", default="tracenic", choices=["tracenic", "e1000"],
                    help="B of the pair: tracenic with trace off, or e1000")
    ap.add_argument("--pair", default=None,
                    help="A,B: any two configurations of bench/nic.py, e.g. "
                         "e1000e-trace,e1000e (one model traced and not: the cost as for "
                         "trace off) or e1000e,e1000 (two models: as against e1000)")
    ap.add_argument("--qemu", action="append", type=Path,
                    help="a QEMU binary to measure (repeat to compare; default: build/qemu's)")
    ap.add_argument("--driver-params", default=None,
                    help="tracenic module parameters for A (e.g. itr_busy_us=500)")
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2, help="rounds per binary and block")
    ap.add_argument("--seconds", type=float, default=5)
    args = ap.parse_args()
    try:
        test = parse_test(args.test)
    except ValueError as e:
        ap.error(str(e))
    binaries = args.qemu or [paths.QEMU]
    missing = [b for b in binaries if not b.exists()]
    if missing:
        ap.error(f"no QEMU binary at {', '.join(map(str, missing))}; run make qemu first")
    if args.driver_params is not None:
        nic.CONFIGS = [c[:5] + (args.driver_params,) if c[0] == "tracenic-trace" else c
                       for c in nic.CONFIGS]
    keys = {c[0] for c in nic.CONFIGS}
    if args.pair:
        pair = tuple(args.pair.split(","))
        if len(pair) != 2 or not set(pair) <= keys:
            ap.error(f"--pair {args.pair}: write A,B from {', '.join(sorted(keys))}")
        model = {c[0]: c[2] for c in nic.CONFIGS}
        same_model = model[pair[0]] == model[pair[1]]
    else:
        pair = ("tracenic-trace", args.against)
        same_model = args.against == "tracenic"
    nic.PAIRS = [pair]
    nic.TESTS = [test]
    out = paths.BUILD / "bench" / "paired-ab"
    accel = pick_accel(paths.BUILD / "bench")
    costs: dict[int, list[float]] = {i: [] for i in range(len(binaries))}
    for block in range(1, args.blocks + 1):
        for i, qemu in enumerate(binaries):
            paths.QEMU = qemu.resolve()
            r = nic.run_paired(out / f"{block}-{i}", args.rounds, args.seconds, accel,
                               lambda m: None)
            if r["failures"] or not r["runs"]:
                print(f"{qemu}: block {block} failed: {r['failures'] or 'no runs'}")
                return 1
            c = [(1 - x["b_cpu_us"] / x["a_cpu_us"]) * 100 if same_model
                 else (x["a_cpu_us"] / x["b_cpu_us"] - 1) * 100 for x in r["runs"]]
            costs[i] += c
            cost_text = ", ".join(f"{v:.1f}" for v in c)
            pps_text = ", ".join(f"{x['ratio']:.3f}" for x in r["runs"])
            print(f"block {block} {qemu}: {args.test} cost in frames per CPU-second "
                  f"{cost_text} %; packets/s A/B {pps_text}", flush=True)
    for i, qemu in enumerate(binaries):
        print(f"{qemu}: mean {statistics.mean(costs[i]):.1f} %, median "
              f"{statistics.median(costs[i]):.1f} % over {len(costs[i])} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
