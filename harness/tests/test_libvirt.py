"""The libvirt backend: a scenario really runs as a domain on qemu:///system."""
import dataclasses
import xml.etree.ElementTree as ET

from conftest import tracenic_domains
from tracenic import nightly, paths, scenario, verdict


def test_libvirt_scenario_runs_on_qemu_system(built, libvirtd, tmp_path):
    s = scenario.load(paths.SCENARIOS / "correct-libvirt-ovmf.toml", verdict.known_rules())
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
    assert "tracenic,netdev=n0" in (art / "qemu-stderr.log").read_text()
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
