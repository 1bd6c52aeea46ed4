# Several hosts, the Kerberos path (issue 17): three hosts as network
# namespaces (netns.sh), a real realm (krb.sh: krb5kdc and kadmin.local,
# a database made by kdb5_util create -s in the test's directory) whose
# KDC runs on host A beside abs-ctld. abs-ctld listens on A with TLS 1.3
# (its certificate proves it to clients, hosts_lib.sh) and its keytab for
# abs/ctl.abs.test; the hosts know each other by names in a hosts file of
# the test's own (netns.sh's named_on), as a site's DNS would name them.
# Host B runs a media server authenticated by its host principal's keytab,
# allowed as b0; on host C people who ran kinit use abs-ctl --host
# ctl.abs.test --krb: olga (operator) runs the night on B's drive, alice
# (retrieval) restores into B's RESTORE_ROOT, equal to the sources. Then
# the refusals, each said to the client and logged by abs-ctld, abs-ctld
# up after each: a principal without the role, one with no grant, no
# ticket (kdestroy), a ticket expired by the client's clock, one expired
# by abs-ctld's clock (from the KDC run 2 hours behind), a service
# abs-ctld has no key for, a media server principal not on the list, and
# a listed one registering another drive. README "The Kerberos path" is
# this test's steps.
[ -w /dev/shm ] && TMPDIR=/dev/shm
. "$(dirname "$0")/lib.sh"
. "$ABS_TOP/tests/integration/netns.sh"
. "$ABS_TOP/tests/integration/hosts_lib.sh"
# The KDC listens on host A's address (krb5.conf's kdc, kdc.conf's
# kdc_listen), reached from B and C over the hosts' network.
KRB_ADDR=$(host_ip A)
. "$ABS_TOP/tests/integration/krb.sh"
unset ABS_CTL_SOCKET ABS_HOST ABS_CERT ABS_KEY ABS_KEYTAB
export TZ=UTC ABS_RUN_DIR="$T" ABS_RESTORE_ROOT="$T/restore"
netns_up
R=$KRB_REALM
CTL_NAME=ctl.abs.test
# MIT's defaults, which canonicalise a host-based service's name through
# DNS (and a reverse lookup): host A's canonical name is hosta.abs.test,
# ctl.abs.test an alias (a CNAME at a site). abs-ctld's principal is
# abs/ctl.abs.test: a client that canonicalised would ask for
# abs/hosta.abs.test and be refused (README "Names").
sed -i '/dns_canonicalize_hostname\|rdns/d' "$KRB5_CONFIG"
cat >"$NETNS_HOSTS_FILE" <<EOF
127.0.0.1 localhost
$(host_ip A) hosta.abs.test $CTL_NAME kdc.abs.test
$(host_ip B) tapehost-b.abs.test
$(host_ip C) desk-c.abs.test
EOF
named_on C getent hosts "$CTL_NAME" | grep -q "^$(host_ip A) *hosta.abs.test " ||
	fail "host C does not find $CTL_NAME (an alias of hosta.abs.test) in the test's hosts file"

# TLS proves abs-ctld to every client (its certificate names
# ctl.abs.test); Kerberos proves the clients, and abs-ctld again.
pki_site
export ABS_CA="$PKI/site/ca.pem"

# The realm, its KDC on host A.
krb_start_on A
krb_service "abs/$CTL_NAME" "$KRB_DIR/ctld.keytab"
krb_service abs/tapehost-b.abs.test "$KRB_DIR/tapehost-b.keytab"
krb_service abs/tapehost-c.abs.test "$KRB_DIR/tapehost-c.keytab"
krb_service abs/elsewhere.abs.test "$KRB_DIR/elsewhere.keytab"
for u in olga alice carol late; do krb_user "$u" "pw-$u"; done
ok "realm $R: krb5kdc on host A, $KRB_ADDR:$KRB_PORT"

ctld_start A --keytab "$KRB_DIR/ctld.keytab"
admin server-allow b0 "krb:abs/tapehost-b.abs.test@$R" >/dev/null || fail "server-allow b0"
admin acl-set "krb:olga@$R" operator >/dev/null || fail "acl-set olga"
admin acl-set "krb:alice@$R" retrieval >/dev/null || fail "acl-set alice"
admin acl-set "krb:late@$R" operator >/dev/null || fail "acl-set late"
ok "abs-ctld on host A listening on $(host_ip A):$PORT with its keytab for abs/$CTL_NAME"

# desk CMD...: abs-ctl on host C, by name, with the ticket in $KRB5CCNAME
# (each person's cache of her own).
desk() { named_on C "$CTL" --host "$CTL_NAME:$PORT" --krb "$@"; }
cc() { KRB5CCNAME="FILE:$KRB_DIR/cc.$1"; export KRB5CCNAME; }
mark() { MARK=$(wc -l <"$T/ctld-A.log"); }
# logged PATTERN: abs-ctld's log has a line matching it since the mark.
logged() {
	said=$1
	until_ok 'tail -n +$((MARK + 1)) "$T/ctld-A.log" | grep -q "$said"'
	ok "abs-ctld logged: $(tail -n +$((MARK + 1)) "$T/ctld-A.log" | grep "$said" | tail -n 1 | sed 's/^[^:]*: //' | cut -c1-120)"
}

