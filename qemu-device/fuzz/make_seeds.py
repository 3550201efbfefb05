#!/usr/bin/python3
"""Seed corpus for QEMU's generic-fuzz over tracenic, tracenic-ledger, QEMU's
e1000e traced, and a shared tracenic-trace object (make fuzz-device,
docs/fuzzing.md).

generic-fuzz (tests/qtest/fuzz/generic_fuzz.c in QEMU 7.2) reads an input as
commands separated by b"FUZZ"; the first byte of a command is its opcode
(modulo 10), the rest a packed C struct of the native (x86-64) layout:

  OP_READ       u8 size, u8 region, [2 pad], u32 offset
  OP_WRITE      u8 size, u8 region, [2 pad], u32 offset, u64 value
  OP_PCI_READ   u8 size, u8 device, u8 offset
  OP_PCI_WRITE  u8 size, u8 device, u8 offset, [1 pad], u32 value
  OP_ADD_DMA_PATTERN  u8 index, u8 stride, pattern bytes
  OP_CLEAR_DMA_PATTERNS, OP_CLOCK_STEP (no arguments)

"region" indexes the fuzzed MemoryRegions as they lie in the flat view of
guest memory, "device" the fuzzed PCI devices in QOM discovery order; both
wrap.  generic-fuzz maps the devices' BARs in device order at rising
addresses (libqos' PC allocator), BAR 0 before BAR 1, so the regions run
device by device: a NIC's registers (tracenic's or e1000e's BAR 0), its
MSI-X table, its PBA; the ledger device's registers.  (e1000e's flash BAR
is an empty container and its I/O BAR is port I/O: neither is in that
list.)  Only the device order is unknown before QEMU runs (it follows QOM's
hash of the devices' names), so the seeds are made in two steps:

  make_seeds.py probe FILE        an input that writes to offset 0x800+4*i
                                  of region i, for i in 0..19
  make_seeds.py seeds LOG DIR     reads what QEMU logged running the probe
                                  with -d guest_errors and e1000e's register
                                  write trace events (each names the device
                                  or its register offset), works out the
                                  order, writes the seeds

(QTEST_LOG cannot serve: in the fuzzer the qtest chardev is /dev/null,
which reports end-of-file on the first main-loop turn, and qtest stops
logging there.)

Guest memory is never written by a command: every DMA read the devices make
(descriptor fetch, TX buffer) is filled by generic-fuzz from the next DMA
pattern in turn.  The seeds therefore install one 16-byte pattern that is a
valid descriptor (buffer address, length, OWN|EOP|IRQ) and is also what the
TX buffers read as frame bytes.  The same 16 bytes are an e1000e legacy TX
descriptor (length; the flags' high byte is e1000e's CMD: EOP|IFCS|RS,
which tracenic ignores) and an e1000e legacy or extended RX descriptor
(the buffer address).  RX is reached through the hub: the fuzzing command
line (fuzz-device.sh) puts the three NICs on one -netdev hub, so a frame
one sends is received by the others.
"""

import json
import re
import struct
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "harness"))

from tracenic.contract import const, table  # noqa: E402  (include/tracenic/'s values)

(OP_IN, OP_OUT, OP_READ, OP_WRITE, OP_PCI_READ, OP_PCI_WRITE, OP_DISABLE_PCI,
 OP_ADD_DMA_PATTERN, OP_CLEAR_DMA_PATTERNS, OP_CLOCK_STEP) = range(10)
SEPARATOR = b"FUZZ"
BYTE, WORD, LONG, QUAD = range(4)

PCI_COMMAND = 0x04
PCI_CMD_MEMORY, PCI_CMD_MASTER = 0x2, 0x4

# Region indexes the probe tries: twice the 10 regions (3 NICs x registers,
# MSI-X table, PBA, and the ledger device's registers), to see the wrap.
PROBE_REGIONS = 20
PROBE_OFF = 0x800
NIC_REGIONS = ("regs", "msix-table", "msix-pba")
# The devices the fuzzing command line has, by kind.
DEVICES = {"nic": 2, "ledger": 1, "e1000e": 1}
# MSI-X capability: tracenic's msix_init() with cap_pos 0 puts it first in
# the config space, at 0x40; e1000e_init_msix() puts it at 0xA0.
MSIX_CAP = {"nic": 0x40, "e1000e": 0xA0, "ledger": 0}

# e1000e (Intel 82574L) registers and bits the seeds use, as QEMU's
# hw/net/e1000_regs.h names them.
E = dict(
    CTRL=0x0, STATUS=0x8, CTRL_EXT=0x18, ICR=0xC0, ITR=0xC4, ICS=0xC8, IMS=0xD0,
    IMC=0xD8, EIAC=0xDC, IAM=0xE0, IVAR=0xE4, RCTL=0x100, TCTL=0x400,
    PSRCTL=0x2170, RDBAL=0x2800, RDTR=0x2820, RADV=0x282C, RDBAL1=0x2900,
    TDBAL=0x3800, TIDV=0x3820, TADV=0x382C, TDBAL1=0x3900, RXCSUM=0x5000,
    RFCTL=0x5008, MRQC=0x5818,
    CTRL_SLU=0x40, CTRL_RST=0x04000000,
    CTRL_EXT_PBA_CLR=0x80000000, CTRL_EXT_EIAME=0x01000000,
    RCTL_EN=0x2, RCTL_UPE=0x8, RCTL_MPE=0x10, RCTL_LPE=0x20, RCTL_DTYP_PS=0x400,
    RCTL_BAM=0x8000, TCTL_EN=0x2, RFCTL_EXTEN=0x8000,
    ICR_TXDW=0x1, ICR_LSC=0x4, ICR_RXDMT0=0x10, ICR_RXT0=0x80, ICR_RXQ0=0x100000,
    ICR_RXQ1=0x200000, ICR_TXQ0=0x400000, ICR_TXQ1=0x800000, ICR_OTHER=0x1000000,
    IVAR_VALID=0x8, IVAR_INT_ON_ALL_WB=0x80000000,
    TXD_CMD_EOP=0x01, TXD_CMD_IFCS=0x02, TXD_CMD_RS=0x08, TXD_CMD_DEXT=0x20,
    TXD_CMD_TSE=0x04, TXD_DTYP_D=0x10, TXD_POPTS_IXSM=0x1, TXD_POPTS_TXSM=0x2,
    MSIX_VECTORS=5,
)
# Ring register offsets from xDBAL: base low/high, length, head, tail.
BAL, BAH, LEN, HEAD, TAIL = 0x0, 0x4, 0x8, 0x10, 0x18

