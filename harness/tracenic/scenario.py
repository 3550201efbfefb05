"""Scenario files (harness/scenarios/*.toml): what to run and what verdict to expect.

    name = "boot-clean"
    description = "..."
    [device]            # tracenic properties, e.g. rx-dma-delay-ns = 200000
    [machine]
    firmware = "seabios"  # or "ovmf"
    iommu = false         # intel-iommu on q35, guest booted with intel_iommu=on
    [guest]
    steps = ["sleep 100"]
    timeout = 60        # seconds
    [expect]
    rules = []          # the exact set of dmacheck rule names; [] means clean
"""
import dataclasses
import tomllib
from pathlib import Path


class ScenarioError(Exception):
    """A scenario file is wrong; the message names the file and the field."""


@dataclasses.dataclass
class Scenario:
    name: str
    description: str
    device: dict
    steps: list[str]
    timeout: float
    expect_rules: frozenset[str]
    firmware: str
    iommu: bool
    path: Path


def _field(path, table, key, kind, default=None):
    if key not in table:
        if default is None:
            raise ScenarioError(f"{path}: missing field '{key}'")
        return default
    value = table[key]
    if not isinstance(value, kind):
        raise ScenarioError(f"{path}: field '{key}' must be {kind.__name__}, "
                            f"not {type(value).__name__}")
    return value


def load(path: Path, known_rules: set[str]) -> Scenario:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    guest = _field(path, data, "guest", dict, {})
    machine = _field(path, data, "machine", dict, {})
    firmware = _field(path, machine, "firmware", str, "seabios")
    if firmware not in ("seabios", "ovmf"):
        raise ScenarioError(f"{path}: field 'machine.firmware' must be \"seabios\" or "
                            f"\"ovmf\", not {firmware!r}")
    expect = _field(path, data, "expect", dict)
    rules = _field(path, expect, "rules", list)
    unknown = [r for r in rules if r not in known_rules]
    if unknown:
        raise ScenarioError(f"{path}: field 'expect.rules' names unknown rules {unknown}; "
                            f"`dmacheck --list-rules` lists them")
    steps = _field(path, guest, "steps", list, [])
    if not all(isinstance(s, str) for s in steps):
        raise ScenarioError(f"{path}: field 'guest.steps' must be a list of strings")
    return Scenario(
        name=_field(path, data, "name", str),
        description=_field(path, data, "description", str, ""),
        device=_field(path, data, "device", dict, {}),
        steps=steps,
        timeout=float(_field(path, guest, "timeout", (int, float), 60)),
        expect_rules=frozenset(rules),
        firmware=firmware,
        iommu=bool(_field(path, machine, "iommu", bool, False)),
        path=path)


def load_dir(directory: Path, known_rules: set[str]) -> list[Scenario]:
    scenarios = [load(p, known_rules) for p in sorted(directory.glob("*.toml"))]
    names = [s.name for s in scenarios]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ScenarioError(f"{directory}: scenario names used twice: {sorted(dup)}")
    return scenarios
