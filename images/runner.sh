#!/bin/sh
# Scenario runner: reads the steps from fw_cfg (opt/tracenic/steps), runs
# them, and reports one "TNR ..." line per event on the results port (ttyS1).
# Protocol: docs/guest-protocol.md.
out=/dev/ttyS1
[ -c "$out" ] || out=/dev/console
IF=
# The driver "load" loads: tracenic.ko, or with driver=NAME Debian's module
# of a QEMU NIC model (e1000e), from the image's /lib/modules.
DRV=tracenic
seen=0
# TN_PCI_VENDOR_ID, TN_PCI_DEVICE_ID: written by images/build.sh from the headers.
. /etc/tracenic-contract.sh

say() {
	echo "TNR $*" >"$out"
}

# New kernel messages since the last step: NDIS rule breaks and oopses.
scan_dmesg() {
	dmesg >/tmp/dmesg.now
	total=$(wc -l </tmp/dmesg.now)
	tail -n $((total - seen)) /tmp/dmesg.now | while read -r line; do
		case $line in
		*"tracenic-ndis: RULE"*) say "ndis ${line#*tracenic-ndis: }" ;;
		*"tracenic-ndis: LEDGER"*) say "ledger ${line#*LEDGER }" ;;
		*"tracenic-ndis: SUMMARY"*) say "ndis-summary ${line#*SUMMARY }" ;;
		*"tracenic-agent: SITE "*) say "site ${line#*SITE }" ;;
		*"tracenic-agent: unloaded:"*) say "agent-summary ${line#*unloaded: }" ;;
		*"tracenic-agent: "*"calls missed"*) say "agent-missed ${line#*tracenic-agent: }" ;;
		*"DMAR: [DMA "* | *"DMAR: DRHD: handling fault"*) say "dmar ${line#*] }" ;;
		*"BUG:"* | *"Oops"* | *"WARNING:"* | *"general protection"* | *"Kernel panic"*)
			say "oops ${line#*] }" ;;
		esac
	done
	seen=$total
}

# Free memory including the per-CPU page lists: a freed 2 MiB block may
# wait there, where MemFree does not count it.
free_kb() {
	pcp=$(awk '/^ *count:/ { c += $2 } END { print c + 0 }' /proc/zoneinfo)
	mem=$(sed -n 's/^MemFree: *\([0-9]*\).*/\1/p' /proc/meminfo)
	echo $((mem + pcp * 4))
}

# 1 if the page holding physical address $1 is mapped uncached.  The PAT
# tracks RAM's memory type in page flags, not in pat_memtype_list (which
# lists only non-RAM ranges): KPF_UNCACHED, bit 39 of /proc/kpageflags.
page_uncached() {
	flags=$(dd if=/proc/kpageflags bs=8 skip=$(($1 >> 12)) count=1 2>/dev/null |
		od -An -t x8 | tr -d ' ')
	echo $(((0x${flags:-0} >> 39) & 1))
}

# Wait until $IF has carrier (20 s at most): e1000e reports it from its watchdog,
# seconds after an open or a reinit (MTU, ring resize, reset) under TCG.
wait_carrier() {
	i=0
	until [ "$(cat "/sys/class/net/$IF/carrier" 2>/dev/null)" = 1 ]; do
		[ $i -lt 200 ] || { echo "no carrier on $IF 20 s after $1" >/tmp/ping.out; return 1; }
		usleep 100000
		i=$((i + 1))
	done
}

# The same after a reconfiguration, if the interface is up (a down one has no carrier).
wait_carrier_if_up() {
	[ $(($(cat "/sys/class/net/$IF/flags" 2>/dev/null || echo 0) & 1)) -eq 0 ] || wait_carrier "$1"
}

# The tracenic NIC, by the PCI ids of include/tracenic/regs.h.
find_if() {
	for netif in /sys/class/net/*; do
		[ $(($(cat "$netif/device/vendor" 2>/dev/null || echo -1))) -eq $((TN_PCI_VENDOR_ID)) ] &&
			[ $(($(cat "$netif/device/device" 2>/dev/null || echo -1))) -eq $((TN_PCI_DEVICE_ID)) ] &&
			IF=${netif##*/} && return 0
	done
	return 1
}

# The interface a driver (tracenic, e1000, e1000e, virtio_net) drives.
if_of_driver() {
	for netif in /sys/class/net/*; do
		drv=$(readlink "$netif/device/driver" 2>/dev/null) || continue
		[ "${drv##*/}" = "$1" ] && echo "${netif##*/}" && return 0
	done
	return 1
}

# The PCI address of the first Ethernet controller (class 0x0200): the NIC.
nic_bdf() {
	for d in /sys/bus/pci/devices/*; do
		case $(cat "$d/class") in
		0x0200*) echo "${d##*/}" && return 0 ;;
		esac
	done
	return 1
}

