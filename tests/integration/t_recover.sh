# Crash recovery of the control plane: abs-ctld killed (-9) mid-dump and
# started again on the same catalog while its media server goes on (back
# during the dump, or only after it ended); both killed after the dump
# ended (the restarted media server reports it from its job file); both
# killed mid-dump, only abs-ctld back (the job fails after the grace
# period, its tape goes back, an orphan job can be aborted); the media
# server killed mid-dump (the job fails, nothing stays reserved, the next
# dump runs); SIGHUP with the same master; a media server moved by SIGHUP
# to a second abs-ctld mid-dump, its job listed and aborted there. After each: jobs, tapes and dumps states, the
# catalog's integrity, and a dump or restore that runs.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 CLI missing"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T"
# The grace period: long where a test waits for the media server to come
# back (it must never run out first, however slow the build: ASan), short
# where a test waits for it to run out (scenarios 2 to 4).
LONG_GRACE=3600
SHORT_GRACE=4
GRACE=$LONG_GRACE

# start_ctld SOCKET DB LOG: abs-ctld in the background; its pid in CPID.
start_ctld() {
	"$CTLD" --socket "$1" --db "$2" --foreground --grace $GRACE ${4:-} 2>>"$3" &
	CPID=$!
	PIDS="$PIDS $CPID"
	w_end=$(deadline)
	until "$CTL" --socket "$1" whoami >/dev/null 2>&1; do
		before "$w_end" || { cat "$3" >&2; fail "abs-ctld on $1 did not start"; }
		sleep 0.1
	done
}
# start_engine CONFIG LOG: a media server for lib0; its pid in EPID.
start_engine() {
	"$ENGINE" serve --config "$1" --drive lib0 --device "vtape:$T/lib/drive0" \
		--log "$T/journal-lib0.log" 2>>"$2" &
	EPID=$!
	PIDS="$PIDS $EPID"
}
ctl() { "$CTL" --socket "$SOCK" "$@"; }
poll() { poll_until "$1" || fail "timed out: $1"; }
job_state() { ctl --json jobs --count 100 | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
job_ended() { case $(job_state "$1") in done|failed|aborted) true ;; *) false ;; esac; }
dumping() { ctl --json status | grep -q '"drive":"lib0"[^}]*"state":"writing"[^}]*"bytes":[1-9]'; }
sql() { sqlite3 "$1" "$2"; }
# check_db DB: integrity ok; nothing running or reserved without a live job.
check_db() {
	[ "$(sql "$1" 'PRAGMA integrity_check')" = ok ] || fail "$1: integrity_check"
	n=$(sql "$1" "SELECT count(*) FROM tapes WHERE state = 'reserved' AND
		(job_id IS NULL OR job_id NOT IN (SELECT id FROM jobs WHERE state = 'running'))")
	[ "$n" = 0 ] || { sql "$1" 'SELECT label, state, job_id FROM tapes'; fail "$1: $n tapes reserved without a running job"; }
	n=$(sql "$1" "SELECT count(*) FROM dumps WHERE state = 'running' AND
		(job_id IS NULL OR job_id NOT IN (SELECT id FROM jobs WHERE state = 'running'))")
	[ "$n" = 0 ] || fail "$1: $n dumps running without a running job"
}
dump_job() { ctl --json dump lib0 "$1" | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p'; }
slow_job() { rm -f go; dump_job vol.slow; }

SOCK="$T/ctld.sock"
DB="$T/catalog.db"
printf 'CONTROL=%s\n' "$SOCK" >engine.env
"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 64M --barcode-prefix A >/dev/null
head -c 12582912 /dev/urandom >big.bin
# A slow source whose bytes are known: 12 MiB of big.bin, a MiB every
# 0.35 s (the media server reports its bytes between blocks), the last
# one only once the test says so (touch go; 300 s at most), the rest at
# once from then on: what a test does mid-dump happens mid-dump, and
# nothing is waited out. slow_job starts its dump (go removed first: a
# source a killed media server left behind ends on its closed pipe).
cat >slow.sh <<EOF
i=0 w=\$((\$(date +%s) + 300))
while [ \$i -lt 12 ]; do
	while [ \$i = 11 ] && [ ! -e $T/go ] && [ \$(date +%s) -lt \$w ]; do sleep 0.1; done
	dd if=$T/big.bin bs=1048576 skip=\$i count=1 2>/dev/null
	[ -e $T/go ] || sleep 0.35
	i=\$((i + 1))
done
EOF
# A source that never ends by itself (aborted in 4).
printf 'while :; do head -c 1048576 %s/big.bin; sleep 0.3; done\n' "$T" >endless.sh
start_ctld "$SOCK" "$DB" ctld.log
ctl tape-add default A00001 A00002 A00003 A00004 A00005 A00006 >/dev/null
ctl entity-add vol.slow "cmd:sh $T/slow.sh" >/dev/null
ctl entity-add vol.quick "cmd:head -c 300000 $T/big.bin" >/dev/null
ctl entity-add vol.endless "cmd:sh $T/endless.sh" >/dev/null
start_engine engine.env engine.log
poll 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\""'
ok "abs-ctld and a media server on a vtape library"

# 1. abs-ctld killed mid-dump, started again: the media server goes on,
# comes back, reports the job; the job ends done, its dump complete.
j=$(slow_job)
poll dumping
kill -9 "$CPID"
wait "$CPID" 2>/dev/null || true
start_ctld "$SOCK" "$DB" ctld.log
grep -q "1 running jobs wait for their media servers" ctld.log ||
	{ cat ctld.log; fail "abs-ctld did not take the running job back"; }
touch go
poll "job_ended $j"
[ "$(job_state "$j")" = done ] || { tail engine.log; ctl status; fail "job $j after the crash: $(job_state "$j")"; }
[ "$(sql "$DB" "SELECT state FROM dumps WHERE job_id = $j")" = complete ] ||
	{ sql "$DB" 'SELECT * FROM dumps'; fail "the dump of job $j is not complete"; }
check_db "$DB"
r=$(ctl --json restore vol.slow --to "$T/slow.out" --drive lib0 | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
poll "job_ended $r"
head -c 12582912 big.bin | cmp - slow.out || fail "the dump written across the crash does not restore"
ok "abs-ctld killed mid-dump: job $j resumed and done, dump complete and restored byte-exact"

# 1b. abs-ctld killed mid-dump and back only after the dump ended: the
# media server keeps the result and reports it with its journal.
dumps=$(grep -c '^dump ' journal-lib0.log)
j=$(slow_job)
poll dumping
kill -9 "$CPID"
wait "$CPID" 2>/dev/null || true
touch go
poll '[ "$(grep -c "^dump " journal-lib0.log)" -gt "$dumps" ]'
start_ctld "$SOCK" "$DB" ctld.log
# The grace period may run out first (the media server's backoff): the
# report that comes later still says how the job ended.
poll 'grep -q "job $j done while abs-ctld was away" ctld.log'
[ "$(job_state "$j")" = done ] || { tail engine.log; fail "job $j that ended while abs-ctld was away: $(job_state "$j")"; }
[ "$(sql "$DB" "SELECT state FROM dumps WHERE job_id = $j")" = complete ] ||
	{ sql "$DB" 'SELECT dump_uid, job_id, state FROM dumps'; fail "the dump of job $j is not complete (or lost its job)"; }
check_db "$DB"
ok "abs-ctld away until the dump ended: job $j done, its dump complete under its job id"

# 1c. Both killed after the dump ended but before its result was heard:
# the media server started again reports the job from JOURNAL.job.
dumps=$(grep -c '^dump ' journal-lib0.log)
j=$(slow_job)
poll dumping
kill -9 "$CPID"
wait "$CPID" 2>/dev/null || true
touch go
poll '[ "$(grep -c "^dump " journal-lib0.log)" -gt "$dumps" ]'
poll 'grep -q "\"state\":\"done\"" journal-lib0.log.job'
kill -9 "$EPID"
wait "$EPID" 2>/dev/null || true
start_ctld "$SOCK" "$DB" ctld.log
start_engine engine.env engine.log
poll 'grep -q "job $j done while abs-ctld was away" ctld.log'
[ "$(job_state "$j")" = done ] || fail "job $j reported after both were killed: $(job_state "$j")"
[ "$(sql "$DB" "SELECT state FROM dumps WHERE job_id = $j")" = complete ] ||
	fail "the dump of job $j is not complete"
[ ! -e journal-lib0.log.job ] || fail "the reported job is still kept in journal-lib0.log.job"
check_db "$DB"
ok "both killed after the dump ended: job $j reported done by the restarted media server"

# 2. Both killed mid-dump, only abs-ctld back: the job waits, can be
# aborted; another waits out the (short, from here on) grace period and
# fails; nothing stays reserved; the media server back, the next dump runs.
j=$(slow_job)
poll dumping
kill -9 "$EPID" "$CPID"
wait "$CPID" "$EPID" 2>/dev/null || true
start_ctld "$SOCK" "$DB" ctld.log
[ "$(job_state "$j")" = running ] || fail "job $j is $(job_state "$j") during the grace period"
ctl abort "$j" | grep -q aborted || fail "a job whose media server is gone cannot be aborted"
[ "$(job_state "$j")" = aborted ] || fail "job $j: $(job_state "$j") after abort"
check_db "$DB"
j=$(sql "$DB" "INSERT INTO jobs (kind, drive_id, entity_id, state, started)
	SELECT 'dump', d.id, e.id, 'running', '2026-01-01T00:00:00Z' FROM drives d, entities e
	WHERE d.name = 'lib0' AND e.name = 'vol.slow'; SELECT last_insert_rowid();")
sql "$DB" "UPDATE tapes SET state = 'reserved', reserved_from = 'appendable', job_id = $j
	WHERE label = 'A00001'; UPDATE tapes SET state = 'reserved' WHERE label = 'A00006'"
kill -9 "$CPID"
wait "$CPID" 2>/dev/null || true
GRACE=$SHORT_GRACE
start_ctld "$SOCK" "$DB" ctld.log
[ "$(sql "$DB" "SELECT state FROM tapes WHERE label = 'A00006'")" = blank ] ||
	fail "a reservation without a job was not given back at start"
[ "$(sql "$DB" "SELECT state FROM tapes WHERE label = 'A00001'")" = reserved ] ||
	fail "the waiting job's tape was given away during the grace period"
poll "job_ended $j"
[ "$(job_state "$j")" = failed ] || fail "job $j after the grace period: $(job_state "$j")"
[ "$(sql "$DB" "SELECT state FROM tapes WHERE label = 'A00001'")" = appendable ] ||
	fail "the failed job's tape is $(sql "$DB" "SELECT state FROM tapes WHERE label = 'A00001'")"
check_db "$DB"
start_engine engine.env engine.log
poll 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\""'
j=$(dump_job vol.quick)
poll "job_ended $j"
[ "$(job_state "$j")" = done ] || fail "the next dump after the crashes: $(job_state "$j")"
ok "both killed: the orphan job aborted, another failed after $GRACE s, tapes given back, the next dump done"

# 3. The media server killed mid-dump (abs-ctld stays): the job fails at
# the latest after the grace period, or at once when it comes back
# without it; nothing stays reserved.
j=$(slow_job)
poll dumping
kill -9 "$EPID"
wait "$EPID" 2>/dev/null || true
poll "job_ended $j"
[ "$(job_state "$j")" = failed ] || fail "job $j of a killed media server: $(job_state "$j")"
check_db "$DB"
start_engine engine.env engine.log
poll 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\""'
j=$(slow_job)
poll dumping
kill -9 "$EPID"
wait "$EPID" 2>/dev/null || true
start_engine engine.env engine.log
poll "job_ended $j"
[ "$(job_state "$j")" = failed ] || fail "job $j: $(job_state "$j")"
ctl --json jobs | grep -q "the media server was restarted mid-job" || fail "the job's end does not say why"
check_db "$DB"
j=$(dump_job vol.quick)
poll "job_ended $j"
[ "$(job_state "$j")" = done ] || fail "the next dump: $(job_state "$j")"
ok "media server killed mid-dump: job failed, no reservation left, the next dump done"

# 3a. A damaged job file (by hand, by the disk): set aside and said, and
# the media server registers without it, for every kind of damage.
for bad in '{"id":7,"state":"failed"}' 'garbage{' \
    "{\"id\":8,\"kind\":\"dump\",\"entity\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}" \
    '{"id":9,"kind":"format","entity":"vol.quick","state":"done"}'; do
	kill "$EPID"
	wait "$EPID" 2>/dev/null || true
	rm -f journal-lib0.log.job.bad-*
	printf '%s' "$bad" >journal-lib0.log.job
	start_engine engine.env engine.log
	poll 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\""'
	kill -0 "$EPID" || fail "the media server did not start past a damaged job file"
	[ ! -e journal-lib0.log.job ] && ls journal-lib0.log.job.bad-* >/dev/null 2>&1 ||
		fail "a damaged job file was not set aside: $(ls journal-lib0.log.job*)"
done
grep -q "journal-lib0.log.job: .*moved aside as" engine.log || fail "the setting aside was not said"
ok "a damaged job file is set aside and said; the media server registers without it (4 kinds)"

# 3b. SIGHUP with the same master: the media server registers again on a
# new connection (the old one is taken as stale, whichever abs-ctld sees
# first) and the job goes on to its end.
j=$(slow_job)
poll dumping
kill -HUP "$EPID"
touch go
poll "job_ended $j"
[ "$(job_state "$j")" = done ] || { tail engine.log ctld.log; fail "job $j across a SIGHUP: $(job_state "$j")"; }
grep -q "SIGHUP: registering drive lib0" engine.log || fail "the media server did not act on SIGHUP"
check_db "$DB"
ok "SIGHUP to the same master mid-dump: registered again, job $j done"

# 4. SIGHUP moves the media server to a second abs-ctld mid-dump; the job
# is listed there under that master's own id and aborted there; the first
# master fails it after the grace period.
SOCK2="$T/ctld2.sock"
DB2="$T/catalog2.db"
C1=$CPID
start_ctld "$SOCK2" "$DB2" ctld2.log "--journal $T/journal2"	# not the first's
"$CTL" --socket "$SOCK2" entity-add vol.endless "cmd:sh $T/endless.sh" >/dev/null
j=$(dump_job vol.endless)
poll dumping
printf 'CONTROL=%s\n' "$SOCK2" >engine.env
kill -HUP "$EPID"
SOCK=$SOCK2
poll 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"writing\""'
j2=$(ctl --json jobs | tr '{' '\n' | grep '"state":"running"' | sed -n 's/.*"id":\([0-9]*\),.*/\1/p')
[ -n "$j2" ] || { ctl jobs; fail "the second master does not list the moved job"; }
ctl --json jobs | grep -q "job $j of master" || fail "the moved job does not say where it came from"
kill -0 "$EPID" || fail "the media server died moving"
ctl abort "$j2" >/dev/null
poll "job_ended $j2"
[ "$(job_state "$j2")" = aborted ] || fail "the moved job $j2: $(job_state "$j2")"
"$ENGINE" list --device "vtape:$T/lib/drive0" >/dev/null || fail "the cartridge is unreadable after the abort"
[ "$(sql "$DB2" 'PRAGMA integrity_check')" = ok ] || fail "second catalog: integrity_check"
SOCK="$T/ctld.sock"
poll "job_ended $j"
[ "$(job_state "$j")" = failed ] || fail "the first master's job $j: $(job_state "$j")"
check_db "$DB"
ok "SIGHUP moved the media server mid-dump; job $j listed as $j2 there and aborted; the first master failed it"

# 5. A stalled master (SIGSTOP: it accepts, never answers). abs-ctl gives
# up after --timeout with exit 6; the media server's calls time out
# (TIMEOUT=1 in its configuration), its job goes on to its end on tape,
# and once the master answers again it registers and reports the job.
printf 'CONTROL=%s\nTIMEOUT=1\n' "$SOCK" >engine.env
kill -HUP "$EPID"
poll 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\""'
dumps=$(grep -c '^dump ' journal-lib0.log)
late=$(grep -c "did not answer" engine.log || true)
j=$(slow_job)
poll dumping
kill -STOP "$C1"
rc=0; ctl --timeout 1 status >stalled.out 2>&1 || rc=$?
[ $rc = 6 ] || fail "abs-ctl against a stalled abs-ctld exits $rc, not 6: $(cat stalled.out)"
grep -q "did not answer" stalled.out || fail "abs-ctl does not say abs-ctld did not answer: $(cat stalled.out)"
# The media server's calls time out while its dump runs to its end (the
# source let go now: a dump held at its gate may call nobody meanwhile,
# but its end is reported, and that call times out).
touch go
poll '[ "$(grep -c "did not answer" engine.log)" -gt "$late" ]'
poll '[ "$(grep -c "^dump " journal-lib0.log)" -gt "$dumps" ]'
kill -0 "$EPID" || fail "the media server died on a stalled master"
grep -q "did not answer" engine.log || { tail engine.log; fail "the media server did not time out"; }
kill -CONT "$C1"
poll '[ "$(job_state "$j")" = done ]'
[ "$(sql "$DB" "SELECT state FROM dumps WHERE job_id = $j")" = complete ] ||
	fail "the dump of job $j written while abs-ctld was stopped is not complete"
check_db "$DB"
ok "a stalled abs-ctld: abs-ctl exit 6, the media server timed out, its job $j went on to done"

kill "$C1" "$CPID"
wait "$C1" "$CPID" 2>/dev/null || true
if grep -l "Sanitizer\|runtime error" ctld.log ctld2.log engine.log; then
	cat ctld.log ctld2.log engine.log >&2
	fail "sanitizer reports"
fi
ok "no sanitizer reports"
