"""The libvirt domain XML builder."""
import xml.etree.ElementTree as ET
from pathlib import Path

from tracenic import libvirt_xml, paths
from tracenic.scenario import Machine

RUN = Path("/runs/x")


def build(machine, **kw):
    text = libvirt_xml.domain_xml("tracenic-x-1", machine, RUN, kw.pop("accel", "tcg"), **kw)
    return text, ET.fromstring(text)


def test_plain_domain():
    text, dom = build(Machine())
    assert dom.get("type") == "qemu" and dom.findtext("name") == "tracenic-x-1"
    assert dom.find("memory").get("unit") == "MiB" and dom.findtext("memory") == "512"
    assert dom.find("os/type").get("machine") == "pc"
    assert dom.find("os/loader") is None
    assert dom.findtext("os/kernel") == str(paths.KERNEL)
    assert dom.findtext("os/initrd") == str(paths.INITRAMFS)
    assert dom.findtext("os/cmdline") == "console=ttyS0 panic=-1 quiet log_buf_len=4M"
    assert dom.find("features/acpi") is not None
    assert [dom.findtext(e) for e in ("on_poweroff", "on_reboot", "on_crash")] == ["destroy"] * 3
    assert dom.findtext("devices/emulator") == str(paths.QEMU)
    serials = [(s.find("target").get("port"), s.find("source").get("path"))
               for s in dom.findall("devices/serial")]
    assert serials == [("0", f"{RUN}/console.log"), ("1", f"{RUN}/results.txt")]
    assert dom.find("devices/iommu") is None
    label = dom.find("seclabel")
    assert label.get("model") == "dac" and label.findtext("label") == \
        libvirt_xml.default_dac_label()
    args = libvirt_xml.commandline_args(text)
    assert args[:6] == ["-L", paths.FIRMWARE_DIRS[0], "-L", paths.FIRMWARE_DIRS[1],
                        "-L", paths.FIRMWARE_DIRS[2]]
    pairs = dict(zip(args[6::2], args[7::2]))
    assert pairs["-device"] == f"tracenic,id=nic0,netdev=n0,trace={RUN}/trace.bin"
    assert pairs["-netdev"] == "user,id=n0"
    assert pairs["-fw_cfg"] == f"name=opt/tracenic/steps,file={RUN}/steps.txt"
    assert pairs["-object"].startswith("filter-dump,")
    assert 'xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"' in text


def test_ovmf_iommu_kvm_rx_forward_label():
    m = Machine(firmware="ovmf", iommu=True, memory=768, device={"prefetch": 16})
    text, dom = build(m, accel="kvm", rx_port=4321, dac_label="+107:+107")
    assert dom.get("type") == "kvm" and dom.findtext("memory") == "768"
    assert dom.find("os/type").get("machine") == "q35"
    loader = dom.find("os/loader")
    assert loader.text == str(paths.OVMF_CODE) and loader.get("type") == "pflash"
    assert dom.findtext("os/nvram") == f"{RUN}/OVMF_VARS.fd"
    assert dom.find("devices/iommu").get("model") == "intel"
    assert dom.find("devices/iommu/driver").get("intremap") == "on"
    assert dom.find("features/ioapic").get("driver") == "qemu"
    assert dom.findtext("os/cmdline").endswith("intel_iommu=on")
    assert dom.find("seclabel").findtext("label") == "+107:+107"
    args = libvirt_xml.commandline_args(text)
    assert "user,id=n0,hostfwd=udp:127.0.0.1:4321-10.0.2.15:9" in args
    assert f"tracenic,id=nic0,netdev=n0,trace={RUN}/trace.bin,prefetch=16" in args
