"""tracenic-cli: list the scenarios, run the matrix (the nightly), repro one, check a trace."""
import argparse
import dataclasses
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import (bundle, nightly, paths, qemu_cmd, replay, repro, report, sweep, tracecmp,
               verdict, vm)
from .contract import ContractError
from .scenario import ScenarioError, load_dir


def shard(items: list, spec: str) -> list:
    """i/n: every n-th item starting at the i-th (1-based), so n machines split a night."""
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise SystemExit(f"tracenic: --shard {spec!r}: use i/n, e.g. 2/4") from None
    if not 1 <= i <= n:
        raise SystemExit(f"tracenic: --shard {spec}: use i/n with 1 <= i <= n")
    return items[i - 1::n]


def _sigterm(_sig, _frame):
    raise KeyboardInterrupt


def _scenarios(directory: Path):
    try:
        return load_dir(directory)
    except (ScenarioError, ContractError) as e:
        raise SystemExit(f"tracenic: {e}") from None


def _select(scenarios, names):
    if not names:
        return scenarios
    unknown = sorted(set(names) - {s.name for s in scenarios})
    if unknown:
        raise SystemExit(f"tracenic: no scenario named {', '.join(unknown)}; "
                         "`tracenic-cli list` shows them")
    return [s for s in scenarios if s.name in names]


def _need_build():
    missing = paths.missing()
    if missing:
        raise SystemExit("tracenic: " + "\n          ".join(missing))


def cmd_list(args) -> int:
    for s in shard(_scenarios(args.scenarios), args.shard):
        m = s.machine
        print(f"{s.name:28} {m.backend:7} {m.firmware:7} {('strict' if m.iommu_strict else 'lazy') if m.iommu else '-':6} "
              f"expects {', '.join(sorted(s.expect_rules)) or 'clean':34} {s.description}")
    return 0


def repeated(scenarios: list, n: int) -> list:
    """Each scenario @n times, as <name>.rNN (each run its own report directory)."""
    if n <= 1:
        return scenarios
    return [dataclasses.replace(s, name=f"{s.name}.r{k:02d}") for s in scenarios
            for k in range(1, n + 1)]


def tally(results: list[dict]) -> list[str]:
    """One line per scenario of a --repeat run: how many runs gave the expected verdict,
    and the reasons of the others."""
    by: dict[str, list[dict]] = {}
    for r in results:
        by.setdefault(r["name"].rsplit(".r", 1)[0], []).append(r)
    lines = []
    for name, rs in by.items():
        bad = [r for r in rs if not r["ok"]]
        lines.append(f"  {name:34} {len(rs) - len(bad)}/{len(rs)} as expected"
                     + "".join(f"\n      {r['name']}: {r['why']}" for r in bad))
    return lines


def cmd_run(args) -> int:
    if args.repeat < 1:
        raise SystemExit("tracenic: --repeat takes a count of 1 or more")
    scenarios = repeated(shard(_select(_scenarios(args.scenarios), args.names), args.shard),
                         args.repeat)
    _need_build()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    report_dir = args.report_dir or paths.REPORTS / stamp
    report_dir.mkdir(parents=True, exist_ok=True)
    accel = vm.pick_accel(report_dir)
    total, done = len(scenarios), [0]
    print(f"tracenic: {total} scenarios, {args.jobs} at a time, under "
          f"{'KVM' if accel == 'kvm' else 'TCG (KVM missing or not working here)'}"
          f"{', shard ' + args.shard if args.shard != '1/1' else ''}; report in {report_dir}",
          flush=True)

    def progress(r):
        done[0] += 1
        print(f"  [{done[0]:2}/{total}] {'PASS' if r['ok'] else 'FAIL'} {r['name']:28} "
              f"{r['seconds']:6.1f} s  "
              f"{r['why'] or 'dmacheck: ' + r['said']}", flush=True)
        for note in r.get("notes", []):     # e.g. why a run took long: read it here, not later
            print(f"        note: {note}", flush=True)
        if args.record:
            print(f"        recorded: {r['bundle'] or r['bundle_note']}", flush=True)

    start = time.monotonic()
    meta = {"shard": args.shard, "started": stamp}
    if args.record:
        libvirt = [s.name for s in scenarios if (args.backend or s.machine.backend) != "qemu"]
        if libvirt:
            raise SystemExit(f"tracenic: --record needs the qemu backend, and "
                             f"{', '.join(libvirt)} run on libvirt (libvirt owns that QEMU's "
                             "command line): add --backend qemu")
    results = nightly.run_all(scenarios, report_dir, args.jobs, progress, args.libvirt_uri,
                              args.backend, meta, record=args.record,
                              say=lambda line: print(line, flush=True))
    failed = sum(not r["ok"] for r in results)
    if args.repeat > 1:
        print("tracenic: per scenario, over its repeats:\n" + "\n".join(tally(results)))
    print(f"tracenic: {len(results) - failed} passed, {failed} failed in "
          f"{time.monotonic() - start:.0f} s; report: {report_dir}/index.html", flush=True)
    if args.sweep_minutes > 0:
        chosen, _ = sweep.sweepable(shard(_select(_scenarios(args.scenarios), args.names),
                                          args.shard))
        summary = _sweep(chosen, args.sweep_minutes, args.seed, args.jobs,
                         report_dir / "sweep", False)
        report.add_sweep(report_dir, summary)
        failed += summary["unexpected"] + len(summary["harness_errors"])
    return 1 if failed else 0


