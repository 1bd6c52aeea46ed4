# Crippled mode (abs-ctld without its catalog) and back, end to end. The
# same sequence of dumps runs twice on fresh vtapes, once with the catalog
# all along (run "normal") and once with a crippled interval (run
# "crippled": abs-ctld restarted with --crippled, killed -9 and restarted
# inside the interval, then restarted on its catalog and the journal
# merged with a label map). The query outputs of both runs must be equal
# after normalizing only what differs between any two runs: dates, the
# random tape IDs, and how many blocks a spot verification sampled. On the way: an ABS-labelled tape is refused as unknown
# media and a blank one labelled with a generated label, job IDs and the
# active-tapes file survive a restart, the queries crippled mode answers.
# Then the automatic fallback: a corrupt catalog, a read-only catalog, a
# catalog locked while abs-ctld runs, its disk full; the listing command
# for partition and server dumps; a library drive (blank cartridges taken
# by barcode); the label prompt of merge on a terminal; a media server
# moved to a crippled master mid-dump, its job adopted and aborted there.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T"
chmod 755 "$T"
head -c 3000000 /dev/urandom >d1.bin
head -c 2000000 /dev/urandom >d2.bin
head -c 1000000 /dev/urandom >d3.bin

# until_ok CONDITION [SECS]: wait (WAIT_SECS unless SECS) until it holds.
until_ok() {
	poll_until "$1" "${2:-}" ||
		{ [ -n "${R:-}" ] && { tail -n 20 "$T/$R/ctld.log" "$T/$R/engine.log" >&2 || true; }; fail "timed out: $1"; }
}
ctl() { "$CTL" --socket "$T/$R/ctld.sock" "$@"; }

