"""The race sweep: scenarios run again and again, each run under a seeded random schedule
of what a real device and network do differently from day to day (docs/sweep.md).

    tracenic-cli sweep [--minutes N] [--seed S] [-j N] [--dir D] [scenarios...]
    tracenic-cli sweep --rerun FINDING

A schedule (schedule()) is a list of events, each anchored to the guest's progress
(the moment it has reported N steps, plus some milliseconds): a fault-injection
property of the traced device set through QMP qom-set (DMA delays, prefetch, late
write-back, quiesce and reset delays), a burst of host traffic, a link flap (QMP
set_link).  It is a function of (seed, run number, scenario) alone, so a finding's
schedule can be run again.  Each violation dmacheck reports becomes a finding,
deduplicated by its fingerprint (rule, region kind, allocation site, free site, DMA
cause); a guest that panicked or hung, or QEMU that died, is a finding too.  Steps
that failed (a ping during a link flap) are not.  A scenario's expect.sweep names
the rules of its seeded timing-only bug: those findings are expected, any other is not.
"""
import dataclasses
import datetime
import hashlib
import json
import os
import random
import shutil
import subprocess
import threading
import time
from pathlib import Path

from . import contract, nightly, paths, qemu_cmd, results, verdict, vm
from .scenario import Scenario
from .vm import qmp

# ---- schedules --------------------------------------------------------------------------
DELAY_MAX_NS = 2_000_000    # 2 ms: 20x a frame time at 1 Gb/s; the drivers wait 100 ms
BURST_PPS = (1000, 4000, 10000)   # host -> guest frames per second (slirp drops beyond ~10k)
EVENTS = (3, 10)            # events per run, inclusive
AFTER_MS_MAX = 600          # an event fires up to this long after its step began
LINK_DOWN_MS = (5, 300)
HARNESS_ERRORS_IN_A_ROW = 10       # then the sweep stops: nothing would run


def _delay(rng: random.Random) -> int:
    """0 a quarter of the time (the device on time), else log-uniform 1 us .. 2 ms."""
    if rng.random() < 0.25:
        return 0
    return int(10 ** rng.uniform(3, 6.301))


def knobs(nic: str) -> dict:
    """The traced device's run-time fault-injection properties -> a sampler.

    tracenic's are the contract's TN_PROP_* (names.h tn_prop_name, settable on the
    running device); a QEMU model traced through the kit (e1000e) has none of its own,
    and is swept with traffic bursts and link flaps only."""
    if nic != "tracenic":
        return {}
    samplers = {"rx-dma-delay-ns": _delay, "tx-dma-delay-ns": _delay,
                "quiesce-delay-ns": _delay, "reset-delay-ns": _delay,
                "prefetch": lambda rng: rng.randint(0, contract.const("TN_PREFETCH_MAX")),
                "late-writeback": lambda rng: rng.random() < 0.5}
    names = set(contract.table("tn_prop_name").values())
    if set(samplers) != names:
        raise contract.ContractError(
            f"include/tracenic/names.h tn_prop_name lists {sorted(names)}, the sweep "
            f"samples {sorted(samplers)}: give each run-time property a sampler "
            f"in harness/tracenic/sweep.py")
    return samplers


@dataclasses.dataclass(frozen=True)
class Event:
    step: int           # fires once the guest has reported this many steps (0: at boot) ...
    after_ms: int       # ... and this long after
    do: str             # "set" (qom-set), "burst" (host UDP flood), "link" (down, then up)
    prop: str = ""      # set: the property
    value: int = 0      # set: its value (late-writeback: 0/1); burst: frames; link: ms down
    size: int = 0       # burst: bytes per datagram
    pps: int = 0        # burst: datagrams per second

    def text(self) -> str:
        at = f"step {self.step} +{self.after_ms} ms"
        if self.do == "set":
            return f"{at}: {self.prop}={self.value}"
        if self.do == "burst":
            return f"{at}: burst {self.value} x {self.size} B at {self.pps}/s"
        return f"{at}: link down {self.value} ms"


