"""qemu-device/fuzz/make_seeds.py: the probe log read into the layout, and the
seeds built on it (make fuzz-device, docs/fuzzing.md).

The probe log lines are the devices' own messages: tracenic's and
tracenic-ledger's guest errors, e1000e's register-write trace events (log
backend, with and without the pid@time prefix -d trace: gives).
"""
import importlib.util
import struct

import pytest

from tracenic import paths

spec = importlib.util.spec_from_file_location(
    "make_seeds", paths.TOP / "qemu-device" / "fuzz" / "make_seeds.py")
make_seeds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_seeds)

OFF = make_seeds.PROBE_OFF


def line(kind, region, stamp=False):
    off = OFF + 4 * region
    if kind == "nic":
        return f"tracenic: write of 0x0 to read-only or unknown register {off:#x}; ignored"
    if kind == "ledger":
        return f"tracenic-ledger: write to {off:#x}, which is no writable ledger register; ignored"
    pre = "4242@1764950000.123456:" if stamp else ""
    return (f"{pre}e1000e_wrn_regs_write_unknown WARNING: Write to unknown register {off:#x}, "
            "4 byte(s), value: 0x0")


def probe_log(order, stamp=False):
    """What the probe logs for devices in @order (twice round the regions)."""
    out, region = ["some other QEMU output"], 0
    for _ in range(2):
        for kind in order:
            out.append(line(kind, region, stamp))
            region += 3 if kind != "ledger" else 1
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("order", [
    ("ledger", "nic", "nic", "e1000e"),
    ("e1000e", "nic", "ledger", "nic"),
    ("nic", "e1000e", "nic", "ledger"),
])
@pytest.mark.parametrize("stamp", [False, True])
def test_layout_from_probe(order, stamp):
    layout = make_seeds.parse_probe_log(probe_log(order, stamp))
    assert [d["kind"] for d in layout["devices"]] == list(order)
    region = 0
    for pci, d in enumerate(layout["devices"]):
        assert d["pci"] == pci
        names = ("regs",) if d["kind"] == "ledger" else ("regs", "msix-table", "msix-pba")
        assert d["regions"] == {n: region + i for i, n in enumerate(names)}
        region += len(names)
    assert region == make_seeds.PROBE_REGIONS // 2


def test_e1000e_core_write_event_counts():
    """A register e1000e handles logs e1000e_core_write, not a warning."""
    text = probe_log(("ledger", "nic", "nic", "e1000e")).replace(
        "e1000e_wrn_regs_write_unknown WARNING: Write to unknown register",
        "e1000e_core_write Write to register")
    assert [d["kind"] for d in make_seeds.parse_probe_log(text)["devices"]][-1] == "e1000e"


@pytest.mark.parametrize("order", [
    ("ledger", "nic", "nic"),                       # no e1000e on the command line
    ("ledger", "nic", "e1000e", "e1000e"),          # one NIC short
])
def test_probe_without_the_devices_is_refused(order, capsys):
    with pytest.raises(SystemExit) as e:
        make_seeds.parse_probe_log(probe_log(order))
    assert "2 tracenic NICs and 1 e1000e" in str(e.value)
    assert "region by region it shows" in str(e.value)


def test_probe_without_trace_events_is_refused():
    text = "\n".join(ln for ln in probe_log(("ledger", "nic", "nic", "e1000e")).splitlines()
                     if "e1000e" not in ln)
    with pytest.raises(SystemExit) as e:
        make_seeds.parse_probe_log(text)
    assert "trace:e1000e_core_write" in str(e.value)


def commands(data):
    return data.split(make_seeds.SEPARATOR)


def test_seeds_reach_every_device():
    layout = make_seeds.parse_probe_log(probe_log(("e1000e", "nic", "ledger", "nic")))
    seeds = make_seeds.seeds(layout)
    e = next(d for d in layout["devices"] if d["kind"] == "e1000e")
    e1000e_seeds = {n: s for n, s in seeds.items() if "e1000e" in n}
    assert len(e1000e_seeds) >= 10
    for name, inp in seeds.items():
        data = inp.bytes()
        assert data, name
        for cmd in commands(data):
            assert cmd[0] < 10, name
    for name, inp in e1000e_seeds.items():
        writes = [struct.unpack("<BBxxIQ", c[1:17]) for c in commands(inp.bytes())
                  if c[0] == make_seeds.OP_WRITE]
        # Every e1000e seed programs e1000e's own registers (BAR 0).
        assert any(region == e["regions"]["regs"] for _, region, _, _ in writes), name
    # The RX seeds post a ring and enable receive: RDT and RCTL.EN written.
    rx = commands(e1000e_seeds["23-e1000e-rx-legacy"].bytes())
    regs = [struct.unpack("<BBxxIQ", c[1:17])[1:] for c in rx if c[0] == make_seeds.OP_WRITE]
    E = make_seeds.E
    assert (e["regions"]["regs"], E["RDBAL"] + make_seeds.TAIL, 6) in regs
    assert any(r == e["regions"]["regs"] and off == E["RCTL"] and v & E["RCTL_EN"]
               for r, off, v in regs)


def test_the_shared_pattern_is_both_devices_descriptor():
    """The one 16-byte pattern: tracenic's OWN|EOP|IRQ descriptor, and e1000e's
    legacy TX descriptor with CMD EOP|IFCS|RS and the same buffer and length."""
    d = make_seeds.desc(make_seeds.BUF, 64, make_seeds.own_eop_irq())
    addr, length, cso, cmd = struct.unpack("<QHBB", d[:12])
    E = make_seeds.E
    assert (addr, length) == (make_seeds.BUF, 64)
    assert cmd == E["TXD_CMD_EOP"] | E["TXD_CMD_IFCS"] | E["TXD_CMD_RS"]
    frame = make_seeds.ipv4_udp_frame()
    assert frame[:12] == d[:12]
    assert frame[12:14] == b"\x08\x00" and frame[14] == 0x45 and frame[23] == 17
