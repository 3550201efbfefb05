"""Verdicts come from dmacheck; this runs it once per trace, and compares a run with
its expectation.  Every question about the trace itself (a paused VM's trace
included) is dmacheck's; judge() only adds what the run says about the guest."""
import dataclasses
import json
import subprocess
from pathlib import Path

from . import paths


@dataclasses.dataclass
class Verdict:
    status: int                 # dmacheck's exit status: 0 clean, 1 violations, 2 unreadable
    rules: frozenset[str]
    report: dict | None
    error: str
    text: str = ""              # the human report


def name_sites(text: str, sites: dict[str, str]) -> str:
    """The code sites (caller addresses the DMA-API agent reported) that @text names,
    with the symbols the guest's kernel gave them, as lines to append; '' if none."""
    named = [f"  {a}  {sym}" for a, sym in sorted(sites.items()) if a in text]
    if not named:
        return ""
    return "\nCall sites, as the guest's kernel named them (tracenic-agent SITE lines):\n" + \
        "\n".join(named) + "\n"


def check(trace: Path, artifacts: Path, stopped_on_violation: bool = False,
          sites: dict[str, str] | None = None) -> Verdict:
    """dmacheck the trace once; it writes dmacheck.json and timeline.json, its text
    report goes to dmacheck.txt, followed by the symbols of the code @sites it names.
    stopped_on_violation: the VM was paused by on-violation=stop and then ended
    (repro), which dmacheck judges itself."""
    artifacts.mkdir(parents=True, exist_ok=True)
    if not trace.exists():
        msg = f"no trace file at {trace}: QEMU never created it (see qemu-stderr.log)"
        (artifacts / "dmacheck.txt").write_text(msg + "\n")
        return Verdict(2, frozenset(), None, msg, msg)
    json_out = artifacts / "dmacheck.json"
    json_out.unlink(missing_ok=True)
    cmd = [str(paths.DMACHECK)] + (["--stopped-on-violation"] if stopped_on_violation else [])
    cmd += ["--json-out", str(json_out), "--perfetto", str(artifacts / "timeline.json"),
            str(trace)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    text = run.stdout + run.stderr
    text += name_sites(text, sites or {})
    (artifacts / "dmacheck.txt").write_text(text)
    if run.returncode not in (0, 1):
        return Verdict(2, frozenset(), None, (run.stderr.strip() or
                       f"dmacheck exited with status {run.returncode}"), text)
    report = json.loads(json_out.read_text())
    return Verdict(run.returncode, frozenset(report["rules"]), report, "", text)


def said(rules, verdict_word: str = "") -> str:
    """What dmacheck said, in a few words: its rules, "clean", or for a trace with DMA
    and no ledger "unjudged (no ledger)" (the allocation rules were not applied)."""
    if rules:
        return ", ".join(sorted(rules))
    return "unjudged (no ledger)" if verdict_word == "unjudged" else "clean"


def activity(v: Verdict, ledger: bool = True, dma: tuple[str, ...] = (),
             refs: bool = False) -> str:
    """'' when dmacheck's facts about the trace show what the scenario made happen:
    a ledger (or, with @ledger False, dmacheck saying it had none), a DMA record of
    every cause in @dma, references taken and dropped (@refs).  Else a sentence."""
    report = v.report or {}
    stats = report.get("stats", {})
    unjudged = report.get("unjudged_dma", 0)
    if ledger and unjudged:
        when = "the ledger started late" if report.get("ledger") else "there is no ledger"
        return (f"dmacheck applied no allocation rule to {unjudged} DMA accesses: nothing had "
                f"reported what the driver allocated ({when}; see dmacheck.txt)")
    if not ledger and (report.get("ledger", True) or not unjudged):
        return ("the scenario expects a trace with DMA and no ledger, but dmacheck "
                + ("saw no DMA" if not stats.get("dma_records") else "saw ledger records"))
    by_cause = stats.get("dma_records_by_cause", {})
    missing = [c for c in dma if not by_cause.get(c)]
    if missing:
        seen = ", ".join(f"{k} {n}" for k, n in by_cause.items() if n) or "none"
        return f"the trace has no DMA record of {', '.join(missing)} (dmacheck counted {seen})"
    if refs and not (stats.get("refs_taken") and stats.get("refs_dropped")):
        return (f"the device took {stats.get('refs_taken', 0)} and dropped "
                f"{stats.get('refs_dropped', 0)} references; the scenario expects both")
    return ""


def judge(expect: frozenset[str], run, v: Verdict, timeout: float, ledger: bool = True,
          dma: tuple[str, ...] = (), refs: bool = False,
          kernel: frozenset[str] = frozenset()) -> str:
    """'' when the run is what the scenario expects; else one sentence saying what went wrong.

    A guest that died, hung or whose kernel complained other than @kernel says
    (expect.kernel: a seeded bug under an IOMMU may fault or WARN, and the
    IOMMU comparison shows it) is a failure whatever dmacheck says.  @ledger,
    @dma and @refs are the scenario's expect.ledger, expect.dma, expect.refs
    (activity()).
    """
    return judge_why(expect, run, v, timeout, ledger, dma, refs, kernel)[1]


# What judge_why() found wrong, as a word (the sweep tells a finding from a failed step by it).
WHY_CODES = ("harness", "panic", "hung", "qemu-died", "agent-missed", "kernel", "unreadable",
             "failed-step", "rules", "activity")


def judge_why(expect: frozenset[str], run, v: Verdict, timeout: float, ledger: bool = True,
              dma: tuple[str, ...] = (), refs: bool = False,
              kernel: frozenset[str] = frozenset()) -> tuple[str, str]:
    """judge()'s answer with its code (WHY_CODES): ('', '') for a run as expected."""
    panic = next((ln.strip() for ln in run.console.splitlines() if "Kernel panic" in ln), "")
    if run.errors:
        return "harness", "the harness could not run the scenario: " + "; ".join(run.errors)
    if panic:
        return "panic", f"the guest panicked: {panic} (see console.log)"
    if run.timed_out:
        return "hung", (f"the guest hung: no power-off within {timeout:g} s "
                        f"(last result: {run.results[-1] if run.results else 'none'}; "
                        f"see console.log)")
    if not run.completed:
        return "qemu-died", (f"QEMU died before the scenario finished (exit status "
                             f"{run.exit_code}; see console.log and qemu-stderr.log)")
    if run.guest.agent_missed:
        return "agent-missed", (
            f"the DMA-API agent missed {run.guest.agent_missed} calls (its kprobes were "
            f"busy), so the ledger is incomplete and the verdict cannot be trusted "
            f"({'; '.join(run.guest.agent_missed_by) or 'see results.txt, agent-summary'})")
    said_kernel = run.guest.kernel_reports
    if said_kernel != kernel:
        first = next((ln for ln in run.guest.oops + run.guest.dmar), "")
        return "kernel", (f"the guest kernel reported {', '.join(sorted(said_kernel)) or 'nothing'}, "
                          f"the scenario expects {', '.join(sorted(kernel)) or 'nothing'}"
                          + (f" (first: {first})" if first else ""))
    if v.status == 2:
        return "unreadable", f"dmacheck could not read the trace: {v.error}"
    if not expect and run.guest.failed_steps:
        s = run.guest.failed_steps[0]
        return "failed-step", (f"the correct driver failed guest step {s.number} ({s.name}): "
                               f"{s.detail or 'no output'}")
    if v.rules != expect:
        return "rules", (f"expected {', '.join(sorted(expect)) or 'clean'}, dmacheck reported "
                         f"{', '.join(sorted(v.rules)) or 'clean'}")
    why = activity(v, ledger, dma, refs)
    return ("activity" if why else ""), why
