"""The seeded e1000e bugs next to the guest's IOMMU (docs/bugs.md): the table in the docs is
the one the scenario files give, every seeded bug has its three scenarios, and a report's
summary.json gives the same table when the run saw what the files expect."""
import json
import re

import pytest

from tracenic import iommu_table, paths, scenario

BUGS_H = paths.TOP / "guest-driver" / "e1000e-seeded" / "tn_e1000e_bugs.h"


def shipped():
    return scenario.load_dir(paths.SCENARIOS)


def test_the_docs_table_is_the_generated_one():
    want = iommu_table.markdown(iommu_table.from_scenarios(shipped()))
    doc = (paths.TOP / "docs" / "bugs.md").read_text()
    assert iommu_table.in_doc(doc) == want, \
        "docs/bugs.md's IOMMU table is stale: paste `harness/tracenic-cli iommu-table` over it"


def test_every_seeded_bug_of_the_real_driver_is_in_the_table():
    names = set(re.findall(r'\] = "([a-z0-9-]+)"', BUGS_H.read_text()))
    rows = {bug for bug, _ in iommu_table.from_scenarios(shipped())}
    assert names and rows == names
    by_name = {s.name: s for s in shipped()}
    for bug in names:
        plain = by_name[f"e1000e-bug-{bug}"]
        assert plain.bugs == (bug,) and plain.source == "seeded" and plain.expect_rules
        assert plain.machine.agent and not plain.machine.iommu
        lazy, strict = (by_name[f"e1000e-bug-{bug}-iommu-{m}"] for m in ("lazy", "strict"))
        assert lazy.machine.iommu and not lazy.machine.iommu_strict
        assert strict.machine.iommu and strict.machine.iommu_strict
        # the same bug, steps and verdict; only what the kernel says may differ
        assert lazy.steps == strict.steps == plain.steps
        assert lazy.expect_rules == strict.expect_rules == plain.expect_rules
        assert not plain.expect_kernel


def test_from_a_report(tmp_path):
    results = [{"name": s.name, "kernel": sorted(s.expect_kernel), "got": sorted(s.expect_rules)}
               for s in shipped()]
    (tmp_path / "summary.json").write_text(json.dumps({"results": results}))
    assert iommu_table.from_report(tmp_path) == iommu_table.from_scenarios(shipped())


def test_a_missing_mode_is_named(tmp_path):
    results = [{"name": "e1000e-bug-x", "kernel": [], "got": ["leak"]},
               {"name": "e1000e-bug-x-iommu-lazy", "kernel": [], "got": ["leak"]}]
    (tmp_path / "summary.json").write_text(json.dumps({"results": results}))
    with pytest.raises(iommu_table.TableError, match="e1000e-bug-x-iommu-strict"):
        iommu_table.from_report(tmp_path)
    with pytest.raises(iommu_table.TableError, match="summary.json"):
        iommu_table.from_report(tmp_path / "nowhere")


def test_cells():
    rows = iommu_table._rows({"e1000e-bug-y": (frozenset(), frozenset({"leak"})),
                              "e1000e-bug-y-iommu-lazy": ({"warning"}, {"leak"}),
                              "e1000e-bug-y-iommu-strict": ({"dmar-fault", "warning"}, set())})
    assert rows == [("y", ["nothing / `leak`", "WARNING / `leak`", "DMAR fault, WARNING / clean"])]
