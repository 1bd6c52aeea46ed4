# The nightly run on a real abs-ctld with two media servers on a vtape
# library, the clock injected (ABS_CLOCK) so that three nights pass in
# seconds: run DRIVE... dumps exactly the plan (fulls, then incrementals
# since their base), a failing entity is retried once and a broken one
# fails the run (abs-ctl's exit 7), --tapes bounds the cartridges and the
# run waits at the change until run-continue, a second run on a busy drive
# is refused (busy), abs-cron started twice runs once, the report matches
# the catalog, and abs-ctl run at a terminal asks before another tape.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
CRON="$ABS_BIN/abs-cron"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock" ABS_CLOCK="$T/clock"
DB="$T/catalog.db"
q() { sqlite3 "$DB" "$1"; }
# night K: the clock K days after the test started (the engine's dates
# follow the same clock).
START=$(date -u +%s)
NIGHT=0
night() { NIGHT=$1; date -u -d "@$((START + $1 * 86400))" +%Y-%m-%dT%H:%M:%SZ >"$T/clock"; }
# The night's end, 20 hours on (else the next 07:00: the budget would
# depend on the hour the test runs).
night_end() { date -u -d "@$((START + NIGHT * 86400 + 72000))" +%Y-%m-%dT%H:%M:%SZ; }
night 0

"$CTLD" --socket "$T/ctld.sock" --db "$DB" --foreground --grace 5 \
	--exception-cmd "cat >>$T/exceptions.txt" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for_cmd() { poll_until "$1" || fail "timed out: $1"; }
wait_for_cmd '[ -S "$T/ctld.sock" ]'
"$VTAPE" new-library lib --slots 14 --drives 2 --capacity 24M --barcode-prefix A >/dev/null
# engine K: start drive dK's media server (its PID in EPIDK).
engine() {
	"$ENGINE" serve --control "$T/ctld.sock" --drive "d$1" \
		--device "vtape:$T/lib/drive$1" --log "$T/journal-d$1.log" \
		2>>"$T/engine-d$1.log" &
	PIDS="$PIDS $!"
	eval "EPID$1=\$!"
}
engine 0
engine 1
"$CTL" tape-add default A00001 A00002 A00003 A00004 A00005 A00006 A00007 A00008 \
	A00009 A00010 A00011 A00012 A00013 A00014 >/dev/null
for i in 1 2 3 4 5 6; do
	mkdir -p "src/v$i/sub"
	head -c $((i * 40000)) /dev/urandom >"src/v$i/a.bin"
	echo "v$i" >"src/v$i/sub/b.txt"
	"$CTL" entity-add "v$i" "dir:$T/src/v$i" >/dev/null
done
# flaky fails its first attempt on night 0 (the second is the retry).
head -c 50000 /dev/urandom >flaky.bin
printf '[ -f %s/flaky.ok ] || { touch %s/flaky.ok; exit 3; }\ncat %s/flaky.bin\n' \
	"$T" "$T" "$T" >flaky.sh
"$CTL" entity-add flaky "cmd:sh $T/flaky.sh" >/dev/null
wait_for_cmd '"$CTL" --json status | grep -q "\"drive\":\"d0\",[^}]*\"state\":\"idle\"" &&
	"$CTL" --json status | grep -q "\"drive\":\"d1\",[^}]*\"state\":\"idle\""'
ok "abs-ctld, two media servers, 7 entities"

# The plan: every entity new, a full, on one of the two drives.
"$CTL" --json plan --drives d0,d1 >plan.json
[ "$(grep -o '"reason":"new"' plan.json | wc -l)" -eq 7 ] || { cat plan.json; fail "7 new fulls expected in the plan"; }
"$CTL" plan --drives d0,d1 --nights 3 >plan3.txt || fail "plan --nights 3"
"$CTL" --json next-entities --count 3 | grep -q '"kind":.*"level":0' ||
	fail "next-entities lacks the plan's level"
