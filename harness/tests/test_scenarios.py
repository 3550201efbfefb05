"""Scenario files: the shipped ones load; bad ones fail naming the file and the field."""
import re
import subprocess

import pytest

from tracenic import contract, paths, scenario
from tracenic.scenario import ScenarioError

RULES = {"dma-after-free", "leak", "free-not-quiesced", "double-free"}
GOOD = 'name = "x"\n[expect]\nrules = []\n'


def test_shipped_matrix_covers_the_issue(built):
    loaded = scenario.load_dir(paths.SCENARIOS)
    correct = [s for s in loaded if s.name.startswith("correct-")]
    # the correct driver: clean, on both firmwares, with and without the IOMMU, on both backends
    assert all(not s.expect_rules for s in correct)
    combos = {(s.machine.firmware, s.machine.iommu) for s in correct}
    assert combos >= {("seabios", False), ("seabios", True), ("ovmf", False), ("ovmf", True)}
    assert {s.machine.backend for s in loaded} == {"qemu", "libvirt"}
    # every free path under host RX traffic, and widened delays
    steps = {w.split()[0] for s in correct for w in s.steps}
    assert steps >= {"rx", "mtu", "rings", "reset", "down", "up", "unload"}
    assert any(s.device.get("rx-dma-delay-ns") for s in correct)
    # one scenario per seeded bug mode (docs/bugs.md), each expecting rules
    modes = set()
    for line in (paths.TOP / "docs" / "bugs.md").read_text().splitlines():
        if line.startswith("| `"):
            modes.add(line.split("`")[1])
    covered = {b for s in loaded for b in s.bugs}
    assert modes and modes <= covered, f"bug modes without a scenario: {modes - covered}"
    # a seeded bug expects its rules, or is timing-only: a plain run clean, a sweep finds it
    assert all(s.expect_rules or s.expect_sweep for s in loaded if s.bugs)
    timing = [s for s in loaded if s.expect_sweep]
    assert len(timing) >= 2 and all(not s.expect_rules and not s.device for s in timing)
    # caught without the late DMA, and the DMA-after-free itself with widened delays
    assert any(s.expect_rules == {"free-not-quiesced"} for s in loaded if s.bugs)
    assert any("dma-after-free" in s.expect_rules and s.device for s in loaded if s.bugs)
    # Debian's unmodified e1000e on the traced e1000e: up, ping, host RX flood, unload, with
    # DMA on every path, references taken and dropped, no ledger (issue 17); and its twin that
    # never unloads, which must end with references held
    e1000e = [s for s in loaded if s.machine.nic == "e1000e" and not s.machine.agent]
    full = [s for s in e1000e if {"up", "ping", "rx", "unload"} <= {w.split()[0] for w in s.steps}]
    assert full and all(not s.expect_ledger and s.expect_refs and not s.expect_rules and
                        len(s.expect_dma) == 6 for s in full)
    assert any(s.expect_rules == {"ref-held-at-end"} for s in e1000e)
    # The same driver with the DMA-API agent (issue 18): a ledger, every rule applied, clean
    agent = [s for s in loaded if s.machine.agent]
    assert any(s.expect_ledger and not s.expect_rules and s.steps[0] == "agent" and
               {"rx", "unload"} <= {w.split()[0] for w in s.steps} for s in agent)
    # ... through every free path, without an IOMMU and with intel-iommu lazy and strict
    free_paths = {"down", "up", "mtu", "rings", "reset", "rebind", "unload", "rx", "tx"}
    clean = [s for s in agent if s.source == "debian" and not s.expect_rules and
             free_paths <= {w.split()[0] for w in s.steps}]
    assert {(s.machine.iommu, s.machine.iommu_strict) for s in clean} == \
        {(False, False), (True, False), (True, True)}
    assert all(not s.expect_kernel for s in clean)
    # the seeded build with no bug on: the near-miss twin of every e1000e-bug-*
    assert any(s.source == "seeded" and not s.bugs and not s.expect_rules and
               free_paths <= {w.split()[0] for w in s.steps} for s in agent)


def test_seeded_bug_names_are_the_drivers():
    """Every scenario's driver.bugs names a mode of the driver it loads."""
    def names(header):
        return set(re.findall(r'\] = "([a-z0-9-]+)"', (paths.TOP / "guest-driver" / header)
                              .read_text()))
    tracenic, seeded = names("tnm_bugs.h"), names("e1000e-seeded/tn_e1000e_bugs.h")
    assert tracenic and seeded
    for s in scenario.load_dir(paths.SCENARIOS):
        assert set(s.bugs) <= (seeded if s.source == "seeded" else tracenic), s.name
    # and docs/bugs.md has a row for each
    rows = {line.split("`")[1] for line in (paths.TOP / "docs" / "bugs.md").read_text()
            .splitlines() if line.startswith("| `")}
    assert tracenic | seeded <= rows


