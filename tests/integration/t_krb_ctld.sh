#!/bin/sh
# abs-ctld's own edges of Kerberos (issue 17; control/listen.c, gss.c),
# in a throwaway realm (krb.sh). At start, --keytab is checked: a file
# that is missing, a directory, not a keytab, a keytab with no key, or
# one without a key of a service abs/HOST: abs-ctld says which and exits,
# before it serves anyone. Then, running: a client that sends bytes after
# its first gssapi line without waiting for abs-ctld's answer is refused
# with the reason (to it and in the log), its bytes never reach the
# loop as requests, and abs-ctld stays up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tlsca.sh"
. "$(dirname "$0")/krb.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
unset ABS_CTL_SOCKET ABS_HOST ABS_CERT ABS_KEY ABS_CA ABS_KEYTAB
command -v openssl >/dev/null || skip "no openssl"

krb_start
krb_service abs/127.0.0.1 "$KRB_DIR/ctld.keytab"
krb_service host/elsewhere "$KRB_DIR/host.keytab"
krb_user alice pw-alice
ok "realm $KRB_REALM: KDC on 127.0.0.1:$KRB_PORT"
tlsca_init "$T/ca" "ABS site" || fail "site CA"
tlsca_issue "$T/ca" "$T/ctld" ctld "IP:127.0.0.1,DNS:localhost" || fail "ctld cert"

# ctld KEYTAB: abs-ctld in the foreground with that keytab (a start that
# is wrongly accepted runs until timeout(1) ends it: no pattern, a FAIL).
ctld() {
	timeout 60 "$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
		--listen 127.0.0.1:0 --cert "$T/ctld.pem" --key "$T/ctld.key" \
		--ca "$T/ca/ca.pem" --keytab "$1"
}
expect_fail "keytab $T/missing.keytab cannot be read: No such file" ctld "$T/missing.keytab"
mkdir "$T/dir.keytab"
expect_fail "keytab $T/dir.keytab is not a regular file" ctld "$T/dir.keytab"
printf "not a keytab\n" >"$T/junk.keytab"
expect_fail "keytab $T/junk.keytab cannot be read" ctld "$T/junk.keytab"
printf '\005\002' >"$T/empty.keytab"	# a keytab's header, no entry
expect_fail "keytab $T/empty.keytab holds no key" ctld "$T/empty.keytab"
expect_fail "holds no key for a service principal abs/HOST.*host/elsewhere@$KRB_REALM" \
	ctld "$KRB_DIR/host.keytab"
if [ "$(id -u)" != 0 ]; then
	cp "$KRB_DIR/ctld.keytab" "$T/locked.keytab" && chmod 000 "$T/locked.keytab"
	expect_fail "keytab $T/locked.keytab cannot be read: Permission denied" ctld "$T/locked.keytab"
fi
[ ! -S "$T/ctld.sock" ] || fail "a refused start left its socket"
ok "abs-ctld --keytab: missing, a directory, not a keytab, empty, no abs/HOST key: each said, no start"

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--listen 127.0.0.1:0 --cert "$T/ctld.pem" --key "$T/ctld.key" \
	--ca "$T/ca/ca.pem" --keytab "FILE:$KRB_DIR/ctld.keytab" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for "listening on 127.0.0.1:[0-9]* (TLS" "$T/ctld.log"
PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) (TLS.*/\1/p' "$T/ctld.log")
[ -n "$PORT" ] || fail "no port in the log"
wait_for "listening on $T/ctld.sock" "$T/ctld.log"
up() { kill -0 "$CPID" 2>/dev/null || { cat "$T/ctld.log" >&2; fail "abs-ctld died"; }; }
ok "abs-ctld starts with a keytab that holds abs/127.0.0.1 (FILE: form)"

# The first gssapi line and a request behind it in the same TLS record
# (s_client sends what one read of its stdin gives: the whole file).
printf '%s\n%s\n' '{"auth":"gssapi","token":"YWJj"}' '{"op":"acl-set","args":{"identity":"krb:eve@X","roles":"admin"},"id":1}' >early.txt
timeout 60 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$T/ca/ca.pem" -quiet \
	<early.txt >early.out 2>&1 || true
grep -q '"auth":"refused".*bytes sent after the first gssapi line' early.out ||
	{ cat early.out "$T/ctld.log" >&2; fail "early bytes were not refused with the reason"; }
wait_for "refused: [0-9]* bytes sent after the first gssapi line" "$T/ctld.log"
! grep -q '"id":1' early.out || fail "the early request got an answer: $(cat early.out)"
up
"$CTL" --socket "$T/ctld.sock" acl | grep -q "krb:eve" && fail "the early request reached abs-ctld's loop"
ok "bytes after the first gssapi line: refused ($(grep -o 'refused: [0-9]* bytes sent after the first gssapi line[^;]*' "$T/ctld.log" | head -n 1)), closed, abs-ctld up"

# The exchange itself still works: alice with a ticket.
"$CTL" --socket "$T/ctld.sock" acl-set "krb:alice@$KRB_REALM" retrieval >/dev/null || fail "acl-set alice"
krb_kinit alice pw-alice
"$CTL" --host "127.0.0.1:$PORT" --ca "$T/ca/ca.pem" whoami >who.txt 2>&1 ||
	{ cat who.txt "$T/ctld.log" >&2; fail "alice's whoami"; }
grep -q "krb:alice@$KRB_REALM" who.txt || fail "whoami: $(cat who.txt)"
ok "a client that waits its turn: krb:alice@$KRB_REALM"
up
grep -qi "sanitizer\|runtime error" "$T/ctld.log" && fail "sanitizer report"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
ok "t_krb_ctld"
