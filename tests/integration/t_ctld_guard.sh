# abs-ctld guards itself against what others put in its way: a second
# abs-ctld on the same catalog or the same socket is refused (naming the
# first's pid) while the first one's dump runs on, untouched; in crippled
# mode, a FIFO, a /dev/zero link, a directory or a huge file named like a
# dump log or like one of its own journal files never hangs or floods it;
# a user who can reach the socket cannot take every client slot; one
# killed while its exception command runs starts again at once.
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
	w_end=$(deadline)
	until "$CTL" --socket "$s" whoami >/dev/null 2>&1; do
		before "$w_end" || { cat "$lg" >&2; fail "abs-ctld on $s did not start"; }
		sleep 0.1
	done
}
ctl() { "$CTL" --socket "$SOCK" "$@"; }
poll() { poll_until "$1" || fail "timed out: $1"; }
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
# A source that runs until told (touch $T/go): what is checked while it
# runs happens while it runs, however slow the machine (ASan, load).
cat >slow.sh <<EOF
while [ ! -e $T/go ]; do
	head -c 262144 $T/big.bin
	sleep 0.2
done
rm -f $T/go
EOF
start_ctld "$SOCK" "$DB" ctld.log --grace 2
FIRST=$CPID
ctl tape-add default A00001 A00002 A00003 >/dev/null
ctl entity-add vol.slow "cmd:sh $T/slow.sh" >/dev/null
"$ENGINE" serve --config engine.env --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal-lib0.log" 2>>engine.log &
EPID=$!
PIDS="$PIDS $EPID"
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
[ "$(job_state "$j")" = running ] || fail "job $j is $(job_state "$j") while it runs"
touch go
poll "job_ended $j"
[ "$(job_state "$j")" = done ] || { tail engine.log ctld.log; fail "job $j: $(job_state "$j")"; }
grep -q "did not report" ctld.log && fail "the first abs-ctld's log: $(grep 'did not report' ctld.log)"
ok "second abs-ctld on the catalog and on the socket refused with pid $FIRST; job $j done, $held stayed reserved"

# H-22: SIGHUP while the configuration is a FIFO (or a /dev/zero link):
# the media server keeps its master and its dump runs on.
j=$(ctl --json dump lib0 vol.slow | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
poll dumping
mv engine.env engine.env.good
mkfifo engine.env
kill -HUP "$EPID"
poll 'grep -q "SIGHUP: .*engine.env: not a regular file.*; staying with $SOCK" engine.log'
rm engine.env
ln -s /dev/zero engine.env
kill -HUP "$EPID"
poll 'grep -q "SIGHUP: .*engine.env: not a regular file.*; staying with $SOCK" engine.log'
b1=$(ctl --json status | sed -n 's/.*"drive":"lib0"[^}]*"bytes":\([0-9]*\).*/\1/p')
poll '[ "$(ctl --json status | sed -n "s/.*\"drive\":\"lib0\"[^}]*\"bytes\":\([0-9]*\).*/\1/p")" -gt "$b1" ]'
touch go
poll "job_ended $j"
[ "$(job_state "$j")" = done ] || { tail engine.log; fail "job $j after SIGHUP with a FIFO config: $(job_state "$j")"; }
rm engine.env
mv engine.env.good engine.env
ok "SIGHUP with a FIFO and a /dev/zero config: the old master kept, job $j done"

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

# H-15: a catalog missing while the journal directory holds a catalog's
# cache is a catalog lost, not a new one, unless --new-catalog says so.
mkdir h15
SOCK="$T/h15.sock"
start_ctld "$SOCK" "$T/h15/c.db" h15.log
ctl entity-add vol.keep "cmd:true" >/dev/null
kill "$CPID"
wait "$CPID" 2>/dev/null || true
grep -q '"vol.keep"' h15/crippled/catalog-cache.json || fail "no cache written: $(cat h15/crippled/catalog-cache.json)"
rm -f h15/c.db h15/c.db-wal h15/c.db-shm
start_ctld "$SOCK" "$T/h15/c.db" h15.log
ctl status | grep -q "CRIPPLED MODE" || fail "a lost catalog did not make crippled mode: $(ctl status)"
grep -q "catalog $T/h15/c.db is missing but the journal directory holds a catalog's cache" h15.log ||
	{ cat h15.log; fail "the lost catalog not said"; }
[ ! -e h15/c.db ] || fail "a new catalog was made over the lost one"
grep -q '"vol.keep"' h15/crippled/catalog-cache.json || fail "the cache was overwritten"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
start_ctld "$SOCK" "$T/h15/c.db" h15.log --new-catalog
st=$(ctl status) || fail "status with --new-catalog"
case $st in *"CRIPPLED MODE"*) fail "--new-catalog: still crippled: $st" ;; esac
ents=$(ctl --json entities) || fail "entities with --new-catalog"
case $ents in *vol.keep*) fail "the new catalog has the old entity: $ents" ;; esac
grep -q '"vol.keep"' h15/crippled/catalog-cache.json.old || fail "the old cache was not kept aside"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
ok "a missing catalog with a catalog's cache: crippled, nothing made or overwritten; --new-catalog makes one and keeps the old cache aside"