# start_ctld [ARGS...]: abs-ctld of run $R on its socket, catalog, journal.
# --commit-every 1: each dump its own commit point and read back, as in
# crippled mode, so that the two runs' answers compare (spot checks).
start_ctld() {
	"$CTLD" --socket "$T/$R/ctld.sock" --db "$T/$R/catalog.db" \
		--journal "$T/$R/journal" --foreground --commit-every 1 "$@" \
		2>>"$T/$R/ctld.log" &
	CPID=$!
	PIDS="$PIDS $CPID"
	until_ok 'ctl whoami >/dev/null 2>&1'
}
# stop_ctld [SIGNAL]: abs-ctld goes (its media server stays and comes
# back to the next one by itself).
stop_ctld() {
	kill "-${1:-TERM}" "$CPID"
	wait "$CPID" 2>/dev/null || true
}
stop_engine() {
	[ -z "${EPID:-}" ] || { kill "$EPID" 2>/dev/null; wait "$EPID" 2>/dev/null || true; }
	EPID=
}
# The media server registered again (it retries with a backoff).
engine_back() {
	until_ok 'ctl --json status | grep -q "\"drive\":\"man0\",[^}]*\"state\":\"idle\""'
}
start_engine() {
	"$ENGINE" serve --control "$T/$R/ctld.sock" --drive man0 \
		--device "vtape:$T/$R/manual" --log "$T/$R/engine-journal.log" \
		2>>"$T/$R/engine.log" &
	EPID=$!
	PIDS="$PIDS $EPID"
	until_ok 'ctl --json status | grep -q "\"drive\":\"man0\",[^}]*\"state\":\"idle\""'
}
# mount SLOT: the operator puts the cartridge of SLOT in the drive.
mount() {
	"$VTAPE" unload "$T/$R/man" --drive 0 >/dev/null 2>&1 || true
	"$VTAPE" load "$T/$R/man" --slot "$1" --drive 0
	ctl mounted man0 >/dev/null
}
job_state() { ctl --json jobs | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
# dump ENTITY WANTS SLOT [ARGS]: a dump job asking for WANTS, the cartridge
# of SLOT mounted (after a foreign one when REFUSE is set); the job's ID.
dump() {
	e=$1 want=$2 slot=$3
	shift 3
	JOB=$(ctl --json dump man0 "$e" "$@" | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
	[ -n "$JOB" ] || fail "$R: no job for $e"
	until_ok "ctl --json status | grep -q '\"wants\":\"$want\"'"
	if [ -n "${REFUSE:-}" ]; then
		mount 4	# labelled FOREIGN1 by another ABS: unknown media
		until_ok "ctl status | grep -q 'cartridge refused'"
		REFUSED=$(ctl status | grep 'cartridge refused' | tail -n1)
	fi
	mount "$slot"
	until_ok "case \$(job_state $JOB) in done|failed|aborted) true;; *) false;; esac"
	[ "$(job_state "$JOB")" = done ] || { tail "$T/$R/engine.log"; fail "$R: job $JOB ($e): $(job_state "$JOB")"; }
}

# run NAME CRIPPLED: the sequence; the catalog's answers in NAME/q-*.json.
run() {
	R=$1
	mkdir "$T/$R"
	"$VTAPE" new-library "$T/$R/man" --slots 4 --drives 1 --capacity 64M >/dev/null
	"$VTAPE" load "$T/$R/man" --slot 4 --drive 0
	"$ENGINE" label --device "vtape:$T/$R/man/drive0" --label FOREIGN1 >/dev/null
	"$VTAPE" unload "$T/$R/man" --drive 0
	ln -s man/drive0 "$T/$R/manual"
	start_ctld
	ctl tape-add default A00001 A00002 A00003 >/dev/null
	for e in 1 2 3; do ctl entity-add "e$e" "cmd:cat $T/d$e.bin" >/dev/null; done
	start_engine
	ctl unavailable A00003 >/dev/null	# an error event
	dump e1 A00001 1
	ctl tape-state A00001 no-new-writes >/dev/null
	if [ "$2" = 1 ]; then
		stop_ctld TERM
		start_ctld --crippled
		engine_back
		ctl status | grep -q "CRIPPLED MODE" || fail "status does not say crippled"
		REFUSE=1 dump e2 CR00001 2
		case $REFUSED in *"unknown media"*) ;; *) fail "the ABS-labelled tape was not refused as unknown media: $REFUSED" ;; esac
		ok "crippled: FOREIGN1 refused ($REFUSED)"
		[ "$JOB" -gt 1000000000 ] || fail "crippled job ID $JOB is not above 10^9"
		grep -q '^CR00001 [0-9a-f]\{32\} appendable default ' "$T/$R/journal/active-tapes" ||
			fail "CR00001 not in the active-tapes file: $(cat "$T/$R/journal/active-tapes")"
		grep -q '^part .*entity=e2 .*label=CR00001 ' "$T/$R/journal/dumplog" || fail "no part of e2 in the crippled dump log"
		grep -q '^dump .*entity=e2 .*status=complete' "$T/$R/journal/dumplog" || fail "no complete dump of e2 in the crippled dump log"
		ok "crippled: a blank tape labelled CR00001, job $JOB, dump log written"
		first=$JOB
		stop_ctld KILL
		# A record cut by a crash, and a second abs-ctld on the journal.
		printf '{"rec":"job","id":1000000099,"ki' >>"$T/$R/journal/journal"
		start_ctld --crippled
		expect_fail "in use by another abs-ctld" "$CTLD" --socket "$T/$R/second.sock" \
			--db "$T/$R/catalog.db" --journal "$T/$R/journal" --crippled --foreground
		engine_back
		dump e3 CR00001 2
		[ "$JOB" -gt "$first" ] || fail "job ID $JOB after a restart reuses $first"
		ctl --json jobs | grep -q "\"id\":$first,\"kind\":\"dump\",\"state\":\"done\"" || fail "job $first forgotten: $(ctl --json jobs)"
		ok "crippled after kill -9: job $JOB follows $first, CR00001 appended (active-tapes kept)"
		ctl --json tapes-for e2 | grep -q '"label":"CR00001"' || fail "tapes-for e2 in crippled mode: $(ctl --json tapes-for e2)"
		expect_fail "not available in crippled mode" ctl tape A00001
		rc=0; ctl entity e1 >/dev/null 2>&1 || rc=$?
		[ $rc = 1 ] || fail "a refused query exits $rc, not 1"
		ok "crippled queries: jobs, status, tapes-for; the others refused"
		stop_ctld TERM
		start_ctld
		# Nobody confirmed CR00001 yet: a media server's report waits.
		ctl --json merge "$T/$R/engine-journal.log" >held.json
		grep -q '"parts":0,' held.json && grep -q '"held_for_labels":[1-9]' held.json ||
			fail "a media server's journal brought CR00001 in before its label was confirmed: $(cat held.json)"
		expect_fail "physical label" ctl merge "$T/$R/journal" </dev/null
		# On a terminal abs-ctl asks for each label (a bad answer is
		# asked again); tried here on a fresh catalog of its own.
		if command -v script >/dev/null; then
			"$CTLD" --socket "$T/$R/fresh.sock" --db "$T/$R/fresh.db" --journal "$T/$R/fresh-journal" \
				--foreground 2>>"$T/$R/fresh.log" &
			FPID=$!
			PIDS="$PIDS $FPID"
			until_ok '"$CTL" --socket "$T/$R/fresh.sock" whoami >/dev/null 2>&1'
			printf 'bad|label\nA00002\n' | script -qec "'$CTL' --socket '$T/$R/fresh.sock' --json merge '$T/$R/journal'" /dev/null >prompt.out 2>&1 ||
				fail "the interactive merge failed: $(cat prompt.out)"
			grep -q "tape CR00001 (ID [0-9a-f]*, appendable, written in crippled mode): its physical label \[CR00001\]?" prompt.out ||
				fail "no label prompt: $(cat prompt.out)"
			grep -q "a label is 1-63 characters" prompt.out || fail "a bad answer was taken: $(cat prompt.out)"
			grep -q '"parts":2,"dumps":2' prompt.out || fail "the interactive merge: $(cat prompt.out)"
			"$CTL" --socket "$T/$R/fresh.sock" --json tapes-for e2 | grep -q '"label":"A00002"' ||
				fail "the answer A00002 is not the tape's label in the catalog"
			kill "$FPID"
			wait "$FPID" 2>/dev/null || true
			ok "merge on a terminal: the label asked, a bad answer asked again, A00002 taken"
		else
			echo "note: no script(1): the label prompt is not tried"
		fi
		echo "CR00001 A00002" >"$T/$R/labels.map"
		ctl --json merge --label-map "$T/$R/labels.map" "$T/$R/journal" >merge.json ||
			fail "merge of the journal: $(cat merge.json)"
		grep -q '"parts":2,"dumps":2,"tapes_added":0' merge.json || fail "merge: $(cat merge.json)"
		# Merged dumps keep their job: the journal's ID, with its site.
		site=$(cat "$T/$R/journal/site")
		ctl --json jobs --count 100 | grep -q "\"origin\":\"$site:$first\"" ||
			fail "crippled job $first is not in jobs as $site:$first: $(ctl --json jobs)"
		ctl --json entity e2 | grep -q "\"job_origin\":\"$site:$first\"" ||
			fail "entity e2 does not name job $site:$first: $(ctl --json entity e2)"
		njobs=$(ctl --json jobs --count 1000 | tr '{' '\n' | grep -c '"id":')
		ctl --json merge --label-map "$T/$R/labels.map" "$T/$R/journal" >merge2.json
		grep -q '"parts":0,"dumps":0,"tapes_added":0' merge2.json || fail "merging again changed the catalog: $(cat merge2.json)"
		[ "$(ctl --json jobs --count 1000 | tr '{' '\n' | grep -c '"id":')" = "$njobs" ] ||
			fail "merging again added jobs"
		ok "merged dumps keep their job: $site:$first in jobs and entity, once"
		grep -q '^CR00001 .* merged ' "$T/$R/journal/active-tapes" || fail "CR00001 not marked merged"
		ok "back to normal: journal merged, CR00001 is A00002"
		engine_back
	else
		REFUSE=1 dump e2 A00002 2
		dump e3 A00002 2
	fi
	dump e1 A00002 2 --level 1	# the tape crippled mode labelled, by its tape ID
	for q in "entity e1" "entity e2" "entity e3" "tape A00001" "tape A00002" \
		"tape A00003" "tapes-for e1" "tapes-for e2" "tapes-for e3" "errors" \
		"next-tapes"; do
		# shellcheck disable=SC2086
		ctl --json $q >"$T/$R/q-$(echo "$q" | tr ' ' '-').json" || fail "$R: $q"
	done
	stop_ctld TERM
	stop_engine
}

