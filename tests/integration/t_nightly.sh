# Seven nights of the nightly run, for real: abs-ctld, two media servers
# (drives d0, d1) on one vtape library, the clock injected (ABS_CLOCK: a
# file holding the date, rewritten to move to the next night), 40 entities
# on two servers: directory trees found by a discovery command that adds
# and drops entities between nights, command streams (cmd:), and a type
# whose dumps run around a snapshot (scripts that record their calls).
# Each night `abs-cron --drives d0,d1` runs twice (the second does nothing
# and says so, while the first runs and after it finished), the run queues
# exactly `abs-ctl plan`'s entities and levels, `abs-ctl report` agrees
# with the catalog, new entities get a full on their first night and
# vanished ones are reported and not dumped. At the end every dump is
# restored and compared byte for byte with a copy of its night's data
# (an incremental with what changed since its base).
# (in /dev/shm where there is one: fsyncs cost nothing there)
[ -w /dev/shm ] && TMPDIR=/dev/shm
. "$(dirname "$0")/lib.sh"
# NIGHTLY_KEEP=1: the temp dir is kept for a look, the daemons stopped.
[ -z "${NIGHTLY_KEEP:-}" ] || trap 'for p in $PIDS; do kill $p 2>/dev/null; done; echo "kept $T"' EXIT
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
CRON="$ABS_BIN/abs-cron"
export TZ=UTC ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock" ABS_CLOCK="$T/clock"
chmod 755 "$T"
command -v jq >/dev/null || skip "jq is needed (make deps)"

# The nights: 2027-03-01 (a Monday) onwards, in the future of the real
# clock so that no file's ctime (the real one) counts as a change.
D0=2027-03-01
NIGHTS=7
day() { date -u -d "$D0 + $(($1 - 1)) days" +%Y-%m-%d; }
set_clock() { printf '%s\n' "$1" >"$T/clock"; }
set_clock "$(day 1)T08:00:00Z"

# The data: server srv-a holds directory trees (discovered), srv-b command
# streams (added by hand) and volumes of type vol (snapshot, dump, release
# commands). Files are small: many entities, few bytes.
mkdir -p srv-a srv-b/streams srv-b/vols keep snaps
# mkfiles DIR N SEED: N files of a few KiB and a subdirectory.
mkfiles() {
	mkdir -p "$1/sub"
	k=1
	while [ $k -le "$2" ]; do
		head -c $((1500 + ($3 * 37 + k * 911) % 6000)) /dev/urandom >"$1/f$k"
		k=$((k + 1))
	done
	head -c $((700 + $3 * 13)) /dev/urandom >"$1/sub/g"
}
i=1
while [ $i -le 20 ]; do
	n=$(printf h%02d $i)
	mkfiles "srv-a/$n" 3 $i
	i=$((i + 1))
done
i=1
while [ $i -le 10 ]; do
	n=$(printf s%02d $i)
	head -c $((3000 + i * 517)) /dev/urandom >"srv-b/streams/$n"
	n=$(printf v%02d $i)
	mkfiles "srv-b/vols/$n" 2 $((i + 40))
	i=$((i + 1))
done
# Everything so far was written long before the first night.
find srv-a srv-b -exec touch -h -d "2027-02-20 12:00:00 UTC" {} +

# The discovery command lists srv-a's trees from a file the test changes
# between nights (and fails while FAIL-DISCOVERY exists).
cat >discover.sh <<EOF
#!/bin/sh
[ -e "$T/FAIL-DISCOVERY" ] && { echo "listing failed" >&2; exit 1; }
exec cat "$T/srv-a.list"
EOF
list_a() { ls srv-a | grep -v -x -F -f "$T/hidden" >"$T/srv-a.list" || true; }
# Entities h17..h20 appear on later nights; h05 vanishes on night 4.
printf 'h17\nh18\nh19\nh20\n' >hidden
list_a

