"""BENCHMARKS.md from the figures bench.py collected (pure functions only).

render(results) -> str.  `results` is the dict bench.py also saves as
build/bench/results.json: "machine", "command", and one key per part
("nic", "trace", "checker", "latency", "matrix"), each optional.
"""
import math
import re
import statistics

TESTS = [("tx", 64), ("tx", 1500), ("rx", 64), ("rx", 1500)]
# Targets of issue 6.
TRACE_COST_MAX, TRACE_COST_GOAL = 0.10, 0.05
LATENCY_MAX, LATENCY_GOAL = 5.0, 3.0
MATRIX_MAX = 600.0
CHECKER_MIN, CHECKER_GOAL = 20.0, 50.0     # M events/s


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(headers: list[str], rows: list[list], align: str = "") -> str:
    """A Markdown table; align: l or r per column (default: first l, the rest r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    sep = ["-" * (w + 1) + ":" if a == "r" else "-" * (w + 2) for w, a in zip(widths, align)]

    def line(r):
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w)
                                 for c, w, a in zip(r, widths, align)) + " |"
    return "\n".join([line(cells[0]), "|" + "|".join(sep) + "|"] +
                     [line(r) for r in cells[1:]]) + "\n"


def fmt_pps(pps) -> str:
    if pps is None:
        return "–"
    return f"{pps / 1e3:.1f} k" if pps < 1e6 else f"{pps / 1e6:.2f} M"


def fmt_ratio(a, b) -> str:
    return "–" if a is None or not b else f"{a / b:.2f}"


def fmt_s(v) -> str:
    return "–" if v is None else f"{v:.2f}"


def nic_medians(nic: dict) -> dict:
    """{(config, direction, size): {"pps": median, "mbps": median, "runs": [...]}}"""
    out = {}
    for r in nic["runs"]:
        out.setdefault((r["config"], r["direction"], r["size"]), []).append(r)
    return {k: {"pps": median([r["pps"] for r in v]), "mbps": median([r["mbps"] for r in v]),
                "host_pps": median([r.get("host", {}).get("pps") for r in v]),
                "cpu_us": median([r.get("cpu_us_per_pkt") for r in v]), "runs": v}
            for k, v in out.items()}


def _cell(m, key):
    return m.get(key, {}).get("pps"), m.get(key, {}).get("mbps")


def nic_section(nic: dict) -> str:
    m = nic_medians(nic)
    heads = ["NIC"] + [f"{d.upper()} {s} B" for d, s in TESTS]
    rows = []
    for key, label in nic["configs"]:
        row = [label]
        for d, s in TESTS:
            pps, mbps = _cell(m, (key, d, s))
            row.append("–" if pps is None else f"{fmt_pps(pps)}pps, {mbps:.1f} Mbit/s")
        rows.append(row)
    ratios = []
    for label, a, b in [("tracenic trace on / e1000", "tracenic-trace", "e1000"),
                        ("tracenic trace off / e1000", "tracenic", "e1000"),
                        ("tracenic trace on / trace off", "tracenic-trace", "tracenic"),
                        ("virtio-net / e1000", "virtio-net", "e1000"),
                        ("trace on: driver defaults / tx_irq_every=1 iam=0 ledger_compact=0 "
                         "itr_busy_us=0",
                         "tracenic-trace", "tracenic-trace-perframe")]:
        ratios.append([label] + [fmt_ratio(_cell(m, (a, d, s))[0], _cell(m, (b, d, s))[0])
                                 for d, s in TESTS])
    cpu = []
    for key, label in nic["configs"]:
        cpu.append([label] + ["–" if m.get((key, d, s), {}).get("cpu_us") is None else
                              f"{m[(key, d, s)]['cpu_us']:.1f}" for d, s in TESTS])
    cpu_ratios = []
    for label, a, b in [("tracenic trace on / e1000", "tracenic-trace", "e1000"),
                        ("tracenic trace on / trace off", "tracenic-trace", "tracenic"),
                        ("trace on: driver defaults / tx_irq_every=1 iam=0 ledger_compact=0 "
                         "itr_busy_us=0",
                         "tracenic-trace", "tracenic-trace-perframe")]:
        cpu_ratios.append([label] + [fmt_ratio(m.get((a, d, s), {}).get("cpu_us"),
                                               m.get((b, d, s), {}).get("cpu_us"))
                                     for d, s in TESTS])
    runs = []
    for key, label in nic["configs"]:
        for d, s in TESTS:
            v = m.get((key, d, s))
            if not v:
                continue
            runs.append([label, f"{d.upper()} {s} B",
                         ", ".join(f"{r['pps'] / 1e3:.1f}" for r in v["runs"]),
                         f"{v['pps'] / 1e3:.1f}",
                         "–" if v["host_pps"] is None else f"{v['host_pps'] / 1e3:.1f}"])
    text = (f"Packets/s (median of {nic['rounds']} boots, one {nic['seconds']:g} s window each "
            "after 0.5 s warm-up) and Mbit/s (frame bytes × 8 × packets/s; a frame's bytes as "
            "handed to the NIC: Ethernet header + payload, no FCS).\n\n" + table(heads, rows) +
            "\nRatios of the medians (packets/s):\n\n" + table(["ratio"] + heads[1:], ratios) +
            "\nQEMU CPU time per frame, µs (user + system time of the whole QEMU process "
            "from the start of a test to its end, divided by the frames the guest counted "
            "in that time; median over the boots): what a frame costs the host, all threads "
            "together. It too rises when the host is busy (every instruction gets slower), "
            "so compare configurations within a round or in the paired runs below:\n\n" +
            table(heads, cpu) +
            "\nRatios of CPU time per frame (below 1: cheaper):\n\n" +
            table(["ratio"] + heads[1:], cpu_ratios) +
            "\nEvery run, kpps (guest counters; the host column is tn-hostnet's own count over the "
            "whole test including warm-up, a cross-check that the frames really crossed the "
            "backend):\n\n" +
            table(["NIC", "test", "runs (guest)", "median", "host median"], runs, "llrrr"))
    if nic.get("failures"):
        text += "\nFailures:\n\n" + "".join(f"- {f}\n" for f in nic["failures"])
    return text


def cpu_shares(r: dict) -> str:
    """The fraction of a CPU each QEMU of a paired run used while testing."""
    if not (r.get("a_cpu_us") and r.get("b_cpu_us")):
        return "–"
    return f"{r['a_pps'] * r['a_cpu_us'] / 1e6:.2f}/{r['b_pps'] * r['b_cpu_us'] / 1e6:.2f}"


def paired_section(paired: dict) -> str:
    if paired.get("skipped"):
        return f"Not run: {paired['skipped']}.\n"
    heads = ["A / B"] + [f"{d.upper()} {s} B" for d, s in TESTS]

    def ratio_rows(ratios):
        return [[f"{a} / {b}"] + ["–" if (a, b, d, s) not in ratios else
                                   f"{ratios[(a, b, d, s)]:.2f}" for d, s in TESTS]
                for a, b in paired["pairs"]]

    runs = []
    for a, b in paired["pairs"]:
        for d, s in TESTS:
            v = [r for r in paired["runs"] if (r["a"], r["b"], r["direction"], r["size"]) ==
                 (a, b, d, s)]
            if v:
                runs.append([f"{a} / {b}", f"{d.upper()} {s} B",
                             ", ".join(f"{r['a_pps'] / 1e3:.1f}/{r['b_pps'] / 1e3:.1f}"
                                       for r in v),
                             ", ".join(f"{r['ratio']:.2f}" for r in v),
                             ", ".join(f"{r['b_cpu_us'] / r['a_cpu_us']:.2f}"
                                       if r.get("a_cpu_us") and r.get("b_cpu_us") else "–"
                                       for r in v),
                             ", ".join(cpu_shares(r) for r in v)])
    text = ("The sequential figures above move with whatever else the host runs. Here the two "
            "configurations of each pair boot **at the same time, both pinned to the same host "
            "CPU** (`taskset`; their tn-hostnet ends on the other CPU), and the next round "
            "uses the other CPU: both guests get the same share of the same CPU, so a slowdown "
            "of the host hits both alike and the ratio, taken test by test, holds still "
            f"(within a few percent from round to round). Each test has a pair of boots of "
            f"its own, and the host starts both guests' windows at once when both have shown "
            "that frames reach them (tn-blast's start handshake: QEMU's e1000 holds received "
            "frames back for a second after each RCTL write, and its window used to start up "
            f"to 0.8 s after tracenic's). {paired['rounds']} rounds, "
            f"{paired['seconds']:g} s windows. Absolute figures are for half a core per guest "
            "(lower than above, where a guest has both).\n\n"
            "Packets/s, A/B, the geometric mean over the rounds (the targets above):\n\n" +
            table(heads, ratio_rows(paired_ratios(paired))) +
            "\nFrames per second of QEMU CPU time (user + system, whole process, per test), "
            "A/B, the same way; also judged above. While a guest sends as fast as it can, or "
            "the host offers more frames than it takes, its QEMU is busy all the time, so this "
            "is its throughput on a core of its own, and it does not depend on how the two "
            "test windows overlap:\n\n" +
            table(heads, ratio_rows(paired_ratios(paired, "cost"))) +
            "\nEvery round (host CPU 1, 0, 1, ...): kpps A/B, their ratio, the ratio of "
            "frames per CPU-second, and the share of a CPU each QEMU had during its test "
            "(packets/s × CPU time per frame). With the windows aligned the two shares are "
            "about equal; where they differ, one guest ran on alone for part of its window, "
            "and the packets/s ratio is the CPU-cost ratio times the ratio of the shares:\n\n" +
            table(["pair", "test", "kpps A/B", "packets/s ratios", "CPU-cost ratios",
                   "CPU shares A/B"], runs, "llllll"))
    if paired.get("failures"):
        text += "\nFailures:\n\n" + "".join(f"- {f}\n" for f in paired["failures"])
    return text


def trace_section(nic: dict | None, trace: dict) -> str:
    rec = trace["record_size"]
    text = f"Every trace record is {rec} bytes (`TN_TRACE_REC_SIZE`, include/tracenic/trace.h).\n\n"
    if nic:
        rows = []
        for d, s in TESTS:
            v = [r for r in nic["runs"] if r["config"] == "tracenic-trace" and
                 r["direction"] == d and r["size"] == s and r.get("total")]
            if not v:
                continue
            per_pkt = median([r["trace_bytes"] / r["total"] for r in v])
            mb_s = median([r["trace_bytes"] / r["total_seconds"] / 1e6 for r in v])
            rows.append([f"{d.upper()} {s} B", f"{per_pkt / rec:.2f}", f"{per_pkt:.0f}",
                         f"{mb_s:.1f}",
                         f"{median([r['trace_bytes'] for r in v]) / 1e6:.0f}"])
        text += ("Trace written by the device while the guest sends or receives (trace + check "
                 "on; file growth over the test, warm-up included, median over the boots):\n\n" +
                 table(["test", "records/packet", "bytes/packet", "trace MB/s",
                        "MB per test"], rows) + "\n")
    if trace.get("writer"):
        w = trace["writer"]
        text += (f"Trace writer alone (`qemu-device/bench/trace-writer-bench "
                 f"{w['records']}`, {len(w['runs'])} runs, writing to {w['fs']}): median "
                 f"**{w['median_mrec_s']:.1f} M records/s** = {w['median_mb_s']:.0f} MB/s "
                 f"(runs: {', '.join(f'{r:.1f}' for r in w['mrec_s'])} M records/s; memcpy "
                 f"baseline {w['baseline_mrec_s']:.1f} M records/s).\n")
    return text


CHECKER_LINE = re.compile(
    r"live allocations\s+(?P<live>\d+): (?P<records>\d+) records, .*?= (?P<meps>[\d.]+) M "
    r"events/s on one core \(runs [\d.]+-[\d.]+\), (?:(?P<ratio>[\d.]+) x the CPU time of "
    r"reading the trace \([\d.]+ M records/s\), )?peak RSS (?P<rss>\d+) MiB")


def checker_runs(output: str) -> list[dict]:
    """The figures of each `live allocations` line of harness/dmacheck's bench output."""
    runs = []
    for m in CHECKER_LINE.finditer(output):
        runs.append({"live": int(m["live"]), "records": int(m["records"]),
                     "meps": float(m["meps"]), "rss_mib": int(m["rss"]),
                     "read_ratio": float(m["ratio"]) if m["ratio"] else None})
    return runs


