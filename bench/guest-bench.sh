#!/bin/sh
# Runs inside the Rig B guest (see bench/guest.sh): dd to /dev/nst0 next to
# the engine on st: and on sg: (1 and 8 writes in flight), same source in
# tmpfs, same block size. Prints "ABS-BENCH tool MB/s" lines.
E=/bin/abs-engine
MB=$(sed -n 's/.*abs\.mb=\([0-9]*\).*/\1/p' /proc/cmdline)
SG=/dev/$(ls /sys/class/scsi_tape/nst0/device/scsi_generic)
head -c $((MB << 20)) /dev/urandom >/tmp/src
now() { cut -d' ' -f1 /proc/uptime; }
rate() { awk -v a="$1" -v b="$2" -v mb="$MB" 'BEGIN { printf "%.1f", mb * 1.048576 / (b - a) }'; }
for run in 1 2 3; do
	mt-st -f /dev/nst0 rewind
	t0=$(now); dd if=/tmp/src of=/dev/nst0 bs=1M 2>/dev/null; mt-st -f /dev/nst0 weof 1; t1=$(now)
	echo "ABS-BENCH dd-nst0 $(rate "$t0" "$t1")"
	$E label --device st:/dev/nst0 --label B1 --force >/dev/null
	v=$($E dump --device st:/dev/nst0 --entity b --source file:/tmp/src --log /tmp/b.log \
		--no-verify 2>/dev/null | sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p')
	echo "ABS-BENCH engine-st $v"
	for q in 1 8; do
		$E label --device sg:$SG --label B1 --force >/dev/null
		v=$($E dump --device sg:$SG --entity b --source file:/tmp/src --log /tmp/b.log \
			--queue $q --no-verify 2>/dev/null | sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p')
		echo "ABS-BENCH engine-sg-q$q $v"
	done
done