# H-14: crippled mode's journal directory holds what others put there.
J="$T/hj"
mkdir -p "$J"
"$VTAPE" new-cartridge cart --barcode G1 --capacity 64M >/dev/null
"$ENGINE" label --device "vtape:$T/cart" --label G00001 >/dev/null
"$ENGINE" dump --device "vtape:$T/cart" --entity e2 --source "cmd:head -c 200000 $T/big.bin" \
	--log "$J/good.dumplog" --quiet
grep -q '^dump .*entity=e2 .*status=complete' "$J/good.dumplog" || fail "no dump line: $(cat "$J/good.dumplog")"
mkfifo "$J/evil.dumplog"
ln -s /dev/zero "$J/zero.dumplog"
mkdir "$J/dir.dumplog"
head -c 1048576 /dev/urandom >"$J/rand.dumplog"
# A line of 100 KB, then the dump's lines again.
{ head -c 102400 /dev/zero | tr '\0' x; echo; cat "$J/good.dumplog"; } >"$J/long.dumplog"
# 200 MB of holes without a newline, the dump's lines at the end.
truncate -s 200M "$J/huge.dumplog"
{ echo; cat "$J/good.dumplog"; } >>"$J/huge.dumplog"
ln -s good.dumplog "$J/link.dumplog"	# a symlink to a dump log is fine
SOCK="$T/hj.sock"
start_ctld "$SOCK" "$T/hj.db" hj.log --crippled --journal "$J"
timeout 30 "$CTL" --socket "$SOCK" --json tapes-for e2 >tf.json || fail "tapes-for with hostile dump logs: rc $?"
grep -q '"label":"G00001"' tf.json || fail "tapes-for e2: $(cat tf.json)"
timeout 10 "$CTL" --socket "$SOCK" status >/dev/null || fail "no status after tapes-for"
for w in "evil.dumplog: not a regular file" "zero.dumplog: not a regular file" "dir.dumplog: a directory" \
	"huge.dumplog: larger than 64 MiB" "long.dumplog: lines longer than 8192 bytes skipped"; do
	grep -q "$w" hj.log || { cat hj.log; fail "not said: $w"; }
done
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$CPID/status")
[ "$rss" -lt 200000 ] || fail "crippled abs-ctld grew to $rss kB"
timeout 30 "$CTL" --socket "$SOCK" --json tapes-for e2 >/dev/null || fail "a second tapes-for: rc $?"
[ "$(grep -c 'evil.dumplog: not a regular file' hj.log)" = 1 ] || fail "a skipped dump log is said more than once"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
ok "crippled tapes-for past a FIFO, /dev/zero, a directory, a 200 MB and a 100 KB-line dump log: G00001 found (RSS $rss kB), each skip said once"