# The vol type's commands: each records its call in calls.log. The
# snapshot copies the volume (a real point-in-time copy), the dump writes
# the snapshot's files (all, or those changed since a date) as a stream,
# the release removes the snapshot.
cat >snap.sh <<EOF
#!/bin/sh
echo "snapshot \$1 \$2" >>"$T/calls.log"
rm -rf "$T/snaps/\$1@\$2" && cp -a "$T/srv-b/vols/\$1" "$T/snaps/\$1@\$2"
EOF
cat >voldump.sh <<EOF
#!/bin/sh
# voldump.sh DIR [SINCE]: the files of DIR (those newer than SINCE), a line
# "path size" each, sorted, then their bytes in that order.
echo "dump \$*" >>"\${CALLS:-$T/calls.log}"
cd "\$1" || exit 1
list=\$(find . -type f \${2:+-newermt "\$2"} -printf '%p %s\n' | LC_ALL=C sort) || exit 1
[ -z "\$list" ] && exit 0
printf '%s\n' "\$list"
exec cat \$(printf '%s\n' "\$list" | cut -d' ' -f1)
EOF
cat >release.sh <<EOF
#!/bin/sh
echo "release \$1 \$2" >>"$T/calls.log"
rm -rf "$T/snaps/\$1@\$2"
EOF
chmod +x discover.sh snap.sh voldump.sh release.sh
: >calls.log

# abs-ctld and two media servers on one library (8 cartridges).
"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--exception-cmd "cat >>$T/exceptions.txt" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
until_ok() { poll_until "$1" || fail "timed out: $1"; }
until_ok '[ -S "$T/ctld.sock" ]'
"$VTAPE" new-library lib --slots 8 --drives 2 --capacity 64M --barcode-prefix N >/dev/null
for d in 0 1; do
	"$ENGINE" serve --control "$T/ctld.sock" --drive "d$d" \
		--device "vtape:$T/lib/drive$d" --log "$T/journal-d$d.log" --block-size 64K \
		2>"$T/engine-d$d.log" &
	PIDS="$PIDS $!"
done
until_ok '[ "$("$CTL" --json status | jq "[.drives[] | select(.state == \"idle\")] | length")" = 2 ]'
# abs-ctld's robot moves the library's cartridges: the drives share them.
"$CTL" library-add lib --changer "vtape:$T/lib" >/dev/null || fail "library-add"
"$CTL" library-drive lib d0 --element 0 >/dev/null || fail "library-drive d0"
"$CTL" library-drive lib d1 --element 1 >/dev/null || fail "library-drive d1"
until_ok '[ "$("$CTL" --json libraries | jq -r ".[0].last_inventory")" != null ]'
ok "abs-ctld and media servers d0, d1 on one library, its robot abs-ctld's"

# What a new site does first: servers and discovery, types and rules, tapes.
"$CTL" tape-add default N00001 N00002 N00003 N00004 N00005 N00006 N00007 N00008 >/dev/null
"$CTL" type-add home --full 3 --incr 1 >/dev/null
"$CTL" type-add stream --full 4 --incr 1 >/dev/null
"$CTL" type-add vol --full 3 --incr 1 >/dev/null
# What a new entity of each type is guessed at before its first full.
"$CTL" type-set home --estimate 32K >/dev/null
"$CTL" type-set stream --estimate 16K >/dev/null
"$CTL" type-set vol --estimate 32K >/dev/null
"$CTL" server-add srv-a --subnet lan1 >/dev/null
"$CTL" server-add srv-b --subnet lan1 --max-dumps 2 >/dev/null
"$CTL" discover-add srv-a --type home --cmd "sh $T/discover.sh" \
	--source-template "dir:$T/srv-a/{name}" >/dev/null
i=1
while [ $i -le 10 ]; do
	n=$(printf s%02d $i)
	"$CTL" entity-add "$n" "cmd:cat $T/srv-b/streams/$n" --type stream \
		--server srv-b >/dev/null
	i=$((i + 1))
done
# The vol type: snapshot, dump (full or incremental), release.
"$CTL" type-set vol --snapshot "sh $T/snap.sh {entity} {date}" \
	--dump "sh $T/voldump.sh $T/snaps/{entity}@{date}" \
	--incr "sh $T/voldump.sh $T/snaps/{entity}@{date} {since}" \
	--release "sh $T/release.sh {entity} {date}" >/dev/null
