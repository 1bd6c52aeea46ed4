# A vtape library in the control plane: abs-ctld's robot worker is the
# one mover of its cartridges. library-add and its refusals, an inventory
# through the robot (and the catalog's copy), drives attached by element
# or by the serial their media server reported (never guessed), the
# barcode joined with the catalog's tapes (an LTO suffix too), a move cut
# off by kill -9 of abs-ctld repaired by the next inventory, a failed move
# retried, UNIT ATTENTION taking a new inventory, eject's refusal without
# a portal. The changer command is `abs-engine changer` when it is there,
# else tests/integration/changer_shim.sh (the same contract).
[ -w /dev/shm ] && TMPDIR=/dev/shm
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export TZ=UTC ABS_CTL_SOCKET="$T/ctld.sock"
# (a media server's restore job keeps its parts log and indexes there,
# not in /tmp, where one killed mid-restore left them)
export ABS_RUN_DIR="$T"
command -v jq >/dev/null || skip "jq is needed (make deps)"
until_ok() { poll_until "$1" || fail "timed out: $1"; }
start_ctld() {
	"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
		--changer-cmd "$CHANGER" --exception-cmd "cat >>$T/exceptions.txt" \
		2>>"$T/ctld.log" &
	CPID=$!
	PIDS="$PIDS $CPID"
	poll_until '"$CTL" status >/dev/null 2>&1' ||
		{ tail -n 30 "$T/ctld.log" >&2; ps -o pid,stat,etime,args --ppid "$CPID" >&2; fail "abs-ctld $CPID does not answer abs-ctl status"; }
}
"$VTAPE" new-library lib --slots 6 --drives 2 --capacity 8M --barcode-prefix L \
	--serial TESTLIB --portals 2 >/dev/null
if "$ENGINE" changer --device "vtape:$T/lib" --json inventory 2>/dev/null |
	grep -q '"elements"'; then
	REAL="$ENGINE changer"
else
	REAL="$ABS_TOP/tests/integration/changer_shim.sh changer"
fi
# The changer command abs-ctld runs: the real one, except that with
# $T/HANG present a move is made and then never answered (abs-ctld is
# killed mid-move); the hanging process's pid goes to $T/hang.pid. With
# $T/HOLD present a move waits (300 s at most) until it is removed, and
# $T/held says so meanwhile.
cat >changer.sh <<EOS
#!/bin/sh
case " \$* " in
*" move "*) if [ -e "$T/HOLD" ]; then
	: >"$T/held"
	end=\$((\$(date +%s) + 300))
	while [ -e "$T/HOLD" ] && [ \$(date +%s) -lt \$end ]; do sleep 0.1; done
	rm -f "$T/held"
fi
if [ -e "$T/HANG" ]; then
	$REAL "\$@" >/dev/null 2>&1
	echo \$\$ >"$T/hang.pid"
	exec sleep 3600
fi ;;
esac
exec $REAL "\$@"
EOS
chmod +x changer.sh
CHANGER="$T/changer.sh"
start_ctld
"$CTL" tape-add default L00001 L00002 L00003 L00004 >/dev/null
ok "abs-ctld (changer: $REAL), a library of 6 slots and 2 drives"

# library-add and what it refuses.
expect_fail "changer URI" "$CTL" library-add bad --changer "vtape:$T/a b"
expect_fail "cleaning prefix" "$CTL" library-add bad --changer "vtape:$T/x" --clean-prefix cln
"$CTL" library-add lib --changer "vtape:$T/lib" >/dev/null || fail "library-add"
expect_fail "already" "$CTL" library-add lib2 --changer "vtape:$T/lib"
expect_fail "already" "$CTL" library-add lib3 --changer "smc:vtape:$T/../$(basename "$T")/lib/"
# Its first inventory comes by itself.
until_ok '[ "$("$CTL" --json libraries | jq -r ".[0].last_inventory")" != null ]'
"$CTL" --json inventory lib --cached >inv.json
[ "$(jq '[.elements[] | select(.type == "slot" and .full)] | length' inv.json)" = 6 ] ||
	fail "cached inventory: $(cat inv.json)"
[ "$(jq -r '.elements[] | select(.type == "slot" and .num == 2) | .label' inv.json)" = L00002 ] ||
	fail "slot 2 carries no tape L00002: $(cat inv.json)"
ok "library-add; the first inventory came by itself"
# The same robot under another URI (its serial tells): refused, said.
"$VTAPE" new-library lib9 --slots 1 --drives 1 --capacity 8M --barcode-prefix Z \
	--serial TESTLIB >/dev/null
