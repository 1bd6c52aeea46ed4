# Every commit point reads back what it covers (docs/NIGHTLY.md "Commit
# points"), whatever brought it: abs-ctld with its default --commit-every
# (1000), one media server on a vtape library. For each trigger a dump
# V is written behind an immediate filemark (its job uncommitted), then,
# behind the media server's back, the last byte of V's part on the
# cartridge is flipped; the trigger's commit point must read it back and
# find it: V's job failed (to be dumped again), not done, no complete
# dump of V in the catalog, a verify-mismatch error of V's job, the
# cartridge out of service. Triggers:
#   clean: three dumps stay uncommitted (the default is no commit point
#      per dump), then the drive idle: done, each read back (a verified
#      record with its dump);
#   idle: the drive idle (COMMIT_IDLE=3 in the media server's --config);
#   nth: the dump that closes a commit point (COMMIT_EVERY=3): its own
#      check and those it covers in one pass;
#   restore: a restore job on the drive (COMMIT_IDLE=600 from here on);
#   sigterm: the media server stopped with V held;
#   register: SIGHUP between jobs (COMMIT_IDLE=600: nothing else comes
#      first), the media server registers again;
#   move: SIGHUP with another CONTROL= (a second abs-ctld) between jobs.
# Afterwards every complete dump restores equal to its source.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
DB="$T/catalog.db"
q() { sqlite3 "$DB" "$1"; }
wait_cond() { poll_until "$1" 300 || { tail -n 40 "$T/engine.log" >&2; "$CTL" jobs >&2; fail "timed out after 300 s: $1"; }; }
job_state() { "$CTL" --json jobs --count 300 | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
ended() { case $(job_state "$1") in done|failed|aborted) true ;; *) false ;; esac; }
dump_jobs() { "$CTL" --json dump d0 "$@" | sed -n 's/.*"jobs":\[\([0-9,]*\)\].*/\1/p' | tr , ' '; }
complete_of() { q "SELECT count(*) FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE e.name = '$1' AND d.state = 'complete'"; }
mismatch_of() { q "SELECT count(*) FROM error_events WHERE kind = 'verify-mismatch' AND job_id = $1"; }

"$CTLD" --help 2>&1 | grep -q "default 1000" || fail "abs-ctld --help does not say the default --commit-every is 1000"
"$CTLD" --socket "$T/ctld.sock" --db "$DB" --foreground --grace 5 \
	--commit-secs 0 2>>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_cond '"$CTL" whoami >/dev/null 2>&1'
conf() { printf 'CONTROL=%s\n' "$T/ctld.sock" >"$T/ms.env"; for l in "$@"; do echo "$l" >>"$T/ms.env"; done; }
start_engine() {
	ABS_TAPE_TRACE="$T/trace" "$ENGINE" serve --config "$T/ms.env" --drive d0 \
		--device "vtape:$T/lib/drive0" --log "$T/journal.log" \
		2>>"$T/engine.log" &
	EPID=$!
	PIDS="$PIDS $EPID"
	wait_cond '"$CTL" --json status | grep -q "\"drive\":\"d0\",[^}]*\"state\":\"idle\""'
}
"$VTAPE" new-library lib --slots 10 --drives 1 --capacity 200M --barcode-prefix A >/dev/null
"$CTL" tape-add default A00001 A00002 A00003 A00004 A00005 A00006 A00007 A00008 A00009 A00010 >/dev/null
mkdir src
n=0
for e in c1 c2 c3 vi gi vn gn nn vr gr vs gs ve vm after; do
	n=$((n + 1))
	head -c $((30000 + n * 7919)) /dev/urandom >"src/$e"
	printf 'while [ ! -e %s/gate.%s ]; do sleep 0.1; done\ncat %s/src/%s\n' \
		"$T" "$e" "$T" "$e" >"src/$e.sh"
	"$CTL" entity-add "$e" "cmd:sh $T/src/$e.sh" >/dev/null
	case $e in g*) ;; *) touch "gate.$e" ;; esac
done
conf COMMIT_IDLE=3
start_engine
ok "abs-ctld with its default --commit-every (1000), a media server (COMMIT_IDLE=3)"

