# Rig A with a medium changer: tgt's SMC emulation (a changer we did not
# write) through `abs-engine changer --device smc:iscsi://...`: identity and
# geometry, an inventory by barcode with the drives' identifiers (DVCID),
# loads, unloads and moves, the changer's refusals with their sense, JSON,
# and a cartridge the robot loaded labelled, dumped and restored through
# the drive's own LUN. What tgt lacks is checked as lacking (PREVENT ALLOW).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tgt.sh"
export ABS_RUN_DIR="$T"
command -v jq >/dev/null || skip "jq is not installed (make deps installs it)"

tgt_start
tgt_library 2 8 5 8 2
C="smc:$TGT_LIB_CHANGER"
ch() { "$ENGINE" changer --device "$C" "$@"; }

# What the changer says of itself: tgt's pages 1Dh and 1Fh, our addresses.
ch info --json >info.json
jq -e '.vendor == "IET" and .product == "VIRTUAL-CHANGER" and .robots == 1 and
	.slots == 8 and .portals == 2 and .drives == 2 and .first_slot == 1000 and
	.first_portal == 50 and .first_drive == 16 and .voltag and .dvcid' \
	info.json >/dev/null ||
	{ cat info.json; fail "changer info"; }
ch info | grep -q '^slots  *8 (first address 1000)' || fail "info table"
ok "info: tgt's changer, 1 robot, 8 slots from address 1000, 2 portals from 50, 2 drives from 16"

# The inventory: slots numbered from 1 in address order, barcodes.
ch inventory --json >inv.json
[ "$(jq -r '[.elements[] | select(.type == "slot" and .full) |
	"\(.num)=\(.barcode)"] | join(" ")' inv.json)" = \
	"1=TG0001L6 2=TG0002L6 3=TG0003L6 4=TG0004L6 5=TG0005L6" ] ||
	{ cat inv.json; fail "inventory: slots and barcodes"; }
jq -e '[.elements[] | select(.type == "slot")] | length == 8 and
	(map(.addr) == [1000,1001,1002,1003,1004,1005,1006,1007])' inv.json \
	>/dev/null || fail "inventory: slot addresses"
jq -e '[.elements[] | select(.type == "drive") | .num] == [0, 1] and
	([.elements[] | select(.type == "drive" and .full)] | length == 0) and
	(.elements[0].type == "robot")' inv.json >/dev/null ||
	fail "inventory: drives and robot"
ok "inventory: 5 cartridges by barcode in slots 1-5, slots 6-8 and both drives empty"

# DVCID: drive 0's identifier ends with its own unit serial (page 80h of
# its LUN). tgt cuts the last 8 bytes of every answer, so the last drive's
# identifier never arrives whole: reported as none, never half.
serial0=$("$ENGINE" status --device "$TGT_LIB_DRIVE0" --json | jq -r .serial)
[ -n "$serial0" ] && [ "$serial0" != null ] || fail "drive 0 has no serial"
jq -e --arg s "$serial0" '.elements[] | select(.type == "drive" and .num == 0)
	| .ident | endswith($s)' inv.json >/dev/null ||
	{ cat inv.json; fail "drive 0's identifier is not its serial $serial0"; }
jq -e '.elements[] | select(.type == "drive" and .num == 1) | .ident == null' \
	inv.json >/dev/null || fail "drive 1's cut identifier was reported"
ok "DVCID: drive 0 is the LUN of serial $serial0; drive 1's identifier (cut by tgt) not guessed"

# Moves: load, move by address, unload to the home slot or a named one.
ch load 2 0 | grep -qx "moved slot 2 to drive 0" || fail "load 2 0"
ch load slot:3 drive:1 >/dev/null || fail "load slot:3 drive:1"
ch inventory --json >inv.json
jq -e '[.elements[] | select(.type == "drive") | "\(.barcode)<\(.source)"] ==
	["TG0002L6<2", "TG0003L6<3"]' inv.json >/dev/null ||
	{ cat inv.json; fail "drives after loads"; }
ch inventory >inv.txt
grep -q '^drive  *0  *16  *full  *TG0002L6  *slot 2 ' inv.txt || { cat inv.txt; fail "table"; }
ch move @1000 @1007 >/dev/null || fail "move by address"
ch --json move slot:8 slot:6 | jq -e '.ok and .op == "move"' >/dev/null ||
	fail "move --json"
