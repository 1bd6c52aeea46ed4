# abs-ctl job-wait JOB: answered when the job has ended, not before.
# abs-ctld --commit-every 2, one media server on a vtape library.
#   A: a gated dump: job-wait waits (abs-ctld answers others meanwhile);
#      once it says done (exit 0), the catalog has the job done and its
#      dump complete (a dump written but not yet under a commit point is
#      not an end);
#   B: a job that fails: exit 1, state failed; a queued job aborted:
#      exit 1, state aborted; an unknown job: exit 5 (not found);
#   C: a client gone while it waits: abs-ctld goes on, the job still ends;
#   D: --json prints the job's end as one object;
#   E: dump --wait: each job it queued waited for; exit 1 if one failed.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
DB="$T/catalog.db"
q() { sqlite3 "$DB" "$1"; }
wait_cond() { poll_until "$1" 300 || fail "timed out after 300 s: $1"; }
dump_jobs() { "$CTL" --json dump d0 "$@" | sed -n 's/.*"jobs":\[\([0-9,]*\)\].*/\1/p' | tr , ' '; }
state_of() { q "SELECT state FROM jobs WHERE id = $1"; }

"$CTLD" --socket "$T/ctld.sock" --db "$DB" --foreground --commit-every 2 \
	--commit-secs 0 2>>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_cond '"$CTL" whoami >/dev/null 2>&1'
"$VTAPE" new-library lib --slots 2 --drives 1 --capacity 200M --barcode-prefix A >/dev/null
"$CTL" tape-add default A00001 A00002 >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive d0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal.log" 2>>"$T/engine.log" &
PIDS="$PIDS $!"
wait_cond '"$CTL" --json status | grep -q "\"drive\":\"d0\",[^}]*\"state\":\"idle\""'
mkdir src
head -c 300000 /dev/urandom >src/data
printf 'while [ ! -e %s/gate.%s ]; do sleep 0.1; done\ncat %s/src/data\n' "$T" a "$T" >src/a.sh
printf 'while [ ! -e %s/gate.%s ]; do sleep 0.1; done\ncat %s/src/data\n' "$T" c "$T" >src/c.sh
"$CTL" entity-add a "cmd:sh $T/src/a.sh" >/dev/null
"$CTL" entity-add c "cmd:sh $T/src/c.sh" >/dev/null
"$CTL" entity-add bad "cmd:false" >/dev/null
"$CTL" entity-add q "dir:$T/src" >/dev/null

# A: waits while the job runs, answers done once the dump is committed.
j=$(dump_jobs a)
[ -n "$j" ] || fail "dump a refused"
"$CTL" job-wait "$j" >"$T/wa.out" 2>"$T/wa.err" &
WPID=$!
wait_cond '[ "$(state_of $j)" = running ]'
"$CTL" status >/dev/null || fail "abs-ctld did not answer status while a client waits"
kill -0 "$WPID" 2>/dev/null || fail "job-wait returned while job $j runs: $(cat "$T/wa.out" "$T/wa.err")"
: >"$T/gate.a"
rc=0
wait "$WPID" || rc=$?
[ $rc = 0 ] || fail "job-wait $j: exit $rc ($(cat "$T/wa.err"))"
[ "$(state_of $j)" = done ] || fail "job-wait answered, the job is $(state_of $j)"
[ "$(q "SELECT count(*) FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = 'a' AND d.state = 'complete'")" = 1 ] ||
	fail "job-wait said done before the dump was complete in the catalog"
grep -q "^state *done" "$T/wa.out" || fail "job-wait output: $(cat "$T/wa.out")"
ok "A: job-wait answered once the job was done and its dump complete"

# B: failed, aborted, unknown.
j=$(dump_jobs bad)
rc=0
"$CTL" job-wait "$j" >"$T/wb.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "job-wait on a failing job: exit $rc, not 1 ($(cat "$T/wb.out"))"
[ "$(state_of $j)" = failed ] || fail "job $j is $(state_of $j), not failed"
jc=$(dump_jobs c)
jq=$(dump_jobs q)
wait_cond '[ "$(state_of $jc)" = running ]'
"$CTL" abort "$jq" >/dev/null || fail "abort of queued job $jq refused"
rc=0
"$CTL" job-wait "$jq" >"$T/wb.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "job-wait on an aborted job: exit $rc, not 1 ($(cat "$T/wb.out"))"
grep -q aborted "$T/wb.out" || fail "job-wait on an aborted job: $(cat "$T/wb.out")"
rc=0
"$CTL" job-wait 99999 >"$T/wb.out" 2>&1 || rc=$?
[ $rc = 5 ] || fail "job-wait on an unknown job: exit $rc, not 5 ($(cat "$T/wb.out"))"
ok "B: failed and aborted jobs exit 1, an unknown one 5"

# C: a waiting client killed; the job ends, abs-ctld answers.
"$CTL" job-wait "$jc" >/dev/null 2>&1 &
WPID=$!
sleep 1
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null || true
: >"$T/gate.c"
"$CTL" --json job-wait "$jc" >"$T/wc.out" || fail "job-wait $jc after a waiter left: $(cat "$T/wc.out")"
kill -0 "$CPID" || fail "abs-ctld died"
# D: one JSON object.
grep -q "^{\"job\":$jc,\"state\":\"done\"" "$T/wc.out" || fail "job-wait --json: $(cat "$T/wc.out")"
ok "C, D: a waiter gone does not matter; --json prints the end"

# E: dump --wait: the jobs it queued, each end said; exit 1 if one failed.
rc=0
"$CTL" dump d0 bad q --wait >"$T/we.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "dump --wait with a failing job: exit $rc ($(cat "$T/we.out"))"
grep -q "^job [0-9]* failed" "$T/we.out" && grep -q "^job [0-9]* done" "$T/we.out" ||
	fail "dump --wait: $(cat "$T/we.out")"
"$CTL" --json dump d0 q --wait >"$T/we.out" || fail "dump --wait: $(cat "$T/we.out")"
[ "$(grep -c '"state":"done"' "$T/we.out")" = 1 ] || fail "dump --wait --json: $(cat "$T/we.out")"
ok "E: dump --wait waits for its jobs and says how each ended"
echo PASS
