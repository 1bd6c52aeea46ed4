# Shadows under hostile conditions (issue 18, docs/SHADOWS.md): the media
# server killed (SIGKILL, ABS_CRASH_AT) in the middle of a shadow's
# refresh at six points: before a new shadow's marker is claimed, during
# the restore of the full, during an incremental's apply step, during an
# incremental's stream, just before the marker naming the new dump
# replaces the old one, and while a shadow is emptied to be made again
# from a new full. After each kill the marker names no dump the tree is
# not (it says "dump: -", or the tree equals that dump's snapshot), and
# the next refresh leaves the shadow equal to the source's snapshot at
# the newest dump. Then symbolic links planted in the shadow pointing
# out of it, and a directory of it swapped for such a link between
# refreshes: refreshes (an incremental's and a new full's) change
# nothing outside the shadow, and the incremental's refresh sees the
# shadow changed by hand and makes it again from the full.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/treecmp.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
command -v jq >/dev/null 2>&1 || skip "jq is needed to read abs-ctl's answers"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 is needed to look into the catalog"

wait_until() { poll_until "$1" || fail "timed out: $1"; }
job_state() { "$CTL" --json jobs --count 200 | jq -r ".[] | select(.id == $1) | .state"; }
job_ended() { case $(job_state "$1") in done|failed|aborted) true;; *) false;; esac; }
wait_job() {
	wait_until "job_ended $1"
	[ "$(job_state "$1")" = done ] || { tail -n 20 "$T/engine.log" >&2; fail "job $1 ($2): $(job_state "$1")"; }
}
shadow() { "$CTL" --json shadows | jq -c '[.[] | select(.entity == "home" and .state == "active")][0]'; }
start_ctld() {
	"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>>"$T/ctld.log" &
	PIDS="$PIDS $!"
	wait_until '[ -S "$T/ctld.sock" ]'
}
# start_engine [CRASH-POINT]: the media server, armed to kill itself there.
start_engine() {
	if [ -n "${1:-}" ]; then
		ABS_CRASH_AT=$1 "$ENGINE" serve --control "$T/ctld.sock" --drive lib0 \
			--device "vtape:$T/lib/drive0" --log "$T/journal.log" 2>>"$T/engine.log" &
	else
		"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 \
			--device "vtape:$T/lib/drive0" --log "$T/journal.log" 2>>"$T/engine.log" &
	fi
	EPID=$!
	PIDS="$PIDS $EPID"
	wait_until '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null ||
		! kill -0 $EPID 2>/dev/null'
}
stop_engine() {
	kill "$EPID" 2>/dev/null || true
	wait "$EPID" 2>/dev/null || true
	wait_until '! "$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
}
# dump N LEVEL: dump N of home on lib0 (a normal media server), its
# snapshot kept as snapN; its ID in DN and in dumps.list.
dump() {
	sleep 1		# the dump starts after the tree's last change
	j=$("$CTL" --json dump lib0 home --level "$2" | jq -r '.jobs[0]')
	wait_job "$j" "dump $1 level $2"
	d=$(sqlite3 "$T/catalog.db" "SELECT d.dump_uid FROM dumps d WHERE d.job_id = $j")
	[ -n "$d" ] || fail "dump $1 recorded no dump ID"
	rm -rf "snap$1"
	cp -a src "snap$1"
	echo "$d snap$1" >>dumps.list
	eval "D$1=$d"
}
# cmp_shadow SNAP WHAT: the shadow is SNAP (its marker aside).
cmp_shadow() {
	tree_list "$1" >"$T/sa.list"
	tree_list "$T/sh/home" | grep -v '^\./\.abs-shadow\(\.tmp\)\?|' >"$T/sb.list"
	cmp -s "$T/sa.list" "$T/sb.list" || { diff "$T/sa.list" "$T/sb.list" >&2; fail "$2: the shadow's entries differ (< snapshot, > shadow)"; }
	tree_sums "$1" >"$T/sa.sums"
	tree_sums "$T/sh/home" | grep -v '  \./\.abs-shadow\(\.tmp\)\?$' >"$T/sb.sums"
	cmp -s "$T/sa.sums" "$T/sb.sums" || { diff "$T/sa.sums" "$T/sb.sums" >&2; fail "$2: contents differ"; }
}
marker_dump() { sed -n 's/^dump: //p' "$T/sh/home/.abs-shadow" 2>/dev/null || true; }
# honest WHAT: the marker names no dump the tree is not.
honest() {
	m=$(marker_dump)
	case $m in
	""|-) ok "$1: the marker says ${m:-nothing (none yet)}" ;;
	*) s=$(sed -n "s/^$m //p" dumps.list)
	   [ -n "$s" ] || fail "$1: the marker names dump $m, which is no dump of home"
	   cmp_shadow "$s" "$1: the marker names dump $m but the tree is not it"
	   ok "$1: the marker names dump $m and the tree is that dump" ;;
	esac
}
# crash POINT WHAT [CMD]: a media server armed at POINT; CMD (default
# shadow-refresh) starts the refresh; it must die there.
crash() {
	start_engine "$1"
	wait_until 'shadow | jq -e ".job == null" >/dev/null'
	if [ -n "${3:-}" ]; then eval "$3"; else "$CTL" shadow-refresh home >/dev/null; fi
	wait_until '! kill -0 $EPID 2>/dev/null'
	rc=0; wait "$EPID" || rc=$?
	[ "$rc" = 137 ] || { tail -n 20 "$T/engine.log" >&2; fail "$2: the media server ended with status $rc, not killed at $1"; }
	wait_until '! "$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
	honest "$2 (killed at $1)"
}
# recover N WHAT: a normal media server; the killed refresh ends (it
# failed), then a refresh brings the shadow to dump N.
recover() {
	start_engine
	wait_until 'shadow | jq -e ".job == null" >/dev/null'
	eval "want=\$D$1"
	j=$("$CTL" --json shadow-refresh home | jq -r .job)
	wait_job "$j" "the refresh after $2"
	wait_until 'shadow | jq -e --arg d "$want" ".dump == \$d and .error == null" >/dev/null'
	cmp_shadow "snap$1" "$2, refreshed again"
	[ "$(marker_dump)" = "$want" ] || fail "$2: the marker says $(marker_dump), not $want"
	ok "$2: the next refresh made the shadow dump $1 ($want)"
	stop_engine
}

