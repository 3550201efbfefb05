"""Scenario files (harness/scenarios/*.toml): what to run and which verdict to expect.

    name = "bug-no-quiesce-poll"
    description = "one line for the report"
    [driver]                  # the driver's module parameters, added to every bare "load" step
    bugs = ["no-quiesce-poll"]  # seeded bug modes (docs/bugs.md); [] or absent: the correct driver
    params = { tx_ring = 64 }
    source = "debian"         # nic "e1000e": Debian's module, or "seeded": Linux's e1000e built
                              # out of tree with the seeded bug modes (guest-driver/e1000e-seeded)
    [device]                  # the traced NIC's properties (docs/device.md, docs/kit.md)
    [machine]
    nic = "tracenic"          # or "e1000e": QEMU's e1000e traced, driven by Debian's e1000e
    agent = false             # true: a tracenic-ledger device on the NIC's trace, for the
                              # guest's DMA-API agent (the "agent" step, docs/agent.md)
    backend = "qemu"          # or "libvirt"
    firmware = "seabios"      # or "ovmf"
    iommu = false             # intel-iommu on q35, guest booted with intel_iommu=on: true or
                              # "lazy" (the kernel's default), "strict" (iommu.strict=1)
    accel = "auto"            # "kvm", "tcg", or "auto": KVM only if a probe boot proves it works
    memory = 512              # MiB
    pcap = true               # record the guest's traffic (filter-dump) to traffic.pcap
    [guest]
    steps = ["load", "up", "rx 500 1400", "down", "unload"]   # docs/guest-protocol.md
    timeout = 60              # seconds, hard limit for the whole run
    [expect]
    rules = []                # the exact set of rule names (rules.h); [] means clean
    ledger = true             # false: nothing reports allocations (an unmodified driver), so
                              # dmacheck must say the allocation rules were not applied
    dma = ["rx-buf-write"]    # DMA causes (tn_cause_name) the trace must hold records of
    refs = false              # true: the device must have taken and dropped references
    kernel = []               # what the guest kernel reports by itself (results.KERNEL_REPORTS):
                              # "dmar-fault", "warning", "bug", "oops"; the exact set
    sweep = []                # a timing-only bug (rules = [], a plain run is clean): the rules
                              # a race sweep finds (docs/sweep.md); its findings of other rules,
                              # and any on a scenario without this field, are unexpected

`rx COUNT SIZE` is the one step the host performs: the harness floods COUNT UDP
datagrams of SIZE bytes at the guest (loopback -> slirp hostfwd) while the
guest waits; every other step runs in the guest.
"""
import dataclasses
import tomllib
from pathlib import Path

from . import contract, results

# step name -> (min args, max args); "load" takes any number of param=value words.
STEPS = {
    "load": (0, 99), "agent": (0, 0), "up": (0, 0), "ping": (0, 1), "tx": (0, 2), "rx": (1, 2),
    "bgping": (0, 0), "bgflood": (0, 2), "mtu": (1, 1), "rings": (2, 2), "reset": (0, 0), "down": (0, 0),
    "rebind": (0, 0), "unload": (0, 0), "sleep": (1, 1), "dmabench": (0, 1), "panic": (0, 0),
    "hang": (0, 0),
}
BACKENDS = ("qemu", "libvirt")
# The traced NIC, and the driver a bare "load" step loads: tracenic.ko (with the seeded bugs),
# or Debian's own module for a QEMU model traced through the kit (docs/e1000e.md).
NICS = ("tracenic", "e1000e")
# Where the driver a "load" step loads comes from, for a QEMU model's NIC (driver.source).
SOURCES = ("debian", "seeded")
IOMMU_MODES = ("lazy", "strict")
FIRMWARES = ("seabios", "ovmf")
ACCELS = ("auto", "kvm", "tcg")
TOP_KEYS = {"name", "description", "driver", "device", "machine", "guest", "expect"}


