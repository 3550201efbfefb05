"""Fault handling: each failure gives a clear verdict and complete artifacts."""
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tracenic import nightly, verdict
from tracenic.scenario import Scenario


def scenario(name, steps, timeout=60, rules=()):
    return Scenario(name=name, description="", device={}, steps=steps, timeout=timeout,
                    expect_rules=frozenset(rules), firmware="seabios", iommu=False,
                    path=Path(name))


def test_guest_panic_is_reported(tmp_path):
    r = nightly.run_one(scenario("panic", ["load", "panic"]), tmp_path)
    assert not r["ok"] and r["why"].startswith("the guest panicked: "), r["why"]
    art = tmp_path / "panic"
    assert "Kernel panic" in (art / "console.log").read_text(errors="replace")
    # QEMU exited by itself (panic=-1, -no-reboot): the trace was finished.
    assert verdict.check(art / "trace.bin", art).status == 0


def test_guest_hang_times_out_with_a_complete_trace(tmp_path):
    r = nightly.run_one(scenario("hang", ["load", "hang"], timeout=25), tmp_path)
    assert not r["ok"] and r["why"].startswith("the guest hung"), r["why"]
    art = tmp_path / "hang"
    # The harness quit QEMU over QMP, so the device still wrote its END record.
    v = verdict.check(art / "trace.bin", art)
    assert v.status == 0 and "trace-incomplete" not in v.rules
    assert not (art / "qemu.pid").exists() or not _alive(art / "qemu.pid")


def _alive(pidfile):
    try:
        os.kill(int(pidfile.read_text()), 0)
        return True
    except (OSError, ValueError):
        return False


def test_qemu_killed_mid_run(tmp_path):
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
    assert "trace-incomplete" in r["got"]
    assert (art / "console.log").exists() and (art / "dmacheck.txt").exists()


@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tracenic-tiny", str(mnt)],
                   check=True)
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_trace_on_a_full_filesystem(tiny_fs, tmp_path):
    # The artifacts live on the normal disk; only the trace goes to the tiny tmpfs.
    s = scenario("fullfs", ["load", "up", "tx 30 1400", "down", "unload"], timeout=90)
    s.device = {"trace": str(tiny_fs / "trace.bin")}
    r = nightly.run_one(s, tmp_path)
    art = tmp_path / "fullfs"
    v = verdict.check(tiny_fs / "trace.bin", art)
    assert "trace-write-error" in v.rules, v
    assert "No space left on device" in (art / "qemu-stderr.log").read_text()
    assert not r["ok"]
