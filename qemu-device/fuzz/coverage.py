#!/usr/bin/python3
"""The project's functions a generic-fuzz run reached, from libFuzzer's
-print_coverage=1 output (fuzz-device.sh writes it to build/fuzz/fuzz.log).

libFuzzer prints one line per instrumented function when it exits:

  COVERED_FUNC: hits: 12 edges: 7/9 tracenic_ring_enable /…/hw/net/tracenic-rings.c:542
  UNCOVERED_FUNC: hits: 0 edges: 0/4 tracenic_foo /…/hw/net/tracenic-rings.c:100

Of those, the functions of qemu-device/tnkit*.c, tracenic*.c, e1000e-tnkit.c
(linked into QEMU's hw/net/) and include/tracenic/*.h are the project's, and
those of Debian's e1000e model (hw/net/e1000e.c, e1000e_core.c) the traced
device's; both are summed per file, and every function is listed: reached
ones with their edges, then the unreached.

Usage: coverage.py FUZZ_LOG
"""

import re
import sys
from collections import defaultdict

LINE = re.compile(r"^(UN)?COVERED_FUNC: hits: (\d+) edges: (\d+)/(\d+) (\S+) (\S+?):(\d+)$")
OURS = re.compile(r"(?:/hw/net/((?:tnkit|tracenic|e1000e)[^/]*\.[ch])"
                  r"|/include/tracenic/([^/]+\.h))$")
# Debian's e1000e model: reported apart from the project's own files.
MODEL = ("e1000e.c", "e1000e_core.c")


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: coverage.py FUZZ_LOG\n")
        return 2
    funcs = {}
    for ln in open(argv[1], errors="replace"):
        m = LINE.match(ln.rstrip("\n"))
        if not m:
            continue
        f = OURS.search(m.group(6))
        if not f:
            continue
        name = f.group(1) or "include/tracenic/" + f.group(2)
        key = (name, m.group(5))
        hits, cov, edges = int(m.group(2)), int(m.group(3)), int(m.group(4))
        funcs[key] = (hits, cov, edges, int(m.group(7)))
    if not funcs:
        print("coverage: the log has no COVERED_FUNC line of the project's files: did the run "
              "end normally (libFuzzer prints coverage at exit, with -print_coverage=1)?")
        return 1
    per_file = defaultdict(lambda: [0, 0, 0, 0])
    for (name, _), (hits, cov, edges, _) in funcs.items():
        t = per_file[name]
        t[0] += 1 if hits else 0
        t[1] += 1
        t[2] += cov
        t[3] += edges
    for label, files in (("project functions reached",
                          [n for n in per_file if n not in MODEL]),
                         ("QEMU's e1000e model (Debian's e1000e.c, e1000e_core.c) functions "
                          "reached", [n for n in per_file if n in MODEL])):
        total = [sum(per_file[n][i] for n in files) for i in range(4)]
        print(f"{label}: {total[0]}/{total[1]}, edges {total[2]}/{total[3]} "
              f"({100.0 * total[2] / max(total[3], 1):.0f}%)")
    print()
    print(f"{'file':34} {'functions':>10} {'edges':>12}")
    for name in sorted(per_file):
        r, n, c, e = per_file[name]
        print(f"{name:34} {r:>4}/{n:<5} {c:>5}/{e:<6} ({100.0 * c / max(e, 1):.0f}%)")
    print()
    print("reached (edges covered/all):")
    for (name, fn), (hits, cov, edges, line) in sorted(funcs.items()):
        if hits:
            print(f"  {name}:{line} {fn} {cov}/{edges}")
    print()
    print("not reached:")
    for (name, fn), (hits, cov, edges, line) in sorted(funcs.items()):
        if not hits:
            print(f"  {name}:{line} {fn}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
