# The control plane: a real abs-ctld on its own socket and SQLite file, two
# abs-engine media servers (one on a vtape library drive that loads what
# the catalog asks for, one on a drive whose cartridges an "operator"
# changes), the mount flow with an unavailable and a wrong tape, restore
# under a new name, every query, abort mid-dump, role checks for every row
# of the request table (media servers' included), the engine role, the
# protocol version, malformed and oversized requests, 50 clients at once.
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
chmod 755 "$T"

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--exception-cmd "cat >>$T/exceptions.txt" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for() { poll_until "$1" || fail "timed out: $1"; }
wait_for '[ -S "$T/ctld.sock" ]'
chmod 666 "$T/ctld.sock"	# the test's other users; sites use a group
alive() { kill -0 "$CPID" 2>/dev/null || { cat "$T/ctld.log" >&2; fail "abs-ctld died"; }; }
job_state() { "$CTL" --json jobs | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
wait_job() { wait_for "case \$(job_state $1) in done|failed|aborted) true;; *) false;; esac"; }

# Catalog set-up through abs-ctl.
"$CTL" pool-add manual >/dev/null
"$CTL" pool-set manual --min 1 --max 4 --keep-fulls 3 --keep-days 60 >/dev/null
"$CTL" tape-add default A00001 A00002 A00003 A00004 A00005 >/dev/null
"$CTL" tape-add manual B00001 B00002 B00003 >/dev/null
expect_fail "already in pool" "$CTL" tape-add manual B00001
expect_fail "may hold 4 tapes" "$CTL" tape-add manual B00004 B00005
"$CTL" type-add volume --full 7 --incr 1 >/dev/null
mkdir -p src/home/sub && echo hello >src/home/a.txt && head -c 300000 /dev/urandom >src/home/sub/b.bin
head -c 40000000 /dev/urandom >big.bin
"$CTL" entity-add home.jdoe "dir:$T/src/home" --type volume --pool manual >/dev/null
"$CTL" entity-add vol.big "cmd:cat $T/big.bin" >/dev/null
printf 'while :; do head -c 1048576 /dev/urandom; sleep 0.2; done\n' >slow.sh
"$CTL" entity-add vol.slow "cmd:sh $T/slow.sh" >/dev/null
expect_fail "exists" "$CTL" entity-add vol.big "cmd:true"
ok "pools, tapes, types and entities added"

# Media server 1: a vtape library; the engine loads what the catalog names.
"$VTAPE" new-library lib --slots 5 --drives 1 --capacity 24M --barcode-prefix A >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal-lib0.log" 2>"$T/engine-lib0.log" &
E1=$!
PIDS="$PIDS $E1"
# Media server 2: cartridges changed by hand (a library drive reached
# through a path the engine does not take for a library).
"$VTAPE" new-library man --slots 3 --drives 1 --capacity 24M --barcode-prefix B >/dev/null
"$ENGINE" label --device "vtape:$T/man/drive0" --label B00002 --pool manual >/dev/null 2>&1 || true
"$VTAPE" load man --slot 1 --drive 0
"$ENGINE" label --device "vtape:$T/man/drive0" --label WRONG1 --pool manual >/dev/null
"$VTAPE" unload man --drive 0
ln -s man/drive0 manual
"$ENGINE" --control "$T/ctld.sock" --drive man0 --device "vtape:$T/manual" \
	--log "$T/journal-man0.log" 2>"$T/engine-man0.log" &
E2=$!
PIDS="$PIDS $E2"
wait_for '"$CTL" --json status | grep -q "\"drive\":\"lib0\",[^}]*\"state\":\"idle\"" &&
	"$CTL" --json status | grep -q "\"drive\":\"man0\",[^}]*\"state\":\"idle\""'
ok "two media servers registered"

# A dump across cartridges in the library: the catalog chooses them.
j=$("$CTL" --json dump lib0 vol.big | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
wait_job "$j"
[ "$(job_state "$j")" = done ] || { cat "$T/engine-lib0.log" >&2; fail "library dump job $j: $(job_state "$j")"; }
"$CTL" tapes-for vol.big | tee tapes-for.txt
[ "$(grep -c "^A0000" tapes-for.txt)" -ge 2 ] || fail "vol.big should span library tapes"
sqlite3 "$T/catalog.db" "SELECT count(*) FROM verifications WHERE kind = 'spot'" |
	grep -qv '^0$' || fail "no read-after-write checks recorded"
ok "dump through the catalog's tape choice, spanning two cartridges"

# The operator flow: B00001 is unavailable, WRONG1 is refused, B00002 taken.
j=$("$CTL" --json dump man0 home.jdoe | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
wait_for '"$CTL" --json status | grep -q "\"wants\":\"B00001\""'
"$CTL" unavailable B00001 >/dev/null
wait_for '"$CTL" --json status | grep -q "\"wants\":\"B00002\""'
"$VTAPE" load man --slot 1 --drive 0	# the cartridge labelled WRONG1
"$CTL" mounted man0 >/dev/null
wait_for '"$CTL" status | grep -q "cartridge refused"'
"$VTAPE" unload man --drive 0
"$VTAPE" load man --slot 2 --drive 0	# B00002, blank
"$CTL" mounted man0 >/dev/null
wait_job "$j"
[ "$(job_state "$j")" = done ] || { cat "$T/engine-man0.log" >&2; fail "operator dump job $j: $(job_state "$j")"; }
"$CTL" tapes-for home.jdoe | grep -q B00002 || fail "home.jdoe is not on B00002"
"$CTL" --json errors --label B00001 | grep -q '"kind":"unavailable"' ||
	fail "the unavailable tape was not recorded"
grep -q "unavailable" "$T/exceptions.txt" || fail "the exception command did not hear of it"
ok "mount flow: unavailable tape skipped, wrong tape refused, right tape written"

# Restore under another name, through the library's media server.
j=$("$CTL" --json restore vol.big --as vol.copy --to "$T/copy.bin" --drive lib0 |
	sed -n 's/.*"job":\([0-9]*\).*/\1/p')
wait_job "$j"
cmp big.bin copy.bin || fail "restore of vol.big as vol.copy differs"
ok "restore under a new name, from two cartridges"

# Abort mid-dump: the job stops, the tape stays usable.
j=$("$CTL" --json dump lib0 vol.slow | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
w_end=$(deadline)
until "$CTL" --json status | grep -q '"bytes":[1-9]'; do
	before "$w_end" || { "$CTL" status; "$CTL" jobs; tail "$T/engine-lib0.log"; fail "no progress"; }
	sleep 0.1
done
"$CTL" abort "$j" >/dev/null
wait_job "$j"
[ "$(job_state "$j")" = aborted ] || fail "job $j is $(job_state "$j"), not aborted"
"$ENGINE" list --device "vtape:$T/lib/drive0" >/dev/null || fail "tape unreadable after abort"
ok "abort stops the dump and leaves the cartridge readable"

# Every query.
for q in "status" "jobs" "tapes-for vol.big" "entity vol.big" "tape A00001" \
	"errors" "errors --drive man0" "next-entities --count 3" \
	"next-tapes --pool manual" "entities" "tapes" "pools" "acl" "whoami"; do
	# shellcheck disable=SC2086
	"$CTL" $q >q.txt || fail "query '$q' failed"
	[ -s q.txt ] || fail "query '$q' printed nothing"
	# shellcheck disable=SC2086
	"$CTL" --json $q >/dev/null || fail "query '$q' --json failed"
done
"$CTL" --json entity vol.big | grep -q '"last_full":{' || fail "entity shows no last full"
"$CTL" --json next-tapes --pool manual | grep -q B00003 || fail "next-tapes lacks B00003"
"$CTL" entity-frequency home.jdoe --full 14 >/dev/null
"$CTL" type-frequency volume --incr 2 >/dev/null
"$CTL" entity-window home.jdoe 2031-01-01 >/dev/null
"$CTL" --json next-entities | grep -q '"entity":"home.jdoe","kind":"[a-z]*","due":"2031-01-01"' ||
	fail "one-time window not applied"
"$CTL" entity-type vol.slow volume >/dev/null
"$CTL" tape-state A00003 no-new-writes >/dev/null
"$CTL" tape-state B00003 out-of-service >/dev/null
"$CTL" --json tape B00003 | grep -q '"state":"out-of-service"' || fail "tape-state"
"$CTL" tape-state B00003 destroyed >/dev/null
"$CTL" tape-add manual B00003 >/dev/null || fail "a destroyed tape's label is not reusable"
n1=$("$CTL" --json tape B00003 | sed -n 's/.*"tape_id":"\([0-9a-f]*\)".*/\1/p')
sqlite3 "$T/catalog.db" "SELECT tape_id FROM tapes WHERE label = 'B00003'" | sort -u | wc -l |
	grep -qx 2 || fail "the new B00003 should have its own tape ID ($n1)"
"$CTL" entity-remove vol.slow >/dev/null
expect_fail "no active entity" "$CTL" dump lib0 vol.slow
ok "every query and change answers"

# Roles: root administers; others only what the ACL grants.
"$CTL" acl-set 65534 retrieval >/dev/null
"$CTL" acl-set 65533 operator >/dev/null
as() { uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
as 65534 "$CTL" tapes-for vol.big >/dev/null || fail "retrieval cannot query"
rc=0
as 65534 "$CTL" tape-state A00001 out-of-service >/dev/null 2>&1 || rc=$?
[ $rc = 4 ] || fail "a retrieval user marked a tape out of service (exit $rc)"
rc=0
as 65533 "$CTL" acl-set 65533 admin >/dev/null 2>&1 || rc=$?
[ $rc = 4 ] || fail "an operator changed the ACL (exit $rc)"
as 65533 "$CTL" tape-state A00001 no-new-writes >/dev/null || fail "operator cannot mark tapes"
# Every row of the request table, media servers' included, is sent by a
# user of each role; it must be refused exactly when none of the user's
# roles may send it. The rows come from the table itself (--requests).
"$CTL" acl-set 65531 engine >/dev/null
"$CTL" --requests >requests.txt
[ "$(wc -l <requests.txt)" -ge 35 ] || fail "abs-ctl --requests lists too few rows"
grep -qx 'engine-register engine internal' requests.txt || fail "engine-register: $(grep engine-register requests.txt)"
grep -qx 'engine-event engine internal' requests.txt || fail "engine-event: $(grep engine-event requests.txt)"
grep -qx 'hello open internal' requests.txt || fail "hello is not open to all"
grep -qx 'index-upload engine internal' requests.txt || fail "index-upload: $(grep index-upload requests.txt)"
grep -qx 'index-download engine internal' requests.txt || fail "index-download: $(grep index-download requests.txt)"
# One raw session per user sends every row (args empty), a reply a line.
sed 's/^\([^ ]*\) .*/{"op":"\1","args":{},"id":1}/' requests.txt >role-reqs.txt
for uid in 65532 65534 65533 65531; do
	as "$uid" "$CTL" raw <role-reqs.txt >"replies-$uid.txt" || fail "uid $uid: abs-ctl raw failed"
	[ "$(wc -l <"replies-$uid.txt")" = "$(wc -l <requests.txt)" ] ||
		fail "uid $uid: not one reply per request"
done
# check_role ROW ROLES ROLE REPLY: a refusal iff ROLE is not among ROLES.
refused=0
check_role() {
	case ",$2," in
	*,open,*|*",$3,"*) may=yes ;;
	*) may=no ;;
	esac
	if [ "$may" = yes ]; then
		case $4 in *'"code":"denied"'*) fail "${3:-no role} refused $1: $4" ;; esac
	else
		case $4 in *'"code":"denied"'*) refused=$((refused + 1)) ;;
		*) fail "${3:-no role} not refused $1: $4" ;; esac
	fi
}
tab=$(printf '\t')
paste requests.txt replies-65532.txt replies-65534.txt replies-65533.txt replies-65531.txt >roles.txt
while IFS=$tab read -r row none retrieval operator engine; do
	cmd=${row%% *} roles=${row#* } roles=${roles%% *}
	check_role "$cmd" "$roles" "" "$none"
	check_role "$cmd" "$roles" retrieval "$retrieval"
	check_role "$cmd" "$roles" operator "$operator"
	check_role "$cmd" "$roles" engine "$engine"
	# What the design says, apart from the table: the retrieval user may
	# run only queries and restores; the engine role only what media
	# servers send.
	case $cmd in
	dump|dump-*|mounted|unavailable|abort|entity-*|type-*|tape-add|tape-state|pool-*|acl*|merge|rebuild|engine-*|index-*|server-*|servers-allowed|shadow-*|archive-add|archive-stop|archive-start|archive-remove|subnet-*|window-add|window-remove|discover|discover-*|run|run-*|library-*|inventory|eject|import|clean)
		case $retrieval in *'"code":"denied"'*) ;; *) fail "retrieval user not refused $cmd" ;; esac ;;
	*)	case $retrieval in *'"code":"denied"'*) fail "retrieval user refused $cmd" ;; esac ;;
	esac
	case $cmd in
	engine-register|engine-event|index-upload|index-download|merge|hello)
		case $engine in *'"code":"denied"'*) fail "engine user refused $cmd" ;; esac ;;
	*)	case $engine in *'"code":"denied"'*) ;; *) fail "engine user not refused $cmd" ;; esac ;;
	esac