def fmt_events(n: int) -> str:
    exp = round(math.log10(n)) if n > 0 else 0
    return f"10^{exp}" if abs(n - 10 ** exp) <= 10 ** exp // 100 else f"{n:,}"


def checker_target_rows(output: str) -> list[list[str]]:
    runs = checker_runs(output)
    if not runs:
        return []
    worst = min(runs, key=lambda r: r["meps"])
    where = f"{fmt_events(worst['records'])} events, {worst['live']:,} live"
    speed = "; ".join(f"{fmt_events(r['records'])} events, {r['live']:,} live: {r['meps']:.1f}"
                      for r in runs)
    rows = [[f"dmacheck ≥ {CHECKER_MIN:g} M events/s (goal {CHECKER_GOAL:g} M)",
             f"worst {worst['meps']:.1f} M ({where}); {speed}",
             "met, goal met" if worst["meps"] >= CHECKER_GOAL else
             "met" if worst["meps"] >= CHECKER_MIN else
             f"missed by {CHECKER_MIN - worst['meps']:.1f} M events/s at {where}"]]
    by_live: dict[int, list[dict]] = {}
    for r in runs:
        by_live.setdefault(r["live"], []).append(r)
    pairs = {live: sorted(rs, key=lambda r: r["records"]) for live, rs in by_live.items()
             if len({r["records"] for r in rs}) > 1}
    if pairs:
        grows = [live for live, rs in pairs.items()
                 if rs[-1]["rss_mib"] > max(rs[0]["rss_mib"] * 1.1, rs[0]["rss_mib"] + 1)]
        rows.append(["dmacheck memory independent of trace length",
                     "peak RSS " + "; ".join(
                         f"{live:,} live: " + " / ".join(
                             f"{r['rss_mib']} MiB ({fmt_events(r['records'])})" for r in rs)
                         for live, rs in sorted(pairs.items())),
                     "met" if not grows else
                     "missed: grows with the trace at " + ", ".join(f"{x:,}" for x in grows)
                     + " live"])
    return rows