# Guest-physical layout the seeds use (512 MiB of RAM, see fuzz-device.sh).
TX_RING = 0x100000
RX_RING = 0x110000
RINGS_LEN = 0x20000
BUF = 0x200000
BUF_LEN = 0x10000
MSI_ADDR = 0xfee00000


class Input:
    """One generic-fuzz input, built command by command."""

    def __init__(self):
        self.cmds = []

    def _add(self, op, payload=b""):
        cmd = bytes([op]) + payload
        if SEPARATOR in cmd:
            raise ValueError(f"command {cmd.hex()} contains the separator")
        self.cmds.append(cmd)

    def read(self, region, off, size=LONG):
        self._add(OP_READ, struct.pack("<BBxxI", size, region, off))

    def write(self, region, off, val, size=LONG):
        self._add(OP_WRITE, struct.pack("<BBxxIQ", size, region, off, val))

    def pci_read(self, dev, off, size=LONG):
        self._add(OP_PCI_READ, struct.pack("<BBB", size, dev, off))

    def pci_write(self, dev, off, val, size=LONG):
        self._add(OP_PCI_WRITE, struct.pack("<BBBxI", size, dev, off, val))

    def dma_pattern(self, data, index=0, stride=0):
        self._add(OP_ADD_DMA_PATTERN, bytes([index, stride]) + data)

    def clear_patterns(self):
        self._add(OP_CLEAR_DMA_PATTERNS)

    def clock_step(self, n=1):
        for _ in range(n):
            self._add(OP_CLOCK_STEP)

    def bytes(self):
        return SEPARATOR.join(self.cmds)


def probe():
    inp = Input()
    for region in range(PROBE_REGIONS):
        inp.write(region, PROBE_OFF + 4 * region, 0)
    return inp.bytes()


# What each device logs for the probe's write: tracenic and tracenic-ledger
# name themselves in their guest errors; e1000e's register write trace events
# (any register: handled, read-only or unknown) give the offset.
PROBE_LINE = re.compile(
    r"^(?:(?P<dev>tracenic|tracenic-ledger): write (?:of 0x[0-9a-f]+ )?to "
    r"(?:read-only or unknown register )?0x(?P<off>[0-9a-f]+)"
    r"|(?:\d+@[0-9.]+:)?(?P<e1000e>e1000e)_(?:core_write|wrn_regs_write_ro|wrn_regs_write_unknown)"
    r" .*?register 0x(?P<eoff>[0-9a-f]+))", re.M)


def parse_probe_log(text):
    """The layout: each region index's device and what it is, each PCI
    device index's device."""
    kind = {}
    for m in PROBE_LINE.finditer(text):
        off = int(m.group("off") or m.group("eoff"), 16)
        if off < PROBE_OFF or (off - PROBE_OFF) % 4:
            continue
        region = (off - PROBE_OFF) // 4
        kind[region] = ("e1000e" if m.group("e1000e") else
                        "nic" if m.group("dev") == "tracenic" else "ledger")
    seen = [kind.get(i, "-") for i in range(PROBE_REGIONS)]
    n = PROBE_REGIONS // 2
    # NIC registers are followed by its MSI-X table and PBA, which log nothing.
    order, i = [], 0
    while i < n:
        if seen[i] in ("nic", "e1000e") and seen[i + 1:i + 3] == ["-", "-"]:
            order.append(seen[i])
            i += 3
        elif seen[i] == "ledger":
            order.append("ledger")
            i += 1
        else:
            break
    want = sorted(k for k, count in DEVICES.items() for _ in range(count))
    if seen[:n] != seen[n:] or i != n or sorted(order) != want:
        sys.exit("make_seeds: the probe's log does not show 2 tracenic NICs and 1 e1000e "
                 "(registers, MSI-X table, PBA each) and 1 tracenic-ledger in "
                 f"{n} regions; region by region it shows {' '.join(seen)}. Run the probe "
                 "with -d guest_errors,trace:e1000e_core_write,trace:e1000e_wrn_regs_write_* "
                 "(fuzz-device.sh does) and check the fuzzing command line.")
    devices, region = [], 0
    for pci, what in enumerate(order):
        d = {"pci": pci, "kind": what, "regions": {}}
        for name in (NIC_REGIONS if what != "ledger" else ("regs",)):
            d["regions"][name] = region
            region += 1
        devices.append(d)
    return {"devices": devices}


class Dev:
    """One fuzzed PCI device as the seeds address it."""

    def __init__(self, d):
        self.pci = d["pci"]
        self.region = d["regions"]
        self.cap = MSIX_CAP[d["kind"]]


def nics_and_ledger(layout):
    nics = [Dev(d) for d in layout["devices"] if d["kind"] == "nic"]
    ledger = next(Dev(d) for d in layout["devices"] if d["kind"] == "ledger")
    return nics, ledger


def e1000e_of(layout):
    return next(Dev(d) for d in layout["devices"] if d["kind"] == "e1000e")


# --- building blocks ------------------------------------------------------


def desc(addr, length, flags):
    return struct.pack("<QHHHH", addr, length, flags, 0, 0)


def own_eop_irq():
    """tracenic's OWN|EOP|IRQ; the high byte, which tracenic ignores, is
    e1000e's legacy TX CMD: EOP|IFCS|RS (see the docstring)."""
    e1000e_cmd = E["TXD_CMD_EOP"] | E["TXD_CMD_IFCS"] | E["TXD_CMD_RS"]
    return (const("TN_DESC_OWN") | const("TN_DESC_EOP") | const("TN_DESC_IRQ")
            | e1000e_cmd << 8)


def ledger_cmd(inp, region, cmd, id_=0, va=0, bus=0, length=0, flags=0, tag=0,
               site=0, code=0, irql=0, ext=0):
    """Stage every register a command reads (tn_ledger_cmd_reads) and commit it."""
    reads = table("tn_ledger_cmd_reads").get(cmd, const("TN_LGR_ALL"))
    if reads & const("TN_LGR_VA"):
        inp.write(region, const("TN_LG_VA"), va, QUAD)
    if reads & const("TN_LGR_BUS"):
        inp.write(region, const("TN_LG_BUS"), bus & 0xffffffff)
        inp.write(region, const("TN_LG_BUS") + 4, bus >> 32)
    if reads & (const("TN_LGR_ID") | const("TN_LGR_LENGTH")):
        inp.write(region, const("TN_LG_ID"), id_ | (length << 32), QUAD)
    if reads & (const("TN_LGR_FLAGS") | const("TN_LGR_TAG")):
        inp.write(region, const("TN_LG_FLAGS"), flags)
        inp.write(region, const("TN_LG_TAG"), tag)
    if reads & (const("TN_LGR_SITE") | const("TN_LGR_INFO")):
        inp.write(region, const("TN_LG_SITE"), site)
        inp.write(region, const("TN_LG_INFO"), code | (irql << 8) | (ext << 16))
    inp.write(region, const("TN_LG_CMD"), cmd)