done <roles.txt
[ "$refused" -ge 100 ] || fail "only $refused refusals"
ok "roles checked for all $(wc -l <requests.txt) requests ($refused refusals)"

# An operator cannot pose as a media server: no registration, no parts,
# no bad tapes; a uid with the engine role can.
printf '{"op":"engine-register","args":{"drive":"fake0","device":"null:"},"id":1}\n' |
	as 65533 "$CTL" raw >r.txt
grep -q '"error":"uid 65533 may not engine-register (needs engine)","code":"denied"' r.txt ||
	fail "an operator registered a drive: $(cat r.txt)"
printf '{"op":"engine-event","args":{"event":"bad-tape","data":{"tape_id":"x"}},"id":1}\n' |
	as 65533 "$CTL" raw >r.txt
grep -q '"code":"denied"' r.txt || fail "an operator sent an engine event: $(cat r.txt)"
printf '{"op":"engine-register","args":{"drive":"eng0","device":"null:","version":1},"id":1}\n' |
	as 65531 "$CTL" raw >r.txt
grep -q '"ok":true' r.txt || fail "the engine role cannot register a drive: $(cat r.txt)"
"$CTL" acl | grep -q "65531 *engine" || fail "acl does not list the engine role"
ok "media-server requests need the engine role"

# A broken or hostile media server: a bad drive name leaves no drive
# behind; one connection serves one drive (a second registration would
# leave the first drive pointing at a connection that is gone); event data
# is checked against the events table, not silently taken; a result
# without a job is refused.
{
	echo '{"op":"engine-register","args":{"drive":"bad name","device":"null:"},"id":1}'
	echo '{"op":"engine-register","args":{"drive":"eng2","device":"null:"},"id":2}'
	echo '{"op":"engine-register","args":{"drive":"eng3","device":"null:"},"id":3}'
	echo '{"op":"engine-event","args":{"event":"tape-full","data":{}},"id":4}'
	echo '{"op":"engine-event","args":{"event":"tape-labelled","data":{"tape_id":5}},"id":5}'
	echo '{"op":"engine-event","args":{"event":"result"},"id":6}'
	echo '{"op":"engine-event","args":{"event":"progress","data":{"rate":"fast"}},"id":7}'
	echo '{"op":"engine-event","args":{"event":"part","data":{"dump":"x"}},"id":8}'
	echo '{"op":"engine-event","args":{"event":"bad-tape","data":{"label":"A00001"}},"id":9}'
	echo '{"op":"engine-event","args":{"event":"message","data":{"text":"eng2 here"}},"id":10}'
	echo '{"op":"engine-event","args":{"event":"result","data":{"ok":true}},"id":11}'
} | "$CTL" raw >eng.txt
[ "$(wc -l <eng.txt)" = 11 ] || { cat eng.txt; fail "not one reply per media-server request"; }
grep -q '"id":1,"ok":false,"error":"bad drive name","code":"bad-args"' eng.txt ||
	fail "a bad drive name: $(cat eng.txt)"
