"""A record/replay bundle: one file with everything a replay of a recorded run needs.

    write(path, run_dir, scenario, argv, images) -> Path
    open_bundle(path, into) -> Bundle          (raises BundleError with a sentence)

The file is a gzip'd tar (read it with `tar tzf`).  Its first member,
manifest.json, names every other member with its size and SHA-256, the
scenario, the QEMU command line of the recording (paths replaced by
placeholders, PLACEHOLDERS), and the identity of the QEMU build: the
binary's SHA-256 and version, and the SHA-256 of each firmware file QEMU
loads.  A replay log is only valid for the exact build that recorded it
(QEMU says so itself only by diverging), so a different build is refused.

Members: the replay log, the kernel and initramfs the guest booted, the
modules in the initramfs (for the debugger's symbols), the steps file, the
scenario, the recorded trace and its dmacheck reports, the guest's console
and results.
"""
import dataclasses
import hashlib
import io
import json
import subprocess
import tarfile
import time
from pathlib import Path

from . import paths, qemu_cmd

FORMAT = 1
MANIFEST = "manifest.json"
# The members, by role: the name inside the bundle.
LOG = "replay.bin"
KERNEL = "kernel"                 # vmlinux (SeaBIOS, PVH) or vmlinuz (OVMF)
INITRAMFS = "initramfs.cpio.gz"
STEPS = "steps.txt"
SCENARIO = "scenario.toml"
TRACE = "trace.bin"
DMACHECK_TEXT = "dmacheck.txt"
DMACHECK_JSON = "dmacheck.json"
CONSOLE = "console.log"
RESULTS = "results.txt"
MONITOR_EVENTS = "monitor-events.json"   # a recorded sweep schedule's monitor commands
# build/images/, as in the initramfs: the guest's module name -> its file
MODULES = {"tracenic": "tracenic.ko", "tracenic_agent": "tracenic-agent.ko"}
# Firmware QEMU may load for our machines (by name from -L: the BIOS, the PVH and
# Linux boot option ROMs, e1000e's iPXE ROM) and OVMF's code: part of the build.
FIRMWARE_NAMES = ("bios-256k.bin", "pvh.bin", "linuxboot_dma.bin", "efi-e1000e.rom")
# Run-specific strings of the command line, and what the manifest says instead.
PLACEHOLDERS = ("@RUN@", "@QEMU@", "@KERNEL@", "@INITRAMFS@", "@LOG@", "@QMP@", "@PORT@")


