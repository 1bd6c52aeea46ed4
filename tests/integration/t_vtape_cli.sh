# abs-vtape: libraries, slots, drives, load/unload, show, inject.
. "$(dirname "$0")/lib.sh"

"$VTAPE" new-library L --slots 3 --drives 2 --capacity 100M --early-warning 10M \
	--barcode-prefix ABS >/dev/null
expect_fail "already exists" "$VTAPE" new-library L --slots 3 --drives 2 --capacity 100M
"$VTAPE" list L | grep -q '^slot3 *ABS00003 ' || fail "slot 3 listing"
"$VTAPE" load L --slot 2 --drive 1
"$VTAPE" list L | grep -q '^drive1 *ABS00002' || fail "drive 1 should hold ABS00002"
"$VTAPE" list L | grep -q '^slot2 *(empty)' || fail "slot 2 should be empty"
expect_fail "empty" "$VTAPE" load L --slot 2 --drive 0
expect_fail "already holds" "$VTAPE" load L --slot 1 --drive 1
"$ENGINE" label --device vtape:L/drive1 --label X1
"$VTAPE" show L --drive 1 | grep -q 'file 0 .*blocks=1 .*bytes=4096 .*filemark' ||
	fail "show does not list the label file"
"$VTAPE" unload L --drive 1
"$VTAPE" list L | grep -q '^slot2 *ABS00002 *files=1' || fail "cartridge not home"
expect_fail "empty" "$VTAPE" unload L --drive 1
"$VTAPE" inject L --slot 2 --write-protect --tapealert 3
grep -q 'write_protect=1' L/carts/ABS00002/cart.conf || fail "inject"
"$VTAPE" show L --slot 2 | grep -q write-protected || fail "show write-protected"
expect_fail "bad size" "$VTAPE" new-library L2 --slots 1 --capacity 12Q
# A bare cartridge is a device of its own.
"$VTAPE" new-cartridge C --barcode SOLO01 --capacity 50M
"$ENGINE" label --device vtape:C --label SOLO01
"$ENGINE" list --device vtape:C | grep -q 'tape SOLO01' || fail "bare cartridge"
# Health as the drive reports it.
"$VTAPE" load L --slot 1 --drive 0
"$VTAPE" inject L --drive 0 --tapealert 20
"$ENGINE" label --device vtape:L/drive0 --label X0
"$ENGINE" status --device vtape:L/drive0 | tee st.txt
grep -q '^TapeAlert  *20 (clean now)' st.txt || fail "status: TapeAlert flag"
grep -q '^cartridge MAM medium serial ABS00001, barcode ABS00001' st.txt || fail "status: MAM"
grep -q '^cartridge  *label X0 ' st.txt || fail "status: label"
"$ENGINE" status --device vtape:L/drive1 | grep -q 'no cartridge in the drive' ||
	fail "status of an empty drive"
ok "abs-vtape commands"

# One writer per cartridge, whatever path reaches it (issue 11): a dump
# through drive 0 holds its cartridge; the same cartridge through its own
# directory, through a second drive given the same cartridge, or through
# the drive again is refused, naming the holder and its path.
"$VTAPE" new-library W --slots 3 --drives 2 --capacity 100M >/dev/null
"$VTAPE" load W --slot 1 --drive 0
"$ENGINE" label --device vtape:W/drive0 --label W1
mkfifo src.fifo
exec 3<>src.fifo
"$ENGINE" dump --device vtape:W/drive0 --entity held --source "cmd:cat $T/src.fifo" \
	--log w.log 2>held.err 3>&- &
hpid=$!
PIDS="$PIDS $hpid"
wait_for "pid=$hpid " W/carts/V00001/.lock
expect_fail "cartridge $T/W/carts/V00001 is in use by pid $hpid (opened as vtape:W/drive0)" \
	"$ENGINE" dump --device vtape:W/carts/V00001 --entity other --source "cmd:echo x" --log w.log
expect_fail "in use by pid $hpid" "$ENGINE" label --device "vtape:$T/W/carts/V00001/" --label W9 --force
expect_fail "drive W/drive0 is in use by pid $hpid" "$ENGINE" list --device vtape:W/drive0
ln -s ../carts/V00001 W/drive1/tape
expect_fail "cartridge $T/W/carts/V00001 is in use by pid $hpid" \
	"$ENGINE" dump --device vtape:W/drive1 --entity other --source "cmd:echo x" --log w.log