class ScenarioError(Exception):
    """A scenario file is wrong; the message names the file and the field."""


@dataclasses.dataclass
class Machine:
    """How to build the VM; shared by the QEMU command line and the libvirt XML."""
    backend: str = "qemu"
    nic: str = "tracenic"
    agent: bool = False          # a tracenic-ledger device for the DMA-API agent
    firmware: str = "seabios"
    iommu: bool = False
    iommu_strict: bool = False   # iommu.strict=1: every unmap invalidates the IOTLB at once
    accel: str = "auto"
    memory: int = 512
    pcap: bool = True
    device: dict = dataclasses.field(default_factory=dict)   # the traced NIC's properties


@dataclasses.dataclass
class Scenario:
    name: str
    description: str
    machine: Machine
    steps: list[str]             # as the guest runs them ("load" already carries the params)
    timeout: float
    expect_rules: frozenset[str]
    path: Path
    bugs: tuple[str, ...] = ()
    expect_ledger: bool = True
    expect_dma: tuple[str, ...] = ()
    expect_refs: bool = False
    expect_kernel: frozenset[str] = frozenset()
    source: str = "debian"
    expect_sweep: frozenset[str] = frozenset()

    @property
    def device(self) -> dict:
        return self.machine.device


def _field(path, table, key, kind, default=None, where=""):
    name = f"{where}.{key}" if where else key
    if key not in table:
        if default is None:
            raise ScenarioError(f"{path}: missing field '{name}'")
        return default
    value = table[key]
    # bool is an int in Python; a scenario saying `memory = true` is still wrong.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
        raise ScenarioError(f"{path}: field '{name}' must be {_kind_name(kind)}, "
                            f"not {type(value).__name__} ({value!r})")
    return value


def _tuple(kind):
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind):
    names = {str: "a string", bool: "true or false", int: "an integer", float: "a number",
             list: "a list", dict: "a table"}
    return " or ".join(names.get(k, k.__name__) for k in _tuple(kind))


def _choice(path, table, key, choices, where):
    value = _field(path, table, key, str, choices[0], where)
    if value not in choices:
        raise ScenarioError(f"{path}: field '{where}.{key}' must be one of "
                            f"{', '.join(map(repr, choices))}, not {value!r}")
    return value


def _unknown_keys(path, table, known, where):
    extra = sorted(set(table) - set(known))
    if extra:
        raise ScenarioError(f"{path}: unknown field '{where + '.' if where else ''}{extra[0]}' "
                            f"(known: {', '.join(sorted(known))})")


def check_step(path, index, step):
    """One guest step line: a known verb with the right number of arguments."""
    words = step.split()
    where = f"{path}: field 'guest.steps[{index}]' ({step!r})"
    if not words:
        raise ScenarioError(f"{where}: empty step")
    lo, hi = STEPS.get(words[0], (None, None))
    if lo is None:
        raise ScenarioError(f"{where}: unknown step '{words[0]}'; steps are "
                            f"{', '.join(sorted(STEPS))} (docs/guest-protocol.md)")
    if not lo <= len(words) - 1 <= hi:
        raise ScenarioError(f"{where}: '{words[0]}' takes {lo}..{hi} arguments, "
                            f"not {len(words) - 1}")
    if words[0] == "load":
        bad = [w for w in words[1:] if "=" not in w]
        if bad:
            raise ScenarioError(f"{where}: load takes param=value words, not {bad[0]!r}")
    elif any(not w.isdigit() for w in words[1:]):
        raise ScenarioError(f"{where}: '{words[0]}' takes whole numbers")


