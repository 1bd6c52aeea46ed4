# Rig B: the engine on the Linux kernel's st and sg drivers. A QEMU guest
# (Debian's 6.1 kernel, software emulation) logs into a private tgtd on
# the host and runs tests/guest/kernel-tests.sh on /dev/nstN and /dev/sgN:
# label, dumps, restores, verify over st: and sg: (queued writes), and a
# dump spanning two cartridges whose swap the guest asks for on the
# console. Raw sense seen through the kernel is checked against
# tests/data/sense.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tgt.sh"
. "$ABS_TOP/tests/guest/guest.sh"

guest_host_tools || skip "qemu-system-x86, busybox-static, kmod or cpio cannot be installed"
guest_prepare || skip "the guest kernel packages cannot be downloaded (apt-get download)"

tgt_start
tgt_tape 1 "$T/t1.img" 64
tgt_tape 2 "$T/t2.img" 64
tgt_tape 3 "$T/t3.img" 8
tgtimg --op new --device-type tape --barcode T4 --size 64 --type data \
	--file "$T/t4.img" >/dev/null
guest_initrd "$T/initrd.gz" "$ABS_TOP/tests/guest/kernel-tests.sh" \
	"$ENGINE" "$GUEST_ROOT/usr/bin/sg_raw" || fail "cannot build the guest initramfs"

mkfifo "$T/console.in"
exec 3<>"$T/console.in"
guest_boot "$T/initrd.gz" "$T/console.log" "$TGT_PORT" "$T/console.in" &
QPID=$!
PIDS="$PIDS $QPID"

# Swap LUN 3's cartridge each time the guest asks, then tell it.
swaps=0 image=t3
while kill -0 "$QPID" 2>/dev/null; do
	asked=$(grep -c '^ABS-SWAP' "$T/console.log" 2>/dev/null || true)
	if [ "${asked:-0}" -gt "$swaps" ]; then
		if [ $image = t3 ]; then image=t4; else image=t3; fi
		tgt_swap 3 "$T/$image.img"
		swaps=$((swaps + 1))
		echo "swapped to $image" >&3
	fi
	sleep 0.5
done
wait "$QPID"
exec 3>&-
tr -d '\r' <"$T/console.log" | grep '^ABS-' | grep -v '^ABS-SENSE'
grep -q '^ABS-GUEST-DONE' "$T/console.log" || {
	tail -n 40 "$T/console.log"
	fail "the guest did not finish its tests"
}
if grep -q '^ABS-TEST FAIL' "$T/console.log"; then
	tr -d '\r' <"$T/console.log" | sed -n '/^ABS-GUEST-READY/,$p' | grep -v '^ABS-SENSE'
	fail "kernel-path tests failed in the guest"
fi
for t in st-label-dump-restore-verify sg-queued-dump-restore-verify \
	sg-st-one-engine-per-drive sg-without-capabilities st-without-rawio-refused \
	st-span-dump \
	st-span-restore; do
	grep -q "^ABS-TEST ok $t" "$T/console.log" || fail "guest test $t did not pass"
	ok "$t on the kernel's st/sg drivers"
done

# The sense the kernel passed up must match the canned cases.
tr -d '\r' <"$T/console.log" | sed -n 's/^ABS-SENSE //p' | while read -r name hex; do
	f="$ABS_TOP/tests/data/sense/rigb-$name.hex"
	[ -f "$f" ] || { echo "no canned case for $name: $hex"; continue; }
	want=$(sed -n '2p' "$f" | tr -s ' ')
	[ "$(echo "$hex" | tr -s ' ' | sed 's/ $//')" = "$(echo "$want" | sed 's/ $//')" ] ||
		fail "sense for $name changed: got $hex, canned $want"
	echo "ok: sense $name as canned"
done
ok "Rig B: $swaps cartridge swaps"
