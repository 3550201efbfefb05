"""The benchmark tools (bench/): tn-hostnet on loopback, tn-blast against the
host's loopback interface, and the BENCHMARKS.md writer on fake figures."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import report  # noqa: E402


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench-tools")
    inc = f"-I{BENCH.parent / 'include'}"
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", inc, "-o", str(d / "tn-hostnet"),
                    str(BENCH / "tn-hostnet.c")], check=True)
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", inc, "-o", str(d / "tn-blast"),
                    str(BENCH / "tn-blast.c")], check=True)
    return d


from tracenic.contract import C  # noqa: E402
from tracenic.vm import free_udp_port as free_port  # noqa: E402

REC = C.TN_TRACE_REC_SIZE


def figures(line):
    return {k: v for k, _, v in (w.partition("=") for w in line.split()[2:])}


@pytest.mark.parametrize("busy", [[], ["busy"]])
def test_source_to_sink_counts_every_frame(tools, busy):
    port = free_port()
    sink = subprocess.Popen([str(tools / "tn-hostnet"), "sink", f"127.0.0.1:{port}", "3"] + busy,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "tn-hostnet: sink ready"
    src = subprocess.run([str(tools / "tn-hostnet"), "source", f"127.0.0.1:{port}", "100",
                          "0.5", "02:11:22:33:44:55"], capture_output=True, text=True, check=True)
    out, _ = sink.communicate(timeout=10)
    s, r = figures(src.stdout), figures(out.splitlines()[-1])
    sent, got = int(s["packets"]), int(r["packets"])
    # Paced on the sink's own queue: nothing is dropped, every frame arrives.
    assert s["paced"] == "yes" and int(s["drops"]) == 0
    assert sent > 1000, src.stdout
    assert got == sent, (src.stdout, out)
    assert int(r["bytes"]) == 100 * got


def test_source_frames_are_ethernet_to_the_given_mac(tools):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5)
        port = rx.getsockname()[1]
        src = subprocess.Popen([str(tools / "tn-hostnet"), "source", f"127.0.0.1:{port}", "60",
                                "0.2", "02:11:22:33:44:55"], stdout=subprocess.PIPE)
        frame = rx.recv(9000)
        src.wait(timeout=10)
    assert len(frame) == 60
    assert frame[:6] == bytes.fromhex("021122334455")
    assert frame[12:14] == b"\x88\xb5"


def test_busy_sink_polls_instead_of_sleeping(tools):
    """A busy sink never sleeps in recvmmsg (no wake-ups for the sender to
    pay): idle for 1 s it still uses most of a CPU; a plain sink uses none."""
    used = {}
    for mode in ([], ["busy"]):
        p = subprocess.Popen([str(tools / "tn-hostnet"), "sink", f"127.0.0.1:{free_port()}",
                              "1"] + mode, stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        used[bool(mode)] = ru.ru_utime + ru.ru_stime
    assert used[True] > 0.5 and used[False] < 0.1, used


def handshake_frame(src_last: int) -> bytes:
    return b"\xff" * 6 + bytes([2, 0, 0, 0, 0, src_last]) + b"\x88\xb5" + bytes(50)


def test_sink_answers_each_hello_and_reports_the_armed_guest(tools):
    """tn-blast's start handshake from the host's side: every hello gets one
    frame back to its sender, other frames none, and an armed frame is the
    line the bench waits for before it starts the window."""
    port = free_port()
    sink = subprocess.Popen([str(tools / "tn-hostnet"), "sink", f"127.0.0.1:{port}", "3"],
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "tn-hostnet: sink ready"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as guest:
        guest.bind(("127.0.0.1", 0))
        guest.settimeout(0.5)
        guest.sendto(handshake_frame(0x02), ("127.0.0.1", port))      # traffic: no answer
        for _ in range(2):
            guest.sendto(handshake_frame(0x68), ("127.0.0.1", port))
            answer = guest.recv(9000)
            assert answer[11] == 0x6b and answer[12:14] == b"\x88\xb5" and len(answer) == 64
        with pytest.raises(socket.timeout):
            guest.recv(9000)
        guest.sendto(handshake_frame(0x61), ("127.0.0.1", port))
        assert sink.stdout.readline().strip() == "tn-hostnet: guest armed"
    out, _ = sink.communicate(timeout=10)
    assert figures(out.splitlines()[-1])["packets"] == "4", out


@pytest.mark.parametrize("args", [["sink", "10.0.0.1:9"], ["sink", "127.0.0.1:9", "1", "idle"],
                                  ["source", "192.168.1.1:9", "64"],
                                  ["source", "127.0.0.1:9", "9"], ["source", "127.0.0.1:0", "64"]])
def test_hostnet_refuses_bad_arguments(tools, args):
    p = subprocess.run([str(tools / "tn-hostnet")] + args, capture_output=True, text=True,
                       timeout=5)
    assert p.returncode == 2, p
    assert "tn-hostnet" in p.stderr


@pytest.fixture
def root():
    """AF_PACKET needs root; make test runs as root (README), so this fails, never skips."""
    assert os.geteuid() == 0, "run the tests as root: tn-blast's AF_PACKET socket needs it"


def test_blast_tx_on_loopback_counts_sent_frames(tools, root):
    p = subprocess.run([str(tools / "tn-blast"), "tx", "lo", "64", "0.3", "0.1"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    f = {k: float(v) for k, _, v in (w.partition("=") for w in p.stdout.split())}
    assert f["packets"] > 1000 and f["total"] >= f["packets"]
    assert abs(f["pps"] - f["packets"] / f["seconds"]) < 0.01 * f["pps"] + 1
    assert abs(f["mbps"] - f["pps"] * 64 * 8 / 1e6) < 0.01 * f["mbps"] + 0.1


def test_blast_rx_waits_for_traffic_and_counts_it(tools, root):
    port = free_port()
    blast = subprocess.Popen([str(tools / "tn-blast"), "rx", "lo", "64", "0.3", "0.1"],
                             stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)     # it must wait for the first frame, not measure silence
    sink = subprocess.Popen([str(tools / "tn-hostnet"), "sink", f"127.0.0.1:{port}", "2"],
                            stdout=subprocess.PIPE, text=True)
    sink.stdout.readline()
    subprocess.run([str(tools / "tn-hostnet"), "source", f"127.0.0.1:{port}", "64", "1"],
                   check=True, capture_output=True)
    out, _ = blast.communicate(timeout=10)
    sink.communicate(timeout=10)
    assert blast.returncode == 0
    f = {k: float(v) for k, _, v in (w.partition("=") for w in out.split())}
    assert f["packets"] > 1000 and 0.25 < f["seconds"] < 0.6, out


def fake_results():
    runs = []
    base = {"tracenic": 100e3, "tracenic-trace": 95e3, "e1000": 80e3, "e1000e": 70e3,
            "virtio-net": 120e3}
    for rnd in (1, 2, 3):
        for cfg, pps in base.items():
            for d, s in report.TESTS:
                p = pps * (1 + (rnd - 2) * 0.01) / (2 if s == 1500 else 1)
                runs.append({"config": cfg, "direction": d, "size": s, "round": rnd,
                             "pps": p, "mbps": p * s * 8 / 1e6, "packets": p * 5, "seconds": 5,
                             "total": p * 5.5, "total_seconds": 5.5,
                             "trace_bytes": p * 5.5 * REC * 6, "host": {"pps": p}})
    return {
        "machine": {"cpu": "Fake CPU", "cores": 2, "kernel": "6.1", "accel": "TCG",
                    "qemu": "QEMU emulator version 7.2.0", "guest_kernel": "Debian 6.1",
                    "netdev": "socket", "date": "2030-01-01 00:00", "commit": "abc1234"},
        "command": "make bench",
        "nic": {"rounds": 3, "seconds": 5, "failures": [], "runs": runs,
                "configs": [("tracenic", "tracenic, trace off"),
                            ("tracenic-trace", "tracenic, trace + check on"),
                            ("e1000", "e1000"), ("e1000e", "e1000e"),
                            ("virtio-net", "virtio-net-pci")]},
        "trace": {"record_size": REC},
        "latency": {"scenario": "boot-clean", "runs": [
            {"ok": True, "qemu-start": 0.1, "firmware": 0.5, "kernel-boot": 1.5 + i / 10,
             "scenario": 0.3, "power-off": 0.1, "check": 0.05, "total": 2.55 + i / 10}
            for i in range(5)]},
        "matrix": {"command": "harness/tracenic-cli run", "wall": 95.0, "jobs": 2, "passed": 1,
                   "failed": 0, "scenarios": [("boot-clean", 5.0, True)]},
    }


def test_report_tables_medians_ratios_and_targets():
    md = report.render(fake_results())
    lines = md.splitlines()
    # The throughput table: medians (round 2 is the median) in kpps and Mbit/s.
    row = next(ln for ln in lines if ln.startswith("| tracenic, trace off "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["tracenic, trace off", "100.0 kpps, 51.2 Mbit/s",
                     "50.0 kpps, 600.0 Mbit/s", "100.0 kpps, 51.2 Mbit/s",
                     "50.0 kpps, 600.0 Mbit/s"]
    ratio = next(ln for ln in lines if ln.startswith("| tracenic trace on / e1000 "))
    assert [c.strip() for c in ratio.strip("|").split("|")][1:] == ["1.19"] * 4
    onoff = next(ln for ln in lines if ln.startswith("| tracenic trace on / trace off "))
    assert "0.95" in onoff
    # Every table row has as many cells as its header, and a separator follows headers.
    for i, ln in enumerate(lines):
        if ln.startswith("|") and i + 1 < len(lines) and set(lines[i + 1]) <= set("|-: "):
            n = ln.count("|")
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].count("|") == n, (ln, lines[j])
                j += 1
    # Targets: a trace cost of exactly 5 % meets the target and the goal.
    cost = next(ln for ln in lines if ln.startswith("| trace-on costs ≤ 10 %"))
    assert "worst 5.0 %" in cost and cost.rstrip(" |").endswith("met, goal met"), cost
    assert "1.19 × e1000" in md
    assert "2.75 s" in md            # median total of the latency runs
    assert "records/packet" in md and "6.00" in md
    assert "| total " in md and "95 s" in md


def test_report_says_when_a_target_is_missed():
    r = fake_results()
    for run in r["nic"]["runs"]:
        if run["config"] == "tracenic-trace":
            run["pps"] *= 0.5
    for run in r["latency"]["runs"]:
        run["total"] += 5
    md = report.render(r)
    assert "missed by" in md
    target_rows = [ln for ln in md.splitlines() if ln.startswith("| trace-on costs")]
    assert "missed by" in target_rows[0]
    lat = [ln for ln in md.splitlines() if ln.startswith("| one scenario")][0]
    assert "missed by 2.75 s" in lat


def test_report_matrix_target_says_failed_scenarios_and_time_apart():
    r = fake_results()
    row = [ln for ln in report.render(r).splitlines() if ln.startswith("| default matrix")][0]
    assert row.rstrip(" |").endswith("| met"), row
    r["matrix"].update(failed=1, wall=700.0)
    row = [ln for ln in report.render(r).splitlines() if ln.startswith("| default matrix")][0]
    assert "not met: 1 scenario(s) failed (time missed by 100 s)" in row, row


CHECKER_OUTPUT = """\
live allocations     10: 10000004 records, 0.30 s CPU (0.31 s wall) = 33.0 M events/s on one core \
(runs 30.1-35.2), 3.1 x the CPU time of reading the trace (102.0 M records/s), peak RSS 4 MiB \
(trace file 457 MiB)
live allocations 100000: 10000004 records, 0.60 s CPU (0.62 s wall) = 16.5 M events/s on one core \
(runs 15.0-17.0), 6.2 x the CPU time of reading the trace (101.0 M records/s), peak RSS 49 MiB \
(trace file 457 MiB)
live allocations     10: 100000005 records, 3.00 s CPU (3.10 s wall) = 33.3 M events/s on one core \
(runs 30.0-34.0), peak RSS 4 MiB (trace file 4577 MiB)
live allocations 100000: 100000005 records, 5.80 s CPU (5.90 s wall) = 17.2 M events/s on one core \
(runs 16.0-18.0), peak RSS 60 MiB (trace file 4577 MiB)
"""


def test_report_checker_targets_name_the_worst_case_and_memory_growth():
    runs = report.checker_runs(CHECKER_OUTPUT)
    assert [(r["live"], r["records"], r["meps"], r["rss_mib"], r["read_ratio"]) for r in runs] == [
        (10, 10000004, 33.0, 4, 3.1), (100000, 10000004, 16.5, 49, 6.2),
        (10, 100000005, 33.3, 4, None), (100000, 100000005, 17.2, 60, None)]
    speed, memory = report.checker_target_rows(CHECKER_OUTPUT)
    assert speed[2] == "missed by 3.5 M events/s at 10^7 events, 100,000 live", speed
    assert memory[1] == ("peak RSS 10 live: 4 MiB (10^7) / 4 MiB (10^8); "
                         "100,000 live: 49 MiB (10^7) / 60 MiB (10^8)")
    assert memory[2] == "missed: grows with the trace at 100,000 live"
    flat = CHECKER_OUTPUT.replace("16.5 M", "21.5 M").replace("17.2 M", "22.0 M").replace(
        "peak RSS 60", "peak RSS 49")
    speed, memory = report.checker_target_rows(flat)
    assert speed[2] == "met" and memory[2] == "met"
    r = fake_results()
    r["checker"] = {"command": "make -C harness/dmacheck bench", "output": flat, "seconds": 9}
    assert "| dmacheck memory independent of trace length" in report.render(r)


def test_table_alignment():
    t = report.table(["a", "bb"], [["x", 1], ["yyy", 22]])
    assert t.splitlines() == ["| a   | bb |", "|-----|---:|", "| x   |  1 |", "| yyy | 22 |"]


def test_report_paired_runs_weigh_both_cpus_alike():
    """A/B is 0.95 (trace on / off) and 1.10 (/ e1000); both guests of a round share a
    host CPU, CPU 1 runs 1.5x as fast, and it has one round more than CPU 0."""
    r = fake_results()
    runs = []
    for rnd in range(1, 6):
        cpu = rnd % 2
        f = 1.5 if cpu == 1 else 1.0
        for d, s in report.TESTS:
            for b, true in (("tracenic", 0.95), ("e1000", 1.10)):
                # Packets/s wobble by ±2 % per round; the cost ratio is exact.  Against
                # e1000 the windows are skewed: packets/s say 0.5, frames per CPU-second 1.1.
                wobble = 1.02 if rnd % 4 in (1, 2) else 1 / 1.02
                pps = (true if b == "tracenic" else 0.5) * wobble
                runs.append({"a": "tracenic-trace", "b": b, "round": rnd, "direction": d,
                             "size": s, "a_pps": 1000 * pps * f, "b_pps": 1000.0 * f,
                             "ratio": pps, "cpu": cpu,
                             "a_cpu_us": 10 / true / f, "b_cpu_us": 10 / f})
    r["paired"] = {"rounds": 5, "seconds": 5, "runs": runs, "failures": [],
                   "pairs": [("tracenic-trace", "tracenic"), ("tracenic-trace", "e1000")]}
    pps, cost = report.paired_ratios(r["paired"]), report.paired_ratios(r["paired"], "cost")
    # Round 5 (CPU 1) has no CPU-0 partner and is left out: the wobbles cancel.
    assert all(abs(v - 0.95) < 1e-9 for k, v in pps.items() if k[1] == "tracenic")
    assert all(abs(v - 1.10) < 1e-9 for k, v in cost.items() if k[1] == "e1000")
    lines = report.render(r).splitlines()
    rows = [ln for ln in lines if ln.startswith("| tracenic-trace / tracenic ")][:2]
    # The packets/s table, then the cost table.
    assert all([c.strip() for c in row.strip("|").split("|")][1:] == ["0.95"] * 4
               for row in rows)
    rows = [ln for ln in lines if ln.startswith("| tracenic-trace / e1000 ")][:2]
    assert [[c.strip() for c in row.strip("|").split("|")][1:] for row in rows] == \
        [["0.50"] * 4, ["1.10"] * 4]
    # Both measures are judged, each on its own: the skewed packets/s miss.
    for how in ("paired runs, packets/s", "paired runs, frames per CPU-second"):
        cost = next(ln for ln in lines if ln.startswith("| trace-on costs") and how in ln)
        assert "worst 5.0 %" in cost and cost.rstrip(" |").endswith("met, goal met"), cost
    e1k = [ln for ln in lines if ln.startswith("| tracenic trace on moves ≥ e1000")]
    pps_rows = [ln for ln in e1k if "paired runs, packets/s" in ln]
    cost_rows = [ln for ln in e1k if "frames per CPU-second" in ln]
    assert len(pps_rows) == 4 and all("0.50 × e1000" in ln and "missed by 50 %" in ln
                                      for ln in pps_rows)
    assert len(cost_rows) == 4 and all("1.10 × e1000" in ln and "| met" in ln
                                       for ln in cost_rows)
    # The sequential targets are still there, after the paired ones.
    rows = [ln for ln in lines if ln.startswith("| ")]
    seq = [i for i, ln in enumerate(rows) if ln.split("|")[1].strip().endswith("sequential runs")]
    paired = [i for i, ln in enumerate(rows) if "paired runs, " in ln.split("|")[1]]
    assert len(seq) == 5 and len(paired) == 10 and min(seq) > max(paired)
    assert all(rows[i].rstrip(" |").endswith("not judged: the paired rows decide") for i in seq)


def test_cpu_shares_show_skewed_windows():
    # 60k pps at 10 us/frame is 0.60 of a CPU; 80k at 10 us, 0.80: windows did not coincide.
    r = {"a_pps": 60e3, "a_cpu_us": 10.0, "b_pps": 80e3, "b_cpu_us": 10.0}
    assert report.cpu_shares(r) == "0.60/0.80"
    assert report.cpu_shares({"a_pps": 1.0, "b_pps": 1.0}) == "–"


def test_paired_ab_reads_test_names_and_refuses_others():
    import paired_ab
    assert paired_ab.parse_test("tx64") == ("tx", 64)
    assert paired_ab.parse_test("rx1500") == ("rx", 1500)
    for bad in ("tx65", "rx", "TX64", "tx64 "):
        with pytest.raises(ValueError, match="tx64, tx1500, rx64 or rx1500"):
            paired_ab.parse_test(bad)
    # A missing binary is refused before anything boots.
    p = subprocess.run([sys.executable, str(BENCH / "paired_ab.py"), "--qemu", "/nonexistent/q"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "no QEMU binary at /nonexistent/q" in p.stderr


def test_agent_section_renders_the_figures():
    ag = {"per_call": {"pairs": 2000, "ns_per_pair_without": [160, 162, 170],
                       "ns_per_pair_with": [3400, 3484, 3500], "us_per_call_added": 1.66},
          "scenarios": {"rounds": 2, "seconds": {"e1000e-debian-driver": [20.0, 21.0],
                                                 "e1000e-agent": [21.0, 22.0],
                                                 "e1000e-agent-free-paths": [40.0]}}}
    text = report.agent_section(ag)
    assert "**1.7 µs per DMA-API call**" in text
    assert "| `e1000e-agent` " in text and "1.05" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| without the agent"))
    assert row.split("|")[2].strip() == "160, 162, 170" and row.split("|")[3].strip() == "162"


def test_sweep_section_renders_the_figures():
    sw = {"minutes": 5, "jobs": 2, "seed": 1, "scenarios": ["a", "b", "c"],
          "full": {"runs": 60, "seconds": 301.0, "runs_per_minute": 11.96},
          "full_findings": ["dma-after-free-0123456789"],
          "paired": {"sweep_runs": 27, "sweep_seconds": 300.5, "sweep_per_minute": 5.39,
                     "plain_runs": 30, "plain_seconds": 300.2, "plain_per_minute": 6.0}}
    text = report.sweep_section(sw)
    assert "**12.0**" in text and "0.90 × the rate of a plain one" in text
    assert "dma-after-free-0123456789" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| paired: plain runs"))
    assert [c.strip() for c in row.split("|")[2:5]] == ["30", "300", "6.0"]
