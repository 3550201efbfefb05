"""The trace's ledger records are what the driver did, and a correct run frees everything.

The driver is loaded with ledger_echo=1: its NDIS layer then also logs each
ledger event it sends (dmesg, reported as TNR ledger lines).  Through every
free path under traffic - up, ping, TX, host RX flood, MTU change, ring
resize, reset, down, unload - the device's trace must hold exactly those
events, field for field and in the same order, with no ledger error.
"""
import json
import subprocess

from tracenic import paths, scenario, vm
from tracenic.contract import C

STEPS = ["load ledger_echo=1", "up", "ping 3", "tx 30 1200", "rx 200 1000", "mtu 3000",
         "ping 2", "rings 64 128", "ping 2", "reset", "ping 2", "down", "up", "ping 1",
         "down", "unload"]

ALLOC, EXTENT, FREE, MAP, UNMAP = (C.TN_LG_CMD_ALLOC, C.TN_LG_CMD_EXTENT, C.TN_LG_CMD_FREE,
                                   C.TN_LG_CMD_MAP, C.TN_LG_CMD_UNMAP)


def _from_echo(e: dict) -> tuple:
    cmd = e["cmd"]
    if cmd == ALLOC:
        return ("alloc", e["id"], e["va"], e["len"], e["flags"], e["tag"], e["site"], e["code"],
                e["irql"], e["ext"])
    if cmd == EXTENT:
        return ("extent", e["id"], e["bus"], e["len"], e["code"])
    if cmd == FREE:
        return ("free", e["id"], e["va"], e["len"], e["flags"], e["site"], e["code"], e["irql"])
    if cmd == MAP:
        return ("map", e["id"], e["va"], e["len"], e["site"], e["code"], e["irql"], e["ext"])
    return ("unmap", e["id"], e["len"], e["site"], e["code"], e["irql"])


def _from_trace(r: dict) -> tuple | None:
    t = r["type"]
    if t == "alloc":
        return ("alloc", r["id"], r["va"], r["length"], r["flags"], r["tag"], r["site"],
                r["kind"], r["irql"], r["n_extents"])
    if t == "extent":
        return ("extent", r["id"], r["addr"], r["len"], r["kind"])
    if t == "free":
        return ("free", r["id"], r["va"], r["length"], r["flags"], r["site"], r["kind"],
                r["irql"])
    if t == "map":
        return ("map", r["id"], r["va"], r["length"], r["site"], r["kind"], r["irql"],
                r["n_extents"])
    if t == "unmap":
        return ("unmap", r["id"], r["length"], r["site"], r["kind"], r["irql"])
    return None


def test_trace_ledger_matches_what_the_driver_did(built, tmp_path):
    run = vm.run_vm(scenario.Machine(pcap=False), STEPS, tmp_path, 240, accel="tcg")
    assert run.completed and run.exit_code == 0, run.console[-3000:]
    assert not run.guest.failed_steps, run.guest.failed_steps
    dump = subprocess.run([str(paths.DMACHECK), "--dump", str(run.trace)],
                          capture_output=True, text=True)
    records = [json.loads(line) for line in dump.stdout.splitlines()]
    assert records and records[-1]["type"] == "end", "the trace has no end record"
    assert not [r for r in records if r["type"] == "ledger-error"]

    echoed = [_from_echo(e) for e in run.guest.ledger]
    traced = [t for t in map(_from_trace, records) if t is not None]
    kinds = {k: sum(1 for t in echoed if t[0] == k) for k in ("alloc", "free", "map", "unmap")}
    # Every path really ran: rings reallocated several times, packets mapped both ways.
    assert kinds["alloc"] >= 20 and kinds["map"] >= 30, kinds
    assert len(traced) == len(echoed)
    for i, (want, got) in enumerate(zip(echoed, traced)):
        assert got == want, f"ledger event {i}: the driver sent {want}, the trace holds {got}"

    # A correct run's unload frees everything: nothing live in the layer, dmacheck clean.
    s = run.guest.ndis_summary
    assert (s["live"], s["live_maps"], s["findings"]) == ("0", "0", "0"), s
    assert (int(s["allocs"]), int(s["maps"])) == (kinds["alloc"], kinds["map"])
    assert int(s["frees"]) == kinds["free"] == kinds["alloc"]
    assert int(s["unmaps"]) == kinds["unmap"] == kinds["map"]
    check = subprocess.run([str(paths.DMACHECK), str(run.trace)], capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout
