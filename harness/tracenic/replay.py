"""Record a scenario run into a bundle; replay a bundle, and stop a replay at an event.

    make_bundle(s, run_dir, rx_port, seconds) -> Path   after a run under qemu_cmd.Record
    replay(bundle_path, workdir, ...) -> Replayed       the same run again, instruction
                                                        for instruction, and its trace checked
    target_icount(bundle, stop_at) -> (icount, what)    where --stop-at stops

Record/replay is QEMU's (docs/system/replay.rst): under -icount the guest's
instructions are counted, and every input from outside the VM (packets from
the host, serial input, host clock reads, when an interrupt or bottom half
came) goes into the replay log.  A replay feeds the log back, so the guest
executes the same instructions and the devices do the same DMA: the trace it
writes must equal the recorded one (tracecmp.compare).  When it does not,
the replay diverged, and that is the result, never a verdict.
"""
import dataclasses
import json
import subprocess
import time
from pathlib import Path

from . import bundle as bundlemod
from . import paths, qemu_cmd, results, scenario, tracecmp, verdict, vm
from .vm import qmp
from .scenario import Scenario

BUNDLE_SUFFIX = ".rr.tar.gz"
# A replay runs slower than its recording (measured: 13 s against 8 s for
# bug-tx-early-unmap, 66 s against 9 s for bug-rx-realloc-posted).
REPLAY_TIMEOUT_FACTOR = 4
STOP_KINDS = ("violation", "free", "record")


def bundle_path(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}{BUNDLE_SUFFIX}"


def _commit() -> str:
    r = subprocess.run(["git", "-C", str(paths.TOP), "rev-parse", "HEAD"], capture_output=True,
                       text=True, check=False)
    return r.stdout.strip() or "unknown"


def _argv_template(machine, run_dir: Path, images: qemu_cmd.Images, log: Path,
                   rx_port: int | None, mode: str) -> list[str]:
    argv = qemu_cmd.qemu_argv(machine, run_dir, "tcg", rx_port,
                              record=qemu_cmd.Record(mode, log), images=images)
    return bundlemod.template(argv, bundlemod.substitutions(run_dir, images, log, rx_port))


def make_bundle(s: Scenario, run_dir: Path, rx_port: int | None, seconds: float,
                machine=None) -> Path:
    """The bundle of the recorded run in @run_dir (dmacheck's reports already written)."""
    machine = machine or s.machine
    images = qemu_cmd.Images.built(machine.firmware)
    log = qemu_cmd.file(run_dir, "replay_log")
    template = _argv_template(machine, run_dir, images, log, rx_port, "record")
    return bundlemod.write(bundle_path(run_dir, s.name), run_dir, s.path.read_text(), s.name,
                           template, images,
                           {"commit": _commit(), "record_seconds": round(seconds, 1),
                            "rx_port": rx_port, "backend": machine.backend})


# ---- replaying -----------------------------------------------------------------------------
class ReplayError(Exception):
    """The bundle cannot be replayed as it is; the message says why."""


@dataclasses.dataclass
class Replayed:
    run_dir: Path
    seconds: float
    difference: str | None          # None: the replay wrote the recorded trace
    verdict: verdict.Verdict | None
    notes: list[str]
    stopped_at: int | None = None   # --stop-at: the icount QMP query-replay reported

    @property
    def identical(self) -> bool:
        return self.difference is None


def load(bundle_file: Path, workdir: Path, check_build: bool = True):
    """Open @bundle_file into @workdir/bundle; its scenario; ReplayError/BundleError."""
    b = bundlemod.open_bundle(bundle_file, workdir / "bundle", check_build)
    try:
        s = scenario.load(b.member(bundlemod.SCENARIO))
    except scenario.ScenarioError as e:
        raise ReplayError(f"{bundle_file}: its scenario cannot be read by this tracenic: "
                          f"{e}") from None
    return b, s


def _check_same_run(b: bundlemod.Bundle, s: Scenario, run_dir: Path, rx_port) -> None:
    """The steps and the command line this harness builds must be the recorded ones."""
    lines, _ = vm.guest_lines(s.steps)
    if "".join(line + "\n" for line in lines) != b.member(bundlemod.STEPS).read_text():
        raise ReplayError(f"{b.path}: this harness turns the scenario's steps into other "
                          "guest lines than the recording had; replay it with the commit it "
                          f"names ({b.manifest.get('commit', '?')})")
    machine = dataclasses.replace(s.machine, backend="qemu")
    mine = _argv_template(machine, run_dir, b.images, b.member(bundlemod.LOG), rx_port,
                          "record")
    theirs = b.manifest["argv"]
    if mine != theirs:
        k = next((i for i, (x, y) in enumerate(zip(mine, theirs)) if x != y),
                 min(len(mine), len(theirs)))
        raise ReplayError(
            f"{b.path}: the QEMU command line this harness builds for the scenario differs "
            f"from the recorded one at argument {k} ({mine[k] if k < len(mine) else 'none'!r} "
            f"here, {theirs[k] if k < len(theirs) else 'none'!r} recorded); replay it with "
            f"the commit it names ({b.manifest.get('commit', '?')})")