def checker_section(checker: dict) -> str:
    text = (f"`{checker['command']}` ({checker['seconds']:.0f} s), its output as printed:\n\n"
            "```\n" + checker["output"].rstrip() + "\n```\n")
    real = checker.get("real_trace")
    if real:
        text += (f"\nOn a real trace from the benchmark above (tracenic, trace + check on, "
                 f"one boot: TX and RX, 64 B and 1500 B): {real['mb']:.0f} MB, "
                 f"{real['records'] / 1e6:.2f} M records, `dmacheck` took {real['seconds']:.2f} s "
                 f"wall = {real['records'] / real['seconds'] / 1e6:.1f} M records/s; verdict: "
                 f"{real['verdict']}.\n")
    return text


def latency_section(lat: dict) -> str:
    phases = ["qemu-start", "firmware", "kernel-boot", "scenario", "power-off", "check", "total"]
    what = {"qemu-start": "spawn → QMP answers `query-status` (QEMU initialised)",
            "firmware": "→ kernel start: SeaBIOS, PVH entry of the uncompressed kernel",
            "kernel-boot": "→ runner's first line: kernel init, initramfs, /init",
            "scenario": "→ `TNR done`: PCI inventory, the scenario's steps",
            "power-off": "→ QEMU exited (trace closed)",
            "check": "→ verdict: `dmacheck` (JSON + timeline + text report)",
            "total": "start to verdict"}
    ok = [r for r in lat["runs"] if r["ok"]]
    rows = [[p, fmt_s(median([r[p] for r in ok])), fmt_s(min((r[p] for r in ok), default=None)),
             fmt_s(max((r[p] for r in ok), default=None)), what[p]] for p in phases]
    text = (f"Scenario `{lat['scenario']}`, {len(ok)} of {len(lat['runs'])} runs ok, one at a "
            "time (nothing else of the benchmark running; the load average above applies); "
            "seconds:\n\n" +
            table(["phase", "median", "min", "max", "from the previous phase's end"], rows,
                  "lrrrl"))
    return text