grep -q '"id":2,"ok":true' eng.txt || fail "eng2 not registered: $(cat eng.txt)"
grep -q '"id":3,"ok":false,"error":"this connection already serves drive eng2; one connection per drive","code":"busy"' eng.txt ||
	fail "a second drive on one connection: $(cat eng.txt)"
for want in '"id":4,.*"tape-full event: missing .tape_id. (a string)","code":"bad-args"' \
	'"id":5,.*"tape-labelled event: .tape_id. must be a string","code":"bad-args"' \
	'"id":6,.*"result event: missing .ok. (true or false)","code":"bad-args"' \
	'"id":7,.*"progress event: .rate. must be a number","code":"bad-args"' \
	'"id":8,.*"part event: missing .entity. (a string)","code":"bad-args"' \
	'"id":9,.*"bad-tape event: missing .tape_id. (a string)","code":"bad-args"' \
	'"id":10,"ok":true' \
	'"id":11,.*"result event: drive eng2 runs no job","code":"not-waiting"'; do
	grep -q "$want" eng.txt || { cat eng.txt; fail "event data: no reply like $want"; }
done
"$CTL" --json status >st.txt
grep -q '"drive":"bad name"' st.txt && fail "a refused registration left drive 'bad name'"
grep -q '"drive":"eng3"' st.txt && fail "a refused registration left drive eng3"
grep -q '"drive":"eng2","device":"null:","state":"offline"' st.txt ||
	fail "eng2 is not offline after its media server left: $(cat st.txt)"
