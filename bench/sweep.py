"""The race sweep's throughput (make bench, part "sweep"; docs/sweep.md).

Two phases of the same length, over the scenarios a sweep runs by default:

- the sweep as users run it, one run per core (tracenic-cli sweep -j <cores>): runs per
  minute on this machine;
- paired: one core sweeps (-j 1) while the other runs the same scenarios plainly, in the
  same rotation, without a schedule; the ratio of the two run rates is what the
  schedules cost (their delays, bursts and link flaps, the QMP commands, and the
  findings' bookkeeping), measured at the same time on the same host.
"""
import shutil
import threading
import time
from pathlib import Path

from tracenic import nightly, paths, sweep
from tracenic.scenario import load_dir

SEED = 1


def _plain(scenarios, out: Path, minutes: float) -> dict:
    """The scenarios in rotation, no schedule, until the time is up: runs and their seconds."""
    end, n, secs = time.monotonic() + minutes * 60, 0, []
    start = time.monotonic()
    while time.monotonic() < end:
        s = scenarios[n % len(scenarios)]
        art = out / f"{n:05d}-{s.name}"
        r = nightly.run_one(s, out, art=art)
        shutil.rmtree(art, ignore_errors=True)
        secs.append(r["seconds"])
        n += 1
    return {"runs": n, "seconds": time.monotonic() - start, "run_seconds": secs}


def run(out: Path, minutes: float, jobs: int, log) -> dict:
    scenarios, _ = sweep.sweepable(load_dir(paths.SCENARIOS))
    quiet = lambda _line: None    # noqa: E731 - the sweep's progress lines, not wanted here
    log(f"  sweep -j {jobs}, {minutes:g} min, seed {SEED}, {len(scenarios)} scenarios")
    full = sweep.Sweep(scenarios, SEED, minutes, jobs, out / "full", progress=quiet).run()
    log(f"  {full['runs']} runs, {full['runs_per_minute']:.1f}/min, "
        f"{len(full['findings'])} findings")

    log(f"  paired: sweep -j 1 beside plain runs of the same scenarios, {minutes:g} min")
    half = sweep.Sweep(scenarios, SEED, minutes, 1, out / "paired-sweep", progress=quiet)
    got = {}
    t = threading.Thread(target=lambda: got.update(sweep=half.run()))
    t.start()
    plain = _plain(scenarios, out / "paired-plain", minutes)
    t.join()
    s = got["sweep"]
    plain_rate = plain["runs"] / plain["seconds"] * 60
    log(f"  paired: sweep {s['runs_per_minute']:.1f}/min, plain {plain_rate:.1f}/min")
    return {"minutes": minutes, "jobs": jobs, "seed": SEED,
            "scenarios": [x.name for x in scenarios],
            "full": {k: full[k] for k in ("runs", "seconds", "runs_per_minute")},
            "full_findings": [f["id"] for f in full["findings"]],
            "paired": {"sweep_runs": s["runs"], "sweep_seconds": s["seconds"],
                       "sweep_per_minute": s["runs_per_minute"], "plain_runs": plain["runs"],
                       "plain_seconds": round(plain["seconds"], 1),
                       "plain_per_minute": round(plain_rate, 2)}}
