"""The QEMU command line for one run (pure: builds a list, touches nothing).

Every run directory holds the same files (names in FILES); the libvirt
backend (libvirt_xml.py) reuses the pieces that are not about process
management: the device, the netdev, the kernel command line.
"""
import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

from . import paths
from .scenario import Machine

FILES = {
    "steps": "steps.txt",          # the guest's steps, through fw_cfg
    "console": "console.log",      # ttyS0
    "results": "results.txt",      # ttyS1: the TNR lines
    "trace": "trace.bin",          # the device's trace
    "pcap": "traffic.pcap",        # filter-dump of the guest's network traffic
    "qmp": "qmp.sock",             # the harness's monitor
    "qmp_user": "qmp-user.sock",   # repro: a second monitor for the person debugging
    "pidfile": "qemu.pid",
    "stderr": "qemu-stderr.log",
    "ovmf_vars": "OVMF_VARS.fd",   # a private copy per run
    "replay_log": "replay.bin",    # record/replay: QEMU's log of the run's inputs
    "snapshots": "snapshots.qcow2",  # replay --stop-at: the snapshots reverse debugging loads
    "monitor_events": "monitor-events.json",  # recorded: what the host's monitor changed, when
}

GUEST_IP = "10.0.2.15"
RX_SINK_PORT = 9                  # "discard": nothing listens, the frames still go through RX DMA


# A unix socket's path must fit sockaddr_un.sun_path (108 bytes with the NUL): QEMU refuses a
# longer one and dies (measured: pytest's report directories with the longest scenario names).
SOCKETS = ("qmp", "qmp_user")
SUN_PATH_MAX = 107


def file(workdir: Path, what: str) -> Path:
    """The run file @what of @workdir; a socket whose path would be too long lives in the
    temporary directory instead, under a hash of that path (the same for every caller)."""
    path = workdir / FILES[what]
    if what in SOCKETS and len(os.fsencode(str(path.absolute()))) > SUN_PATH_MAX:
        digest = hashlib.sha1(os.fsencode(str(path.absolute()))).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"tracenic-{digest}-{FILES[what]}"
    return path


@dataclasses.dataclass
class Debug:
    """What `repro` adds: a gdbstub, and a stop on the first online violation;
    paused: the guest starts only on QMP cont (-S; replay --stop-at sets its break first)."""
    gdb_port: int
    stop_on_violation: bool = True
    paused: bool = False


@dataclasses.dataclass
class Record:
    """QEMU's record/replay (docs/repro.md): mode "record" writes the replay log of the
    run's inputs (network packets, serial input, host clocks, interrupt timing), "replay"
    runs the guest again from it, instruction for instruction.  snapshots: replay only,
    an empty qcow2 that is attached to nothing and holds the snapshots reverse debugging
    loads (recording takes none: loading one resets the devices, which writes records a
    replay from the start does not, and hung e1000e's boot when tried)."""
    mode: str
    log: Path
    snapshots: Path | None = None


@dataclasses.dataclass
class Images:
    """The guest a run boots; a replay boots the copies in its bundle."""
    kernel: Path
    initramfs: Path

    @staticmethod
    def built(firmware: str) -> "Images":
        return Images(kernel_for(firmware), paths.INITRAMFS)


# -icount shift=auto (QEMU's documented record/replay setting): the guest's clock follows
# the host's, so an idle guest waits for host replies as in a plain run.  sleep=off (the
# clock jumps to the next timer when the guest idles) recorded bug-tx-early-unmap in 5.7 s
# instead of 8.2 s, but host replies then came after the jump: in a recorded re-run of
# bug-rx-realloc-posted the guest's ping got no reply, and the re-run did not show the bug.
RR_ICOUNT = "shift=auto"
RR_FILTER_ID = "rr0"


def record_args(record: Record | None) -> list[str]:
    if record is None:
        return []
    if record.mode not in ("record", "replay"):
        raise ValueError(f"record mode must be 'record' or 'replay', not {record.mode!r}")
    args = ["-icount", f"{RR_ICOUNT},rr={record.mode},rrfile={record.log}",
            # Packets from the host into the guest go into the log, and come from it.
            "-object", f"filter-replay,id={RR_FILTER_ID},netdev={NETDEV_ID}",
            # The TPR-patching vAPIC deadlocks QEMU 7.2 when a replay loads a snapshot
            # (measured: reverse-continue hung, vapic_post_load waiting in run_on_cpu for
            # the vCPU thread, which waited for the replay mutex the loader held).
            "-global", "apic-common.vapic=off"]
    if record.snapshots:
        args += ["-drive", f"file={record.snapshots},if=none,id=rr-snapshots,format=qcow2"]
    return args


