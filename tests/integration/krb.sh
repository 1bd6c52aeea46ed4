# Sourced after lib.sh: a throwaway Kerberos realm. An MIT KDC (krb5kdc)
# on 127.0.0.1 (or $KRB_ADDR) with its own port, its database, stash, configuration,
# logs, ticket caches and keytabs all in $KRB_DIR (inside $T); torn down
# by PID with the test. Nothing in /etc is read or written: KRB5_CONFIG
# and KRB5_KDC_PROFILE point into $KRB_DIR, and so do the default ticket
# cache (KRB5CCNAME) and the replay cache (KRB5RCACHEDIR).
#
#   krb_start                 realm KRB_REALM, KDC up and answering
#   krb_service NAME KEYTAB   a service principal (random key) in a keytab
#   krb_user NAME PASSWORD    a person's principal with a password
#   krb_kinit NAME PASSWORD [LIFETIME]   a ticket in $KRB5CCNAME
#   krb_expire_wait           until the tickets in $KRB5CCNAME have expired
#                             by more than the realm's clock skew
#   krb_kdc_clock OFFSET      restart the KDC with its clock moved (libfaketime,
#                             e.g. -2h; "" puts it back): its tickets end
#                             when its clock says, and clients that learn
#                             its time (kdc_timesync) believe them
#
# On hosts as network namespaces (netns.sh; KRB_ADDR set to a host's
# address before sourcing this):
#   krb_start_on HOST         krb_start with the KDC in HOST's namespace
#                             (and krb_kdc_clock restarts it there)
#   krb_kinit_on HOST NAME PASSWORD [LIFETIME]   krb_kinit run on HOST
command -v krb5kdc >/dev/null && command -v kdb5_util >/dev/null &&
	command -v kadmin.local >/dev/null && command -v kinit >/dev/null ||
	skip "MIT Kerberos is not installed (krb5-kdc, krb5-admin-server, krb5-user: make deps installs them)"
# (the sbin tools are not on every user's PATH)
PATH="$PATH:/usr/sbin:/sbin"
KRB_REALM=ABS.TEST
KRB_DIR="$T/krb"
KRB_PORT=$(( 40000 + $$ % 20000 ))
# The KDC's address (set before sourcing: a test's namespace's own).
KRB_ADDR=${KRB_ADDR:-127.0.0.1}
# The acceptor forgives this much clock difference (seconds). Short, so
# that a test can present a ticket that has really expired without waiting
# the default 5 minutes; wide enough for a loaded machine's exchanges,
# which all run on this host's one clock.
KRB_SKEW=${KRB_SKEW:-5}
KRB_PID=""
KRB_FAKETIME=""
# A command prefix the KDC and its probe run under (krb_start_on: ip
# netns exec into a host's namespace); empty: here.
KRB_RUN=""
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -f "$f" ] && KRB_FAKETIME=$f && break
done
mkdir -p "$KRB_DIR"
export KRB5_CONFIG="$KRB_DIR/krb5.conf"
export KRB5_KDC_PROFILE="$KRB_DIR/kdc.conf"
export KRB5CCNAME="FILE:$KRB_DIR/cc.default"
export KRB5RCACHEDIR="$KRB_DIR"
# Nothing falls back on the host's keytabs.
export KRB5_KTNAME="FILE:$KRB_DIR/none.keytab"
export KRB5_CLIENT_KTNAME="FILE:$KRB_DIR/none.client.keytab"
unset KRB5_TRACE

cat >"$KRB5_CONFIG" <<EOF
[libdefaults]
	default_realm = $KRB_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	ticket_lifetime = 1h
	clockskew = $KRB_SKEW
	udp_preference_limit = 1
[realms]
	$KRB_REALM = {
		kdc = $KRB_ADDR:$KRB_PORT
	}
[domain_realm]
	127.0.0.1 = $KRB_REALM
[logging]
	kdc = FILE:$KRB_DIR/kdc.log
	default = FILE:$KRB_DIR/krb5.log
EOF
cat >"$KRB5_KDC_PROFILE" <<EOF
[kdcdefaults]
	kdc_listen = $KRB_ADDR:$KRB_PORT
	kdc_tcp_listen = $KRB_ADDR:$KRB_PORT
