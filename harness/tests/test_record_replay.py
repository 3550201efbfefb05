"""Record/replay (docs/repro.md): a seeded bug recorded into a bundle, replayed to the same
trace, stopped at the violation's instruction; damaged, foreign and diverging bundles."""
import dataclasses
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import qemu_processes
from tracenic import bundle, qemu_cmd, replay, sweep, tracecmp
from tracenic.scenario import Machine, load

CLI = Path(__file__).resolve().parents[1] / "tracenic-cli"
SCENARIO = "bug-tx-early-unmap"
RULES = ["dma-after-free", "free-not-quiesced"]


def cli(*args, timeout=600, **kw):
    return subprocess.run(["/usr/bin/python3", str(CLI), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kw)


def record(report_dir: Path) -> Path:
    r = cli("run", "--record", "--report-dir", report_dir, SCENARIO)
    assert r.returncode == 0, r.stdout + r.stderr
    b = report_dir / SCENARIO / f"{SCENARIO}{replay.BUNDLE_SUFFIX}"
    assert f"recorded: {b}" in r.stdout, r.stdout
    return b


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    if not qemu_cmd.paths.QEMU.exists():
        pytest.fail("build/qemu is missing: `make test` builds it first")
    return record(tmp_path_factory.mktemp("rec"))


def rewrite(src: Path, dst: Path, change) -> None:
    """Copy bundle @src to @dst with change(members: dict name -> bytes) applied."""
    with tarfile.open(src, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    change(members)
    with tarfile.open(dst, "w:gz", compresslevel=1) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_the_recording_is_a_bundle_of_what_replay_needs(recorded):
    with tarfile.open(recorded, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile(bundle.MANIFEST).read())
    assert names[0] == bundle.MANIFEST
    for member in (bundle.LOG, bundle.KERNEL, bundle.INITRAMFS, bundle.STEPS, bundle.SCENARIO,
                   bundle.TRACE, bundle.DMACHECK_JSON, "tracenic.ko"):
        assert member in names and (member == bundle.SCENARIO or member in manifest["files"])
    assert manifest["qemu"]["binary_sha256"] == bundle.sha256(qemu_cmd.paths.QEMU)
    argv = " ".join(manifest["argv"])
    assert f"-icount {qemu_cmd.RR_ICOUNT},rr=record,rrfile=@LOG@" in argv
    assert f"filter-replay,id=rr0,netdev={qemu_cmd.NETDEV_ID}" in argv
    assert "@RUN@/trace.bin" in argv and "-kernel @KERNEL@" in argv


def test_three_replays_write_the_recorded_trace(recorded, tmp_path):
    r = cli("replay", "--times", "3", "--dir", tmp_path, recorded)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 of 3 replays wrote the recorded trace" in r.stdout, r.stdout
    original = tmp_path / "bundle" / bundle.TRACE
    n = len(tracecmp.Records(original))
    assert n > 500
    for k in (1, 2, 3):
        replayed = tmp_path / f"replay-{k}" / "trace.bin"
        # Checked here again, apart from the command: byte for byte but the wall clock.
        a, b = original.read_bytes(), replayed.read_bytes()
        assert len(a) == len(b)
        assert a[:tracecmp.WALL_CLOCK.start] == b[:tracecmp.WALL_CLOCK.start]
        assert a[tracecmp.WALL_CLOCK.stop:] == b[tracecmp.WALL_CLOCK.stop:]
        report = json.loads((tmp_path / f"replay-{k}" / "dmacheck.json").read_text())
        assert sorted({v["rule"] for v in report["violations"]}) == RULES
        assert f"replay {k}/3: the same trace, {n} records" in r.stdout
    assert not qemu_processes(str(tmp_path))


def test_stop_at_violation_stops_at_its_recorded_instruction(recorded, tmp_path):
    b, s = replay.load(recorded, tmp_path)
    # dmacheck (C) gives the instruction of each violation; tracecmp (Python) reads the
    # trace's ICOUNT records itself; QEMU's query-replay must say the same.
    report = json.loads(b.member(bundle.DMACHECK_JSON).read_text())
    first = report["violations"][0]
    assert first["icount"] == tracecmp.Records(b.member(bundle.TRACE)).icount(first["record"])
    t = replay.target_icount(b, "violation")
    assert t.icount == first["icount"]
    assert t.snapshot_at is not None and t.snapshot_at < t.icount
    seen = {}

    def on_stop(v, icount):
        seen["icount"] = icount
        seen["status"] = v.monitor("query-status")["status"]
        seen["replay"] = v.monitor("query-replay")
        seen["snapshots"] = v.monitor("human-monitor-command",
                                      **{"command-line": "info snapshots"})
        return "quit"

    r = replay.replay(b, s, tmp_path, stop_at=t, on_stop=on_stop)
    assert r.stopped_at == t.icount, r.notes
    assert seen["icount"] == first["icount"]
    assert seen["status"] == "paused"
    assert seen["replay"]["mode"] == "play"
    assert seen["replay"]["icount"] == first["icount"]
    assert replay.SNAPSHOT in seen["snapshots"]     # what reverse execution replays from
    assert not qemu_processes(str(tmp_path))


def test_stop_at_free_and_record_n(recorded, tmp_path):
    b, _ = replay.load(recorded, tmp_path)
    recs = tracecmp.Records(b.member(bundle.TRACE))
    free = replay.target_icount(b, "free", "dma-after-free")
    dma = replay.target_icount(b, "violation", "dma-after-free")
    assert free.icount < dma.icount         # the driver freed, then the device read
    assert "the free of region" in free.said
    assert replay.target_icount(b, "record", "100").icount == recs.icount(100)
    with pytest.raises(replay.ReplayError, match="N must be a record of the trace"):
        replay.target_icount(b, "record", str(len(recs)))
    with pytest.raises(replay.ReplayError, match="no double-free violation"):
        replay.target_icount(b, "violation", "double-free")


def test_a_damaged_bundle_is_refused(recorded, tmp_path):
    cut = tmp_path / "cut.rr.tar.gz"
    data = recorded.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    r = cli("replay", "--dir", tmp_path / "w1", cut)
    assert r.returncode == 2
    assert f"{cut} is damaged: it cannot be read as a gzip'd tar" in r.stderr, r.stderr

    flipped = tmp_path / "flipped.rr.tar.gz"

    def flip(members):
        log = bytearray(members[bundle.LOG])
        log[len(log) // 2] ^= 0x40
        members[bundle.LOG] = bytes(log)
    rewrite(recorded, flipped, flip)
    r = cli("replay", "--dir", tmp_path / "w2", flipped)
    assert r.returncode == 2
    assert (f"{flipped} is damaged: member {bundle.LOG} does not match the SHA-256 its "
            "manifest gives") in r.stderr, r.stderr
    assert not qemu_processes(str(tmp_path))


def test_a_bundle_from_another_qemu_build_is_refused(recorded, tmp_path):
    other = tmp_path / "other.rr.tar.gz"

    def other_build(members):
        m = json.loads(members[bundle.MANIFEST])
        m["qemu"]["binary_sha256"] = "0" * 64
        m["qemu"]["version"] = "QEMU emulator version 7.2.99"
        members[bundle.MANIFEST] = json.dumps(m).encode()
    rewrite(recorded, other, other_build)
    r = cli("replay", "--dir", tmp_path / "w", other)
    assert r.returncode == 2
    assert "cannot be replayed with this QEMU: it was recorded with the QEMU build whose " \
           "binary has SHA-256 0000000000000000… (QEMU emulator version 7.2.99)" in r.stderr
    assert "A replay log is only valid for the build that recorded it" in r.stderr
    assert not (tmp_path / "w" / "replay-1").exists()


def test_a_diverging_replay_is_reported_never_judged(recorded, tmp_path):
    """Another recording's log under this bundle's trace: QEMU replays that other run,
    whose timing differs, so the trace differs; the replay says so and gives no verdict."""
    second = record(tmp_path / "second")
    with tarfile.open(second, "r:gz") as tar:
        log2 = tar.extractfile(bundle.LOG).read()
    mixed = tmp_path / "mixed.rr.tar.gz"

    def swap(members):
        members[bundle.LOG] = log2
        m = json.loads(members[bundle.MANIFEST])
        m["files"][bundle.LOG] = {"size": len(log2),
                                  "sha256": hashlib.sha256(log2).hexdigest()}
        members[bundle.MANIFEST] = json.dumps(m).encode()
    rewrite(recorded, mixed, swap)
    r = cli("replay", "--dir", tmp_path / "w", mixed)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "replay 1/1: DIVERGED, so no verdict: record " in r.stdout, r.stdout
    assert "dmacheck:" not in r.stdout.split("DIVERGED")[1]
    assert "0 of 1 replays wrote the recorded trace; 1 diverged" in r.stdout


def test_trace_diff(recorded, tmp_path):
    b, _ = replay.load(recorded, tmp_path)
    a = b.member(bundle.TRACE)
    same = tmp_path / "same.bin"
    data = bytearray(a.read_bytes())
    data[tracecmp.WALL_CLOCK] = b"\x01" * 8        # another wall clock only
    same.write_bytes(data)
    r = cli("trace-diff", a, same)
    assert r.returncode == 0 and "the same trace" in r.stdout, r.stdout
    k = 300
    off = tracecmp.HEADER_SIZE + k * tracecmp.REC_SIZE
    data[off] ^= 1                                  # record 300's time, one ns
    same.write_bytes(data)
    r = cli("trace-diff", a, same)
    assert r.returncode == 1 and r.stdout.startswith(f"record {k} differs"), r.stdout


def test_record_needs_tcg_and_the_qemu_backend(tmp_path):
    m = Machine()
    rec = qemu_cmd.Record("record", tmp_path / "replay.bin")
    with pytest.raises(ValueError, match="only TCG can"):
        qemu_cmd.qemu_argv(m, tmp_path, "kvm", record=rec)
    argv = qemu_cmd.qemu_argv(m, tmp_path, "tcg", record=rec)
    assert argv[argv.index("-icount") + 1] == f"{qemu_cmd.RR_ICOUNT},rr=record,rrfile={tmp_path}/replay.bin"
    r = cli("run", "--record", "--report-dir", tmp_path / "r", "correct-libvirt-ovmf")
    assert r.returncode != 0 and "--record needs the qemu backend" in r.stderr + r.stdout
    assert shutil.which("qemu-img"), "make deps installs qemu-utils (replay --stop-at)"


def test_the_nightly_records_a_run_whose_verdict_is_unexpected(tmp_path):
    """A scenario expected clean whose driver has a bug: the run fails, is run once more
    under record, and the report links the bundle, which replays to the same trace."""
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    text = (qemu_cmd.paths.SCENARIOS / f"{SCENARIO}.toml").read_text()
    (scenarios / "wrongly-expected-clean.toml").write_text(
        text.replace(f'name = "{SCENARIO}"', 'name = "wrongly-expected-clean"')
            .replace('rules = ["free-not-quiesced", "dma-after-free"]', "rules = []"))
    report_dir = tmp_path / "report"
    r = cli("--scenarios", scenarios, "run", "--report-dir", report_dir)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "wrongly-expected-clean: re-ran under record: the same verdict " \
           "(dma-after-free, free-not-quiesced); replay it to the instruction" in r.stdout
    summary = json.loads((report_dir / "summary.json").read_text())
    rec = summary["results"][0]["recorded"]
    assert rec["same"] and rec["bundle"] == ("wrongly-expected-clean-recorded/"
                                            "wrongly-expected-clean.rr.tar.gz")
    html = (report_dir / "index.html").read_text()
    assert f'<a href="{rec["bundle"]}">record/replay bundle</a>' in html
    r = cli("replay", "--dir", tmp_path / "w", report_dir / rec["bundle"])
    assert r.returncode == 0 and "1 of 1 replays wrote the recorded trace" in r.stdout, r.stdout


def test_a_sweep_schedule_recorded_replays_exactly(tmp_path):
    """A sweep finding re-run under record: the schedule's monitor commands (qom-set of the
    device's timing, set_link) are made with the VM stopped at a known instruction and made
    again there by the replay, so the replay writes the recorded trace."""
    s = load(qemu_cmd.paths.SCENARIOS / "bug-tx-reclaim-past-done.toml")
    events = sweep.schedule(108, 3, s)
    assert {e.do for e in events} >= {"set", "link"}
    finding = {"id": "dma-after-free-0000000000", "scenario": s.name, "seed": 108, "run": 3,
               "fingerprint": {"rule": "dma-after-free", "region": "DMA mapping",
                               "alloc_site": "?", "free_site": "?", "cause": "?"},
               "schedule": [dataclasses.asdict(e) for e in events]}
    (tmp_path / "finding").mkdir()
    (tmp_path / "finding" / "finding.json").write_text(json.dumps(finding))
    r = cli("sweep", "--rerun", tmp_path / "finding", "--record", "--attempts", "1",
            "--dir", tmp_path / "rerun")
    b = tmp_path / "rerun" / "attempt-1" / f"{s.name}{replay.BUNDLE_SUFFIX}"
    assert f"recorded: {b}" in r.stdout, r.stdout + r.stderr
    with tarfile.open(b, "r:gz") as tar:
        monitor = json.loads(tar.extractfile(bundle.MONITOR_EVENTS).read())
    assert {m["command"] for m in monitor} == {"qom-set", "set_link"}
    assert all(isinstance(m["icount"], int) for m in monitor)
    r = cli("replay", "--dir", tmp_path / "w", b)
    assert r.returncode == 0 and "1 of 1 replays wrote the recorded trace" in r.stdout, \
        r.stdout + r.stderr
