#!/bin/sh
# abs-ctld --listen on loopback, TLS 1.3 with the site's certificates
# (issue 17's certificate path): a good client works over tls:// as over
# the socket, with the roles its certificate subject holds; refused, each
# with a clear error on the client's side and a line in abs-ctld's log,
# abs-ctld staying up: no client certificate, another CA's, a revoked one
# (CRL), plaintext to the TLS port, a TLS 1.2-only client, an operator
# posing as a media server, a media server not on the list or for a drive
# not its own. Ports: the kernel's choice (--listen 127.0.0.1:0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tlsca.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
unset ABS_CTL_SOCKET ABS_HOST ABS_CERT ABS_KEY ABS_CA
command -v openssl >/dev/null || skip "no openssl"

# The site CA, abs-ctld's certificate, three people, a media server; and
# another CA with a person of its own.
tlsca_init "$T/ca" "ABS site" || fail "site CA"
tlsca_issue "$T/ca" "$T/ctld" ctld "IP:127.0.0.1,DNS:localhost" || fail "ctld cert"
for n in alice bob carol mallory tapehost; do
	tlsca_issue "$T/ca" "$T/$n" "$n" || fail "$n's certificate"
done
tlsca_init "$T/other" "Elsewhere" || fail "other CA"
tlsca_issue "$T/other" "$T/eve" alice || fail "eve's certificate"
subject() { echo "cert:$(openssl x509 -noout -subject -nameopt RFC2253 \
	-in "$1" | sed 's/^subject=//')"; }
ALICE=$(subject "$T/alice.pem")
BOB=$(subject "$T/bob.pem")
CAROL=$(subject "$T/carol.pem")
MALLORY=$(subject "$T/mallory.pem")
TAPEHOST=$(subject "$T/tapehost.pem")
tlsca_revoke "$T/ca" "$T/mallory" || fail "revoking mallory"

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
ok "abs-ctld listens on $URI"
up() { kill -0 "$CPID" 2>/dev/null || { cat "$T/ctld.log" >&2; fail "abs-ctld died"; }; }
as() {	# as NAME abs-ctl ARGS...: with NAME's certificate
	n=$1
	shift
	ABS_CA="$T/ca/ca.pem" ABS_CERT="$T/$n.pem" ABS_KEY="$T/$n.key" "$CTL" \
		--socket "$URI" "$@"
}

# Grants: alice operator, bob retrieval, mallory (revoked) admin.
"$CTL" --socket "$T/ctld.sock" acl-set "$ALICE" operator >/dev/null || fail "acl-set alice"
"$CTL" --socket "$T/ctld.sock" acl-set "$BOB" retrieval >/dev/null || fail "acl-set bob"
"$CTL" --socket "$T/ctld.sock" acl-set "$CAROL" retrieval >/dev/null || fail "acl-set carol"
"$CTL" --socket "$T/ctld.sock" acl-set "$MALLORY" admin >/dev/null || fail "acl-set mallory"
"$CTL" --socket "$T/ctld.sock" acl >acl.txt || fail "acl"
grep -q "CN=alice" acl.txt || { cat acl.txt >&2; fail "acl does not list alice"; }
expect_fail "krb:PRINCIPAL or cert:SUBJECT" "$CTL" --socket "$T/ctld.sock" \
	acl-set "alice" operator
expect_fail "server-allow" "$CTL" --socket "$T/ctld.sock" acl-set "$ALICE" engine

# A good client: who it is, what its role allows, and no more.
as alice --json whoami >who.json || fail "whoami over TLS"
grep -q '"identity": *"cert:O=ABS test,CN=alice"' who.json ||
	{ cat who.json >&2; fail "whoami: not alice's identity"; }
grep -q '"operator"' who.json || fail "whoami: alice is no operator"
as alice status >/dev/null || fail "status over TLS"
ok "alice's certificate: $ALICE, operator"
expect_fail "may not acl-set (needs admin)" as alice acl-set 7 admin
expect_fail "may not" as bob pool-add sneaky
grep -q "CN=bob.*may not pool-add" "$T/ctld.log" || fail "the refusal is not logged"
# The name checked: abs-ctld's certificate names 127.0.0.1 and localhost.
"$CTL" --host "localhost:$PORT" --cert "$T/alice.pem" --key "$T/alice.key" \
	--ca "$T/ca/ca.pem" status >/dev/null || fail "--host by name, --cert --key --ca"