# corrupt ENTITY: flip the last byte of its part on the cartridge (the
# last data block: every sample has it).
corrupt() {
	f=$(grep -l "Entity $1," "$T"/lib/carts/*/file[0-9]*[0-9] 2>/dev/null | head -n 1)
	[ -n "$f" ] || fail "no part of $1 on a cartridge"
	flip "$f" $(($(stat -c %s "$f") - 1))
	CART=$(basename "$(dirname "$f")")
}
# caught TRIGGER JOB ENTITY: the commit point found the flipped block.
caught() {
	wait_cond "ended $2"
	[ "$(job_state "$2")" = failed ] || { tail -n 30 "$T/engine.log" >&2; fail "$1: job $2 of $3 is $(job_state "$2") after a bad read back"; }
	[ "$(complete_of "$3")" -eq 0 ] || fail "$1: $3 has a complete dump after a bad read back"
	"$CTL" --json jobs --count 300 | tr '{' '\n' | grep "\"id\":$2," |
		grep -q "does not read back as written\|lost before a commit point\|registered again" ||
		fail "$1: job $2 does not say why it failed: $("$CTL" --json jobs --count 300 | tr '{' '\n' | grep "\"id\":$2,")"
	[ "$(q "SELECT state FROM tapes WHERE label = '$CART'")" = out-of-service ] ||
		fail "$1: cartridge $CART is $(q "SELECT state FROM tapes WHERE label = '$CART'") after a bad read back"
}

# clean: three dumps held, then one idle commit point reads each back.
jobs=$(dump_jobs c1 c2 c3)
for j in $jobs; do wait_cond "ended $j"; [ "$(job_state $j)" = done ] || fail "job $j: $(job_state $j)"; done
for e in c1 c2 c3; do
	[ "$(complete_of $e)" -eq 1 ] || fail "$e: $(complete_of $e) complete dumps"
	[ "$(q "SELECT count(*) FROM verifications v JOIN dumps d ON d.id = v.dump_id JOIN entities e ON e.id = d.entity_id WHERE e.name = '$e' AND v.bad = 0 AND v.checked >= 1")" -ge 1 ] ||
		fail "$e: no read back recorded with its dump"
done
[ "$(grep -c '^F$' "$T/trace")" -eq 1 ] || fail "$(grep -c '^F$' "$T/trace") synchronous filemarks for three dumps, one expected"
[ "$(grep -c '^r$' "$T/trace")" -eq 1 ] || fail "$(grep -c '^r$' "$T/trace") read backs for one commit point"
ok "clean: 3 dumps, one synchronous filemark (the default commit points), one idle commit point read each back (verified with its dump), done"

# idle
set -- $(dump_jobs vi gi)
jv=$1 jg=$2
wait_cond '[ "$(job_state $jv)" = uncommitted ] && [ "$(job_state $jg)" = running ]'
corrupt vi
touch gate.gi
caught idle "$jv" vi
wait_cond "ended $jg"
[ "$(job_state $jg)" = failed ] || fail "idle: job $jg, covered by the failed commit point, is $(job_state $jg)"
[ "$(mismatch_of "$jv")" -ge 1 ] || fail "idle: no verify-mismatch error of job $jv"
ok "idle: the drive's idle commit point read vi back, found the flipped block on $CART: jobs $jv, $jg failed, $CART out of service"

# nth: COMMIT_EVERY=3: nn closes the commit point that covers vn and gn.
conf COMMIT_IDLE=600 COMMIT_EVERY=3
kill -HUP "$EPID"
wait_cond 'grep -q "SIGHUP: registering drive d0" "$T/engine.log"'
wait_cond '"$CTL" --json status | grep -q "\"drive\":\"d0\",[^}]*\"state\":\"idle\""'
set -- $(dump_jobs vn gn nn)
jv=$1 jg=$2 jn=$3
wait_cond '[ "$(job_state $jv)" = uncommitted ] && [ "$(job_state $jg)" = running ]'
corrupt vn
touch gate.gn
caught nth "$jv" vn
wait_cond "ended $jg"
[ "$(job_state $jg)" = failed ] || fail "nth: job $jg is $(job_state $jg)"
# nn itself is dumped again on another cartridge (its source can be read
# again), there the first of the next commit point's dumps.
wait_cond '[ "$(job_state $jn)" = uncommitted ] || ended $jn'
[ "$(mismatch_of "$jv")" -ge 1 ] || fail "nth: no verify-mismatch error of job $jv"
"$CTL" --json jobs --count 300 | tr '{' '\n' | grep "\"id\":$jv," | grep -q "block 1 of tape file [0-9]* on $CART (dump" ||
	fail "nth: job $jv does not name the bad block of this commit point"
ok "nth: the dump closing the commit point read vn back with its own: jobs $jv, $jg failed, nn $(job_state $jn), $CART out of service"

# Back to the default every: a registration's commit point covers nn.
conf COMMIT_IDLE=600 COMMIT_EVERY=1000
kill -HUP "$EPID"
wait_cond "ended $jn"
[ "$(job_state $jn)" = done ] || fail "nn: job $jn is $(job_state $jn)"

# restore: a restore job on the drive is a commit point first.
set -- $(dump_jobs vr gr)
jv=$1 jg=$2
wait_cond '[ "$(job_state $jv)" = uncommitted ] && [ "$(job_state $jg)" = running ]'
corrupt vr
jr=$("$CTL" --json restore nn --to "$T/nn.out" --drive d0 | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
[ -n "$jr" ] || fail "restore nn: no job"
touch gate.gr
caught restore "$jv" vr
wait_cond "ended $jr"
[ "$(job_state $jr)" = done ] || fail "restore: job $jr is $(job_state $jr)"
cmp src/nn nn.out || fail "restore of nn differs"
[ "$(mismatch_of "$jv")" -ge 1 ] || fail "restore: no verify-mismatch error of job $jv"
ok "restore: the commit point before it read vr back: job $jv failed, $CART out of service; the restore done"

# sigterm: the media server stopped with vs held and gs running.
set -- $(dump_jobs vs gs)
jv=$1 jg=$2
wait_cond '[ "$(job_state $jv)" = uncommitted ] && [ "$(job_state $jg)" = running ]'
corrupt vs
kill -TERM "$EPID"
wait_cond '! kill -0 $EPID 2>/dev/null'
caught sigterm "$jv" vs
[ "$(mismatch_of "$jv")" -ge 1 ] || fail "sigterm: no verify-mismatch error of job $jv"
touch gate.gs
start_engine
ok "sigterm: the stop's commit point read vs back: job $jv failed, $CART out of service"

# register: SIGHUP between jobs; nothing else comes first (COMMIT_IDLE=600).
set -- $(dump_jobs ve)
jv=$1
wait_cond '[ "$(job_state $jv)" = uncommitted ]'
corrupt ve
kill -HUP "$EPID"
caught register "$jv" ve
grep -q "commit point failed: read-after-write check at the commit point" "$T/engine.log" ||
	fail "register: the media server does not say its commit point's read back failed"
ok "register: the commit point before registering again read ve back: job $jv failed, $CART out of service"

# move: SIGHUP with another CONTROL= between jobs: the commit point comes
# before the media server leaves, and the master that gave the job hears
# how it went (here: the read back failed) while it is still its master.
"$CTLD" --socket "$T/other.sock" --db "$T/other.db" --foreground --grace 5 \
	2>>"$T/other.log" &
OPID=$!
PIDS="$PIDS $OPID"
wait_cond '"$CTL" --socket "$T/other.sock" whoami >/dev/null 2>&1'
set -- $(dump_jobs vm)
jv=$1
wait_cond '[ "$(job_state $jv)" = uncommitted ]'
corrupt vm
printf 'CONTROL=%s\nCOMMIT_IDLE=600\n' "$T/other.sock" >"$T/ms.env"
kill -HUP "$EPID"
caught move "$jv" vm
[ "$(mismatch_of "$jv")" -ge 1 ] || fail "move: no verify-mismatch error of job $jv"
grep -q "commit point (moving to another master)\|the commit point failed" "$T/engine.log" ||
	fail "move: no commit point before the move"
wait_cond '"$CTL" --socket "$T/other.sock" --json status | grep -q "\"drive\":\"d0\",[^}]*\"state\":\"idle\""'
conf COMMIT_IDLE=600
kill -HUP "$EPID"
wait_cond '"$CTL" --json status | grep -q "\"drive\":\"d0\",[^}]*\"state\":\"idle\""'
ok "move: the commit point before moving to another master read vm back: job $jv failed at its own master, $CART out of service"

# The drive goes on on another cartridge; every complete dump restores.
ja=$(dump_jobs after)
wait_cond '[ "$(job_state $ja)" = uncommitted ] || ended $ja'
conf COMMIT_IDLE=3
kill -HUP "$EPID"
wait_cond "ended $ja"
[ "$(job_state $ja)" = done ] || fail "after: job $ja is $(job_state $ja)"
for e in $(q "SELECT DISTINCT e.name FROM dumps d JOIN entities e ON e.id = d.entity_id JOIN parts p ON p.dump_id = d.id JOIN tapes t ON t.id = p.tape_id WHERE d.state = 'complete' AND t.state <> 'out-of-service' ORDER BY e.name"); do
	j=$("$CTL" --json restore "$e" --to "$T/$e.all" --drive d0 | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
	wait_cond "ended $j"
	cmp "src/$e" "$e.all" || fail "restore of $e differs"
done
ok "the drive goes on on another cartridge; every complete dump restores equal to its source"
