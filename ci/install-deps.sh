#!/bin/sh
# Install every Debian package tracenic needs, idempotently.
# Fast path: when all packages are present and deb-src is enabled, touch nothing.
set -eu

abi_of_kernel() {
	# The guest kernel ABI comes from linux-image-amd64's dependency, never hard-coded.
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\(.*\)-amd64$/\1/p' | head -n 1
}

PKGS="build-essential dpkg-dev pkg-config ninja-build meson flex bison git ca-certificates
python3 python3-pytest python3-pytest-xdist python3-libvirt
libglib2.0-dev libpixman-1-dev libslirp-dev libfdt-dev zlib1g-dev
seabios qemu-system-data ipxe-qemu ovmf
busybox-static cpio kmod xz-utils zstd
libvirt-daemon-system libvirt-clients
clang libclang-rt-14-dev libfuzzer-14-dev llvm
iproute2 socat
qemu-utils gdb
linux-perf
linux-source-6.1 patch"

SRC_LIST=/etc/apt/sources.list.d/tracenic-deb-src.list

have_deb_src() {
	grep -rqsE '^[[:space:]]*deb-src[[:space:]]|^Types:.*deb-src' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}

enable_deb_src() {
	# Mirror every configured Debian "deb" entry (one-line or deb822) as deb-src.
	tmp=$(mktemp)
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*deb[[:space:]]\+\(.*debian.*\)$/deb-src \1/p' "$f" >>"$tmp"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && uris ~ /debian/)
					for (i = 1; i <= n; i++) {
						split(suites, s, " ")
						for (j in s) printf "deb-src %s%s %s %s\n", signed, uris, s[j], comps
					}
				types = uris = suites = comps = signed = ""; n = 0
			}
			/^Types:/ { types = substr($0, 8); n = 1 }
			/^URIs:/ { uris = $2 }
			/^Suites:/ { suites = substr($0, 9) }
			/^Components:/ { comps = substr($0, 13) }
			/^Signed-By:/ { signed = "[signed-by=" $2 "] " }
			/^[[:space:]]*$/ { flush() }
			END { flush() }
		' "$f" >>"$tmp"
	done
	if [ ! -s "$tmp" ]; then
		echo "install-deps: found no Debian 'deb' source to mirror as deb-src;" \
			"add a deb-src line for your Debian mirror to /etc/apt/sources.list." >&2
		rm -f "$tmp"
		exit 1
	fi
	sort -u "$tmp" >"$SRC_LIST"
	rm -f "$tmp"
	echo "install-deps: enabled deb-src in $SRC_LIST"
}

missing() {
	for p in $PKGS "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi

updated=no
if ! have_deb_src; then
	enable_deb_src
	$SUDO apt-get update -q
	updated=yes
fi

abi=$(abi_of_kernel)
if [ -z "$abi" ]; then
	$SUDO apt-get update -q
	updated=yes
	abi=$(abi_of_kernel)
fi
[ -n "$abi" ] || {
	echo "install-deps: cannot resolve the guest kernel ABI from linux-image-amd64;" \
		"check that Debian's main archive is in your apt sources." >&2
	exit 1
}
todo=$(missing "linux-headers-$abi-amd64")
if [ -n "$todo" ]; then
	[ "$updated" = yes ] || $SUDO apt-get update -q
	echo "install-deps: installing:" $todo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $todo
fi
echo "install-deps: all packages present (guest kernel ABI $abi)"