def schedule(seed: int, run: int, s: Scenario) -> list[Event]:
    """The events of run @run of @s in the sweep seeded @seed: the same arguments give
    the same list (random.Random seeded with a string hashes it with SHA-512)."""
    rng = random.Random(f"tracenic-sweep:{seed}:{run}:{s.name}")
    samplers = knobs(s.machine.nic)
    n_steps = len(s.steps)
    kinds = ["set"] * (6 if samplers else 0) + ["burst"] * 2 + ["link"]
    events = []
    for _ in range(rng.randint(*EVENTS)):
        step, after = rng.randint(0, n_steps - 1), rng.randint(0, AFTER_MS_MAX)
        do = rng.choice(kinds)
        if do == "set":
            prop = rng.choice(sorted(samplers))
            events.append(Event(step, after, "set", prop, int(samplers[prop](rng))))
        elif do == "burst":
            events.append(Event(step, after, "burst", value=rng.randint(100, 2000),
                                size=rng.choice((64, 512, 1000, 1400)),
                                pps=rng.choice(BURST_PPS)))
        else:
            events.append(Event(step, after, "link", value=rng.randint(*LINK_DOWN_MS)))
    return sorted(events, key=lambda e: (e.step, e.after_ms))


# ---- applying a schedule to a running VM --------------------------------------------------
class Perturb(vm.Watch):
    """Fires a schedule's events as the guest reports its steps (vm.drive's watch).
    What it did, with the host time, goes to sweep-events.log in the run directory."""
    poll_seconds = 0.02

    def __init__(self, events: list[Event], workdir: Path, rx_port: int, record: bool = False):
        self.record = record        # under record/replay: see _monitor
        self.monitor_events: list[dict] = []
        self.pending = list(events)
        self.workdir = workdir
        self.rx_port = rx_port
        self.vm = None
        self.monitor_open = False
        self.step_at: dict[int, float] = {}     # steps reported -> when we first saw it
        self.link_up_at = None
        self.bursts: list[subprocess.Popen] = []
        self.log_lines: list[str] = []
        self.errors: list[str] = []
        self.t0 = time.monotonic()

    def started(self, v) -> None:
        self.vm = v
        self.t0 = time.monotonic()
        self.step_at[0] = self.t0

    def _log(self, text: str) -> None:
        self.log_lines.append(f"{time.monotonic() - self.t0:8.3f} s  {text}")

    def _reported(self) -> int:
        return len(results.parse_file(qemu_cmd.file(self.workdir, "results")).steps)

    def _connected(self) -> bool:
        """QEMU opens its monitor a moment after it starts: events wait for it."""
        if not self.monitor_open:
            try:
                self.vm.monitor("query-status")
                self.monitor_open = True
            except (qmp.QmpError, vm.VmStartError):
                pass
        return self.monitor_open

    def poll(self) -> None:
        if self.vm is None or not self.vm.running() or not self._connected():
            return
        now = time.monotonic()
        done = self._reported() if self.pending or self.link_up_at else 0
        for k in range(done + 1):
            self.step_at.setdefault(k, now)
        if self.link_up_at is not None and now >= self.link_up_at:
            self._monitor("set_link", name=qemu_cmd.NETDEV_ID, up=True)
            self.link_up_at = None
        while self.pending:
            e = self.pending[0]
            if e.step not in self.step_at or now < self.step_at[e.step] + e.after_ms / 1000:
                break
            self.pending.pop(0)
            self._fire(e, now)

    def _monitor(self, command: str, **args) -> bool:
        try:
            if self.record:
                self._monitor_recorded(command, args)
            else:
                self.vm.monitor(command, **args)
            self._log(f"{command} {args}")
            return True
        except (qmp.QmpRefused, vm.VmStartError) as e:
            self.errors.append(f"{command} {args}: {e}")
            self._log(f"{command} {args} refused: {e}")
            return False
        except qmp.QmpError as e:
            # The connection, not the command: QEMU is quitting (the guest powered off).
            self._log(f"{command} {args} not sent, QEMU is going away: {e}")
            return False

    def _monitor_recorded(self, command: str, args: dict) -> None:
        """The host's monitor is not in QEMU's replay log: while recording, a change is made
        with the VM stopped at a known guest instruction count, and kept in
        monitor-events.json, so that a replay makes it again at that instruction
        (replay.replay)."""
        self.vm.monitor("stop")
        try:
            icount = self.vm.monitor("query-replay")["icount"]
            self.vm.monitor(command, **args)
            self.monitor_events.append({"icount": icount, "command": command, "args": args})
            qemu_cmd.file(self.workdir, "monitor_events").write_text(
                json.dumps(self.monitor_events, indent=1) + "\n")
        finally:
            self.vm.monitor("cont")

    def _fire(self, e: Event, now: float) -> None:
        if e.do == "set":
            value = bool(e.value) if e.prop == "late-writeback" else e.value
            self._monitor("qom-set", path=qemu_cmd.NIC_ID, property=e.prop, value=value)
        elif e.do == "link":
            if self.link_up_at is None and self._monitor("set_link", name=qemu_cmd.NETDEV_ID,
                                                         up=False):
                self.link_up_at = now + e.value / 1000
        elif paths.TRAFFICGEN.exists():
            with open(self.workdir / "sweep-traffic.log", "a") as log:
                self.bursts.append(subprocess.Popen(
                    [str(paths.TRAFFICGEN), "--port", str(self.rx_port), "--count",
                     str(e.value), "--size", str(e.size), "--pps", str(e.pps)],
                    stdout=log, stderr=log, stdin=subprocess.DEVNULL))
            self._log(e.text())
        else:
            self.errors.append(f"{paths.TRAFFICGEN} is missing: run `make trafficgen`")

    def finish(self) -> None:
        """After the VM is gone: end the bursts (the guest no longer answers), write the log."""
        for p in self.bursts:
            if p.poll() is None:
                p.kill()
            p.wait()
        if self.pending:
            self._log(f"{len(self.pending)} events not fired: the guest did not get that far")
        (self.workdir / "sweep-events.log").write_text("".join(x + "\n" for x in self.log_lines))


