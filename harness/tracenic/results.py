"""The guest runner's result lines (second serial port), see docs/guest-protocol.md.

    TNR pci <slot> <vendor> <device> <class>
    TNR <n> <step> ok | TNR <n> <step> fail <detail>
    TNR ndis <rule line>
    TNR ndis-result <selftest answer> memfree_kb=<n> uc=<start,...>
    TNR ndis-summary allocs=<n> frees=<n> maps=<n> unmaps=<n> live=<n> ...
    TNR ledger cmd=<n> id=<n> ... (one per ledger event, with ledger_echo=1)
    TNR site <0x site> <symbol>+<off>/<len> [module]   (a code site the DMA-API agent reported)
    TNR agent-summary <the agent's counters at its unload>
    TNR agent-missed <function>: <n> calls missed   (one per probe that missed any)
    TNR dmar <an intel-iommu fault line of the guest's kernel log>
    TNR oops <first line>
    TNR done
"""
import dataclasses
import re
from pathlib import Path

# What the guest kernel reports by itself, by kind (a scenario's expect.kernel): an IOMMU
# fault (DMAR), a WARN(), a BUG(), an oops or general protection fault.
KERNEL_REPORTS = ("dmar-fault", "warning", "bug", "oops")


@dataclasses.dataclass
class Step:
    number: int
    name: str
    ok: bool
    detail: str


@dataclasses.dataclass
class GuestResults:
    lines: list[str] = dataclasses.field(default_factory=list)  # without the "TNR " prefix
    pci: list[tuple[str, str, str, str]] = dataclasses.field(default_factory=list)
    steps: list[Step] = dataclasses.field(default_factory=list)
    ndis: list[str] = dataclasses.field(default_factory=list)
    ndis_results: list[dict] = dataclasses.field(default_factory=list)
    ndis_summary: dict = dataclasses.field(default_factory=dict)
    ledger: list[dict] = dataclasses.field(default_factory=list)
    # code sites (include/tracenic/ledger.h TN_SITE_CODE_ADDR) as dmacheck prints them -> symbol
    sites: dict[str, str] = dataclasses.field(default_factory=dict)
    # module name -> the address of its .text in the guest (gdb's add-symbol-file)
    modules: dict[str, str] = dataclasses.field(default_factory=dict)
    agent_summary: str = ""
    agent_missed_by: list[str] = dataclasses.field(default_factory=list)
    dmar: list[str] = dataclasses.field(default_factory=list)
    oops: list[str] = dataclasses.field(default_factory=list)
    done: bool = False
    garbage: list[str] = dataclasses.field(default_factory=list)  # "TNR" lines we cannot read

    @property
    def failed_steps(self) -> list[Step]:
        return [s for s in self.steps if not s.ok]

    @property
    def agent_missed(self) -> int:
        """DMA-API calls the agent's probes missed (its unload summary), 0 if none or no agent."""
        m = re.search(r"(\d+) calls missed by the probes", self.agent_summary)
        return int(m.group(1)) if m else 0

    @property
    def kernel_reports(self) -> frozenset[str]:
        """The KERNEL_REPORTS kinds the guest kernel's log held."""
        kinds = {"dmar-fault"} if self.dmar else set()
        for line in self.oops:
            kinds.add("warning" if "WARNING:" in line else "bug" if "BUG:" in line else "oops")
        return frozenset(kinds)


def _fields(text: str) -> dict:
    """The key=value words of a line."""
    return dict(w.split("=", 1) for w in text.split() if "=" in w)


def parse(text: str) -> GuestResults:
    r = GuestResults()
    for raw in text.splitlines():
        # The port can carry console noise before the runner starts; only TNR lines count.
        start = raw.find("TNR ")
        if start < 0:
            continue
        line = raw[start + 4:].strip()
        r.lines.append(line)
        word, _, rest = line.partition(" ")
        if word == "done" and not rest:
            r.done = True
        elif word == "pci" and len(rest.split()) == 4:
            r.pci.append(tuple(rest.split()))
        elif word == "ndis":
            r.ndis.append(rest)
        elif word == "ndis-result":
            r.ndis_results.append({**_fields(rest), "ok": rest.startswith("ok "), "text": rest})
        elif word == "ndis-summary":
            r.ndis_summary = _fields(rest)
        elif word == "ledger":
            try:
                r.ledger.append({k: int(v, 0) for k, v in _fields(rest).items()})
            except ValueError:      # a line still being written while the guest runs
                r.garbage.append(line)
        elif word == "site" and len(rest.split(None, 1)) == 2:
            site, symbol = rest.split(None, 1)
            try:
                r.sites[f"{0xffffffff00000000 | int(site, 16):#x}"] = symbol
            except ValueError:
                r.garbage.append(line)
        elif word == "module" and len(rest.split()) == 2:
            name, addr = rest.split()
            r.modules[name] = addr
        elif word == "agent-summary":
            r.agent_summary = rest
        elif word == "agent-missed":
            r.agent_missed_by.append(rest)
        elif word == "dmar":
            r.dmar.append(rest)
        elif word == "oops":
            r.oops.append(rest)
        elif word.isdigit():
            name, _, tail = rest.partition(" ")
            status, _, detail = tail.partition(" ")
            if status in ("ok", "fail") and name:
                r.steps.append(Step(int(word), name, status == "ok", detail))
            else:
                r.garbage.append(line)
        else:
            r.garbage.append(line)
    return r


def parse_file(path: Path) -> GuestResults:
    try:
        return parse(path.read_text(errors="replace"))
    except FileNotFoundError:
        return GuestResults()
