"""Sustained traffic both ways through tracenic with the trace and online check on.

The bench image's static tn-blast sends raw frames from the guest for 2 s
(TX) and counts frames the host's tn-hostnet pours in (RX), 64 and 1500 B,
over a UDP socket netdev on loopback.  The device must move thousands of
frames per second each way, the host's own count must bear the guest's
out, and the trace of it all must check clean: the per-packet map/unmap
and ring paths of the correct driver under load leave no violation.
"""
import subprocess
import sys

from tracenic import paths

sys.path.insert(0, str(paths.TOP / "bench"))
import nic  # noqa: E402

FLOOR_PPS = 2000        # an order of magnitude below what a loaded 2-core TCG host does


def test_tx_and_rx_sustained_with_trace_clean(built, tmp_path):
    assert nic.INITRAMFS.exists() and nic.HOSTNET.exists(), "run `make bench-image bench-tools`"
    cfg = next(c for c in nic.CONFIGS if c[0] == "tracenic-trace")
    run = nic.boot(tmp_path, cfg, 2.0, "tcg", timeout=120)
    assert not run["failures"], run["failures"]
    got = {(t["direction"], t["size"]): t for t in run["tests"]}
    assert set(got) == {("tx", 64), ("tx", 1500), ("rx", 64), ("rx", 1500)}
    for (direction, size), t in got.items():
        assert t["pps"] >= FLOOR_PPS, f"{direction} {size} B: {t['pps']:.0f} frames/s"
        host = t["host"].get("packets")
        assert host, t["host"]
        # Both ends count the whole test, warm-up included.  Every frame the guest sent
        # reached the host's sink; the guest cannot receive more than the host sent (some
        # may be dropped on the way in when all RX buffers are in use: that is allowed).
        if direction == "tx":
            assert host >= 0.95 * t["total"], (size, t)
        else:
            assert t["total"] <= host, (size, t)
    check = subprocess.run([str(paths.DMACHECK), run["trace"]], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-3000:]