ch unload 1 | grep -qx "unloaded drive 1" || fail "unload 1"
ch unload 0 7 >/dev/null || fail "unload 0 7"
ch inventory --json >inv.json
[ "$(jq -r '[.elements[] | select(.full) | "\(.type)\(.num)=\(.barcode)"] |
	join(" ")' inv.json)" = \
	"slot3=TG0003L6 slot4=TG0004L6 slot5=TG0005L6 slot6=TG0001L6 slot7=TG0002L6" ] ||
	{ cat inv.json; fail "after moves"; }
# Portals (import/export elements): out and back.
ch move slot:5 portal:2 >/dev/null || fail "slot to portal"
ch --json inventory | jq -e '[.elements[] | select(.type == "portal") |
	"\(.num):\(.full):\(.barcode)"] == ["1:false:null", "2:true:TG0005L6"]' \
	>/dev/null || fail "portal after the move"
ch move portal:2 slot:5 >/dev/null || fail "portal to slot"
ok "load, move by number and by @address, unload home and to a named slot, through a portal and back"

# Refusals, with the sense a SCSI changer gives; exit 1, JSON on stdout.
expect_fail "3b/0e" ch load 1 0
ch --json load 1 0 >r.json && fail "an empty source moved"
jq -e '.sense == "3B/0E" and (.error | test("source element empty"))' r.json \
	>/dev/null || { cat r.json; fail "source empty: JSON"; }
ch load 3 0 >/dev/null
set +e
ch --json move slot:4 drive:0 >r.json
rc=$?
set -e
[ $rc = 1 ] || fail "destination full: exit $rc"
jq -e '.sense == "3B/0D"' r.json >/dev/null || { cat r.json; fail "dest full"; }
expect_fail "21/01.*no slot 9: slots are 1 to 8" ch move slot:9 drive:1
expect_fail "21/01.*no drive 2: drives are 0 to 1" ch load 4 2
expect_fail "21/01.*no element at address 999" ch move @999 drive:1
ok "refusals: source empty 3B/0E, destination full 3B/0D, no such element 21/01"

# What tgt lacks or ignores, told as the changer says it.
expect_fail "20/00" ch prevent
ch scan | grep -qx "element status initialized" || fail "scan"
ok "PREVENT ALLOW refused by tgt (20/00); INITIALIZE ELEMENT STATUS accepted"

# Usage and an unreachable or wrong device.
set +e
ch frobnicate >/dev/null 2>&1; [ $? = 2 ] || fail "unknown command: not 2"
ch load 1 >/dev/null 2>&1; [ $? = 2 ] || fail "load with one argument: not 2"
ch load drive:0 slot:1 >/dev/null 2>&1; [ $? = 2 ] || fail "load drive slot: not 2"
# Usage is checked before the changer is reached; --json says it too.
"$ENGINE" changer --device smc:iscsi://127.0.0.1:1/iqn.x:none/1 --json load 1 \
	>r.json 2>/dev/null; [ $? = 2 ] || fail "usage before open: not 2"
"$ENGINE" changer --device "smc:$TGT_LIB_DRIVE0" info >r.txt 2>&1
rc=$?
set -e
jq -e '.error == "load takes SLOT and DRIVE" and .sense == null' r.json \
	>/dev/null || { cat r.json; fail "usage error JSON"; }
[ $rc = 3 ] || fail "a tape drive as a changer: exit $rc"
grep -q "is a tape drive (peripheral type 01h.*not a medium changer (08h)" r.txt ||
	{ cat r.txt; fail "tape drive not named"; }
set +e
"$ENGINE" changer --device "smc:iscsi://127.0.0.1:1/iqn.2026-01.test.abs:none/1" \
	--json inventory >r.json 2>/dev/null
rc=$?
set -e
[ $rc = 3 ] || fail "unreachable: exit $rc"
jq -e '.error | test("cannot open the changer")' r.json >/dev/null || fail "unreachable JSON"
ok "usage exit 2; a tape drive or nothing at the address: exit 3, said why"

# The cartridge the robot loaded is the drive LUN's tape: label, dump,
# restore through iscsi:// of the drive (TG0003L6 is in drive 0).
"$ENGINE" label --device "$TGT_LIB_DRIVE0" --label TG0003 --pool lib
head -c 3000000 /dev/urandom >blob
"$ENGINE" dump --device "$TGT_LIB_DRIVE0" --entity blob --source "file:$T/blob" \
	--log d.log --label TG0003
"$ENGINE" restore --device "$TGT_LIB_DRIVE0" --entity blob --log d.log --stdout |
	cmp - blob || fail "restore from the robot-loaded cartridge differs"
# Unloaded and loaded again, into the other drive: the same tape.
ch unload 0 >/dev/null
ch load 3 1 >/dev/null
"$ENGINE" list --device "$TGT_LIB_DRIVE1" | grep -q "TG0003" ||
	fail "the cartridge moved to drive 1 is not the one labelled"
ok "a cartridge the robot loaded: labelled, dumped and restored through its drive; moved to the other drive, the same tape"