tree_self_test
"$VTAPE" new-library lib --slots 4 --drives 1 --capacity 64M --barcode-prefix K >/dev/null
start_ctld
start_engine
"$CTL" tape-add default K00001 K00002 K00003 K00004 >/dev/null
: >dumps.list

mkdir -p src/sub/deep src/keep src/ro
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "file $i" >"src/f$i"; done
head -c 200000 /dev/urandom >src/sub/big.bin
echo deep >src/sub/deep/d.txt
echo kept >src/keep/k.txt
ln src/keep/k.txt src/keep/k2
ln -s ../f1 src/keep/sym
echo ro >src/ro/r.txt
chmod 0555 src/ro
"$CTL" entity-add home "dir:$T/src" >/dev/null

dump 1 0
echo two >>src/f2; rm src/f3; mv src/f4 src/f4-renamed; dump 2 1
mv src/sub src/sub2; echo x >src/keep/new; dump 3 2
stop_engine

# 1. A new shadow: killed before its claim (the marker "dump: -") lands;
#    the first refresh is the one shadow-add starts.
crash shadow-claim:1 "a new shadow's claim" \
	'"$CTL" shadow-add home --to "$T/sh/home" --every 8760 >/dev/null'
# 2. Killed in the middle of the full's restore.
crash restore-entry:6 "the full's restore"
recover 3 "kills before the claim and in the full"

