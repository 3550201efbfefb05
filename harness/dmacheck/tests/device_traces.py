#!/usr/bin/python3
"""dmacheck on traces written by the real tracenic device (make -C harness/dmacheck test-device).

Drives the device through QEMU's qtest protocol (register writes, guest memory,
virtual clock) the way a driver would, for a correct TX flow and two buggy ones,
then checks dmacheck's verdict on each trace the device wrote.
Usage: device_traces.py QEMU DMACHECK WORKDIR
"""
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from tracenic.contract import C, macro, struct_format  # noqa: E402 - the contract headers

QEMU, DMACHECK, WORK = sys.argv[1:4]
BAR = 0xfebf0000                # where this test maps BAR0 (any free MMIO address)
LEDGER_BAR = 0xfebe0000         # and the ledger device's, in hub mode
E1000E_BAR = 0xfeb80000         # e1000e's BAR0: 128 KiB, so 128 KiB aligned
VA = 0xffff888000000000         # a kernel direct-map address, as the driver reports VAs
TX = C.TN_TX_RING
DESC = struct_format("tn_desc")
DESC_SIZE = struct.calcsize(DESC)
RING, SLOTS, NBUF = 0x100000, 8, 4


class Device:
    """The NIC at 04.0; with @hub, a tracenic-trace object and a ledger device at 05.0
    (device 0 of the trace) that the driver reports through instead of the NIC's ledger."""

    def __init__(self, trace, props="", hub=False):
        if hub:
            args = ["-object", "tracenic-trace,id=t0,file=%s" % trace,
                    "-device", "tracenic-ledger,addr=05.0,trace-hub=t0",
                    "-device", "tracenic,addr=04.0,trace-hub=t0%s" % props]
        else:
            args = ["-device", "tracenic,addr=04.0,trace=%s%s" % (trace, props)]
        self.p = subprocess.Popen(
            [QEMU, "-L", "/usr/share/seabios", "-L", "/usr/share/qemu", "-L",
             "/usr/lib/ipxe/qemu", "-M", "pc", "-nodefaults", "-display", "none", "-accel", "qtest",
             "-qtest", "stdio"] + args,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1)
        self.cfg(4, 0x10, BAR)
        self.cfg(4, 0x04, 0x6)     # memory space + bus master
        if self.r(C.TN_REG_ID) != C.TN_ID_VALUE:
            raise SystemExit("device_traces: BAR0 does not read the tracenic ID")
        self.lbar = BAR
        if hub:
            self.cfg(5, 0x10, LEDGER_BAR)
            self.cfg(5, 0x04, 0x2)     # memory space
            self.lbar = LEDGER_BAR

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        while True:
            out = self.p.stdout.readline()
            if not out:
                raise SystemExit("device_traces: QEMU exited during '%s'" % line)
            if out.startswith("OK"):
                return out.split()[1:]
            if out.startswith(("FAIL", "ERR")):
                raise SystemExit("device_traces: '%s' -> %s" % (line, out.strip()))

    def cfg(self, slot, reg, val):
        self.cmd("outl 0xcf8 0x%x" % (0x80000000 | (slot << 11) | reg))
        self.cmd("outl 0xcfc 0x%x" % val)

    bar = BAR

    def w(self, off, val):
        self.cmd("writel 0x%x 0x%x" % (self.bar + off, val))

    def r(self, off):
        return int(self.cmd("readl 0x%x" % (self.bar + off))[0], 16)

    def step(self, ns):
        self.cmd("clock_step %d" % ns)

    def mem(self, addr, data):
        self.cmd("write 0x%x %d 0x%s" % (addr, len(data), data.hex()))

    def ledger(self, code, id=0, va=0, bus=0, length=0, flags=0, site=0, info=0, irql=0, ext=0):
        for off, val in ((C.TN_LG_VA, va & 0xffffffff), (C.TN_LG_VA + 4, va >> 32),
                         (C.TN_LG_BUS, bus & 0xffffffff), (C.TN_LG_BUS + 4, bus >> 32),
                         (C.TN_LG_ID, id), (C.TN_LG_LENGTH, length), (C.TN_LG_FLAGS, flags),
                         (C.TN_LG_TAG, 0), (C.TN_LG_SITE, site),
                         (C.TN_LG_INFO, macro("TN_LG_INFO_PACK", info, irql, ext))):
            self.cmd("writel 0x%x 0x%x" % (self.lbar + off, val))
        self.cmd("writel 0x%x 0x%x" % (self.lbar + C.TN_LG_CMD, code))

    def alloc_shared(self, id, bus, length):
        self.ledger(C.TN_LG_CMD_ALLOC, id, VA + bus, length=length, site=1, info=C.TN_API_SHARED,
                    ext=1)
        self.ledger(C.TN_LG_CMD_EXTENT, id, bus=bus, length=length, info=C.TN_EXT_BUS)

    def free_shared(self, id, bus, length):
        self.ledger(C.TN_LG_CMD_FREE, id, VA + bus, length=length, site=2,
                    info=C.TN_FREE_API_FREE_SHARED)

    def map(self, id, bus, length):
        self.ledger(C.TN_LG_CMD_MAP, id, VA + bus, length=length, site=3, info=C.TN_DIR_TO_DEVICE,
                    ext=1)
        self.ledger(C.TN_LG_CMD_EXTENT, id, bus=bus, length=length, info=C.TN_EXT_BUS)

    def unmap(self, id, length):
        self.ledger(C.TN_LG_CMD_UNMAP, id, length=length, site=4)

    def close(self):
        self.ledger(C.TN_LG_CMD_MARK, info=C.TN_MARK_HALT_END)
        self.step(100000)
        self.p.terminate()      # QEMU exits normally: the device writes END
        self.p.wait(timeout=30)


