# Shadows on a file system that fills up (issue 18, docs/SHADOWS.md): a
# shadow on a small tmpfs of its own, refreshed from a full; a dump whose
# refresh runs out of space (ENOSPC mid-refresh) fails with the reason
# in `shadows`, the marker still naming the dump the shadow reflected;
# once space is back, shadow-refresh brings the shadow to the new dump,
# equal to the source, and its marker says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/treecmp.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock" ABS_CLOCK="$T/clock"
command -v jq >/dev/null 2>&1 || skip "jq is needed to read abs-ctl's answers"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 is needed to look into the catalog"
date -u +%Y-%m-%dT%H:%M:%SZ >"$T/clock"
mkdir fs
mount -t tmpfs -o size=4m tmpfs fs 2>/dev/null || skip "cannot mount a tmpfs"
MOUNTS="$MOUNTS $T/fs"

wait_until() { poll_until "$1" || fail "timed out: $1"; }
job_state() { "$CTL" --json jobs --count 200 | jq -r ".[] | select(.id == $1) | .state"; }
wait_job() {
	wait_until "case \$(job_state $1) in done|failed|aborted) true;; *) false;; esac"
	[ "$(job_state "$1")" = done ] || { tail -n 20 "$T/engine.log" >&2; fail "job $1 ($2): $(job_state "$1")"; }
}
shadow() { "$CTL" --json shadows | jq -c --arg e "$1" '[.[] | select(.entity == $e and .state == "active")][0]'; }
# wait_shadow ENTITY DUMP: the shadow reflects DUMP (its refresh ran).
wait_shadow() {
	wait_until "shadow $1 | jq -e --arg d $2 '.dump == \$d or .error != null' >/dev/null"
	shadow "$1" | jq -e --arg d "$2" '.dump == $d and .behind == false and .refresh == "current"' >/dev/null ||
		{ tail -n 30 "$T/engine.log" >&2; fail "shadow of $1 is not at dump $2: $(shadow "$1")"; }
}
start_ctld() {
	"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>>"$T/ctld.log" &
	PIDS="$PIDS $!"
	wait_until '[ -S "$T/ctld.sock" ]'
}
start_engine() {
	"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
		--log "$T/journal.log" 2>>"$T/engine.log" &
	PIDS="$PIDS $!"
	wait_until '"$CTL" --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
}
# dump LEVEL: a dump of home on lib0; its dump ID.
dump() {
	sleep 1		# the dump starts after the tree's last change
	j=$("$CTL" --json dump lib0 home --level "$1" | jq -r '.jobs[0]')
	wait_job "$j" "dump level $1"
	sqlite3 "$T/catalog.db" "SELECT d.dump_uid FROM dumps d WHERE d.job_id = $j"
}
# cmp_shadow SNAP SHADOW WHAT: SHADOW is SNAP (its marker aside).
cmp_shadow() {
	tree_list "$1" >"$T/sa.list"
	tree_list "$2" | grep -v '^\./\.abs-shadow|' >"$T/sb.list"
	cmp -s "$T/sa.list" "$T/sb.list" || { diff "$T/sa.list" "$T/sb.list" >&2; fail "$3: the shadow's entries differ (< snapshot, > shadow)"; }
	tree_sums "$1" >"$T/sa.sums"
	tree_sums "$2" | grep -v '  \./\.abs-shadow$' >"$T/sb.sums"
	cmp -s "$T/sa.sums" "$T/sb.sums" || { diff "$T/sa.sums" "$T/sb.sums" >&2; fail "$3: contents differ"; }
}
marker_is() {	# marker_is DUMP DIR
	grep -qx "entity: home" "$2/.abs-shadow" && grep -qx "dump: $1" "$2/.abs-shadow" ||
		{ cat "$2/.abs-shadow" >&2; fail "the marker of $2 does not name dump $1"; }
}

"$VTAPE" new-library lib --slots 2 --drives 1 --capacity 64M --barcode-prefix K >/dev/null
start_ctld
start_engine
"$CTL" tape-add default K00001 K00002 >/dev/null
mkdir -p src/sub
echo one >src/a.txt
head -c 500000 /dev/urandom >src/sub/b.bin
"$CTL" entity-add home "dir:$T/src" >/dev/null
"$CTL" shadow-add home --to "$T/fs/home" >/dev/null || fail "shadow-add"
d1=$(dump 0)
wait_shadow home "$d1"
cmp_shadow src fs/home "after the full"
marker_is "$d1" fs/home
ok "the shadow on a 4 MB tmpfs reflects the full $d1"

# The next dump needs more than is left.
head -c 3000000 /dev/urandom >src/sub/big.bin
echo two >>src/a.txt
dd if=/dev/zero of=fs/filler bs=64k count=40 2>/dev/null || true
d2=$(dump 1)
wait_until "shadow home | jq -e '.error != null' >/dev/null"
shadow home >sh.json
jq -e --arg d "$d1" '.dump == $d' sh.json >/dev/null || { cat sh.json; fail "the shadow no longer says it reflects $d1"; }
jq -r .error sh.json | grep -qi "no space" || { cat sh.json; tail -20 "$T/engine.log"; fail "the refresh's error does not say the disk is full"; }
[ -f fs/home/.abs-shadow ] || fail "the marker is gone"
grep -qx "dump: $d2" fs/home/.abs-shadow && fail "the marker names the dump that did not fit"
echo "  error: $(jq -r .error sh.json)"
ok "out of space mid-refresh: said, the marker does not claim $d2"

# Space back: the next refresh is correct.
rm fs/filler
"$CTL" shadow-refresh home >/dev/null || fail "shadow-refresh"
wait_until "shadow home | jq -e --arg d $d2 '.dump == \$d' >/dev/null"
wait_shadow home "$d2"
cmp_shadow src fs/home "after space came back"
marker_is "$d2" fs/home
[ ! -e fs/home/.abs-restore-INCOMPLETE ] || fail "the shadow still says incomplete"
ok "once space is back, shadow-refresh brings the shadow to $d2, equal to the source"