i=1
while [ $i -le 10 ]; do
	n=$(printf v%02d $i)
	"$CTL" entity-add "$n" "dir:$T/srv-b/vols/$n" --type vol --server srv-b >/dev/null
	i=$((i + 1))
done
ok "tapes, types, servers, discovery and entities set up"

# The nights. The changes of day N are dated noon of day N, the night's
# work starts at 20:00.
job_max() { sqlite3 "$T/catalog.db" "SELECT coalesce(max(id), 0) FROM jobs"; }
# change N: what users change during day N (N > 1), so incrementals hold
# something: a file rewritten and one added in a third of the trees, a
# stream grown in half.
change() {
	stamp="$(day "$1") 12:00:00 UTC"
	for d in srv-a/h* srv-b/vols/v*; do
		k=${d##*[hv]}
		k=${k#0}
		[ $(((k + $1) % 3)) = 0 ] || continue
		head -c $((900 + k * 31 + $1 * 7)) /dev/urandom >"$d/f1"
		head -c $((400 + k)) /dev/urandom >"$d/new$1"
		touch -d "$stamp" "$d/f1" "$d/new$1" "$d"
	done
	for f in srv-b/streams/s*; do
		k=${f##*s}
		k=${k#0}
		[ $(((k + $1) % 2)) = 0 ] || continue
		head -c $((200 + k * 11)) /dev/urandom >>"$f"
		touch -d "$stamp" "$f"
	done
}
# wait_jobs FROM: every job after FROM has ended (up to 10 minutes).
wait_jobs() {
	w_end=$(deadline 600)
	until [ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE id > $1 AND state IN ('queued','running')")" = 0 ]; do
		before "$w_end" || { "$CTL" jobs >&2; fail "jobs after $1 did not end"; }
		sleep 0.2
	done
}
# night_real N: the night as a site runs it. Discovery first (abs-cron's
# run discovers too; running it before lets the plan taken before the run
# be the run's plan), the plan, then abs-cron twice: the second start,
# while the first runs and again after it ended, does nothing and says so.
night_real() {
	if [ -e FAIL-DISCOVERY ]; then
		# A listing that fails changes nothing: h12, gone from it
		# tonight, is not taken for vanished, and the night runs.
		expect_fail "FAILED srv-a" "$CTL" discover
		[ -z "$(sqlite3 "$T/catalog.db" "SELECT vanished FROM entities WHERE name = 'h12'")" ] ||
			fail "night $1: a failed listing flagged h12 vanished"
	else
		"$CTL" --json discover >"disc-$1.json" || { cat "disc-$1.json" >&2; fail "night $1: discover failed"; }
	fi
	"$CTL" --json plan --drives d0,d1 >"plan-$1.json" || { cat "plan-$1.json" >&2; fail "night $1: plan failed"; }
	jq -r '.entities[] | select(.dump) | "\(.entity) \(.level)"' "plan-$1.json" |
		LC_ALL=C sort -u >"planned-$1.txt"
	[ -s "planned-$1.txt" ] || { cat "plan-$1.json" >&2; fail "night $1: an empty plan"; }
	jmax=$(job_max)
	"$CRON" --drives d0,d1 >"cron-$1.out" 2>&1 &
	cpid=$!
	until_ok "[ \"\$(sqlite3 \"$T/catalog.db\" \"SELECT count(*) FROM runs WHERE state = 'running'\")\" -gt 0 ] || ! kill -0 $cpid 2>/dev/null"
	rc=0
	"$CRON" --drives d0,d1 >"cron2-$1.out" 2>&1 || rc=$?
	[ $rc = 0 ] || { cat "cron2-$1.out" >&2; fail "night $1: the second abs-cron exited $rc"; }
	[ -s "cron2-$1.out" ] || fail "night $1: the second abs-cron said nothing"
	rc=0
	wait $cpid || rc=$?
	[ $rc = 0 ] || { cat "cron-$1.out" >&2; "$CTL" jobs >&2; fail "night $1: abs-cron exited $rc"; }
	after=$(job_max)
	"$CRON" --drives d0,d1 >"cron3-$1.out" 2>&1 || { cat "cron3-$1.out" >&2; fail "night $1: abs-cron after the run failed"; }
	[ -s "cron3-$1.out" ] || fail "night $1: abs-cron after the run said nothing"
	[ "$(job_max)" = "$after" ] || fail "night $1: abs-cron after the run queued jobs"
	# A start after the night's run makes no run of its own.
	[ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM runs WHERE night = '$(day "$1")'")" = 1 ] ||
		fail "night $1: more than one run for the night"
	# Exactly the plan: the run's jobs are the planned entities and levels.
	sqlite3 -separator ' ' "$T/catalog.db" "SELECT e.name, j.level FROM jobs j JOIN entities e ON e.id = j.entity_id WHERE j.id > $jmax AND j.kind = 'dump'" |
		LC_ALL=C sort -u >"ran-$1.txt"
	diff "planned-$1.txt" "ran-$1.txt" >&2 || fail "night $1: the run did not run its plan"
}
# check_night N BEFORE NEW VANISHED: the night's dumps against what the
# test knows: every new entity got a full, no vanished one was dumped,
# each vol dump ran between its snapshot and its release.
check_night() {
	# Every date follows the injected clock: the dumps started tonight.
	bad=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM dumps d JOIN jobs j ON j.id = d.job_id WHERE j.id > $2 AND (d.started NOT LIKE '$(day "$1")T2%' OR d.finished NOT LIKE '$(day "$1")T2%' OR j.created NOT LIKE '$(day "$1")T2%')")
	[ "$bad" = 0 ] || { sqlite3 "$T/catalog.db" "SELECT d.started, d.finished, j.created FROM dumps d JOIN jobs j ON j.id = d.job_id WHERE j.id > $2" >&2; fail "night $1: $bad dumps not dated by the injected clock"; }
	sqlite3 -separator ' ' "$T/catalog.db" "SELECT e.name, d.level FROM dumps d JOIN jobs j ON j.id = d.job_id JOIN entities e ON e.id = d.entity_id WHERE j.id > $2 AND d.state = 'complete'" |
		LC_ALL=C sort >"dumped-$1.txt"
	for e in $3; do
		grep -qx "$e 0" "dumped-$1.txt" || fail "night $1: new entity $e got no full ($(grep "^$e " "dumped-$1.txt"))"
	done
	for e in $4; do
		! grep -q "^$e " "dumped-$1.txt" || fail "night $1: vanished entity $e was dumped"
	done
	nv=$(grep -c '^v' "dumped-$1.txt" || true)
	tail -n +$(($5 + 1)) calls.log >"calls-$1.txt"
	for k in snapshot dump release; do
		[ "$(grep -c "^$k " "calls-$1.txt" || true)" = "$nv" ] ||
			{ cat "calls-$1.txt" >&2; fail "night $1: $nv vol dumps, $(grep -c "^$k " "calls-$1.txt") ${k}s"; }
	done
	# Per volume: snapshot, then the dump reading it, then release.
	for v in $(sed -n 's/^\(v[0-9]*\) .*/\1/p' "dumped-$1.txt"); do
		grep -e "^snapshot $v " -e "^dump $T/snaps/$v@" -e "^release $v " "calls-$1.txt" |
			cut -d' ' -f1 | tr '\n' ' ' | grep -qx 'snapshot dump release ' ||
			{ cat "calls-$1.txt" >&2; fail "night $1: $v's commands out of order"; }
	done
	[ -z "$(ls snaps)" ] || fail "night $1: snapshots left: $(ls snaps)"
	if [ -e FAIL-DISCOVERY ]; then
		grep -q "^h12 " "dumped-$1.txt" || fail "night $1: h12 was not dumped after a failed listing"
		[ -z "$(sqlite3 "$T/catalog.db" "SELECT vanished FROM entities WHERE name = 'h12'")" ] ||
			fail "night $1: the run's failed listing flagged h12 vanished"
		grep -q "discover.sh" exceptions.txt || fail "night $1: the failed listing is no exception"
	fi
	"$CTL" --json report --night "$(day "$1")" >"report-$1.json" ||
		{ cat "report-$1.json" >&2; fail "night $1: report failed"; }
	check_report "$1" "$2" "$3" "$4"
}
# check_report N BEFORE NEW VANISHED: the nightly report agrees with the
# catalog: each dump (entity, level, bytes, tapes), the new and vanished.
check_report() {
	sqlite3 -separator ' ' "$T/catalog.db" "SELECT e.name, d.level, d.bytes, (SELECT group_concat(lf, ',') FROM (SELECT t.label || ':' || p.file AS lf FROM dump_parts p JOIN tapes t ON t.id = p.tape_id WHERE p.dump_id = d.id ORDER BY p.part)) FROM dumps d JOIN jobs j ON j.id = d.job_id JOIN entities e ON e.id = d.entity_id WHERE j.id > $2 AND d.state = 'complete'" |
		LC_ALL=C sort >"cat-$1.txt"
	jq -r '.dumped[] | "\(.entity) \(.level) \(.bytes) \(if (.tapes | type) == "array" then [.tapes[] | if type == "object" then .label else . end] | join(",") else .tapes end)"' \
		"report-$1.json" | LC_ALL=C sort >"rep-$1.txt"
	diff "cat-$1.txt" "rep-$1.txt" >&2 || fail "night $1: the report's dumps are not the catalog's"
	jq -r '.new[] | if type == "object" then .entity // .name else . end' "report-$1.json" |
		LC_ALL=C sort >"rep-new-$1.txt"
	echo "$3" | tr ' ' '\n' | grep . | LC_ALL=C sort >"want-new-$1.txt" || true
	# (entities added by hand on night 1 are new too, if the report says so)
	for e in $(grep -vx -F -f "rep-new-$1.txt" "want-new-$1.txt" | grep '^h' || true); do
		fail "night $1: the report lacks new entity $e"
	done
	for e in $4; do
		jq -e --arg e "$e" '.vanished[] | select((if type == "object" then .entity // .name else . end) == $e)' \
			"report-$1.json" >/dev/null || fail "night $1: the report does not name vanished $e"
	done
}
: >dumps.txt
vanished=""
n=1
while [ $n -le $NIGHTS ]; do
	[ $n = 1 ] || change $n
	new=""
	case $n in
	1) new="h01 h02 h03 h04 h05 h06 h07 h08 h09 h10 h11 h12 h13 h14 h15 h16"
	   new="$new s01 s02 s03 s04 s05 s06 s07 s08 s09 s10"
	   new="$new v01 v02 v03 v04 v05 v06 v07 v08 v09 v10" ;;
	3) sed -i '/^h1[78]$/d' hidden; new="h17 h18" ;;	# two new trees
	4) echo h05 >>hidden; vanished="h05" ;;		# one gone
	5) sed -i '/^h19$/d' hidden; new="h19" ;;
	6) echo h11 >>hidden; vanished="h05 h11" ;;
	7) echo h12 >>hidden; touch FAIL-DISCOVERY ;;	# a listing that fails
	esac
	calls=$(wc -l <calls.log)
	list_a
	set_clock "$(day $n)T20:00:00Z"
	mkdir "keep/n$n"
	cp -a srv-a srv-b "keep/n$n/"
	before=$(job_max)
	night_real $n
	wait_jobs "$before"
	check_night $n "$before" "$new" "$vanished" "$calls"
	sqlite3 -separator ' ' "$T/catalog.db" "SELECT $n, d.id FROM dumps d JOIN jobs j ON j.id = d.job_id WHERE j.id > $before" >>dumps.txt
	failed=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE id > $before AND state != 'done'")
	[ "$failed" = 0 ] || { "$CTL" jobs; fail "night $n: $failed jobs did not end done"; }
	ok "night $n: $(grep -c "^$n " dumps.txt) dumps"
	n=$((n + 1))
