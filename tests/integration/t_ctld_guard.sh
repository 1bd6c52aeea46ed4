# abs-ctld guards itself against what others put in its way: a second
# abs-ctld on the same catalog or the same socket is refused (naming the
# first's pid) while the first one's dump runs on, untouched.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T"

# start_ctld SOCKET DB LOG [ARGS...]: abs-ctld in the background (CPID).
start_ctld() {
	s=$1 db=$2 lg=$3
	shift 3
	"$CTLD" --socket "$s" --db "$db" --foreground "$@" 2>>"$lg" &
	CPID=$!
	PIDS="$PIDS $CPID"
	i=0
	until "$CTL" --socket "$s" whoami >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 200 ] || { cat "$lg" >&2; fail "abs-ctld on $s did not start"; }
		sleep 0.1
	done
}
ctl() { "$CTL" --socket "$SOCK" "$@"; }
poll() { i=0; until eval "$1"; do i=$((i + 1)); [ $i -lt 300 ] || fail "timed out: $1"; sleep 0.1; done; }
job_state() { ctl --json jobs --count 100 | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
job_ended() { case $(job_state "$1") in done|failed|aborted) true ;; *) false ;; esac; }
dumping() { ctl --json status | grep -q '"drive":"lib0"[^}]*"state":"writing"[^}]*"bytes":[1-9]'; }
tape_state() { ctl --json tapes | tr '{' '\n' | grep "\"label\":\"$1\"" | sed -n 's/.*"state":"\([a-z-]*\)".*/\1/p'; }
# refused PATTERN ARGS...: abs-ctld with ARGS must exit (in 20 s) saying PATTERN.
refused() {
	pat=$1
	shift
	expect_fail "$pat" timeout 20 "$CTLD" --foreground "$@"
}

SOCK="$T/ctld.sock"
DB="$T/catalog.db"
printf 'CONTROL=%s\n' "$SOCK" >engine.env
"$VTAPE" new-library lib --slots 4 --drives 1 --capacity 64M --barcode-prefix A >/dev/null
head -c 8388608 /dev/urandom >big.bin
# A slow source: 8 MiB over about 4 s.
cat >slow.sh <<EOF
i=0
while [ \$i -lt 8 ]; do
	dd if=$T/big.bin bs=1048576 skip=\$i count=1 2>/dev/null
	sleep 0.5
	i=\$((i + 1))
done
EOF
start_ctld "$SOCK" "$DB" ctld.log --grace 2
FIRST=$CPID
ctl tape-add default A00001 A00002 A00003 >/dev/null
ctl entity-add vol.slow "cmd:sh $T/slow.sh" >/dev/null
"$ENGINE" serve --config engine.env --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal-lib0.log" 2>>engine.log &
PIDS="$PIDS $!"
poll 'ctl --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\""'

# H-18: a second abs-ctld while the first one's dump runs.
j=$(ctl --json dump lib0 vol.slow | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
poll dumping
held=$(ctl --json status | sed -n 's/.*"reserved":"\([A-Z0-9]*\)".*/\1/p')
[ -n "$held" ] || held=$(ctl --json tapes | tr '{' '\n' | sed -n 's/.*"label":"\([A-Z0-9]*\)".*"state":"reserved".*/\1/p' | head -n1)
[ -n "$held" ] || fail "no tape reserved for job $j: $(ctl --json tapes)"
refused "catalog $DB is in use by another abs-ctld (pid $FIRST holds $DB.lock)" \
	--socket "$T/second.sock" --db "$DB" --grace 1
refused "catalog $DB is in use by another abs-ctld (pid $FIRST" \
	--socket "$T/second.sock" --db "$DB" --crippled --journal "$T/j2"
refused "socket $SOCK is in use by another abs-ctld (pid $FIRST holds $SOCK.lock)" \
	--socket "$SOCK" --db "$T/other.db"
# Without its lock file (a tmp cleaner): the socket itself is asked.
rm "$SOCK.lock"
refused "socket $SOCK is in use by a running abs-ctld (pid $FIRST)" \
	--socket "$SOCK" --db "$T/other.db"
[ -S "$SOCK" ] || fail "the first abs-ctld's socket was removed"
# Nor does anything else at the socket path get removed.
echo precious >notasocket
refused "notasocket exists and is not a socket" --socket "$T/notasocket" --db "$T/third.db"
[ "$(cat notasocket)" = precious ] || fail "a file at --socket was touched"
[ ! -e second.sock ] || fail "a refused abs-ctld left its socket"
[ "$(tape_state "$held")" = reserved ] || fail "$held is $(tape_state "$held") while job $j writes it"
poll "job_ended $j"
[ "$(job_state "$j")" = done ] || { tail engine.log ctld.log; fail "job $j: $(job_state "$j")"; }
grep -q "did not report" ctld.log && fail "the first abs-ctld's log: $(grep 'did not report' ctld.log)"
ok "second abs-ctld on the catalog and on the socket refused with pid $FIRST; job $j done, $held stayed reserved"

# A daemon (forked) names its own pid in its lock files, not its parent's.
"$CTLD" --socket "$T/d.sock" --db "$T/d.db" 2>d.log || fail "abs-ctld as a daemon: $(cat d.log)"
poll '[ -S "$T/d.sock" ] && "$CTL" --socket "$T/d.sock" whoami >/dev/null 2>&1'
dpid=$(sed -n 's/^pid=//p' "$T/d.db.lock")
[ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null || fail "d.db.lock names no live pid: $(cat "$T/d.db.lock")"
PIDS="$PIDS $dpid"
grep -q abs-ctld "/proc/$dpid/cmdline" || fail "pid $dpid is not abs-ctld"
refused "catalog $T/d.db is in use by another abs-ctld (pid $dpid holds" --socket "$T/d2.sock" --db "$T/d.db"
kill "$dpid"
poll '! kill -0 "$dpid" 2>/dev/null'
start_ctld "$T/d.sock" "$T/d.db" d.log
kill "$CPID"
ok "a forked abs-ctld is named by its own pid ($dpid); after it stopped the catalog is free again"
