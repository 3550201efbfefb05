"""The accelerator: KVM only if a probe guest really boots and powers off under it."""
import json
import os
import threading
from pathlib import Path

from .. import paths

_accel_cache: dict[str, str] = {}
_accel_lock = threading.Lock()
# A working KVM boots the probe guest to power-off in about a second; a
# broken one (nested) hangs it in the firmware until this runs out.
KVM_PROBE_SECONDS = 20
# The verdict, kept per host boot and QEMU build, so each run does not probe again.
ACCEL_CACHE = paths.BUILD / "accel-probe.json"


def _probe_key() -> dict:
    boot = Path("/proc/sys/kernel/random/boot_id")
    qemu = paths.QEMU.stat() if paths.QEMU.exists() else None
    return {"boot_id": boot.read_text().strip() if boot.exists() else "",
            "qemu": [qemu.st_mtime_ns, qemu.st_size] if qemu else None}


def _cached_accel(key: dict) -> str | None:
    try:
        saved = json.loads(ACCEL_CACHE.read_text())
    except (OSError, ValueError):
        return None
    return saved.get("accel") if saved.get("key") == key else None


def _save_accel(key: dict, accel: str) -> None:
    tmp = ACCEL_CACHE.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"key": key, "accel": accel}) + "\n")
        tmp.replace(ACCEL_CACHE)
    except OSError:
        pass    # no cache: the next process probes again, which is only slower


def _probe_boots(workdir: Path) -> bool:
    """One plain guest boot under KVM: did it reach its end and power off?"""
    from . import Machine, run_vm      # the package's run path (tests replace run_vm)
    run = run_vm(Machine(pcap=False), [], workdir / "kvm-probe", KVM_PROBE_SECONDS,
                 accel="kvm")
    return run.completed and run.exit_code == 0


def pick_accel(workdir: Path) -> str:
    """KVM only if a probe guest really boots and powers off under it; else TCG.

    /dev/kvm can exist and still not work (nested virtualisation), so the
    probe is a real boot, done once per host boot and QEMU build.
    """
    with _accel_lock:
        if "accel" not in _accel_cache:
            accel = "tcg"
            if os.access("/dev/kvm", os.R_OK | os.W_OK):
                key = _probe_key()
                accel = _cached_accel(key)
                if accel is None:
                    accel = "kvm" if _probe_boots(workdir) else "tcg"
                    _save_accel(key, accel)
            _accel_cache["accel"] = accel
        return _accel_cache["accel"]


def resolve_accel(requested: str, workdir: Path) -> tuple[str, str]:
    """(accel, note): 'auto' and 'kvm' become KVM only when the probe worked."""
    if requested == "tcg":
        return "tcg", ""
    got = pick_accel(workdir)
    if requested == "kvm" and got != "kvm":
        return "tcg", "KVM was asked for but does not work here (no /dev/kvm or the probe " \
                      "boot failed): ran under TCG"
    return got, ""