class BundleError(Exception):
    """The bundle cannot be replayed here; the message says why and what to do."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def firmware_files() -> list[Path]:
    found = []
    for name in FIRMWARE_NAMES:
        for d in paths.FIRMWARE_DIRS:
            if (Path(d) / name).exists():
                found.append(Path(d) / name)      # QEMU takes the first -L that has it
                break
    if paths.OVMF_CODE.exists():
        found.append(paths.OVMF_CODE)
    return found


def qemu_identity() -> dict:
    """What makes a replay log valid: the QEMU binary and the firmware it loads."""
    version = subprocess.run([str(paths.QEMU), "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()
    return {"binary_sha256": sha256(paths.QEMU), "version": version[0] if version else "",
            "firmware": {str(p): sha256(p) for p in firmware_files()}}


def identity_difference(recorded: dict, here: dict) -> str | None:
    """A sentence naming what differs, or None."""
    if recorded.get("binary_sha256") != here["binary_sha256"]:
        return (f"it was recorded with the QEMU build whose binary has SHA-256 "
                f"{recorded.get('binary_sha256', '?')[:16]}… ({recorded.get('version', '?')}), "
                f"and {paths.QEMU} here is {here['binary_sha256'][:16]}… ({here['version']})")
    for path, digest in sorted(recorded.get("firmware", {}).items()):
        if here["firmware"].get(path) != digest:
            now = here["firmware"].get(path)
            return (f"the firmware {path} QEMU loads differs (SHA-256 {digest[:16]}… when "
                    f"recorded, {now[:16] + '…' if now else 'missing'} here)")
    return None


def template(argv: list[str], subst: dict[str, str]) -> list[str]:
    """@argv with each run-specific string (a key of @subst) replaced by its placeholder;
    longest first, so a path inside another is not cut."""
    out = []
    for a in argv:
        for real, ph in sorted(subst.items(), key=lambda kv: -len(kv[0])):
            a = a.replace(real, ph)
        out.append(a)
    return out


def substitutions(run_dir: Path, images: qemu_cmd.Images, log: Path,
                  rx_port: int | None) -> dict[str, str]:
    subst = {str(paths.QEMU): "@QEMU@", str(images.kernel): "@KERNEL@",
             str(images.initramfs): "@INITRAMFS@", str(log): "@LOG@",
             str(qemu_cmd.file(run_dir, "qmp")): "@QMP@", str(run_dir): "@RUN@"}
    if rx_port:
        subst[f"127.0.0.1:{rx_port}-"] = "127.0.0.1:@PORT@-"
    return subst


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write(path: Path, run_dir: Path, scenario_text: str, scenario_name: str,
          argv_template: list[str], images: qemu_cmd.Images, extra: dict | None = None) -> Path:
    """The bundle of the recorded run in @run_dir (its log at qemu_cmd.file(run_dir,
    "replay_log")), written to @path; @extra goes into the manifest as it is."""
    members = {LOG: qemu_cmd.file(run_dir, "replay_log"), KERNEL: images.kernel,
               INITRAMFS: images.initramfs, STEPS: qemu_cmd.file(run_dir, "steps"),
               TRACE: qemu_cmd.file(run_dir, "trace"),
               CONSOLE: qemu_cmd.file(run_dir, "console"),
               RESULTS: qemu_cmd.file(run_dir, "results"),
               DMACHECK_TEXT: run_dir / "dmacheck.txt", DMACHECK_JSON: run_dir / "dmacheck.json",
               MONITOR_EVENTS: qemu_cmd.file(run_dir, "monitor_events")}
    for ko in MODULES.values():
        if (images.initramfs.parent / ko).exists():
            members[ko] = images.initramfs.parent / ko
    members = {name: p for name, p in members.items() if p.exists()}
    for needed in (LOG, KERNEL, INITRAMFS, STEPS, TRACE):
        if needed not in members:
            raise BundleError(f"cannot bundle the run in {run_dir}: its {needed} is missing")
    manifest = {"format": FORMAT, "scenario": scenario_name,
                "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "qemu": qemu_identity(), "argv": argv_template,
                "files": {name: {"size": p.stat().st_size, "sha256": sha256(p)}
                          for name, p in members.items()}}
    manifest["files"][SCENARIO] = {"size": len(scenario_text.encode()),
                                   "sha256": hashlib.sha256(scenario_text.encode()).hexdigest()}
    manifest.update(extra or {})
    tmp = path.with_name(path.name + ".part")
    # Level 1: the 66 MB vmlinux takes 2 s instead of 9 s for a bundle 4 % larger.
    with tarfile.open(tmp, "w:gz", compresslevel=1) as tar:
        _add(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        _add(tar, SCENARIO, scenario_text.encode())
        for name, p in members.items():
            tar.add(p, arcname=name, recursive=False)
    tmp.replace(path)
    return path


@dataclasses.dataclass
class Bundle:
    path: Path
    dir: Path                   # where its members were extracted
    manifest: dict

    def member(self, name: str) -> Path:
        return self.dir / name

    @property
    def images(self) -> qemu_cmd.Images:
        return qemu_cmd.Images(self.member(KERNEL), self.member(INITRAMFS))


def open_bundle(path: Path, into: Path, check_build: bool = True) -> Bundle:
    """Extract @path into @into and check it: every member against the manifest, and
    (@check_build) the QEMU build against this machine's.  BundleError otherwise."""
    what = f"{path} is not a replay bundle this tracenic can use"
    if not path.is_file():
        raise BundleError(f"{path}: no such file; give the .rr.tar.gz a recorded run wrote")
    into.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(path, "r:gz") as tar:
            names = tar.getnames()
            if not names or names[0] != MANIFEST:
                raise BundleError(f"{what}: its first member is not {MANIFEST}")
            for m in tar.getmembers():
                if not m.isfile() or "/" in m.name or m.name.startswith("."):
                    raise BundleError(f"{what}: member {m.name!r} is not a plain file name")
            tar.extractall(into)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise BundleError(f"{path} is damaged: it cannot be read as a gzip'd tar ({e}); "
                          "copy it again from where it was recorded") from None
    try:
        manifest = json.loads((into / MANIFEST).read_text())
    except ValueError as e:
        raise BundleError(f"{path} is damaged: {MANIFEST} is not JSON ({e})") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{what}: its format is {manifest.get('format')!r}, this tracenic "
                          f"reads format {FORMAT}")
    for name, want in manifest.get("files", {}).items():
        p = into / name
        if not p.exists():
            raise BundleError(f"{path} is damaged: member {name} is missing")
        if p.stat().st_size != want["size"] or sha256(p) != want["sha256"]:
            raise BundleError(f"{path} is damaged: member {name} does not match the SHA-256 "
                              "its manifest gives; copy the bundle again from where it was "
                              "recorded")
    extra = sorted(set(names) - set(manifest.get("files", {})) - {MANIFEST})
    if extra:
        raise BundleError(f"{path} is damaged: members {', '.join(extra)} are not in its "
                          "manifest")
    if check_build:
        diff = identity_difference(manifest.get("qemu", {}), qemu_identity())
        if diff:
            raise BundleError(
                f"{path} cannot be replayed with this QEMU: {diff}.  A replay log is only "
                "valid for the build that recorded it; replay it where it was recorded, or "
                f"check out the commit it names ({manifest.get('commit', '?')}) and run "
                "`make qemu` first")
    return Bundle(path, into, manifest)