# Bench images only: load a NIC driver and its dependencies, bring it up.
netload() { # driver [param=value ...] (parameters of the driver's own module)
	drv=$1
	shift
	mods=$(sed -n "s/^$drv //p" /etc/tn-bench-modules 2>/dev/null)
	[ -n "$mods" ] || { echo "no module list for '$drv'" >/tmp/ping.out; return 1; }
	for m in $mods; do
		grep -q "^$m " /proc/modules && continue
		if [ "$m" = "$drv" ]; then
			insmod "/lib/modules/$m.ko" "$@" 2>/tmp/ping.out || return 1
		else
			insmod "/lib/modules/$m.ko" 2>/tmp/ping.out || return 1
		fi
	done
	netif=$(if_of_driver "$drv") || { echo "no interface driven by $drv" >/tmp/ping.out; return 1; }
	ip link set "$netif" up || return 1
	i=0
	while [ "$(cat "/sys/class/net/$netif/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do
		usleep 50000
		i=$((i + 1))
	done
	[ $i -lt 100 ] || { echo "$netif: no carrier after 5 s" >/tmp/ping.out; return 1; }
}

# Bench images only: tn-blast through the interface of a driver.
blast() { # driver tx|rx size seconds
	netif=$(if_of_driver "$1") || { echo "no interface driven by $1" >/tmp/ping.out; return 1; }
	say "blast-ready $1 $2 $3 $4"
	# the host starts the window once the guest has shown it receives (its go)
	/bin/tn-blast "$2" "$netif" "$3" "$4" 0.5 go >/tmp/blast.out 2>/tmp/ping.out || return 1
	say "blast $1 $2 $3 $(cat /tmp/blast.out)"
}

run_step() { # name, args...
	step=$1
	shift
	case $step in
	load)
		case ${1:-} in
		driver=*) DRV=${1#driver=}; shift ;;
		esac
		# source=seeded: the build of that driver with tracenic's seeded bug modes
		dir=/lib/modules
		case ${1:-} in
		source=seeded) dir=/lib/modules/seeded; shift ;;
		esac
		if [ "$DRV" = tracenic ]; then
			insmod /lib/modules/tracenic.ko "$@" && find_if
		else
			insmod "$dir/$DRV.ko" "$@" 2>/tmp/ping.out || return 1
			# probing is synchronous, but give the netdev a moment to register
			i=0
			until IF=$(if_of_driver "$DRV"); do
				[ $i -lt 20 ] || { echo "no interface driven by $DRV" >/tmp/ping.out; return 1; }
				usleep 50000
				i=$((i + 1))
			done
		fi ;;
	agent)
		# The DMA-API agent (docs/agent.md) for the NIC, before its driver binds.
		bdf=${1:-$(nic_bdf)}
		[ -n "$bdf" ] || { echo "agent: no network PCI device" >/tmp/ping.out; return 1; }
		insmod /lib/modules/tracenic-agent.ko dev="$bdf" 2>/tmp/ping.out || return 1 ;;
	up)
		# The address and route survive a down/up: adding them again may fail.
		# Up means the link is up: e1000e reports carrier from its watchdog,
		# seconds after the open under TCG (a ping right after found none).
		ip link set "$IF" up || return 1
		wait_carrier up || return 1
		{
			ip addr add 10.0.2.15/24 dev "$IF" 2>/dev/null
			ip route add default via 10.0.2.2 2>/dev/null
			true
		} ;;
	ping)
		ping -c "${1:-3}" -W 2 -w $((${1:-3} + 10)) 10.0.2.2 >/tmp/ping.out 2>&1 ;;
	tx)
		# count, size: ICMP echo as the simplest traffic both ways
		# -w: a deadline, so lost replies fail the step instead of hanging it
		ping -q -c "${1:-100}" -s "${2:-56}" -W 2 -w $((${1:-100} + 10)) 10.0.2.2 \
			>/tmp/ping.out 2>&1 ;;
	bgping)
		# traffic that keeps going through the next steps (down, unload ...)
		ping -q 10.0.2.2 >/dev/null 2>&1 &
		;;
	bgflood)
		# N pings of SIZE bytes every millisecond, through the following steps:
		# frames wait in the qdisc while the driver closes and reopens its rings
		i=0
		while [ $i -lt "${1:-1}" ]; do
			ping -q -i 0.001 -s "${2:-56}" 10.0.2.2 >/dev/null 2>&1 &
			i=$((i + 1))
		done ;;
	mtu)
		ip link set "$IF" mtu "$1" && wait_carrier_if_up mtu ;;
	rings)
		# tracenic.ko's debugfs file, or ethtool -G for any other driver
		if [ "$DRV" = tracenic ]; then
			echo "$1 $2" >"/sys/kernel/debug/$IF/rings"
		else
			tn-ethtool "$IF" rings "$1" "$2" 2>/tmp/ping.out && wait_carrier_if_up rings
		fi ;;
	reset)
		# tracenic.ko's reset path, or ethtool -r (e1000e reinitializes the device)
		if [ "$DRV" = tracenic ]; then
			echo 1 >"/sys/kernel/debug/$IF/reset"
		else
			tn-ethtool "$IF" reset 2>/tmp/ping.out && wait_carrier_if_up reset
		fi ;;
	rebind)
		# the driver's remove and probe through sysfs, as a hot-unplug and replug
		dev=$(readlink -f "/sys/class/net/$IF/device") || return 1
		drv=$(readlink -f "$dev/driver") || return 1
		echo "${dev##*/}" >"$drv/unbind" 2>/tmp/ping.out || return 1
		echo "${dev##*/}" >"$drv/bind" 2>/tmp/ping.out || return 1
		i=0
		until { [ "$DRV" = tracenic ] && find_if; } || IF=$(if_of_driver "$DRV"); do
			[ $i -lt 20 ] || { echo "no interface after rebinding ${dev##*/}" >/tmp/ping.out; return 1; }
			usleep 50000
			i=$((i + 1))
		done ;;
	down)
		ip link set "$IF" down ;;
	unload)
		rmmod "$DRV" ;;
	netload)
		netload "$@" ;;
	blast)
		blast "$@" ;;
	sleep)
		usleep $((${1:-0} * 1000)) ;;
	dmabench)
		# N streaming map+unmap pairs on the NIC, timed in the guest (bench/agent.py)
		bdf=$(nic_bdf) || { echo "dmabench: no network PCI device" >/tmp/ping.out; return 1; }
		insmod /lib/modules/tn-dmabench.ko dev="$bdf" count="${1:-1000}" 2>/tmp/ping.out || return 1
		say "dmabench $(dmesg | sed -n 's/.*tn-dmabench: //p' | tail -n 1)"
		rmmod tn_dmabench ;;
	ndis)
		# drive the NDIS memory layer (load with selftest=1)
		before=$(free_kb)
		echo "$*" >"/sys/kernel/debug/$IF/ndis" || return 1
		read -r result <"/sys/kernel/debug/$IF/ndis"
		case $result in
		"ok slot="*" freed") slot=${result#ok slot=}; slot=${slot%% *}
			phys=$(cat "/tmp/slot.$slot") ;;
		ok*) slot=${result#ok slot=}; slot=${slot%% *}
			phys=${result#*phys=}; phys=${phys%% *}; echo "$phys" >"/tmp/slot.$slot" ;;
		*) echo "$result" >/tmp/ping.out; return 1 ;;
		esac
		# the most of three readings: a process exiting meanwhile (the shell's
		# own children) may not have given its pages back at the first one
		after=$(free_kb)
		for _ in 1 2; do
			usleep 10000
			a=$(free_kb)
			[ "$a" -gt "$after" ] && after=$a
		done
		say "ndis-result $result free_delta_kb=$((after - before)) uncached=$(page_uncached "$phys")" ;;
	freemem)
		say "freemem $(free_kb) $(grep -E 'MemFree' /proc/meminfo | tr -s ' ')" ;;
	patdump)
		while read -r l; do say "pat $l"; done </sys/kernel/debug/x86/pat_memtype_list ;;
	panic)
		# fault test: the harness must report a guest panic as such
		echo c >/proc/sysrq-trigger ;;
	hang)
		# fault test: the harness must time out and still collect everything
		while :; do sleep 1; done ;;
	*)
		echo "unknown step '$step'" >/tmp/ping.out
		return 2 ;;
	esac
}

