# The catalog rebuilt from the tapes alone: a week of dumps through abs-ctld
# and a media server on a vtape library (several entities and types, fulls
# and incrementals, dumps spanning cartridges, a full cartridge recycled
# and written again, one cartridge taken out of service), then the catalog
# is thrown away and rebuilt by scanning the cartridges one by one in a
# shuffled order (and then the whole library again, which changes
# nothing). The query outputs (entity, tape, tapes-for, tapes, entities,
# next-tapes) of the rebuilt catalog must equal the original's, except
# for what docs/FORMAT.md lists as not on tape, excluded here by name:
# row ids, "added" dates, error counts and verifications (history), the
# out-of-service mark of the bad cartridge, and parts of dumps that expired
# when their cartridge was recycled.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
command -v jq >/dev/null 2>&1 || skip "jq is needed to compare query outputs"

wait_for() { i=0; until eval "$1"; do i=$((i + 1)); [ $i -lt 600 ] || fail "timed out: $1"; sleep 0.1; done; }
job_state() { "$CTL" --json jobs --count 200 | jq -r ".[] | select(.id == $1) | .state"; }

# start_ctld DB JOURNAL: abs-ctld on DB and a media server on the library.
start_ctld() {
	"$CTLD" --socket "$T/ctld.sock" --db "$1" --foreground 2>>"$T/ctld.log" &
	CPID=$!
	PIDS="$PIDS $CPID"
	wait_for '[ -S "$T/ctld.sock" ]'
	"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
		--log "$2" 2>>"$T/engine.log" &
	EPID=$!
	PIDS="$PIDS $EPID"
	wait_for '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
}
stop_ctld() {
	kill "$EPID" "$CPID" 2>/dev/null || true
	wait "$EPID" "$CPID" 2>/dev/null || true
	rm -f "$T/ctld.sock"
}
# The configuration an operator keeps (not on tape: docs/FORMAT.md).
configure() {
	"$CTL" pool-set default --keep-fulls 1 --keep-days 0 >/dev/null
	"$CTL" type-add volume --full 7 --incr 1 >/dev/null
	"$CTL" type-add database --full 3 --incr 1 >/dev/null
}
# dump ENTITY LEVEL: one job on lib0, which must succeed.
dump() {
	j=$("$CTL" --json dump lib0 "$1" --level "$2" | jq -r '.jobs[0]')
	wait_for "case \$(job_state $j) in done|failed|aborted) true;; *) false;; esac"
	[ "$(job_state "$j")" = done ] || { tail -n 20 "$T/engine.log" >&2; fail "dump of $1 (job $j): $(job_state "$j")"; }
	DUMPS=$((DUMPS + 1))
}

"$VTAPE" new-library lib --slots 10 --drives 1 --capacity 24M --barcode-prefix K >/dev/null
start_ctld "$T/catalog.db" "$T/journal1.log"
configure
"$CTL" tape-add default K00001 K00002 K00003 K00004 K00005 K00006 K00007 >/dev/null
mkdir -p src/home/sub src/mail
echo hello >src/home/a.txt
head -c 300000 /dev/urandom >src/home/sub/b.bin
head -c 200000 /dev/urandom >src/mail/inbox
head -c 30000000 /dev/urandom >db.bin
"$CTL" entity-add home.jdoe "dir:$T/src/home" --type volume >/dev/null
"$CTL" entity-add mail.spool "dir:$T/src/mail" --type volume >/dev/null
"$CTL" entity-add db.main "cmd:cat $T/db.bin" --type database >/dev/null
"$CTL" entity-add etc.conf "file:$T/src/home/a.txt" >/dev/null

# The week: fulls on day 1, incrementals, a second full of the big
# database (it spans cartridges), more incrementals, fulls again so that
# the first cartridges may be recycled, and one more full that reuses one.
DUMPS=0
for e in home.jdoe mail.spool db.main etc.conf; do dump "$e" 0; done
echo more >>src/home/a.txt
dump home.jdoe 1
dump mail.spool 1
dump db.main 0
head -c 100000 /dev/urandom >src/mail/new
dump mail.spool 1
dump home.jdoe 1
for e in home.jdoe mail.spool etc.conf; do dump "$e" 0; done
dump db.main 0
dump db.main 0
"$CTL" --json tapes >tapes-week.json
full=$(jq -r '[.[] | select(.state == "full")] | length' tapes-week.json)
sqlite3 "$T/catalog.db" "SELECT count(*) FROM dumps WHERE state = 'expired'" >expired.txt
[ "$(cat expired.txt)" -ge 1 ] || fail "no cartridge was recycled: $(cat tapes-week.json)"
ok "a week: $DUMPS dumps on $(jq length tapes-week.json) cartridges ($full full, $(cat expired.txt) dumps expired by recycling)"

# One cartridge holding dumps goes out of service (the operator's mark).
bad=$(jq -r '[.[] | select(.state == "appendable" or .state == "full")][0].label' tapes-week.json)
"$CTL" tape-state "$bad" out-of-service >/dev/null

# snapshot DIR: every query output, as JSON.
snapshot() {
	mkdir -p "$1"
	"$CTL" --json entities >"$1/entities.json"
	"$CTL" --json tapes >"$1/tapes.json"
	"$CTL" --json next-tapes --count 20 >"$1/next-tapes.json"
	for e in $(jq -r '.[].name' "$1/entities.json"); do
		"$CTL" --json entity "$e" >"$1/entity-$e.json"
		"$CTL" --json tapes-for "$e" >"$1/tapes-for-$e.json"
	done
	for l in $(jq -r '.[].label' "$1/tapes.json"); do
		"$CTL" --json tape "$l" >"$1/tape-$l.json"
	done
}
snapshot orig
stop_ctld
ok "original catalog: $(ls orig | wc -l) query outputs"