run normal 0
run crippled 1

# What differs between any two runs: dates (now), tape and dump IDs
# (random; an entity shows its chains by dump ID), the number of blocks a
# spot verification read (a random sample), and job IDs (a job of the
# crippled interval keeps its journal's ID as its origin).
normalize() {
	sed -e 's/"[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:]\{8\}Z"/"DATE"/g' \
		-e 's/"\(dump\|full\|base\)":"[0-9a-f]\{32\}"/"\1":"UID"/g' \
		-e 's/"day":"[0-9-]*"/"day":"DAY"/g' \
		-e 's/"tape_id":"[0-9a-f]*"/"tape_id":"ID"/g' \
		-e 's/"checked":[0-9]*/"checked":"N"/g' \
		-e 's/"job":[0-9]*/"job":"N"/g' \
		-e 's/"job_origin":\("[0-9a-f]*:[0-9]*"\|null\)/"job_origin":"O"/g' "$1"
}
n=0
for f in normal/q-*.json; do
	q=${f#normal/}
	normalize "$f" >a.json
	normalize "crippled/$q" >b.json
	cmp -s a.json b.json || { diff a.json b.json >&2; fail "${q%.json} differs after the crippled interval"; }
	n=$((n + 1))
done
[ $n = 11 ] || fail "$n queries compared"
grep -q '"dumps":2' normal/q-entity-e1.json || fail "e1 should have two dumps: $(cat normal/q-entity-e1.json)"
grep -q '"label":"A00002"' crippled/q-tapes-for-e2.json || fail "e2 not on A00002"
ok "entity, tape, tapes-for, errors, next-tapes: $n answers equal with and without the crippled interval"

# Partition and server dumps, now: the listing command, in both modes.
cat >lister.sh <<'LISTER'
#!/bin/sh
case "$1:${2:-}" in
srv1:/vicepa) printf 'e1\n# a comment\ne2\ne1\n' ;;
srv1:) printf 'e1\ne2\ne3 cmd:cat %s/d3.bin\nnew.one\n' "$(dirname "$0")" ;;
srv2:bad) echo 'bad name with blanks'; echo 'x cp:/etc' ;;
*) echo "no such server $1" >&2; exit 3 ;;
esac
LISTER
chmod 755 lister.sh
# jobs_done SLOT JOB...: each job asks for a cartridge; SLOT's goes in.
jobs_done() {
	slot=$1
	shift
	for j in "$@"; do
		until_ok "ctl --json status | grep -q '\"job\":$j,[^}]*\"wants\":\"[A-Z0-9]*[0-9]\"'"
		mount "$slot"
		until_ok "case \$(job_state $j) in done|failed|aborted) true;; *) false;; esac"
		[ "$(job_state "$j")" = done ] || fail "$R: listed job $j: $(job_state "$j")"
	done
}
R=normal
start_ctld --list-cmd "$T/lister.sh"
start_engine
ctl --json dump man0 --partition srv1:/vicepa >listed.json || fail "dump-partition: $(cat listed.json)"
grep -q '"entities":\["e1","e2"\],"skipped":\[\]' listed.json || fail "dump-partition: $(cat listed.json)"
# shellcheck disable=SC2046
jobs_done 2 $(sed -n 's/.*"jobs":\[\([0-9,]*\)\].*/\1/p' listed.json | tr ',' ' ')
ctl --json dump-server man0 srv1 >listed.json || fail "dump-server: $(cat listed.json)"
grep -q '"skipped":\["e3","new.one"\]\|"skipped":\["new.one"\]' listed.json || fail "dump-server: $(cat listed.json)"
# shellcheck disable=SC2046
jobs_done 2 $(sed -n 's/.*"jobs":\[\([0-9,]*\)\].*/\1/p' listed.json | tr ',' ' ')
expect_fail "exit 3.*no such server srv9" ctl dump-server man0 srv9
expect_fail "line 1 is not" ctl dump-partition man0 srv2:bad
expect_fail "SERVER:PARTITION" ctl dump-partition man0 srv1
ok "normal mode: dump-partition and dump-server through the listing command"
stop_ctld TERM
stop_engine
R=crippled
start_ctld --crippled --list-cmd "$T/lister.sh"
start_engine
ctl --json dump-server man0 srv1 >listed.json || fail "crippled dump-server: $(cat listed.json)"
grep -q '"entities":\["e1","e2","e3","new.one"\],"skipped":\["new.one"\]' listed.json ||
	fail "crippled dump-server: $(cat listed.json)"
