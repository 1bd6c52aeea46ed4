# The library concurrency campaign (issue 14): one vtape library with four
# drives, four media servers under one abs-ctld, the library and its
# drives known to abs-ctld (library-add, library-drive), and a seeded
# random stream of operations interleaved on them: dumps of new entities
# (some spanning cartridges, so that the robot changes them mid-dump),
# restores (on a named drive or any idle one, of cartridges that may sit
# in another drive), inventories through the robot, injected changer
# faults (moves that fail, a robot becoming ready, the door opened) and
# barriers. Asserted throughout:
#   - no cartridge in two places: the library on disk (slots, drives,
#     portals, read under the library's lock) and abs-ctld's inventory;
#     no cartridge lost from the library either;
#   - no job waits forever: every job ends within a generous deadline
#     (ABS_LIB_CAMPAIGN_DEADLINE, 600 s: a hang detector, not a timing
#     threshold), and so does every abs-ctl command;
#   - every dump a job reported done restores byte for byte (restores
#     during the campaign, and the ones not restored yet at its end);
#   - a job fails only for a reason the campaign caused: no more failed
#     jobs than faults injected.
# make check runs ABS_LIB_CAMPAIGN_OPS=20 operations; make library-campaign
# 200. ABS_LIB_CAMPAIGN_SEED=S replays a seed (the seed is printed; the
# interleaving also depends on timing, the operations do not).
# ABS_LIB_CAMPAIGN_NOLIB=1 runs without library-add: each media server
# moves its own cartridges (what abs-ctld did before issue 14).
[ -w /dev/shm ] && TMPDIR=/dev/shm	# fsyncs cost nothing there
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
DB="$T/catalog.db"
command -v jq >/dev/null || skip "jq is needed (make deps)"
command -v sqlite3 >/dev/null || skip "sqlite3 is needed (make deps)"
command -v flock >/dev/null || skip "flock (util-linux) is needed"
NOLIB=${ABS_LIB_CAMPAIGN_NOLIB:-}
if [ -z "$NOLIB" ] && ! "$CTL" --help 2>&1 | grep -q "library-add"; then
	skip "abs-ctl has no library-add yet (issue 14's control side)"
fi
OPS=${ABS_LIB_CAMPAIGN_OPS:-20}
DEADLINE=${ABS_LIB_CAMPAIGN_DEADLINE:-600}
# Seeds stay below 2^31 - 1: mawk's srand() clamps larger ones.
SEED=${ABS_LIB_CAMPAIGN_SEED:-$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2000000000 ))}
DRIVES=4 SLOTS=40 CAP=8M
echo "library campaign: seed $SEED (ABS_LIB_CAMPAIGN_SEED=$SEED replays), $OPS operations, $DRIVES drives, $SLOTS slots of $CAP${NOLIB:+, no library in abs-ctld}"
T0=$(date +%s)
q() { sqlite3 -cmd ".timeout 10000" "$DB" "$1"; }
# ctl ARGS...: abs-ctl, never waiting forever itself.
ctl() { timeout "$DEADLINE" "$CTL" "$@"; }

# The plan: one line per operation, drawn from the seed alone.
#   dump DRIVE SIZE | restore DRIVE|any PICK | inventory | fault N KIND |
#   barrier
awk -v s="$SEED" -v n="$OPS" -v d="$DRIVES" 'BEGIN {
	srand(s)
	for (i = 0; i < n; i++) {
		r = rand()
		drive = int(rand() * d)
		if (r < 0.45) {
			c = rand()
			# Small, a few MiB, or spanning 2-3 cartridges (6 MiB usable).
			if (c < 0.6) size = int(rand() * 400000)
			else if (c < 0.9) size = 500000 + int(rand() * 3500000)
			else size = 7000000 + int(rand() * 9000000)
			print "dump", drive, size
		} else if (r < 0.77) {
			print "restore", rand() < 0.75 ? drive : "any", int(rand() * 1000000)
		} else if (r < 0.87) {
			print "inventory"
		} else if (r < 0.95) {
			# A move that fails (positioning or a jam), the robot
			# becoming ready, or the door opened (UNIT ATTENTION).
			f = rand()
			kind = f < 0.4 ? "move" : f < 0.6 ? "jam" : f < 0.8 ? "notready" : "door"
			print "fault", 1 + int(rand() * 2), kind
		} else {
			print "barrier"
		}
	}
}' >plan.txt

