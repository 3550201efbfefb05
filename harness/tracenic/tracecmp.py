"""Traces as records: are two equal, and at which guest instruction was record N written.

    compare(recorded, replayed) -> None, or a sentence naming the first difference
    Records(path).icount(n)     -> the guest instruction count of record n (-icount traces)
    Records(path).free_record(region) -> the FREE/UNMAP record of a dmacheck region

Equal means byte for byte, header included, except the header's host wall-clock
field (wall_start_ns): every record's virtual time and content.  The layout is
the contract's (include/tracenic/trace.h); contract.py reads the values from it.
"""
import subprocess
from pathlib import Path

from . import contract, paths

HEADER_SIZE = contract.const("TN_TRACE_HEADER_SIZE")
REC_SIZE = contract.const("TN_TRACE_REC_SIZE")
_WALL = contract.layout("tn_trace_header")["wall_start_ns"][0]
WALL_CLOCK = slice(_WALL, _WALL + 8)
_REC = contract.layout("tn_rec")
TYPE_OFFSET = _REC["type"][0]
ID_OFFSET = _REC["id"][0]
PAYLOAD = _REC["id"][0] + 4         # tn_rec.u: ICOUNT's count is its first 8 bytes
REC_ICOUNT = contract.value_of("tn_rec_type_name", "icount")
REC_FREE = contract.value_of("tn_rec_type_name", "free")
REC_UNMAP = contract.value_of("tn_rec_type_name", "unmap")
REC_ALLOC = contract.value_of("tn_rec_type_name", "alloc")
REC_MAP = contract.value_of("tn_rec_type_name", "map")


class Records:
    def __init__(self, path: Path):
        self.path = path
        data = path.read_bytes()
        if len(data) < HEADER_SIZE:
            raise ValueError(f"{path}: {len(data)} bytes, shorter than a trace header")
        self.header = data[:HEADER_SIZE]
        body = data[HEADER_SIZE:]
        self.records = [body[i:i + REC_SIZE] for i in range(0, len(body), REC_SIZE)]

    def __len__(self) -> int:
        return len(self.records)

    def time_ns(self, n: int) -> int:
        return int.from_bytes(self.records[n][0:8], "little")

    def icount(self, n: int) -> int | None:
        """The count of the last ICOUNT record at or before record @n (None: none)."""
        for i in range(min(n, len(self.records) - 1), -1, -1):
            r = self.records[i]
            if r[TYPE_OFFSET] == REC_ICOUNT:
                return int.from_bytes(r[PAYLOAD:PAYLOAD + 8], "little")
        return None

    def first_icount(self) -> int | None:
        for r in self.records:
            if r[TYPE_OFFSET] == REC_ICOUNT:
                return int.from_bytes(r[PAYLOAD:PAYLOAD + 8], "little")
        return None

    def alloc_record(self, region: dict) -> int | None:
        """The ALLOC or MAP record that made dmacheck's @region (id and allocation time)."""
        for i, r in enumerate(self.records):
            if (r[TYPE_OFFSET] in (REC_ALLOC, REC_MAP)
                    and int.from_bytes(r[ID_OFFSET:ID_OFFSET + 4], "little") == region["id"]
                    and self.time_ns(i) == region.get("alloc_ns")):
                return i
        return None

    def free_record(self, region: dict) -> int | None:
        """The FREE or UNMAP record that freed dmacheck's @region (id and free time)."""
        for i, r in enumerate(self.records):
            if (r[TYPE_OFFSET] in (REC_FREE, REC_UNMAP)
                    and int.from_bytes(r[ID_OFFSET:ID_OFFSET + 4], "little") == region["id"]
                    and self.time_ns(i) == region["free_ns"]):
                return i
        return None


def _dump_line(path: Path, n: int) -> str:
    out = subprocess.run([str(paths.DMACHECK), "--dump", str(path)], capture_output=True,
                         text=True, check=False).stdout.splitlines()
    for line in out:
        if line.startswith(f'{{"i":{n},'):
            return line
    return "(not decodable)"


def compare(recorded: Path, replayed: Path) -> str | None:
    """None when the two traces are the same run; else the first difference, in a sentence."""
    a, b = Records(recorded), Records(replayed)
    ha, hb = bytearray(a.header), bytearray(b.header)
    ha[WALL_CLOCK] = hb[WALL_CLOCK] = bytes(8)
    if ha != hb:
        first = next(i for i in range(HEADER_SIZE) if ha[i] != hb[i])
        return f"the trace headers differ at byte {first}"
    for i, (ra, rb) in enumerate(zip(a.records, b.records)):
        if ra != rb:
            return (f"record {i} differs (of {len(a)} recorded):\n"
                    f"  recorded {_dump_line(recorded, i)}\n"
                    f"  replayed {_dump_line(replayed, i)}")
    if len(a) != len(b):
        return (f"the replayed trace has {len(b)} records, the recorded one {len(a)}; the "
                f"first {min(len(a), len(b))} are the same")
    return None