done

# Every dump restores byte for byte: each one on its own (--date: its
# start, --level-only: that dump, not its chain), through the media servers; a full is compared with its night's
# copy (every entry's type, mode, owner, size, mtime and bytes), a
# directory incremental with the files changed since its base, a stream
# with its night's stream (vol: the snapshot's, or what changed in it).
mkdir r
sqlite3 -separator ' ' "$T/catalog.db" "SELECT d.id, e.name, d.level, coalesce(d.since, '-'), coalesce(strftime('%s', d.since), 0), d.started, min(t.id), max(t.id) FROM dumps d JOIN entities e ON e.id = d.entity_id JOIN dump_parts p ON p.dump_id = d.id JOIN tapes t ON t.id = p.tape_id WHERE d.state = 'complete' GROUP BY d.id ORDER BY d.id" >restores.txt
[ "$(wc -l <restores.txt)" = "$(wc -l <dumps.txt)" ] || fail "$(wc -l <restores.txt) complete dumps, $(wc -l <dumps.txt) dumped"
# Each dump alone: the drives share the library's cartridges (abs-ctld's
# robot moves them, from one drive to the other too); a cartridge is read
# by one drive here (odd tapes d1, even d0: a move per cartridge at
# most), the chains below go to either.
before=$(job_max)
while read -r id name level since epoch started t1 t2; do
	echo "restore $name --date $started --level-only --to $T/r/$id --drive d$((t1 % 2))"
