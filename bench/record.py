"""What recording costs (make bench, part "record"; docs/repro.md).

For each scenario, rounds of two runs at the same time, one per core: the
scenario plain (as the nightly runs it) and the same scenario under QEMU's
record/replay (`tracenic-cli run --record`), swapping the cores every round so
neither side always gets the faster one.  The ratio of the two wall times is
what recording costs.  Then each round's bundle is replayed once (alone) and
must write the recorded trace; its time and the bundle's size are reported.
"""
import statistics
import threading
from pathlib import Path

from tracenic import nightly, paths, replay
from tracenic.scenario import load_dir

SCENARIOS = ["boot-clean", "bug-tx-early-unmap", "correct-free-paths", "e1000e-agent-free-paths"]


def _pair(s, out: Path, k: int) -> tuple[dict, dict]:
    got = {}
    plain_dir, rec_dir = out / f"{s.name}-{k}-plain", out / f"{s.name}-{k}-record"

    def plain():
        got["plain"] = nightly.run_one(s, out, art=plain_dir)

    def record():
        got["record"] = nightly.run_one(s, out, art=rec_dir, record=True, backend="qemu")
    first, second = (plain, record) if k % 2 == 0 else (record, plain)
    t = threading.Thread(target=first)
    t.start()
    second()
    t.join()
    return got["plain"], got["record"]


def run(out: Path, rounds: int, log) -> dict:
    everything = {s.name: s for s in load_dir(paths.SCENARIOS)}
    rows = []
    for name in SCENARIOS:
        s = everything[name]
        plain_s, rec_s, rep_s, same, sizes, ok = [], [], [], 0, [], True
        for k in range(rounds):
            p, r = _pair(s, out, k)
            ok &= p["ok"] and r["ok"]
            plain_s.append(p["seconds"])
            rec_s.append(r["seconds"])
            if r["bundle"]:
                b, sc = replay.load(Path(r["bundle"]), out / f"{name}-{k}-replay")
                sizes.append(Path(r["bundle"]).stat().st_size)
                rp = replay.replay(b, sc, out / f"{name}-{k}-replay")
                rep_s.append(rp.seconds)
                same += rp.identical
        row = {"scenario": name, "rounds": rounds, "plain_s": statistics.median(plain_s),
               "record_s": statistics.median(rec_s),
               "replay_s": statistics.median(rep_s) if rep_s else None,
               "identical": same, "bundle_mb": statistics.median(sizes) / 1e6 if sizes else None,
               "ok": ok, "plain_runs": plain_s, "record_runs": rec_s, "replay_runs": rep_s}
        rows.append(row)
        log(f"  {name}: plain {row['plain_s']:.1f} s, recorded {row['record_s']:.1f} s "
            f"({row['record_s'] / row['plain_s']:.2f}x), replay {row['replay_s'] or 0:.1f} s, "
            f"{same}/{rounds} replays identical")
    return {"rounds": rounds, "rows": rows}
