# Shadows (issue 18, docs/SHADOWS.md): a dir: entity mutated through 8
# dumps (a full, incrementals of levels 1 and 2 with deletions, renames,
# changes, a file that becomes a directory, hard links, and a second full
# mid-way) through a media server on a vtape library; after each dump its
# shadow, refreshed by abs-ctld as the dump lands, equals a snapshot of
# the source taken at that dump (tests/integration/treecmp.sh: types,
# modes, owners, times, contents, hard links), and its marker names the
# entity and that dump. Then: a refresh onto a missing shadow makes it
# again; --every holds refreshes back (the clock moved past it lets
# them go); every refusal (onto the live source, inside it, above it,
# another entity's source, another entity's shadow, a non-empty directory
# that is no shadow, a directory holding another entity's marker, a
# cmd: entity); shadow-promote records who and when and makes the shadow
# the entity's source; shadow-remove.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/treecmp.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock" ABS_CLOCK="$T/clock"
command -v jq >/dev/null 2>&1 || skip "jq is needed to read abs-ctl's answers"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 is needed to look into the catalog"
date -u +%Y-%m-%dT%H:%M:%SZ >"$T/clock"

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
marker_is() {
	grep -qx "entity: $1" "$3/.abs-shadow" && grep -qx "dump: $2" "$3/.abs-shadow" ||
		{ cat "$3/.abs-shadow" >&2; fail "the marker of $3 does not name $1 and dump $2"; }
}

tree_self_test
"$VTAPE" new-library lib --slots 4 --drives 1 --capacity 64M --barcode-prefix K >/dev/null
start_ctld
start_engine
"$CTL" tape-add default K00001 K00002 K00003 K00004 >/dev/null

mkdir -p src/sub/deep src/keep src/ro
echo one >src/a.txt
echo gone >src/gone.txt
echo renamed >src/old-name.txt
head -c 100000 /dev/urandom >src/sub/b.bin
echo deep >src/sub/deep/d.txt
echo kept >src/keep/k.txt
echo link >src/keep/l1
ln src/keep/l1 src/keep/l2
ln -s ../a.txt src/keep/sym
echo ro >src/ro/r.txt
chmod 0555 src/ro
chown 1234:5678 src/sub/b.bin
"$CTL" entity-add home "dir:$T/src" >/dev/null
"$CTL" entity-add other "dir:$T/other-src" >/dev/null
mkdir other-src && echo o >other-src/o.txt
"$CTL" entity-add stream "cmd:echo hi" >/dev/null

# No dump yet: the shadow is added and waits (nothing to refresh).
"$CTL" --json shadow-add home --to "$T/sh/home" >add.json
jq -e '.entity == "home" and .dump == null and .refresh == "current" and .added_by != null' add.json >/dev/null ||
	fail "shadow-add: $(cat add.json)"
"$CTL" shadows | grep -q home || fail "shadows does not list home: $("$CTL" shadows)"
ok "shadow-add home: listed, no dump yet"

# Eight dumps, the shadow refreshed as each lands.
# mutate N: the source's changes before dump N.
mutate() {
	case $1 in
	1) ;;
	2) rm src/gone.txt; mv src/old-name.txt src/new-name.txt; echo two >>src/a.txt
	   echo added >src/added.txt; mkdir src/newdir; echo y >src/newdir/y.txt ;;
	3) mv src/sub src/sub2; echo more >>src/sub2/deep/d.txt; rm src/keep/l2
	   ln src/keep/k.txt src/keep/k-link ;;
	4) rm -r src/newdir; echo file-now >src/newdir; mv src/a.txt src/b.txt
	   mv src/new-name.txt src/a.txt; mv src/b.txt src/new-name.txt ;;
	5) chmod u+w src/ro; echo ro2 >src/ro/r2.txt; chmod 0555 src/ro
	   rm src/keep/sym; ln -s ../new-name.txt src/keep/sym; chmod 0600 src/added.txt ;;
	6) rm src/newdir; mkdir -p src/newdir/x; echo z >src/newdir/x/z.txt; rm -r src/sub2/deep ;;
	7) mv src/keep src/kept; echo seven >src/kept/seven; rm src/added.txt ;;
	8) mv src/kept/seven src/eight; mkdir src/sub2/deep; echo back >src/sub2/deep/d.txt
	   touch -d '2001-02-03 04:05:06' src/eight ;;
	esac
}
levels="0 1 2 1 2 0 1 2"
n=0
for lv in $levels; do
	n=$((n + 1))
	mutate $n
	D=$(dump "$lv")
	[ -n "$D" ] || fail "dump $n recorded no dump ID"
	rm -rf "snap$n"
	cp -a src "snap$n"
	wait_shadow home "$D"
	cmp_shadow "snap$n" "$T/sh/home" "after dump $n (level $lv)"
	marker_is home "$D" "$T/sh/home"
	if [ $n = 1 ]; then
		# The table for people: a header, the row with its dump's
		# first digits and level, current and idle.
		"$CTL" shadows >table.txt
		head -n1 table.txt | grep -q '^ENTITY  *WHERE  *DUMP  *DUMP DATE  *AGE  *LAG  *STATE$' ||
			{ cat table.txt >&2; fail "shadows: no table header"; }
		grep -q "^home  *$T/sh/home  *$(echo "$D" | cut -c1-8) L0  *20[0-9-]*T[0-9:]*Z  *[0-9]*[smhd][0-9m]*  *current  *idle$" table.txt ||
			{ cat table.txt >&2; fail "shadows: home's row"; }
	fi
	ok "dump $n (level $lv, $D): the shadow is the source as dumped"