done <restores.txt >restores.cmd
"$CTL" batch restores.cmd >/dev/null || fail "restores refused"
wait_jobs "$before"
failed=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE id > $before AND state != 'done'")
[ "$failed" = 0 ] || { "$CTL" jobs; fail "$failed restores failed"; }
[ "$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE id > $before")" = "$(wc -l <restores.txt)" ] ||
	fail "not one restore job per dump"
# manifest DIR: every entry under DIR, "path|type|mode|uid|gid|size|mtime|
# link|sha256" (a directory's size depends on its history: left out).
manifest() {
	(cd "$1" && find . -type f -exec sha256sum {} + | sed 's/^\([0-9a-f]*\)  /\1|/') >digests.tmp
	(cd "$1" && find . -printf '%p|%y|%m|%U|%G|%s|%Ts|%l\n') |
		awk -F'|' 'NR == FNR { d[substr($0, 66)] = $1; next }
			{ if ($2 == "d") $6 = "-"; print $1 "|" $2 "|" $3 "|" $4 "|" $5 "|" $6 "|" $7 "|" $8 "|" d[$1] }' \
			digests.tmp - | LC_ALL=C sort
}
manifest keep >keep.man
manifest r >r.man
# Each dump's night, and where its night's copy is.
awk 'NR == FNR { night[$2] = $1; next }
	{ n = night[$1]
	  if ($2 ~ /^h/) src = "./n" n "/srv-a/" $2
	  else if ($2 ~ /^s/) src = "./n" n "/srv-b/streams/" $2
	  else src = "./n" n "/srv-b/vols/" $2
	  print $1, $2, $3, $5, $4, src }' dumps.txt restores.txt >expect.txt
