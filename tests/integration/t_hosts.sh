# Several hosts (issue 17): three hosts as network namespaces
# (tests/integration/netns.sh), everything between them over TLS 1.3 with
# site certificates (tests/integration/hosts_lib.sh). Host A runs
# abs-ctld, host B a media server with a vtape library, host C abs-ctl
# for an operator (olga) and a retrieval operator (alice). A night's run
# asked from C dumps on B's drive; a restore asked from C lands on B and
# equals the source; the catalog holds each dump once. Then the refusals
# at the network's edge, each said to the client and in abs-ctld's log,
# abs-ctld up after each: plaintext to the TLS port, TLS 1.2 and a
# downgrade, a certificate from another CA, a revoked one, a media server
# not on the list (or with the right name from another CA), an operator
# posing as a media server, a role the identity does not have.
[ -w /dev/shm ] && TMPDIR=/dev/shm
. "$(dirname "$0")/lib.sh"
. "$ABS_TOP/tests/integration/netns.sh"
. "$ABS_TOP/tests/integration/hosts_lib.sh"
# Restores without --to land in RESTORE_ROOT/NAME on the media server's
# host (a network identity has no uid there to own another target).
export TZ=UTC ABS_RUN_DIR="$T" ABS_RESTORE_ROOT="$T/restore"
netns_up
pki_site
tlsca_revoke "$PKI/site" "$PKI/mallory" || fail "revoking mallory"
ctld_start A
admin server-allow b0 "$(subject "$PKI/tapehost-b.pem")" >/dev/null || fail "server-allow b0"
admin acl-set "$(subject "$PKI/olga.pem")" operator >/dev/null || fail "acl-set olga"
admin acl-set "$(subject "$PKI/alice.pem")" retrieval >/dev/null || fail "acl-set alice"
admin acl-set "$(subject "$PKI/mallory.pem")" operator >/dev/null || fail "acl-set mallory"
ok "abs-ctld on host A listening on $(host_ip A):$PORT (TLS 1.3, site CA, CRL)"

# Host B: a vtape library and its media server, authenticated by its
# certificate, allowed as b0.
"$VTAPE" new-library lib --slots 6 --drives 1 --capacity 24M --barcode-prefix H >/dev/null
"$VTAPE" load lib --slot 1 --drive 0
ms_start B b0 "vtape:$T/lib/drive0" tapehost-b
EPID=$MSPID
admin tape-add default H00001 H00002 H00003 H00004 H00005 H00006 >/dev/null
until_ok '[ "$(drive_state b0)" = idle ]'
ok "host B's media server registered drive b0 over TLS"

for i in 1 2 3; do
	mkdir -p "src/v$i/sub"
	head -c $((i * 70000)) /dev/urandom >"src/v$i/a.bin"
	echo "v$i" >"src/v$i/sub/b.txt"
	ln -s a.bin "src/v$i/link"
	admin entity-add "v$i" "dir:$T/src/v$i" >/dev/null
done

# The night: olga runs it from host C.
as olga C run b0 </dev/null >run.txt 2>&1 || { cat run.txt "$T/ctld-A.log" >&2; fail "run b0 from host C"; }
grep -q "done: 3 dumped, 0 failed" run.txt || { cat run.txt; fail "the night's summary"; }
[ "$(q "SELECT count(*) FROM dumps WHERE state = 'complete'")" = 3 ] ||
	fail "3 complete dumps expected: $(q "SELECT * FROM dumps")"
ok "a night's run asked by olga from host C: 3 dumps on host B's drive"

# alice restores from host C; B's media server writes the trees into
# its RESTORE_ROOT.
mkdir -m 0700 "$T/restore"
for i in 1 3; do
	as alice C restore "v$i" >/dev/null || fail "restore v$i from host C"
done
until_ok '[ "$(q "SELECT count(*) FROM jobs WHERE kind = '\''restore'\'' AND state IN ('\''queued'\'','\''running'\'')")" = 0 ]'
[ "$(q "SELECT count(*) FROM jobs WHERE kind = 'restore' AND state = 'done'")" = 2 ] ||
	{ admin jobs >&2; fail "the restores did not end done"; }
for i in 1 3; do
	[ "$(tree_meta "src/v$i")" = "$(tree_meta "restore/v$i")" ] || fail "restore of v$i differs"
	cmp "src/v$i/a.bin" "restore/v$i/a.bin" || fail "restore/v$i/a.bin differs"
done
ok "alice's restores asked from host C, run on host B, equal their sources"
# Her role is retrieval: no run, no dump.
expect_fail "may not dump (needs operator)" as alice C dump b0 v1
ctld_up