"$VTAPE" new-library lib --slots $SLOTS --drives $DRIVES --capacity $CAP \
	--barcode-prefix L >/dev/null
# The robot: this build's abs-engine changer.
set -- --changer-cmd "$ABS_BIN/abs-engine changer"
[ -n "$NOLIB" ] && set --
"$CTLD" --socket "$T/ctld.sock" --db "$DB" --foreground "$@" \
	--exception-cmd "cat >>$T/exceptions.txt" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
until_ok() { poll_until "$1" || fail "timed out: $1"; }
until_ok '[ -S "$T/ctld.sock" ]'
labels=$(cd lib/carts && ls)
# shellcheck disable=SC2086
ctl tape-add default $labels >/dev/null || fail "tape-add"
start_engines() {
	k=0
	while [ $k -lt $DRIVES ]; do
		"$ENGINE" serve --control "$T/ctld.sock" --drive "d$k" \
			--device "vtape:$T/lib/drive$k" --log "$T/journal-d$k.log" \
			--block-size 64K 2>"$T/engine-d$k.log" &
		PIDS="$PIDS $!"
		k=$((k + 1))
	done
	until_ok '[ "$("$CTL" --json status | jq "[.drives[] | select(.state == \"idle\")] | length")" = $DRIVES ]'
}
# The seed picks the order of set-up, both a site's: the media servers
# first (then half the seeds attach each drive by the serial its media
# server reported, the others by element), or the library first.
how="media servers first"
if [ -z "$NOLIB" ]; then
	if [ $((SEED % 2)) = 0 ]; then
		start_engines
		attach=$((SEED / 2 % 2))
	else
		how="library first"
		attach=0
	fi
	ctl library-add lib --changer "vtape:$T/lib" >/dev/null || fail "library-add"
	ctl inventory lib >/dev/null || fail "the first inventory"
	k=0
	while [ $k -lt $DRIVES ]; do
		if [ "$attach" = 1 ]; then
			ctl library-drive lib "d$k" >/dev/null || fail "library-drive d$k (by serial)"
		else
			ctl library-drive lib "d$k" --element $k >/dev/null || fail "library-drive d$k"
		fi
		k=$((k + 1))
	done
	[ "$attach" = 1 ] && how="$how, drives attached by serial"
	[ "$how" = "library first" ] && start_engines
else
	start_engines
fi
ok "abs-ctld, $DRIVES media servers, library of $SLOTS cartridges ($how)"

# The ledger: one line per job not ended yet: ID KIND ENTITY OUT STARTED.
: >jobs.txt
: >complete.txt	# entities with a complete dump: NAME (one a line)
: >verified.txt	# entities restored byte for byte
: >failed.txt	# JOB KIND ENTITY STATE: DETAIL
dumps=0 restores=0 inventories=0 faults=0 doors=0 barriers=0 refused=0

# The cartridges' places on disk, "PLACE BARCODE" sorted, read under the
# library's lock (the one every move takes), so no move is seen halfway.
disk_places() {
	flock lib sh -c '
		for p in lib/slot* lib/portal* lib/drive*/tape; do
			[ -L "$p" ] || continue
			t=$(readlink "$p") && echo "${p#lib/} ${t##*/}"
		done' | sed 's,/tape , ,' | LC_ALL=C sort
}
# check_places: no cartridge in two places, none lost, on disk and in
# abs-ctld's inventory.
check_places() {
	disk_places >places.txt
	dup=$(awk '{ print $2 }' places.txt | LC_ALL=C sort | uniq -d)
	[ -z "$dup" ] || { cat places.txt >&2; fail "on disk, cartridge(s) in two places: $dup"; }
	for c in $labels; do
		grep -q " $c\$" places.txt || { cat places.txt >&2; fail "cartridge $c is nowhere in the library"; }
	done
	[ -n "$NOLIB" ] && return 0
	ctl --json inventory lib --cached >inv.json || fail "inventory --cached"
	dup=$(jq -r '.. | objects | select(has("barcode")) | .barcode // empty' inv.json |
		LC_ALL=C sort | uniq -d)
	[ -z "$dup" ] || { cat inv.json >&2; fail "abs-ctld's inventory has cartridge(s) in two places: $dup"; }
	# The catalog's rows themselves (schema 7's inventory table).
	dup=$(q "SELECT barcode FROM inventory WHERE barcode IS NOT NULL GROUP BY library_id, barcode HAVING count(*) > 1")
	[ -z "$dup" ] || fail "the catalog's inventory has cartridge(s) in two places: $dup"
}