# Nor does the changer move a cartridge in use.
expect_fail "in use by pid $hpid" "$VTAPE" unload W --drive 1
# Deleting the lock files (a tmp cleaner, an operator) lets nobody in:
# the lock is on the cartridge's and drive's directories themselves.
rm -f W/carts/V00001/.lock W/drive0/.lock
expect_fail "cartridge $T/W/carts/V00001 is in use by pid $hpid" \
	"$ENGINE" dump --device vtape:W/carts/V00001 --entity other --source "cmd:echo x" --log w.log
expect_fail "drive W/drive0 is in use by pid $hpid" "$ENGINE" list --device vtape:W/drive0
expect_fail "in use by pid $hpid" "$VTAPE" unload W --drive 1
ok "lock files deleted under a holder: the cartridge and drive stay refused"
head -c 3000000 /dev/urandom >held.bin
cat held.bin >&3
exec 3>&-
wait $hpid || { cat held.err; fail "the holding dump failed"; }
grep -q '^dump entity=held .*status=complete' w.log || fail "held dump not complete"
grep -c '^dump ' w.log | grep -qx 1 || fail "a refused dump was logged"
# The hand-made second link is a cartridge in two places: check finds it.
rc=0; "$VTAPE" check W >chk.txt || rc=$?
[ $rc = 3 ] && grep -q 'V00001.* is in 2 places: drive1 drive0' chk.txt ||
	{ cat chk.txt; fail "check: cartridge in two drives (rc $rc)"; }
rm W/drive1/tape
"$ENGINE" restore --device vtape:W/drive0 --entity held --log w.log --stdout | cmp - held.bin ||
	fail "the held dump does not restore"
ok "one writer per cartridge: drive, carts/BARCODE and a second drive refused"

# A changer move killed at every step (ABS_VTAPE_CRASH_STEP=N ends the
# process there as kill -9 would): check reports it (exit 3), --repair
# fixes it (exit 4), the cartridge is in one place, and a dump runs.
for n in 1 2 3 4 5 6 7 8; do
	rm -rf M
	"$VTAPE" new-library M --slots 3 --drives 1 --capacity 50M >/dev/null
	rc=0; ABS_VTAPE_CRASH_STEP=$n "$VTAPE" load M --slot 2 --drive 0 || rc=$?
	[ $rc = 137 ] || fail "load did not die at step $n (rc $rc)"
	rc=0; "$VTAPE" check M >chk.txt || rc=$?
	[ $rc = 3 ] || { cat chk.txt; fail "check after a crash at step $n: rc $rc"; }
	rc=0; "$VTAPE" check M --repair >chk.txt || rc=$?
	[ $rc = 4 ] || { cat chk.txt; fail "repair after a crash at step $n: rc $rc"; }
	"$VTAPE" check M >/dev/null || fail "not clean after repair (step $n)"
	[ "$("$VTAPE" list M | grep -c ' V00002 ')" = 1 ] || fail "V00002 twice (step $n)"
	if [ $n -lt 6 ]; then
		"$VTAPE" list M | grep -q '^drive0 *(empty)' || fail "step $n not undone"
		"$VTAPE" load M --slot 2 --drive 0
	else
		"$VTAPE" list M | grep -q '^drive0 *V00002' || fail "step $n not finished"
	fi
	"$ENGINE" label --device vtape:M/drive0 --label M$n >/dev/null
	"$ENGINE" dump --device vtape:M/drive0 --entity e$n --source "cmd:echo $n" \
		--log m.log >/dev/null 2>&1 || fail "no dump after step $n"
	"$VTAPE" unload M --drive 0
done
ok "abs-vtape load killed at each of 8 steps: checked, repaired, dumps run"

