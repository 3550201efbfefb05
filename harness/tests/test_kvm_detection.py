"""What the harness concludes from /dev/kvm: the KVM probe runs once per host boot and
QEMU build, and a /dev/kvm that makes libvirt re-probe QEMU at every start is named."""
import grp
import json
import os
import types

import pytest

from tracenic import vm
from tracenic.vm import accel, libvirt


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """pick_accel() with its cache in tmp_path, /dev/kvm usable and a fake probe boot;
    .works says whether that boot succeeds, .boots lists the probe boots' timeouts."""
    state = types.SimpleNamespace(works=False, boots=[])

    def fake_run_vm(machine, steps, workdir, timeout, accel):
        state.boots.append(timeout)
        return types.SimpleNamespace(completed=state.works, exit_code=0)

    monkeypatch.setattr(accel, "ACCEL_CACHE", tmp_path / "accel-probe.json")
    monkeypatch.setattr(vm, "run_vm", fake_run_vm)      # the probe boots through vm.run_vm
    monkeypatch.setattr(accel.os, "access", lambda path, mode: path == "/dev/kvm")
    monkeypatch.setattr(accel, "_accel_cache", {})
    return state


def fresh_process():
    accel._accel_cache.clear()


def test_probe_verdict_is_kept_across_processes(probe, tmp_path):
    assert vm.pick_accel(tmp_path) == "tcg"
    assert probe.boots == [accel.KVM_PROBE_SECONDS]
    fresh_process()
    assert vm.pick_accel(tmp_path) == "tcg"
    assert len(probe.boots) == 1, "a second process probed again despite the saved verdict"


def test_working_kvm_is_found_and_kept(probe, tmp_path):
    probe.works = True
    assert vm.pick_accel(tmp_path) == "kvm"
    fresh_process()
    assert vm.pick_accel(tmp_path) == "kvm" and len(probe.boots) == 1


def test_verdict_from_another_boot_or_qemu_build_is_ignored(probe, tmp_path, monkeypatch):
    accel.ACCEL_CACHE.write_text(json.dumps({"key": {"boot_id": "an earlier boot", "qemu": None},
                                          "accel": "kvm"}))
    assert vm.pick_accel(tmp_path) == "tcg" and len(probe.boots) == 1
    fresh_process()
    monkeypatch.setattr(accel, "_probe_key", lambda: {"boot_id": "x", "qemu": [1, 2]})
    assert vm.pick_accel(tmp_path) == "tcg" and len(probe.boots) == 2


def test_unreadable_cache_means_probing(probe, tmp_path):
    accel.ACCEL_CACHE.write_text("{not json")
    assert vm.pick_accel(tmp_path) == "tcg" and len(probe.boots) == 1
    assert json.loads(accel.ACCEL_CACHE.read_text())["accel"] == "tcg"


@pytest.mark.parametrize("mode, group, slow", [
    (0o600, "root", True),      # containers without udev: libvirt re-probes every start
    (0o660, "kvm", False),      # what udev sets up
    (0o660, "root", True),
    (0o666, "root", False),
])
def test_libvirt_reprobe_note(monkeypatch, mode, group, slow):
    kvm = grp.getgrnam("kvm").gr_gid
    gid = kvm if group == "kvm" else 0
    real_stat = os.stat

    def fake_stat(path, *a, **kw):
        if path == "/dev/kvm":
            return types.SimpleNamespace(st_mode=0o20000 | mode, st_gid=gid)
        return real_stat(path, *a, **kw)

    monkeypatch.setattr(libvirt.os, "stat", fake_stat)
    note = libvirt.libvirt_kvm_note("qemu:///system")
    assert bool(note) == slow, note
    if slow:
        assert "chmod 0660 /dev/kvm" in note
    assert libvirt.libvirt_kvm_note("qemu+ssh://lab-host/system") == ""
