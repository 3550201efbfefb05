"""The DMA-API agent's cost (make bench, part "agent").

Per call: one boot of the e1000e machine with a tracenic-ledger device and no
driver bound.  The guest times N streaming map+unmap pairs on the NIC
(guest-driver/tn_dmabench.c, the runner's `dmabench` step) three times, loads
the agent for the NIC, and times them three times again: the same boot, the
same page, the same DMA ops, so the difference is what the agent adds.  Each
pair is two calls (map: a kretprobe and a MAP_ONE record; unmap: an ftrace
hook and an UNMAP record), each record a few MMIO writes to the ledger device,
which under TCG are the cost.

Per scenario: Debian's e1000e without the agent (e1000e-debian-driver) and
with it (e1000e-agent), the same steps, run side by side (two at a time) in
each round; and the free-path scenarios once each, for their wall time.
"""
import dataclasses
import re
import statistics
from pathlib import Path

from tracenic import nightly, paths, vm
from tracenic.scenario import Machine, load_dir

PAIRS = 2000
BEFORE = AFTER = 3
PAIRED = ("e1000e-debian-driver", "e1000e-agent")
ONCE = ("e1000e-agent-free-paths", "e1000e-agent-free-paths-iommu-lazy",
        "e1000e-agent-free-paths-iommu-strict")
LINE = re.compile(r"dmabench (\d+) map\+unmap pairs in (\d+) ns")


def per_call(workdir: Path, accel: str, pairs: int = PAIRS) -> dict:
    steps = [f"dmabench {pairs}"] * BEFORE + ["agent"] + [f"dmabench {pairs}"] * AFTER
    run = vm.run_vm(Machine(nic="e1000e", agent=True), steps, workdir, 300, accel=accel)
    ns = [int(m.group(2)) / int(m.group(1)) for m in map(LINE.search, run.guest.lines) if m]
    if len(ns) != BEFORE + AFTER or run.guest.failed_steps:
        raise RuntimeError(f"agent bench: expected {BEFORE + AFTER} dmabench results, got "
                           f"{len(ns)} (failed steps: {run.guest.failed_steps}); see {workdir}")
    without, with_agent = ns[:BEFORE], ns[BEFORE:]
    return {"pairs": pairs, "ns_per_pair_without": without, "ns_per_pair_with": with_agent,
            "us_per_call_added": (statistics.median(with_agent) -
                                  statistics.median(without)) / 2 / 1000,
            "agent_summary": run.guest.agent_summary}


def scenarios(workdir: Path, rounds: int, log) -> dict:
    by_name = {s.name: s for s in load_dir(paths.SCENARIOS)}
    times: dict[str, list[float]] = {n: [] for n in PAIRED + ONCE}
    for k in range(rounds):
        batch = [dataclasses.replace(by_name[n], name=f"{n}.r{k}") for n in PAIRED]
        if k == 0:
            batch += [dataclasses.replace(by_name[n], name=f"{n}.r0") for n in ONCE]
        for r in nightly.run_all(batch, workdir, 2, lambda r: None):
            if not r["ok"]:
                raise RuntimeError(f"agent bench: {r['name']} failed: {r['why']}")
            times[r["name"].rsplit(".r", 1)[0]].append(r["seconds"])
        log(f"  round {k + 1}: " + ", ".join(f"{n} {times[n][-1]:.1f} s" for n in PAIRED))
    return {"rounds": rounds, "seconds": times}


def run(workdir: Path, rounds: int, accel: str, log) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    call = per_call(workdir / "per-call", accel)
    log(f"  {call['us_per_call_added']:.1f} us added per DMA-API call "
        f"({PAIRS} pairs: {statistics.median(call['ns_per_pair_without']):.0f} ns a pair "
        f"without, {statistics.median(call['ns_per_pair_with']):.0f} ns with)")
    return {"per_call": call, "scenarios": scenarios(workdir / "scenarios", rounds, log)}