def _driver_words(path, driver) -> tuple[tuple[str, ...], list[str]]:
    _unknown_keys(path, driver, {"bugs", "params", "source"}, "driver")
    bugs = _field(path, driver, "bugs", list, [], "driver")
    if not all(isinstance(b, str) and b and "," not in b for b in bugs):
        raise ScenarioError(f"{path}: field 'driver.bugs' must be a list of bug mode names")
    params = _field(path, driver, "params", dict, {}, "driver")
    words = [f"bugs={','.join(bugs)}"] if bugs else []
    for k, v in params.items():
        if not isinstance(v, (int, str)) or isinstance(v, bool):
            raise ScenarioError(f"{path}: field 'driver.params.{k}' must be an integer or "
                                f"a string")
        words.append(f"{k}={v}")
    return tuple(bugs), words


def _device(path, device):
    for k, v in device.items():
        if not isinstance(v, (int, str, bool)):
            raise ScenarioError(f"{path}: field 'device.{k}' must be an integer, a string "
                                f"or true/false, not {type(v).__name__}")
    return dict(device)


def _iommu(path, m) -> str:
    """machine.iommu: '' (none), 'lazy' or 'strict'."""
    v = m.get("iommu", False)
    if v is True or v in IOMMU_MODES:
        return "lazy" if v is True else v
    if v is False:
        return ""
    raise ScenarioError(f"{path}: field 'machine.iommu' must be true or false, or one of "
                        f"{', '.join(repr(x) for x in IOMMU_MODES)}, not {v!r}")