"$CTL" status --host="localhost:$PORT" --cert="$T/alice.pem" \
	--key="$T/alice.key" --ca="$T/ca/ca.pem" >/dev/null || fail "--host= after the command"
ABS_HOST="127.0.0.1:$PORT" ABS_CA="$T/ca/ca.pem" ABS_CERT="$T/alice.pem" \
	ABS_KEY="$T/alice.key" "$CTL" status >/dev/null || fail "ABS_HOST"
ok "abs-ctl --host, --cert, --key, --ca and ABS_HOST"
tlsca_issue "$T/ca" "$T/impostor" impostor "DNS:elsewhere.example" || fail "impostor cert"
"$CTLD" --socket "$T/imp.sock" --db "$T/imp.db" --foreground \
	--listen 127.0.0.1:0 --cert "$T/impostor.pem" --key "$T/impostor.key" \
	--ca "$T/ca/ca.pem" 2>"$T/imp.log" &
IPID=$!
PIDS="$PIDS $IPID"
wait_for "listening on 127.0.0.1:[0-9]* (TLS" "$T/imp.log"
IPORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) (TLS.*/\1/p' "$T/imp.log")
expect_fail "certificate verify failed" env ABS_CA="$T/ca/ca.pem" \
	ABS_CERT="$T/alice.pem" ABS_KEY="$T/alice.key" "$CTL" \
	--socket "tls://127.0.0.1:$IPORT" status
kill "$IPID"
ok "abs-ctld's certificate must name the host asked for"

# Refusals, each said to the client and logged; abs-ctld stays up.
expect_fail "no client certificate" env ABS_CA="$T/ca/ca.pem" "$CTL" \
	--socket "$URI" status
up
expect_fail "client certificate refused: unable to" env ABS_CA="$T/ca/ca.pem" \
	ABS_CERT="$T/eve.pem" ABS_KEY="$T/eve.key" "$CTL" --socket "$URI" status
grep -q "refused: client certificate refused: unable to" \
	"$T/ctld.log" || { cat "$T/ctld.log" >&2; fail "another CA: not logged"; }
up
ok "a certificate from another CA (same CN) is refused"
expect_fail "certificate revoked" as mallory status
grep -q "refused: client certificate refused: certificate revoked" \
	"$T/ctld.log" || fail "revoked: not logged"
up
ok "a revoked certificate is refused (CRL)"
# A certificate revoked while abs-ctld runs: the next connection knows.
as bob status >/dev/null || fail "bob before his revocation"
tlsca_revoke "$T/ca" "$T/bob" || fail "revoking bob"
expect_fail "certificate revoked" as bob status
up
ok "a CRL changed on disk takes effect at the next connection"

# Plaintext to the TLS port: told so in plain text, logged.
python3 - "$PORT" >plain.txt <<'EOF' || fail "plaintext client"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b'{"op":"hello","args":{"version":1},"id":1}\n')
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.decode())
EOF
grep -q "TLS 1.3 only" plain.txt || { cat plain.txt >&2; fail "plaintext: no clear refusal"; }
grep -q "refused: not TLS" "$T/ctld.log" || fail "plaintext: not logged"
up
ok "plaintext JSON to the TLS port: refused, in plain text"

# A TLS 1.2-only client (a downgrade): no handshake.
if openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -cert "$T/alice.pem" \
    -key "$T/alice.key" -CAfile "$T/ca/ca.pem" </dev/null >tls12.txt 2>&1 &&
    ! grep -q "alert\|error" tls12.txt; then
	cat tls12.txt >&2
	fail "a TLS 1.2 client got through"
fi
grep -q "alert protocol version\|unsupported protocol\|no protocols available" \
	tls12.txt || { cat tls12.txt >&2; fail "TLS 1.2: not a protocol version refusal"; }
wait_for "TLS handshake failed: unsupported protocol" "$T/ctld.log"
up
ok "a TLS 1.2-only client is refused at the handshake, logged"