# shellcheck disable=SC2046
jobs_done 3 $(sed -n 's/.*"jobs":\[\([0-9,]*\)\].*/\1/p' listed.json | tr ',' ' ')
grep -q '^CR00002 [0-9a-f]* appendable ' "$T/$R/journal/active-tapes" ||
	fail "crippled mode did not label the next blank CR00002: $(cat "$T/$R/journal/active-tapes")"
ok "crippled mode: dump-server from the cached catalog, CR00001 (merged) never offered again"
stop_ctld TERM
stop_engine

# Automatic fallback at start: a corrupt catalog file.
R=corrupt
mkdir -p "$T/$R/journal"
head -c 65536 /dev/urandom >"$T/$R/catalog.db"
cp normal/journal/catalog-cache.json "$T/$R/journal/"
start_ctld
ctl status | grep -q "CRIPPLED MODE" || fail "a corrupt catalog did not start crippled mode"
grep -q "CRIPPLED MODE" "$T/$R/ctld.log" || fail "crippled mode was not logged"
expect_fail "not available in crippled mode" ctl next-tapes
ok "a corrupt catalog: crippled mode, said loudly"
# A library drive cannot load a generated label: crippled mode takes a
# blank cartridge of the library by its barcode and labels it with it;
# an ABS-labelled one (slot 1) is refused as unknown media on the way.
"$VTAPE" new-library "$T/$R/lib" --slots 3 --drives 1 --capacity 64M --barcode-prefix B >/dev/null
"$VTAPE" load "$T/$R/lib" --slot 1 --drive 0
"$ENGINE" label --device "vtape:$T/$R/lib/drive0" --label B00001 >/dev/null
"$VTAPE" unload "$T/$R/lib" --drive 0
"$ENGINE" serve --control "$T/$R/ctld.sock" --drive man0 --device "vtape:$T/$R/lib/drive0" \
	--log "$T/$R/engine-journal.log" 2>>"$T/$R/engine.log" &