def _sweep(scenarios, minutes: float, seed, jobs: int, out: Path, until_found: bool) -> dict:
    if not scenarios:
        raise SystemExit("tracenic: nothing to sweep: no scenario of those named runs clean "
                         "on the qemu backend")
    seed = seed if seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"tracenic: sweeping {len(scenarios)} scenario{'s' * (len(scenarios) != 1)} for "
          f"{minutes:g} min, {jobs} at a "
          f"time, seed {seed}; findings in {out}/findings", flush=True)
    sw = sweep.Sweep(scenarios, seed, minutes, jobs, out, until_found,
                     progress=lambda line: print(line, flush=True))
    s = sw.run()
    print(f"tracenic: sweep seed {seed}: {s['runs']} runs in {s['seconds']:.0f} s "
          f"({s['runs_per_minute']:.1f}/min), {len(s['findings'])} findings, "
          f"{s['unexpected']} unexpected")
    for f in s["findings"]:
        print(f"  {'seeded ' if f['expected'] else 'NEW    '} {f['id']}: "
              f"{sweep.describe(f['fingerprint'])} ({f['scenario']}, {f['count']} runs, first "
              f"after {f['found_after_s']:.0f} s)\n"
              f"          again: tracenic-cli sweep --rerun {out}/findings/{f['id']}")
    for line in s["seeded_not_found"]:
        print(f"  not found this time (seeded, timing-only): {line}")
    for e in s["harness_errors"][:10]:
        print(f"  harness error: {e}")
    if len(s["harness_errors"]) > 10:
        print(f"  ... {len(s['harness_errors']) - 10} more harness errors in {out}/sweep.json")
    return s


def cmd_sweep(args) -> int:
    everything = _scenarios(args.scenarios)
    _need_build()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.rerun:
        finding, where = sweep.load_finding(args.rerun)
        s = _select(everything, [finding["scenario"]])[0]
        out = args.dir or where / f"rerun-{stamp}"
        print(f"tracenic: re-running {finding['id']} ({sweep.describe(finding['fingerprint'])})"
              f": run {finding['run']} of {s.name}, seed {finding['seed']}, "
              f"{len(finding['schedule'])} events, up to {args.attempts} times", flush=True)
        k = sweep.rerun(finding, s, out, args.attempts,
                        progress=lambda line: print(line, flush=True), record=args.record)
        print(f"tracenic: {'reproduced at attempt ' + str(k) if k else 'not reproduced in '}"
              f"{'' if k else str(args.attempts) + ' attempts'}")
        return 0 if k else 1
    if args.minutes <= 0:
        raise SystemExit("tracenic: --minutes takes a positive number")
    if args.names:
        chosen = _select(everything, args.names)
    else:
        chosen, left = sweep.sweepable(everything)
        for why in left:
            print(f"tracenic: not swept: {why}")
    s = _sweep(chosen, args.minutes, args.seed, args.jobs,
               args.dir or paths.REPORTS / f"sweep-{stamp}", args.until_found)
    return 1 if s["unexpected"] or s["harness_errors"] else 0


