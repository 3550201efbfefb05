#!/usr/bin/python3
"""make bench: measure, then write BENCHMARKS.md.

Parts (all by default, --parts to choose): nic (NIC throughput), paired (the
target ratios from two guests run at once on the same host CPU), trace (trace
cost: the trace-writer benchmark; the per-packet figures come from nic),
checker (make -C harness/dmacheck bench, and dmacheck on a real trace from
nic), latency (one scenario start to verdict, in phases), matrix (the default
scenario matrix), agent (the DMA-API agent's cost), sweep (the race sweep's runs per
minute, and paired against plain runs).  Raw figures go to build/bench/results.json.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))
sys.path.insert(0, str(HERE))

import agent  # noqa: E402
import latency  # noqa: E402
import nic  # noqa: E402
import report  # noqa: E402
import record as record_bench  # noqa: E402
import sweep as sweep_bench  # noqa: E402
from tracenic import contract, paths  # noqa: E402
from tracenic.contract import C  # noqa: E402
from tracenic.vm import pick_accel  # noqa: E402

OUT = paths.BUILD / "bench"
PARTS = ["nic", "paired", "trace", "checker", "latency", "matrix", "agent", "sweep", "record"]


def log(msg: str) -> None:
    print(msg, flush=True)


def sh(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, **kw).stdout


def machine(accel: str) -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), platform.processor())
    qemu = sh([str(paths.QEMU), "-version"]).splitlines()[0]
    try:
        deb = sh(["dpkg-query", "-W", "-f=${Version}", "qemu-system-data"])
        qemu += f" (source: Debian qemu {deb})"
    except (subprocess.CalledProcessError, FileNotFoundError):
        pass
    abi = (paths.BUILD / "images" / "kernel-abi.txt").read_text().strip()
    commit = sh(["git", "-C", str(paths.TOP), "rev-parse", "--short", "HEAD"]).strip()
    if sh(["git", "-C", str(paths.TOP), "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with uncommitted changes)"
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "accel": {"tcg": "TCG (no working KVM)", "kvm": "KVM"}[accel],
            "qemu": qemu, "guest_kernel": f"Debian linux-image-{abi}-amd64",
            "netdev": "`-netdev socket,udp=127.0.0.1:A,localaddr=127.0.0.1:B` to "
                      "bench/tn-hostnet (sendmmsg/recvmmsg on loopback)",
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "commit": commit,
            "load": loadavg()}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def writer_bench(runs: int = 3, records: int = 10000000) -> dict:
    """qemu-device/bench/trace-writer-bench, built as run-qtests.sh builds it."""
    qd = paths.TOP / "qemu-device"
    exe = OUT / "trace-writer-bench"
    sh(["gcc", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", f"-I{paths.TOP / 'include'}",
        f"-I{qd}", str(qd / "bench" / "trace-writer-bench.c"), str(qd / "tnkit-trace.c"),
        "-o", str(exe)])
    mrec, mbs, base = [], [], []
    for _ in range(runs):
        out = sh([str(exe), str(records), str(OUT / "writer-bench.bin")])
        m = re.search(r"= ([\d.]+) M records/s, (\d+) MB/s \(memcpy baseline ([\d.]+)", out)
        mrec.append(float(m[1]))
        mbs.append(float(m[2]))
        base.append(float(m[3]))
    fs = sh(["findmnt", "-no", "FSTYPE", "-T", str(OUT)]).strip()
    return {"records": records, "runs": mrec, "mrec_s": mrec, "fs": fs,
            "median_mrec_s": statistics.median(mrec), "median_mb_s": statistics.median(mbs),
            "baseline_mrec_s": statistics.median(base)}


def checker_bench() -> dict:
    """The synthetic-trace benchmark at 10^7 and 10^8 events (4.5 GiB of trace for the latter)."""
    targets = ["bench BENCH_EVENTS=10000000", "bench-large"]
    t0 = time.monotonic()
    out = ""
    for target in targets:
        cmd = ["make", "--no-print-directory", "-C", "harness/dmacheck", *target.split()]
        p = subprocess.run(cmd, cwd=paths.TOP, capture_output=True, text=True)
        out += p.stdout + p.stderr
        if p.returncode:
            out += f"\n(make {target}: exit status {p.returncode})\n"
    return {"command": " && ".join(f"make -C harness/dmacheck {t}" for t in targets),
            "output": out, "seconds": time.monotonic() - t0}


def check_real_trace(trace: Path) -> dict:
    size = trace.stat().st_size
    with open(trace, "rb") as f:
        header = f.read(C.TN_TRACE_HEADER_SIZE)
    header_size = contract.field("tn_trace_header", header, "header_size")
    record_size = contract.field("tn_trace_header", header, "record_size")
    t0 = time.monotonic()
    p = subprocess.run([str(paths.DMACHECK), "--json", str(trace)], capture_output=True,
                       text=True)
    seconds = time.monotonic() - t0
    if p.returncode == 0:
        verdict = "clean"
    elif p.returncode == 1:
        verdict = "violations: " + ", ".join(sorted(json.loads(p.stdout).get("rules", {})))
    else:
        verdict = f"unreadable (exit {p.returncode}): {p.stderr.strip()}"
    return {"mb": size / 1e6, "records": (size - header_size) // record_size, "seconds": seconds,
            "verdict": verdict}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ",".join(PARTS))
    ap.add_argument("--rounds", type=int, default=3, help="boots per NIC configuration")
    ap.add_argument("--seconds", type=float, default=5, help="measurement window per test")
    ap.add_argument("--paired-rounds", type=int, default=4,
                    help="simultaneous boots per pair (on host CPU 1, 0, 1, 0, ...)")
    ap.add_argument("--latency-runs", type=int, default=5)
    ap.add_argument("--scenario", default="boot-clean")
    ap.add_argument("--sweep-minutes", type=float, default=5,
                    help="length of each of the sweep part's two phases")
    ap.add_argument("--record-rounds", type=int, default=3,
                    help="paired plain/recorded runs per scenario (part record)")
    ap.add_argument("--output", type=Path, default=paths.TOP / "BENCHMARKS.md")
    ap.add_argument("--render-only", action="store_true",
                    help="measure nothing: write the output again from build/bench/results.json")
    args = ap.parse_args()
    if args.render_only:
        results = json.loads((OUT / "results.json").read_text())
        notes = HERE / "notes.md"
        results["notes"] = notes.read_text() if notes.exists() else ""
        args.output.write_text(report.render(results))
        return 0
    parts = args.parts.split(",")
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"unknown parts {bad}; choose from {PARTS}")
    OUT.mkdir(parents=True, exist_ok=True)
    accel = pick_accel(OUT)
    command = "make bench   # = " + " ".join(
        shlex.quote(a) for a in ["/usr/bin/python3", "bench/bench.py"] + sys.argv[1:])
    results = {"machine": machine(accel), "command": command}
    notes = HERE / "notes.md"
    if notes.exists():
        results["notes"] = notes.read_text()
    start = time.monotonic()
    real_trace = OUT / "real-trace.bin"
    real_trace.unlink(missing_ok=True)

    if "nic" in parts:
        log(f"bench: NIC throughput, {args.rounds} rounds x {len(nic.CONFIGS)} NICs "
            f"x {len(nic.TESTS)} tests of {args.seconds:g} s")
        results["nic"] = nic.run(OUT / "nic", args.rounds, args.seconds, accel,
                                 lambda t: os.replace(t, real_trace), log)
    if "paired" in parts:
        log(f"bench: paired runs, {args.paired_rounds} rounds x {len(nic.PAIRS)} pairs")
        results["paired"] = nic.run_paired(OUT / "paired", args.paired_rounds, args.seconds,
                                           accel, log)
    if "trace" in parts:
        log("bench: trace writer")
        results["trace"] = {"record_size": C.TN_TRACE_REC_SIZE, "writer": writer_bench()}
        log(f"  {results['trace']['writer']['median_mrec_s']:.1f} M records/s")
    if "checker" in parts:
        log("bench: make -C harness/dmacheck bench")
        results["checker"] = checker_bench()
        log(results["checker"]["output"].rstrip())
        if real_trace.exists():
            results["checker"]["real_trace"] = check_real_trace(real_trace)
            log(f"  real trace: {results['checker']['real_trace']}")
    real_trace.unlink(missing_ok=True)
    if "latency" in parts:
        log(f"bench: scenario latency, {args.scenario} x {args.latency_runs}")
        results["latency"] = latency.run(OUT / "latency", args.scenario, args.latency_runs,
                                         accel, log)
    if "matrix" in parts:
        log("bench: the default matrix")
        results["matrix"] = latency.matrix(OUT / "matrix", log)
    if "agent" in parts:
        log(f"bench: the DMA-API agent, per call and {args.rounds} rounds of e1000e scenarios")
        results["agent"] = agent.run(OUT / "agent", args.rounds, accel, log)
    if "sweep" in parts:
        log(f"bench: the race sweep, two phases of {args.sweep_minutes:g} min")
        results["sweep"] = sweep_bench.run(OUT / "sweep", args.sweep_minutes,
                                           os.cpu_count() or 1, log)
    if "record" in parts:
        log(f"bench: recording's cost, {args.record_rounds} paired rounds per scenario")
        results["record"] = record_bench.run(OUT / "record", args.record_rounds, log)
    results["bench_seconds"] = time.monotonic() - start
    results["machine"]["load_end"] = loadavg()

    (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    args.output.write_text(report.render(results))
    log(f"bench: wrote {args.output} in {results['bench_seconds']:.0f} s "
        f"(raw figures: {OUT / 'results.json'})")
    failed = (results.get("nic", {}).get("failures") or
              results.get("paired", {}).get("failures") or
              any(not r["ok"] for r in results.get("latency", {}).get("runs", [])))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