# 3. An incremental's apply step (the shadow at dump 3, dump 4 applied).
start_engine
rm src/f5 src/f6; mv src/f7 src/f7-renamed; mv src/sub2/deep src/deep-moved; dump 4 3
stop_engine
shadow | jq -e --arg d "$D3" '.dump == $d and .refresh == "wait"' >/dev/null ||
	fail "--every 8760 should hold dump 4 back: $(shadow)"
crash chain-apply:2 "an incremental's apply step"
recover 4 "a kill in an incremental's apply step"

# 4. An incremental's stream, after its apply step.
start_engine
echo more >>src/f8; echo new >src/new-file; rm src/keep/k2; dump 5 4
stop_engine
crash restore-entry:2 "an incremental's stream"
recover 5 "a kill in an incremental's stream"

# 5. The whole chain applied, the marker naming it not in place yet.
start_engine
rm -r src/deep-moved; echo nine >src/f9-new; dump 6 5
stop_engine
crash shadow-marker:1 "the marker's rename"
[ "$(marker_dump)" = - ] || fail "killed before the new marker: it says $(marker_dump), not -"
recover 6 "a kill before the new marker"

# 6. A new full: the shadow emptied to be made again, killed half-way.
start_engine
echo ten >src/f10; mkdir src/newdir; echo n >src/newdir/n; dump 7 0
stop_engine
crash shadow-empty:3 "emptying the shadow for a new full"
recover 7 "a kill while the shadow was emptied"

# Links planted in the shadow pointing out of it, and one of its
# directories swapped for such a link, between refreshes.
mkdir -p outside/inner
echo precious >outside/precious
echo inner >outside/inner/i
chmod 0400 outside/precious
chmod 0550 outside/inner outside
outside_state() { (cd outside && find . -printf '%p %y %m %s %T@\n' | sort && cat precious inner/i); }
outside_state >outside.before
plant() {
	ln -s "$T/outside" "$T/sh/home/evil"
	ln -s "$T/outside/precious" "$T/sh/home/evil-file"
	chmod u+w "$T/sh/home/newdir"
	rm -rf "$T/sh/home/newdir"
	ln -s "$T/outside" "$T/sh/home/newdir"
}
plant
start_engine
echo eleven >>src/f11; echo n2 >src/newdir/n2; rm src/f12; dump 8 1
j=$("$CTL" --json shadow-refresh home | jq -r .job)
wait_until "job_ended $j"
outside_state | cmp -s - outside.before || fail "an incremental refresh over planted links changed outside/"
grep -q "is not dump $D7 any more" "$T/engine.log" ||
	{ tail -n 20 "$T/engine.log" >&2; fail "the refresh did not see the shadow changed by hand"; }
ok "an incremental refresh over planted links: $(job_state "$j"), the shadow seen changed by hand and made again; nothing outside changed"
honest "after the refresh over planted links"
if [ "$(marker_dump)" != "$D8" ]; then
	j=$("$CTL" --json shadow-refresh home | jq -r .job)
	wait_job "$j" "the refresh after the planted links"
fi
cmp_shadow snap8 "after planted links"
[ "$(marker_dump)" = "$D8" ] || fail "after planted links the marker says $(marker_dump), not $D8"
outside_state | cmp -s - outside.before || fail "a refresh over planted links changed outside/"
ok "planted links: the shadow is dump 8 again, nothing outside changed"
plant
echo twelve >src/f12; dump 9 0
j=$("$CTL" --json shadow-refresh home | jq -r .job)
wait_job "$j" "a new full over planted links"
cmp_shadow snap9 "a new full over planted links"
[ ! -L "$T/sh/home/evil" ] && [ ! -L "$T/sh/home/newdir" ] || fail "the planted links stayed"
outside_state | cmp -s - outside.before || fail "a new full's refresh over planted links changed outside/"
ok "a new full over planted links: the shadow is dump 9, the links gone, nothing outside changed"