# Host B: a vtape library and its media server, authenticated by the
# keytab of its host principal.
# serve HOST DRIVE DEVICE KEYTAB PRINCIPAL: a media server; PID in MSPID.
serve() {
	bg_named_on "$1" "$ENGINE" serve --control "tls://$CTL_NAME:$PORT" --ca "$ABS_CA" \
		--keytab "$4" --principal "$5" --drive "$2" --device "$3" \
		--log "$T/journal-$2.log" 2>>"$T/engine-$2.log"
	MSPID=$BG_PID
}
"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 24M --barcode-prefix K >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
mark
serve B b0 "vtape:$T/lib/drive0" "$KRB_DIR/tapehost-b.keytab" "abs/tapehost-b.abs.test@$R"
EPID=$MSPID
admin tape-add default K00001 K00002 K00003 K00004 K00005 K00006 >/dev/null
until_ok '[ "$(drive_state b0)" = idle ]'
logged "TLS client $(host_ip B):[0-9]* is krb:abs/tapehost-b.abs.test@$R"
ok "host B's media server registered b0 with its keytab"

for i in 1 2 3; do
	mkdir -p "src/v$i/sub"
	head -c $((i * 70000)) /dev/urandom >"src/v$i/a.bin"
	echo "v$i" >"src/v$i/sub/b.txt"
	ln -s a.bin "src/v$i/link"
	admin entity-add "v$i" "dir:$T/src/v$i" >/dev/null
done

# olga on host C: kinit, whoami, the night's run on B's drive.
cc olga
krb_kinit_on C olga pw-olga
mark
desk --json whoami >who.json || { cat who.json "$T/ctld-A.log" >&2; fail "olga's whoami from host C"; }
jq -e ".identity == \"krb:olga@$R\"" who.json >/dev/null || { cat who.json >&2; fail "whoami: not olga's principal"; }
grep -q '"operator"' who.json || { cat who.json >&2; fail "whoami: olga is no operator"; }
logged "TLS client $(host_ip C):[0-9]* is krb:olga@$R"
klist | grep -q "abs/$CTL_NAME@$R" || fail "no ticket for abs/$CTL_NAME in olga's cache"
desk run b0 </dev/null >run.txt 2>&1 || { cat run.txt "$T/ctld-A.log" >&2; fail "run b0 from host C"; }
grep -q "done: 3 dumped, 0 failed" run.txt || { cat run.txt; fail "the night's summary"; }
[ "$(q "SELECT count(*) FROM dumps WHERE state = 'complete'")" = 3 ] ||
	fail "3 complete dumps expected: $(q "SELECT * FROM dumps")"
ok "a night's run asked by olga (kinit on host C): 3 dumps on host B's drive"

# alice on host C restores; B's media server writes into its
# RESTORE_ROOT.
cc alice
krb_kinit_on C alice pw-alice
mkdir -m 0700 "$T/restore"
for i in 1 3; do
	desk restore "v$i" >/dev/null || fail "alice's restore of v$i from host C"
done
until_ok '[ "$(q "SELECT count(*) FROM jobs WHERE kind = '\''restore'\'' AND state IN ('\''queued'\'','\''running'\'')")" = 0 ]'
[ "$(q "SELECT count(*) FROM jobs WHERE kind = 'restore' AND state = 'done'")" = 2 ] ||
	{ admin jobs >&2; fail "the restores did not end done"; }
for i in 1 3; do
	[ "$(tree_meta "src/v$i")" = "$(tree_meta "restore/v$i")" ] || fail "restore of v$i differs"
	cmp "src/v$i/a.bin" "restore/v$i/a.bin" || fail "restore/v$i/a.bin differs"
done
ok "alice's restores (kinit on host C) run on host B equal their sources"

# ---- refusals ----
# A principal without the role: alice is retrieval, not operator.
mark
expect_fail "krb:alice@$R may not run (needs operator)" desk run b0
logged "krb:alice@$R.*may not run"
ctld_up
# A principal with no grant at all.
cc carol
krb_kinit_on C carol pw-carol
mark
expect_fail "krb:carol@$R may not status" desk status
logged "krb:carol@$R.*may not"
ctld_up
ok "principals without the role: refused per request"

# By address: the service principal is named after the host as typed,
# so the realm has no abs/ADDRESS (the client says which it asked for);
# --service names abs-ctld's.
cc alice
mark
expect_fail "cannot get a Kerberos ticket for abs/$(host_ip A): .*not found in Kerberos database" \
	on C "$CTL" --host "$(host_ip A):$PORT" --krb status