ok "plan: 7 new fulls over d0 and d1; --nights and next-entities answer"
# The plan's drives are checked as the run's; dates and ids too.
expect_fail "drive d0 named twice" "$CTL" plan --drives d0,d1,d0
expect_fail "drive nosuch has no media server" "$CTL" plan --drives d0,nosuch
expect_fail "a date, YYYY-MM-DD" "$CTL" report --night 2027-02-30
expect_fail "usage: runs" "$CTL" runs --id -1
expect_fail "usage: runs" "$CTL" runs --count -1

# Night 0: run d0 d1 dumps the plan; flaky fails once and is retried.
"$CTL" run d0 d1 --until "$(night_end)" </dev/null >run0.txt || { cat run0.txt "$T/ctld.log" >&2; fail "run 1 exit $?"; }
grep -q "run 1 done: 7 dumped, 0 failed" run0.txt || { cat run0.txt; fail "run 1 summary"; }
[ "$(q "SELECT count(*) FROM dumps d JOIN jobs j ON j.id = d.job_id WHERE j.run_id = 1 AND d.state = 'complete' AND d.level = 0")" -eq 7 ] ||
	fail "run 1 should hold 7 complete fulls"
[ "$(q "SELECT attempt || ' ' || state FROM jobs WHERE run_id = 1 AND entity_id = (SELECT id FROM entities WHERE name = 'flaky') ORDER BY id" | tr '\n' ,)" = "1 failed,2 done," ] ||
	fail "flaky: one failed attempt, then done"
# The report against the catalog.
"$CTL" report --json >rep0.json
N0=$(date -u -d "@$START" +%Y-%m-%d)
grep -q "\"night\":\"$N0\"" rep0.json || fail "report names another night"
for e in v1 v2 v3 v4 v5 v6 flaky; do
	b=$(q "SELECT d.bytes FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = '$e' AND d.state = 'complete'")
	grep -q "{\"entity\":\"$e\",\"level\":0,\"bytes\":$b," rep0.json ||
		{ cat rep0.json; fail "report: $e's full of $b bytes"; }
done
grep -q '"retries":\[{"entity":"flaky","attempts":2,"result":"done"}\]' rep0.json ||
	fail "report: flaky's retry"
grep -q '"failed":\[{"entity":"flaky",[^]]*"attempt":1' rep0.json ||
	fail "report: flaky's failed first attempt"
labels=$(q "SELECT DISTINCT t.label FROM dump_parts p JOIN tapes t ON t.id = p.tape_id ORDER BY 1")
for l in $labels; do
	grep -q "\"label\":\"$l\"" rep0.json || fail "report: tape $l written"
done
grep -q "ABS nightly report for $N0" exceptions.txt ||
	fail "the report did not reach the exception command"
grep -q "report $N0: dumped (7)" ctld.log || fail "the report did not reach the log"
ok "night 0: 7 fulls as planned, flaky retried once, report = catalog, mailed"
# Started again the same night: nothing left, no run, no second report.
"$CRON" --drives d0,d1 >cron0.out 2>&1 || { cat cron0.out; fail "abs-cron after the night's run"; }
grep -q "was run already: nothing left to do" cron0.out || { cat cron0.out; fail "abs-cron again says nothing"; }
[ "$(q "SELECT count(*) FROM runs")" -eq 1 ] || fail "a second run of night 0 was recorded"
[ "$(grep -c "ABS nightly report for $N0" exceptions.txt)" -eq 1 ] || fail "night 0's report sent twice"
ok "abs-cron again after the night's run: nothing left to do, no run, no second report"

# Night 1: incrementals since their fulls, the base named.
night 1
echo changed >src/v1/sub/c.txt
# A discovery command lists a new entity: the run discovers it first.
mkdir -p src/dnew && echo new >src/dnew/f.txt
"$CTL" discover-add srv1 --type default --cmd "echo dnew" \
	--source-template "dir:$T/src/{name}" >/dev/null