# ---- findings -----------------------------------------------------------------------------
FINGERPRINT_KEYS = ("rule", "region", "alloc_site", "free_site", "cause")


def _site(code, sites: dict[str, str]) -> str:
    """A call site as dmacheck prints it (include/tracenic/ledger.h): "file:line" for a
    driver's numbered site; for a code address, the symbol the guest's kernel gave it
    (the address itself moves with KASLR), else the address."""
    if not code:
        return ""
    if code & contract.const("TN_SITE_CODE_BIT"):
        addr = f"{0xffffffff00000000 | code:#x}"
        return sites.get(addr, addr).split("/")[0]
    return f"{code >> 16}:{code & 0xffff}" if code >> 16 else str(code)


def fingerprints(report: dict, sites: dict[str, str]) -> list[dict]:
    """One fingerprint per violation of a dmacheck JSON report: what a finding is keyed by."""
    out = []
    for v in report.get("violations", []):
        region = v.get("region") or {}
        if v.get("dma"):
            cause = v["dma"]["cause"]
        else:
            cause = "+".join(sorted({r["kind"] for r in (v.get("device") or {}).get("refs", [])}))
        out.append({"rule": v["rule"], "region": region.get("api", ""),
                    "alloc_site": _site(region.get("alloc_site"), sites),
                    "free_site": _site(region.get("free_site"), sites), "cause": cause})
    return out


def fingerprint_id(fp: dict) -> str:
    key = "\0".join(str(fp.get(k, "")) for k in FINGERPRINT_KEYS)
    return f"{fp['rule']}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


# Why a run may fail without a finding: the schedule's link flap failed a ping, or made
# a scenario's expected DMA cause not happen.  Every other failure is a finding of its own.
NOT_FINDINGS = ("", "failed-step", "activity", "rules")


def run_findings(s: Scenario, r: dict, report: dict | None) -> list[dict]:
    """The findings of one sweep run (nightly.run_one's result, dmacheck's JSON)."""
    fps = fingerprints(report or {}, r.get("sites", {}))
    if r["why_code"] not in NOT_FINDINGS and r["why_code"] != "harness":
        fps.append({"rule": r["why_code"], "region": "", "alloc_site": "", "free_site": "",
                    "cause": ""})
    unique = {fingerprint_id(fp): fp for fp in fps}     # one per fingerprint and run
    for fp in unique.values():
        fp["expected"] = fp["rule"] in s.expect_sweep | s.expect_rules
    return list(unique.values())


# ---- the sweep ----------------------------------------------------------------------------
def sweepable(scenarios: list[Scenario]) -> tuple[list[Scenario], list[str]]:
    """What a sweep without names runs: every scenario whose plain run is clean (the
    correct driver's, and the timing-only bugs'), and why the others are left out."""
    chosen, left = [], []
    for s in scenarios:
        if s.expect_rules or s.expect_kernel:
            continue        # a seeded bug a plain run already shows
        if s.machine.backend != "qemu":
            left.append(f"{s.name}: the sweep drives QEMU's monitor itself; {s.machine.backend} "
                        f"keeps it (run its twin on the qemu backend)")
            continue
        chosen.append(s)
    return chosen, left