def matrix_section(mx: dict) -> str:
    return (f"`{mx['command']}` (all scenarios, {mx['jobs']} at a time): **{mx['wall']:.0f} s** "
            f"wall, {mx['passed']} passed, {mx['failed']} failed.\n\n" +
            table(["scenario", "s", "verdict"],
                  [[n, f"{s:.1f}", "PASS" if ok else "FAIL"] for n, s, ok in mx["scenarios"]]))


def paired_ratios(paired: dict, what: str = "pps") -> dict:
    """{(a, b, direction, size): A/B, the geometric mean over the rounds}

    @what "pps": packets/s; "cost": frames per QEMU CPU-second.  Only rounds
    that come in pairs, one on each host CPU, count, so the CPUs weigh the
    same.
    """
    def value(r):
        if what == "pps":
            return r["ratio"]
        return r["b_cpu_us"] / r["a_cpu_us"] if r.get("a_cpu_us") and r.get("b_cpu_us") else None

    out = {}
    for r in paired.get("runs", []):
        out.setdefault((r["a"], r["b"], r["direction"], r["size"]), []).append(r)
    ratios = {}
    for k, runs in out.items():
        by_cpu = [[x for r in runs if r["cpu"] == c for x in [value(r)] if x] for c in (0, 1)]
        n = min(len(v) for v in by_cpu)
        if n:
            logs = [math.log(x) for v in by_cpu for x in v[:n]]
            ratios[k] = math.exp(sum(logs) / len(logs))
    return ratios


