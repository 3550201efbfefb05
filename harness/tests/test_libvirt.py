"""The libvirt backend: a scenario really runs as a domain on qemu:///system."""
import dataclasses
import subprocess
import time
import xml.etree.ElementTree as ET

from conftest import tracenic_domains
from tracenic import nightly, paths, scenario


def test_libvirt_scenario_runs_on_qemu_system(built, libvirtd, tmp_path):
    s = scenario.load(paths.SCENARIOS / "correct-libvirt-ovmf.toml")
    assert s.machine.backend == "libvirt"
    before = tracenic_domains()
    r = nightly.run_one(s, tmp_path, libvirt_uri=libvirtd)
    assert r["ok"], r
    assert r["backend"] == "libvirt" and r["got"] == []
    art = tmp_path / s.name
    dom = ET.parse(art / "domain.xml").getroot()
    assert dom.findtext("devices/emulator") == str(paths.QEMU)
    assert dom.find("os/loader").text == str(paths.OVMF_CODE)
    # libvirt started it: its log of the QEMU command line was copied back
    assert "tracenic,id=nic0,netdev=n0" in (art / "qemu-stderr.log").read_text()
    assert (art / "traffic.pcap").stat().st_size > 0
    assert "sent 400 datagrams" in (art / "trafficgen.log").read_text()
    assert tracenic_domains() == before


def test_libvirt_hang_is_ended_gracefully(built, libvirtd, tmp_path):
    s = scenario.Scenario(name="lv-hang", description="", steps=["load", "hang"], timeout=20,
                          machine=scenario.Machine(backend="libvirt", pcap=False),
                          expect_rules=frozenset(), path=tmp_path)
    before = tracenic_domains()
    r = nightly.run_one(dataclasses.replace(s), tmp_path, libvirt_uri=libvirtd)
    assert not r["ok"] and r["why"].startswith("the guest hung"), r
    # SIGTERM through libvirt's graceful destroy: QEMU still finished the trace
    assert "trace-incomplete" not in r["got"]
    assert tracenic_domains() == before


def test_virsh_create_accepts_the_domain_template(built, libvirtd, tmp_path):
    """`tracenic-cli domain-xml` writes a domain (OVMF, the project's QEMU, tracenic through
    qemu:commandline) that plain `virsh create` starts; the guest runs its steps and the
    trace checks clean."""
    cli = paths.HARNESS / "tracenic-cli"
    out = subprocess.run(["/usr/bin/python3", str(cli), "domain-xml", "correct-libvirt-ovmf",
                          "--dir", str(tmp_path)], capture_output=True, text=True, check=True)
    assert "virsh -c qemu:///system create" in out.stdout
    xml = tmp_path / "domain.xml"
    dom = ET.parse(xml).getroot()
    assert dom.find("os/loader").text == str(paths.OVMF_CODE)
    assert dom.findtext("devices/emulator") == str(paths.QEMU)
    assert any(a.get("value", "").startswith("tracenic,")
               for a in dom.iter("{http://libvirt.org/schemas/domain/qemu/1.0}arg"))
    name = dom.findtext("name")
    virsh = ["virsh", "-c", libvirtd]
    subprocess.run(virsh + ["create", str(xml)], check=True, capture_output=True, text=True)
    try:
        deadline = time.monotonic() + 180
        while name in tracenic_domains() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert name not in tracenic_domains(), "the domain did not power off within 180 s"
    finally:
        subprocess.run(virsh + ["destroy", name], capture_output=True)
    results = (tmp_path / "results.txt").read_text()
    assert "TNR done" in results and " fail" not in results, results
    check = subprocess.run([str(paths.DMACHECK), str(tmp_path / "trace.bin")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