def ledger_alloc_shared(inp, region, id_, bus, length):
    """NdisMAllocateSharedMemory of one extent: ALLOC then EXTENT."""
    va = 0xffff888000000000 | bus
    ledger_cmd(inp, region, const("TN_LG_CMD_ALLOC"), id_=id_, va=va, length=length,
               flags=const("TN_FLAG_SHARED_CACHED"), tag=0x4e43, site=0x10020,
               code=const("TN_API_SHARED"), irql=const("TN_IRQL_PASSIVE"), ext=1)
    ledger_cmd(inp, region, const("TN_LG_CMD_EXTENT"), id_=id_, bus=bus, length=length,
               code=const("TN_EXT_BUS"), ext=0)


def ledger_free_shared(inp, region, id_, bus, length):
    va = 0xffff888000000000 | bus
    ledger_cmd(inp, region, const("TN_LG_CMD_FREE"), id_=id_, va=va, length=length,
               flags=const("TN_FLAG_SHARED_CACHED"), site=0x10030,
               code=const("TN_FREE_API_FREE_SHARED"), irql=const("TN_IRQL_PASSIVE"))


def pci_enable(inp, dev, master=True):
    inp.pci_write(dev.pci, PCI_COMMAND,
                  PCI_CMD_MEMORY | (PCI_CMD_MASTER if master else 0), WORD)


def ring_setup(inp, nic, ring, base, size, enable=True):
    regs = nic.region["regs"]
    inp.write(regs, ring + const("TN_RING_BASE_LO"), base & 0xffffffff)
    inp.write(regs, ring + const("TN_RING_BASE_HI"), base >> 32)
    inp.write(regs, ring + const("TN_RING_SIZE"), size)
    if enable:
        inp.write(regs, ring + const("TN_RING_CTRL"), const("TN_RING_CTRL_ENABLE"))
    inp.read(regs, ring + const("TN_RING_STATUS"))


def tail(inp, nic, ring, val):
    inp.write(nic.region["regs"], ring + const("TN_RING_TAIL"), val)


def read_status(inp, nic):
    regs = nic.region["regs"]
    for off in ("TN_REG_STATUS", "TN_REG_ICR", "TN_REG_ERR", "TN_REG_TX_PACKETS",
                "TN_REG_RX_PACKETS", "TN_REG_RX_DROPPED", "TN_REG_TX_ERRORS"):
        inp.read(regs, const(off))
    for ring in (const("TN_TX_RING"), const("TN_RX_RING")):
        inp.read(regs, ring + const("TN_RING_HEAD"))
        inp.read(regs, ring + const("TN_RING_STATUS"))


def start(nics, ledger, patterns=None):
    """Memory and bus mastering on every device, the shared ledger records of
    the rings and buffers, one descriptor pattern."""
    inp = Input()
    for d in nics + [ledger]:
        pci_enable(inp, d)
    lg = ledger.region["regs"]
    ledger_alloc_shared(inp, lg, 1, TX_RING, RINGS_LEN)
    ledger_alloc_shared(inp, lg, 2, BUF, BUF_LEN)
    for p in patterns or [desc(BUF, 64, own_eop_irq())]:
        inp.dma_pattern(p)
    return inp