logged "TLS client $(host_ip C):[0-9]*: no authentication"
ctld_up
on C "$CTL" --host "$(host_ip A):$PORT" --krb --service "abs/$CTL_NAME@$R" status >/dev/null ||
	fail "--host $(host_ip A) --service abs/$CTL_NAME@$R"
ok "by address, abs-ctld's principal named by --service"

# A service abs-ctld holds no key for (it exists in the realm).
mark
expect_fail "abs-ctld refused Kerberos authentication: .*not found in keytab" \
	desk --service "abs/elsewhere.abs.test@$R" status
logged "Kerberos authentication refused: .*abs/elsewhere.abs.test"
ctld_up

# No ticket: the client says to kinit; abs-ctld logs a connection that
# went without authenticating.
on C kdestroy -q >/dev/null 2>&1 || true
mark
expect_fail "no Kerberos ticket (run kinit" desk status
logged "TLS client $(host_ip C):[0-9]*: no authentication"
ctld_up
ok "no ticket: refused, told to kinit"

# A ticket expired by the client's clock (kinit -l 4s).
krb_kinit_on C alice pw-alice 4s
krb_expire_wait
mark
expect_fail "Kerberos ticket has expired (run kinit again)" desk status
logged "TLS client $(host_ip C):[0-9]*: no authentication"
ctld_up
ok "an expired ticket: refused by the client"

# A ticket abs-ctld finds expired: the KDC on host A runs 2 hours behind
# while late gets her tickets (30 minutes long by its clock); her client
# learns the KDC's time and believes them, abs-ctld does not.
cc late
kadmin_ modprinc -maxlife '"30 minutes"' late
krb_kdc_clock -2h
krb_kinit_on C late pw-late
on C kvno "abs/$CTL_NAME" >/dev/null || fail "late's ticket for abs/$CTL_NAME"
krb_kdc_clock ""
mark
expect_fail "abs-ctld refused Kerberos authentication: Ticket expired" desk status
logged "Kerberos authentication refused: Ticket expired"
ctld_up
ok "a ticket expired by abs-ctld's clock: refused by abs-ctld"

# Media servers: host C's principal is not on the list (it says so and
# stops: a supervisor would start it again, to be refused again); B's
# own, allowed as b0, asking for another drive.
"$VTAPE" new-library libc --slots 1 --drives 1 --capacity 8M --barcode-prefix X >/dev/null
"$VTAPE" load libc --slot 1 --drive 0
mark
serve C c0 "vtape:$T/libc/drive0" "$KRB_DIR/tapehost-c.keytab" "abs/tapehost-c.abs.test@$R"
until_ok '! kill -0 $MSPID 2>/dev/null'
grep -q "krb:abs/tapehost-c.abs.test@$R may not engine-register" "$T/engine-c0.log" ||
	{ cat "$T/engine-c0.log" >&2; fail "the media server on C did not say why"; }
ok "refused: $(grep -m1 "may not engine-register" "$T/engine-c0.log" | cut -c1-120)"
logged "krb:abs/tapehost-c.abs.test@$R.*may not engine-register"
[ -z "$(drive_state c0)" ] || fail "c0 registered: $(drive_state c0)"
ctld_up
mark
serve B b9 null: "$KRB_DIR/tapehost-b.keytab" "abs/tapehost-b.abs.test@$R"
until_ok '! kill -0 $MSPID 2>/dev/null'
grep -q "krb:abs/tapehost-b.abs.test@$R is not authorized to serve drive b9" "$T/engine-b9.log" ||
	{ cat "$T/engine-b9.log" >&2; fail "b9's media server did not say why"; }
ok "refused: $(grep -m1 "not authorized to serve drive b9" "$T/engine-b9.log" | cut -c1-120)"
logged "krb:abs/tapehost-b.abs.test@$R.*may not serve drive b9: refused"
[ -z "$(drive_state b9)" ] || fail "b9 registered: $(drive_state b9)"
[ "$(drive_state b0)" = idle ] || fail "b0 is $(drive_state b0) after b9's try"
ctld_up
ok "a media server principal not on the list, and a listed one for another drive: refused"

# After all of that: the night's dumps once each, b0 still serving, and a
# ticket still good for the work.
[ "$(q "SELECT count(*) FROM dumps")" = 3 ] || fail "the catalog: $(q "SELECT id, state FROM dumps")"
kill -0 "$EPID" || fail "b0's media server is gone"
cc olga
desk status >/dev/null || fail "olga's status after the refusals"
if grep -qi "sanitizer\|runtime error" "$T/ctld-A.log" "$T"/engine-*.log; then
	grep -i -A 30 "sanitizer\|runtime error" "$T/ctld-A.log" "$T"/engine-*.log >&2
	fail "sanitizer report"
fi
ok "the catalog holds the night's 3 dumps once each; b0 serving; abs-ctld up"
