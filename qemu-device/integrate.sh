#!/bin/sh
# Wire the tracenic device and its qtest into a QEMU source tree, idempotently.
# Usage: integrate.sh <qemu-source-dir>
# The files stay in this repository; the tree only gets symlinks and a few
# marked lines in Kconfig, meson.build and trace-events.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
src=${1:?usage: integrate.sh <qemu-source-dir>}
[ -f "$src/hw/net/meson.build" ] || {
	echo "integrate.sh: $src does not look like a QEMU source tree (no hw/net/meson.build)" >&2
	exit 1
}

# The device uses QEMU 7.2's APIs plus the memory re-entrancy guard (upstream
# 8.0+, backported into Debian's 7.2).  Say what is missing instead of
# leaving it to a compiler error.
grep -q 'qemu_bh_new_guarded' "$src/include/qemu/main-loop.h" || {
	echo "integrate.sh: $src has no memory re-entrancy guard (qemu_bh_new_guarded);" \
		"tracenic needs QEMU 8.0 or later, or Debian's 7.2 source (make qemu without QEMU_SRC)." >&2
	exit 1
}
version=$(cat "$src/VERSION" 2>/dev/null || echo unknown)
case $version in
7.2.*) ;;
*) echo "integrate.sh: note: tracenic is tested with QEMU 7.2 (Debian's source); this tree is" \
	"$version. If the device does not compile, build with 'make qemu' (no QEMU_SRC)." >&2 ;;
esac
# hw/net/meson.build names its source set softmmu_ss up to QEMU 8.0, system_ss later.
ss=softmmu_ss
grep -q '^system_ss' "$src/hw/net/meson.build" && ss=system_ss

# The tracing kit, the tracenic NIC (glue, core) and the ledger device, and
# what traces QEMU's e1000e (docs/architecture.md).
kit="tnkit.c tnkit-hub.c tnkit-dma.c tnkit-ledger.c tnkit-check.c tnkit-trace.c"
nic="tracenic.c tracenic-core.c tracenic-rings.c tracenic-ledger.c"
e1000e="e1000e-tnkit.c"
sources="$kit $nic $e1000e"
headers="tracenic-core.h tnkit.h tnkit-int.h tnkit-check.h tnkit-trace.h
	e1000e-tnkit.h"
# Links left by an older layout would shadow nothing but confuse a reader.
for f in tracenic.h tracenic-trace.h tracenic-trace.c tracenic-dma.c tracenic-ledger.c; do
	if [ -L "$src/hw/net/$f" ]; then rm -f "$src/hw/net/$f"; fi
done
for f in $sources $headers; do
	ln -sfn "$here/$f" "$src/hw/net/$f"
done
ln -sfn "$top/include/tracenic" "$src/include/tracenic"
for f in tracenic-test.c e1000e-trace-test.c tn-qtest.h; do
	ln -sfn "$here/tests/$f" "$src/tests/qtest/$f"
done

# Replace the block between markers (or append it) so reruns pick up edits.
put_block() { # file, comment-prefix, content
	file=$1 c=$2 body=$3
	begin="$c tracenic: begin (qemu-device/integrate.sh)"
	end="$c tracenic: end"
	tmp=$(mktemp)
	awk -v b="$begin" -v e="$end" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$file" >"$tmp"
	printf '%s\n%s\n%s\n' "$begin" "$body" "$end" >>"$tmp"
	if ! cmp -s "$tmp" "$file"; then
		cat "$tmp" >"$file"
	fi
	rm -f "$tmp"
}

put_block "$src/hw/net/Kconfig" "#" "config TRACENIC
    bool
    default y if PCI_DEVICES
    depends on PCI && MSI_NONBROKEN"

# The kit goes into every build with PCI: both the NIC and the e1000e
# patch below need it, and a source set has no "either" condition.
list() { printf "'%s', " "$@" | sed 's/, $//'; }
# shellcheck disable=SC2086 # one argument per file name
put_block "$src/hw/net/meson.build" "#" "$ss.add(when: 'CONFIG_PCI', if_true: files($(list $kit)))
$ss.add(when: 'CONFIG_TRACENIC', if_true: files($(list $nic)))
$ss.add(when: 'CONFIG_E1000E_PCI_EXPRESS', if_true: files($(list $e1000e)))"