"$CTL" run d0 d1 --until "$(night_end)" </dev/null >run1.txt || { cat run1.txt; fail "run 2"; }
# Exactly the plan: each planned entity dumped once, at the planned level
# (on either drive: an idle drive takes another's next entity).
planned=$(q "SELECT count(*) FROM run_plan WHERE run_id = 2 AND drive IS NOT NULL")
[ "$planned" -eq 8 ] || fail "night 1: 8 entities planned (dnew discovered), not $planned"
[ "$(q "SELECT count(*) FROM run_plan p JOIN jobs j ON j.run_id = p.run_id AND j.entity_id = p.entity_id JOIN dumps d ON d.job_id = j.id AND d.state = 'complete' AND d.level = p.level WHERE p.run_id = 2")" -eq 8 ] ||
	{ cat run1.txt; "$CTL" runs --id 2; fail "night 1 did not run exactly the plan"; }
grep -q "discovery: 1 commands, 0 failed; 1 new" run1.txt || { cat run1.txt; fail "the run did not discover dnew first"; }
"$CTL" --json report | grep -q '"new":\[{"entity":"dnew"' || fail "report: dnew is new"
incr=$(q "SELECT count(*) FROM dumps d JOIN jobs j ON j.id = d.job_id WHERE j.run_id = 2 AND d.level > 0")
[ "$incr" -ge 1 ] || fail "night 1: no incremental"
# Each incremental names its base (a complete dump of a lower level) and
# is taken since the base's start.
[ "$(q "SELECT count(*) FROM dumps i JOIN jobs j ON j.id = i.job_id JOIN dumps b ON b.dump_uid = i.base_uid AND b.entity_id = i.entity_id AND b.level < i.level AND b.state = 'complete' AND i.since = b.started WHERE j.run_id = 2 AND i.level > 0")" -eq "$incr" ] ||
	fail "night 1: an incremental without its base"
ok "night 1: exactly the plan ($incr incrementals, each since the base it names)"

# A broken entity fails the run: abs-ctl run exits 7; the report says why.
night 2
"$CTL" entity-add broken "cmd:sh -c 'exit 4'" >/dev/null
# v6 may not be dumped at any time tonight (a window of its own, every day).
q "INSERT INTO windows (entity_id, days, start_min, end_min) VALUES ((SELECT id FROM entities WHERE name = 'v6'), 127, 0, 1440)"
"$CTL" --json plan --drives d0 | grep -q '{"entity":"v6","dump":false,[^}]*"reason":"window"' ||
	fail "plan: v6 kept back by its window"
rc=0
"$CTL" run d0 --until "$(night_end)" </dev/null >run2.txt || rc=$?
[ $rc -eq 7 ] || { cat run2.txt; fail "a failed entity: abs-ctl run exits 7, not $rc"; }
grep -q "run 3 failed" run2.txt || fail "run 3 should be failed"
[ "$(q "SELECT count(*) FROM jobs WHERE run_id = 3 AND entity_id = (SELECT id FROM entities WHERE name = 'broken') AND state = 'failed'")" -eq 2 ] ||
	fail "broken: tried twice"
"$CTL" report >rep2.txt
grep -q "broken .*attempt 2 on d0: .*exited with status 4" rep2.txt || { cat rep2.txt; fail "report: why broken failed"; }
sed -n '/^skipped/,/^$/p' rep2.txt | grep -q "v6 .*window" || { cat rep2.txt; fail "report: v6 skipped by its window"; }
[ "$(q "SELECT count(*) FROM jobs WHERE run_id = 3 AND entity_id = (SELECT id FROM entities WHERE name = 'v6')")" -eq 0 ] ||
	fail "v6 was dumped inside its window"
q "DELETE FROM windows"
"$CTL" entity-remove broken >/dev/null
ok "night 2: a broken entity is tried twice, the run fails (exit 7), the report says why; a window keeps v6 back"

