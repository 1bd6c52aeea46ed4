#!/bin/sh
# Shadows asked for over TLS (issue 18 with issue 17's network clients):
# shadow-add's refusals hold whoever asks (an admin's certificate onto the
# entity's live source, another entity's source, another shadow), an
# identity without admin (an operator, a retrieval operator, one with no
# grant) is refused shadow-add, shadow-promote and shadow-remove, and
# --to HOST:PATH onto a host no media server registered from is refused,
# as is --drive naming a drive of another host. Who added and who
# promoted a shadow are the certificates' identities, not a uid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tlsca.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
unset ABS_CTL_SOCKET ABS_HOST ABS_CERT ABS_KEY ABS_CA
export ABS_RUN_DIR="$T"
command -v openssl >/dev/null || skip "no openssl"
command -v jq >/dev/null 2>&1 || skip "jq is needed to read abs-ctl's answers"

wait_until() { poll_until "$1" || fail "timed out: $1"; }
tlsca_init "$T/ca" "ABS site" || fail "site CA"
tlsca_issue "$T/ca" "$T/ctld" ctld "IP:127.0.0.1,DNS:localhost" || fail "ctld cert"
for n in ada olga rita nobody; do
	tlsca_issue "$T/ca" "$T/$n" "$n" || fail "$n's certificate"
done
subject() { echo "cert:$(openssl x509 -noout -subject -nameopt RFC2253 \
	-in "$1" | sed 's/^subject=//')"; }
ADA=$(subject "$T/ada.pem")

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--listen 127.0.0.1:0 --cert "$T/ctld.pem" --key "$T/ctld.key" \
	--ca "$T/ca/ca.pem" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for "listening on 127.0.0.1:[0-9]* (TLS" "$T/ctld.log"
PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) (TLS.*/\1/p' "$T/ctld.log")
[ -n "$PORT" ] || fail "no port in the log"
wait_for "listening on $T/ctld.sock" "$T/ctld.log"
URI="tls://127.0.0.1:$PORT"
local_ctl() { "$CTL" --socket "$T/ctld.sock" "$@"; }
as() {	# as NAME abs-ctl ARGS...: with NAME's certificate
	n=$1
	shift
	ABS_CA="$T/ca/ca.pem" ABS_CERT="$T/$n.pem" ABS_KEY="$T/$n.key" "$CTL" \
		--socket "$URI" "$@"
}
up() { kill -0 "$CPID" 2>/dev/null || { cat "$T/ctld.log" >&2; fail "abs-ctld died"; }; }

local_ctl acl-set "$ADA" admin >/dev/null || fail "acl-set ada"
local_ctl acl-set "$(subject "$T/olga.pem")" operator >/dev/null || fail "acl-set olga"
local_ctl acl-set "$(subject "$T/rita.pem")" retrieval >/dev/null || fail "acl-set rita"

# A media server on this host (over the socket), on a vtape library.
"$VTAPE" new-library lib --slots 2 --drives 1 --capacity 64M --barcode-prefix K >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal.log" 2>>"$T/engine.log" &
PIDS="$PIDS $!"
wait_until 'local_ctl --json status | jq -e ".drives[] | select(.drive == \"lib0\" and .state == \"idle\")" >/dev/null'
ME=$(uname -n)
local_ctl --json status | jq -e --arg h "$ME" '.drives[] | select(.drive == "lib0") | .host == $h' >/dev/null ||
	fail "status does not show lib0's host $ME: $(local_ctl --json status | jq -c .drives)"
ok "the media server registered from host $ME (status shows it)"
local_ctl tape-add default K00001 K00002 >/dev/null
mkdir -p src other-src
echo one >src/a
echo o >other-src/o
local_ctl entity-add home "dir:$T/src" >/dev/null
local_ctl entity-add other "dir:$T/other-src" >/dev/null

# Without admin: refused, whatever the place.
for n in olga rita nobody; do
	expect_fail "may not shadow-add" as "$n" shadow-add home --to "$T/sh/home"
done
grep -q "CN=olga.*may not shadow-add" "$T/ctld.log" || fail "the refusal is not logged"
# The refusals hold for an admin over TLS.
expect_fail "live source of home" as ada shadow-add home --to "$T/src"
expect_fail "live source of home" as ada shadow-add home --to "$ME:$T/src/inner"
expect_fail "source of entity other" as ada shadow-add home --to "$T/other-src"
expect_fail "'..'" as ada shadow-add home --to "$T/sh/../src"
# A host no media server registered from; a drive of another host.
expect_fail "no media server has registered from host nosuchhost" \
	as ada shadow-add home --to "nosuchhost:$T/sh/home"
expect_fail "drive lib0's media server runs on host $ME" \
	as ada shadow-add home --to "nosuchhost:$T/sh/home" --drive lib0
[ "$(local_ctl --json shadows | jq length)" = 0 ] || fail "a refused shadow-add left a row: $(local_ctl --json shadows)"
up
ok "refused over TLS: no admin, the live source, another source, an unserved host"

# An admin's shadow on this host: added_by is the certificate's identity.
as ada --json shadow-add home --to "$ME:$T/sh/home" --drive lib0 >add.json || fail "shadow-add over TLS: $(cat add.json)"
jq -e --arg a "$ADA" '.added_by == $a and .host != null' add.json >/dev/null || fail "added_by: $(cat add.json)"
expect_fail "shadow of entity home" as ada shadow-add other --to "$ME:$T/sh/home/x"
expect_fail "shadow of entity home" as ada shadow-add other --to "$T/sh"
for n in olga rita nobody; do
	expect_fail "may not shadow-promote" as "$n" shadow-promote home
	expect_fail "may not shadow-remove" as "$n" shadow-remove home
done
expect_fail "may not shadow-refresh" as rita shadow-refresh home
ok "shadow-add by $ADA: recorded as added by it; others may not promote or remove it"

# A dump lands, the shadow reflects it; promoted over TLS by ada.
j=$(as ada --json dump lib0 home --level 0 | jq -r '.jobs[0]')
wait_until "local_ctl --json shadows | jq -e '.[0].dump != null or .[0].error != null' >/dev/null"
local_ctl --json shadows | jq -e '.[0].dump != null and .[0].error == null' >/dev/null ||
	{ tail -n 20 "$T/engine.log" >&2; fail "the shadow was not refreshed (job $j): $(local_ctl --json shadows)"; }
cmp -s src/a sh/home/a || fail "the shadow's a differs"
as ada --json shadow-promote home >promote.json || fail "shadow-promote over TLS"
jq -e --arg a "$ADA" '.promoted_by == $a' promote.json >/dev/null || fail "promoted_by: $(cat promote.json)"
local_ctl shadows | grep -q "^  promoted by $ADA at " || { local_ctl shadows >&2; fail "shadows: promoted by"; }
up
ok "promoted over TLS by $ADA, shown as such"