def cmd_repro(args) -> int:
    s = _select(_scenarios(args.scenarios), [args.name])[0]
    _need_build()
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = args.dir or repro.default_dir(s.name, stamp)
    if not args.record:
        return repro.run(s, workdir)
    # Record first, then replay the recording to the instruction of its first violation:
    # a race that shows once is then there every time.
    print(f"tracenic repro {s.name}: recording the run (record/replay, TCG) in {workdir}",
          flush=True)
    r = nightly.run_one(s, workdir.parent, backend="qemu", art=workdir / "recorded",
                        record=True)
    print(f"  recorded in {r['seconds']:.1f} s; dmacheck: {r['said']}; "
          f"{r['bundle'] or r['bundle_note']}", flush=True)
    if not r["bundle"] or not r["got"]:
        print("tracenic repro: nothing to stop at: " + ("the recorded run found no violation; "
              "record again, or sweep for it (docs/sweep.md)" if r["bundle"] else
              r["bundle_note"]))
        return 0 if not r["got"] else 1
    args.bundle, args.stop_at, args.dir = Path(r["bundle"]), ["violation"], workdir / "replay"
    args.times = 1
    return cmd_replay(args)


def _recorded_verdict(b: bundle.Bundle) -> str:
    p = b.member(bundle.DMACHECK_JSON)
    if not p.exists():
        return "not judged"
    rep = json.loads(p.read_text())
    return verdict.said({v["rule"] for v in rep.get("violations", [])}, rep.get("verdict", ""))


def _stop_prompt(gdb_port: int, what: str, icount: int, b: bundle.Bundle):
    def on_stop(v, at: int) -> str:
        print(f"\n=== tracenic replay: stopped at guest instruction {at} (QMP query-replay); "
              f"the target was {what} ===", flush=True)
        if at != icount:
            print(f"WARNING: the target was instruction {icount}, QEMU stopped at {at}")
        print(replay.attach_help(b, gdb_port, v.workdir), flush=True)
        print("Type 'quit' (or end of input) to end the replay, 'cont' to let it run on:",
              flush=True)
        return repro.ask()
    return on_stop


def cmd_replay(args) -> int:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = args.dir or paths.REPORTS / f"replay-{args.bundle.name.split('.')[0]}-{stamp}"
    _need_build()
    try:
        b, s = replay.load(args.bundle, workdir)
        print(f"tracenic replay {args.bundle}: scenario {s.name}, recorded "
              f"{b.manifest.get('recorded', '?')} at commit {b.manifest.get('commit', '?')[:12]}"
              f"; dmacheck then: {_recorded_verdict(b)}; work in {workdir}", flush=True)
        if args.stop_at:
            if len(args.stop_at) > 2:
                raise replay.ReplayError("--stop-at takes violation [RULE], free [RULE] or "
                                         "record N")
            t = replay.target_icount(b, args.stop_at[0], (args.stop_at + [None])[1])
            gdb_port = args.gdb_port or vm.free_tcp_port()
            print(f"tracenic replay: stopping at {t.said}; gdbstub on 127.0.0.1:{gdb_port}"
                  + (f"; a snapshot for reverse execution first, at instruction "
                     f"{t.snapshot_at}" if t.snapshot_at is not None else ""), flush=True)
            r = replay.replay(b, s, workdir, stop_at=t,
                              on_stop=_stop_prompt(gdb_port, t.said, t.icount, b),
                              gdb_port=gdb_port)
            if r.stopped_at is None:
                print(f"tracenic replay: the replay never stopped at instruction {t.icount}: "
                      f"it ended first ({'; '.join(r.notes) or 'no note'})")
                return 1
            return 0 if r.stopped_at == t.icount else 1
        diverged = 0
        for k in range(1, args.times + 1):
            r = replay.replay(b, s, workdir)
            n = len(tracecmp.Records(b.member(bundle.TRACE)))
            if r.identical:
                print(f"  replay {k}/{args.times}: the same trace, {n} records, in "
                      f"{r.seconds:.1f} s; dmacheck: {_said(r)}"
                      f" ({r.run_dir})", flush=True)
            else:
                diverged += 1
                print(f"  replay {k}/{args.times}: DIVERGED, so no verdict: {r.difference}"
                      + "".join(f"\n        qemu: {line}" for line in r.notes), flush=True)
        print(f"tracenic replay: {args.times - diverged} of {args.times} replays wrote the "
              "recorded trace" + ("" if not diverged else f"; {diverged} diverged"))
        return 1 if diverged else 0
    except (bundle.BundleError, replay.ReplayError) as e:
        print(f"tracenic replay: refused: {e}", file=sys.stderr)
        return 2