"$CTL" library-add lib9 --changer "vtape:$T/lib9" >/dev/null || fail "library-add lib9"
until_ok 'grep -q "is library lib.s: one robot, one library" exceptions.txt'
"$CTL" library-remove lib9 >/dev/null || fail "library-remove lib9"
ok "one robot under two URIs: its second library's inventory refused"

# An inventory through the robot, after a cartridge moved behind its back.
"$VTAPE" load lib --slot 3 --drive 1
"$CTL" inventory lib >inv.txt || fail "inventory"
grep -q "drive 1 *L00003 *tape L00003" inv.txt || { cat inv.txt; fail "inventory misses L00003 in drive 1"; }
grep -q "slot 3 *(empty)" inv.txt || { cat inv.txt; fail "slot 3 is not empty"; }
"$CTL" --json inventory lib --cached | jq -e '.elements[] | select(.type == "drive" and .num == 1) | .barcode == "L00003"' >/dev/null ||
	fail "the catalog's copy lacks the robot's answer"
ok "inventory: the robot's answer, kept by the catalog"

# Drives: by element, or by the serial a media server reported.
"$CTL" library-drive lib d0 --element 0 >/dev/null || fail "library-drive --element"
expect_fail "another drive" "$CTL" library-drive lib dx --element 0
expect_fail "no serial" "$CTL" library-drive lib d1
# A media server registering d1 with its serial (a raw session).
printf '%s\n' '{"op":"engine-register","args":{"drive":"d1","device":"vtape:'"$T"'/lib/drive1","serial":"TESTLIBD1"},"id":1}' |
	"$CTL" raw >reg.txt || fail "engine-register with a serial"
grep -q '"ok":true' reg.txt || fail "engine-register: $(cat reg.txt)"
"$CTL" library-drive lib d1 >attach.txt || fail "library-drive by serial"
# An element whose identifier is not the serial its media server reported.
expect_fail "reported serial TESTLIBD1: it is drive element 1" "$CTL" library-drive lib d1 --element 0
grep -q "element.*1" attach.txt || fail "attached by serial: $(cat attach.txt)"
# Two drives with one identifier: refused, said why (the shim's serial
# file stands for a changer that says so).
if [ "$REAL" != "$ENGINE changer" ]; then
	echo TESTLIBD1 >lib/drive0/serial
	"$CTL" inventory lib >/dev/null
	expect_fail "all match" "$CTL" library-drive lib d1
	rm lib/drive0/serial
	"$CTL" inventory lib >/dev/null
fi
# The register reply names the library.
printf '%s\n' '{"op":"engine-register","args":{"drive":"d0","device":"vtape:'"$T"'/lib/drive0","serial":"TESTLIBD0"},"id":1}' |
	"$CTL" raw >reg0.txt
grep -q '"library":{[^}]*"name":"lib"' reg0.txt || fail "no library in the register reply: $(cat reg0.txt)"
grep -q '"element":0' reg0.txt || fail "no element in the register reply: $(cat reg0.txt)"
"$CTL" libraries >libs.txt
grep -q "drive 0: d0" libs.txt && grep -q "drive 1: d1 (serial TESTLIBD1" libs.txt ||
	{ cat libs.txt; fail "libraries lacks the drives"; }
ok "drives attached by element and by serial (two matches refused)"

# eject: to free portals; what does not fit, or is in no library, said.
if [ "$REAL" = "$ENGINE changer" ]; then
	"$CTL" --json eject L00005 L00006 NOSUCH >ej.json || fail "eject"
	[ "$(jq '.ejected | length' ej.json)" = 2 ] || fail "eject: $(cat ej.json)"
	jq -e '.not_ejected[] | select(.label == "NOSUCH") | .why | test("no library")' ej.json >/dev/null ||
		fail "eject NOSUCH: $(cat ej.json)"
	"$CTL" --json eject L00004 >ej.json || fail "eject"
	jq -e '.not_ejected[0].why | test("no free portal")' ej.json >/dev/null || fail "eject: $(cat ej.json)"
	"$CTL" report >report.txt || true
	grep -q "cartridges in library portals (2)" report.txt || { cat report.txt; fail "the report lacks the portals"; }
	# The operator takes them offsite, brings one back: import.
	"$VTAPE" export lib >/dev/null
	"$VTAPE" import lib L00005 >/dev/null
	"$CTL" --json import lib >im.json || fail "import"
	[ "$(jq '.imported | length' im.json)" = 1 ] || fail "import: $(cat im.json)"
	"$CTL" --json inventory lib --cached | jq -e '.elements[] | select(.barcode == "L00005") | .type == "slot"' >/dev/null ||
		fail "L00005 is not in a slot after import"
	ok "eject to portals (no free portal, in no library: said), in the report; import"