def load(path: Path, known_rules: set[str] | None = None) -> Scenario:
    """One scenario file; expect.rules must be rule names of the contract (rules.h),
    or of @known_rules when given."""
    if known_rules is None:
        known_rules = contract.rule_names()
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read the file: {e.strerror}") from None
    _unknown_keys(path, data, TOP_KEYS, "")
    name = _field(path, data, "name", str)
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ScenarioError(f"{path}: field 'name' must be letters, digits, '-', '_' or '.' "
                            f"(it names a directory), not {name!r}")

    m = _field(path, data, "machine", dict, {})
    _unknown_keys(path, m, {"nic", "agent", "backend", "firmware", "iommu", "accel", "memory",
                            "pcap"}, "machine")
    machine = Machine(
        backend=_choice(path, m, "backend", BACKENDS, "machine"),
        nic=_choice(path, m, "nic", NICS, "machine"),
        agent=_field(path, m, "agent", bool, False, "machine"),
        firmware=_choice(path, m, "firmware", FIRMWARES, "machine"),
        iommu=_iommu(path, m) != "",
        iommu_strict=_iommu(path, m) == "strict",
        accel=_choice(path, m, "accel", ACCELS, "machine"),
        memory=_field(path, m, "memory", int, 512, "machine"),
        pcap=_field(path, m, "pcap", bool, True, "machine"),
        device=_device(path, _field(path, data, "device", dict, {})))
    if not 128 <= machine.memory <= 65536:
        raise ScenarioError(f"{path}: field 'machine.memory' is in MiB, 128..65536, "
                            f"not {machine.memory}")

    guest = _field(path, data, "guest", dict, {})
    _unknown_keys(path, guest, {"steps", "timeout"}, "guest")
    steps = _field(path, guest, "steps", list, [], "guest")
    if not all(isinstance(s, str) for s in steps):
        raise ScenarioError(f"{path}: field 'guest.steps' must be a list of strings")
    for i, s in enumerate(steps):
        check_step(path, i, s)
    timeout = float(_field(path, guest, "timeout", (int, float), 60, "guest"))
    if not 5 <= timeout <= 3600:
        raise ScenarioError(f"{path}: field 'guest.timeout' is in seconds, 5..3600, "
                            f"not {timeout:g}")

    verbs = [s.split()[0] for s in steps]
    if "agent" in verbs and not machine.agent:
        raise ScenarioError(f"{path}: field 'guest.steps': 'agent' loads the DMA-API agent, "
                            f"which reports through a tracenic-ledger device; set "
                            f"machine.agent = true to give the VM one")
    if "agent" in verbs and "load" in verbs and verbs.index("load") < verbs.index("agent"):
        raise ScenarioError(f"{path}: field 'guest.steps': 'agent' must come before the first "
                            f"'load' (the agent refuses a device whose driver is bound)")

    driver = _field(path, data, "driver", dict, {})
    bugs, load_words = _driver_words(path, driver)
    source = _choice(path, driver, "source", SOURCES, "driver")
    if machine.nic == "tracenic" and source != "debian":
        raise ScenarioError(f"{path}: field 'driver.source' chooses the build of a QEMU model's "
                            f"driver; machine.nic = 'tracenic' always runs tracenic.ko")
    if machine.nic != "tracenic":
        if bugs and source != "seeded":
            raise ScenarioError(f"{path}: field 'driver.bugs' names seeded bugs (docs/bugs.md), "
                                f"but machine.nic = {machine.nic!r} runs Debian's {machine.nic} "
                                f"driver, which has none; set driver.source = \"seeded\"")
        # The runner loads that NIC's module: Debian's, or the seeded build (docs/guest-protocol.md).
        load_words = [f"driver={machine.nic}"] + \
            (["source=seeded"] if source == "seeded" else []) + load_words
    steps = [" ".join([s] + load_words) if s.split() == ["load"] else s for s in steps]

    expect = _field(path, data, "expect", dict)
    _unknown_keys(path, expect, {"rules", "ledger", "dma", "refs", "kernel", "sweep"}, "expect")
    kernel = _field(path, expect, "kernel", list, [], "expect")
    unknown = [k for k in kernel if k not in results.KERNEL_REPORTS]
    if unknown:
        raise ScenarioError(f"{path}: field 'expect.kernel' names {unknown}; what the guest "
                            f"kernel reports is one of {', '.join(results.KERNEL_REPORTS)}")
    causes = set(contract.table("tn_cause_name").values()) - {"none"}
    dma = _field(path, expect, "dma", list, [], "expect")
    unknown = [c for c in dma if c not in causes]
    if unknown:
        raise ScenarioError(f"{path}: field 'expect.dma' names unknown DMA causes {unknown}; "
                            f"the causes are {', '.join(sorted(causes))} "
                            f"(include/tracenic/names.h)")
    rules = _field(path, expect, "rules", list, where="expect")
    unknown = [r for r in rules if r not in known_rules]
    if unknown:
        raise ScenarioError(f"{path}: field 'expect.rules' names unknown rules {unknown}; "
                            f"include/tracenic/rules.h (and `dmacheck --list-rules`) "
                            f"lists them")
    sweep = _field(path, expect, "sweep", list, [], "expect")
    unknown = [r for r in sweep if r not in known_rules]
    if unknown:
        raise ScenarioError(f"{path}: field 'expect.sweep' names unknown rules {unknown}; "
                            f"include/tracenic/rules.h lists them")
    if sweep and rules:
        raise ScenarioError(f"{path}: field 'expect.sweep' is for a timing-only bug, which a "
                            f"plain run does not show: expect.rules must then be []")
    return Scenario(name=name, description=_field(path, data, "description", str, ""),
                    machine=machine, steps=steps, timeout=timeout,
                    expect_rules=frozenset(rules), path=path, bugs=bugs,
                    expect_ledger=_field(path, expect, "ledger", bool, True, "expect"),
                    expect_dma=tuple(dma),
                    expect_refs=_field(path, expect, "refs", bool, False, "expect"),
                    expect_kernel=frozenset(kernel), source=source,
                    expect_sweep=frozenset(sweep))


def load_dir(directory: Path, known_rules: set[str] | None = None) -> list[Scenario]:
    scenarios = [load(p, known_rules) for p in sorted(directory.glob("*.toml"))]
    if not scenarios:
        raise ScenarioError(f"{directory}: no scenario files (*.toml)")
    names = [s.name for s in scenarios]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ScenarioError(f"{directory}: scenario names used twice: {sorted(dup)}")
    return scenarios