# The engine's own moves (a dump spanning cartridges) killed at a step
# before and after the commit: the next dump's open repairs the library.
for n in 3 7; do
	rm -rf N
	"$VTAPE" new-library N --slots 4 --drives 1 --capacity 30M --early-warning 2M >/dev/null
	"$VTAPE" load N --slot 1 --drive 0
	"$ENGINE" label --device vtape:N/drive0 --label N00001 >/dev/null
	head -c 30000000 /dev/urandom >span.bin
	rc=0; ABS_VTAPE_CRASH_STEP=$n "$ENGINE" dump --device vtape:N/drive0 --entity s \
		--source "file:$T/span.bin" --log n.log --autolabel 'N%05d' 2>n.err || rc=$?
	[ $rc = 137 ] || { cat n.err; fail "the engine did not die at step $n (rc $rc)"; }
	rc=0; "$VTAPE" check N >chk.txt || rc=$?
	[ $rc = 3 ] || { cat chk.txt; fail "engine crash at step $n: check rc $rc"; }
	"$VTAPE" list N | grep -q '^drive0 *V00001' || "$VTAPE" load N --slot 1 --drive 0 ||
		fail "cannot load after an engine crash at step $n"
	"$ENGINE" dump --device vtape:N/drive0 --entity s --source "file:$T/span.bin" \
		--log n.log --autolabel 'N%05d' 2>n.err || { cat n.err; fail "no dump after step $n"; }
	grep -q 'interrupted move' n.err || [ $n -ge 6 ] ||
		{ cat n.err; fail "the open did not report the repair"; }
	"$VTAPE" check N >/dev/null || fail "library not clean after the dump (step $n)"
	"$ENGINE" restore --device vtape:N/drive0 --entity s --log n.log --stdout | cmp - span.bin ||
		fail "spanning dump after an engine crash at step $n differs"
done
ok "the engine killed inside a changer move: repaired on the next open, dumps restore"

# The host disk under a vtape fills (a 12 MiB tmpfs): the dump fails with
# HARDWARE ERROR 44/00 and says the host disk is full, naming the file;
# what was on tape before stays complete and restores.
mkdir full
if mount -t tmpfs -o size=12M tmpfs full 2>/dev/null; then
	trap 'umount "$T/full" 2>/dev/null; cleanup' EXIT
	"$VTAPE" new-library full/L --slots 2 --drives 1 --capacity 50M >/dev/null
	"$VTAPE" load full/L --slot 1 --drive 0
	"$ENGINE" label --device vtape:full/L/drive0 --label F1 >/dev/null
	head -c 3000000 /dev/urandom >small.bin
	head -c 20000000 /dev/urandom >big.bin
	"$ENGINE" dump --device vtape:full/L/drive0 --entity small --source "file:$T/small.bin" \
		--log f.log 2>/dev/null
	expect_fail "HARDWARE ERROR 44/00.*host disk full (No space left on device) writing .*full/L/carts/V00001/file00000" \
		"$ENGINE" dump --device vtape:full/L/drive0 --entity big --source "file:$T/big.bin" --log f.log
	grep -q '^dump entity=big .*status=complete' f.log && fail "a dump that hit a full host disk is complete"
	"$ENGINE" restore --device vtape:full/L/drive0 --entity small --log f.log --stdout |
		cmp - small.bin || fail "the dump before the host disk filled does not restore"
	umount full
	trap cleanup EXIT
	ok "host disk full under a vtape: said so, nothing complete that is not on tape"
else
	echo "note: cannot mount a tmpfs here (not root?): host-disk-full case not run"
fi

# The state an unjournalled move left when killed between its two steps
# (issue 11): the cartridge in its slot and in the drive, the drive's link
# the newer. No dump ran and unload said "No space left on device"; now
# the next open or move repairs it, saying so.
rm -rf O
"$VTAPE" new-library O --slots 2 --drives 1 --capacity 50M >/dev/null
"$VTAPE" load O --slot 1 --drive 0
ln -s carts/V00001 O/slot1
touch -h -d '2020-01-01 00:00' O/slot1
rc=0; "$VTAPE" check O >chk.txt || rc=$?
[ $rc = 3 ] && grep -q 'V00001 is in 2 places: drive0 slot1' chk.txt ||
	{ cat chk.txt; fail "check: the old crash state (rc $rc)"; }
"$VTAPE" unload O --drive 0 2>unl.err || { cat unl.err; fail "unload after the old crash"; }
grep -q 'kept it in drive0 (its link is the newest' unl.err || { cat unl.err; fail "repair not said"; }
"$VTAPE" list O | grep -q '^slot1 *V00001' || fail "V00001 not home"
"$VTAPE" check O >/dev/null || fail "not clean"
# The same state met by a dump: its open repairs it, and the dump runs.
"$VTAPE" load O --slot 1 --drive 0
ln -s carts/V00001 O/slot1
touch -h -d '2020-01-01 00:00' O/slot1
"$ENGINE" label --device vtape:O/drive0 --label O1 2>lab.err
grep -q 'removed it from slot1' lab.err || { cat lab.err; fail "the open did not repair"; }
"$ENGINE" dump --device vtape:O/drive0 --entity o --source "cmd:echo o" --log o.log 2>/dev/null ||
	fail "no dump after the old crash state"