else
	"$CTL" --json eject L00001 >ej.json || fail "eject"
	jq -e '.not_ejected[0].why | test("portal")' ej.json >/dev/null || fail "eject: $(cat ej.json)"
	ok "eject (changer stand-in): $(jq -r '.not_ejected[0].why' ej.json)"
fi


# Two media servers on the library's two drives: the robot is theirs.
# d0 attached by element (above); d1 by the serial its media server
# reports (the vtape drive's: the library's serial and D1), after which a
# SIGHUP makes it register again and learn its library.
start_ms() {
	"$ENGINE" serve --control "$T/ctld.sock" --drive "d$1" \
		--device "vtape:$T/lib/drive$1" --log "$T/journal-d$1.log" \
		--block-size 64K 2>>"$T/engine-d$1.log" &
	eval "MS$1=$!"
	PIDS="$PIDS $!"
}
"$VTAPE" unload lib --drive 1 >/dev/null	# L00003 home again
"$CTL" inventory lib >/dev/null
"$CTL" library-drive lib d1 --element 1 >/dev/null	# the raw session's
start_ms 0
start_ms 1
until_ok '[ "$("$CTL" --json status | jq "[.drives[] | select(.state == \"idle\")] | length")" = 2 ]'
wait_for "library" engine-d0.log
ok "media servers d0 and d1 registered in library lib"

job_max() { sqlite3 "$T/catalog.db" "SELECT coalesce(max(id), 0) FROM jobs"; }
wait_jobs() {
	w_end=$(deadline 600)
	until [ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE id > $1 AND state IN ('queued','running')")" = 0 ]; do
		before "$w_end" || { "$CTL" jobs >&2; "$CTL" status >&2; tail -n 40 ctld.log >&2; fail "jobs after $1 did not end"; }
		sleep 0.2
	done
	bad=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE id > $1 AND state != 'done'")
	[ "$bad" = 0 ] || { "$CTL" jobs >&2; tail -n 30 ctld.log >&2; fail "jobs after $1 did not end done"; }
}

# A dump on d0: the robot loads a cartridge of the library.
mkdir -p data/sub
head -c 300000 /dev/urandom >data/a
head -c 5000 /dev/urandom >data/sub/b
"$CTL" entity-add e1 "dir:$T/data" >/dev/null
before=$(job_max)
"$CTL" dump d0 e1 >/dev/null || fail "dump on d0"
wait_jobs "$before"
tape=$(sqlite3 "$T/catalog.db" "SELECT t.label FROM dump_parts p JOIN tapes t ON t.id = p.tape_id ORDER BY p.id DESC LIMIT 1")
[ -n "$tape" ] || fail "no part recorded"
"$CTL" --json inventory lib --cached | jq -e --arg t "$tape" '.elements[] | select(.type == "drive" and .num == 0) | .label == $t' >/dev/null ||
	fail "$tape is not in drive 0 after the dump"
ok "a dump on d0: the robot loaded $tape"

# A restore of it on d1: the robot takes the cartridge out of d0 (its
# media server unloads first) into d1; no unavailable, no operator.
before=$(job_max)
"$CTL" restore e1 --to "$T/r1" --drive d1 >/dev/null || fail "restore on d1"
wait_jobs "$before"
[ "$(tree_meta data)" = "$(tree_meta r1)" ] || fail "the restore on d1 differs"
cmp data/a r1/a || fail "r1/a differs"
"$CTL" --json inventory lib --cached | jq -e --arg t "$tape" '.elements[] | select(.type == "drive" and .num == 1) | .label == $t' >/dev/null ||
	fail "$tape is not in drive 1 after the restore"
! grep -q unavailable exceptions.txt 2>/dev/null || fail "exceptions: $(cat exceptions.txt)"
grep -q "unload" engine-d0.log || true
moves=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM moves WHERE state = 'done'")
ok "a restore on d1 of d0's cartridge: moved by the robot ($moves moves so far), no unavailable"

