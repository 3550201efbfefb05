"""The one QMP client of the harness and the bench: QEMU's own library.

QEMU's source tree (build/qemu-src/qemu-*/python, fetched by `make qemu`)
ships the package qemu.qmp, pure standard-library asyncio.  Qmp wraps its
QMPClient for callers that poll: each Qmp owns a private event loop (the
nightly runs VMs from several threads, and asyncio's default loop exists
only in the main thread) and every call has a deadline, so a QEMU that
stopped answering cannot hang the harness.

It costs more than the hand-written socket client it replaced, measured on
the 2-core machine against an idle QEMU (-S): connect + qmp_capabilities +
query-status + close 1.4 ms against 0.4 ms (median of 400), query-status on
an open connection 0.39 ms against 0.14 ms, and 57 ms to import once per
process.  The harness polls every 0.1 s and bench/latency.py every 2 ms for
a phase of about 0.1 s, so neither needs the few hundred microseconds: one
client, QEMU's.
"""
import asyncio
import sys
from pathlib import Path

from .. import paths


class QmpError(OSError):
    """The monitor could not be reached, or answered a command with an error."""


class QmpRefused(QmpError):
    """QEMU answered the command with an error (the monitor itself works)."""


def library():
    """The qemu.qmp package from the QEMU source tree; a clear error if it is absent."""
    python = paths.qemu_python()
    if not (python / "qemu" / "qmp" / "__init__.py").exists():
        raise QmpError(f"QEMU's QMP library is missing ({python}/qemu/qmp): run `make qemu`, "
                       "which fetches the QEMU source tree that ships it")
    if str(python) not in sys.path:
        sys.path.insert(0, str(python))
    from qemu import qmp      # noqa: E402 - found through the path above
    return qmp


class Qmp:
    """A connected monitor: command(name, **args) -> the return value (a dict)."""

    def __init__(self, path: Path, timeout: float = 5.0):
        self._lib = library()
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._client = self._lib.QMPClient(str(path))
        try:
            self._run(self._client.connect(str(path)), f"connect to {path}")
        except BaseException:
            self._loop.close()
            raise

    def _run(self, coro, what: str):
        try:
            return self._loop.run_until_complete(asyncio.wait_for(coro, self.timeout))
        except asyncio.TimeoutError:
            raise QmpError(f"QMP {what}: no answer within {self.timeout:g} s") from None
        except self._lib.ExecuteError as e:
            raise QmpRefused(f"QMP {what}: {e.error.error.desc}") from None
        except (self._lib.QMPError, OSError, EOFError) as e:
            raise QmpError(f"QMP {what}: {e}") from None

    def command(self, name: str, /, **args) -> dict:
        return self._run(self._client.execute(name, args or None), name)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._client.disconnect(), "disconnect")
        except QmpError:
            pass            # QEMU already closed the socket (it quit, or died)
        finally:
            self._loop.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


def connect(path: Path, timeout: float = 5.0) -> Qmp | None:
    """A connected Qmp, or None while QEMU has not opened the socket yet (or is gone)."""
    try:
        return Qmp(path, timeout)
    except QmpError:
        return None


def quit(qmp: Qmp | None, path: Path, timeout: float = 5.0) -> bool:    # noqa: A001
    """Ask QEMU to quit cleanly (the device then finishes its trace), over @qmp if
    one is open (a monitor socket takes one client at a time), else a new one."""
    own = qmp is None
    qmp = qmp or connect(path, timeout)
    if qmp is None:
        return False
    try:
        qmp.command("quit")
    except QmpError:
        pass                # QEMU may close the socket before it answers
    finally:
        if own:
            qmp.close()
    return True