def seeds(layout):
    nics, ledger = nics_and_ledger(layout)
    a, b = nics
    TX, RX = const("TN_TX_RING"), const("TN_RX_RING")
    out = {}

    # Config space and every register read, bus mastering off and on.
    inp = Input()
    for d in nics + [ledger]:
        for off in (0x00, 0x04, 0x08, 0x2c, 0x34, 0x3c):
            inp.pci_read(d.pci, off)
        pci_enable(inp, d, master=False)
        pci_enable(inp, d)
    for d in nics:
        for off in range(0, 0x60, 4):
            inp.read(d.region["regs"], off)
        for off in range(0x100, 0x11c, 4):
            inp.read(d.region["regs"], off)
            inp.read(d.region["regs"], off + 0x100)
    for off in range(0x400, 0x430, 4):
        inp.read(ledger.region["regs"], off)
        inp.read(a.region["regs"], off)
    inp.read(a.region["regs"], 0x800)
    inp.write(a.region["regs"], 0x800, 1)
    inp.write(a.region["regs"], const("TN_REG_ID"), 0)
    out["00-config-and-registers"] = inp

    # The ledger, valid, through the ledger device and through the NIC.
    for name, dev in (("ledger-device", ledger), ("nic", a)):
        inp = Input()
        pci_enable(inp, dev)
        r = dev.region["regs"]
        ledger_alloc_shared(inp, r, 1, TX_RING, RINGS_LEN)
        ledger_cmd(inp, r, const("TN_LG_CMD_ALLOC"), id_=3, va=0xffffc90000001000,
                   length=0x2000, flags=const("TN_NDIS_MEMORY_CONTIGUOUS"), tag=0x7441,
                   site=0x20011, code=const("TN_API_MEMORY"), ext=2)
        ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=3, bus=0x300000, length=0x1000,
                   code=const("TN_EXT_PHYS"), ext=0)
        ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=3, bus=0x302000, length=0x1000,
                   code=const("TN_EXT_PHYS"), ext=1)
        ledger_cmd(inp, r, const("TN_LG_CMD_ALLOC"), id_=4, va=0xffff888001000000,
                   length=0x100, tag=0x6f50, site=0x20012, code=const("TN_API_POOL"),
                   irql=const("TN_IRQL_DISPATCH"), ext=1)
        ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=4, bus=0x1000000, length=0x100,
                   code=const("TN_EXT_PHYS"), ext=0)
        ledger_cmd(inp, r, const("TN_LG_CMD_MAP_ONE"), id_=5, va=0xffff888000200000,
                   bus=BUF, length=0x600, site=0x20013, code=const("TN_DIR_TO_DEVICE"))
        ledger_cmd(inp, r, const("TN_LG_CMD_MAP"), id_=6, va=0xffff888000204000,
                   length=0x2000, site=0x20014, code=const("TN_DIR_FROM_DEVICE"), ext=2)
        ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=6, bus=0x204000, length=0x1000,
                   code=const("TN_EXT_BUS"), ext=0)
        ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=6, bus=0x208000, length=0x1000,
                   code=const("TN_EXT_BUS"), ext=1)
        ledger_cmd(inp, r, const("TN_LG_CMD_MARK"), va=0x1234, code=1)
        # The DMA-API agent's: coherent memory, an unmap passing its direction.
        ledger_cmd(inp, r, const("TN_LG_CMD_ALLOC"), id_=8, va=0xffff888000400000,
                   length=0x1000, code=const("TN_API_DMA_COHERENT"), ext=1)
        ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=8, bus=0x400000, length=0x1000,
                   code=const("TN_EXT_BUS"), ext=0)
        ledger_cmd(inp, r, const("TN_LG_CMD_FREE"), id_=8, va=0xffff888000400000,
                   length=0x1000, code=const("TN_FREE_API_DMA_FREE"))
        ledger_cmd(inp, r, const("TN_LG_CMD_UNMAP"), id_=5, length=0x600, site=0x20015,
                   code=const("TN_UNMAP_DIR_GIVEN") | const("TN_DIR_TO_DEVICE"))
        ledger_cmd(inp, r, const("TN_LG_CMD_UNMAP"), id_=6, length=0x2000, site=0x20016,
                   irql=const("TN_IRQL_DISPATCH"))
        ledger_cmd(inp, r, const("TN_LG_CMD_FREE"), id_=3, va=0xffffc90000001000,
                   length=0x2000, flags=const("TN_NDIS_MEMORY_CONTIGUOUS"), site=0x20017,
                   code=const("TN_FREE_API_FREE_MEMORY"))
        ledger_cmd(inp, r, const("TN_LG_CMD_FREE"), id_=4, va=0xffff888001000000,
                   length=0x100, site=0x20018, code=const("TN_FREE_API_FREE_MEMORY"),
                   irql=const("TN_IRQL_DIRQL"))
        ledger_free_shared(inp, r, 1, TX_RING, RINGS_LEN)
        # Freed twice, unmapped twice, freed with the wrong length.
        ledger_free_shared(inp, r, 1, TX_RING, RINGS_LEN)
        ledger_cmd(inp, r, const("TN_LG_CMD_UNMAP"), id_=5, length=0x600, site=0x20019)
        ledger_cmd(inp, r, const("TN_LG_CMD_FREE"), id_=77, va=0x1000, length=1,
                   code=const("TN_FREE_API_FREE_MEMORY"))
        inp.read(r, const("TN_LG_CMD"))
        inp.read(r, const("TN_LG_REJECTED"))
        out[f"01-ledger-valid-{name}"] = inp

    # Malformed ledger commands: every reason tnkit-ledger.c rejects one.
    inp = Input()
    pci_enable(inp, ledger)
    r = ledger.region["regs"]
    alloc = const("TN_LG_CMD_ALLOC")
    ledger_cmd(inp, r, alloc, id_=0, length=16, code=const("TN_API_POOL"), ext=1)
    ledger_cmd(inp, r, alloc, id_=9, length=0, code=const("TN_API_POOL"), ext=1)
    ledger_cmd(inp, r, alloc, id_=9, length=16, code=const("TN_API_POOL"), ext=0)
    ledger_cmd(inp, r, alloc, id_=9, length=16, code=0, ext=1)
    ledger_cmd(inp, r, alloc, id_=9, length=16, code=9, ext=1)
    ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=10, bus=0x1000, length=16, ext=0)
    ledger_cmd(inp, r, alloc, id_=11, length=0x3000, code=const("TN_API_SHARED"), ext=3)
    ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=11, bus=0x1000, length=16, ext=1)
    ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=11, bus=0x1000, length=16, ext=0, code=7)
    ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=11, bus=0xfffffffffffff000,
               length=0x2000, ext=0)
    ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=11, bus=0x1000, length=0, ext=0)
    ledger_cmd(inp, r, const("TN_LG_CMD_EXTENT"), id_=11, bus=0x1000, length=0x1000, ext=0)
    # The next ALLOC while id 11 still waits for two extents.
    ledger_cmd(inp, r, alloc, id_=12, length=0x1000, code=const("TN_API_SHARED"), ext=1)
    ledger_cmd(inp, r, const("TN_LG_CMD_MAP"), id_=13, length=0x100, code=3, ext=1)
    ledger_cmd(inp, r, const("TN_LG_CMD_MAP_ONE"), id_=13, bus=0xffffffffffffff00,
               length=0x1000, code=const("TN_DIR_TO_DEVICE"))
    ledger_cmd(inp, r, const("TN_LG_CMD_FREE"), id_=0, code=const("TN_FREE_API_FREE_MEMORY"))
    ledger_cmd(inp, r, const("TN_LG_CMD_FREE"), id_=12, code=9)
    ledger_cmd(inp, r, const("TN_LG_CMD_UNMAP"), id_=0)
    inp.write(r, const("TN_LG_CMD"), 0)
    inp.write(r, const("TN_LG_CMD"), 0xdeadbeef)
    inp.write(r, const("TN_LG_VA") + 2, 1, WORD)
    inp.write(r, const("TN_LG_REJECTED"), 5)
    inp.read(r, const("TN_LG_CMD"))
    inp.read(r, const("TN_LG_REJECTED"))
    inp.read(r, 0x800)
    out["02-ledger-malformed"] = inp

    # TX on each NIC: ring enabled, three frames kicked one by one, drained.
    for n, nic in enumerate(nics):
        inp = start(nics, ledger)
        regs = nic.region["regs"]
        inp.write(regs, const("TN_REG_IMS"), const("TN_INT_ALL"))
        ring_setup(inp, nic, TX, TX_RING, 16)
        for t in (1, 2, 3):
            tail(inp, nic, TX, t)
            inp.clock_step()
        read_status(inp, nic)
        inp.write(regs, const("TN_REG_ICR"), const("TN_INT_ALL"))
        inp.write(regs, TX + const("TN_RING_CTRL"), 0)
        inp.clock_step(3)
        read_status(inp, nic)
        out[f"03-tx-nic{n}"] = inp

    # RX: one NIC posts buffers, the other sends: the hub delivers.
    for n, (rx, tx) in enumerate(((a, b), (b, a))):
        inp = start(nics, ledger)
        inp.write(rx.region["regs"], const("TN_REG_IMS"), const("TN_INT_ALL"))
        ring_setup(inp, rx, RX, RX_RING, 8)
        tail(inp, rx, RX, 7)
        ring_setup(inp, tx, TX, TX_RING, 8)
        for t in (1, 2, 3, 4):
            tail(inp, tx, TX, t)
            inp.clock_step()
        read_status(inp, rx)
        # More frames than posted buffers: RX_NOBUF, then post more.
        for t in (5, 6, 7, 0, 1):
            tail(inp, tx, TX, t)
        inp.clock_step(2)
        tail(inp, rx, RX, 3)
        inp.clock_step(2)
        read_status(inp, rx)
        inp.write(rx.region["regs"], RX + const("TN_RING_CTRL"), 0)
        inp.clock_step(3)
        read_status(inp, rx)
        out[f"04-rx-nic{n}"] = inp

    # MSI-X: enable it in config space, program the table, interrupts of
    # every vector, a masked vector (pending bit), moderation.
    for n, nic in enumerate(nics):
        inp = start(nics, ledger)
        inp.pci_write(nic.pci, nic.cap + 2, 0x8000 | (const("TN_MSIX_VECTORS") - 1), WORD)
        table = nic.region["msix-table"]
        for v in range(const("TN_MSIX_VECTORS")):
            inp.write(table, v * 16 + 0, MSI_ADDR)
            inp.write(table, v * 16 + 4, 0)
            inp.write(table, v * 16 + 8, 0x40 + v)
            inp.write(table, v * 16 + 12, 1 if v == const("TN_MSIX_VEC_OTHER") else 0)
        regs = nic.region["regs"]
        inp.write(regs, const("TN_REG_IMS"), const("TN_INT_ALL"))
        inp.write(regs, const("TN_REG_ITR_US"), 50)
        other = nics[1 - n]
        ring_setup(inp, nic, RX, RX_RING, 8)
        tail(inp, nic, RX, 6)
        ring_setup(inp, nic, TX, TX_RING, 8)
        ring_setup(inp, other, TX, TX_RING + 0x1000, 8)
        for t in (1, 2, 3):
            tail(inp, nic, TX, t)
            tail(inp, other, TX, t)
        inp.clock_step(3)
        inp.read(nic.region["msix-pba"], 0)
        inp.write(table, const("TN_MSIX_VEC_OTHER") * 16 + 12, 0)
        # Auto-masking: the next TX interrupt masks its cause.
        inp.write(regs, const("TN_REG_IAM"), const("TN_INT_TX") | const("TN_INT_RX"))
        tail(inp, nic, TX, 4)
        inp.clock_step()
        inp.read(regs, const("TN_REG_IMS"))
        inp.write(regs, const("TN_REG_ICR"), const("TN_INT_ALL"))
        inp.write(regs, const("TN_REG_CTRL"), const("TN_CTRL_RST"))
        inp.clock_step(3)
        inp.read(nic.region["msix-pba"], 0)
        read_status(inp, nic)
        inp.write(regs, const("TN_REG_IMC"), const("TN_INT_ALL"))
        inp.pci_write(nic.pci, nic.cap + 2, 0, WORD)
        # INTx: a cause with MSI-X off, acknowledged.
        inp.write(regs, const("TN_REG_IMS"), const("TN_INT_ERROR"))
        inp.write(regs, TX + const("TN_RING_SIZE"), 3)
        inp.write(regs, TX + const("TN_RING_CTRL"), const("TN_RING_CTRL_ENABLE"))
        inp.read(regs, const("TN_REG_ICR"))
        inp.write(regs, const("TN_REG_ICR"), const("TN_INT_ERROR"))
        out[f"05-msix-nic{n}"] = inp

    # Reset with both rings busy; register writes during the reset.
    inp = start(nics, ledger)
    regs = a.region["regs"]
    ring_setup(inp, a, RX, RX_RING, 16)
    tail(inp, a, RX, 15)
    ring_setup(inp, a, TX, TX_RING, 16)
    tail(inp, a, TX, 5)
    inp.write(regs, const("TN_REG_CTRL"), const("TN_CTRL_RST"))
    inp.read(regs, const("TN_REG_CTRL"))
    inp.read(regs, const("TN_REG_STATUS"))
    tail(inp, a, TX, 6)
    inp.write(regs, TX + const("TN_RING_CTRL"), 0)
    inp.clock_step(4)
    read_status(inp, a)
    inp.write(regs, const("TN_REG_MAC_LO"), 0x56341252)
    inp.write(regs, const("TN_REG_MAC_HI"), 0x9a78)
    ring_setup(inp, a, TX, TX_RING, 16)
    tail(inp, a, TX, 1)
    read_status(inp, a)
    out["06-reset"] = inp

    # Drains and the free rules: ring memory freed while the ring drains
    # (free-not-quiesced), buffers freed while posted, then DMA into freed
    # memory (dma-after-free); quiesced read back at the end.
    for n, nic in enumerate(nics):
        inp = start(nics, ledger)
        regs = nic.region["regs"]
        lg = ledger.region["regs"]
        ring_setup(inp, nic, TX, TX_RING, 8)
        tail(inp, nic, TX, 2)
        inp.write(regs, TX + const("TN_RING_CTRL"), 0)
        inp.read(regs, TX + const("TN_RING_STATUS"))
        ledger_free_shared(inp, lg, 1, TX_RING, RINGS_LEN)
        inp.clock_step(3)
        read_status(inp, nic)
        ledger_alloc_shared(inp, lg, 1, TX_RING, RINGS_LEN)
        ring_setup(inp, nic, TX, TX_RING, 8)
        ledger_free_shared(inp, lg, 2, BUF, BUF_LEN)
        tail(inp, nic, TX, 3)
        inp.clock_step()
        ring_setup(inp, nic, RX, RX_RING, 8)
        tail(inp, nic, RX, 4)
        other = nics[1 - n]
        ring_setup(inp, other, TX, TX_RING + 0x2000, 8)
        tail(inp, other, TX, 2)
        inp.clock_step(2)
        inp.write(regs, TX + const("TN_RING_CTRL"), 0)
        inp.write(regs, RX + const("TN_RING_CTRL"), 0)
        inp.read(regs, const("TN_REG_STATUS"))
        inp.clock_step(4)
        inp.read(regs, const("TN_REG_STATUS"))
        inp.read(regs, TX + const("TN_RING_STATUS"))
        inp.read(regs, RX + const("TN_RING_STATUS"))
        out[f"07-drain-free-nic{n}"] = inp

    # Guest programming errors.
    inp = start(nics, ledger, patterns=[desc(BUF, 0, own_eop_irq())])
    regs = a.region["regs"]
    inp.write(regs, const("TN_REG_IMS"), const("TN_INT_ALL"))
    ring_setup(inp, a, TX, TX_RING, 12)                 # not a power of two
    ring_setup(inp, a, TX, TX_RING, 4)                  # below the minimum
    ring_setup(inp, a, TX, TX_RING, 8192)               # above the maximum
    ring_setup(inp, a, TX, TX_RING + 8, 8)              # misaligned
    tail(inp, a, TX, 1)                                 # ring not enabled
    ring_setup(inp, a, TX, TX_RING, 8)
    ring_setup(inp, a, TX, TX_RING + 0x100, 8, enable=False)   # busy
    tail(inp, a, TX, 9)                                 # outside the ring
    tail(inp, a, TX, 1)                                 # zero-length descriptor
    inp.clock_step()
    inp.clear_patterns()
    inp.dma_pattern(desc(BUF, 0xffff, own_eop_irq()))   # over TN_MAX_FRAME
    tail(inp, a, TX, 2)
    inp.clear_patterns()
    inp.dma_pattern(desc(BUF, 64, const("TN_DESC_EOP")))   # no OWN
    tail(inp, a, TX, 3)
    inp.clear_patterns()
    inp.dma_pattern(desc(BUF, 64, const("TN_DESC_OWN")))   # never an EOP
    tail(inp, a, TX, 7)
    inp.clock_step(2)
    inp.clear_patterns()
    inp.dma_pattern(desc(0xfffffffffffffff0, 64, own_eop_irq()))   # wraps 2^64
    tail(inp, a, TX, 0)
    inp.dma_pattern(desc(0x40000000, 64, own_eop_irq()))   # past RAM
    tail(inp, a, TX, 1)
    inp.write(regs, TX + const("TN_RING_CTRL"), 0)
    inp.write(regs, TX + const("TN_RING_CTRL"), const("TN_RING_CTRL_ENABLE"))  # draining
    inp.clock_step(3)
    read_status(inp, a)
    # Bus mastering off: descriptor fetches fail.
    ring_setup(inp, a, RX, RX_RING, 8)
    pci_enable(inp, a, master=False)
    tail(inp, a, RX, 3)
    ring_setup(inp, b, TX, TX_RING + 0x4000, 8)
    tail(inp, b, TX, 1)
    inp.clock_step()
    pci_enable(inp, a)
    read_status(inp, a)
    out["08-errors"] = inp

    # A wrapping ring: twenty frames through an 8-descriptor ring.
    inp = start(nics, ledger)
    ring_setup(inp, a, TX, TX_RING, 8)
    ring_setup(inp, b, RX, RX_RING, 8)
    tail(inp, b, RX, 7)
    for i in range(1, 21):
        tail(inp, a, TX, i % 8)
        if i % 4 == 0:
            tail(inp, b, RX, (i + 7) % 8)
            inp.clock_step()
    read_status(inp, a)
    read_status(inp, b)
    out["09-wrap"] = inp

    # More frames in one TAIL write than the device sends per kick
    # (TRACENIC_KICK_BUDGET, 256): a bottom half continues.  Only the NIC
    # without tx-dma-delay-ns sends them at once, and which one that is the
    # probe does not tell: one seed each.
    for n, nic in enumerate(nics):
        inp = start(nics, ledger)
        ring_setup(inp, nic, TX, TX_RING, 512)
        tail(inp, nic, TX, 300)
        inp.clock_step()
        read_status(inp, nic)
        out[f"10-kick-budget-nic{n}"] = inp
    out.update(e1000e_seeds(layout))
    return out


