# Sourced after lib.sh and netns.sh by the several-hosts tests (t_hosts*):
# a site CA made with openssl as README "Several hosts" says, the
# certificates of abs-ctld, media servers and operators, a revocation
# list, a second CA nobody trusts; abs-ctld on host A listening with TLS.
command -v openssl >/dev/null || skip "openssl is needed (make deps)"
command -v jq >/dev/null || skip "jq is needed (make deps)"
command -v sqlite3 >/dev/null || skip "sqlite3 is needed (make deps)"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
"$CTLD" --help 2>&1 | grep -q -- '--listen' || skip "this abs-ctld has no --listen (TLS)"
PKI="$T/pki"
PORT=4747
DB="$T/catalog.db"
q() { sqlite3 "$DB" "$1"; }
# until_ok CONDITION [SECS]: wait (WAIT_SECS unless SECS) until it holds.
until_ok() { poll_until "$1" "${2:-}" || fail "timed out: $1"; }

. "$ABS_TOP/tests/integration/tlsca.sh"
# subject FILE: the identity a certificate proves ("cert:SUBJECT").
subject() { echo "cert:$(openssl x509 -noout -subject -nameopt RFC2253 -in "$1" | sed 's/^subject=//')"; }
# pki_cert NAME CN [SAN]: $PKI/NAME.pem and .key, signed by the site CA.
pki_cert() { tlsca_issue "$PKI/site" "$PKI/$1" "$2" "${3:-}" || fail "certificate $1"; }

# The site (tlsca.sh: README's openssl commands): abs-ctld's certificate
# names host A's and host C's addresses (a standby master runs on C),
# media servers on B and C, people; "other" is a CA nobody here trusts,
# with an alice and a tapehost-b of its own.
pki_site() {
	mkdir -p "$PKI"
	tlsca_init "$PKI/site" "ABS site" || fail "site CA"
	pki_cert ctld ctl.abs.test "IP:$(host_ip A),IP:$(host_ip C),DNS:ctl.abs.test"
	pki_cert tapehost-b tapehost-b.abs.test
	pki_cert tapehost-c tapehost-c.abs.test
	for n in olga alice mallory; do
		pki_cert $n $n
	done
	tlsca_init "$PKI/other" "Elsewhere" || fail "other CA"
	tlsca_issue "$PKI/other" "$PKI/eve" alice || fail "eve's certificate"
	tlsca_issue "$PKI/other" "$PKI/tapehost-x" tapehost-b.abs.test || fail "tapehost-x"
}

# ctld_start HOST [ARGS...]: abs-ctld on HOST listening on its address,
# its Unix socket for the admin there; its PID in CPID.
ctld_start() {
	_hl_h=$1
	shift
	rm -f "$T/ctld-$_hl_h.sock"
	bg_on "$_hl_h" "$CTLD" --socket "$T/ctld-$_hl_h.sock" --db "$DB" --foreground --grace 120 \
		--listen "$(host_ip "$_hl_h"):$PORT" --cert "$PKI/ctld.pem" --key "$PKI/ctld.key" \
		--ca "$PKI/site/ca.pem" --crl "$PKI/site/crl.pem" \
		--exception-cmd "cat >>$T/exceptions.txt" "$@" 2>>"$T/ctld-$_hl_h.log"
	CPID=$BG_PID
	until_ok '[ -S "$T/ctld-$_hl_h.sock" ] && on "$_hl_h" "$CTL" --socket "$T/ctld-$_hl_h.sock" status >/dev/null 2>&1'
}
# The admin, on host A's Unix socket (root: admin).
admin() { on A "$CTL" --socket "$T/ctld-A.sock" "$@"; }
# as WHO HOST CMD...: abs-ctl on HOST with WHO's certificate, to host A.
as() {
	_hl_who=$1 _hl_h=$2
	shift 2
	on "$_hl_h" "$CTL" --host "$(host_ip A):$PORT" --cert "$PKI/$_hl_who.pem" \
		--key "$PKI/$_hl_who.key" --ca "$PKI/site/ca.pem" "$@"
}
# ms_start HOST DRIVE DEVICE CERT [ARGS...]: a media server on HOST
# reporting to abs-ctld on A over TLS; its PID in MSPID.
ms_start() {
	_hl_h=$1 _hl_drive=$2 _hl_dev=$3 _hl_who=$4
	shift 4
	bg_on "$_hl_h" "$ENGINE" serve --control "tls://$(host_ip A):$PORT" \
		--cert "$PKI/$_hl_who.pem" --key "$PKI/$_hl_who.key" --ca "$PKI/site/ca.pem" \
		--drive "$_hl_drive" --device "$_hl_dev" --log "$T/journal-$_hl_drive.log" \
		"$@" 2>>"$T/engine-$_hl_drive.log"
	MSPID=$BG_PID
}
# drive_state DRIVE: its state in abs-ctld's status ("" if unknown).
drive_state() { admin --json status | jq -r ".drives[] | select(.drive == \"$1\") | .state"; }
# ctld_up: abs-ctld is still running and answering.
ctld_up() {
	kill -0 "$CPID" 2>/dev/null || { tail -n 30 "$T/ctld-A.log" >&2; fail "abs-ctld is gone"; }
	admin status >/dev/null || fail "abs-ctld does not answer"
}

# slow_entity NAME KB1 KB2: entity NAME, a cmd: source that writes KB1
# KiB, then waits for slow_go NAME, then writes KB2 KiB (the bytes kept
# in $T/NAME.stream to compare a restore with).
slow_entity() {
	head -c $(($2 * 1024)) /dev/urandom >"$T/$1.1"
	head -c $(($3 * 1024)) /dev/urandom >"$T/$1.2"
	cat "$T/$1.1" "$T/$1.2" >"$T/$1.stream"
	cat >"$T/$1.sh" <<EOS
cat "$T/$1.1"
while [ ! -e "$T/$1.go" ]; do sleep 0.1; done
cat "$T/$1.2"
EOS
	admin entity-add "$1" "cmd:sh $T/$1.sh" >/dev/null || fail "entity-add $1"
}
slow_go() { : >"$T/$1.go"; }
# job_of ENTITY: the newest job of the entity: "ID STATE".
job_of() { q "SELECT j.id || ' ' || j.state FROM jobs j JOIN entities e ON e.id = j.entity_id WHERE e.name = '$1' ORDER BY j.id DESC LIMIT 1"; }