def run(name, bug, props="", hub=False):
    """A TX ring of 8 with 4 one-packet frames; @bug says what the driver gets wrong."""
    trace = os.path.join(WORK, "device-%s.bin" % name)
    d = Device(trace, props, hub)
    d.alloc_shared(1, RING, DESC_SIZE * SLOTS)
    d.mem(RING, bytes(DESC_SIZE * SLOTS))
    d.w(TX + C.TN_RING_BASE_LO, RING)
    d.w(TX + C.TN_RING_BASE_HI, 0)
    d.w(TX + C.TN_RING_SIZE, SLOTS)
    d.w(TX + C.TN_RING_CTRL, C.TN_RING_CTRL_ENABLE)
    for i in range(NBUF):
        buf = 0x200000 + i * 2048   # two buffers per page
        d.map(100 + i, buf, 2048)
        d.mem(buf, b"\xab" * 64)
        d.mem(RING + DESC_SIZE * i, struct.pack(DESC, buf, 64, C.TN_DESC_OWN | C.TN_DESC_EOP |
                                                C.TN_DESC_IRQ, 0, 0))
    d.w(TX + C.TN_RING_TAIL, NBUF)
    if bug == "unmap-before-completion":
        d.step(1000)            # the transfers are still delayed
        for i in range(NBUF):
            d.unmap(100 + i, 2048)
        d.step(1000000)
    else:
        d.step(1000000)         # all completed: unmapping while the ring runs is fine
        for i in range(NBUF):
            d.unmap(100 + i, 2048)
    d.w(TX + C.TN_RING_CTRL, 0)     # request the stop
    if bug == "free-ring-before-quiesced":
        d.free_shared(1, RING, DESC_SIZE * SLOTS)
    else:
        for _ in range(100):
            d.step(10000)
            if d.r(C.TN_REG_STATUS) & C.TN_STATUS_QUIESCED:
                break
        else:
            raise SystemExit("device_traces: the device never reported QUIESCED")
        d.free_shared(1, RING, DESC_SIZE * SLOTS)
    d.close()
    return trace


# QEMU's e1000e (82574L) registers, from the 82574 datasheet / QEMU's e1000_regs.h.
E1000_CTRL, E1000_STATUS, E1000_TCTL = 0x0000, 0x0008, 0x0400
E1000_TDBAL, E1000_TDBAH, E1000_TDLEN, E1000_TDH, E1000_TDT = 0x3800, 0x3804, 0x3808, 0x3810, 0x3818
E1000_CTRL_SLU, E1000_TCTL_EN = 0x40, 0x2
E1000_TXD_CMD_EOP, E1000_TXD_CMD_RS = 0x01000000, 0x08000000


class E1000E(Device):
    """QEMU's e1000e at 03.0 traced through the kit; with @hub, a ledger device at 05.0
    (device 0 of a shared trace) reports the driver's memory."""

    def __init__(self, trace, hub=False):
        if hub:
            args = ["-object", "tracenic-trace,id=t0,file=%s" % trace,
                    "-device", "tracenic-ledger,addr=05.0,trace-hub=t0",
                    "-device", "e1000e,addr=03.0,trace-hub=t0"]
        else:
            args = ["-device", "e1000e,addr=03.0,trace=%s" % trace]
        self.p = subprocess.Popen(
            [QEMU, "-L", "/usr/share/seabios", "-L", "/usr/share/qemu", "-L",
             "/usr/lib/ipxe/qemu", "-M", "pc", "-nodefaults", "-display", "none", "-accel", "qtest",
             "-qtest", "stdio"] + args,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1)
        self.bar = E1000E_BAR
        self.cfg(3, 0x10, self.bar)
        self.cfg(3, 0x04, 0x6)
        self.w(E1000_CTRL, E1000_CTRL_SLU)
        self.lbar = self.bar
        if hub:
            self.cfg(5, 0x10, LEDGER_BAR)
            self.cfg(5, 0x04, 0x2)
            self.lbar = LEDGER_BAR

    def close(self):
        self.step(100000)
        self.p.terminate()
        self.p.wait(timeout=30)