def _said(r) -> str:
    return verdict.said(r.verdict.rules, (r.verdict.report or {}).get("verdict", ""))


def cmd_trace_diff(args) -> int:
    diff = tracecmp.compare(args.recorded, args.replayed)
    n = len(tracecmp.Records(args.recorded))
    print(f"the same trace: {n} records, every virtual time and content equal (the header's "
          "wall clock aside)" if diff is None else diff)
    return 0 if diff is None else 1


def cmd_domain_xml(args) -> int:
    """A scenario as a libvirt domain for `virsh create`: the run directory and its XML."""
    s = _select(_scenarios(args.scenarios), [args.name])[0]
    _need_build()
    workdir = args.dir.resolve()
    if any(w.split()[0] == "rx" for w in s.steps if w.split()):
        print("tracenic: note: the host RX flood of 'rx' steps needs the harness "
              "(`tracenic-cli run`); under plain virsh those steps only wait", file=sys.stderr)
    vm.prepare_run_dir(s.machine, s.steps, workdir)
    from . import libvirt_xml
    name = f"tracenic-{s.name}"
    xml = libvirt_xml.domain_xml(name, s.machine, workdir, args.accel)
    (workdir / "domain.xml").write_text(xml)
    print(f"{workdir / 'domain.xml'}: domain {name}\n"
          f"start it:  virsh -c {args.libvirt_uri} create {workdir / 'domain.xml'}\n"
          f"results:   {qemu_cmd.file(workdir, 'results')} (ends with 'TNR done'), "
          f"trace {qemu_cmd.file(workdir, 'trace')}\n"
          f"check:     {sys.argv[0]} check {qemu_cmd.file(workdir, 'trace')}")
    return 0


def cmd_iommu_table(args) -> int:
    """The seeded e1000e bugs side by side with intel-iommu, as docs/bugs.md shows it."""
    from . import iommu_table
    try:
        rows = (iommu_table.from_report(args.report) if args.report else
                iommu_table.from_scenarios(_scenarios(args.scenarios)))
    except iommu_table.TableError as e:
        raise SystemExit(f"tracenic: {e}")
    print(iommu_table.markdown(rows), end="")
    return 0