# The directory dumps.
awk -F'|' '
	FILENAME == ARGV[1] { split($0, w, " ")
		if (w[2] !~ /^h/) next
		want[w[6]] = want[w[6]] " " w[1]; lvl[w[1]] = w[3]; since[w[1]] = w[4]; name[w[1]] = w[2]; next }
	FILENAME == ARGV[2] { # keep: ./nN/srv-a/NAME/... or ./nN/srv-b/vols/NAME/...
		k = split($1, c, "/"); root = c[1] "/" c[2] "/" c[3] "/" c[4]; first = 5
		if (c[3] == "srv-b") { root = root "/" c[5]; first = 6 }
		if (!(root in want)) next
		rel = "."
		for (i = first; i <= k; i++) rel = rel "/" c[i]
		rest = $2; for (i = 3; i <= NF; i++) rest = rest "|" $i
		m = split(want[root], ids, " ")
		for (j = 1; j <= m; j++) {
			id = ids[j]
			if (lvl[id] > 0 && ($2 != "f" || $7 <= since[id])) continue
			ex[id "|" rel] = rest
		}
		next }
	{ k = split($1, c, "/"); id = c[2]
		if (!(id in lvl)) next
		rel = "."; for (i = 3; i <= k; i++) rel = rel "/" c[i]
		if (lvl[id] > 0 && $2 != "f") next
		rest = $2; for (i = 3; i <= NF; i++) rest = rest "|" $i
		key = id "|" rel
		if (!(key in ex)) { print "dump " id " (" name[id] " level " lvl[id] ") has " rel " that its night did not change"; bad++ }
		else if (ex[key] != rest) { print "dump " id " (" name[id] " level " lvl[id] ") " rel ": " rest " is not " ex[key]; bad++ }
		else if (lvl[id] > 0) small[id]++
		delete ex[key] }
	END { for (key in ex) { split(key, x, "|"); print "dump " x[1] " (" name[x[1]] " level " lvl[x[1]] ") lacks " x[2]; bad++ }
		n = 0; for (id in small) n++
		print n >"incr-with-files.txt"
		exit (bad > 0) }' expect.txt keep.man r.man >&2 || fail "restored trees differ from their nights"
