#!/usr/bin/python3
"""Seed corpus for QEMU's generic-fuzz over tracenic, tracenic-ledger and a
shared tracenic-trace object (make fuzz-device, docs/fuzzing.md).

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
device by device: a NIC's registers, its MSI-X table, its PBA; the ledger
device's registers.  Only the device order is unknown before QEMU runs (it
follows QOM's hash of the devices' names), so the seeds are made in two
steps:

  make_seeds.py probe FILE        an input that writes to offset 0x800+4*i
                                  of region i, for i in 0..13
  make_seeds.py seeds LOG DIR     reads what QEMU logged running the probe
                                  with -d guest_errors (each device names
                                  itself and the offset in its message),
                                  works out the order, writes the seeds

(QTEST_LOG cannot serve: in the fuzzer the qtest chardev is /dev/null,
which reports end-of-file on the first main-loop turn, and qtest stops
logging there.)

Guest memory is never written by a command: every DMA read the devices make
(descriptor fetch, TX buffer) is filled by generic-fuzz from the next DMA
pattern in turn.  The seeds therefore install one 16-byte pattern that is a
valid descriptor (buffer address, length, OWN|EOP|IRQ) and is also what the
TX buffers read as frame bytes.  RX is reached through the hub: the fuzzing
command line (fuzz-device.sh) puts both NICs on one -netdev hub, so a frame
one NIC sends is received by the other.
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

# Region indexes the probe tries: twice the 7 regions (2 NICs x registers,
# MSI-X table, PBA, and the ledger device's registers), to see the wrap.
PROBE_REGIONS = 14
PROBE_OFF = 0x800
NIC_REGIONS = ("regs", "msix-table", "msix-pba")
# msix_init() with cap_pos 0 puts MSI-X first in the config space, at 0x40.
MSIX_CAP = 0x40

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


def parse_probe_log(text):
    """The layout: each region index's device and what it is, each PCI
    device index's device."""
    kind = {}
    for m in re.finditer(r"^(tracenic|tracenic-ledger): write (?:of 0x[0-9a-f]+ )?to "
                         r"(?:read-only or unknown register )?0x([0-9a-f]+)", text, re.M):
        region = (int(m.group(2), 16) - PROBE_OFF) // 4
        kind[region] = "nic" if m.group(1) == "tracenic" else "ledger"
    seen = [kind.get(i, "-") for i in range(PROBE_REGIONS)]
    n = PROBE_REGIONS // 2
    # NIC registers are followed by its MSI-X table and PBA, which log nothing.
    order, i = [], 0
    while i < n:
        if seen[i] == "nic" and seen[i + 1:i + 3] == ["-", "-"]:
            order.append("nic")
            i += 3
        elif seen[i] == "ledger":
            order.append("ledger")
            i += 1
        else:
            break
    if seen[:n] != seen[n:] or i != n or sorted(order) != ["ledger", "nic", "nic"]:
        sys.exit("make_seeds: the probe's log does not show 2 tracenic NICs (registers, MSI-X "
                 f"table, PBA) and 1 tracenic-ledger in {n} regions; region by region it shows "
                 f"{' '.join(seen)}. Run the probe with -d guest_errors (fuzz-device.sh does) "
                 "and check the fuzzing command line.")
    devices, region = [], 0
    for pci, what in enumerate(order):
        d = {"pci": pci, "kind": what, "regions": {}}
        for name in (NIC_REGIONS if what == "nic" else ("regs",)):
            d["regions"][name] = region
            region += 1
        devices.append(d)
    return {"devices": devices}


class Dev:
    """One fuzzed PCI device as the seeds address it."""

    def __init__(self, d):
        self.pci = d["pci"]
        self.region = d["regions"]
        self.cap = MSIX_CAP


def nics_and_ledger(layout):
    nics = [Dev(d) for d in layout["devices"] if d["kind"] == "nic"]
    ledger = next(Dev(d) for d in layout["devices"] if d["kind"] == "ledger")
    return nics, ledger


# --- building blocks ------------------------------------------------------


def desc(addr, length, flags):
    return struct.pack("<QHHHH", addr, length, flags, 0, 0)


def own_eop_irq():
    return const("TN_DESC_OWN") | const("TN_DESC_EOP") | const("TN_DESC_IRQ")


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
        ledger_cmd(inp, r, const("TN_LG_CMD_UNMAP"), id_=5, length=0x600, site=0x20015)
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