def prop(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


# The kit's trace properties a device takes alone (trace=FILE) and the trace
# object takes for the devices that share it (-object tracenic-trace), docs/kit.md.
HUB_PROPS = {"trace": "file", "trace-max-bytes": "max-bytes", "check": "check",
             "on-violation": "on-violation"}
HUB_ID = "t0"
NIC_ID = "nic0"                    # the traced NIC's QOM id (the sweep's qom-set)
NETDEV_ID = "n0"                   # its netdev (set_link, filter-dump)


def _options(what: str, props: dict) -> str:
    for k, v in props.items():
        if "," in str(k) + prop(v):
            raise ValueError(f"{what} property {k}={v!r}: QEMU options cannot contain ','")
    return ",".join(f"{k}={prop(v)}" for k, v in props.items())


def device_args(machine: Machine, workdir: Path, debug: Debug | None = None) -> list[str]:
    """The traced NIC; with machine.agent, the trace is an object the NIC and a
    tracenic-ledger device (the agent's) both write into."""
    props = {"id": NIC_ID, "netdev": NETDEV_ID, "trace": str(file(workdir, "trace"))}
    props.update(machine.device)
    if debug and debug.stop_on_violation:
        props.update({"check": True, "on-violation": "stop"})
    if not machine.agent:
        # tracenic, or a QEMU model traced through the kit (same trace properties).
        return ["-device", f"{machine.nic}," + _options(machine.nic, props)]
    hub = {"id": HUB_ID}
    hub.update({HUB_PROPS[k]: props.pop(k) for k in list(props) if k in HUB_PROPS})
    props["trace-hub"] = HUB_ID
    return ["-object", "tracenic-trace," + _options("tracenic-trace", hub),
            "-device", f"{machine.nic}," + _options(machine.nic, props),
            "-device", f"tracenic-ledger,trace-hub={HUB_ID}"]


def netdev_arg(rx_port: int | None) -> str:
    """slirp; the host reaches the guest only through a UDP forward on loopback."""
    netdev = f"user,id={NETDEV_ID}"
    if rx_port:
        netdev += f",hostfwd=udp:127.0.0.1:{rx_port}-{GUEST_IP}:{RX_SINK_PORT}"
    return netdev


def pcap_object(machine: Machine, workdir: Path) -> list[str]:
    if not machine.pcap:
        return []
    return ["-object", f"filter-dump,id=dump0,netdev={NETDEV_ID},"
            f"file={file(workdir, 'pcap')}"]


def kernel_append(machine: Machine) -> str:
    # A 4 MiB log: the runner reads every ledger echo line from it (ledger_echo=1).
    args = "console=ttyS0 panic=-1 quiet log_buf_len=4M"
    if machine.iommu:
        # Debian's kernel defaults to lazy invalidation (CONFIG_IOMMU_DEFAULT_DMA_LAZY)
        args += " intel_iommu=on" + (" iommu.strict=1" if machine.iommu_strict else "")
    return args


def firmware_dirs() -> list[str]:
    args = []
    for d in paths.FIRMWARE_DIRS:
        args += ["-L", d]
    return args


def machine_args(machine: Machine, workdir: Path) -> list[str]:
    """-M and firmware; intel-iommu needs q35 with a split irqchip."""
    args = []
    if machine.iommu:
        args += ["-M", "q35,kernel-irqchip=split", "-device", "intel-iommu,intremap=on"]
    if machine.firmware == "ovmf":
        args += ["-drive", f"if=pflash,format=raw,readonly=on,file={paths.OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,file={file(workdir, 'ovmf_vars')}"]
    elif machine.firmware != "seabios":
        raise ValueError(f"firmware must be 'seabios' or 'ovmf', not {machine.firmware!r}")
    return args


def kernel_for(firmware: str) -> Path:
    """SeaBIOS boots the uncompressed vmlinux through its PVH entry (QEMU loads
    the ELF itself; no decompression in the guest, ~2.5 s less under TCG).
    OVMF loads only bzImages (EFI stub): vmlinuz."""
    if firmware == "seabios" and paths.KERNEL_PVH.exists():
        return paths.KERNEL_PVH
    return paths.KERNEL


def qemu_argv(machine: Machine, workdir: Path, accel: str, rx_port: int | None = None,
              debug: Debug | None = None, record: Record | None = None,
              images: Images | None = None) -> list[str]:
    if accel not in ("kvm", "tcg"):
        raise ValueError(f"accel must be resolved to 'kvm' or 'tcg' first, not {accel!r}")
    if record and accel != "tcg":
        raise ValueError("record/replay counts instructions, which only TCG can: accel must "
                         f"be 'tcg' for a recorded run, not {accel!r}")
    images = images or Images.built(machine.firmware)
    cmd = [str(paths.QEMU)] + firmware_dirs() + machine_args(machine, workdir)
    cmd += ["-accel", accel, "-m", str(machine.memory), "-nodefaults", "-nographic",
            "-no-reboot", "-kernel", str(images.kernel),
            "-initrd", str(images.initramfs),
            "-append", kernel_append(machine),
            "-netdev", netdev_arg(rx_port)] + device_args(machine, workdir, debug)
    cmd += record_args(record)
    cmd += pcap_object(machine, workdir)
    cmd += ["-fw_cfg", f"name=opt/tracenic/steps,file={file(workdir, 'steps')}",
            "-serial", f"file:{file(workdir, 'console')}",
            "-serial", f"file:{file(workdir, 'results')}",
            "-qmp", f"unix:{file(workdir, 'qmp')},server=on,wait=off",
            "-pidfile", str(file(workdir, "pidfile"))]
    if debug:
        # guest_errors carries the device's online-check messages.
        cmd += ["-qmp", f"unix:{file(workdir, 'qmp_user')},server=on,wait=off",
                "-gdb", f"tcp:127.0.0.1:{debug.gdb_port}", "-d", "guest_errors"]
        cmd += ["-S"] if debug.paused else []
    return cmd
