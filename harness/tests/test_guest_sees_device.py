"""A Linux guest on the project's QEMU sees the tracenic PCI device."""
import struct

from tracenic import paths
from tracenic.vm import run_guest

TN_PCI = ("0x1234", "0x7e5c", "0x020000")    # vendor, device, class (Ethernet)


def test_guest_sees_tracenic_and_trace_is_complete(tmp_path):
    run = run_guest(tmp_path, ["sleep 1"], timeout=90)
    assert not run.timed_out, f"guest hung; console:\n{run.console}"
    assert run.completed, f"runner did not finish: {run.results}\n{run.console}"
    assert run.exit_code == 0
    pci = [r.split()[1:] for r in run.results if r.startswith("pci ")]
    assert any(tuple(p[1:]) == TN_PCI for p in pci), pci
    # The trace closed properly: header, then records ending with END.
    data = run.trace.read_bytes()
    assert data[:8] == b"TRACENIC"
    header_size, record_size = struct.unpack_from("<HH", data, 10)
    assert (len(data) - header_size) % record_size == 0
    assert data[-record_size + 8] == 18   # TN_REC_END


def test_qemu_lists_tracenic_properties():
    import subprocess
    out = subprocess.run([str(paths.QEMU), "-device", "tracenic,help"],
                         capture_output=True, text=True, check=True).stdout
    for prop in ("trace=", "trace-max-bytes=", "check=", "on-violation=",
                 "rx-dma-delay-ns=", "tx-dma-delay-ns=", "quiesce-delay-ns=",
                 "reset-delay-ns=", "prefetch=", "late-writeback=", "netdev=", "mac="):
        assert prop in out, f"{prop} missing from:\n{out}"
