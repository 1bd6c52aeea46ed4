# A media server notices its device node going away and coming back from
# the kernel's uevents (sg/uevent.c, NETLINK_KOBJECT_UEVENT), reports it
# (engine-event device), and starts no job on a gone node. Rig B: a QEMU
# guest (tests/guest/) logged into a private tgtd runs abs-ctld and a
# media server on the sg node of a tape LUN, deletes the SCSI device
# through sysfs and rescans its host (tests/guest/device-events.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tgt.sh"
. "$ABS_TOP/tests/guest/guest.sh"

trap 'tgt_stop; cleanup' EXIT

guest_host_tools || skip "qemu-system-x86, busybox-static, kmod or cpio cannot be installed"
guest_prepare || skip "the guest kernel packages cannot be downloaded (apt-get download)"
tgt_start
tgt_tape 1 "$T/t1.img" 16 || fail "tgtadm could not create tape LUN 1"
guest_initrd "$T/initrd.gz" "$ABS_TOP/tests/guest/device-events.sh" \
	"$ENGINE" "$ABS_BIN/abs-ctld" "$ABS_BIN/abs-ctl" ||
	fail "cannot build the guest initramfs"
qrc=0
# guest_boot execs QEMU: in a subshell of its own.
(guest_boot "$T/initrd.gz" "$T/console.log" "$TGT_PORT") || qrc=$?
tr -d '\r' <"$T/console.log" | grep '^ABS-\|device node' || true
[ "$qrc" = 0 ] || { tail_console >&2; fail "QEMU exited with status $qrc"; }
grep -q '^ABS-GUEST-DONE' "$T/console.log" || { tail_console >&2; fail "the guest did not finish"; }
for t in device-gone-noticed no-job-on-gone-device device-back-noticed; do
	grep -q "^ABS-TEST ok $t" "$T/console.log" || { tail_console >&2; fail "guest test $t"; }
	ok "$t (kernel uevents in the guest)"
done