done
last=$D
# Each refresh of the untouched shadow found it as its marker said (none
# was made again because the tree differed from its dump's listing).
! grep "any more" "$T/engine.log" >&2 || fail "a refresh took the untouched shadow for one changed by hand"
ok "the untouched shadow was never taken for one changed by hand"

# A refresh onto a missing shadow makes it (from the full of the chain).
rm -rf "$T/sh/home"
j=$("$CTL" --json shadow-refresh home | jq -r .job)
wait_job "$j" "refresh onto a missing shadow"
wait_shadow home "$last"
cmp_shadow "snap8" "$T/sh/home" "the shadow made again"
marker_is home "$last" "$T/sh/home"
ok "shadow-refresh onto a missing shadow: made again, the source as last dumped"

# A refresh that finds the shadow current applies nothing, changes nothing.
j=$("$CTL" --json shadow-refresh home | jq -r .job)
wait_job "$j" "refresh of a current shadow"
cmp_shadow "snap8" "$T/sh/home" "a current shadow refreshed"
ok "shadow-refresh of a current shadow: nothing changes"

# Refusals at shadow-add: the live source, inside it, above it, another
# entity's source, another entity's shadow, a cmd: entity, a relative path.
expect_fail "live source" "$CTL" shadow-add other --to "$T/other-src"
expect_fail "live source\|source of" "$CTL" shadow-add other --to "$T/other-src/inner"
expect_fail "source of entity" "$CTL" shadow-add other --to "$T/src"
expect_fail "source" "$CTL" shadow-add other --to "$T"
expect_fail "shadow of entity home" "$CTL" shadow-add other --to "$T/sh/home"
expect_fail "shadow of entity home" "$CTL" shadow-add other --to "$T/sh/home/x"
expect_fail "dir: entities only" "$CTL" shadow-add stream --to "$T/sh/stream"
expect_fail "absolute" "$CTL" shadow-add other --to "sh/other"
expect_fail "'..'" "$CTL" shadow-add other --to "$T/sh/../src"
expect_fail "has a shadow already" "$CTL" shadow-add home --to "$T/sh/home2"
[ "$("$CTL" --json shadows | jq '[.[] | select(.state == "active")] | length')" = 1 ] ||
	fail "a refused shadow-add left a row: $("$CTL" --json shadows)"

# Refusals at refresh (what only the shadow's host sees): a non-empty
# directory that is no shadow, one whose marker names another entity.
mkdir -p foreign && echo mine >foreign/precious
"$CTL" shadow-add other --to "$T/foreign" >/dev/null
O=$(sleep 1; j=$("$CTL" --json dump lib0 other --level 0 | jq -r '.jobs[0]'); wait_job "$j" "dump of other"
	sqlite3 "$T/catalog.db" "SELECT dump_uid FROM dumps WHERE job_id = $j")
wait_until "shadow other | jq -e '.error != null' >/dev/null"
shadow other | jq -e '.error | test("holds files and is not a shadow of other")' >/dev/null ||
	fail "a non-empty foreign directory: $(shadow other)"
"$CTL" shadows >table.txt
grep -q "^other .* none yet .* 1 dump  *failed$" table.txt && grep -q "^  last error .*holds files and is not a shadow of other" table.txt ||
	{ cat table.txt >&2; fail "shadows: the failed refresh of other"; }