insmod /lib/modules/qemu_fw_cfg.ko 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
steps=/sys/firmware/qemu_fw_cfg/by_name/opt/tracenic/steps/raw

for d in /sys/bus/pci/devices/*; do
	say "pci ${d##*/} $(cat "$d/vendor") $(cat "$d/device") $(cat "$d/class")"
done

# Seconds since the kernel started: the harness splits boot time with it.
say "uptime $(cut -d' ' -f1 /proc/uptime)"

# Where each loaded module's code is (gdb's add-symbol-file, docs/repro.md); once each.
MODULES_SAID=
say_modules() {
	for m in /sys/module/*/sections/.text; do
		[ -r "$m" ] || continue
		name=${m#/sys/module/}
		name=${name%%/*}
		case " $MODULES_SAID " in *" $name "*) continue ;; esac
		MODULES_SAID="$MODULES_SAID $name"
		say "module $name $(cat "$m")"
	done
}

n=0
if [ -r "$steps" ]; then
	cp "$steps" /tmp/steps
	while read -r line; do
		case $line in '' | \#*) continue ;; esac
		n=$((n + 1))
		# shellcheck disable=SC2086 # a step is words
		set -- $line
		if run_step "$@" </dev/null; then
			say "$n $1 ok"
		else
			say "$n $1 fail $(tail -n 1 /tmp/ping.out 2>/dev/null)"
		fi
		say_modules
		scan_dmesg
	done </tmp/steps
fi
# The DMA-API agent's counters (docs/agent.md), printed when it unloads.
if grep -q '^tracenic_agent ' /proc/modules; then
	rmmod tracenic_agent
	scan_dmesg
fi
say "done"
