#!/bin/sh
# abs-ctld's TLS port against hostile peers (issue 17), on loopback: a
# flood of connections that say nothing (200 held from one address, the
# closed ones opened again) does not lock out an operator from another
# address; junk before the handshake, binary junk and a 10 MB line after
# it, a client stopped (SIGSTOP) with requests pipelined and answers
# unread: each refused or dropped with a line in the log, abs-ctld up and
# serving others; a certificate whose subject holds a newline, commas,
# quotes and UTF-8 reaches the ACL and the log escaped, never as a second
# line; abs-ctl --host to a port that is not abs-ctld fails in bounded
# time with a clear error. Tools: python3 (tls_hostile.py beside this).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tlsca.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
H="$ABS_TOP/tests/integration/tls_hostile.py"
unset ABS_CTL_SOCKET ABS_HOST ABS_CERT ABS_KEY ABS_CA
command -v openssl >/dev/null || skip "no openssl"
command -v python3 >/dev/null || skip "no python3"

tlsca_init "$T/ca" "ABS site" || fail "site CA"
tlsca_issue "$T/ca" "$T/ctld" ctld "IP:127.0.0.1,DNS:localhost" || fail "ctld cert"
tlsca_issue "$T/ca" "$T/alice" alice || fail "alice's certificate"
# A subject made to break a log line or an ACL key.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -utf8 \
	-keyout "$T/weird.key" -out "$T/weird.csr" \
	-subj "/O=ABS test/CN=ev\"il,O=admin
INJECTED log line é✓ \\\\ \\+x" 2>/dev/null || fail "weird csr"
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >"$T/weird.ext"
openssl ca -batch -config "$T/ca/ca.cnf" -in "$T/weird.csr" -out "$T/weird.pem" \
	-extfile "$T/weird.ext" -notext -utf8 2>/dev/null || fail "weird certificate"
touch "$T/ca/crl.pem"
tlsca_crl "$T/ca"

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--listen 127.0.0.1:0 --cert "$T/ctld.pem" --key "$T/ctld.key" \
	--ca "$T/ca/ca.pem" --crl "$T/ca/crl.pem" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for "listening on 127.0.0.1:[0-9]* (TLS" "$T/ctld.log"
PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) (TLS.*/\1/p' "$T/ctld.log")
[ -n "$PORT" ] || fail "no port in the log"
wait_for "listening on $T/ctld.sock" "$T/ctld.log"
URI="tls://127.0.0.1:$PORT"
up() { kill -0 "$CPID" 2>/dev/null || { tail -30 "$T/ctld.log" >&2; fail "abs-ctld died"; }; }
as() {	# as NAME abs-ctl ARGS...
	n=$1
	shift
	timeout 120 env ABS_CA="$T/ca/ca.pem" ABS_CERT="$T/$n.pem" ABS_KEY="$T/$n.key" \
		"$CTL" --socket "$URI" "$@"
}
ALICE=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$T/alice.pem" | sed 's/^subject=//')
"$CTL" --socket "$T/ctld.sock" acl-set "cert:$ALICE" operator >/dev/null || fail "acl-set alice"
as alice status >/dev/null || fail "alice's status"
fds0=$(ls /proc/$CPID/fd | wc -l)
ok "abs-ctld on $URI, $fds0 fds"

# The flood: 200 from 127.0.0.2 that say nothing, 200 that send a TLS
# record's first byte and nothing more; alice, from 127.0.0.1, gets in.
python3 "$H" flood 127.0.0.1 "$PORT" 127.0.0.2 200 40 >flood1.out 2>&1 &
F1=$!
python3 "$H" flood 127.0.0.1 "$PORT" 127.0.0.3 200 40 tls >flood2.out 2>&1 &
F2=$!
PIDS="$PIDS $F1 $F2"
wait_for "TCP connections in their handshake" "$T/ctld.log"
for i in 1 2 3; do
	as alice status >/dev/null 2>alice.err ||
		{ cat alice.err; tail "$T/ctld.log"; fail "alice locked out by a flood (try $i)"; }
done
up
wait "$F1" "$F2" || true
[ "$(cat flood1.out)" -ge 200 ] 2>/dev/null || { cat flood1.out; fail "the flood did not run"; }
grep -q "sent nothing in 15 s" "$T/ctld.log" || fail "the idle ones are not said"
ok "a flood of idle connections (opened $(cat flood1.out) and $(cat flood2.out)) locks no operator out"

# Once the flood is gone, the fds come back (bounded waits, no count).
n=0
while [ "$(ls /proc/$CPID/fd | wc -l)" -gt $((fds0 + 4)) ]; do
	n=$((n + 1))
	[ $n -lt 120 ] || { ls -l /proc/$CPID/fd >&2; fail "abs-ctld keeps the flood's fds"; }
	sleep 1
done
as alice status >/dev/null || fail "status after the flood"
ok "the flood's fds closed ($(ls /proc/$CPID/fd | wc -l) open)"

# Junk before and after the handshake, a 10 MB line.
timeout 120 python3 "$H" junk 127.0.0.1 "$PORT" >junk.out 2>&1 || true
up
grep -q "TLS client 127.0.0.1:[0-9]* refused" "$T/ctld.log" || fail "junk handshake not logged"
timeout 120 python3 "$H" authjunk 127.0.0.1 "$PORT" "$T/ca/ca.pem" "$T/alice.pem" \
	"$T/alice.key" 4096 >aj.out 2>&1 || true
up
grep -q "refused" aj.out || { cat aj.out; fail "binary junk as the auth line: no refusal"; }
timeout 120 python3 "$H" authjunk 127.0.0.1 "$PORT" "$T/ca/ca.pem" "$T/alice.pem" \
	"$T/alice.key" 200000 >aj2.out 2>&1 || true
up
grep -q "longer" aj2.out || { cat aj2.out; fail "a 200 kB auth line: not refused as too long"; }
timeout 300 python3 "$H" bigline 127.0.0.1 "$PORT" "$T/ca/ca.pem" "$T/alice.pem" \
	"$T/alice.key" >big.out 2>&1 || true
up
grep -q '"ok"' big.out || { cat big.out; fail "bigline: not authenticated"; }
as alice status >/dev/null || fail "status after a 10 MB line"
ok "junk before and after the handshake, a 200 kB auth line, a 10 MB request: refused, abs-ctld serves on"

# Resumption: abs-ctld issues no session ticket, so a client cannot come
# back on a session (and send early data) without a full handshake.
timeout 60 openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile "$T/ca/ca.pem" \
	-cert "$T/alice.pem" -key "$T/alice.key" -sess_out sess.pem </dev/null >s1.out 2>&1 || true
if [ -s sess.pem ]; then
	timeout 60 openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile "$T/ca/ca.pem" \
		-cert "$T/alice.pem" -key "$T/alice.key" -sess_in sess.pem -early_data s1.out \
		</dev/null >s2.out 2>&1 || true
	grep -q "^Reused" s2.out && { cat s2.out; fail "a TLS session was resumed"; }
	grep -q "Early data was accepted" s2.out && fail "early data accepted"
fi
up
ok "no session resumption, no early data"

# A client that stops reading with answers queued: others are served.
python3 "$H" stall 127.0.0.1 "$PORT" "$T/ca/ca.pem" "$T/alice.pem" "$T/alice.key" \
	>stall.out 2>&1 &
S=$!
PIDS="$PIDS $S"
wait_for "stalled" stall.out
kill -STOP "$S"
for i in 1 2 3; do
	as alice status >/dev/null || { tail "$T/ctld.log"; fail "a stopped client blocks the others"; }
done
up
kill -CONT "$S"
kill "$S" 2>/dev/null || true
wait "$S" 2>/dev/null || true
ok "a stopped client with answers unread blocks no one"

# The weird subject: escaped in the identity, the ACL and the log.
WEIRD=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$T/weird.pem" | sed 's/^subject=//')
case $WEIRD in *INJECTED*) ;; *) fail "the weird certificate lost its subject: $WEIRD" ;; esac
as weird status >weird.out 2>&1 && fail "the weird identity has a role unasked"
grep -q "INJECTED.*may not" weird.out || { cat weird.out; fail "the refusal does not name the weird identity"; }
grep -q "^INJECTED" "$T/ctld.log" weird.out && { grep -n INJECTED "$T/ctld.log"; fail "a line was injected"; }
id=$(sed -n 's/.*TLS client [^ ]* is \(cert:.*INJECTED.*\)$/\1/p' "$T/ctld.log" | head -1)
case $id in *'\0AINJECTED'*) ;; *) fail "the identity in the log is not escaped: $id" ;; esac
"$CTL" --socket "$T/ctld.sock" acl-set "$id" retrieval >/dev/null || fail "acl-set the weird identity"
"$CTL" --socket "$T/ctld.sock" --json acl >acl.json || fail "acl"
as weird --json whoami >weird.json || fail "whoami with a role"
jq -e --arg id "$id" '.identity == $id and (.roles | index("retrieval")) and
	(.roles | index("admin") | not)' weird.json >/dev/null ||
	fail "the weird identity's grant does not apply to it"
as weird pool-add sneaky 2>/dev/null && fail "the weird identity may pool-add"
up
ok "a subject with a newline, commas, quotes, UTF-8: escaped in identity, ACL and log"

# abs-ctl --host to ports that are not abs-ctld: bounded, said.
for mode in http silent tlsjunk; do
	p=$((PORT + 1000 + ${#mode}))
	python3 "$H" notctld "$p" "$mode" "$T/ctld.pem" "$T/ctld.key" >nc.out 2>&1 &
	N=$!
	PIDS="$PIDS $N"
	wait_for listening nc.out
	rc=0
	timeout 120 env ABS_CA="$T/ca/ca.pem" ABS_CERT="$T/alice.pem" \
		ABS_KEY="$T/alice.key" "$CTL" --host "127.0.0.1:$p" status \
		>nc.txt 2>&1 || rc=$?
	[ $rc = 124 ] && fail "abs-ctl --host to a $mode server hangs"
	[ $rc != 0 ] || { cat nc.txt; fail "abs-ctl --host to a $mode server succeeded"; }
	grep -q "abs-ctl" nc.txt || { cat nc.txt; fail "no clear error ($mode)"; }
	echo "  $mode: $(head -1 nc.txt)"
	kill "$N"
	wait "$N" 2>/dev/null || true
done
up
ok "abs-ctl --host to something else than abs-ctld fails, said, in bounded time"