# The traced configurations and their untraced twins: the cost of tracing on each model
# (tracenic's own NIC; QEMU's e1000e through the kit, issue 17).
TRACE_PAIRS = [("tracenic-trace", "tracenic", "trace-on"),
               ("e1000e-trace", "e1000e", "e1000e traced through the kit")]


def nic_target_rows(ratio, how: str) -> list[list[str]]:
    """The throughput targets; ratio(a, b, direction, size) -> A/B or None."""
    rows = []
    for a, b, what in TRACE_PAIRS:
        costs = [(1 - r, f"{d.upper()} {s} B") for d, s in TESTS
                 for r in [ratio(a, b, d, s)] if r]
        if not costs:
            continue
        worst, test = max(costs)
        worst = round(worst, 4)     # 1 - 95/100 is not quite 0.05 in floating point
        rows.append([f"{what} costs ≤ 10 % throughput vs {b} untraced (goal 5 %), {how}",
                     f"worst {worst * 100:.1f} % ({test}); " +
                     ", ".join(f"{t} {c * 100:.1f} %" for c, t in costs),
                     "met, goal met" if worst <= TRACE_COST_GOAL else "met" if
                     worst <= TRACE_COST_MAX else
                     f"missed by {(worst - TRACE_COST_MAX) * 100:.1f} points"])
    for d, s in TESTS:
        r = ratio("tracenic-trace", "e1000", d, s)
        if r:
            rows.append([f"tracenic trace on moves ≥ e1000's frames ({d.upper()} {s} B), {how}",
                         f"{r:.2f} × e1000", "met" if r >= 1 else f"missed by {(1 - r) * 100:.0f} %"])
    return rows


