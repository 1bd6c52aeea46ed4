# Commit points through abs-ctld (docs/NIGHTLY.md "Commit points"): one
# media server on a vtape library, abs-ctld --commit-every 4.
#   A: 10 small dumps in a row: a job is "uncommitted" (running in the
#      catalog, no dump in it, nothing to restore) until the synchronous
#      filemark that covers it, then done; the tape's trace has one
#      synchronous filemark per commit point (4 + 4 + 2 at idle), every
#      dump restores equal to its source;
#   B: the media server killed -9 with two dumps written, not committed:
#      both fail (and the running one), none is complete; dumped again;
#   C: abs-ctld killed -9 with two dumps uncommitted and a third running:
#      after its restart the two fail, the third ends done;
#   D: the commit point's synchronous filemark fails (ABS_VTAPE_FLUSH_FAIL):
#      both dumps fail, none complete; dumped again they are done;
#   E: SIGTERM to the media server with two dumps uncommitted and a third
#      running: the third is stopped (or ends first), the two are
#      committed (done), and the media server ends.
# At the end no entity has two complete dumps and every complete dump
# restores equal to its source.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
DB="$T/catalog.db"
q() { sqlite3 "$DB" "$1"; }
# wait_cond CONDITION: until it holds, 300 s at most (by the clock).
wait_cond() { poll_until "$1" 300 || fail "timed out after 300 s: $1"; }
job_state() { "$CTL" --json jobs --count 200 | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
ended() { case $(job_state "$1") in done|failed|aborted) true ;; *) false ;; esac; }
dump_jobs() { "$CTL" --json dump d0 "$@" | sed -n 's/.*"jobs":\[\([0-9,]*\)\].*/\1/p' | tr , ' '; }
complete_of() { q "SELECT count(*) FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = '$1' AND d.state = 'complete'"; }
syncs() { grep -c '^F$' "$T/trace" || true; }

start_ctld() {
	"$CTLD" --socket "$T/ctld.sock" --db "$DB" --foreground --grace 5 \
		--commit-every 4 --commit-secs 0 2>>"$T/ctld.log" &
	CPID=$!
	PIDS="$PIDS $CPID"
	wait_cond '"$CTL" whoami >/dev/null 2>&1'
}
start_engine() {
	ABS_TAPE_TRACE="$T/trace" ABS_VTAPE_FLUSH_FAIL="$T/flushfail" \
		"$ENGINE" serve --control "$T/ctld.sock" --drive d0 \
		--device "vtape:$T/lib/drive0" --log "$T/journal.log" \
		2>>"$T/engine.log" &
	EPID=$!
	PIDS="$PIDS $EPID"
	wait_cond '"$CTL" --json status | grep -q "\"drive\":\"d0\",[^}]*\"state\":\"idle\""'
}
start_ctld
"$VTAPE" new-library lib --slots 4 --drives 1 --capacity 200M --barcode-prefix A >/dev/null
"$CTL" tape-add default A00001 A00002 A00003 A00004 >/dev/null
# Sources: small files; a gated entity waits for its gate file first.
mkdir src
n=0
for e in a01 a02 a03 a04 a05 a06 a07 a08 a09 a10 b1 b2 b3 c1 c2 c3 k1 k2 m1 m2 m3; do
	n=$((n + 1))
	head -c $((20000 + n * 7919)) /dev/urandom >"src/$e"
	printf 'while [ ! -e %s/gate.%s ]; do sleep 0.1; done\ncat %s/src/%s\n' \
		"$T" "$e" "$T" "$e" >"src/$e.sh"
	"$CTL" entity-add "$e" "cmd:sh $T/src/$e.sh" >/dev/null
	case $e in a04 | b3 | c3 | m3) ;; *) touch "gate.$e" ;; esac
done
start_engine
ok "abs-ctld --commit-every 4, a media server, 21 small entities"