# --tapes 1: new big entities fill a cartridge; the run waits at the change.
night 3
for i in 1 2 3; do
	mkdir -p "big/b$i" && head -c 10000000 /dev/urandom >"big/b$i/x.bin"
	"$CTL" entity-add "b$i" "dir:$T/big/b$i" >/dev/null
done
"$CTL" run d1 --tapes 1 --until "$(night_end)" </dev/null >run3.txt 2>&1 &
RP=$!
PIDS="$PIDS $RP"
wait_for_cmd '"$CTL" --json runs --id 4 2>/dev/null | grep -q "\"waiting\":true"'
# A second run on the drive is refused, busy, and changes nothing.
expect_fail "is in run 4 already" "$CTL" run d1
[ "$(q "SELECT count(*) FROM runs")" -eq 4 ] || fail "the refused run was recorded"
"$CTL" run-continue 4 --tapes 5 >/dev/null
wait "$RP" || { cat run3.txt; fail "run 4 after run-continue"; }
grep -q "run 4 done" run3.txt || { cat run3.txt; fail "run 4 done"; }
[ "$(q "SELECT count(DISTINCT p.tape_id) FROM dump_parts p JOIN dumps d ON d.id = p.dump_id JOIN jobs j ON j.id = d.job_id WHERE j.run_id = 4")" -ge 2 ] ||
	fail "run 4 should have written a second cartridge after run-continue"
expect_fail "no run 4 in progress" "$CTL" run-continue 4
ok "--tapes 1: the run waited at the cartridge change; busy refused; run-continue went on"

# abs-cron twice: the second does nothing and says so (exit 0).
night 4
# slow runs until go-slow (300 s at most): abs-cron is started twice
# meanwhile however slow the machine, and the stop waits for nothing more.
printf '%s\n' 'end=$(($(date +%s) + 300))' \
	"while [ ! -f $T/go-slow ] && [ \$(date +%s) -lt \$end ]; do head -c 65536 /dev/urandom; sleep 0.1; done" >slow.sh
"$CTL" entity-add slow "cmd:sh $T/slow.sh" >/dev/null
"$CRON" --drives d0,d1 --until "$(night_end)" >cron1.out 2>&1 &
C1=$!
PIDS="$PIDS $C1"
wait_for_cmd '"$CTL" --json runs --id 5 2>/dev/null | grep -q "\"state\":\"running\""'
"$CRON" --drives d0,d1 >cron2.out 2>&1 || fail "a second abs-cron should exit 0"
grep -q "active already" cron2.out || { cat cron2.out; fail "the second abs-cron says nothing"; }
"$CRON" --drives d1 >cron3.out 2>&1 || fail "abs-cron on a busy drive should exit 0"
grep -q "is in run 5 already" cron3.out || { cat cron3.out; fail "abs-ctld's busy answer"; }
[ "$(q "SELECT count(*) FROM runs")" -eq 5 ] || fail "a second run was recorded"
"$CTL" run-stop 5 >/dev/null
touch go-slow
rc=0
wait "$C1" || rc=$?
[ $rc -eq 1 ] || { cat cron1.out; fail "abs-cron of a stopped run: exit 1, not $rc"; }
[ "$(q "SELECT state FROM runs WHERE id = 5")" = aborted ] || fail "run 5 aborted"
"$CTL" entity-remove slow >/dev/null
ok "abs-cron twice: one run; the second start and a busy drive do nothing, exit 0"

# At a terminal abs-ctl run asks before another tape; "n" stops the run.
night 5
for i in 4 5; do
	mkdir -p "big/b$i" && head -c 10000000 /dev/urandom >"big/b$i/x.bin"
	"$CTL" entity-add "b$i" "dir:$T/big/b$i" >/dev/null