# reap: note the jobs that ended; check each one's deadline.
reap() {
	now=$(date +%s)
	: >jobs.next
	[ -s jobs.txt ] || return 0
	# Every outstanding job's state in one query: "ID STATE" lines.
	q "SELECT id || ' ' || state FROM jobs WHERE id IN ($(cut -d' ' -f1 jobs.txt | paste -sd,))" >states.txt
	while read -r id kind ent out started; do
		st=$(sed -n "s/^$id //p" states.txt)
		case $st in
		done)
			if [ "$kind" = dump ]; then
				echo "$ent" >>complete.txt
			elif cmp -s "src/$ent.bin" "$out"; then
				echo "$ent" >>verified.txt
				rm -f "$out"
			else
				fail "restore job $id of $ent ended done but differs from what was dumped"
			fi ;;
		failed | aborted)
			echo "$id $kind $ent $st: $(q "SELECT coalesce(detail, '') FROM jobs WHERE id = $id")" >>failed.txt
			echo "  job $id ($kind $ent) $st: $(tail -n 1 failed.txt | cut -d: -f2-)" ;;
		*)
			if [ $((now - started)) -gt "$DEADLINE" ]; then
				"$CTL" status >&2 || true
				tail -n 30 "$T/ctld.log" >&2
				fail "job $id ($kind $ent) still $st after ${DEADLINE}s: waiting forever"
			fi
			echo "$id $kind $ent $out $started" >>jobs.next ;;
		esac
	done <jobs.txt
	mv jobs.next jobs.txt
}
outstanding() { wc -l <jobs.txt | tr -d ' '; }
# wait_below N: reap until fewer than N jobs are outstanding.
wait_below() {
	reap
	while [ "$(outstanding)" -ge "$1" ]; do
		sleep 0.2
		reap
	done
}

# job_id JSON-REPLY-FILE: the job a dump or restore request queued.
job_id() { jq -r '(.jobs[0] // .job) // empty' "$1"; }

start_restore() {	# ENTITY DRIVE|any TAG
	out="$T/out/$3.bin"
	mkdir -p "$T/out"
	if [ "$2" = any ]; then
		set -- "$1" "" "$3"
	else
		set -- "$1" "--drive d$2" "$3"
	fi
	# shellcheck disable=SC2086
	ctl --json restore "$1" --to "$out" $2 >reply.json 2>reply.err ||
		fail "restore $1 $2: $(cat reply.err)"
	id=$(job_id reply.json)
	if [ -z "$id" ] && [ -z "$2" ]; then
		# No drive named and none idle: abs-ctld says what it would
		# restore and queues nothing.
		refused=$((refused + 1))
		return 0
	fi
	[ -n "$id" ] || fail "restore of $1: no job in $(cat reply.json)"
	echo "$id restore $1 $out $(date +%s)" >>jobs.txt
	restores=$((restores + 1))
}

# inject N KIND: the robot's next N moves fail (move: HARDWARE ERROR
# 15/01, jam: 53/00), its next N commands answer NOT READY (notready), or
# the door was opened (door: UNIT ATTENTION, abs-ctld takes an inventory).
# faults counts what may fail a job: N for each but the door.
inject() {
	case $2 in
	move) set -- "$1" --move-fail "$1" ;;
	jam) set -- "$1" --move-fail "$1" --jam ;;
	notready) set -- "$1" --not-ready "$1" ;;
	door)
		"$VTAPE" door lib >/dev/null 2>&1 || fail "abs-vtape door lib"
		doors=$((doors + 1))
		return 0 ;;
	esac
	n=$1
	shift
	"$VTAPE" fault lib "$@" >/dev/null 2>&1 || fail "abs-vtape fault lib $*"
	faults=$((faults + n))
}
if ! "$VTAPE" --help 2>&1 | grep -q "fault DIR"; then
	echo "note: abs-vtape has no fault command yet: no faults injected"
	inject() { :; }