# Authentication lines that are not right: refused, said.
python3 - "$PORT" "$T" >authbad.txt <<'EOF' || fail "bad auth lines"
import socket, ssl, sys
port, t = int(sys.argv[1]), sys.argv[2]
def talk(line):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(t + "/ca/ca.pem")
    ctx.load_cert_chain(t + "/alice.pem", t + "/alice.key")
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
        timeout=20), server_hostname="127.0.0.1")
    s.sendall(line)
    data = b""
    try:
        while not data.endswith(b"\n"):
            b = s.recv(4096)
            if not b:
                break
            data += b
    except (ssl.SSLError, OSError):
        pass
    print(data.decode().strip())
talk(b'not json\n')
talk(b'{"auth":"password","secret":"x"}\n')
talk(b'{"auth":"ok","identity":"cert:CN=root"}\n')
talk(b'{"auth":"gssapi","token":"not base64!"}\n')
EOF
[ "$(grep -c '"auth":"refused"' authbad.txt)" = 4 ] ||
	{ cat authbad.txt >&2; fail "bad authentication lines not all refused"; }
grep -q "not a JSON object" authbad.txt || fail "not JSON: no reason"
grep -q "unknown authentication" authbad.txt || fail "unknown kind: no reason"
up
ok "malformed authentication lines: refused with a reason"

# Media servers over TLS. An operator cannot pose as one: its identity
# has no engine role whatever the ACL says.
"$CTL" --socket "$T/ctld.sock" acl-set "$ALICE" admin >/dev/null || fail "alice admin"
cat >pose.py <<'PYEOF'
import json, socket, ssl, sys
port, t, who = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(t + "/ca/ca.pem")
ctx.load_cert_chain(t + "/" + who + ".pem", t + "/" + who + ".key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
    server_hostname="127.0.0.1")
f = s.makefile("rwb")
f.write(b'{"auth":"cert"}\n'); f.flush()
print(f.readline().decode().strip())
for req in ({"op": "hello", "args": {"version": 1}, "id": 1},
            {"op": "engine-register", "args": {"drive": "tape-0",
             "device": "vtape:/nonexistent", "version": 1}, "id": 2}):
    f.write(json.dumps(req).encode() + b"\n"); f.flush()
    print(f.readline().decode().strip())
PYEOF
python3 pose.py "$PORT" "$T" alice >pose.txt || fail "posing client"
grep -q '"id":2.*"denied"' pose.txt ||
	{ cat pose.txt >&2; fail "an admin's certificate registered a drive"; }
grep -q "may not engine-register" pose.txt || { cat pose.txt >&2; fail "posing: no reason"; }
up
ok "an operator (even an admin) cannot pose as a media server"

# A media server not on the table: refused, said, logged.
"$VTAPE" new-library lib --slots 3 --drives 2 --capacity 24M --barcode-prefix T >/dev/null
serve() {	# serve DRIVE N: a media server over TLS for lib's drive N
	"$ENGINE" serve --control "$URI" --cert "$T/tapehost.pem" \
		--key "$T/tapehost.key" --ca "$T/ca/ca.pem" --drive "$1" \
		--device "vtape:$T/lib/drive$2" --log "$T/journal-$1.log" \
		2>"$T/engine-$1.log" &
	EPID=$!
	PIDS="$PIDS $EPID"
}
serve tape-0 0
wait_for "may not engine-register" "$T/engine-tape-0.log"
grep -q "CN=tapehost.*may not engine-register" "$T/ctld.log" ||
	{ cat "$T/ctld.log" >&2; fail "the refused media server is not logged"; }
kill "$EPID" 2>/dev/null || true
up
ok "a media server not on the table cannot register"
# On the table for tape-*, not for other0.
"$CTL" --socket "$T/ctld.sock" server-allow 'tape-*' "$TAPEHOST" >/dev/null ||
	fail "server-allow"
expect_fail "cert:SUBJECT" "$CTL" --socket "$T/ctld.sock" server-allow d9 tapehost
expect_fail "may not server-allow" as carol server-allow "x*" "$CAROL"
serve other0 1
wait_for "not authorized to serve drive other0" "$T/engine-other0.log"
kill "$EPID" 2>/dev/null || true
up
ok "a media server on the table registers only its own drives"
serve tape-0 0
w_end=$(deadline)
until as alice --json status | tr '{' '\n' | grep '"drive": *"tape-0"' | grep -q '"state": *"idle"'; do
	before "$w_end" || { cat "$T/engine-tape-0.log" >&2; fail "tape-0 never idle"; }
	sleep 0.1
