# Kerberos inside TLS, the exchange itself (test_gss) against a throwaway
# realm (krb.sh): an operator's ticket and a media server's keytab
# authenticate and are named by their principals; a token bound to another
# TLS channel or to none, an expired ticket (refused by the client), a
# ticket expired by the server's clock (from a KDC whose clock is behind),
# a service whose key the server lacks or the realm does not know, and a
# server that says "ok" without proving it holds the service's key are
# each refused with a clear error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/krb.sh"
UNIT="${ABS_BUILD:-$ABS_BIN/..}/tests/test_gss"
[ -x "$UNIT" ] || fail "no $UNIT (build it first)"

krb_start
krb_service abs/127.0.0.1 "$KRB_DIR/ctld.keytab"
krb_service abs/otherhost "$KRB_DIR/other.keytab"
krb_service abs/tapehost "$KRB_DIR/tapehost.keytab"
krb_user alice pw-alice
ok "realm $KRB_REALM: KDC on 127.0.0.1:$KRB_PORT"

krb_kinit alice pw-alice
# A ticket that expires: the client itself refuses to use it.
KRB5CCNAME="FILE:$KRB_DIR/cc.expired" krb_kinit alice pw-alice 4s
KRB5CCNAME="FILE:$KRB_DIR/cc.expired" krb_expire_wait
ok "alice's short ticket has expired"
# A ticket that has expired by abs-ctld's clock but not by the client's:
# the KDC's clock is 2 hours behind and its tickets for "late" live 30
# minutes by it; the client learns the KDC's time (kdc_timesync) and
# believes them. The service ticket is fetched while that KDC runs.
krb_user late pw-late
kadmin_ modprinc -maxlife '"30 minutes"' late
krb_kdc_clock -2h
KRB5CCNAME="FILE:$KRB_DIR/cc.late" krb_kinit late pw-late
KRB5CCNAME="FILE:$KRB_DIR/cc.late" kvno abs/127.0.0.1 >/dev/null
krb_kdc_clock ""
ok "late's tickets from a KDC 2 hours behind"

ABS_GSS_SERVICE=abs/127.0.0.1 ABS_GSS_CTLD_KEYTAB="$KRB_DIR/ctld.keytab" \
ABS_GSS_MS_KEYTAB="$KRB_DIR/tapehost.keytab" \
ABS_GSS_MS_PRINCIPAL="abs/tapehost@$KRB_REALM" ABS_GSS_USER="alice@$KRB_REALM" \
ABS_GSS_EXPIRED_CC="FILE:$KRB_DIR/cc.expired" ABS_GSS_LATE_CC="FILE:$KRB_DIR/cc.late" \
ABS_GSS_OTHER_SERVICE=abs/otherhost \
	"$UNIT" || { tail -n 30 "$KRB_DIR/kdc.log" >&2; fail "test_gss in realm $KRB_REALM"; }
ok "GSSAPI inside TLS: tickets, keytabs, channel bindings and every refusal"