expect_fail "no media server connected" "$CTL" dump eng2 vol.big
"$CTL" --json errors --label A00001 | grep -q bad-tape && fail "an ill-formed bad-tape event was recorded"
alive
ok "media-server registrations and event data checked"

# The protocol version: another one is refused with both versions named.
printf '{"op":"hello","args":{"version":999,"client":"abs-ctl-9"},"id":1}\n' |
	as 65532 "$CTL" raw >r.txt
grep -q '"code":"version"' r.txt || fail "hello with version 999 accepted: $(cat r.txt)"
grep -q 'abs-ctl-9 speaks version 999, abs-ctld speaks version 1' r.txt ||
	fail "the version refusal does not name both: $(cat r.txt)"
printf '{"op":"engine-register","args":{"drive":"eng1","device":"null:","version":2},"id":1}\n' |
	"$CTL" raw >r.txt
grep -q '"code":"version".*the media server speaks version 2, abs-ctld speaks version 1' r.txt ||
	grep -q 'the media server speaks version 2, abs-ctld speaks version 1.*"code":"version"' r.txt ||
	fail "engine-register with version 2 accepted: $(cat r.txt)"
printf '{"op":"hello","args":{"version":1},"id":1}\n' | as 65532 "$CTL" raw >r.txt
grep -q '"ok":true,"result":{"version":1,' r.txt || fail "hello: $(cat r.txt)"
grep -q "protocol version mismatch" "$T/ctld.log" || fail "abs-ctld did not log the mismatch"
ok "protocol version checked: mismatches refused with code version"