done
"$CTL" --socket "$T/ctld.sock" --json servers-allowed >sa.json || fail "servers-allowed"
grep -q '"drive": *"tape-0"' sa.json || { cat sa.json >&2; fail "servers-allowed: not connected"; }
ok "the authorized media server serves tape-0 over TLS"

# A dump through it, asked for over TLS too: label, write, catalog.
"$CTL" --socket "$T/ctld.sock" tape-add default T00001 T00002 T00003 >/dev/null
mkdir -p src && head -c 2000000 /dev/urandom >src/data.bin && echo hi >src/a.txt
"$CTL" --socket "$T/ctld.sock" entity-add home.net "dir:$T/src" >/dev/null
as alice --json dump tape-0 home.net >dump.json || { cat dump.json >&2; fail "dump over TLS"; }
j=$(tr -d ' \n' <dump.json | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
[ -n "$j" ] || { cat dump.json >&2; fail "no job id"; }
w_end=$(deadline)
st=
until case $st in done | failed | aborted) true ;; *) false ;; esac; do
	before "$w_end" || { cat "$T/engine-tape-0.log" >&2; fail "job $j: $st"; }
	sleep 0.2
	st=$(as alice --json jobs | tr -d ' \n' | tr '{' '\n' | grep "\"id\":$j," |
		sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
done
[ "$st" = done ] || { cat "$T/engine-tape-0.log" "$T/ctld.log" >&2; fail "dump over TLS: $st"; }
as alice tapes-for home.net | grep -q T0000 || fail "tapes-for home.net"
ok "a dump by a media server over TLS, asked for by an operator over TLS"
expect_fail "network identity has no uid" as carol restore home.net --to "$T/elsewhere"
[ ! -e "$T/elsewhere" ] || fail "a refused restore made its target"
# The console over the same channel: alice's identity and role in its
# title, the TLS media server on its drives screen, a clean exit.
if command -v tmux >/dev/null 2>&1; then
	tm() { tmux -S "$T/tmux.sock" -f /dev/null "$@"; }
	wait_screen() {
		end=$(($(date +%s) + 300))
		until tm capture-pane -p -t tui | grep -Eq -- "$1"; do
			[ "$(date +%s)" -lt $end ] || { tm capture-pane -p -t tui >&2; fail "the console never showed '$1'"; }
			sleep 0.2
		done
	}
	tm new-session -d -x 100 -y 24 -s tui "env PS1='prompt\$ ' sh"
	PIDS="$PIDS $(tm display -p -t tui '#{pid}')"
	tm send-keys -t tui "ABS_CA=$T/ca/ca.pem ABS_CERT=$T/alice.pem ABS_KEY=$T/alice.key $CTL --host 127.0.0.1:$PORT tui; echo TUI-EXIT=\$?" Enter
	wait_screen "ABS console: menu"
	wait_screen "CN=alice: operator"
	tm send-keys -t tui 1
	wait_screen "^tape-0 +idle"
	tm send-keys -t tui q Q
	wait_screen "TUI-EXIT=0"
	tm kill-server 2>/dev/null || true
	up
	ok "abs-ctl --host ... tui: the console over TLS, as alice"
else
	echo "SKIP-PART: the console over TLS (tmux is not installed)"
fi
# Taken off the table: disconnected, and it cannot come back.
"$CTL" --socket "$T/ctld.sock" server-deny 'tape-*' >deny.txt || fail "server-deny"
grep -q "disconnected *1" deny.txt || { cat deny.txt >&2; fail "server-deny did not disconnect it"; }
wait_for "no longer authorized" "$T/ctld.log"
up
ok "server-deny: its media server is let go"
kill "$EPID" 2>/dev/null || true

cat "$T/ctld.log" | grep -c "refused" | xargs -I{} echo "abs-ctld logged {} refusals"
grep -qi "sanitizer\|runtime error" "$T/ctld.log" && fail "sanitizer report"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
ok "t_tls"