EPID=$!
PIDS="$PIDS $EPID"
until_ok 'ctl --json status | grep -q "\"drive\":\"man0\",[^}]*\"state\":\"idle\""'
for e in e1 e2; do
	JOB=$(ctl --json dump man0 $e | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
	until_ok "case \$(job_state $JOB) in done|failed|aborted) true;; *) false;; esac"
	[ "$(job_state "$JOB")" = done ] || { tail "$T/$R/engine.log"; fail "a crippled dump of $e on a library drive: $(job_state "$JOB")"; }
done
grep -q '^B00002 [0-9a-f]\{32\} appendable default [^ ]* barcode$' "$T/$R/journal/active-tapes" ||
	fail "B00002 is not an active tape labelled by its barcode: $(cat "$T/$R/journal/active-tapes")"
! grep -q '^CR\|^B00001 \|^B00003 ' "$T/$R/journal/active-tapes" ||
	fail "labels spent or refused cartridges taken: $(cat "$T/$R/journal/active-tapes")"
[ "$(grep -c '^part .*label=B00002 ' "$T/$R/journal/dumplog")" = 2 ] ||
	fail "the two dumps are not both on B00002: $(cat "$T/$R/journal/dumplog")"
grep -q "unknown media\|cartridge refused" "$T/$R/engine.log" || fail "the ABS-labelled B00001 was not refused"
stop_ctld TERM
stop_engine
# Back to normal (a new catalog here): the barcode is the physical label,
# no label map is asked for.
mv "$T/$R/catalog.db" "$T/$R/catalog.corrupt"
start_ctld --new-catalog	# a new catalog beside the old one's cache: said so
ctl --json merge "$T/$R/journal" </dev/null >libmerge.json || fail "merge of a library's crippled journal: $(cat libmerge.json)"
grep -q '"parts":2,"dumps":2' libmerge.json || fail "merge: $(cat libmerge.json)"
ctl --json tapes-for e2 | grep -q '"label":"B00002"' || fail "tapes-for e2 after the merge: $(ctl --json tapes-for e2)"
stop_ctld TERM
ok "a library drive in crippled mode: blank B00002 labelled by its barcode (B00001 refused), two dumps on it, merged without a label map"

# A catalog abs-ctld may not write (its user does not own it).
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	R=readonly
	mkdir -p "$T/$R/run"
	cp normal/catalog.db "$T/$R/catalog.db"
	chown 65534 "$T/$R/run"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTLD" --socket "$T/$R/run/ctld.sock" \
		--db "$T/$R/catalog.db" --journal "$T/$R/run/journal" --foreground 2>"$T/$R/ctld.log" &
	CPID=$!
	PIDS="$PIDS $CPID"
	until_ok '"$CTL" --socket "$T/$R/run/ctld.sock" status >st.txt 2>&1'
	grep -q "CRIPPLED MODE" st.txt || fail "a read-only catalog did not start crippled mode: $(cat st.txt)"
	stop_ctld TERM
	ok "a read-only catalog: crippled mode"
else
	echo "note: no setpriv or not root: the read-only catalog case is not run"
fi

# The catalog locked while abs-ctld runs: the write fails, crippled mode
# takes over and answers.
if command -v sqlite3 >/dev/null; then
	R=locked
	mkdir "$T/$R"
	cp normal/catalog.db "$T/$R/catalog.db"
	start_ctld
	ctl tape-add default L00001 >/dev/null || fail "tape-add before the lock"
	mkfifo lock.fifo
	sqlite3 "$T/$R/catalog.db" <lock.fifo >/dev/null 2>&1 &
	LPID=$!
	PIDS="$PIDS $LPID"
	exec 3>lock.fifo
	# abs-ctld may be writing at that instant: wait for it, do not fail.
	echo ".timeout 10000" >&3
	echo "BEGIN EXCLUSIVE;" >&3
	until_ok '! sqlite3 -cmd ".timeout 0" "$T/$R/catalog.db" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1'
	expect_fail "not available in crippled mode" ctl tape-add default L00002
	ctl status | grep -q "CRIPPLED MODE" || fail "the locked catalog did not switch to crippled mode"
	grep -q "CRIPPLED MODE" "$T/$R/ctld.log" || fail "the switch was not logged"
	ctl --json jobs >/dev/null || fail "jobs in crippled mode"
	echo "ROLLBACK;" >&3
	exec 3>&-
	wait "$LPID" 2>/dev/null || true
	stop_ctld TERM
	ok "a catalog locked while running: switched to crippled mode"
else
	echo "note: no sqlite3: the locked catalog case is not run"
fi

# The catalog's disk fills up while abs-ctld runs (a 1 MiB tmpfs): the
# write fails, crippled mode takes over and answers.
if [ "$(id -u)" = 0 ] && mkdir "$T/fullfs" &&
	command mount -t tmpfs -o size=1m tmpfs "$T/fullfs" 2>/dev/null; then
	MOUNTS="$MOUNTS $T/fullfs"
	R=diskfull
	mkdir "$T/$R"
	cp normal/catalog.db "$T/fullfs/catalog.db"
	"$CTLD" --socket "$T/$R/ctld.sock" --db "$T/fullfs/catalog.db" --journal "$T/$R/journal" \
		--foreground 2>>"$T/$R/ctld.log" &
	CPID=$!
	PIDS="$PIDS $CPID"
	until_ok 'ctl whoami >/dev/null 2>&1'
	ctl tape-add default D00001 >/dev/null || fail "tape-add before the disk is full"
	dd if=/dev/zero of="$T/fullfs/filler" bs=4096 2>/dev/null || true
	i=2
	until ctl status | grep -q "CRIPPLED MODE"; do
		rc=0; ctl tape-add default "D0000$i" >/dev/null 2>&1 || rc=$?
		i=$((i + 1))
		[ $i -lt 9 ] || { tail "$T/$R/ctld.log"; fail "a full disk did not switch abs-ctld to crippled mode"; }
	done
	grep -q "CRIPPLED MODE" "$T/$R/ctld.log" || fail "the switch was not logged"
	ctl --json jobs >/dev/null || fail "jobs in crippled mode"
	expect_fail "not available in crippled mode" ctl tape-add default D00009
	stop_ctld TERM
	umount "$T/fullfs"
	MOUNTS=
	ok "the catalog's disk full while running: switched to crippled mode ($((i - 2)) writes refused first)"
else
	echo "note: not root or no tmpfs mount: the full-disk case is not run"
fi

# A media server moved by SIGHUP from its master to a crippled abs-ctld
# mid-dump (cartridges of 8 MiB: parts are on tape by then): the crippled
# master adopts the job under an ID of its own, lists it, aborts it; the
# engine stops at the next block and confirms; the dump log says aborted,
# and the first master's catalog learns it from the media server's
# journal.
R=switch
mkdir "$T/$R"
# The source is a FIFO the test feeds: the dump writes what it is given
# and then waits, however fast or slow the build (no timing).
mkfifo "$T/$R/src.fifo"
exec 4<>"$T/$R/src.fifo"
feed() { (head -c "$1" /dev/urandom >&4) & }
"$VTAPE" new-library "$T/$R/lib" --slots 12 --drives 1 --capacity 8M --barcode-prefix S >/dev/null
start_ctld
ctl tape-add default S00001 S00002 S00003 S00004 S00005 S00006 >/dev/null
ctl entity-add big "cmd:cat $T/$R/src.fifo" >/dev/null
printf 'CONTROL=%s\n' "$T/$R/ctld.sock" >"$T/$R/engine.env"
"$ENGINE" serve --config "$T/$R/engine.env" --drive lib0 --device "vtape:$T/$R/lib/drive0" \
	--log "$T/$R/engine-journal.log" 2>>"$T/$R/engine.log" &
EPID=$!
PIDS="$PIDS $EPID"
until_ok 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\""'
J=$(ctl --json dump lib0 big | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
feed 3000000	# more than a cartridge holds: a part is on tape
until_ok 'grep -q "^part .*entity=big " "$T/$R/engine-journal.log" 2>/dev/null'
FIRST=$CPID
"$CTLD" --socket "$T/$R/c2.sock" --db "$T/$R/c2.db" --journal "$T/$R/c2journal" --crippled \
	--foreground 2>>"$T/$R/c2.log" &
CPID=$!
PIDS="$PIDS $CPID"
c2() { "$CTL" --socket "$T/$R/c2.sock" "$@"; }
until_ok 'c2 whoami >/dev/null 2>&1'
printf 'CONTROL=%s\n' "$T/$R/c2.sock" >"$T/$R/engine.env"
kill -HUP "$EPID"
feed 2097152	# SIGHUP is taken between blocks
until_ok 'c2 --json jobs | grep -q "\"state\":\"running\""'
J2=$(c2 --json jobs | tr '{' '\n' | grep '"state":"running"' | sed -n 's/.*"id":\([0-9]*\),.*/\1/p')
[ "$J2" -gt 1000000000 ] || fail "the adopted job's ID $J2 is not a crippled-mode ID"
c2 --json jobs | grep -q "adopted: job $J of master" || fail "the adopted job does not say where it came from: $(c2 --json jobs)"
# SIGHUP again, to the same crippled master: the job goes on as $J2.
kill -HUP "$EPID"
feed 2097152
until_ok 'grep -c "SIGHUP: registering drive lib0" "$T/$R/engine.log" | grep -q 2'
until_ok "c2 --json status | grep -q '\"job\":$J2,'"
[ "$(c2 --json jobs | tr '{' '\n' | grep -c '"state":"running"')" = 1 ] ||
	fail "registering again made another job: $(c2 --json jobs)"
c2 abort "$J2" >/dev/null
feed 2097152	# the next block: the engine sees the abort
until_ok "c2 --json jobs | tr '{' '\\n' | grep -q '\"id\":$J2,[^}]*\"state\":\"aborted\"'"
kill -0 "$EPID" || fail "the media server died"
grep -q "^aborted .*entity=big .*status=aborted .*job=$J " "$T/$R/engine-journal.log" ||
	fail "the media server's journal has no aborted line for job $J: $(grep -c . "$T/$R/engine-journal.log") lines"
# The first master hears of it from the media server's journal.
printf 'CONTROL=%s\n' "$T/$R/ctld.sock" >"$T/$R/engine.env"
CPID=$FIRST
kill -HUP "$EPID"
until_ok 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\""'
if command -v sqlite3 >/dev/null; then
	until_ok '[ "$(sqlite3 "$T/$R/catalog.db" "SELECT state FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = '"'big'"'")" = aborted ]'
fi
ok "SIGHUP to a crippled master mid-dump: job $J adopted as $J2, resumed as $J2 after a second SIGHUP, aborted there, confirmed by the engine; aborted in the dump logs and the first catalog"
exec 4>&-
stop_ctld TERM
stop_engine