@dataclasses.dataclass
class Sweep:
    scenarios: list[Scenario]
    seed: int
    minutes: float
    jobs: int
    out: Path
    until_found: bool = False       # stop at the first finding (the detection figures)
    progress: object = print
    runs: int = 0
    started: float = 0.0
    findings: dict = dataclasses.field(default_factory=dict)   # id -> finding
    harness_errors: list = dataclasses.field(default_factory=list)
    errors_in_a_row: int = 0
    order: list = dataclasses.field(default_factory=list)     # run n: order[n % len]
    per_scenario: dict = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    _next: int = 0
    _stop: bool = False

    def _take(self):
        """The next (run number, scenario), or None when the time is up."""
        with self._lock:
            if self._stop or time.monotonic() >= self.started + self.minutes * 60:
                return None
            n = self._next
            self._next += 1
            return n, self.order[n % len(self.order)]

    def _harness_error(self, text: str) -> None:
        """Note a run the harness could not carry out (the caller holds the lock).  Runs
        that fail at once would spin through the schedule: a row of them ends the sweep."""
        self.harness_errors.append(text)
        self.errors_in_a_row += 1
        if self.errors_in_a_row == HARNESS_ERRORS_IN_A_ROW:
            self._stop = True
            self.harness_errors.append(
                f"the sweep stopped: {HARNESS_ERRORS_IN_A_ROW} runs in a row failed in the "
                f"harness (QEMU or a tool missing, or rebuilt under the sweep?); fix the "
                f"first error above and start it again")

    def _worker(self) -> None:
        while (job := self._take()) is not None:
            n, s = job
            try:
                self._one(n, s)
            except Exception as e:  # noqa: BLE001 - one broken run must not end the sweep
                with self._lock:
                    self._harness_error(f"run {n} ({s.name}): {e!r}")

    def _one(self, n: int, s: Scenario) -> None:
        events = schedule(self.seed, n, s)
        art = self.out / "runs" / f"{n:05d}-{s.name}"
        r, report = run_scheduled(s, events, art)
        fps = run_findings(s, r, report)
        new = []
        with self._lock:
            self.runs += 1
            st = self.per_scenario.setdefault(s.name, {"runs": 0, "findings": 0})
            st["runs"] += 1
            st["findings"] += bool(fps)
            if r["why_code"] == "harness":
                self._harness_error(f"run {n} ({s.name}): {r['why']}")
            else:
                self.errors_in_a_row = 0
            for fp in fps:
                fid = fingerprint_id(fp)
                f = self.findings.get(fid)
                if f is None:
                    f = self.findings[fid] = {
                        "id": fid, "fingerprint": {k: fp[k] for k in FINGERPRINT_KEYS},
                        "expected": fp["expected"], "scenario": s.name, "seed": self.seed,
                        "run": n, "schedule": [dataclasses.asdict(e) for e in events],
                        "found_after_s": round(time.monotonic() - self.started, 1),
                        "first_run_dir": f"findings/{fid}/run", "count": 0, "runs": []}
                    new.append(fid)
                f["count"] += 1
                if n not in f["runs"]:
                    f["runs"].append(n)
            if fps and self.until_found:
                self._stop = True
        keep = None
        for fid in new:
            d = self.out / "findings" / fid
            d.mkdir(parents=True, exist_ok=True)
            (d / "finding.json").write_text(json.dumps(self.findings[fid], indent=2) + "\n")
            if keep is None:
                keep = d / "run"
                shutil.copytree(art, keep)
            else:
                (d / "run").symlink_to(os.path.relpath(keep, d))
        shutil.rmtree(art, ignore_errors=True)
        with self._lock:
            with open(self.out / "runs.jsonl", "a") as log:
                log.write(json.dumps({"run": n, "scenario": s.name, "seconds": r["seconds"],
                                      "why_code": r["why_code"], "why": r["why"],
                                      "findings": [fingerprint_id(fp) for fp in fps]}) + "\n")
            line = self.status_line(new)
        self.progress(line)

    def status_line(self, new=()) -> str:
        """The progress line (and each new finding); the caller holds the lock."""
        elapsed = time.monotonic() - self.started
        left = max(0.0, self.started + self.minutes * 60 - time.monotonic())
        unexpected = sum(not f["expected"] for f in self.findings.values())
        line = (f"  sweep: {self.runs} runs, {self.runs / max(elapsed, 1e-9) * 60:.1f}/min, "
                f"{len(self.findings)} findings ({unexpected} unexpected), "
                f"{int(left) // 60}:{int(left) % 60:02d} left")
        for fid in new:
            f = self.findings[fid]
            line += (f"\n    new finding {fid} in run {f['run']} of {f['scenario']}"
                     f"{' (its seeded timing-only bug)' if f['expected'] else ''}: "
                     f"{describe(f['fingerprint'])}")
        return line

    def run(self) -> dict:
        # The scenarios in a seeded order: a short sweep (the nightly's) that gets through
        # only some of them starts with other ones each night.
        self.order = list(self.scenarios)
        random.Random(f"tracenic-sweep-order:{self.seed}").shuffle(self.order)
        self.out.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        threads = [threading.Thread(target=self._worker, daemon=True)
                   for _ in range(max(1, self.jobs))]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.5)
        except BaseException:
            with self._lock:
                self._stop = True
                self.write()        # what the sweep found so far, then Ctrl-C goes on
            raise
        return self.write()

    def write(self) -> dict:
        elapsed = time.monotonic() - self.started
        summary = {
            "seed": self.seed, "minutes": self.minutes, "jobs": self.jobs,
            "host_cpus": os.cpu_count(), "seconds": round(elapsed, 1), "runs": self.runs,
            "runs_per_minute": round(self.runs / max(elapsed, 1e-9) * 60, 2),
            "scenarios": self.per_scenario, "harness_errors": self.harness_errors,
            "findings": sorted(self.findings.values(), key=lambda f: f["found_after_s"]),
            "unexpected": sum(not f["expected"] for f in self.findings.values()),
            "seeded_not_found": sorted(
                f"{s.name}: {', '.join(sorted(s.expect_sweep))}" for s in self.scenarios
                if s.expect_sweep and not any(
                    f["scenario"] == s.name and f["expected"] for f in self.findings.values())),
            "finished": datetime.datetime.now().isoformat(timespec="seconds")}
        (self.out / "sweep.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary


def describe(fp: dict) -> str:
    if fp["rule"] in verdict.WHY_CODES:
        return f"{fp['rule']} (the run itself failed: see the run's console and QEMU logs)"
    if not fp.get("region"):
        return f"{fp['rule']}" + (f", by {fp['cause']}" if fp.get("cause") else "")
    return (f"{fp['rule']} on {fp['region']} allocated at {fp['alloc_site'] or '?'}, freed at "
            f"{fp['free_site'] or '?'}" + (f", by {fp['cause']}" if fp.get("cause") else ""))


def run_scheduled(s: Scenario, events: list[Event], art: Path,
                  record: bool = False) -> tuple[dict, dict | None]:
    """One run of @s under @events in @art: nightly.run_one's result and dmacheck's JSON;
    record: under record/replay, leaving a bundle (result's `bundle`)."""
    port = vm.free_udp_port()
    art.mkdir(parents=True, exist_ok=True)
    (art / "sweep-schedule.txt").write_text("".join(e.text() + "\n" for e in events))
    watch = Perturb(events, art, port, record)
    try:
        r = nightly.run_one(s, art.parent, art=art, watch=watch, rx_port=port, record=record)
    finally:
        watch.finish()
    if watch.errors and r["why_code"] in NOT_FINDINGS:
        r.update(ok=False, why_code="harness",
                 why="the sweep could not apply its schedule: " + "; ".join(watch.errors[:3]))
    try:
        report = json.loads((art / "dmacheck.json").read_text())
    except (OSError, ValueError):
        report = None
    return r, report


def load_finding(path: Path) -> tuple[dict, Path]:
    """A finding directory, or its finding.json."""
    f = path / "finding.json" if path.is_dir() else path
    try:
        return json.loads(f.read_text()), f.parent
    except OSError as e:
        raise SystemExit(f"tracenic: {f}: cannot read the finding: {e.strerror}; name a "
                         f"directory under <sweep>/findings/") from None
    except ValueError as e:
        raise SystemExit(f"tracenic: {f}: not a finding (invalid JSON: {e})") from None


def rerun(finding: dict, s: Scenario, out: Path, attempts: int, progress=print,
          record: bool = False) -> int:
    """Run the finding's scenario under its schedule until its fingerprint shows again,
    at most @attempts times; the number of the attempt that showed it, or 0.  record:
    each attempt under record/replay, its bundle named (docs/repro.md)."""
    events = [Event(**e) for e in finding["schedule"]]
    if events != schedule(finding["seed"], finding["run"], s):
        progress(f"  note: the schedule stored in the finding differs from what seed "
                 f"{finding['seed']} gives run {finding['run']} of {s.name} today (the "
                 f"scenario or the sweep changed); running the stored one")
    want = finding["id"]
    for k in range(1, attempts + 1):
        art = out / f"attempt-{k}"
        shutil.rmtree(art, ignore_errors=True)
        r, report = run_scheduled(s, events, art, record)
        got = [fingerprint_id(fp) for fp in run_findings(s, r, report)]
        progress(f"  attempt {k}: {'the same fingerprint' if want in got else 'not seen'}"
                 f" ({r['seconds']:.1f} s; dmacheck: {r['said'] or 'n/a'}) in {art}")
        if record:
            progress(f"    recorded: {r['bundle'] or r['bundle_note']}")
        if want in got:
            return k
    return 0