# ---- refusals at the network's edge ----
# ctld_said PATTERN: abs-ctld's log has a line matching it (new since
# the mark).
mark() { MARK=$(wc -l <"$T/ctld-A.log"); }
ctld_said() {
	said=$1
	until_ok 'tail -n +$((MARK + 1)) "$T/ctld-A.log" | grep -qi "$said"'
}

# Plaintext JSON to the TLS port: no protocol answer, the connection
# closed, abs-ctld says so.
mark
on C bash -c "exec 3<>/dev/tcp/$(host_ip A)/$PORT && printf '%s\n' '{\"op\":\"status\",\"id\":1}' >&3 && timeout 20 cat <&3" \
	>plain.txt 2>&1 || true
! grep -q '"ok":true' plain.txt || fail "plaintext got an answer: $(cat plain.txt)"
grep -q "TLS 1.3 only" plain.txt || fail "plaintext: not told why: $(cat plain.txt)"
ctld_said "refused: not TLS"
ctld_up
ok "plaintext to the TLS port: closed without an answer ($(tail -n 1 "$T/ctld-A.log" | cut -c1-100))"

# TLS 1.2, and a client that offers nothing newer (a downgrade): refused
# in the handshake.
for v in -tls1_2 "-tls1_1 -cipher DEFAULT@SECLEVEL=0"; do
	mark
	# shellcheck disable=SC2086
	on C openssl s_client -connect "$(host_ip A):$PORT" $v -CAfile "$PKI/site/ca.pem" \
		-cert "$PKI/olga.pem" -key "$PKI/olga.key" </dev/null >tls12.txt 2>&1 || true
	grep -q "Cipher is (NONE)" tls12.txt && ! grep -q "Protocol *: TLSv1.3" tls12.txt &&
		grep -q "alert protocol version\|unsupported protocol\|no protocols available" tls12.txt ||
		{ cat tls12.txt >&2; fail "openssl s_client $v was not refused"; }
	ctld_said "TLS handshake failed"
	ctld_up
	ok "openssl s_client $v: refused ($(grep -m1 "alert protocol version\|unsupported protocol\|no protocols available" tls12.txt | cut -c1-90))"
done

# Clients abs-ctld must refuse, each with a clear error.
mark
expect_fail "certificate\|refused" as eve C status
ctld_said "certificate\|refused"
ctld_up
mark
expect_fail "revoked" as mallory C status
ctld_said "revoked"
ctld_up
ok "a certificate from another CA and a revoked one: refused, logged"

# A media server not on the list: it cannot register (it says so and
# stops: a supervisor restarts it, to be refused again).
mark
"$VTAPE" new-library libc --slots 1 --drives 1 --capacity 8M --barcode-prefix X >/dev/null
"$VTAPE" load libc --slot 1 --drive 0
ms_start C c0 "vtape:$T/libc/drive0" tapehost-c
until_ok '! kill -0 $MSPID 2>/dev/null'
grep -qi "may not engine-register\|not allowed\|not on the list" "$T/engine-c0.log" || { cat "$T/engine-c0.log" >&2; fail "the media server on C did not say why"; }
[ -z "$(drive_state c0)" ] || fail "c0 registered: $(drive_state c0)"
ctld_up
# The right name from another CA.
ms_start C b0x "vtape:$T/libc/drive0" tapehost-x
until_ok '! kill -0 $MSPID 2>/dev/null'
[ -z "$(drive_state b0x)" ] || fail "b0x registered"
ctld_up
# A media server allowed as b0 registering another drive, and an
# operator posing as a media server (olga's certificate).
reg() { printf '%s\n' "{\"op\":\"engine-register\",\"args\":{\"drive\":\"$1\",\"device\":\"null:\"},\"id\":1}"; }
reg b9 | as tapehost-b C raw >raw.txt 2>&1 || true
grep -q '"ok":false' raw.txt || fail "tapehost-b registered drive b9: $(cat raw.txt)"
reg b0 | as olga C raw >raw.txt 2>&1 || true
grep -q '"ok":false' raw.txt || fail "olga registered drive b0: $(cat raw.txt)"
[ "$(drive_state b0)" = idle ] || fail "b0 is $(drive_state b0) after olga's try"
ctld_up
ok "media servers not on the list, another CA's, another drive's, an operator's: refused; b0 unharmed"

# The night's dumps, once each, after all of that.
[ "$(q "SELECT count(*) FROM dumps")" = 3 ] || fail "the catalog: $(q "SELECT id, state FROM dumps")"
kill -0 "$EPID" || fail "b0's media server is gone"
ok "the catalog still holds the night's 3 dumps, once each; b0 still serving"