# The clients' side: a stand-in abs-ctld that speaks version 2 answers
# hello; abs-ctl and the media server say so and exit 1.
if command -v python3 >/dev/null 2>&1; then
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
# Listening before the name appears: a client never meets a socket
# file nobody listens on yet (connection refused).
s.bind(sys.argv[1] + ".new")
s.listen(2)
os.rename(sys.argv[1] + ".new", sys.argv[1])
for _ in range(2):
    c, _ = s.accept()
    c.recv(65536)
    c.sendall(b"{\"id\":1,\"ok\":true,\"result\":{\"version\":2,\"server\":\"abs-ctld\"}}\n")
    c.close()
' "$T/v2.sock" &
	PIDS="$PIDS $!"
	end=$(($(date +%s) + 120))
	until [ -S "$T/v2.sock" ]; do
		[ "$(date +%s)" -lt $end ] || fail "the stand-in abs-ctld never listened"
		sleep 0.1
	done
	rc=0
	"$CTL" --socket "$T/v2.sock" status >v2.txt 2>&1 || rc=$?
	[ $rc = 1 ] || fail "abs-ctl against version 2 exited $rc: $(cat v2.txt)"
	grep -qx 'abs-ctl: protocol version mismatch: abs-ctld speaks version 2, abs-ctl speaks version 1' v2.txt ||
		fail "abs-ctl: $(cat v2.txt)"
	rc=0
	"$ENGINE" serve --control "$T/v2.sock" --drive v2 --device null: >v2.txt 2>&1 || rc=$?
	[ $rc = 1 ] || fail "abs-engine against version 2 exited $rc: $(cat v2.txt)"
	grep -q 'protocol version mismatch: abs-ctld speaks version 2, abs-engine speaks version 1' v2.txt ||
		fail "abs-engine: $(cat v2.txt)"
	ok "abs-ctl and abs-engine refuse a daemon of another version, exit 1"
