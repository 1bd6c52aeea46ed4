# Rig B with a medium changer: the QEMU guest logs into the host's tgt
# library (tgt_library: a changer and two drives) with the kernel's iSCSI
# initiator; the changer is a kernel sg device of type 8 there. The guest
# (tests/guest/smc-tests.sh) runs `abs-engine changer --device smc:sg:...`
# and Debian's mtx side by side: their inventories agree before and after
# moves each makes, refusals carry their sense, two engines take turns,
# and the cartridge the robot loaded is the tape behind the drive's st node.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tgt.sh"
. "$ABS_TOP/tests/guest/guest.sh"

guest_harness t_smc_kernel

step="looking for qemu, busybox, kmod and cpio"
guest_host_tools || skip "qemu-system-x86, busybox-static, kmod or cpio cannot be installed"
step="preparing the guest kernel and packages"
guest_prepare || skip "the guest kernel packages cannot be downloaded (apt-get download)"
step="adding mtx to the guest's packages"
guest_add_pkg mtx /usr/sbin/mtx || skip "Debian's mtx cannot be downloaded (apt-get download mtx)"

step="starting tgtd with a library"
tgt_start
tgt_library 2 8 5 8
step="building the guest initramfs"
guest_initrd "$T/initrd.gz" "$ABS_TOP/tests/guest/smc-tests.sh" \
	"$ENGINE" "$GUEST_ROOT/usr/sbin/mtx" || fail "cannot build the guest initramfs"

step="booting the guest"
GUEST_APPEND="abs.target=$TGT_LIB_IQN" guest_boot "$T/initrd.gz" "$T/console.log" \
	"$TGT_PORT" &
QPID=$!
PIDS="$PIDS $QPID"
step="running the guest's tests (QEMU pid $QPID)"
qrc=0
wait "$QPID" || qrc=$?
step="reading the guest's results"
tr -d '\r' <"$T/console.log" | grep '^ABS-' | grep -v '^ABS-OUT json' || true
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
grep -q '^ABS-TEST FAIL' "$T/console.log" && fail "changer tests failed in the guest"
for t in smc-sg-inventory smc-mtx-agree-start smc-sg-moves \
	smc-mtx-agree-after-engine-moves mtx-moves smc-mtx-agree-after-mtx-moves \
	smc-sg-source smc-sg-refused-source-empty smc-sg-refused-dest-full \
	smc-sg-two-users smc-sg-drive-tape smc-sg-unload smc-mtx-agree-end; do
	grep -q "^ABS-TEST ok $t" "$T/console.log" || fail "guest test $t did not pass"
	ok "$t through the kernel's sg driver"
done
# The engine's JSON through sg is the one it gives over iSCSI.
tr -d '\r' <"$T/console.log" | sed -n 's/^ABS-OUT json //p' | head -n1 >inv.json
jq -e '[.elements[] | select(.type == "slot" and .full) | .barcode] ==
	["TG0001L6", "TG0002L6", "TG0003L6", "TG0004L6", "TG0005L6"]' inv.json \
	>/dev/null || { cat inv.json; fail "inventory JSON through sg"; }
ok "Rig B: the tgt changer as /dev/sgN (type 8); engine and mtx agree"
