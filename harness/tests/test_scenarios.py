"""Scenario files: the shipped ones load; bad ones fail naming the file and field."""
import json
from pathlib import Path

import pytest

from tracenic import report, scenario, verdict
from tracenic.scenario import ScenarioError

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
RULES = {"dma-after-free", "leak", "free-not-quiesced"}


def test_shipped_scenarios_load_with_real_rule_names():
    loaded = scenario.load_dir(SCENARIOS, verdict.known_rules())
    assert {s.name for s in loaded} >= {"boot-clean", "boot-widened-delays"}


@pytest.mark.parametrize("text, message", [
    ('name = "x"\n', "missing field 'expect'"),
    ('name = "x"\n[expect]\nrules = "leak"\n', "field 'rules' must be list"),
    ('name = "x"\n[expect]\nrules = ["use-after-frees"]\n', "unknown rules ['use-after-frees']"),
    ('[expect]\nrules = []\n', "missing field 'name'"),
    ('name = "x"\n[guest]\nsteps = [1]\n[expect]\nrules = []\n', "'guest.steps' must be a list of strings"),
    ('name = = "x"\n', "not valid TOML"),
    ('name = "x"\n[machine]\nfirmware = "uefi"\n[expect]\nrules = []\n',
     "'machine.firmware' must be"),
    ('name = "x"\n[machine]\niommu = "yes"\n[expect]\nrules = []\n', "field 'iommu' must be bool"),
])
def test_bad_scenarios_name_file_and_field(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as e:
        scenario.load(f, RULES)
    assert str(f) in str(e.value) and message in str(e.value)


def test_duplicate_names_rejected(tmp_path):
    for n in ("a", "b"):
        (tmp_path / f"{n}.toml").write_text('name = "same"\n[expect]\nrules = []\n')
    with pytest.raises(ScenarioError, match="used twice"):
        scenario.load_dir(tmp_path, RULES)


def test_report_files(tmp_path):
    results = [
        {"name": "ok-one", "ok": True, "why": "", "expected": [], "got": [], "seconds": 1.0},
        {"name": "bad<one>", "ok": False, "why": "expected clean, got ['leak']",
         "expected": [], "got": ["leak"], "seconds": 2.5},
    ]
    report.write(tmp_path, results, {"accel": "tcg"})
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["passed"] == 1 and summary["failed"] == 1
    junit = (tmp_path / "junit.xml").read_text()
    assert 'tests="2" failures="1"' in junit and "<failure message=" in junit
    assert "bad&lt;one&gt;" in (tmp_path / "index.html").read_text()