fi

# Bad input never hurts the daemon.
{
	echo 'not json'
	echo '[1,2,3]'
	echo '{"op":"nosuch"}'
	echo '{"op":"tape","args":{"label":7}}'
	echo '{"op":"tape","args":{"label":"A00001","extra":1}}'
	echo '{"op":"dump","args":{"drive":"lib0"}}'
	echo '{"op":"tape-add","args":{"pool":"default","labels":["bad label"]}}'
	echo '{"op":"status","args":{},"id":"x"}'
	printf '{"op":"status","args":{"\\u0000":1}}\n'
	head -c 100000 /dev/zero | tr '\0' 'x'; echo
	echo '{"op":"whoami","id":42}'
} | "$CTL" raw >bad.txt
[ "$(wc -l <bad.txt)" = 11 ] || { cat bad.txt; fail "not one reply per request"; }
[ "$(grep -c '"ok":false' bad.txt)" = 10 ] || { cat bad.txt; fail "bad requests not all refused"; }
grep -q '"id":0,"ok":false,"error":"a request.s \\"id\\" is an integer","code":"bad-request"' bad.txt ||
	{ cat bad.txt; fail "a string id was not refused"; }
grep -q '"code":"too-long"' bad.txt || fail "oversized request not refused"
grep -q '"id":42,"ok":true' bad.txt || fail "the connection did not survive bad input"
alive
ok "malformed and oversized requests refused, connection kept"

# A client that half-closes after its requests (the last without its
# newline) still gets every reply before abs-ctld closes.
if command -v python3 >/dev/null 2>&1; then
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"op\":\"whoami\",\"id\":1}\n{\"op\":\"whoami\",\"id\":2}")
s.shutdown(socket.SHUT_WR)
while True:
    d = s.recv(65536)
    if not d:
        break
    sys.stdout.write(d.decode())
' "$T/ctld.sock" >hc.txt || fail "half-closing client: $(cat hc.txt)"
	grep -q '"id":1,"ok":true' hc.txt && grep -q '"id":2,"ok":true' hc.txt ||
		fail "a half-closing client lost its replies: $(cat hc.txt)"
	alive
	ok "a half-closing client gets its replies"
fi

# The socket's permissions refuse a user: exit 4 (permission denied), not
# 3 (no daemon), and the reason.
chmod 660 "$T/ctld.sock"
rc=0
as 65532 "$CTL" status >perm.txt 2>&1 || rc=$?
chmod 666 "$T/ctld.sock"
[ $rc = 4 ] || fail "permission denied on the socket exited $rc: $(cat perm.txt)"
grep -q "Permission denied" perm.txt || fail "permission denied: $(cat perm.txt)"
ok "a socket the user may not use: exit 4, says permission denied"

# Past 512 clients abs-ctld says it is full before closing; abs-ctl says
# so (no SIGPIPE death) and exits 1; the held clients and abs-ctld live on.
if command -v python3 >/dev/null 2>&1; then
	mkfifo hold.fifo
	python3 -c '
import socket, sys
socks = []
for _ in range(520):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
print("held", flush=True)
sys.stdin.read()
' "$T/ctld.sock" <hold.fifo >held.txt &
	HOLD=$!
	PIDS="$PIDS $HOLD"
	exec 7>hold.fifo
	wait_for 'grep -q held held.txt'
	w_end=$(deadline)
	until "$CTL" status >full.txt 2>&1; [ $? != 0 ] && grep -q "too many" full.txt; do
		before "$w_end" || { cat full.txt; fail "a 513th client was not refused"; }
		sleep 0.1
	done
	rc=0
	"$CTL" status >full.txt 2>&1 || rc=$?
	[ $rc = 1 ] || fail "a client past the limit exited $rc: $(cat full.txt)"
	grep -qx "abs-ctl: abs-ctld refused the connection: too many clients (the limit is 512)" full.txt ||
		fail "a client past the limit: $(cat full.txt)"
	exec 7>&-
	wait "$HOLD" 2>/dev/null || true
	alive
	wait_for '"$CTL" whoami >/dev/null 2>&1'
	ok "past 512 clients: refused with a reason, exit 1; abs-ctld serves again after"