# A drive whose cartridge the robot takes for another drive's job starts
# no job until the move is done: a dump on d0 takes $tape out of d1 (the
# move held), a restore on d1 asked meanwhile stays queued (before, it
# started at once and its media server loaded the cartridge the robot
# was taking: t_library_ctl's flake under load, "no 'whose job .* uses
# it: waiting'"), then waits for d0's dump and reads it after.
touch HOLD
before=$(job_max)
"$CTL" dump d0 e1 >/dev/null || fail "dump on d0"
until_ok '[ -e held ]'
"$CTL" restore e1 --to "$T/rh" --drive d1 >/dev/null || fail "restore on d1"
[ "$(sqlite3 "$T/catalog.db" "SELECT j.state FROM jobs j JOIN drives d ON d.id = j.drive_id WHERE j.id > $before AND d.name = 'd1'")" = queued ] ||
	{ "$CTL" jobs >&2; fail "a job started on d1 while the robot took its cartridge"; }
rm HOLD
wait_jobs "$before"
cmp data/a rh/a || fail "rh/a differs"
ok "no job starts on d1 while the robot takes its cartridge for d0"

# A restore waits for the writer: a dump on d0 holds the cartridge (its
# source waits for a gate), a restore on d1 of a dump on that cartridge
# waits until the dump ends, then the robot moves it; no unavailable.
cat >gate.sh <<EOS
#!/bin/sh
while [ ! -e "$T/GO" ]; do sleep 0.1; done
cat "$T/data/a"
EOS
chmod +x gate.sh
"$CTL" entity-add e2 "cmd:$T/gate.sh" >/dev/null
before=$(job_max)
"$CTL" dump d0 e2 >/dev/null || fail "dump of e2 on d0"
until_ok '[ "$("$CTL" --json status | jq -r ".drives[] | select(.drive == \"d0\") | .state")" = writing ]'
w=$(sqlite3 "$T/catalog.db" "SELECT label FROM tapes WHERE state = 'reserved'")
[ "$w" = "$tape" ] || fail "d0 writes on $w, not $tape (in drive 1, idle: the library's first choice)"
"$CTL" restore e1 --to "$T/r2" --drive d1 >/dev/null || fail "restore on d1 while d0 writes"
wait_for "whose job .* uses it: waiting" ctld.log
sleep 1
[ "$("$CTL" --json status | jq -r '.drives[] | select(.drive == "d0") | .state')" = writing ] ||
	fail "d0 stopped writing"
touch GO
wait_jobs "$before"
cmp data/a r2/a || fail "r2/a differs"
! grep -q unavailable exceptions.txt 2>/dev/null || fail "exceptions: $(cat exceptions.txt)"
ok "a restore on d1 waited for d0's dump on $tape, then the robot moved it"

# A move that fails is tried again after an inventory; twice: the job
# hears unavailable (an exception says why).
"$VTAPE" fault lib --move-fail 1 >/dev/null
before=$(job_max)
"$CTL" restore e1 --to "$T/r3" --drive d0 >/dev/null || fail "restore on d0"
wait_jobs "$before"
cmp data/a r3/a || fail "r3/a differs"
[ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM moves WHERE state = 'failed'")" = 1 ] ||
	fail "no failed move in the journal"
ok "a failed move tried again: the restore on d0 went on"
"$VTAPE" fault lib --move-fail 2 >/dev/null
before=$(job_max)
"$CTL" restore e1 --to "$T/r4" --drive d1 >/dev/null || fail "restore on d1"
w_end=$(deadline)
until [ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE id > $before AND state IN ('queued','running')")" = 0 ]; do
	before "$w_end" || fail "the restore did not end"; sleep 0.2
done
[ "$(sqlite3 "$T/catalog.db" "SELECT state FROM jobs WHERE id > $before")" = failed ] || fail "the restore did not fail"
poll_until 'grep -q "unavailable" exceptions.txt' || fail "no unavailable exception"
poll_until 'grep -q "robot" exceptions.txt' || fail "no robot exception"
"$VTAPE" fault lib --clear >/dev/null
: >exceptions.txt
ok "a move failing twice: the job is told unavailable, with an exception"

# abs-ctld killed -9 mid-move (the move done, its answer never heard) and
# started again: the journal names the cut move, the inventory says
# where the cartridge is, and the job waiting for it goes on.
touch HANG
before=$(job_max)
"$CTL" restore e1 --to "$T/r5" --drive d1 >/dev/null || fail "restore on d1"
until_ok '[ -s hang.pid ]'
kill -9 "$CPID"
kill "$(cat hang.pid)" 2>/dev/null || true
rm -f HANG hang.pid
[ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM moves WHERE state = 'started'")" = 1 ] ||
	fail "the journal has no move under way"