# Streams: the restored file is the night's stream; vol's is its
# snapshot's stream, all of it for a full, what changed since the base
# for an incremental.
awk -F'|' 'FILENAME == ARGV[1] { split($0, w, " "); if (w[2] ~ /^s/) want["./" w[1]] = w[6]; next }
	FILENAME == ARGV[2] { d[$1] = $9; next }
	($1 in want) { n++
		if ($9 == "" || d[want[$1]] != $9) { print "dump " substr($1, 3) " is not the stream of " want[$1]; bad++ } }
	END { exit (bad > 0 || n == 0) }' expect.txt keep.man r.man >&2 ||
	fail "restored streams differ from their nights'"
while read -r id name level epoch since src; do
	case $name in v*) ;; *) continue ;; esac
	if [ "$level" = 0 ]; then
		CALLS=/dev/null sh voldump.sh "$T/keep/${src#./}"
	else
		CALLS=/dev/null sh voldump.sh "$T/keep/${src#./}" "$since"
	fi | cmp -s - "r/$id" || fail "$name (dump $id, level $level) differs from its snapshot's stream"
done <expect.txt
ok "$(wc -l <restores.txt) dumps restored byte for byte ($(cat incr-with-files.txt) directory incrementals with files in them)"

# Whole chains: each directory entity's newest dump restored as its
# chain (the full, then each incremental, reading their cartridges from
# either drive as the robot brings them), compared entry for entry with
# its night's tree.
before=$(job_max)
mkdir rc
sqlite3 -separator ' ' "$T/catalog.db" "SELECT e.name, d.started, d.id FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE d.state = 'complete' AND e.name LIKE 'h%' AND d.started = (SELECT max(d2.started) FROM dumps d2 WHERE d2.entity_id = d.entity_id AND d2.state = 'complete') ORDER BY e.name" >chains.txt
[ -s chains.txt ] || fail "no directory dumps to restore as chains"
k=0
while read -r name started id; do
	echo "restore $name --date $started --to $T/rc/$name --drive d$((k % 2))"
	k=$((k + 1))
done <chains.txt >chains.cmd
"$CTL" batch chains.cmd >/dev/null || fail "chain restores refused"
wait_jobs "$before"
failed=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM jobs WHERE id > $before AND state != 'done'")
[ "$failed" = 0 ] || { "$CTL" jobs; fail "$failed chain restores failed"; }
levels=0
while read -r name started id; do
	n=$(awk -v id="$id" '$2 == id { print $1 }' dumps.txt)
	[ -n "$n" ] || fail "dump $id of $name: no night"
	manifest "keep/n$n/srv-a/$name" >want.man
	manifest "rc/$name" >got.man
	diff want.man got.man >&2 || fail "$name's chain (dump $id, night $n) differs from its night's tree"
	levels=$((levels + $(sqlite3 "$T/catalog.db" "SELECT level FROM dumps WHERE id = $id")))
done <chains.txt
grep -q "unavailable" exceptions.txt 2>/dev/null && fail "an unavailable cartridge: $(grep unavailable exceptions.txt)"
moves=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM moves WHERE state = 'done'")
ok "$(wc -l <chains.txt) directory entities restored as whole chains (levels summing to $levels), $moves robot moves in all, no cartridge unavailable"
