"""The QEMU command-line builder."""
from pathlib import Path

import pytest

from tracenic import paths, qemu_cmd
from tracenic.scenario import Machine

RUN = Path("/runs/x")


def opt(argv, name):
    """Every value given to option `name`."""
    return [argv[i + 1] for i, a in enumerate(argv) if a == name]


def test_plain_machine():
    argv = qemu_cmd.qemu_argv(Machine(), RUN, "tcg")
    assert argv[0] == str(paths.QEMU)
    assert opt(argv, "-L") == list(paths.FIRMWARE_DIRS)
    assert opt(argv, "-accel") == ["tcg"] and opt(argv, "-m") == ["512"]
    assert "-M" not in argv and "-drive" not in argv and "-no-reboot" in argv
    assert opt(argv, "-append") == ["console=ttyS0 panic=-1 quiet log_buf_len=4M"]
    assert opt(argv, "-device") == [f"tracenic,id=nic0,netdev=n0,trace={RUN}/trace.bin"]
    assert opt(argv, "-netdev") == ["user,id=n0"]
    assert opt(argv, "-serial") == [f"file:{RUN}/console.log", f"file:{RUN}/results.txt"]
    assert opt(argv, "-fw_cfg") == [f"name=opt/tracenic/steps,file={RUN}/steps.txt"]
    assert opt(argv, "-qmp") == [f"unix:{RUN}/qmp.sock,server=on,wait=off"]
    assert opt(argv, "-object") == [f"filter-dump,id=dump0,netdev=n0,file={RUN}/traffic.pcap"]
    assert "-gdb" not in argv


def test_iommu_ovmf_memory_and_no_pcap():
    m = Machine(firmware="ovmf", iommu=True, memory=1024, pcap=False)
    argv = qemu_cmd.qemu_argv(m, RUN, "kvm")
    assert opt(argv, "-M") == ["q35,kernel-irqchip=split"]
    assert "intel-iommu,intremap=on" in opt(argv, "-device")
    assert opt(argv, "-drive") == [
        f"if=pflash,format=raw,readonly=on,file={paths.OVMF_CODE}",
        f"if=pflash,format=raw,file={RUN}/OVMF_VARS.fd"]
    assert opt(argv, "-append")[0].endswith(" intel_iommu=on")
    assert opt(argv, "-accel") == ["kvm"] and opt(argv, "-m") == ["1024"]
    strict = qemu_cmd.qemu_argv(Machine(iommu=True, iommu_strict=True), RUN, "tcg")
    assert opt(strict, "-append")[0].endswith(" intel_iommu=on iommu.strict=1")
    assert "-object" not in argv


def test_device_properties_rx_forward_and_debug():
    m = Machine(device={"rx-dma-delay-ns": 200000, "late-writeback": True,
                        "on-violation": "log", "trace": "/t/x.bin"})
    argv = qemu_cmd.qemu_argv(m, RUN, "tcg", rx_port=40000, debug=qemu_cmd.Debug(1234))
    dev = [d for d in opt(argv, "-device") if d.startswith("tracenic,")][0]
    # The scenario's properties, then repro's stop, which wins over the scenario's "log".
    assert dev == ("tracenic,id=nic0,netdev=n0,trace=/t/x.bin,rx-dma-delay-ns=200000,"
                   "late-writeback=on,on-violation=stop,check=on")
    assert opt(argv, "-netdev") == ["user,id=n0,hostfwd=udp:127.0.0.1:40000-10.0.2.15:9"]
    assert opt(argv, "-gdb") == ["tcp:127.0.0.1:1234"]
    assert f"unix:{RUN}/qmp-user.sock,server=on,wait=off" in opt(argv, "-qmp")


def test_rejects_unresolved_accel_and_commas():
    with pytest.raises(ValueError, match="resolved"):
        qemu_cmd.qemu_argv(Machine(), RUN, "auto")
    with pytest.raises(ValueError, match="cannot contain ','"):
        qemu_cmd.qemu_argv(Machine(device={"mac": "a,b"}), RUN, "tcg")


def test_firmware_checked():
    with pytest.raises(ValueError, match="firmware"):
        qemu_cmd.qemu_argv(Machine(firmware="coreboot"), RUN, "tcg")


def test_e1000e_is_traced_through_the_kit():
    # machine.nic names the traced model; the trace and the scenario's properties go to it.
    m = Machine(nic="e1000e", device={"check": True})
    argv = qemu_cmd.qemu_argv(m, RUN, "tcg")
    assert opt(argv, "-device") == [f"e1000e,id=nic0,netdev=n0,trace={RUN}/trace.bin,check=on"]


def test_agent_puts_the_trace_in_an_object_with_a_ledger_device():
    # The NIC and the agent's tracenic-ledger write one trace; the kit's trace properties
    # (file, size cap, online check) go to the object, the rest stay on the NIC.
    m = Machine(nic="e1000e", agent=True,
                device={"trace-max-bytes": 1 << 30, "check": True, "mac": "52:54:00:00:00:01"})
    argv = qemu_cmd.qemu_argv(m, RUN, "tcg", debug=qemu_cmd.Debug(1234))
    assert [o for o in opt(argv, "-object") if o.startswith("tracenic-trace")] == [
        f"tracenic-trace,id=t0,file={RUN}/trace.bin,"
                                    "max-bytes=1073741824,check=on,on-violation=stop"]
    assert opt(argv, "-device") == ["e1000e,id=nic0,netdev=n0,mac=52:54:00:00:00:01,trace-hub=t0",
                                    "tracenic-ledger,trace-hub=t0"]


def test_a_socket_path_too_long_for_sun_path_moves_to_the_temporary_directory(tmp_path):
    deep = tmp_path / ("x" * 60) / "e1000e-bug-rings-before-disable-iommu-strict"
    qmp = qemu_cmd.file(deep, "qmp")
    assert len(str(qmp)) <= qemu_cmd.SUN_PATH_MAX and qmp.name.endswith("qmp.sock")
    assert qemu_cmd.file(deep, "qmp") == qmp != qemu_cmd.file(deep, "qmp_user")
    assert qemu_cmd.file(deep, "results") == deep / "results.txt"     # files stay put
    assert qemu_cmd.file(RUN, "qmp") == RUN / "qmp.sock"              # short paths too
    argv = qemu_cmd.qemu_argv(Machine(), deep, "tcg")
    assert f"unix:{qmp},server=on,wait=off" in opt(argv, "-qmp")