def targets(results: dict) -> list[list[str]]:
    rows = []
    paired = results.get("paired")
    if paired and not paired.get("skipped"):
        for what, how in (("pps", "paired runs, packets/s"),
                          ("cost", "paired runs, frames per CPU-second")):
            pr = paired_ratios(paired, what)
            rows += nic_target_rows(lambda a, b, d, s, pr=pr: pr.get((a, b, d, s)), how)
    nic = results.get("nic")
    if nic:
        m = nic_medians(nic)

        def seq(a, b, d, s):
            x, y = _cell(m, (a, d, s))[0], _cell(m, (b, d, s))[0]
            return x / y if x and y else None

        seq_rows = nic_target_rows(seq, "sequential runs")
        if paired and not paired.get("skipped"):
            # One guest at a time on the whole, noisy host: shown, not judged.
            for row in seq_rows:
                row[2] = "not judged: the paired rows decide"
        rows += seq_rows
    checker = results.get("checker")
    if checker:
        rows += checker_target_rows(checker.get("output", ""))
    lat = results.get("latency")
    if lat:
        t = median([r["total"] for r in lat["runs"] if r["ok"]])
        if t is not None:
            rows.append([f"one scenario start-to-verdict ≤ {LATENCY_MAX:g} s median "
                         f"(goal {LATENCY_GOAL:g} s)", f"{t:.2f} s",
                         "met, goal met" if t <= LATENCY_GOAL else "met" if t <= LATENCY_MAX
                         else f"missed by {t - LATENCY_MAX:.2f} s"])
    mx = results.get("matrix")
    if mx:
        verdict = ("met" if mx["wall"] <= MATRIX_MAX else
                   f"missed by {mx['wall'] - MATRIX_MAX:.0f} s")
        if mx["failed"]:
            verdict = f"not met: {mx['failed']} scenario(s) failed (time {verdict})"
        rows.append(["default matrix ≤ 10 min, every scenario passing", f"{mx['wall']:.0f} s",
                     verdict])
    return rows


def agent_section(ag: dict) -> str:
    """The DMA-API agent (bench/agent.py): per call, and per e1000e scenario."""
    c = ag["per_call"]
    out = [f"Per call: {c['pairs']} streaming map+unmap pairs on the e1000e, timed in the guest "
           f"(`tn-dmabench.ko`), {len(c['ns_per_pair_without'])} times before the agent is "
           f"loaded and {len(c['ns_per_pair_with'])} times after, in one boot.\n",
           table(["", "ns per map+unmap pair (each run)", "median"],
                 [["without the agent", ", ".join(f"{v:.0f}" for v in c["ns_per_pair_without"]),
                   f"{median(c['ns_per_pair_without']):.0f}"],
                  ["with the agent", ", ".join(f"{v:.0f}" for v in c["ns_per_pair_with"]),
                   f"{median(c['ns_per_pair_with']):.0f}"]], "lrr"),
           f"The agent adds **{c['us_per_call_added']:.1f} µs per DMA-API call** (half the "
           f"difference of the medians: a pair is a map and an unmap): the hook, the agent's "
           f"tables and one ledger record (a few register writes to the ledger device) per "
           f"call; this benchmark does not split them.\n"]
    sc = ag["scenarios"]
    rows = []
    base = median(sc["seconds"].get("e1000e-debian-driver", [])) if \
        sc["seconds"].get("e1000e-debian-driver") else None
    for name, secs in sc["seconds"].items():
        if not secs:
            continue
        m = median(secs)
        rows.append([f"`{name}`", str(len(secs)), f"{m:.1f} s",
                     f"{m / base:.2f}" if base and name in ("e1000e-debian-driver",
                                                              "e1000e-agent") else ""])
    out += [f"Scenario wall time, QEMU start to verdict; `e1000e-debian-driver` and "
            f"`e1000e-agent` (the same steps, without and with the agent) run side by side in "
            f"each of {sc['rounds']} rounds:\n",
            table(["scenario", "runs", "median", "vs without the agent"], rows, "lrrr")]
    return "\n".join(out)


def sweep_section(sw: dict) -> str:
    """The race sweep (bench/sweep.py): runs per minute, and paired against plain runs."""
    f, p = sw["full"], sw["paired"]
    ratio = p["sweep_per_minute"] / p["plain_per_minute"] if p["plain_per_minute"] else 0
    return "\n".join([
        f"`tracenic-cli sweep -j {sw['jobs']} --seed {sw['seed']}` over the "
        f"{len(sw['scenarios'])} scenarios a sweep runs by default, {sw['minutes']:g} min; "
        f"then one core sweeping (`-j 1`) beside one core running the same scenarios in the "
        f"same rotation without a schedule, {sw['minutes']:g} min at the same time:\n",
        table(["", "runs", "seconds", "runs per minute"],
              [[f"sweep, {sw['jobs']} at a time", str(f["runs"]), f"{f['seconds']:.0f}",
                f"**{f['runs_per_minute']:.1f}**"],
               ["paired: sweep, 1 at a time", str(p["sweep_runs"]), f"{p['sweep_seconds']:.0f}",
                f"{p['sweep_per_minute']:.1f}"],
               ["paired: plain runs, 1 at a time", str(p["plain_runs"]),
                f"{p['plain_seconds']:.0f}", f"{p['plain_per_minute']:.1f}"]], "lrrr"),
        f"A scheduled run goes at {ratio:.2f} × the rate of a plain one (paired). Findings of "
        f"the {sw['jobs']}-core phase: {', '.join(sw['full_findings']) or 'none'} (the default "
        f"set includes the two seeded timing-only bugs).\n"])