done
mkfifo ttyin
script -qfec "$CTL run d0 --tapes 1 --until $(night_end)" tty.txt <ttyin >/dev/null 2>&1 &
SP=$!
PIDS="$PIDS $SP"
exec 3>ttyin
prompts() { grep -c "start another tape on d0" tty.txt 2>/dev/null || true; }
wait_for_cmd '[ "$(prompts)" -ge 1 ]'
echo y >&3
# y: one cartridge more; asked again after it ("n": the run stops), or done.
wait_for_cmd '[ "$(prompts)" -ge 2 ] || ! kill -0 $SP 2>/dev/null'
[ "$(prompts)" -ge 2 ] && echo n >&3
wait "$SP" || true
exec 3>&-
case $(q "SELECT state FROM runs WHERE id = 6") in done|aborted) ;; *) fail "run 6 should have ended";; esac
[ "$(q "SELECT count(DISTINCT p.tape_id) FROM dump_parts p JOIN dumps d ON d.id = p.dump_id JOIN jobs j ON j.id = d.job_id WHERE j.run_id = 6")" -ge 2 ] ||
	{ cat tty.txt; fail "run 6 should have gone on to another cartridge after y"; }
ok "abs-ctl run at a terminal: 'start another tape on d0? [y/N]'; y went on"

# Gated entities: gK's dump waits (300 s at most) for the file go-gK.
printf '%s\n' 'end=$(($(date +%s) + 300))' \
	"while [ ! -f $T/go-\$1 ] && [ \$(date +%s) -lt \$end ]; do sleep 0.1; done" \
	'head -c 20000 /dev/urandom' >gate.sh
gated() { for g in "$@"; do "$CTL" entity-add "$g" "cmd:sh $T/gate.sh $g" >/dev/null; done; }
# The entity run $1's job on drive $2 dumps now.
running_on() { q "SELECT e.name FROM jobs j JOIN entities e ON e.id = j.entity_id JOIN drives d ON d.id = j.drive_id WHERE j.run_id = $1 AND j.state = 'running' AND d.name = '$2'"; }
idle() { "$CTL" --json status | grep -q "\"drive\":\"$1\",[^}]*\"state\":\"idle\""; }
offline() { "$CTL" --json status | grep -q "\"drive\":\"$1\",[^}]*\"state\":\"offline\""; }
ndone() { q "SELECT count(*) FROM jobs WHERE run_id = $1 AND state = 'done'"; }
for e in $(q "SELECT name FROM entities"); do "$CTL" entity-remove "$e" >/dev/null; done

# An idle drive takes the entities planned on a busy one.
night 6
gated g1 g2 g3 g4 g5 g6
"$CTL" run d0 d1 --until "$(night_end)" </dev/null >run7.txt 2>&1 &
RP=$!
PIDS="$PIDS $RP"
wait_for_cmd '[ -n "$(running_on 7 d0)" ] && [ -n "$(running_on 7 d1)" ]'
busy=$(running_on 7 d1)
for g in g1 g2 g3 g4 g5 g6; do [ "$g" = "$busy" ] || touch "go-$g"; done
# d0 dumps the five others (d1's share too) while d1's first one waits.
wait_for_cmd '[ "$(ndone 7)" -eq 5 ]'
[ "$(running_on 7 d1)" = "$busy" ] || fail "d1 should still dump $busy"
moved=$(q "SELECT count(*) FROM run_plan p JOIN jobs j ON j.run_id = p.run_id AND j.entity_id = p.entity_id JOIN drives d ON d.id = j.drive_id WHERE p.run_id = 7 AND p.drive = 'd1' AND d.name = 'd0'")
[ "$moved" -ge 1 ] || { "$CTL" runs --id 7; fail "idle d0 took none of busy d1's entities"; }
touch "go-$busy"
wait "$RP" || { cat run7.txt; fail "run 7"; }
grep -q "run 7 done: 6 dumped, 0 failed" run7.txt || { cat run7.txt; fail "run 7 summary"; }
ok "an idle drive takes the next entities planned on a busy one ($moved moved to d0)"

