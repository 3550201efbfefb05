"""The same machine as qemu_cmd.py, as a transient libvirt domain (pure: returns XML text).

libvirt owns the monitor, the serial ports, the firmware and the kernel;
what libvirt has no element for (the tracenic device, its slirp netdev with
the RX forward, the filter-dump, fw_cfg, the firmware search path of the
project's QEMU) goes through <qemu:commandline>.  The domain runs as the
given DAC label (default: the harness's own uid:gid) so QEMU can write the
trace into the run directory.
"""
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from . import paths, qemu_cmd
from .scenario import Machine

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"


def default_dac_label() -> str:
    return f"+{os.getuid()}:+{os.getgid()}"


def _sub(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        el.text = str(text)
    return el


def domain_xml(name: str, machine: Machine, workdir: Path, accel: str,
               rx_port: int | None = None, dac_label: str | None = None,
               debug: qemu_cmd.Debug | None = None) -> str:
    if accel not in ("kvm", "tcg"):
        raise ValueError(f"accel must be resolved to 'kvm' or 'tcg' first, not {accel!r}")
    ET.register_namespace("qemu", QEMU_NS)
    dom = ET.Element("domain", {"type": "kvm" if accel == "kvm" else "qemu"})
    _sub(dom, "name", name)
    _sub(dom, "description", f"tracenic run in {workdir}")
    _sub(dom, "memory", machine.memory, unit="MiB")
    _sub(dom, "vcpu", 1)

    os_el = _sub(dom, "os")
    _sub(os_el, "type", "hvm", arch="x86_64", machine="q35" if machine.iommu else "pc")
    if machine.firmware == "ovmf":
        _sub(os_el, "loader", paths.OVMF_CODE, readonly="yes", type="pflash")
        _sub(os_el, "nvram", qemu_cmd.file(workdir, "ovmf_vars"))
    _sub(os_el, "kernel", paths.KERNEL)
    _sub(os_el, "initrd", paths.INITRAMFS)
    _sub(os_el, "cmdline", qemu_cmd.kernel_append(machine))

    features = _sub(dom, "features")
    _sub(features, "acpi")           # without it the guest's power-off only halts
    _sub(features, "apic")
    if machine.iommu:
        _sub(features, "ioapic", driver="qemu")   # intremap needs a split irqchip
    for event in ("on_poweroff", "on_reboot", "on_crash"):
        _sub(dom, event, "destroy")
    sec = _sub(dom, "seclabel", type="static", model="dac", relabel="yes")
    _sub(sec, "label", dac_label or default_dac_label())

    dev = _sub(dom, "devices")
    _sub(dev, "emulator", paths.QEMU)
    for port, what in ((0, "console"), (1, "results")):
        serial = _sub(dev, "serial", type="file")
        _sub(serial, "source", path=str(qemu_cmd.file(workdir, what)))
        _sub(serial, "target", port=str(port))
    if machine.iommu:
        iommu = _sub(dev, "iommu", model="intel")
        _sub(iommu, "driver", intremap="on")
    _sub(dev, "memballoon", model="none")

    args = qemu_cmd.firmware_dirs()
    args += ["-netdev", qemu_cmd.netdev_arg(rx_port)]
    args += qemu_cmd.device_args(machine, workdir, debug)
    args += qemu_cmd.pcap_object(machine, workdir)
    args += ["-fw_cfg", f"name=opt/tracenic/steps,file={qemu_cmd.file(workdir, 'steps')}"]
    if debug:
        args += ["-gdb", f"tcp:127.0.0.1:{debug.gdb_port}"]
    cl = _sub(dom, f"{{{QEMU_NS}}}commandline")
    for a in args:
        _sub(cl, f"{{{QEMU_NS}}}arg", value=a)
    ET.indent(dom)
    return ET.tostring(dom, encoding="unicode") + "\n"


def commandline_args(xml_text: str) -> list[str]:
    """The <qemu:arg> values of a domain, in order (for tests and the report)."""
    root = ET.fromstring(xml_text)
    return [a.get("value") for a in root.iter(f"{{{QEMU_NS}}}arg")]