# --- e1000e ---------------------------------------------------------------

E_TX_RING = TX_RING + 0x8000
E_RX_RING = RX_RING + 0x8000


def e1000e_up(inp, e):
    """What Linux's e1000e does first: bus mastering, a reset, the link up
    (CTRL.SLU: the model reports STATUS.LU at once)."""
    pci_enable(inp, e)
    regs = e.region["regs"]
    inp.write(regs, E["CTRL"], E["CTRL_RST"] | E["CTRL_SLU"])
    inp.read(regs, E["STATUS"])
    inp.write(regs, E["IMS"], 0x01ffffff)


def e1000e_ring(inp, e, bal, base, n, tail=None):
    """xDBAL/xDBAH/xDLEN/xDH/xDT of one ring: @n 16-byte descriptors."""
    regs = e.region["regs"]
    inp.write(regs, bal + BAL, base & 0xffffffff)
    inp.write(regs, bal + BAH, base >> 32)
    inp.write(regs, bal + LEN, n * 16)
    inp.write(regs, bal + HEAD, 0)
    inp.write(regs, bal + TAIL, 0 if tail is None else tail)


def e1000e_rx_on(inp, e, extra=0):
    inp.write(e.region["regs"], E["RCTL"], E["RCTL_EN"] | E["RCTL_UPE"] | E["RCTL_MPE"]
              | E["RCTL_BAM"] | extra)