# A media server killed mid-run: the other drive dumps the rest.
night 7
# Night 6's entities go: due again tonight with their gates shut, each
# would wait out its 30 s.
for g in g1 g2 g3 g4 g5 g6; do "$CTL" entity-remove "$g" >/dev/null; done
gated h1 h2 h3 h4 h5 h6
"$CTL" run d0 d1 --until "$(night_end)" </dev/null >run8.txt 2>&1 &
RP=$!
PIDS="$PIDS $RP"
wait_for_cmd '[ -n "$(running_on 8 d0)" ] && [ -n "$(running_on 8 d1)" ]'
lost=$(running_on 8 d1)
kill -9 "$EPID1"
wait_for_cmd 'offline d1'
for g in h1 h2 h3 h4 h5 h6; do touch "go-$g"; done
wait "$RP" || { cat run8.txt; "$CTL" runs --id 8; fail "run 8 after d1's media server was killed"; }
grep -q "run 8 done: [0-9]* dumped, 0 failed" run8.txt ||
	{ cat run8.txt; "$CTL" runs --id 8; fail "run 8 summary"; }
[ "$(q "SELECT count(*) FROM jobs j JOIN drives d ON d.id = j.drive_id WHERE j.run_id = 8 AND d.name = 'd1'")" -eq 1 ] ||
	{ "$CTL" runs --id 8; fail "a job was queued on d1 after its media server died"; }
[ "$(q "SELECT count(*) FROM jobs j JOIN drives d ON d.id = j.drive_id JOIN entities e ON e.id = j.entity_id WHERE j.run_id = 8 AND d.name = 'd0' AND e.name = '$lost' AND j.state = 'done'")" -eq 1 ] ||
	fail "$lost (its media server killed) was not dumped again on d0"
ok "kill -9 of d1's media server mid-run: d0 dumped the rest and $lost again"

# The run's only drive gone: what is left is not started, "no drive".
night 8
gated k1 k2
"$CTL" run d0 --until "$(night_end)" </dev/null >run9.txt 2>&1 &
RP=$!
PIDS="$PIDS $RP"
wait_for_cmd '[ -n "$(running_on 9 d0)" ]'
kill -9 "$EPID0"
touch go-k1 go-k2
rc=0
wait "$RP" || rc=$?
[ $rc -ne 0 ] || { cat run9.txt; fail "run 9 without its drive should not exit 0"; }
[ "$(q "SELECT state FROM runs WHERE id = 9")" = aborted ] || fail "run 9 should be aborted"
q "SELECT detail FROM runs WHERE id = 9" | grep -q "not started: no drive" ||
	{ q "SELECT detail FROM runs WHERE id = 9"; fail "run 9 should say no drive"; }
"$CTL" report | grep -q "run 9 .*not started: no drive" || { "$CTL" report; fail "report: no drive"; }
ok "the run's only media server killed: the run ends, the rest not started (no drive)"

# run-stop of a run whose only job lost its media server ends it at once.
engine 0
wait_for_cmd 'idle d0'
gated m1
"$CTL" run d0 --until "$(night_end)" </dev/null >run10.txt 2>&1 &
RP=$!
PIDS="$PIDS $RP"
wait_for_cmd '[ -n "$(running_on 10 d0)" ]'
kill -9 "$EPID0"
# abs-ctld has seen it go (its connection closed): until then the job
# runs on a media server for all abs-ctld knows, and run-stop waits for
# it (the drive was writing, never idle: "! idle d0" held at once)
wait_for_cmd 'offline d0'
"$CTL" run-stop 10 >/dev/null
[ "$(q "SELECT state FROM runs WHERE id = 10")" = aborted ] || fail "run-stop: run 10 should end at once"
touch go-m1
wait "$RP" || true
ok "run-stop of a run whose job lost its media server ends it at once"

kill -0 "$CPID" || fail "abs-ctld died"
ok "t_run"