def cmd_check(args) -> int:
    if not paths.DMACHECK.exists():
        raise SystemExit(f"tracenic: {paths.DMACHECK} is missing: run `make dmacheck`")
    cmd = [str(paths.DMACHECK)] + (["--json"] if args.json else [])
    if args.perfetto:
        cmd += ["--perfetto", str(args.perfetto)]
    return subprocess.call(cmd + [str(args.trace)])


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tracenic-cli", description=__doc__)
    ap.add_argument("--scenarios", type=Path, default=paths.SCENARIOS,
                    help="scenario directory (default: harness/scenarios)")
    sub = ap.add_subparsers(dest="cmd", required=True)

    it = sub.add_parser("iommu-table", help="the seeded e1000e bugs: what the guest's IOMMU "
                        "reports next to what tracenic reports (docs/bugs.md)")
    it.add_argument("--report", type=Path, help="from this run's report directory (its "
                    "summary.json) instead of the scenario files' expectations")
    it.set_defaults(func=cmd_iommu_table)

    ls = sub.add_parser("list", help="list the scenarios")
    ls.add_argument("--shard", default="1/1", help="i/n: only this machine's share")
    ls.set_defaults(func=cmd_list)

    run = sub.add_parser("run", help="run the scenario matrix and write a report")
    run.add_argument("names", nargs="*", help="only these scenarios")
    run.add_argument("--repeat", type=int, default=1, metavar="N",
                     help="run each scenario N times (a flake hunt, a false-positive count); "
                          "the summary says how many runs of each gave the expected verdict")
    run.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                     help="scenarios at a time (default: the core count)")
    run.add_argument("--shard", default="1/1",
                     help="i/n: run every n-th scenario from the i-th (split a night)")
    run.add_argument("--report-dir", type=Path, help="default: reports/<timestamp>")
    run.add_argument("--backend", choices=("qemu", "libvirt"),
                     help="run every scenario on this backend instead of its own")
    run.add_argument("--libvirt-uri", default=vm.DEFAULT_LIBVIRT_URI,
                     help="for libvirt scenarios, e.g. qemu+ssh://lab-host/system")
    run.add_argument("--sweep-minutes", type=float, default=0.0, metavar="M",
                     help="then sweep the scenarios whose plain run is clean for M minutes "
                     "(the nightly: make run SWEEP_MINUTES=M); its findings join the report")
    run.add_argument("--seed", type=int, help="the sweep's seed (default: a random one)")
    run.add_argument("--record", action="store_true",
                     help="run under QEMU's record/replay (TCG) and leave a bundle per "
                     "scenario, NAME.rr.tar.gz in its directory, for `replay`")
    run.set_defaults(func=cmd_run)

    rr = sub.add_parser("replay", help="replay a recorded run (a bundle from run --record) "
                        "and check it wrote the recorded trace; or stop it at an event")
    rr.add_argument("bundle", type=Path)
    rr.add_argument("--times", type=int, default=1, help="replays (default 1)")
    rr.add_argument("--stop-at", nargs="+", metavar="WHAT",
                    help="violation | free | record N: stop the replay at the guest "
                    "instruction of dmacheck's first violation, of the free it is about, or "
                    "of trace record N, with the gdbstub open (docs/repro.md)")
    rr.add_argument("--gdb-port", type=int, help="with --stop-at (default: a free port)")
    rr.add_argument("--dir", type=Path, help="work directory (default: reports/replay-…)")
    rr.set_defaults(func=cmd_replay)

    td = sub.add_parser("trace-diff", help="are two traces the same run: every record's "
                        "virtual time and content (exit 0 yes, 1 no, naming the first "
                        "difference)")
    td.add_argument("recorded", type=Path)
    td.add_argument("replayed", type=Path)
    td.set_defaults(func=cmd_trace_diff)

    sw = sub.add_parser("sweep", help="run scenarios again and again under seeded random "
                        "device timing, traffic bursts and link flaps; keep what they find")
    sw.add_argument("names", nargs="*", help="scenarios (default: every one a plain run "
                    "finds clean, on the qemu backend)")
    sw.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    sw.add_argument("--seed", type=int, help="the schedules' seed (default: a random one, "
                    "printed)")
    sw.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="runs at a time (default: the core count)")
    sw.add_argument("--dir", type=Path, help="findings and summary (default: "
                    "reports/sweep-<timestamp>); with --rerun, the re-run's directory")
    sw.add_argument("--until-found", action="store_true",
                    help="stop at the first finding")
    sw.add_argument("--rerun", type=Path, metavar="FINDING",
                    help="run a finding's schedule again (its directory under findings/)")
    sw.add_argument("--attempts", type=int, default=3,
                    help="with --rerun: tries until the fingerprint shows (default 3)")
    sw.add_argument("--record", action="store_true",
                    help="with --rerun: each attempt under record/replay, leaving a bundle "
                    "that `replay` runs again exactly (docs/repro.md)")
    sw.set_defaults(func=cmd_sweep)

    rp = sub.add_parser("repro", help="run one scenario, stop the VM at the first violation")
    rp.add_argument("name")
    rp.add_argument("--dir", type=Path, help="artifacts (default: reports/repro-NAME-TIME)")
    rp.add_argument("--record", action="store_true",
                    help="record the run, then replay the recording stopped at the "
                    "instruction of its first violation, reverse debugging possible "
                    "(docs/repro.md)")
    rp.add_argument("--gdb-port", type=int, help="with --record (default: a free port)")
    rp.set_defaults(func=cmd_repro)

    dx = sub.add_parser("domain-xml", help="write a scenario as a libvirt domain for virsh create")
    dx.add_argument("name")
    dx.add_argument("--dir", type=Path, required=True, help="the run directory to prepare")
    dx.add_argument("--accel", choices=("tcg", "kvm"), default="tcg")
    dx.add_argument("--libvirt-uri", default=vm.DEFAULT_LIBVIRT_URI)
    dx.set_defaults(func=cmd_domain_xml)

    chk = sub.add_parser("check", help="dmacheck a trace (exit 0 clean, 1 violations, 2 bad)")
    chk.add_argument("trace", type=Path)
    chk.add_argument("--json", action="store_true")
    chk.add_argument("--perfetto", type=Path, help="also write a Perfetto timeline here")
    chk.set_defaults(func=cmd_check)
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        n = vm.kill_all()
        print(f"\ntracenic: interrupted; ended {n} running VM(s)", file=sys.stderr)
        return 130