# QEMU's e1000e, traced when a trace is configured: a patch to Debian's
# files, applied to a pristine copy kept beside each file (*.tracenic-orig),
# so a rerun changes nothing and an edited patch replaces the old one.  The
# copy is taken on the first run, from a file the patch fits; a file that
# already carries the patch (applied by hand) gives its reversed self.
apply_patch() { # patch
	patched=$(awk '$1 == "+++" { sub(/^b\//, "", $2); print $2 }' "$1")
	work=$(mktemp -d)
	fresh=
	for f in $patched; do
		mkdir -p "$work/$(dirname "$f")"
		if [ -f "$src/$f.tracenic-orig" ]; then
			cp "$src/$f.tracenic-orig" "$work/$f"
		else
			cp "$src/$f" "$work/$f"
			fresh="$fresh $f"
		fi
	done
	if [ -n "$fresh" ] &&
		patch -R --dry-run -p1 -s -f -d "$work" <"$1" >/dev/null 2>&1; then
		patch -R -p1 -s -f -d "$work" <"$1" >/dev/null
	fi
	for f in $fresh; do
		cp "$work/$f" "$work/$f.tracenic-orig"
	done
	patch -p1 -f --no-backup-if-mismatch -d "$work" <"$1" >"$work/patch.log" 2>&1 || {
		bad=$(awk '/^patching file / { f = $3 } /FAILED|malformed|find file/ { print f }' \
			"$work/patch.log" | sort -u | tr '\n' ' ')
		echo "integrate.sh: qemu-device/$(basename "$1") does not apply to $src:" \
			"${bad:-its files }does not match Debian's QEMU 7.2 (patch says:" \
			"$(grep -E 'FAILED|malformed|find file' "$work/patch.log" | tr '\n' ' ')). Use" \
			"Debian's source (make qemu without QEMU_SRC, or restore that file from" \
			"'apt-get source qemu'), or port the patch to this tree." >&2
		rm -rf "$work"
		exit 1
	}
	for f in $patched; do
		[ -f "$src/$f.tracenic-orig" ] || cp "$work/$f.tracenic-orig" "$src/$f.tracenic-orig"
		cmp -s "$work/$f" "$src/$f" || cp "$work/$f" "$src/$f"
	done
	rm -rf "$work"
}
apply_patch "$here/e1000e-tnkit.patch"

put_block "$src/hw/net/trace-events" "#" "$(grep -v '^#' "$here/trace-events")"

# -object tracenic-trace: QEMU parses -object through its QAPI schema, so the
# type joins ObjectType and ObjectOptions and its properties are defined.
qom=$src/qapi/qom.json
put_block "$qom" "#" "$(cat "$here/tnkit-trace-object.json")"
add_after() { # file, line already there, line to add after it
	grep -qF "$3" "$1" && return 0
	grep -qF "$2" "$1" || {
		echo "integrate.sh: $1 has no line '$2' to add tracenic-trace after;" \
			"this QEMU's QAPI schema differs from 7.2's: add '$3' by hand." >&2
		exit 1
	}
	awk -v a="$2" -v b="$3" '{print} index($0, a) == 1 && !done {print b; done = 1}' "$1" >"$1.tmp" &&
		mv "$1.tmp" "$1"
}
add_after "$qom" "    'throttle-group'," "    'tracenic-trace',"
add_after "$qom" "      'throttle-group':             'ThrottleGroupProperties'," \
	"      'tracenic-trace':             'TracenicTraceProperties',"

# The qtest list is assigned once for x86_64; add ours right after it (one
# marked line, replaced when the list changes).
qm=$src/tests/qtest/meson.build
line="qtests_x86_64 += ['tracenic-test', 'e1000e-trace-test']  # tracenic"
if ! grep -qxF "$line" "$qm"; then
	sed -i '/  # tracenic$/d' "$qm"
	sed -i "s/^qtests_x86_64 = qtests_i386\$/&\n$line/" "$qm"
	grep -qxF "$line" "$qm" || {
		echo "integrate.sh: could not add the tracenic qtests to $qm after its line" \
			"'qtests_x86_64 = qtests_i386'; add '$line' there by hand." >&2
		exit 1
	}
fi
