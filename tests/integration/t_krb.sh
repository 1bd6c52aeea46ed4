#!/bin/sh
# Kerberos across the network (issue 17): abs-ctld --listen with its
# keytab (abs/127.0.0.1@ABS.TEST) in a throwaway realm (krb.sh). An
# operator with a ticket (kinit) runs abs-ctl --host, authenticated by
# GSSAPI inside TLS (no client certificate); a media server's keytab
# authenticates as abs/tapehost; refused, each with a clear error for the
# client and a line in abs-ctld's log, abs-ctld staying up: no ticket, an
# expired ticket (the client's own check), a ticket abs-ctld finds expired
# (issued by a KDC whose clock is 2 hours behind), a principal without the
# role, a principal with no grant at all, a service abs-ctld has no key for,
# a media server's principal that is not on the table; then a media
# server with its keytab registers and dumps what an operator with a
# ticket asks for.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tlsca.sh"
. "$(dirname "$0")/krb.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
unset ABS_CTL_SOCKET ABS_HOST ABS_CERT ABS_KEY ABS_CA ABS_KEYTAB
command -v openssl >/dev/null || skip "no openssl"

krb_start
krb_service abs/127.0.0.1 "$KRB_DIR/ctld.keytab"
krb_service abs/tapehost "$KRB_DIR/tapehost.keytab"
krb_service abs/elsewhere "$KRB_DIR/elsewhere.keytab"
for u in alice bob carol late; do krb_user "$u" "pw-$u"; done
ok "realm $KRB_REALM: KDC on 127.0.0.1:$KRB_PORT"