def e1000e_status(inp, e):
    regs = e.region["regs"]
    for off in (E["STATUS"], E["ICR"], E["RCTL"], E["TCTL"]):
        inp.read(regs, off)
    for bal in (E["RDBAL"], E["RDBAL1"], E["TDBAL"], E["TDBAL1"]):
        inp.read(regs, bal + HEAD)
        inp.read(regs, bal + TAIL)


def e1000e_remove(inp, e):
    """Linux's e1000e_remove(): receive and transmit off, then the reset."""
    regs = e.region["regs"]
    inp.write(regs, E["RCTL"], 0)
    inp.write(regs, E["TCTL"], 0)
    inp.write(regs, E["CTRL"], E["CTRL_RST"] | E["CTRL_SLU"])


def e1000e_context_desc(ipcss=14, ipcso=24, ipcse=33, tucss=34, tucso=50, tucse=0,
                        paylen=0, tucmd=0, hdr_len=0, mss=0):
    """A TX context descriptor (DEXT, DTYP 0): checksum offsets, TSO."""
    cmd_len = paylen | (E["TXD_CMD_DEXT"] | tucmd) << 24
    return struct.pack("<BBHBBHIBBH", ipcss, ipcso, ipcse, tucss, tucso, tucse, cmd_len,
                       0, hdr_len, mss)


def e1000e_data_desc(addr, length, popts=0, eop=True):
    """A TX data descriptor (DEXT, DTYP D)."""
    cmd = E["TXD_CMD_DEXT"] | E["TXD_CMD_IFCS"] | E["TXD_CMD_RS"] | (
        E["TXD_CMD_EOP"] if eop else 0)
    return struct.pack("<QIBBH", addr, length | E["TXD_DTYP_D"] << 16 | cmd << 24, 0,
                       popts, 0)