[ "$(cat foreign/precious)" = mine ] && [ "$(ls -A foreign)" = precious ] || fail "the refused refresh touched foreign/"
ok "refused at refresh: a non-empty directory that is no shadow (untouched, the error in shadows)"
"$CTL" shadow-remove other >/dev/null
cp "$T/sh/home/.abs-shadow" "$T/m"
mkdir -p notmine && cp "$T/m" notmine/.abs-shadow && echo x >notmine/x
"$CTL" shadow-add other --to "$T/notmine" >/dev/null
j=$("$CTL" --json shadow-refresh other | jq -r .job)
wait_until "case \$(job_state $j) in done|failed|aborted) true;; *) false;; esac"
[ "$(job_state "$j")" = failed ] || fail "a refresh onto home's marker: $(job_state "$j")"
wait_until "shadow other | jq -e '.error != null' >/dev/null"
shadow other | jq -e '.error | test("is the shadow of entity home")' >/dev/null || fail "another entity's marker: $(shadow other)"
[ "$(cat notmine/x)" = x ] || fail "the refused refresh touched notmine/"
ok "refused at refresh: a directory whose marker names another entity"
"$CTL" shadow-remove other >/dev/null

# --every: a shadow refreshed at most once in HOURS; the clock moved past
# it lets the refresh go.
"$CTL" shadow-add other --to "$T/sh/other" --every 6 >/dev/null
wait_shadow other "$O"
echo o2 >other-src/o2.txt
sleep 1
j=$("$CTL" --json dump lib0 other --level 1 | jq -r '.jobs[0]'); wait_job "$j" "dump 2 of other"
O2=$(sqlite3 "$T/catalog.db" "SELECT dump_uid FROM dumps WHERE job_id = $j")
cp -a other-src snap-other
wait_until "shadow other | jq -e '.behind and .refresh == \"wait\"' >/dev/null"
sleep 2
shadow other | jq -e --arg d "$O" '.dump == $d and .job == null and .next_refresh != null' >/dev/null ||
	fail "--every 6: refreshed before its time: $(shadow other)"
shadow other | jq -e '.behind_dumps == 1 and .lag_seconds >= 1' >/dev/null || fail "--every 6: the lag: $(shadow other)"
"$CTL" shadows | grep -q "^other .* 1 dump, [0-9]*[smhd].* idle (next 20" || { "$CTL" shadows >&2; fail "shadows: other waiting"; }
ok "--every 6: the new dump waits ($(shadow other | jq -r .next_refresh)), one dump behind"
date -u -d '+7 hours' +%Y-%m-%dT%H:%M:%SZ >"$T/clock"
wait_shadow other "$O2"
cmp_shadow snap-other "$T/sh/other" "other after --every"
ok "--every 6: refreshed once the clock passed it"

# Promotion: the shadow becomes the source; who and when recorded; no
# more refreshes.
"$CTL" --json shadow-promote home >promote.json
jq -e '.entity == "home" and (.promoted_by | test("^uid:"))' promote.json >/dev/null || fail "shadow-promote: $(cat promote.json)"
"$CTL" --json entities | jq -e --arg p "dir:$T/sh/home" '.[] | select(.name == "home") | .source == $p' >/dev/null ||
	fail "after promotion, home's source: $("$CTL" --json entities | jq -c '.[] | select(.name == "home")')"
"$CTL" --json shadows | jq -e '.[] | select(.entity == "home") | .state == "promoted" and .promoted_at != null and (.promoted_from | test("/src$"))' >/dev/null ||
	fail "shadows after promotion: $("$CTL" --json shadows)"
expect_fail "no shadow" "$CTL" shadow-promote home
"$CTL" shadows | grep -q "^  promoted by uid:[0-9]* at 20.*; it replaced dir:$T/src$" || { "$CTL" shadows >&2; fail "shadows: the promotion"; }
"$CTL" shadows | grep -q "^home .* promoted$" || { "$CTL" shadows >&2; fail "shadows: home promoted"; }
ok "shadow-promote home: the shadow is home's source, who and when recorded"

# Removing a shadow keeps its files.
"$CTL" shadow-remove other >/dev/null
[ -e "$T/sh/other/o2.txt" ] || fail "shadow-remove removed files"
expect_fail "no shadow" "$CTL" shadow-remove other
ok "shadow-remove: the row goes, the files stay"