"$VTAPE" check O >/dev/null || fail "not clean after the dump"
ok "a cartridge left in a slot and a drive by an old crash: repaired on open and move"

# The library's robot (issue 14): portals, drive serials, injected faults,
# the door and the operator's import and export.
"$VTAPE" new-library P --slots 3 --drives 2 --portals 2 --capacity 50M \
	--serial VLCLI01 --barcode-prefix P >/dev/null
grep -q '^portals=2$' P/library.conf && grep -q '^serial=VLCLI01$' P/library.conf ||
	fail "library.conf lacks portals or serial"
"$VTAPE" list P | grep -q '^portal2 *(empty)' || fail "portals not listed"
expect_fail "bad values" "$VTAPE" new-library P2 --slots 3 --capacity 50M --serial 'a b'
expect_fail "not a number" "$VTAPE" new-library P3 --slots 3 --capacity 50M --portals 65
"$ENGINE" status --device vtape:P/drive1 | grep -q 'serial VLCLI01D1' ||
	fail "drive 1's serial is not VLCLI01D1"
"$VTAPE" fault P | grep -q '^move failures   none' || fail "fault: a new library has faults"
"$VTAPE" fault P --move-fail 2 --jam | grep -q 'the next 2 moves (jam' || fail "fault --move-fail"
grep -q '^move_fail=2$' P/changer.conf || fail "changer.conf: move_fail"
"$VTAPE" fault P --jam-slot 3 --unreadable 2 >f.txt
grep -q '^jammed slots    3' f.txt && grep -q '^unreadable      P00002' f.txt ||
	{ cat f.txt; fail "fault --jam-slot --unreadable"; }
expect_fail "no slot 7" "$VTAPE" fault P --jam-slot 7
expect_fail "numbered from 1" "$VTAPE" fault P --unreadable 0
expect_fail "goes with --move-fail" "$VTAPE" fault P --jam
"$VTAPE" fault P --not-ready 3 | grep -q '^not ready       the next 3 commands' ||
	fail "fault --not-ready"
"$VTAPE" fault P --refuse-dvcid --refuse-voltag | grep -q '^refused         READ ELEMENT STATUS with DVCID or VolTag' ||
	fail "fault --refuse-dvcid --refuse-voltag"
"$VTAPE" fault P --clear | grep -q '^jammed slots    none' || fail "fault --clear"
"$VTAPE" fault P | grep -q '^not ready' && fail "--clear left not-ready"
echo 'move_fail=many' >P/changer.conf
expect_fail "changer.conf: line 1" "$VTAPE" fault P
"$VTAPE" fault P --clear >/dev/null || fail "--clear does not rewrite a bad changer.conf"
"$VTAPE" door P | grep -q 'UNIT ATTENTION' || fail "door"
"$VTAPE" fault P | grep -q '^unit attention  pending' || fail "door: no attention pending"
"$VTAPE" import P NEW01 NEW02 | grep -q '2 cartridges put into portals' || fail "import"
"$VTAPE" list P | grep -q '^portal1 *NEW01 ' || fail "NEW01 not in portal 1"
expect_fail "0 free slots for 2" "$VTAPE" import P --to-slots A1 A2
expect_fail "0 free portals for 1" "$VTAPE" import P NEW03
expect_fail "is in portal2 already" "$VTAPE" import P --to-slots NEW02
expect_fail "bad barcode" "$VTAPE" import P --to-slots 'x/y'
expect_fail "needs the barcodes" "$VTAPE" import P
"$VTAPE" export P --portal 1 | grep -q 'took NEW01 out of portal 1' || fail "export"
expect_fail "portal 1 is empty" "$VTAPE" export P --portal 1
"$VTAPE" import P NEW01 >/dev/null
"$VTAPE" export P >ex.txt
grep -c '^took' ex.txt | grep -qx 2 || { cat ex.txt; fail "export of every portal"; }
expect_fail "every portal is empty" "$VTAPE" export P
"$VTAPE" new-library Q --slots 1 --capacity 50M >/dev/null
expect_fail "no portals" "$VTAPE" import Q X1
"$VTAPE" check P >/dev/null || fail "library P not clean after the operator"
"$VTAPE" --help | grep -q 'fault DIR' || fail "--help lacks fault"
ok "abs-vtape portals, serials, faults, door, import and export"

