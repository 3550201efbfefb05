#!/bin/sh
# Scenario runner: reads the steps from fw_cfg (opt/tracenic/steps), runs
# them, and reports one "TNR ..." line per event on the results port
# (ttyS1).  See docs/guest-protocol.md.
out=/dev/ttyS1
[ -c "$out" ] || out=/dev/console

say() {
	echo "TNR $*" >"$out"
}

insmod /lib/modules/qemu_fw_cfg.ko 2>/dev/null
steps=/sys/firmware/qemu_fw_cfg/by_name/opt/tracenic/steps/raw

# PCI inventory: the device must be visible to the guest.
for d in /sys/bus/pci/devices/*; do
	say "pci ${d##*/} $(cat "$d/vendor") $(cat "$d/device") $(cat "$d/class")"
done

n=0
if [ -r "$steps" ]; then
	while read -r step args; do
		[ -n "$step" ] || continue
		case $step in \#*) continue ;; esac
		n=$((n + 1))
		case $step in
		sleep) usleep $((args * 1000)); say "$n sleep ok" ;;
		*) say "$n $step fail unknown step" ;;
		esac
	done <"$steps"
fi
say "done"
