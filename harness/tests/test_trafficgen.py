"""The host-side RX flood generator (loopback only)."""
import socket
import subprocess

from tracenic import paths


def gen(*args):
    return subprocess.run([str(paths.TRAFFICGEN), *args], capture_output=True, text=True,
                          timeout=30)


def test_sends_count_datagrams_of_size(built):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2)
        run = gen("--port", str(rx.getsockname()[1]), "--count", "50", "--size", "700",
                  "--pps", "5000")
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("sent 50 datagrams of 700 bytes to 127.0.0.1:")
        got = [rx.recv(2048) for _ in range(50)]
    assert all(len(d) == 700 for d in got)
    assert [int.from_bytes(d[:4], "big") for d in got] == list(range(50))


def test_refuses_anything_but_loopback(built):
    run = gen("--port", "9", "--count", "1", "--host", "10.0.2.2")
    assert run.returncode == 2 and "only loopback" in run.stderr


def test_bad_arguments(built):
    assert gen("--count", "1").returncode == 2                     # no port
    run = gen("--port", "70000", "--count", "1")
    assert run.returncode == 2 and "--port must be a whole number up to 65535" in run.stderr
    assert gen("--port", "9", "--count", "1", "--size", "0").returncode == 2
