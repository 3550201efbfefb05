"""Fault handling: each failure gives a clear verdict and complete artifacts, and no
QEMU process or libvirt domain outlives the run, even on Ctrl-C."""
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import qemu_processes, tracenic_domains
from tracenic import nightly, verdict
from tracenic.scenario import Machine, Scenario

CLI = Path(__file__).resolve().parents[1] / "tracenic-cli"
ARTIFACTS = ("console.log", "results.txt", "qemu-stderr.log", "dmacheck.txt", "steps.txt")


def scenario(name, steps, timeout=60, rules=(), **machine):
    return Scenario(name=name, description="fault test", machine=Machine(**machine),
                    steps=steps, timeout=timeout, expect_rules=frozenset(rules),
                    path=Path(name))


def assert_artifacts(art):
    for f in ARTIFACTS:
        assert (art / f).exists(), f"{art / f} missing"


def test_guest_panic_is_reported(built, tmp_path):
    r = nightly.run_one(scenario("panic", ["load", "panic"]), tmp_path)
    assert not r["ok"] and r["why"].startswith("the guest panicked: "), r["why"]
    art = tmp_path / "panic"
    assert_artifacts(art)
    assert "Kernel panic" in (art / "console.log").read_text(errors="replace")
    # QEMU exited by itself (panic=-1, -no-reboot): the trace was finished.
    assert verdict.check(art / "trace.bin", art).status == 0
    assert not qemu_processes(str(tmp_path))


def test_guest_hang_times_out_with_a_complete_trace(built, tmp_path):
    start = time.monotonic()
    r = nightly.run_one(scenario("hang", ["load", "hang"], timeout=25), tmp_path)
    assert time.monotonic() - start < 25 + 15, "the hard timeout did not hold"
    assert not r["ok"] and r["why"].startswith("the guest hung: no power-off within 25 s"), r
    art = tmp_path / "hang"
    assert_artifacts(art)
    # The harness quit QEMU over QMP, so the device still wrote its END record.
    v = verdict.check(art / "trace.bin", art)
    assert v.status == 0 and "trace-incomplete" not in v.rules
    assert not qemu_processes(str(tmp_path))


def test_qemu_killed_mid_run(built, tmp_path):
    art = tmp_path / "killed"

    def killer():
        pidfile = art / "qemu.pid"
        for _ in range(300):
            if pidfile.exists() and pidfile.read_text().strip():
                time.sleep(4)
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
                return
            time.sleep(0.1)

    t = threading.Thread(target=killer)
    t.start()
    r = nightly.run_one(scenario("killed", ["load", "up", "sleep 30000"]), tmp_path)
    t.join()
    assert not r["ok"] and r["why"].startswith("QEMU died before the scenario finished"), r
    assert "exit status -9" in r["why"]
    assert "trace-incomplete" in r["got"]
    assert_artifacts(art)


@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tracenic-tiny", str(mnt)],
                   check=True)
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_trace_on_a_full_filesystem(built, tiny_fs, tmp_path):
    # The artifacts live on the normal disk; only the trace goes to the tiny tmpfs.
    s = scenario("fullfs", ["load", "up", "tx 30 1400", "down", "unload"], timeout=90,
                 device={"trace": str(tiny_fs / "trace.bin")})
    r = nightly.run_one(s, tmp_path)
    art = tmp_path / "fullfs"
    assert_artifacts(art)
    assert not r["ok"] and "trace-write-error" in r["got"], r
    assert "trace-write-error" in r["why"]
    assert "No space left on device" in (art / "qemu-stderr.log").read_text()


def _interrupt_cli(tmp_path, extra, marker_file):
    """Start `tracenic-cli run`, Ctrl-C it once the VM runs, return (rc, output).

    The CLI starts with SIGINT's default action, as from a terminal: a test run in the
    background (`make test &` in a script) ignores SIGINT, which its children inherit,
    and Python then never raises KeyboardInterrupt (a clean-clone run measured it)."""
    proc = subprocess.Popen(["/usr/bin/python3", str(CLI), "run", "--report-dir",
                             str(tmp_path), "boot-clean"] + extra,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for _ in range(600):
        if (tmp_path / "boot-clean" / marker_file).exists():
            break
        time.sleep(0.1)
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def test_ctrl_c_leaves_no_qemu(built, tmp_path):
    rc, out = _interrupt_cli(tmp_path, [], "qemu.pid")
    assert rc == 130 and "interrupted; ended 1 running VM(s)" in out, out
    assert not qemu_processes(str(tmp_path))


def test_ctrl_c_leaves_no_libvirt_domain(built, libvirtd, tmp_path):
    before = tracenic_domains()
    rc, out = _interrupt_cli(tmp_path, ["--backend", "libvirt"], "domain.xml")
    assert rc == 130, out
    time.sleep(1)
    assert tracenic_domains() == before
    assert not qemu_processes(str(tmp_path))


def _verdict(report):
    return verdict.Verdict(0, frozenset(report.get("rules", {})), report, "")


def test_activity_is_checked_from_dmacheck_stats():
    # What the scenario made the device do, from dmacheck's JSON only.
    stats = {"dma_records_by_cause": {"rx-buf-write": 3, "tx-buf-read": 0},
             "refs_taken": 4, "refs_dropped": 4}
    unjudged = _verdict({"verdict": "unjudged", "unjudged_dma": 3, "ledger": False,
                         "stats": stats})
    assert verdict.activity(unjudged, ledger=False, dma=("rx-buf-write",), refs=True) == ""
    assert verdict.said([], "unjudged") == "unjudged (no ledger)"
    assert "no DMA record of tx-buf-read (dmacheck counted rx-buf-write 3)" in \
        verdict.activity(unjudged, ledger=False, dma=("rx-buf-write", "tx-buf-read"))
    # A scenario that needs a ledger must not pass as clean when none came.
    assert "applied no allocation rule to 3 DMA accesses" in verdict.activity(unjudged)
    assert "took 4 and dropped 0" in verdict.activity(
        _verdict({"stats": dict(stats, refs_dropped=0), "ledger": True}), refs=True)
    judged = _verdict({"verdict": "clean", "stats": stats})
    assert verdict.activity(judged) == ""
    assert "saw no DMA" in verdict.activity(judged, ledger=False)