def run_e1000e(name, hub, free_before_send):
    """One TX frame from a buffer the driver allocated (and maybe freed) through the ledger."""
    trace = os.path.join(WORK, "device-%s.bin" % name)
    d = E1000E(trace, hub)
    buf = 0x200000
    if hub:
        d.alloc_shared(1, RING, DESC_SIZE * SLOTS)
        d.alloc_shared(2, buf, 2048)
    d.mem(RING, bytes(DESC_SIZE * SLOTS))
    d.mem(buf, b"\xff" * 12 + b"\x88\xb5" + b"\xab" * 50)
    d.w(E1000_TDBAL, RING)
    d.w(E1000_TDBAH, 0)
    d.w(E1000_TDLEN, DESC_SIZE * SLOTS)
    d.w(E1000_TDH, 0)
    d.w(E1000_TDT, 0)
    d.w(E1000_TCTL, E1000_TCTL_EN)
    d.mem(RING, struct.pack("<QII", buf, 64 | E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 0))
    if hub and free_before_send:
        d.free_shared(2, buf, 2048)     # the bug: freed, then posted and sent
    d.w(E1000_TDT, 1)
    d.w(E1000_TCTL, 0)
    if hub and not free_before_send:
        d.free_shared(2, buf, 2048)
    if hub:
        d.free_shared(1, RING, DESC_SIZE * SLOTS)
    d.close()
    return trace


def check(name, trace, want_status, want_rules, dma_by=None, verdict=None):
    """dmacheck's exit and rules; with @dma_by, every DMA violation names that device."""
    p = subprocess.run([DMACHECK, "--json", trace], capture_output=True, text=True)
    ok = p.returncode == want_status
    try:
        report = json.loads(p.stdout)
        rules = report["rules"]
    except ValueError:
        report, rules, ok = {}, None, False
    ok = ok and rules == want_rules
    if verdict and report.get("verdict") != verdict:
        print("  verdict %s, not %s" % (report.get("verdict"), verdict))
        ok = False
    if dma_by:
        named = {v["dma"].get("device_name") for v in report.get("violations", []) if "dma" in v}
        if named != {dma_by}:
            print("  DMA violations name %s, not %s" % (sorted(map(str, named)), dma_by))
            ok = False
    print("%s %s: exit %d, rules %s" % ("ok  " if ok else "FAIL", name, p.returncode, rules))
    if not ok:
        print("  expected exit %d, rules %s\n%s" % (want_status, want_rules, p.stderr))
    return ok


results = [
    check("correct-driver", run("correct", None), 0, {}),
    check("free-ring-before-quiesced", run("early-free", "free-ring-before-quiesced"), 1,
          {"free-not-quiesced": 1}),
    # Each buffer is unmapped while its transfer is delayed: the free is caught at the
    # UNMAP (references held) and again when the late DMA reads the freed buffer --
    # for all four, including the two that share a page with another freed buffer.
    check("unmap-before-completion",
          run("late-dma", "unmap-before-completion", ",tx-dma-delay-ns=100000"), 1,
          {"dma-after-free": 4, "free-not-quiesced": 4}),
    # The same two through a ledger device on one shared trace: same verdicts, and the
    # report says which device made the DMA.
    check("hub-correct-driver", run("hub-correct", None, hub=True), 0, {}),
    check("hub-unmap-before-completion",
          run("hub-late-dma", "unmap-before-completion", ",tx-dma-delay-ns=100000", hub=True),
          1, {"dma-after-free": 4, "free-not-quiesced": 4}, dma_by="tracenic 00:04.0 (device 1)"),
    # QEMU's e1000e, unmodified driver behaviour, no ledger: DMA recorded, nothing judged,
    # and the verdict says so.
    check("e1000e-no-ledger", run_e1000e("e1000e-no-ledger", False, False), 0, {},
          verdict="unjudged"),
    # e1000e beside the ledger device on one trace: the driver frees a TX buffer, then
    # posts and sends it: dma-after-free, by e1000e.  (Freed before the tail write, so
    # e1000e held no reference on it yet: no free-not-quiesced.)
    check("e1000e-ledger-send-freed", run_e1000e("e1000e-send-freed", True, True), 1,
          {"dma-after-free": 1}, dma_by="e1000e 00:03.0 (device 1)"),
    check("e1000e-ledger-correct", run_e1000e("e1000e-correct", True, False), 0, {},
          verdict="clean"),
]
passed = sum(results)
print("dmacheck device traces: %d passed, %d failed" % (passed, len(results) - passed))
sys.exit(0 if all(results) else 1)