def ipv4_udp_frame():
    """A 64-byte IPv4/UDP frame whose first 16 bytes are also the descriptor
    every seed uses (own_eop_irq(), address BUF, length 64): destination
    MAC 00:00:20:00:00:00 is BUF, source MAC 00:00:40:00:07:0b the length
    and flags, then the ethertype in the descriptor's last 4 bytes, which
    neither device reads for TX.  As the only DMA pattern, it is at once the
    tracenic NIC's TX descriptor and the frame it sends, so the e1000e
    receives a frame that header split and checksum offload apply to."""
    head = desc(BUF, 64, own_eop_irq())[:12]
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 50, 1, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    udp = struct.pack(">HHHH", 5000, 5001, 30, 0)
    frame = head + b"\x08\x00" + ip + udp + bytes(range(22))
    assert len(frame) == 64 and frame[:12] == desc(BUF, 64, own_eop_irq())[:12]
    return frame


def e1000e_seeds(layout):
    """The traced e1000e: registers, TX in each descriptor format, RX in each
    format from a tracenic NIC's frames, its frames into a tracenic NIC, the
    RX loop's lap guard, MSI-X, reset and Linux's teardown."""
    nics, ledger = nics_and_ledger(layout)
    e = e1000e_of(layout)
    a = nics[0]
    regs = e.region["regs"]
    TX, RX = const("TN_TX_RING"), const("TN_RX_RING")
    out = {}

    # Config space, every register of the first 32 KiB read once, link up.
    inp = Input()
    for off in (0x00, 0x04, 0x08, 0x10, 0x14, 0x18, 0x1c, 0x2c, 0x34, 0x3c,
                0xa0, 0xa4, 0xd0, 0xe0):
        inp.pci_read(e.pci, off)
    pci_enable(inp, e, master=False)
    e1000e_up(inp, e)
    for off in range(0, 0x8000, 0x40):
        inp.read(regs, off)
    for bal in (E["RDBAL"], E["RDBAL1"], E["TDBAL"], E["TDBAL1"]):
        for off in (BAL, BAH, LEN, HEAD, TAIL):
            inp.read(regs, bal + off)
    out["20-e1000e-config-and-registers"] = inp

    # TX, legacy descriptors, both queues; the frames reach both tracenic
    # NICs through the hub (no RX ring there: dropped).
    inp = start(nics, ledger)
    e1000e_up(inp, e)
    inp.write(regs, E["TCTL"], E["TCTL_EN"])
    inp.write(regs, E["TIDV"], 8)
    inp.write(regs, E["TADV"], 32)
    for bal, base in ((E["TDBAL"], E_TX_RING), (E["TDBAL1"], E_TX_RING + 0x1000)):
        e1000e_ring(inp, e, bal, base, 16)
        for t in (1, 2, 3):
            inp.write(regs, bal + TAIL, t)
            inp.clock_step()
    e1000e_status(inp, e)
    inp.write(regs, E["TCTL"], 0)
    inp.clock_step(2)
    e1000e_status(inp, e)
    out["21-e1000e-tx-legacy"] = inp

    # TX, context and data descriptors: checksum offload, then TSO.
    for name, ctx, data in (
            ("csum", e1000e_context_desc(),
             e1000e_data_desc(BUF, 64, E["TXD_POPTS_IXSM"] | E["TXD_POPTS_TXSM"])),
            ("tso", e1000e_context_desc(paylen=246, tucmd=E["TXD_CMD_TSE"] | 0x3,
                                        hdr_len=54, mss=100),
             e1000e_data_desc(BUF, 300, E["TXD_POPTS_IXSM"] | E["TXD_POPTS_TXSM"]))):
        inp = start(nics, ledger, patterns=[ctx, data])
        e1000e_up(inp, e)
        inp.write(regs, E["TCTL"], E["TCTL_EN"])
        e1000e_ring(inp, e, E["TDBAL"], E_TX_RING, 16)
        for t in (2, 4, 6):
            inp.write(regs, E["TDBAL"] + TAIL, t)
            inp.clock_step()
        e1000e_status(inp, e)
        out[f"22-e1000e-tx-{name}"] = inp

    # RX in each descriptor format, the frames sent by tracenic NIC a.
    for name, rctl, rfctl in (("legacy", 0, 0), ("extended", 0, E["RFCTL_EXTEN"]),
                              ("packet-split", E["RCTL_DTYP_PS"], E["RFCTL_EXTEN"])):
        inp = start(nics, ledger)
        e1000e_up(inp, e)
        inp.write(regs, E["RFCTL"], rfctl)
        inp.write(regs, E["PSRCTL"], 2 | 1 << 8 | 1 << 16)
        inp.write(regs, E["RDTR"], 4)
        inp.write(regs, E["RADV"], 16)
        e1000e_ring(inp, e, E["RDBAL"], E_RX_RING, 8, tail=6)
        e1000e_rx_on(inp, e, rctl | E["RCTL_LPE"])
        ring_setup(inp, a, TX, TX_RING, 8)
        for t in (1, 2, 3, 4):
            tail(inp, a, TX, t)
            inp.clock_step()
        e1000e_status(inp, e)
        # More frames than posted buffers, then more buffers.
        for t in (5, 6, 7, 0, 1):
            tail(inp, a, TX, t)
        inp.write(regs, E["RDBAL"] + TAIL, 2)
        inp.clock_step(3)
        e1000e_status(inp, e)
        e1000e_remove(inp, e)
        inp.clock_step()
        out[f"23-e1000e-rx-{name}"] = inp

    # An IPv4/UDP frame: header split into buffer 0 (buffer 1's address is
    # the frame's bytes 8..15, outside guest RAM: a failed buffer write), and
    # with legacy descriptors the IP and UDP checksum offload.
    for name, rctl, rfctl in (("packet-split", E["RCTL_DTYP_PS"], E["RFCTL_EXTEN"]),
                              ("legacy", 0, 0)):
        inp = start(nics, ledger, patterns=[ipv4_udp_frame()])
        e1000e_up(inp, e)
        inp.write(regs, E["RFCTL"], rfctl)
        inp.write(regs, E["PSRCTL"], 2 | 1 << 8)
        inp.write(regs, E["RXCSUM"], 0x300)     # IPOFLD | TUOFLD
        e1000e_ring(inp, e, E["RDBAL"], E_RX_RING, 8, tail=6)
        e1000e_rx_on(inp, e, rctl)
        ring_setup(inp, a, TX, TX_RING, 8)
        for t in (1, 2):
            tail(inp, a, TX, t)
            inp.clock_step()
        e1000e_status(inp, e)
        out[f"23-e1000e-rx-ipv4-{name}"] = inp

    # The RX loop's lap guard (docs/e1000e.md): packet split, buffers 1..3
    # of size 0, an odd tail the head (two slots a step) never meets.
    inp = start(nics, ledger)
    e1000e_up(inp, e)
    inp.write(regs, E["RFCTL"], E["RFCTL_EXTEN"])
    inp.write(regs, E["PSRCTL"], 2)
    e1000e_ring(inp, e, E["RDBAL"], E_RX_RING, 8, tail=7)
    e1000e_rx_on(inp, e, E["RCTL_DTYP_PS"])
    ring_setup(inp, a, TX, TX_RING, 8)
    tail(inp, a, TX, 1)
    inp.clock_step()
    e1000e_status(inp, e)
    out["24-e1000e-rx-lap"] = inp

    # e1000e's frames into tracenic NIC a's RX ring.
    inp = start(nics, ledger)
    e1000e_up(inp, e)
    ring_setup(inp, a, RX, RX_RING, 8)
    tail(inp, a, RX, 7)
    inp.write(regs, E["TCTL"], E["TCTL_EN"])
    e1000e_ring(inp, e, E["TDBAL"], E_TX_RING, 8)
    for t in (1, 2, 3, 4, 5):
        inp.write(regs, E["TDBAL"] + TAIL, t)
        inp.clock_step()
    read_status(inp, a)
    e1000e_status(inp, e)
    out["25-e1000e-to-tracenic"] = inp

    # MSI-X: the table, IVAR routing each queue and "other" to its vector,
    # auto-clear and auto-mask, a masked vector (pending bit), moderation;
    # then MSI and INTx.
    inp = start(nics, ledger)
    e1000e_up(inp, e)
    inp.pci_write(e.pci, e.cap + 2, 0x8000 | (E["MSIX_VECTORS"] - 1), WORD)
    table = e.region["msix-table"]
    for v in range(E["MSIX_VECTORS"]):
        inp.write(table, v * 16 + 0, MSI_ADDR)
        inp.write(table, v * 16 + 4, 0)
        inp.write(table, v * 16 + 8, 0x50 + v)
        inp.write(table, v * 16 + 12, 1 if v == 4 else 0)
    ivar = E["IVAR_INT_ON_ALL_WB"]
    for vec, shift in enumerate((0, 4, 8, 12, 16)):
        ivar |= (E["IVAR_VALID"] | vec) << shift
    inp.write(regs, E["IVAR"], ivar)
    inp.write(regs, E["CTRL_EXT"], E["CTRL_EXT_PBA_CLR"] | E["CTRL_EXT_EIAME"])
    inp.write(regs, E["EIAC"], E["ICR_RXQ0"] | E["ICR_TXQ0"])
    inp.write(regs, E["IAM"], E["ICR_RXQ0"] | E["ICR_TXQ0"])
    inp.write(regs, E["ITR"], 500)
    e1000e_ring(inp, e, E["RDBAL"], E_RX_RING, 8, tail=7)
    e1000e_rx_on(inp, e)
    inp.write(regs, E["TCTL"], E["TCTL_EN"])
    e1000e_ring(inp, e, E["TDBAL"], E_TX_RING, 8)
    ring_setup(inp, a, TX, TX_RING, 8)
    for t in (1, 2, 3):
        inp.write(regs, E["TDBAL"] + TAIL, t)
        tail(inp, a, TX, t)
        inp.clock_step()
    inp.write(regs, E["ICS"], E["ICR_LSC"] | E["ICR_OTHER"])
    inp.read(e.region["msix-pba"], 0)
    inp.write(table, 4 * 16 + 12, 0)
    inp.clock_step(3)
    inp.read(regs, E["ICR"])
    inp.pci_write(e.pci, e.cap + 2, 0, WORD)
    # MSI (capability at 0xD0): address, data, enable; then INTx.
    inp.pci_write(e.pci, 0xd4, MSI_ADDR)
    inp.pci_write(e.pci, 0xd8, 0x60, WORD)
    inp.pci_write(e.pci, 0xd2, 1, WORD)
    inp.write(regs, E["ICS"], E["ICR_TXDW"])
    inp.pci_write(e.pci, 0xd2, 0, WORD)
    inp.write(regs, E["ICS"], E["ICR_RXT0"])
    inp.read(regs, E["ICR"])
    e1000e_status(inp, e)
    out["26-e1000e-msix"] = inp

    # Teardown and hostile programming: CTRL.RST with the rings on (QEMU
    # 7.2 keeps them on), Linux's remove, a ring moved while on, length 0,
    # a tail past the ring, bus mastering off, a ring past guest RAM.
    inp = start(nics, ledger)
    e1000e_up(inp, e)
    e1000e_ring(inp, e, E["RDBAL"], E_RX_RING, 8, tail=7)
    e1000e_rx_on(inp, e)
    inp.write(regs, E["TCTL"], E["TCTL_EN"])
    e1000e_ring(inp, e, E["TDBAL"], E_TX_RING, 8)
    inp.write(regs, E["TDBAL"] + TAIL, 3)
    inp.write(regs, E["CTRL"], E["CTRL_RST"] | E["CTRL_SLU"])
    inp.write(regs, E["TDBAL"] + TAIL, 5)
    inp.write(regs, E["RDBAL"] + BAL, E_RX_RING + 0x1000)
    inp.write(regs, E["RDBAL"] + LEN, 0)
    inp.write(regs, E["RDBAL"] + TAIL, 3)
    inp.write(regs, E["TDBAL"] + TAIL, 0xffff)
    pci_enable(inp, e, master=False)
    inp.write(regs, E["TDBAL"] + TAIL, 6)
    ring_setup(inp, a, TX, TX_RING, 8)
    tail(inp, a, TX, 2)
    pci_enable(inp, e)
    inp.write(regs, E["TDBAL"] + BAH, 0xfffffff0)
    inp.write(regs, E["TDBAL"] + TAIL, 7)
    inp.clock_step(2)
    e1000e_status(inp, e)
    e1000e_remove(inp, e)
    inp.clock_step()
    e1000e_status(inp, e)
    out["27-e1000e-reset-and-hostile"] = inp
    return out


def main(argv):
    if len(argv) == 3 and argv[1] == "probe":
        Path(argv[2]).write_bytes(probe())
        return 0
    if len(argv) == 4 and argv[1] == "seeds":
        layout = parse_probe_log(Path(argv[2]).read_text(errors="replace"))
        outdir = Path(argv[3])
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir.parent / "layout.json").write_text(json.dumps(layout, indent=1) + "\n")
        for name, inp in seeds(layout).items():
            (outdir / name).write_bytes(inp.bytes())
        return 0
    sys.stderr.write("usage: make_seeds.py probe FILE | make_seeds.py seeds PROBE_LOG DIR\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