def test_driver_table_becomes_load_parameters(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('name = "x"\n[driver]\nbugs = ["a", "b"]\nparams = { tx_ring = 64 }\n'
                 '[guest]\nsteps = ["load", "up", "load debug=1", "rx 10 100"]\n'
                 '[expect]\nrules = ["leak"]\n')
    s = scenario.load(f, RULES)
    assert s.steps == ["load bugs=a,b tx_ring=64", "up", "load debug=1", "rx 10 100"]
    assert s.bugs == ("a", "b")


def test_e1000e_loads_debians_driver(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('name = "x"\n[machine]\nnic = "e1000e"\n[driver]\nparams = { debug = 2 }\n'
                 '[guest]\nsteps = ["load", "up", "mtu 9000", "unload"]\n'
                 '[expect]\nrules = []\nledger = false\ndma = ["rx-buf-write"]\nrefs = true\n')
    s = scenario.load(f, RULES)
    assert s.machine.nic == "e1000e"
    assert s.steps == ["load driver=e1000e debug=2", "up", "mtu 9000", "unload"]
    assert (s.expect_ledger, s.expect_dma, s.expect_refs) == (False, ("rx-buf-write",), True)


def test_seeded_source_iommu_modes_and_kernel(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('name = "x"\n[machine]\nnic = "e1000e"\nagent = true\niommu = "strict"\n'
                 '[driver]\nsource = "seeded"\nbugs = ["double-unmap"]\n'
                 '[guest]\nsteps = ["agent", "load", "rebind", "dmabench 10", "unload"]\n'
                 '[expect]\nrules = ["leak"]\nkernel = ["warning"]\n')
    s = scenario.load(f, RULES)
    assert s.steps[1] == "load driver=e1000e source=seeded bugs=double-unmap"
    assert (s.machine.iommu, s.machine.iommu_strict) == (True, True)
    assert s.expect_kernel == {"warning"} and s.source == "seeded"
    f.write_text(f.read_text().replace('"strict"', 'true'))
    s = scenario.load(f, RULES)
    assert (s.machine.iommu, s.machine.iommu_strict) == (True, False)


def test_defaults(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(GOOD)
    s = scenario.load(f, RULES)
    m = s.machine
    assert (m.nic, m.backend, m.firmware, m.iommu, m.accel, m.memory, m.pcap) == \
        ("tracenic", "qemu", "seabios", False, "auto", 512, True)
    assert (s.expect_ledger, s.expect_dma, s.expect_refs) == (True, (), False)
    assert s.steps == [] and s.timeout == 60 and s.expect_rules == frozenset()


@pytest.mark.parametrize("text, message", [
    ('name = "x"\n[machine]\nnic = "igb"\n[expect]\nrules = []\n',
     "field 'machine.nic' must be one of 'tracenic', 'e1000e', not 'igb'"),
    ('name = "x"\n[machine]\nnic = "e1000e"\n[driver]\nbugs = ["no-disable"]\n'
     '[expect]\nrules = []\n', "runs Debian's e1000e driver, which has none; set driver.source"),
    ('name = "x"\n[driver]\nsource = "seeded"\n[expect]\nrules = []\n',
     "machine.nic = 'tracenic' always runs tracenic.ko"),
    ('name = "x"\n[machine]\nnic = "e1000e"\n[driver]\nsource = "git"\n[expect]\nrules = []\n',
     "field 'driver.source' must be one of 'debian', 'seeded', not 'git'"),
    ('name = "x"\n[driver]\nbug = ["x"]\n[expect]\nrules = []\n', "unknown field 'driver.bug'"),
    ('name = "x"\n[expect]\nrules = []\nkernel = ["panic"]\n',
     "field 'expect.kernel' names ['panic']"),
    ('name = "x"\n[expect]\nrules = []\ndma = ["tx-buffer"]\n',
     "field 'expect.dma' names unknown DMA causes ['tx-buffer']"),
    ('name = "x"\n[expect]\nrules = []\nrefs = 1\n', "field 'expect.refs' must be true or false"),
    ('name = "x"\n', "missing field 'expect'"),
    ('name = "x"\n[expect]\nrules = "leak"\n', "field 'expect.rules' must be a list"),
    ('name = "x"\n[expect]\nrules = ["use-after-frees"]\n', "unknown rules ['use-after-frees']"),
    ('[expect]\nrules = []\n', "missing field 'name'"),
    ('name = "a b"\n[expect]\nrules = []\n', "field 'name' must be letters"),
    ('name = "x"\n[guest]\nsteps = [1]\n[expect]\nrules = []\n',
     "'guest.steps' must be a list of strings"),
    ('name = "x"\n[guest]\nsteps = ["up", "fly 3"]\n[expect]\nrules = []\n',
     "field 'guest.steps[1]' ('fly 3'): unknown step 'fly'"),
    ('name = "x"\n[guest]\nsteps = ["mtu"]\n[expect]\nrules = []\n',
     "'mtu' takes 1..1 arguments, not 0"),
    ('name = "x"\n[guest]\nsteps = ["rx many 10"]\n[expect]\nrules = []\n',
     "'rx' takes whole numbers"),
    ('name = "x"\n[guest]\nsteps = ["load bugs"]\n[expect]\nrules = []\n',
     "load takes param=value words"),
    ('name = "x"\n[guest]\ntimeout = 1\n[expect]\nrules = []\n', "field 'guest.timeout'"),
    ('name = "x"\n[guest]\nsetps = []\n[expect]\nrules = []\n', "unknown field 'guest.setps'"),
    ('name = = "x"\n', "not valid TOML"),
    ('name = "x"\n[machine]\nfirmware = "uefi"\n[expect]\nrules = []\n',
     "field 'machine.firmware' must be one of 'seabios', 'ovmf', not 'uefi'"),
    ('name = "x"\n[machine]\nbackend = "xen"\n[expect]\nrules = []\n', "'machine.backend'"),
    ('name = "x"\n[machine]\naccel = "hvf"\n[expect]\nrules = []\n', "'machine.accel'"),
    ('name = "x"\n[machine]\niommu = "yes"\n[expect]\nrules = []\n',
     "field 'machine.iommu' must be true or false, or one of 'lazy', 'strict', not 'yes'"),
    ('name = "x"\n[machine]\nmemory = true\n[expect]\nrules = []\n',
     "field 'machine.memory' must be an integer"),
    ('name = "x"\n[machine]\nmemory = 16\n[expect]\nrules = []\n', "'machine.memory' is in MiB"),
    ('name = "x"\n[device]\nprefetch = [1]\n[expect]\nrules = []\n', "field 'device.prefetch'"),
    ('name = "x"\n[driver]\nbugs = "leak"\n[expect]\nrules = []\n', "field 'driver.bugs'"),
    ('name = "x"\n[driver]\nparams = { a = 1.5 }\n[expect]\nrules = []\n',
     "field 'driver.params.a'"),
    ('name = "x"\n[expect]\nrules = []\nrule = []\n', "unknown field 'expect.rule'"),
    ('name = "x"\n[expectations]\n', "unknown field 'expectations'"),
])
def test_bad_scenarios_name_file_and_field(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as e:
        scenario.load(f, RULES)
    assert str(e.value).startswith(f"{f}: ") and message in str(e.value), str(e.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the file"):
        scenario.load(tmp_path / "nope.toml", RULES)


def test_duplicate_names_rejected(tmp_path):
    for n in ("a", "b"):
        (tmp_path / f"{n}.toml").write_text('name = "same"\n[expect]\nrules = []\n')
    with pytest.raises(ScenarioError, match="used twice"):
        scenario.load_dir(tmp_path, RULES)


def test_empty_directory_rejected(tmp_path):
    with pytest.raises(ScenarioError, match="no scenario files"):
        scenario.load_dir(tmp_path, RULES)


def test_file_names_match_scenario_names(built):
    for s in scenario.load_dir(paths.SCENARIOS):
        assert s.name == s.path.stem, f"{s.path}: the file name and 'name' should agree"


def test_scenario_rules_are_dmacheck_rules(built):
    """Scenario files are checked against rules.h; dmacheck lists the same rules, in the
    same words, so what a scenario expects is what dmacheck can report."""
    out = subprocess.run([str(paths.DMACHECK), "--list-rules"], capture_output=True, text=True,
                         check=True).stdout
    listed = {ln.split(None, 1)[0]: ln.split(None, 1)[1].strip()
              for ln in out.splitlines() if ln.strip()}
    assert listed == contract.rules()


@pytest.mark.parametrize("machine, steps, why", [
    ("", '["agent", "load"]', "set machine.agent = true"),
    ("agent = true", '["load", "agent"]', "'agent' must come before the first 'load'"),
    ("agent = true", '["agent 1", "load"]', "'agent' takes 0..0 arguments"),
    ("agent = 1", '["agent", "load"]', "'machine.agent' must be true or false"),
])
def test_agent_step_needs_the_ledger_device_and_comes_first(tmp_path, machine, steps, why):
    f = tmp_path / "s.toml"
    f.write_text(f'name = "x"\n[machine]\nnic = "e1000e"\n{machine}\n'
                 f'[guest]\nsteps = {steps}\n[expect]\nrules = []\n')
    with pytest.raises(scenario.ScenarioError, match=re.escape(why)):
        scenario.load(f, RULES)


def test_agent_machine(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('name = "x"\n[machine]\nnic = "e1000e"\nagent = true\n'
                 '[guest]\nsteps = ["agent", "load", "up"]\n[expect]\nrules = []\n')
    s = scenario.load(f, RULES)
    assert s.machine.agent and s.steps == ["agent", "load driver=e1000e", "up"]