# H-3: a damaged active-tapes line is said, and the tape it held comes
# back from the dump log (here the direct-mode dump's G00001, as if
# crippled mode with --label-prefix G had labelled it).
R3="$T/h3"
mkdir -p "$R3"
cp "$J/good.dumplog" "$R3/dumplog"
tid=$(sed -n 's/^dump .* tape=\([0-9a-f]\{32\}\) .*/\1/p' "$R3/dumplog" | head -n1)
[ -n "$tid" ] || fail "no tape ID in $(cat "$R3/dumplog")"
printf '# ABS crippled mode: tapes\n# label tape_id state pool since\nG00001 %.10s\n' "$tid" >"$R3/active-tapes"
start_ctld "$T/h3.sock" "$T/h3.db" h3.log --crippled --journal "$R3" --label-prefix G
grep -q "active-tapes:3: a damaged line, skipped" h3.log || { cat h3.log; fail "the damaged line not said"; }
grep -q "G00001 (tape ID $tid) was missing from $R3/active-tapes: recovered from the dump log as appendable" h3.log ||
	{ cat h3.log; fail "G00001 not recovered"; }
grep -q "^G00001 $tid appendable default " "$R3/active-tapes" || fail "active-tapes: $(cat "$R3/active-tapes")"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
ok "a damaged active-tapes line said (line 3), G00001 recovered from the dump log as appendable"

# Its own files: never opened when they are not regular files.
own_bad() {	# NAME MAKE PATTERN: crippled abs-ctld on a journal whose NAME is bad
	d="$T/own-$1"
	rm -rf "$d"
	mkdir -p "$d"
	sh -c "$2" -- "$d/$1"
	expect_fail "$3" timeout 20 "$CTLD" --socket "$T/own.sock" --db "$T/own.db" \
		--crippled --journal "$d" --foreground
}
own_bad journal 'mkfifo "$1"' "journal: not a regular file"
own_bad dumplog 'mkfifo "$1"' "dumplog: not a regular file"
own_bad active-tapes 'ln -s /dev/zero "$1"' "active-tapes: a symbolic link"
own_bad journal 'mkdir "$1"' "journal: a directory"
# A cache that cannot be used: started without it, and said why.
for how in 'mkfifo "$1"' 'ln -s /dev/zero "$1"' 'printf "{\"entities\": [" >"$1"'; do
	d="$T/own-cache"
	rm -rf "$d"
	mkdir -p "$d"
	sh -c "$how" -- "$d/catalog-cache.json"
	: >cache.log
	start_ctld "$T/own.sock" "$T/own.db" cache.log --crippled --journal "$d"
	grep -q "catalog-cache.json \(not a regular file\|a symbolic link\|unreadable: .*line 1\)" cache.log ||
		{ cat cache.log; fail "cache ($how) not said"; }
	kill "$CPID"
	wait "$CPID" 2>/dev/null || true
done
# Its own journal appended to: never through a FIFO put there while it runs.
d="$T/own-run"
mkdir -p "$d"
start_ctld "$T/own.sock" "$T/own.db" run.log --crippled --journal "$d"
rm "$d/journal"
mkfifo "$d/journal"
timeout 10 "$CTL" --socket "$T/own.sock" dump nodrive e9 >/dev/null 2>&1 || true
timeout 10 "$CTL" --socket "$T/own.sock" status >/dev/null || fail "crippled abs-ctld hung on a FIFO journal"
kill "$CPID"
ok "crippled mode's own journal, dumplog, active-tapes and cache: FIFO, /dev/zero link, directory refused or said, never hung"

