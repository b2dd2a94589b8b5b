#!/bin/busybox sh
# tsvmm's /init for Debian's kernel in the test initramfs (made by scripts/fetch-guest-kernel.sh). It checks
# what tsvmm gave the kernel against what the kernel command line says to expect, prints what the tests
# compare, then powers off (or reboots, or gives a shell), as the command line asks:
#   tsvmm.cpus=N        the CPU count /proc/cpuinfo must show
#   tsvmm.mem=MIB       the guest RAM (--memory); MemTotal must be below it and above 3/4 of it
#   tsvmm.action=A      poweroff (default), reboot (reboot -f), panic (through sysrq: with panic=-1 the kernel
#                       reboots) or shell (an interactive shell on the console)
#   tsvmm.sum=MD5       last on the line: the MD5 of the command line before " tsvmm.sum=", so /proc/cmdline
#                       is checked byte for byte against what was passed
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

failures=0
fail() {
	echo "TSVMM-INIT-FAIL: $*"
	failures=$((failures + 1))
}
param() {
	for word in $(cat /proc/cmdline); do
		case "$word" in "$1="*) echo "${word#*=}" ;; esac
	done
}

cmdline=$(cat /proc/cmdline)
echo "TSVMM-CMDLINE: $cmdline"
case "$cmdline" in
*" tsvmm.sum="*)
	body=${cmdline% tsvmm.sum=*}
	want=${cmdline##* tsvmm.sum=}
	got=$(printf '%s' "$body" | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "/proc/cmdline's MD5 is $got, the command line says $want"
	;;
*) fail "no tsvmm.sum= on the command line" ;;
esac

cpus=$(grep -c '^processor' /proc/cpuinfo)
echo "TSVMM-CPUS: $cpus"
want=$(param tsvmm.cpus)
[ -z "$want" ] || [ "$cpus" = "$want" ] || fail "/proc/cpuinfo shows $cpus CPUs, expected $want"

memtotal=$(grep '^MemTotal:' /proc/meminfo | tr -s ' ' | cut -d' ' -f2)
echo "TSVMM-MEMTOTAL-KB: $memtotal"
mib=$(param tsvmm.mem)
if [ -n "$mib" ]; then
	[ "$memtotal" -lt $((mib * 1024)) ] || fail "MemTotal ${memtotal} kB is not below --memory ${mib} MiB"
	[ "$memtotal" -gt $((mib * 768)) ] || fail "MemTotal ${memtotal} kB is not above 3/4 of ${mib} MiB"
fi

echo "TSVMM-IOMEM-BEGIN"
cat /proc/iomem
echo "TSVMM-IOMEM-END"

echo "TSVMM-FILES: $(find / -xdev -type f | sort | tr '\n' ' ')"
[ -f /etc/tsvmm-initrd ] || fail "/etc/tsvmm-initrd is missing from the initrd"

echo "TSVMM-UPTIME: $(cut -d' ' -f1 /proc/uptime)"
if [ "$failures" = 0 ]; then echo "TSVMM-INIT-OK"; fi

case "$(param tsvmm.action)" in
reboot) reboot -f ;;
panic) echo c >/proc/sysrq-trigger ;;
shell)
	# This /init is no init daemon: poweroff and reboot in the shell act at once (-f).
	printf 'poweroff() { busybox poweroff -f; }\nreboot() { busybox reboot -f; }\n' >/etc/profile
	ENV=/etc/profile setsid cttyhack sh
	poweroff -f
	;;
*) poweroff -f ;;
esac