# The same faults seen by the operator's changer command, through the SCSI
# changer backend (vtape:LIB is smc over the library's own SMC target).
"$VTAPE" new-library R --slots 3 --drives 2 --portals 1 --capacity 50M \
	--serial VLR >/dev/null
"$ENGINE" changer --device vtape:R inventory >inv.txt
grep -Eq '^drive +1 +257 +empty .*VLRD1$' inv.txt && grep -Eq '^portal +1 +16 +empty' inv.txt ||
	{ cat inv.txt; fail "changer inventory of a vtape library"; }
"$ENGINE" changer --device smc:vtape:R inventory | tail -n +2 >inv2.txt
tail -n +2 inv.txt | cmp -s - inv2.txt ||
	fail "smc:vtape:R differs from vtape:R"
"$VTAPE" fault R --move-fail 1 >/dev/null
rc=0; "$ENGINE" changer --device vtape:R --json load 1 0 >mv.json || rc=$?
[ $rc = 1 ] && grep -q '"sense":"15/01"' mv.json || { cat mv.json; fail "an injected move failure (rc $rc)"; }
"$ENGINE" changer --device vtape:R load 1 0 || fail "the move after the failure"
"$VTAPE" fault R --jam-slot 3 --unreadable 2 >/dev/null
"$VTAPE" door R >/dev/null
"$ENGINE" changer --device vtape:R --json inventory >inv.json
grep -q '"attention":true' inv.json || { cat inv.json; fail "no UNIT ATTENTION after the door"; }
grep -q '"num":2,"addr":4097,"full":true,"barcode":null,"tag_unreadable":true' inv.json ||
	{ cat inv.json; fail "unreadable label"; }
grep -q '"num":3,"addr":4098,"full":true,"barcode":"V00003","tag_unreadable":false,"source":null,"ident":null,"except":true,"access":false' inv.json ||
	{ cat inv.json; fail "jammed slot"; }
grep -q '"num":0,"addr":256,"full":true,"barcode":"V00001","tag_unreadable":false,"source":1,"ident":"VLRD0"' inv.json ||
	{ cat inv.json; fail "drive 0 with its serial"; }
"$ENGINE" changer --device vtape:R --json inventory | grep -q '"attention":false' ||
	fail "the UNIT ATTENTION was heard twice"
# A changer without DVCID: the inventory comes whole, without identifiers.
"$VTAPE" fault R --refuse-dvcid >/dev/null
"$ENGINE" changer --device vtape:R --json inventory >inv.json
grep -q '"num":0,"addr":256,"full":true,"barcode":"V00001","tag_unreadable":false,"source":1,"ident":null' inv.json ||
	{ cat inv.json; fail "inventory without DVCID"; }
"$VTAPE" fault R --clear --jam-slot 3 --unreadable 2 >/dev/null
expect_fail "HARDWARE ERROR 53/00" "$ENGINE" changer --device vtape:R load 3 1
"$VTAPE" import R NEW01 >/dev/null
"$ENGINE" changer --device vtape:R inventory | grep -Eq '^portal +1 +16 +full +NEW01 .*put in by an operator' ||
	fail "imported cartridge not in portal 1"
"$ENGINE" changer --device vtape:R prevent >/dev/null
expect_fail "ILLEGAL REQUEST 53/02" "$ENGINE" changer --device vtape:R move portal:1 drive:1
expect_fail "portals are locked" "$VTAPE" export R
"$ENGINE" changer --device vtape:R allow >/dev/null
"$ENGINE" changer --device vtape:R move portal:1 drive:1 || fail "portal to drive after allow"
"$ENGINE" label --device vtape:R/drive1 --label NEW01 >/dev/null || fail "label the imported cartridge"
expect_fail "3b/0d" "$ENGINE" changer --device vtape:R unload 1 2
"$ENGINE" changer --device vtape:R move drive:1 portal:1 || fail "back to the portal"
"$VTAPE" export R | grep -q 'took NEW01 out of portal 1' || fail "export NEW01"
"$VTAPE" import R NEW01 >/dev/null
"$ENGINE" changer --device vtape:R move portal:1 drive:1 || fail "NEW01 back in"
"$ENGINE" list --device vtape:R/drive1 | grep -q 'tape NEW01' || fail "NEW01 lost its label"
"$VTAPE" check R >/dev/null || fail "library R not clean"
ok "abs-engine changer over a vtape library: faults, door, unreadable label, portals"