# A: a04 waits at its gate: a01..a03 are written, not committed.
jobs=$(dump_jobs a01 a02 a03 a04 a05 a06 a07 a08 a09 a10)
set -- $jobs
[ $# -eq 10 ] || fail "10 jobs expected: $jobs"
j1=$1 j2=$2 j3=$3 j4=$4
wait_cond '[ "$(job_state $j3)" = uncommitted ] && [ "$(job_state $j4)" = running ]'
for j in $j1 $j2 $j3; do
	[ "$(job_state $j)" = uncommitted ] || fail "job $j: $(job_state $j), uncommitted expected"
done
[ "$(q "SELECT count(*) FROM dumps WHERE state = 'complete'")" -eq 0 ] ||
	fail "a dump is complete before its commit point"
[ "$(q "SELECT state FROM jobs WHERE id = $j1")" = running ] || fail "job $j1 is not running in the catalog"
"$CTL" --json status | grep -q '"uncommitted":3' || { "$CTL" --json status; fail "status does not count 3 uncommitted dumps"; }
expect_fail "" "$CTL" restore a01 --to "$T/early.out" --drive d0
[ "$(syncs)" -eq 0 ] || fail "a synchronous filemark before the commit point"
ok "written, not committed: jobs uncommitted, no dump in the catalog, no restore"

touch gate.a04
for j in $jobs; do wait_cond "ended $j"; done
for j in $jobs; do [ "$(job_state $j)" = done ] || fail "job $j: $(job_state $j)"; done
for e in a01 a02 a03 a04 a05 a06 a07 a08 a09 a10; do
	[ "$(complete_of $e)" -eq 1 ] || fail "$e: $(complete_of $e) complete dumps"
done
# Ten dumps, three commit points: a04 and a08 close theirs synchronously,
# a09 and a10 are committed when the drive is idle.
imm=$(grep -c '^f$' "$T/trace" || true)
[ "$(syncs)" -eq 3 ] || { cat "$T/engine.log"; fail "$(syncs) synchronous filemarks for 3 commit points"; }
[ "$imm" -ge 8 ] || fail "$imm immediate filemarks, 8 expected at least"
grep -q "job $j1 done (committed)" "$T/ctld.log" ||
	"$CTL" status | grep -q "job $j1 done (committed)" || fail "no commit message for job $j1"
ok "10 dumps, 3 synchronous filemarks ($imm immediate): every job done at its commit point"

for e in a01 a05 a10; do
	j=$("$CTL" --json restore "$e" --to "$T/$e.out" --drive d0 | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
	wait_cond "ended $j"
	cmp "src/$e" "$e.out" || fail "restore of $e differs"
done
ok "restores equal their sources"

# B: the media server killed -9 with b1, b2 written and b3 running.
jobs=$(dump_jobs b1 b2 b3)
set -- $jobs
jb1=$1 jb2=$2 jb3=$3
wait_cond '[ "$(job_state $jb2)" = uncommitted ] && [ "$(job_state $jb3)" = running ]'
kill -9 "$EPID"
wait "$EPID" 2>/dev/null || true
touch gate.b3
start_engine
for j in $jobs; do wait_cond "ended $j"; done
for j in $jobs; do [ "$(job_state $j)" = failed ] || fail "job $j after kill -9: $(job_state $j)"; done
for e in b1 b2 b3; do [ "$(complete_of $e)" -eq 0 ] || fail "$e complete after kill -9"; done
jobs=$(dump_jobs b1 b2 b3)
for j in $jobs; do wait_cond "ended $j"; [ "$(job_state $j)" = done ] || fail "job $j: $(job_state $j)"; done
for e in b1 b2 b3; do [ "$(complete_of $e)" -eq 1 ] || fail "$e: $(complete_of $e) complete dumps"; done
ok "media server killed -9 before the commit point: its dumps fail, none complete; dumped again"

# C: abs-ctld killed -9 with c1, c2 uncommitted and c3 running.
jobs=$(dump_jobs c1 c2 c3)
set -- $jobs
jc1=$1 jc2=$2 jc3=$3
wait_cond '[ "$(job_state $jc2)" = uncommitted ] && [ "$(job_state $jc3)" = running ]'
kill -9 "$CPID"
wait "$CPID" 2>/dev/null || true
start_ctld
touch gate.c3
for j in $jobs; do wait_cond "ended $j"; done
# The media server registers again mid-job (it gives c1 and c2 up: they
# fail) or after c3 (it commits them first: done); never in between.
s1=$(job_state $jc1) s2=$(job_state $jc2)
[ "$s1" = "$s2" ] && { [ "$s1" = done ] || [ "$s1" = failed ]; } ||
	fail "c1, c2 after abs-ctld's kill: $s1 $s2"
[ "$(job_state $jc3)" = done ] || fail "c3 after abs-ctld's kill: $(job_state $jc3)"
want=0; [ "$s1" = done ] && want=1
for e in c1 c2; do [ "$(complete_of $e)" -eq $want ] || fail "$e: $(complete_of $e) complete dumps, job $s1"; done
[ "$(complete_of c3)" -eq 1 ] || fail "c3 not complete"
ok "abs-ctld killed -9: the uncommitted dumps are $s1 (complete: $want), the running one done"

# D: the commit point's synchronous filemark fails.
s0=$(syncs)
touch flushfail
jobs=$(dump_jobs k1 k2)
for j in $jobs; do wait_cond "ended $j"; [ "$(job_state $j)" = failed ] || fail "job $j: $(job_state $j) after a failed commit point"; done
for e in k1 k2; do [ "$(complete_of $e)" -eq 0 ] || fail "$e complete after a failed commit point"; done
"$CTL" --json jobs --count 200 | grep -q "lost before a commit point covered it" ||
	fail "the failed jobs do not say why"
rm flushfail
jobs=$(dump_jobs k1 k2)
for j in $jobs; do wait_cond "ended $j"; [ "$(job_state $j)" = done ] || fail "job $j: $(job_state $j)"; done
ok "a failed commit point fails its dumps; dumped again they are done"

# E: SIGTERM with m1, m2 uncommitted and m3 running.
jobs=$(dump_jobs m1 m2 m3)
set -- $jobs
jm1=$1 jm2=$2 jm3=$3
wait_cond '[ "$(job_state $jm2)" = uncommitted ] && [ "$(job_state $jm3)" = running ]'
kill -TERM "$EPID"
# m3 is stopped (its source waits: the job looks at least each second),
# or ends first once its gate opens.
touch gate.m3
wait_cond '! kill -0 $EPID 2>/dev/null'
for j in $jm1 $jm2 $jm3; do wait_cond "ended $j"; done
for j in $jm1 $jm2; do [ "$(job_state $j)" = done ] || fail "job $j after SIGTERM: $(job_state $j)"; done
grep -q "SIGTERM: media server for drive d0 stops" "$T/engine.log" || fail "the media server did not say it stopped"
sm3=$(job_state $jm3)
want=0; [ "$sm3" = done ] && want=1
[ "$(complete_of m3)" -eq $want ] || fail "m3 $sm3 with $(complete_of m3) complete dumps"
start_engine
ok "SIGTERM: the uncommitted dumps are committed, then the media server ends (m3 $sm3)"

# Every complete dump restores; no entity has two.
[ "$(q "SELECT count(*) FROM (SELECT entity_id FROM dumps WHERE state = 'complete' GROUP BY entity_id HAVING count(*) > 1)")" -eq 0 ] ||
	fail "an entity has two complete dumps"
for e in $(q "SELECT e.name FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE d.state = 'complete' ORDER BY e.name"); do
	j=$("$CTL" --json restore "$e" --to "$T/$e.all" --drive d0 | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
	wait_cond "ended $j"
	cmp "src/$e" "$e.all" || fail "restore of $e differs"
done
ok "every complete dump restores equal to its source; none twice"