def _qemu_complaints(run_dir: Path) -> list[str]:
    """What QEMU's replay said on stderr (a divergence shows there first)."""
    text = qemu_cmd.file(run_dir, "stderr").read_text(errors="replace") \
        if qemu_cmd.file(run_dir, "stderr").exists() else ""
    return [line for line in text.splitlines() if line.strip()]


class _StopAt(vm.Watch):
    """With -S: set QMP replay-break at @icount, then start the guest."""

    def __init__(self, icount: int):
        self.icount = icount
        self.vm = None
        self.armed = False
        self.error = None

    def started(self, v) -> None:
        self.vm = v

    def poll(self) -> None:
        if self.armed or self.vm is None or not self.vm.running():
            return
        try:
            self.vm.monitor("replay-break", icount=self.icount)
            self.vm.monitor("cont")
            self.armed = True
        except qmp.QmpRefused as e:
            self.armed, self.error = True, f"QEMU refused replay-break {self.icount}: {e}"
            self.vm.monitor("cont")
        except qmp.QmpError:
            pass                    # QEMU opens its monitor a moment after it starts


def replay(b: bundlemod.Bundle, s: Scenario, workdir: Path, *, stop_at: "Target | None" = None,
           on_stop=None, gdb_port: int | None = None) -> Replayed:
    """Replay the bundle @b (load()) of scenario @s in @workdir/replay-N (N = 1, 2, ...).
    stop_at: a target_icount() Target; on_stop(vm, icount) is then called with the VM
    stopped at its instruction and returns "cont" or "quit"."""
    n = 1
    while (workdir / f"replay-{n}").exists():
        n += 1
    run_dir = workdir / f"replay-{n}"
    rx_port = b.manifest.get("rx_port")
    _check_same_run(b, s, run_dir, rx_port)
    machine = dataclasses.replace(s.machine, backend="qemu")
    # Where the replay stops on its way, in instruction order: the recorded monitor
    # commands (a sweep schedule's), the snapshot for reverse execution, the target.
    plan = [(e["icount"], 0, "monitor", e) for e in monitor_events(b)]
    record = qemu_cmd.Record("replay", b.member(bundlemod.LOG))
    if stop_at is not None:
        record.snapshots = run_dir / qemu_cmd.FILES["snapshots"]
        run_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(record.snapshots),
                        "1G"], check=True)
        if stop_at.snapshot_at is not None:
            plan.append((stop_at.snapshot_at, 1, "snapshot", None))
        plan.append((stop_at.icount, 2, "target", None))
    plan.sort(key=lambda p: (p[0], p[1]))
    debug = watch = None
    if plan:
        debug = qemu_cmd.Debug(gdb_port or vm.free_tcp_port(), stop_on_violation=False,
                               paused=True)
        watch = _StopAt(plan[0][0])
    reached, plan_notes = [], []

    def stopped(_partial) -> str:
        icount = watch.vm.monitor("query-replay").get("icount")
        while plan and plan[0][0] <= icount:
            at, _, kind, what = plan.pop(0)
            if at != icount:
                plan_notes.append(f"the replay stopped at instruction {icount}, past {at} "
                                  f"where it was to stop ({kind})")
            if kind == "monitor":
                watch.vm.monitor(what["command"], **what["args"])
            elif kind == "snapshot":
                # Reverse execution replays from here: before the memory's life began.
                said = watch.vm.monitor("human-monitor-command",
                                        **{"command-line": f"savevm {SNAPSHOT}"})
                if said.strip():        # HMP answers an error as text
                    plan_notes.append("no snapshot for reverse execution: savevm said "
                                      f"{said.strip()!r}")
            else:
                reached.append(icount)
                if (on_stop(watch.vm, icount) if on_stop else "quit") != "cont":
                    return "quit"
        if plan:
            watch.vm.monitor("replay-break", icount=plan[0][0])
        return "cont"

    timeout = max(s.timeout, b.manifest.get("record_seconds", 0)) * REPLAY_TIMEOUT_FACTOR
    t0 = time.monotonic()
    r = vm.run_vm(machine, s.steps, run_dir, timeout, record=record, images=b.images,
                  rx_port=rx_port, debug=debug, watch=watch,
                  on_stop=stopped if watch is not None else None)
    notes = list(r.notes) + r.errors + plan_notes + ([watch.error] if watch and watch.error
                                                     else [])
    if stop_at is not None:
        # The session went where the person debugging took it (reverse execution loads
        # snapshots, which resets the devices): its trace is not the recorded run's.
        return Replayed(run_dir, time.monotonic() - t0, None, None, notes,
                        reached[0] if reached else None)
    difference = None
    if not r.trace.exists():
        difference = "the replay wrote no trace"
    else:
        difference = tracecmp.compare(b.member(bundlemod.TRACE), r.trace)
    if difference is None and r.exit_code not in (0, None):
        difference = f"QEMU exited with status {r.exit_code}"
    if difference is not None:
        notes += _qemu_complaints(run_dir)[-5:]
        return Replayed(run_dir, time.monotonic() - t0, difference, None, notes)
    v = verdict.check(r.trace, run_dir, sites=r.guest.sites)
    return Replayed(run_dir, time.monotonic() - t0, None, v, notes)


