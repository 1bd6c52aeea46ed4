# Rig B: the engine on the Linux kernel's st and sg drivers. A QEMU guest
# (Debian's 6.1 kernel, software emulation) logs into a private tgtd on
# the host and runs tests/guest/kernel-tests.sh on /dev/nstN and /dev/sgN:
# label, dumps, restores, verify over st: and sg: (queued writes), and a
# dump spanning two cartridges whose swap the guest asks for on the
# console. Raw sense seen through the kernel is checked against
# tests/data/sense.
#
# Every way out says why: each step names itself (step), and an exit that
# no fail or skip explained (set -e, a signal, the time limit) prints the
# step it stopped in and the console's last lines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tgt.sh"
. "$ABS_TOP/tests/guest/guest.sh"

guest_harness t_kernel

step="looking for qemu, busybox, kmod and cpio"
guest_host_tools || skip "qemu-system-x86, busybox-static, kmod or cpio cannot be installed"
step="preparing the guest kernel and packages"
guest_prepare || skip "the guest kernel packages cannot be downloaded (apt-get download)"

step="starting tgtd"
tgt_start
for lun in 1:t1:64 2:t2:64 3:t3:8; do
	step="creating tape LUN ${lun%%:*}"
	set -- $(echo "$lun" | tr ':' ' ')
	tgt_tape "$1" "$T/$2.img" "$3" || fail "tgtadm could not create tape LUN $1 ($T/$2.img)"
done
step="making the second cartridge for LUN 3"
tgtimg --op new --device-type tape --barcode T4 --size 64 --type data \
	--file "$T/t4.img" >/dev/null || fail "tgtimg could not make $T/t4.img"
step="building the guest initramfs"
guest_initrd "$T/initrd.gz" "$ABS_TOP/tests/guest/kernel-tests.sh" \
	"$ENGINE" "$GUEST_ROOT/usr/bin/sg_raw" || fail "cannot build the guest initramfs"

step="booting the guest"
mkfifo "$T/console.in"
exec 3<>"$T/console.in"
guest_boot "$T/initrd.gz" "$T/console.log" "$TGT_PORT" "$T/console.in" &
QPID=$!
PIDS="$PIDS $QPID"

# Swap LUN 3's cartridge each time the guest asks, then tell it.
step="running the guest's tests (QEMU pid $QPID)"
swaps=0 image=t3
while kill -0 "$QPID" 2>/dev/null; do
	asked=$(grep -c '^ABS-SWAP' "$T/console.log" 2>/dev/null || true)
	if [ "${asked:-0}" -gt "$swaps" ]; then
		if [ $image = t3 ]; then image=t4; else image=t3; fi
		step="swapping LUN 3's cartridge to $image (swap $((swaps + 1)))"
		tgt_swap 3 "$T/$image.img" || fail "tgtadm could not swap LUN 3 to $image.img"
		swaps=$((swaps + 1))
		echo "swapped to $image" >&3
		step="running the guest's tests (QEMU pid $QPID)"
	fi
	sleep 0.5
done
qrc=0
wait "$QPID" || qrc=$?
exec 3>&-
step="reading the guest's results"
tr -d '\r' <"$T/console.log" | grep '^ABS-' | grep -v '^ABS-SENSE' || true
# QEMU ends with 0 when the guest powers off (or panics: -no-reboot);
# timeout(1) gives 124 after 900 s.
if [ "$qrc" = 124 ]; then
	tail_console >&2
	fail "the guest ran past 900 s (timeout stopped QEMU)"
elif [ "$qrc" != 0 ]; then
	tail_console >&2
	fail "QEMU exited with status $qrc"
fi
grep -q '^ABS-GUEST-DONE' "$T/console.log" || {
	tail_console >&2
	fail "the guest did not finish its tests (QEMU exited 0)"
}
if grep -q '^ABS-TEST FAIL' "$T/console.log"; then
	tr -d '\r' <"$T/console.log" | sed -n '/^ABS-GUEST-READY/,$p' | grep -v '^ABS-SENSE'
	fail "kernel-path tests failed in the guest"
fi
step="checking each guest test passed"
for t in st-label-dump-restore-verify sg-queued-dump-restore-verify \
	sg-st-one-engine-per-drive sg-without-capabilities st-without-rawio-refused \
	st-span-dump \
	st-span-restore read-queue-kernel; do
	grep -q "^ABS-TEST ok $t" "$T/console.log" || fail "guest test $t did not pass"
	ok "$t on the kernel's st/sg drivers"
done

# The sense the kernel passed up must match the canned cases.
step="comparing the sense data with tests/data/sense"
tr -d '\r' <"$T/console.log" | sed -n 's/^ABS-SENSE //p' >sense.txt
while read -r name hex; do
	f="$ABS_TOP/tests/data/sense/rigb-$name.hex"
	[ -f "$f" ] || { echo "no canned case for $name: $hex"; continue; }
	want=$(sed -n '2p' "$f" | tr -s ' ')
	[ "$(echo "$hex" | tr -s ' ' | sed 's/ $//')" = "$(echo "$want" | sed 's/ $//')" ] ||
		fail "sense for $name changed: got $hex, canned $want"
	echo "ok: sense $name as canned"
done <sense.txt
ok "Rig B: $swaps cartridge swaps"
