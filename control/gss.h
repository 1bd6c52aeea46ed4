/*
 * abs-ctld's half of Kerberos authentication inside the TLS channel (the
 * exchange is described in proto/gss.h). Called by the TLS listener's
 * connection thread (control/listen.c) when the client's first line says
 * {"auth":"gssapi",...}; safe to call from several threads at once.
 */
#ifndef ABS_CONTROL_GSS_H
#define ABS_CONTROL_GSS_H

#include <stddef.h>
#include <openssl/ssl.h>

/*
 * Run the exchange: first_line is the client's first line as read (without
 * its newline); keytab holds abs-ctld's own key (abs/HOST@REALM), NULL for
 * KRB5_KTNAME or the system's default keytab. Writes every line of the
 * server's side itself, the final {"auth":"ok",...} (which carries the
 * proof of mutual authentication) or {"auth":"refused","error":...}
 * included. 0 and identity ("krb:PRINCIPAL", len bytes), or -1 with err
 * (PROTO_ERRLEN bytes, "Kerberos authentication refused: REASON"): the
 * client was refused and told why; the caller logs err and closes. Only
 * abs-ctld's own fault (its keytab unusable) is logged here, in full.
 */
int ctld_gss_accept(SSL *ssl, const char *keytab, const char *first_line,
    char *identity, size_t len, char *err);

/*
 * At start-up (abs-ctld --keytab): whether the keytab can be read and holds
 * a key to accept with; 0, or -1 with err saying what is wrong.
 */
int ctld_gss_check_keytab(const char *keytab, char *err);

#endif
