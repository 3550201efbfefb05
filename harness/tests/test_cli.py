"""tracenic-cli: list, shards, check, argument errors."""
import subprocess
from pathlib import Path

import pytest

from tracenic import cli, paths

CLI = Path(__file__).resolve().parents[1] / "tracenic-cli"


def run(*args, **kw):
    return subprocess.run(["/usr/bin/python3", str(CLI), *args], capture_output=True,
                          text=True, timeout=60, **kw)


def test_shards_split_the_matrix_exactly():
    items = list(range(11))
    parts = [cli.shard(items, f"{i}/3") for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == items and all(parts)
    assert cli.shard(items, "1/1") == items
    for bad in ("0/3", "4/3", "x", "1-2"):
        with pytest.raises(SystemExit):
            cli.shard(items, bad)


def test_list_and_list_shards(built):
    full = run("list")
    assert full.returncode == 0, full.stderr
    names = [ln.split()[0] for ln in full.stdout.splitlines()]
    assert "correct-free-paths" in names and "bug-no-quiesce-poll" in names
    shards = [run("list", "--shard", f"{i}/2").stdout.split("\n") for i in (1, 2)]
    got = sorted(ln.split()[0] for part in shards for ln in part if ln)
    assert got == sorted(names)


def test_module_entry_point_is_the_cli(built):
    r = subprocess.run(["/usr/bin/python3", "-m", "tracenic", "list"], capture_output=True,
                       text=True, cwd=paths.HARNESS, timeout=60)
    assert r.returncode == 0 and r.stdout == run("list").stdout


def test_check_exit_status(built, tmp_path):
    bad = tmp_path / "not-a-trace.bin"
    bad.write_bytes(b"x" * 200)
    assert run("check", str(bad)).returncode == 2


def test_unknown_scenario_is_a_clear_error(built):
    r = run("run", "no-such-scenario")
    assert r.returncode != 0 and "no scenario named no-such-scenario" in r.stderr


def test_bad_scenario_directory_names_file_and_field(built, tmp_path):
    (tmp_path / "a.toml").write_text('name = "a"\n[machine]\nfirmware = "uefi"\n'
                                     '[expect]\nrules = []\n')
    r = run("--scenarios", str(tmp_path), "list")
    assert r.returncode != 0
    assert f"{tmp_path / 'a.toml'}: field 'machine.firmware'" in r.stderr


def test_repeat_names_and_tally():
    from tracenic import cli
    from tracenic.scenario import Scenario, Machine
    s = Scenario(name="a", description="", machine=Machine(), steps=[], timeout=60,
                 expect_rules=frozenset(), path=None)
    runs = cli.repeated([s], 3)
    assert [r.name for r in runs] == ["a.r01", "a.r02", "a.r03"] and cli.repeated([s], 1) == [s]
    lines = cli.tally([{"name": "a.r01", "ok": True, "why": ""},
                       {"name": "a.r02", "ok": False, "why": "expected clean, dmacheck reported leak"},
                       {"name": "a.r03", "ok": True, "why": ""}])
    assert lines[0].split()[:4] == ["a", "2/3", "as", "expected"]
    assert "a.r02: expected clean, dmacheck reported leak" in lines[0]
