"""A Linux guest on the project's QEMU sees the tracenic PCI device."""
from tracenic import contract, paths
from tracenic.contract import C
from tracenic.vm import run_guest

# vendor, device as the runner prints them; class 0x020000 is PCI's Ethernet controller
TN_PCI = (f"0x{C.TN_PCI_VENDOR_ID:04x}", f"0x{C.TN_PCI_DEVICE_ID:04x}", "0x020000")


def test_guest_sees_tracenic_and_trace_is_complete(tmp_path):
    run = run_guest(tmp_path, ["sleep 1"], timeout=90)
    assert not run.timed_out, f"guest hung; console:\n{run.console}"
    assert run.completed, f"runner did not finish: {run.results}\n{run.console}"
    assert run.exit_code == 0
    pci = [r.split()[1:] for r in run.results if r.startswith("pci ")]
    assert any(tuple(p[1:]) == TN_PCI for p in pci), pci
    # The trace closed properly: header, then records ending with END.
    data = run.trace.read_bytes()
    assert contract.field("tn_trace_header", data, "magic") == C.TN_TRACE_MAGIC.encode()
    header_size = contract.field("tn_trace_header", data, "header_size")
    record_size = contract.field("tn_trace_header", data, "record_size")
    assert (header_size, record_size) == (C.TN_TRACE_HEADER_SIZE, C.TN_TRACE_REC_SIZE)
    assert (len(data) - header_size) % record_size == 0
    assert contract.field("tn_rec", data, "type", len(data) - record_size) == C.TN_REC_END


def test_qemu_lists_tracenic_properties():
    import subprocess
    out = subprocess.run([str(paths.QEMU), "-device", "tracenic,help"],
                         capture_output=True, text=True, check=True).stdout
    for prop in ("trace=", "trace-max-bytes=", "check=", "on-violation=",
                 "rx-dma-delay-ns=", "tx-dma-delay-ns=", "quiesce-delay-ns=",
                 "reset-delay-ns=", "prefetch=", "late-writeback=", "netdev=", "mac="):
        assert prop in out, f"{prop} missing from:\n{out}"
