"""`repro`: one scenario with the device's online checks stopping the VM at the violation.

The VM runs on the project's QEMU (the qemu backend, whatever the scenario
says) with check=on,on-violation=stop, a gdbstub on 127.0.0.1 and a second
QMP socket for the person debugging.  When the VM stops, the trace (flushed
by the device at the stop) is checked, the report and how to attach are
printed, and the VM stays paused until the user says "cont" or "quit".
"""
import dataclasses
import sys
from pathlib import Path

from . import paths, qemu_cmd, verdict, vm
from .scenario import Scenario


def attach_help(workdir: Path, gdb_port: int) -> str:
    return f"""\
How to look at it (the VM stays paused until you answer below):
  gdb:  gdb -ex 'target remote 127.0.0.1:{gdb_port}'
        (guest kernel symbols: the vmlinux of Debian's linux-image-*-dbg package)
  QMP:  socat - UNIX-CONNECT:{qemu_cmd.file(workdir, 'qmp_user')}
        then {{"execute":"qmp_capabilities"}} and e.g.
        {{"execute":"human-monitor-command","arguments":{{"command-line":"info registers"}}}}
  QEMU's own report of the access: {qemu_cmd.file(workdir, 'stderr')}
  Timeline so far: {workdir / 'timeline.json'} (open in https://ui.perfetto.dev)"""


def ask(answers=None) -> str:
    """The user's answer at a stop: "cont", or "quit" (also at the end of the input);
    answers: an iterator of them instead of standard input (tests)."""
    if answers is not None:
        answer = next(answers, "quit")
    else:
        try:
            answer = input()
        except EOFError:
            answer = "quit"
    return "cont" if answer.strip().lower() in ("c", "cont", "continue") else "quit"


def run(s: Scenario, workdir: Path, answers=None, out=sys.stdout) -> int:
    """Exit status: 0 no violation, 1 violations (stopped or found offline)."""
    gdb_port = vm.free_tcp_port()
    machine = dataclasses.replace(s.machine, backend="qemu")
    stops = [0]

    def on_stop(partial: vm.VmResult) -> str:
        stops[0] += 1
        # The paused VM's trace has no END record yet: dmacheck judges it as such.
        v = verdict.check(partial.trace, workdir, stopped_on_violation=True)
        print(f"\n=== tracenic: the VM stopped on a DMA violation (stop {stops[0]}) ===",
              file=out)
        print(v.text.rstrip(), file=out)
        if v.status == 0:
            print("(dmacheck found nothing yet: the online check saw more than the trace so "
                  "far shows; see qemu-stderr.log)", file=out)
        print(attach_help(workdir, gdb_port), file=out)
        print("Type 'cont' to resume the guest, or 'quit' (or end of input) to end the run:",
              file=out, flush=True)
        return ask(answers)

    print(f"tracenic repro {s.name}: {s.description}\n"
          f"  artifacts in {workdir}; gdbstub on 127.0.0.1:{gdb_port}; "
          f"stopping at the first online violation", file=out, flush=True)
    r = vm.run_vm(machine, s.steps, workdir, s.timeout, debug=qemu_cmd.Debug(gdb_port),
                  on_stop=on_stop)
    v = verdict.check(r.trace, workdir, stopped_on_violation=r.stopped, sites=r.guest.sites)
    rules = sorted(v.rules)
    if not r.stopped:
        print("The VM never stopped: no online check fired (dmacheck's offline rules, e.g. "
              "flags, lengths, IRQL and leaks, are only in the final report).", file=out)
        print(v.text, file=out)
    print(f"tracenic repro {s.name}: {'stopped on a violation; ' if r.stopped else ''}"
          f"dmacheck: {verdict.said(rules, (v.report or {}).get('verdict', ''))}; expected "
          f"{', '.join(sorted(s.expect_rules)) or 'clean'}; artifacts in {workdir}", file=out)
    return 1 if r.stopped or rules else 0


def default_dir(name: str, stamp: str) -> Path:
    return paths.REPORTS / f"repro-{name}-{stamp}"
