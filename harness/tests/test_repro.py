"""`repro`: the VM stops at the violation, the report and how to attach are printed,
and the VM stays paused until told."""
import json
import subprocess
import time
from pathlib import Path

from conftest import qemu_processes
from tracenic import qemu_cmd

CLI = Path(__file__).resolve().parents[1] / "tracenic-cli"


def test_repro_stops_at_the_violation_and_waits(built, tmp_path):
    proc = subprocess.Popen(["/usr/bin/python3", str(CLI), "repro", "bug-no-quiesce-poll",
                             "--dir", str(tmp_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = ""
    deadline = time.monotonic() + 120
    while "Type 'cont'" not in out and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out += line
    assert "the VM stopped on a DMA violation" in out, out
    assert "VIOLATION free-not-quiesced" in out, out
    assert "target remote 127.0.0.1:" in out and "qmp-user.sock" in out
    # Paused, and it stays paused while nobody answers.
    time.sleep(3)
    assert _status(tmp_path) == "paused"
    assert qemu_processes(str(tmp_path))
    rest, _ = proc.communicate("quit\n", timeout=60)
    assert proc.returncode == 1, out + rest
    assert "stopped on a violation; dmacheck: free-not-quiesced; expected" in rest, rest
    # A paused VM's trace has no END record: dmacheck --stopped-on-violation judges it
    # without trace-incomplete, at the stop and at the end.
    assert "trace-incomplete" not in out + rest
    assert not qemu_processes(str(tmp_path))


def _status(workdir):
    """query-status over the user's QMP socket, as a person debugging would."""
    sock = qemu_cmd.file(workdir, "qmp_user")
    cmds = '{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n'
    out = subprocess.run(["socat", "-t", "2", "-", f"UNIX-CONNECT:{sock}"], input=cmds,
                         capture_output=True, text=True, timeout=20).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if isinstance(msg.get("return"), dict) and "status" in msg["return"]:
            return msg["return"]["status"]
    return out
