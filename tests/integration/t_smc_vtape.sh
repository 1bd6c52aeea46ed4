# The changer backend on a vtape library's SMC answers (smc:vtape:LIB):
# what tgt cannot show. A UNIT ATTENTION after the door is reported as
# attention; NOT READY 04/01 is waited out; a failing or jamming move is
# refused with its sense (exit 1); a jammed slot shows EXCEPT with its
# ASC/ASCQ; an unreadable label is tag_unreadable with no barcode; an
# imported cartridge is in a portal, put in by the operator; PREVENT
# locks the portals against the operator; identifiers match the drives'
# serials; two engines at once take turns.
. "$(dirname "$0")/lib.sh"
export ABS_RUN_DIR="$T"
command -v jq >/dev/null || skip "jq is not installed (make deps installs it)"

"$VTAPE" new-library lib --slots 4 --drives 2 --portals 2 --capacity 8M >/dev/null
C="smc:vtape:$T/lib"
ch() { "$ENGINE" changer --device "$C" "$@"; }

ch info --json | jq -e '.slots == 4 and .portals == 2 and .drives == 2 and
	.voltag and .dvcid' >/dev/null || fail "info"
ch --json inventory >inv.json
jq -e '.attention == false and ([.elements[] | select(.full)] | length == 4)' \
	inv.json >/dev/null || { cat inv.json; fail "inventory"; }
# Each drive's identifier is the unit serial its own device reports.
for k in 0 1; do
	s=$("$ENGINE" status --device "vtape:$T/lib/drive$k" --json | jq -r .serial)
	jq -e --arg s "$s" --argjson k $k '.elements[] | select(.type == "drive" and
		.num == $k) | .ident == $s' inv.json >/dev/null ||
		fail "drive $k's identifier is not its serial $s"
done
ok "smc:vtape: info, inventory, the drives' identifiers are their serials"

# The door: the next command sees UNIT ATTENTION 28/00, reported once.
"$VTAPE" door lib >/dev/null
ch --json inventory | jq -e '.attention == true' >/dev/null ||
	fail "UNIT ATTENTION after the door not reported"
ch --json inventory | jq -e '.attention == false' >/dev/null ||
	fail "attention reported twice"
ok "a door opened: attention once, then not"

# Becoming ready, then a move.
"$VTAPE" fault lib --not-ready 2 >/dev/null
ch --json load 1 0 | jq -e '.ok' >/dev/null || fail "NOT READY 04/01 not waited out"
ok "NOT READY 04/01 (becoming ready) waited out"

# Faults: a failing move, a jam, a jammed slot, an unreadable label.
"$VTAPE" fault lib --move-fail 1 >/dev/null
set +e
ch --json load 2 1 >r.json
rc=$?
set -e
[ $rc = 1 ] && jq -e '.sense == "15/01"' r.json >/dev/null ||
	{ cat r.json; fail "failing move: rc $rc"; }
ch load 2 1 >/dev/null || fail "the move after the failure"
"$VTAPE" fault lib --jam-slot 3 >/dev/null
expect_fail "53/00" ch move slot:3 portal:1
ch --json inventory | jq -e '.elements[] | select(.type == "slot" and .num == 3) |
	.except == true' >/dev/null || fail "jammed slot without EXCEPT"
ch inventory | grep -q '^slot  *3 .*exception 53/00' || fail "table: no exception"
"$VTAPE" fault lib --clear >/dev/null
"$VTAPE" fault lib --unreadable 4 >/dev/null
ch --json inventory | jq -e '.elements[] | select(.type == "slot" and .num == 4) |
	.full and .barcode == null and .tag_unreadable' >/dev/null ||
	fail "unreadable label"
"$VTAPE" fault lib --clear >/dev/null
ok "faults: 15/01 refused (exit 1), a jam 53/00 with EXCEPT, an unreadable label"

# A changer that refuses DVCID, then VolTag too (24/00): the inventory
# still comes whole, asked again without identifiers, then without tags.
"$VTAPE" fault lib --refuse-dvcid >/dev/null
ch --json inventory >nd.json
jq -e '([.elements[] | select(.full)] | length == 4) and
	all(.elements[]; .ident == null) and
	([.elements[] | select(.full and .barcode != null)] | length == 4)' \
	nd.json >/dev/null || { cat nd.json; fail "inventory without DVCID"; }
ch info --json | jq -e '.dvcid == false and .voltag' >/dev/null ||
	fail "info with DVCID refused"
"$VTAPE" fault lib --refuse-voltag >/dev/null
ch --json inventory >nv.json
jq -e '([.elements[] | select(.full)] | length == 4) and
	all(.elements[]; .barcode == null and .tag_unreadable == false)' \
	nv.json >/dev/null || { cat nv.json; fail "inventory without VolTag"; }
ch move slot:4 slot:1 >/dev/null && ch move slot:1 slot:4 >/dev/null ||
	fail "moves without tags"
"$VTAPE" fault lib --clear >/dev/null
ok "DVCID refused: barcodes without identifiers; VolTag refused too: the elements without barcodes (never called unreadable); moves go on"

# Portals: export and import by the operator, PREVENT locks them.
ch move slot:4 portal:1 >/dev/null
ch prevent >/dev/null
if "$VTAPE" export lib >/dev/null 2>&1; then fail "export with the portals locked"; fi
ch allow >/dev/null
"$VTAPE" export lib >/dev/null
"$VTAPE" import lib "$(jq -r '.elements[] | select(.type == "slot" and .num == 4)
	| .barcode // "V00004"' inv.json)" >/dev/null
ch --json inventory >inv2.json
jq -e '.attention == true and ([.elements[] | select(.type == "portal" and .full
	and .impexp)] | length == 1)' inv2.json >/dev/null ||
	{ cat inv2.json; fail "imported cartridge"; }
ok "prevent locks the portals, allow frees them; an import is in a portal, impexp, with attention"

# Two engines at once: the second waits for the first's lock.
ch inventory >a.txt 2>&1 &
a=$!
ch inventory >b.txt 2>&1 || fail "second engine"
wait $a || fail "first engine"
ok "two engines on one changer take turns"

# A library larger than one READ ELEMENT STATUS (128 elements a call):
# every slot, numbered 1..300 in address order, each with its barcode.
"$VTAPE" new-library big --slots 300 --drives 3 --portals 4 --capacity 1M >/dev/null
"$ENGINE" changer --device "smc:vtape:$T/big" --json inventory >big.json
jq -e '[.elements[] | select(.type == "slot")] | length == 300 and
	(map(.num) == [range(1; 301)]) and (map(.addr) | . == sort) and
	all(.barcode != null)' big.json >/dev/null || fail "300 slots in chunks"
jq -e '[.elements[] | select(.type == "drive") | .num] == [0, 1, 2] and
	([.elements[] | select(.type == "portal")] | length == 4)' big.json \
	>/dev/null || fail "drives and portals of the large library"
"$ENGINE" changer --device "smc:vtape:$T/big" load 299 2 >/dev/null ||
	fail "a load from slot 299"
ok "300 slots read in chunks, numbered 1-300 in address order; slot 299 loaded"