start_ctld
wait_for "was cut off" ctld.log
wait_jobs "$before"
cmp data/a r5/a || fail "r5/a differs"
[ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM moves WHERE state = 'cut'")" = 1 ] ||
	fail "the cut move is not marked cut"
ok "abs-ctld killed mid-move: the next inventory repaired it, the restore went on"

# The operator puts a cleaning cartridge in (an import: UNIT ATTENTION):
# the next robot command hears it and a new inventory follows.
n0=$(grep -c "inventory (a UNIT ATTENTION" ctld.log || true)
"$VTAPE" import lib --to-slots CLN001 >/dev/null || fail "abs-vtape import CLN001"
"$CTL" inventory lib >/dev/null	# this one hears the UNIT ATTENTION ...
until_ok '[ "$(grep -c "inventory (a UNIT ATTENTION" ctld.log)" -gt "$n0" ]'
"$CTL" --json inventory lib --cached | jq -e '.elements[] | select(.barcode == "CLN001") | .cleaning and .label == null' >/dev/null ||
	fail "CLN001 is not a cleaning cartridge in the inventory"
ok "a UNIT ATTENTION (import) took a new inventory; CLN001 is a cleaning cartridge"

# TapeAlert 20 (clean now) on d0's cartridge: a cleaning cycle before d0's
# next job: CLN001 loaded, unloaded by d0's media server, home, counted.
"$VTAPE" inject "lib/carts/$tape" --tapealert 20 >/dev/null || fail "inject TapeAlert 20"
before=$(job_max)
"$CTL" restore e1 --to "$T/r6" --drive d0 >/dev/null || fail "restore on d0"
wait_jobs "$before"
wait_for "drive d0 cleaned with CLN001" ctld.log
# (vtape keeps TapeAlert flags on the cartridge: the drive that held it
# before says so too when it unloads, and is cleaned as well)
"$CTL" --json inventory lib --cached | jq -e '.elements[] | select(.barcode == "CLN001") | .uses >= 1 and .type == "slot"' >/dev/null ||
	fail "CLN001's use not counted, or not home"
ok "TapeAlert 20: d0 cleaned with CLN001 before its next job"
# clean DRIVE now; then the drive says the cartridge is expired (22).
"$CTL" --json clean d1 >clean.json || fail "clean d1"
uses=$(sqlite3 "$T/catalog.db" "SELECT uses FROM cleaning WHERE barcode = 'CLN001'")
jq -e --argjson u "$uses" '.cartridge == "CLN001" and .uses == $u' clean.json >/dev/null || { grep -i "clean\|tapealert" ctld.log; fail "clean d1: $(cat clean.json)"; }
# Both drives asked to be cleaned at once, one cleaning cartridge: the
# second cycle waits for it to come home (before: "no cleaning
# cartridge", an exception, the drive not cleaned).
"$CTL" --json clean d0 >clean0.json 2>&1 &
c0=$!
"$CTL" --json clean d1 >clean1.json 2>&1 &
c1=$!
wait "$c0" || fail "clean d0 beside clean d1: $(cat clean0.json)"
wait "$c1" || fail "clean d1 beside clean d0: $(cat clean1.json)"
[ "$(sqlite3 "$T/catalog.db" "SELECT uses FROM cleaning WHERE barcode = 'CLN001'")" = $((uses + 2)) ] ||
	fail "two cleanings at once not both counted"
! grep -q "not cleaned" exceptions.txt 2>/dev/null || fail "exceptions: $(cat exceptions.txt)"
ok "d0 and d1 cleaned at once with one cleaning cartridge, one after the other"
"$VTAPE" inject lib/carts/CLN001 --tapealert 22 >/dev/null
"$CTL" clean d0 >/dev/null || fail "clean d0"
until_ok 'grep -q "cleaning-expended" exceptions.txt'
expect_fail "no cleaning cartridge" "$CTL" clean d1
# (the exception command runs beside abs-ctld's answer: wait for its line)
poll_until 'grep -q "not cleaned" exceptions.txt' || fail "no exception for the missing cleaning cartridge"
"$CTL" report >report.txt || true
grep -q "expended cleaning cartridges" report.txt && grep -q "CLN001" report.txt ||
	{ cat report.txt; fail "the report lacks the expended cleaning cartridge"; }
ok "clean DRIVE; TapeAlert 22: CLN001 expended, reported; no cleaning cartridge left: refused, an exception"