[realms]
	$KRB_REALM = {
		database_name = $KRB_DIR/principal
		key_stash_file = $KRB_DIR/stash
		acl_file = $KRB_DIR/kadm5.acl
		max_life = 10h
		max_renewable_life = 1d
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:$KRB_DIR/kdc.log
	default = FILE:$KRB_DIR/krb5.log
EOF
: >"$KRB_DIR/kadm5.acl"

kadmin_() {
	kadmin.local -r "$KRB_REALM" -q "$*" >"$KRB_DIR/kadmin.out" 2>&1 ||
		{ cat "$KRB_DIR/kadmin.out" >&2; fail "kadmin.local: $*"; }
	# kadmin.local says what went wrong but exits 0
	! grep -qi 'error\|while ' "$KRB_DIR/kadmin.out" ||
		{ cat "$KRB_DIR/kadmin.out" >&2; fail "kadmin.local: $*"; }
}

krb_start() {
	kdb5_util create -s -r "$KRB_REALM" -P "master-$$" >"$KRB_DIR/kdb5_util.out" 2>&1 ||
		{ cat "$KRB_DIR/kdb5_util.out" >&2; fail "kdb5_util create"; }
	# A principal of the rig's own, to see the KDC answer.
	kadmin_ addprinc -randkey "abs-rig/probe"
	kadmin_ ktadd -k "$KRB_DIR/probe.keytab" "abs-rig/probe"
	krb_kdc_run ""
}

# krb_kdc_run OFFSET: start krb5kdc (its clock moved by OFFSET if not
# empty) and wait until it answers.
krb_kdc_run() {
	if [ -n "$1" ]; then
		[ -n "$KRB_FAKETIME" ] ||
			fail "libfaketime is not installed (faketime: make deps installs it)"
		FAKETIME="$1" LD_PRELOAD="$KRB_FAKETIME" $KRB_RUN \
			krb5kdc -n -r "$KRB_REALM" -P "$KRB_DIR/kdc.pid" >>"$KRB_DIR/kdc.out" 2>&1 &
	else
		$KRB_RUN krb5kdc -n -r "$KRB_REALM" -P "$KRB_DIR/kdc.pid" >>"$KRB_DIR/kdc.out" 2>&1 &
	fi
	KRB_PID=$!
	PIDS="$PIDS $KRB_PID"
	w_end=$(deadline)
	until KRB5CCNAME="FILE:$KRB_DIR/cc.probe" \
	    $KRB_RUN kinit -k -t "$KRB_DIR/probe.keytab" "abs-rig/probe" >/dev/null 2>&1; do
		kill -0 "$KRB_PID" 2>/dev/null ||
			{ cat "$KRB_DIR/kdc.out" "$KRB_DIR/kdc.log" >&2 2>/dev/null; fail "krb5kdc died"; }
		before "$w_end" ||
			{ cat "$KRB_DIR/kdc.log" >&2 2>/dev/null; fail "krb5kdc does not answer on $KRB_ADDR:$KRB_PORT"; }
		sleep 0.1
	done
	rm -f "$KRB_DIR/cc.probe"
}

# krb_kdc_clock OFFSET: the KDC again, its clock moved by OFFSET.
krb_kdc_clock() {
	kill "$KRB_PID" 2>/dev/null || true
	# (wait for it to be gone: the next one binds the same port)
	w_end=$(deadline)
	while kill -0 "$KRB_PID" 2>/dev/null; do
		before "$w_end" || fail "krb5kdc $KRB_PID does not stop"
		sleep 0.1
	done
	krb_kdc_run "$1"
}

# krb_service NAME KEYTAB: NAME@REALM with a random key, added to KEYTAB.
krb_service() {
	kadmin_ addprinc -randkey "$1"
	kadmin_ ktadd -k "$2" "$1"
}

# krb_user NAME PASSWORD
krb_user() {
	kadmin_ addprinc -pw "$2" "$1"
}

# krb_kinit NAME PASSWORD [LIFETIME]: a ticket for NAME in $KRB5CCNAME,
# a cache made anew (an old one's clock offset, learnt from a KDC whose
# clock was moved, would date the new ticket wrongly).
krb_kinit() {
	kdestroy -q >/dev/null 2>&1 || true
	printf '%s\n' "$2" | kinit ${3:+-l "$3"} "$1" >"$KRB_DIR/kinit.out" 2>&1 ||
		{ cat "$KRB_DIR/kinit.out" >&2; fail "kinit $1"; }
}

# krb_expire_wait: until every ticket in $KRB5CCNAME ended more than the
# realm's clock skew ago (an acceptor forgives KRB_SKEW seconds). Waits
# for the state, the clock passing the ticket's end, bounded by its
# lifetime's length.
krb_expire_wait() {
	end=$(klist 2>/dev/null | awk '/krbtgt\// { print $3, $4; exit }')
	[ -n "$end" ] || fail "krb_expire_wait: no ticket in $KRB5CCNAME"
	end=$(date -d "$end" +%s) || fail "krb_expire_wait: cannot read '$end'"
	now=$(date +%s)
	[ $((end - now)) -lt 600 ] || fail "krb_expire_wait: the ticket lives until $end"
	until [ "$(date +%s)" -gt $((end + KRB_SKEW + 1)) ]; do
		sleep 0.5
	done
}

# krb_start_on HOST: the realm, its KDC in HOST's namespace (netns.sh's
# ip netns exec, which execs krb5kdc: KRB_PID is the KDC's own), bound to
# KRB_ADDR, which the caller set to HOST's address before sourcing this.
krb_start_on() {
	[ "$KRB_ADDR" = "$(host_ip "$1")" ] ||
		fail "krb_start_on $1: KRB_ADDR is $KRB_ADDR, not host $1's address"
	KRB_RUN="ip netns exec $(ns_of "$1")"
	krb_start
}

# krb_kinit_on HOST NAME PASSWORD [LIFETIME]: krb_kinit, kinit run on
# HOST (the KDC is reached over the hosts' network).
krb_kinit_on() {
	on "$1" kdestroy -q >/dev/null 2>&1 || true
	printf '%s\n' "$3" | on "$1" kinit ${4:+-l "$4"} "$2" >"$KRB_DIR/kinit.out" 2>&1 ||
		{ cat "$KRB_DIR/kinit.out" >&2; fail "kinit $2 on host $1"; }
}