# TLS still proves abs-ctld's certificate to the client; Kerberos proves
# the client (and, mutually, abs-ctld again).
tlsca_init "$T/ca" "ABS site" || fail "site CA"
tlsca_issue "$T/ca" "$T/ctld" ctld "IP:127.0.0.1,DNS:localhost" || fail "ctld cert"
"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--listen 127.0.0.1:0 --cert "$T/ctld.pem" --key "$T/ctld.key" \
	--ca "$T/ca/ca.pem" --keytab "$KRB_DIR/ctld.keytab" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for "listening on 127.0.0.1:[0-9]* (TLS" "$T/ctld.log"
PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) (TLS.*/\1/p' "$T/ctld.log")
[ -n "$PORT" ] || fail "no port in the log"
wait_for "listening on $T/ctld.sock" "$T/ctld.log"
export ABS_CA="$T/ca/ca.pem"
H="127.0.0.1:$PORT"
up() { kill -0 "$CPID" 2>/dev/null || { cat "$T/ctld.log" >&2; fail "abs-ctld died"; }; }
admin() { "$CTL" --socket "$T/ctld.sock" "$@"; }
logged() {	# logged PATTERN WHAT: abs-ctld's log says it
	wait_for "$1" "$T/ctld.log"
	ok "logged: $(grep "$1" "$T/ctld.log" | tail -n1 | sed 's/^[^:]*: //')"
}

admin acl-set "krb:alice@$KRB_REALM" operator >/dev/null || fail "acl-set alice"
admin acl-set "krb:bob@$KRB_REALM" retrieval >/dev/null || fail "acl-set bob"
admin acl-set "krb:late@$KRB_REALM" operator >/dev/null || fail "acl-set late"
admin acl >acl.txt || fail "acl"
grep -q "krb:alice@$KRB_REALM" acl.txt || { cat acl.txt >&2; fail "acl does not list alice"; }

# An operator with a ticket: abs-ctl --host, no certificate.
krb_kinit alice pw-alice
"$CTL" --host "$H" --json whoami >who.json || { cat "$T/ctld.log" >&2; fail "whoami with a ticket"; }
grep -q "\"identity\": *\"krb:alice@$KRB_REALM\"" who.json ||
	{ cat who.json >&2; fail "whoami: not alice's principal"; }
grep -q '"operator"' who.json || { cat who.json >&2; fail "whoami: alice is no operator"; }
"$CTL" --host "$H" status >/dev/null || fail "status with a ticket"
"$CTL" --host "$H" --krb --service "abs/127.0.0.1@$KRB_REALM" status >/dev/null ||
	fail "--krb --service abs/127.0.0.1@$KRB_REALM"
ABS_HOST="$H" "$CTL" status >/dev/null || fail "ABS_HOST"
logged "TLS client .* is krb:alice@$KRB_REALM"
klist | grep -q "abs/127.0.0.1@$KRB_REALM" || fail "no service ticket in alice's cache"
ok "alice's ticket: krb:alice@$KRB_REALM, operator, over TLS"

# A media server's keytab: its own principal, its tickets in a memory
# cache (alice's cache is not touched).
# (a media server holds no person's role: its identity is in the refusal)
expect_fail "krb:abs/tapehost@$KRB_REALM may not whoami" \
	env ABS_KEYTAB="$KRB_DIR/tapehost.keytab" "$CTL" --host "$H" whoami
klist | grep -q "abs/tapehost" && fail "the keytab's tickets went into alice's cache"
logged "TLS client .* is krb:abs/tapehost@$KRB_REALM"
ok "a keytab authenticates as krb:abs/tapehost@$KRB_REALM"

# A principal without the role: authenticated, then refused per request.
krb_kinit bob pw-bob
expect_fail "may not" "$CTL" --host "$H" pool-add sneaky
logged "krb:bob@$KRB_REALM.*may not"
up
# A principal with no grant at all.
krb_kinit carol pw-carol
expect_fail "may not\|no role" "$CTL" --host "$H" status
logged "krb:carol@$KRB_REALM"
up
ok "principals without the role are refused per request"

# A service abs-ctld holds no key for (abs/elsewhere exists in the realm).
krb_kinit alice pw-alice
expect_fail "abs-ctld refused Kerberos authentication: .*not found in keytab" \
	"$CTL" --host "$H" --service abs/elsewhere status
logged "Kerberos authentication refused: .*abs/elsewhere"
up

# No ticket at all: the client says what to do; abs-ctld logs the
# connection that went without authenticating.
kdestroy >/dev/null 2>&1 || true
expect_fail "no Kerberos ticket (run kinit" "$CTL" --host "$H" status
logged "no authentication"
up
ok "no ticket: refused by the client, told to kinit"

# An expired ticket: the client's own check.
krb_kinit alice pw-alice 4s
krb_expire_wait
expect_fail "Kerberos ticket has expired (run kinit again)" "$CTL" --host "$H" status
up
ok "an expired ticket: refused by the client"

# A ticket abs-ctld finds expired: "late"'s tickets come from a KDC whose
# clock is 2 hours behind and live 30 minutes by it; the client learns
# the KDC's time and believes them, abs-ctld checks them by its own clock.
kadmin_ modprinc -maxlife '"30 minutes"' late
krb_kdc_clock -2h
krb_kinit late pw-late
kvno "abs/127.0.0.1" >/dev/null || fail "late's service ticket"
krb_kdc_clock ""
expect_fail "abs-ctld refused Kerberos authentication: Ticket expired" \
	"$CTL" --host "$H" status
logged "Kerberos authentication refused: Ticket expired"
up
ok "a ticket expired by abs-ctld's clock: refused by abs-ctld"

# Still serving after every refusal.
krb_kinit alice pw-alice
"$CTL" --host "$H" status >/dev/null || fail "status after the refusals"

# A media server with its keytab: not on the table, refused; on it for
# tape-*, it registers tape-0 and dumps what alice asks for with her
# ticket. abs/elsewhere's keytab (a real principal) is refused tape-0.
"$VTAPE" new-library lib --slots 3 --drives 2 --capacity 24M --barcode-prefix K >/dev/null
serve() {	# serve DRIVE N KEYTAB: a media server over TLS for lib's drive N
	"$ENGINE" serve --control "tls://$H" --keytab "$3" --ca "$T/ca/ca.pem" \
		--drive "$1" --device "vtape:$T/lib/drive$2" --log "$T/journal-$1.log" \
		2>"$T/engine-$1.log" &
	EPID=$!
	PIDS="$PIDS $EPID"
}
serve tape-0 0 "$KRB_DIR/tapehost.keytab"
wait_for "may not engine-register" "$T/engine-tape-0.log"
logged "krb:abs/tapehost@$KRB_REALM.*may not engine-register"
kill "$EPID" 2>/dev/null || true
up
admin server-allow 'tape-*' "krb:abs/tapehost@$KRB_REALM" >/dev/null || fail "server-allow"
serve tape-0 0 "$KRB_DIR/elsewhere.keytab"
wait_for "may not engine-register\|not authorized" "$T/engine-tape-0.log"
kill "$EPID" 2>/dev/null || true
up
ok "media servers not on the table cannot register"
serve tape-0 0 "$KRB_DIR/tapehost.keytab"
w_end=$(deadline)
until "$CTL" --host "$H" --json status | tr '{' '\n' | grep '"drive": *"tape-0"' |
    grep -q '"state": *"idle"'; do
	before "$w_end" || { cat "$T/engine-tape-0.log" >&2; fail "tape-0 never idle"; }
	sleep 0.1
done
ok "the media server authenticated by its keytab serves tape-0"
admin tape-add default K00001 K00002 K00003 >/dev/null
mkdir -p src && head -c 2000000 /dev/urandom >src/data.bin && echo hi >src/a.txt
admin entity-add home.krb "dir:$T/src" >/dev/null
"$CTL" --host "$H" --json dump tape-0 home.krb >dump.json ||
	{ cat dump.json >&2; fail "dump asked for with a ticket"; }
j=$(tr -d ' \n' <dump.json | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
[ -n "$j" ] || { cat dump.json >&2; fail "no job id"; }
w_end=$(deadline)
st=
until case $st in done | failed | aborted) true ;; *) false ;; esac; do
	before "$w_end" || { cat "$T/engine-tape-0.log" >&2; fail "job $j: $st"; }
	sleep 0.2
	st=$("$CTL" --host "$H" --json jobs | tr -d ' \n' | tr '{' '\n' | grep "\"id\":$j," |
		sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
done
[ "$st" = done ] || { cat "$T/engine-tape-0.log" "$T/ctld.log" >&2; fail "dump: $st"; }
"$CTL" --host "$H" tapes-for home.krb | grep -q K0000 || fail "tapes-for home.krb"
ok "a dump by a keytab's media server, asked for with a ticket"
kill "$EPID" 2>/dev/null || true
grep -qi "sanitizer\|runtime error" "$T/ctld.log" && fail "sanitizer report"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
ok "t_krb"