# H-19: client slots. hold.py SOCK N PAYLOAD: N connections, each sent
# PAYLOAD; prints how many were refused (and why) and, for a payload, how
# many abs-ctld dropped within 20 s; then holds what is left until killed.
as() { u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
PY=
for p in /usr/bin/python3 $(command -v python3 || true); do
	as 65534 "$p" -c pass 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || skip "no python3 that another uid may run (client-slot cases)"
cat >hold.py <<'EOF'
import socket, sys, time
path, n, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
socks, refused, why = [], 0, ""
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    if payload:
        try:
            s.sendall(payload)
        except OSError:
            pass    # refused and closed already: its answer is read below
    socks.append(s)
time.sleep(1)
kept, closed = [], []
for s in socks:
    s.settimeout(0.05)
    try:
        got = s.recv(4096)
    except socket.timeout:
        kept.append(s)
        continue
    if b'"busy"' in got:
        refused += 1
        why = got.decode().split('"error":"')[1].split('"')[0]
    else:
        closed.append(s)
print("refused=%d kept=%d why=%s" % (refused, len(kept) + len(closed), why), flush=True)
if payload:
    dropped, t0 = len(closed), time.time()
    for s in kept:
        s.settimeout(max(0.1, 20 - (time.time() - t0)))
        try:
            if s.recv(4096) == b"":
                dropped += 1
        except socket.timeout:
            pass
    print("dropped=%d" % dropped, flush=True)
time.sleep(3600)
EOF
chmod 711 "$T"
mkdir -m 755 pub
SOCK="$T/pub/slots.sock"
start_ctld "$SOCK" "$T/slots.db" slots.log --request-timeout 2 --journal "$T/slots-j"
chmod 666 "$SOCK"
# 100 half requests from one uid: 32 taken, the rest refused at once;
# those 32 are dropped once their request stays unfinished for 2 s.
setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" hold.py "$SOCK" 100 '{"op":"sta' >half.txt 2>&1 &
HP=$!
PIDS="$PIDS $HP"
wait_for '^refused=' half.txt
grep -q "^refused=68 kept=32 why=abs-ctld refused the connection: too many connections from uid 65534 (the limit is 32 a user)" half.txt ||
	fail "one uid's connections: $(cat half.txt)"
ctl status >/dev/null || fail "root refused while uid 65534 holds its 32"
wait_for '^dropped=' half.txt
grep -q '^dropped=32$' half.txt || fail "unfinished requests: $(cat half.txt)"
grep -q "uid 65534 pid [0-9]*: a request left unfinished for 2 s: dropped" slots.log || fail "the drops not logged"
kill "$HP"
ok "one uid: 32 connections, the others refused with the reason; unfinished requests dropped after 2 s"
# 15 uids of 32 idle connections each fill what is not reserved: a 16th
# uid is refused, root and a media server's uid (role engine) get in.
ctl acl-set 60017 engine >/dev/null
# (The 15 connect side by side: 480 slots hold them all, 32 each.)
HPS=""
UIDS="60001 60002 60003 60004 60005 60006 60007 60008 60009 60010 60011 60012 60013 60014 60015"
for u in $UIDS; do
	setpriv --reuid=$u --regid=$u --clear-groups "$PY" hold.py "$SOCK" 32 "" >"idle-$u.txt" 2>&1 &
	HPS="$HPS $!"
	PIDS="$PIDS $!"
done
for u in $UIDS; do
	wait_for '^refused=' "idle-$u.txt"
	grep -q '^refused=0 kept=32' "idle-$u.txt" || fail "uid $u: $(cat "idle-$u.txt")"
done
setpriv --reuid=60016 --regid=60016 --clear-groups "$PY" hold.py "$SOCK" 1 "" >idle-60016.txt 2>&1 &
HPS="$HPS $!"
PIDS="$PIDS $!"
wait_for '^refused=' idle-60016.txt
grep -q '^refused=1 kept=0 why=abs-ctld refused the connection: too many clients (the last 32 of 512 are kept for root and media servers)' idle-60016.txt ||
	fail "a uid past the shared slots: $(cat idle-60016.txt)"
setpriv --reuid=60017 --regid=60017 --clear-groups "$PY" hold.py "$SOCK" 2 "" >idle-60017.txt 2>&1 &
HPS="$HPS $!"
PIDS="$PIDS $!"
wait_for '^refused=' idle-60017.txt
grep -q '^refused=0 kept=2' idle-60017.txt || fail "a media server's uid: $(cat idle-60017.txt)"
ctl status >/dev/null || fail "root refused while 480 slots are taken"
for p in $HPS; do kill "$p"; done
poll '"$CTL" --socket "$SOCK" whoami >/dev/null 2>&1'
kill "$CPID"
ok "480 slots taken by 15 uids: a 16th refused (kept for root and media servers), root and an engine uid served"

# H-6: a dump-log line too long for merge is a rejected line (exit 1,
# counted and named in --json), and the other lines still merge.
start_ctld "$T/m6.sock" "$T/m6.db" m6.log --journal "$T/m6-j"
{ printf 'part entity='; head -c 70000 /dev/zero | tr '\0' z; echo; cat "$J/good.dumplog"; } >long.log
rc=0
"$CTL" --socket "$T/m6.sock" --json merge long.log >m6.json 2>m6.err || rc=$?
[ $rc = 1 ] || fail "merge with a line too long exited $rc: $(cat m6.err)"
grep -q '"rejected_lines":1' m6.json || fail "not counted: $(cat m6.json)"
grep -q '"line":"long.log:1","why":"a line of 70013 bytes (the limit is 4000)"' m6.json || fail "not named: $(cat m6.json)"
grep -q 'long.log:1: rejected, nothing of it merged' m6.err || fail "not said: $(cat m6.err)"
"$CTL" --socket "$T/m6.sock" --json tapes-for e2 | grep -q '"label":"G00001"' || fail "the good lines were not merged"
kill "$CPID"
ok "merge: a 70 KB line rejected (exit 1, rejected_lines 1, long.log:1 in --json), the other lines merged"

# H-17: exception commands that hang: at most 8 at once (more are not
# sent, and said), each killed (with what it started) after its time.
start_ctld "$T/x.sock" "$T/x.db" x.log --journal "$T/x-j" --exception-timeout 8 \
	--exception-cmd "echo \$\$ >>$T/exc.pids; sleep 1000"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	"$CTL" --socket "$T/x.sock" unavailable "X0000$i" >/dev/null 2>&1 || true
done
poll '[ "$(wc -l <exc.pids 2>/dev/null || echo 0)" -ge 8 ]'
grep -q "exception command: 8 still running; this exception (.*) is not sent (4 so far)" x.log ||
	{ cat x.log; fail "exceptions past 8 not said"; }
[ "$(wc -l <exc.pids)" = 8 ] || fail "$(wc -l <exc.pids) exception commands ran at once"
w_end=$(deadline)
until [ "$(grep -c "exception command killed after 8 s" x.log)" = 8 ]; do
	before "$w_end" || { cat x.log; fail "the exception commands were not killed"; }
	sleep 0.1
done
for p in $(cat exc.pids); do kill -0 "$p" 2>/dev/null && fail "exception command $p still runs"; done
kill "$CPID"
ok "12 exceptions with a hanging command: 8 run, 4 not sent (said), all 8 killed after 8 s"

# abs-ctld killed while an exception command runs: the command's watcher
# holds none of abs-ctld's locks or its socket, so abs-ctld starts again
# at once (it was refused as "in use" for as long as the command ran).
start_ctld "$T/k.sock" "$T/k.db" k.log --journal "$T/k-j" \
	--exception-cmd "echo \$\$ >>$T/kexc.pids; sleep 1000"
"$CTL" --socket "$T/k.sock" unavailable K00001 >/dev/null 2>&1 || true
poll '[ -s kexc.pids ]'
kill -9 "$CPID"
wait "$CPID" 2>/dev/null || true
start_ctld "$T/k.sock" "$T/k.db" k.log --journal "$T/k-j"
kill "$CPID"
for p in $(cat kexc.pids); do kill "$p" 2>/dev/null || true; done
ok "abs-ctld killed while its exception command runs: started again at once"