fi

mkdir -p src
op=0
while read -r kind a b; do
	op=$((op + 1))
	case $kind in
	dump)
		e="e$op"
		head -c "$b" /dev/urandom >"src/$e.bin"
		ctl entity-add "$e" "file:$T/src/$e.bin" >/dev/null || fail "entity-add $e"
		wait_below 6
		ctl --json dump "d$a" "$e" >reply.json || fail "dump d$a $e: $(cat reply.json)"
		id=$(job_id reply.json)
		[ -n "$id" ] || fail "dump d$a $e: no job in $(cat reply.json)"
		echo "$id dump $e - $(date +%s)" >>jobs.txt
		dumps=$((dumps + 1)) ;;
	restore)
		reap
		n=$(wc -l <complete.txt)
		[ "$n" -gt 0 ] || continue
		e=$(sed -n "$((b % n + 1))p" complete.txt)
		wait_below 6
		start_restore "$e" "$a" "r$op" ;;
	inventory)
		if [ -n "$NOLIB" ]; then
			"$VTAPE" list lib >/dev/null || fail "abs-vtape list"
		else
			ctl inventory lib >inventory.txt 2>&1 || { cat inventory.txt >&2; fail "inventory lib"; }
		fi
		inventories=$((inventories + 1)) ;;
	fault)
		inject "$a" "$b" ;;
	barrier)
		wait_below 1
		barriers=$((barriers + 1)) ;;
	esac
	reap
	check_places
done <plan.txt
wait_below 1
check_places
ok "$OPS operations in $(( $(date +%s) - T0 )) s: $dumps dumps, $restores restores ($refused not queued: no drive idle), $inventories inventories, $faults robot failures injected, $doors doors opened"

# The end: abs-ctld's inventory after a refresh is the library on disk.
# Faults not used up yet go: the last restores must all work.
"$VTAPE" fault lib --clear >/dev/null 2>&1 || true
if [ -z "$NOLIB" ]; then
	ctl inventory lib >/dev/null || fail "the last inventory"
	ctl --json inventory lib --cached >inv.json || fail "inventory --cached"
	jq -r '.. | objects | select(has("barcode") and .barcode != null) |
		"\(.type)\(.num) \(.barcode)"' inv.json | LC_ALL=C sort >inv.txt
	disk_places >places.txt
	cmp -s inv.txt places.txt || { diff places.txt inv.txt >&2; fail "abs-ctld's inventory (+) is not the library on disk (-)"; }
	ok "abs-ctld's inventory is the library on disk"
fi

# Every complete dump not restored yet: restored now, one per drive.
LC_ALL=C sort -u complete.txt >c.txt
LC_ALL=C sort -u verified.txt >v.txt
k=0
for e in $(LC_ALL=C comm -23 c.txt v.txt); do
	wait_below $DRIVES
	start_restore "$e" $((k % DRIVES)) "final-$e"
	k=$((k + 1))
done
wait_below 1
LC_ALL=C sort -u verified.txt >v.txt
missing=$(LC_ALL=C comm -23 c.txt v.txt)
[ -z "$missing" ] || { cat failed.txt >&2; fail "complete dumps not restored byte for byte: $missing"; }
ncomplete=$(wc -l <c.txt | tr -d ' ')
nfailed=$(wc -l <failed.txt | tr -d ' ')
ok "every complete dump ($ncomplete) restored byte for byte"

# Failed jobs: no more than the faults injected could explain.
if [ "$nfailed" -gt "$faults" ]; then
	cat failed.txt >&2
	fail "$nfailed jobs failed, only $faults robot failures were injected"
fi
moves=$(q "SELECT count(*) FROM moves WHERE state = 'done'" 2>/dev/null || echo "?")
mfailed=$(q "SELECT count(*) FROM moves WHERE state = 'failed'" 2>/dev/null || echo "?")
kill -0 "$CPID" 2>/dev/null || fail "abs-ctld died"
echo "library campaign: seed $SEED, $OPS operations ($dumps dumps, $ncomplete complete; $restores restores; $inventories inventories; $barriers barriers), $faults robot failures injected and $doors doors opened, $nfailed jobs failed, $moves moves done and $mfailed failed, $(( $(date +%s) - T0 )) s"
ok "t_library_campaign"