fi

# A client that floods (thousands of requests in one write, replies not
# read until the end) does not starve another client meanwhile.
if command -v python3 >/dev/null 2>&1; then
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"op\":\"hello\",\"args\":{\"version\":1},\"id\":1}\n")
line = b"{\"op\":\"pools\",\"args\":{},\"id\":2}\n" * 4000
s.sendall(line)
time.sleep(3)
n = 0
buf = b""
s.settimeout(20)
while n < 4001:
    d = s.recv(1 << 16)
    if not d:
        break
    buf += d
    n = buf.count(b"\n")
print(n)
' "$T/ctld.sock" >flood.txt &
	FLOOD=$!
	sleep 0.5
	"$CTL" whoami >/dev/null || fail "another client was not served during a flood"
	wait "$FLOOD" || fail "the flooding client failed"
	[ "$(cat flood.txt)" = 4001 ] || fail "the flooding client got $(cat flood.txt) of 4001 replies"
	alive
	ok "a client flooding 4000 requests gets every reply, served in turns; another is answered meanwhile"
fi

# 50 clients at once.
i=0 pids=""
while [ $i -lt 50 ]; do
	"$CTL" --json status >"cc_$i.txt" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
[ $bad = 0 ] || fail "$bad of 50 concurrent clients failed"
grep -L '"drives"' cc_*.txt | grep -q . && fail "a concurrent client got no status"
alive
ok "50 concurrent clients answered"

# A batch of restores and queries.
printf 'tapes-for vol.big\nentity home.jdoe\n# a comment\nrestore vol.big --to %s/copy2.bin --drive lib0\n' "$T" |
	"$CTL" batch - >batch.txt || fail "batch failed"
grep -q A00001 batch.txt || fail "batch output lacks the query result"
w_end=$(deadline)
while "$CTL" --json jobs | grep -q '"state":"\(queued\|running\)"'; do
	before "$w_end" || { "$CTL" jobs; "$CTL" status; tail "$T"/engine-*.log; fail "batch restore did not finish"; }
	sleep 0.1
done
cmp big.bin copy2.bin || fail "the batch restore (on an idle drive) differs"
"$CTL" watch --count 1 | grep -q lib0 || fail "watch shows no drive"
ok "batch and watch"

# Reuse: with no newer fulls required and no age, full tapes are recycled.
"$CTL" pool-set default --keep-fulls 0 --keep-days 0 >/dev/null
"$CTL" --json next-tapes --pool default | grep -q '"label":"A00002"[^}]*"recycle":1' ||
	{ "$CTL" next-tapes --pool default; "$CTL" tapes; "$CTL" pools; fail "A00002 is not offered for reuse"; }
for t in A00003 A00004 A00005; do "$CTL" tape-state $t no-new-writes >/dev/null; done
"$CTL" entity-add vol.small "cmd:head -c 2000000 $T/big.bin" >/dev/null
j=$("$CTL" --json dump lib0 vol.small | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
wait_job "$j"
[ "$(job_state "$j")" = done ] || { tail "$T/engine-lib0.log" >&2; fail "dump onto a recycled tape: $(job_state "$j")"; }
"$CTL" tapes-for vol.small | grep -q A00002 || fail "vol.small is not on the recycled A00002"
"$CTL" tapes-for vol.big | grep -q A00002 && fail "vol.big's dump on A00002 should have expired"
"$CTL" --json tape A00002 | grep -q '"state":"appendable"' || fail "A00002 should be appendable again"
ok "a full tape recycled under the pool's reuse rules; its old dump expired"

# A clean stop: abs-ctld on SIGTERM; the media servers say it closed the
# connection (then try again every 30 s: they do not exit, and a wait for
# that was a fixed wait); under ASan error reports would be in these logs.
kill "$CPID"
wait "$CPID" || fail "abs-ctld did not stop cleanly"
poll_until 'grep -q "abs-ctld closed the connection" "$T/engine-lib0.log"' ||
	fail "the media server did not say why it stopped"
if grep -l "Sanitizer\|runtime error" "$T/ctld.log" "$T"/engine-*.log; then
	cat "$T/ctld.log" "$T"/engine-*.log >&2
	fail "sanitizer reports"
fi
ok "abs-ctld stopped cleanly; the media servers heard it close the connection"