# Thrown away. A new catalog with the operator's configuration, then the
# cartridges scanned one at a time in a shuffled order.
rm -f "$T/catalog.db" "$T/catalog.db-wal" "$T/catalog.db-shm"
start_ctld "$T/rebuilt.db" "$T/journal2.log"
configure
"$VTAPE" unload lib --drive 0 2>/dev/null || true
"$VTAPE" list lib >before.txt
# The cartridges the catalog knew (the others in the library are blank).
order=$(for l in $(jq -r '.[].label' orig/tapes.json); do
	sed -n "s/^slot\([0-9]*\) *$l .*/\1/p" before.txt; done | shuf)
[ -n "$order" ] || fail "no cartridge in the library: $(cat before.txt)"
n=0
for slot in $order; do
	"$VTAPE" load lib --slot "$slot" --drive 0
	"$CTL" rebuild --drive lib0 >>rebuild.txt 2>&1 || { cat rebuild.txt >&2; fail "rebuild of slot $slot"; }
	"$VTAPE" unload lib --drive 0
	n=$((n + 1))
done
tail -n 1 rebuild.txt
# A dump spanning cartridges is incomplete until the last of them is in.
grep -q ' [1-9][0-9]* incomplete' rebuild.txt ||
	fail "no dump was ever incomplete while its cartridges came in: $(cat rebuild.txt)"
ok "$n cartridges scanned one by one, in the order of slots $(echo $order | tr '\n' ' ')"
# The whole library again: nothing changes.
"$CTL" rebuild --drive lib0 --library >again.txt 2>&1 || { cat again.txt >&2; fail "library rebuild"; }
grep -q ' 0 parts added, [1-9][0-9]* known already, 0 refused' again.txt ||
	fail "scanning again changed something: $(cat again.txt)"
grep -q ' 0 incomplete' again.txt || fail "dumps left incomplete: $(cat again.txt)"
ok "the whole library scanned again: $(cat again.txt)"
# A media server killed mid-scan: abs-ctl rebuild says so (or had its
# summary already), the drive takes work again once a media server is
# back, and a new scan finds everything in place.
"$CTL" rebuild --drive lib0 --library >killed.txt 2>&1 &
RPID=$!
wait_for '"$CTL" --json status | jq -e ".drives[0].state == \"scanning\"" >/dev/null || ! kill -0 "$RPID" 2>/dev/null'
kill -9 "$EPID"
rc=0
wait "$RPID" || rc=$?
case $rc in 0) grep -q 'rebuild done' killed.txt || fail "rebuild exited 0 without a summary" ;;
1) grep -q 'stopped scanning without a summary\|stopped:' killed.txt || fail "rebuild exit 1 without a reason: $(cat killed.txt)" ;;
*) fail "rebuild after its media server was killed: exit $rc: $(cat killed.txt)" ;;
esac
"$VTAPE" unload lib --drive 0 2>/dev/null || true
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal3.log" 2>>"$T/engine.log" &
EPID=$!
PIDS="$PIDS $EPID"
wait_for '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
"$CTL" rebuild --drive lib0 --library >again2.txt 2>&1 || { cat again2.txt >&2; fail "library rebuild after a kill"; }
grep -q ' 0 parts added, [1-9][0-9]* known already, 0 refused' again2.txt ||
	fail "scanning after the kill changed something: $(cat again2.txt)"
ok "media server killed mid-scan (abs-ctl rebuild exit $rc), restarted: $(cat again2.txt)"
"$CTL" tape-state "$bad" out-of-service >/dev/null	# the operator marks it again
snapshot rebuilt

# Compare, with the documented exclusions and nothing else.
norm_tape='del(.id, .added, .errors, .verifications) | .parts |= map(select(.dump_state != "expired"))'
fields=0 diffs=0
cmp_json() {	# FILE FILTER
	jq -S "$2" "orig/$1" >a.json
	jq -S "$2" "rebuilt/$1" >b.json
	fields=$((fields + $(jq '[paths(scalars)] | length' a.json)))
	if ! cmp -s a.json b.json; then
		diffs=$((diffs + 1))
		echo "DIFF $1:"
		diff a.json b.json | head -n 20 || true
	fi
}
[ "$(jq -r '.[].label' orig/tapes.json | sort)" = "$(jq -r '.[].label' rebuilt/tapes.json | sort)" ] ||
	fail "the rebuilt catalog has other tapes: $(jq -c '[.[].label]' rebuilt/tapes.json)"
for f in orig/*.json; do
	f=${f#orig/}
	case $f in
	tape-*) cmp_json "$f" "$norm_tape" ;;
	entity-*) cmp_json "$f" 'del(.added)' ;;
	*) cmp_json "$f" '.' ;;
	esac
done
echo "compared $(ls orig | wc -l) query outputs, $fields values: $diffs differ"
[ "$diffs" = 0 ] || fail "the rebuilt catalog differs from the original"
ok "rebuilt from $n cartridges in shuffled order: $(ls orig | wc -l) query outputs, $fields values, 0 differences ($(cat expired.txt) expired dumps excluded from tape parts)"