def record_section(rec: dict) -> str:
    """Recording's cost (bench/record.py): plain and recorded runs paired, then replays."""
    rows = [[r["scenario"], f"{r['plain_s']:.1f}", f"{r['record_s']:.1f}",
             f"**{fmt_ratio(r['record_s'], r['plain_s'])}**",
             f"{r['replay_s']:.1f}" if r["replay_s"] is not None else "—",
             f"{r['identical']}/{r['rounds']}",
             f"{r['bundle_mb']:.0f}" if r["bundle_mb"] is not None else "—"]
            for r in rec["rows"]]
    return "\n".join([
        f"Each scenario {rec['rounds']} times as a pair, at the same time, one run per core: "
        "plain (as the nightly runs it) and under record/replay (`tracenic-cli run --record`), "
        "swapping cores every round; then each bundle replayed alone (`tracenic-cli replay`). "
        "Medians; the ratio is recorded over plain wall time:\n",
        table(["scenario", "plain s", "recorded s", "recorded / plain", "replay s",
               "replays with the recorded trace", "bundle MB"], rows, "lrrrrrr"),
        "A recorded run counts instructions (`-icount shift=auto`) on one TCG thread and "
        "writes every input to the log; a replay executes exactly the recorded instructions, "
        "stopping at each logged event, and runs slower than the recording (its profile is "
        "TCG executing and translating guest code: the stops shorten blocks).\n"])


def render(results: dict) -> str:
    mc = results["machine"]
    parts = [
        "# Benchmarks\n",
        f"Written by `make bench` on {mc['date']} at commit {mc['commit']}. Exact command:\n\n"
        f"```\n{results['command']}\n```\n",
        "## Machine\n",
        table(["", ""], [["CPU", mc["cpu"]], ["cores", mc["cores"]],
                         ["host kernel", mc["kernel"]], ["accelerator", mc["accel"]],
                         ["QEMU", mc["qemu"]], ["guest kernel", mc["guest_kernel"]],
                         ["netdev (NIC benchmarks)", mc["netdev"]],
                         ["load average (1/5/15 min) at start, end",
                          f"{mc.get('load', '?')}; {mc.get('load_end', '?')}"]], "ll"),
    ]
    rows = targets(results)
    if rows:
        parts += ["## Targets\n", table(["target", "measured", "verdict"], rows, "lll")]
    if results.get("notes"):
        parts += ["## Notes\n", results["notes"].rstrip() + "\n"]
    if results.get("nic"):
        parts += ["## 1. NIC throughput\n", nic_section(results["nic"])]
    if results.get("paired"):
        parts += ["### Paired runs: the target ratios, measured at the same time\n",
                  paired_section(results["paired"])]
    if results.get("trace"):
        parts += ["## 2. Trace cost\n", trace_section(results.get("nic"), results["trace"])]
    if results.get("checker"):
        parts += ["## 3. Checker speed\n", checker_section(results["checker"])]
    if results.get("latency") or results.get("matrix"):
        parts += ["## 4. Scenario latency\n"]
        if results.get("latency"):
            parts += [latency_section(results["latency"])]
        if results.get("matrix"):
            parts += ["### Default matrix\n", matrix_section(results["matrix"])]
    if results.get("agent"):
        parts += ["## 5. The DMA-API agent\n", agent_section(results["agent"])]
    if results.get("sweep"):
        parts += ["## 6. The race sweep\n", sweep_section(results["sweep"])]
    if results.get("record"):
        parts += ["## 7. Record/replay\n", record_section(results["record"])]
    return "\n".join(parts)