def monitor_events(b: bundlemod.Bundle) -> list[dict]:
    """The monitor commands a recorded sweep schedule gave (sweep.Perturb): each with the
    guest instruction count the VM was stopped at for it."""
    p = b.member(bundlemod.MONITOR_EVENTS)
    return json.loads(p.read_text()) if p.exists() else []


# ---- where to stop --------------------------------------------------------------------------
SNAPSHOT = "tracenic-before"      # where reverse execution replays from


@dataclasses.dataclass
class Target:
    icount: int                 # stop when the guest has executed this many instructions
    said: str                   # what is there, in words
    snapshot_at: int | None     # save SNAPSHOT here first (before the memory was allocated)


def target_icount(b: bundlemod.Bundle, what: str, arg: str | None = None) -> Target:
    """Where --stop-at @what stops: "violation [RULE]" (dmacheck's first violation, of RULE),
    "free [RULE]" (the free that violation is about), "record N"."""
    recs = tracecmp.Records(b.member(bundlemod.TRACE))
    region = None
    if what == "record":
        if arg is None or not arg.isdigit() or not 0 <= int(arg) < len(recs):
            raise ReplayError(f"--stop-at record N: N must be a record of the trace, 0 to "
                              f"{len(recs) - 1}")
        n, said = int(arg), f"record {arg}"
    else:
        report = json.loads(b.member(bundlemod.DMACHECK_JSON).read_text()) \
            if b.member(bundlemod.DMACHECK_JSON).exists() else {}
        vios = [v for v in report.get("violations", []) if arg is None or v["rule"] == arg]
        if not vios:
            raise ReplayError(f"{b.path}: its recorded run has no {arg or ''} violation to "
                              "stop at (dmacheck's report in the bundle: "
                              f"{', '.join(sorted({v['rule'] for v in report.get('violations', [])})) or 'clean'}"
                              "); use --stop-at record N")
        v = vios[0]
        region = v.get("region") if (v.get("region") or {}).get("id") is not None else None
        if what == "violation":
            n, said = v["record"], f"the first violation, {v['rule']} at record {v['record']}"
        elif what == "free":
            region = v.get("region") or {}
            if not region.get("freed") or "free_ns" not in region:
                raise ReplayError(f"the first violation ({v['rule']}) names no freed region "
                                  "to stop at its free; use --stop-at violation")
            n = recs.free_record(region)
            if n is None:
                raise ReplayError(f"the free of region {region['id']} at "
                                  f"{region['free_ns']} ns is not a record of the trace")
            said = (f"the free of region {region['id']} (record {n}), which the first "
                    f"violation ({v['rule']}) is about")
        else:
            raise ReplayError(f"--stop-at takes {', '.join(STOP_KINDS)}, not {what!r}")
    icount = recs.icount(n)
    if icount is None:
        raise ReplayError(f"{b.path}: its trace has no instruction counts (ICOUNT records): "
                          "it was not recorded under -icount")
    # Reverse execution loads the latest snapshot before where it goes: take one before
    # the memory the violation is about was allocated (else before the first record).
    born = recs.alloc_record(region) if region else None
    before = recs.icount(born - 1) if born else None
    first = recs.first_icount()
    snapshot_at = before if before is not None else first
    if snapshot_at is not None and snapshot_at >= icount:
        snapshot_at = None
    return Target(icount, f"{said}, guest instruction {icount}", snapshot_at)


def attach_help(b: bundlemod.Bundle, gdb_port: int, run_dir: Path) -> str:
    """How to attach gdb and QMP to a replay stopped at its target."""
    modules = results.parse_file(b.member(bundlemod.RESULTS)).modules \
        if b.member(bundlemod.RESULTS).exists() else {}
    symbols = [f"        (gdb) add-symbol-file {b.member(ko)} {modules[name]}"
               for name, ko in bundlemod.MODULES.items()
               if name in modules and b.member(ko).exists()]
    return "\n".join([
        "How to look at it (the VM stays stopped at that instruction until you answer below):",
        f"  gdb:  gdb -ex 'target remote 127.0.0.1:{gdb_port}'",
        "        the driver's symbols, at the addresses the guest reported:",
        *(symbols or ["        (no tracenic module was loaded in this run)"]),
        f"        reverse-stepi and reverse-continue replay forward from the snapshot "
        f"'{SNAPSHOT}'",
        "        (taken before the memory of the violation was allocated); docs/repro.md",
        f"  QMP:  socat - UNIX-CONNECT:{qemu_cmd.file(run_dir, 'qmp_user')}",
        "        query-replay, replay-break, replay-seek, human-monitor-command",
        f"  The recorded dmacheck report: {b.member(bundlemod.DMACHECK_TEXT)}"])
