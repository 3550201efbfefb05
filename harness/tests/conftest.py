"""Shared fixtures.  Build outputs a test needs must exist: `make test` builds
everything first, so a missing piece is a failure here, never a skip."""
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracenic import paths, vm  # noqa: E402


@pytest.fixture
def built():
    """Fail (not skip) when QEMU, the guest images, dmacheck or trafficgen are missing."""
    missing = paths.missing()
    assert not missing, "build outputs missing:\n" + "\n".join(missing)


@pytest.fixture(scope="session")
def libvirtd():
    """qemu:///system, with virtlogd and libvirtd started here if none runs."""
    started = vm.ensure_local_libvirtd("qemu:///system")
    if started:
        print(f"started {', '.join(started)} for the libvirt tests")
    yield "qemu:///system"


def tracenic_domains() -> list[str]:
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"],
                         capture_output=True, text=True, check=True).stdout
    return [n for n in out.split() if n.startswith("tracenic-")]


def qemu_processes(marker: str) -> list[str]:
    """Command lines of running QEMUs whose arguments mention marker (a run directory)."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if "qemu-system" in ln and marker in ln]
