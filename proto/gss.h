/*
 * Kerberos (GSSAPI, MIT krb5's libgssapi_krb5) inside the TLS channel:
 * the client's half of the authentication exchange, and what both halves
 * share (the exchange's lines, channel bindings, GSSAPI's error text).
 * abs-ctld's half is control/gss.h.
 *
 * The exchange runs on the TLS channel before the first protocol line,
 * one JSON line each way at a time (at most PROTO_AUTH_MAX bytes; the
 * lines are parsed by proto/tls.c's proto_auth_parse):
 *   client  {"auth":"gssapi","token":"BASE64"}
 *   server  {"auth":"continue","token":"BASE64"}       (then the client again)
 *        or {"auth":"ok","identity":"krb:PRINCIPAL","token":"BASE64"}
 *        or {"auth":"refused","error":"TEXT"}           (and closes)
 * The GSSAPI context is bound to the TLS channel: its channel bindings are
 * PROTO_GSS_CB_LEN bytes of the TLS exporter under PROTO_GSS_CB_LABEL, so
 * a token taken from one TLS connection is worth nothing on another, and
 * abs-ctld accepts only a context whose bindings it has checked. The
 * client asks for mutual authentication: "ok" carries the server's proof
 * that it holds the service's key, and the client checks it before it
 * sends a protocol line.
 */
#ifndef ABS_PROTO_GSS_H
#define ABS_PROTO_GSS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "proto/tls.h"	/* the exchange's lines, limits and deadline */

#define PROTO_GSS_CB_LABEL "EXPORTER-abs-gssapi"
#define PROTO_GSS_CB_LEN 32

/*
 * The client's side, on an established TLS connection: sends the first
 * line and answers until abs-ctld says "ok" (0) or refuses (-EACCES).
 *   service    the service principal: "abs/HOST" or "abs/HOST@REALM"
 *              (Kerberos name form; the realm from the client's krb5.conf
 *              when left out), or "abs@HOST" (host-based service form)
 *   keytab     NULL: the user's tickets (KRB5CCNAME, kinit); a path: the
 *              media server's keytab, its tickets kept in a memory cache
 *              private to this process (the user's cache is not touched)
 *   principal  with a keytab: whose key to use (NULL: the keytab's first)
 * Errors, with err (PROTO_ERRLEN bytes) saying what to do:
 *   -ENOKEY no ticket or no usable key, -EKEYEXPIRED the ticket expired,
 *   -EACCES refused by abs-ctld (its reason in err), -EPROTO a reply out
 *   of the exchange, -ETIMEDOUT, -ECONNRESET, -EIO, -ENOMEM.
 */
int proto_gss_client(SSL *ssl, const char *service, const char *keytab,
    const char *principal, char *err);

/*
 * A line of the exchange, newline included (malloc'd, NULL when out of
 * memory): {"auth":AUTH[,"identity":IDENTITY][,"token":BASE64]}.
 */
char *proto_gss_line(const char *auth, const void *token, size_t token_len,
    const char *identity);
/*
 * The token of a parsed line, decoded (malloc'd into *tok, *len bytes):
 * 0, or -EPROTO with err (none, empty, not canonical base64).
 */
int proto_gss_token(const struct proto_auth_msg *m, uint8_t **tok, size_t *len,
    char *err);

/*
 * One line of the exchange from the TLS channel, read byte by byte so
 * that nothing past it is taken from the channel (the bridge reads on
 * from there), until deadline_ms (proto_tls_now_ms's clock); the socket
 * may be blocking or not. The length (the line without its newline,
 * NUL-terminated in buf of cap bytes), or -ETIMEDOUT, -ECONNRESET (closed),
 * -EMSGSIZE (longer than cap - 1), -EIO, with err.
 */
long proto_ssl_read_line(SSL *ssl, char *buf, size_t cap,
    long long deadline_ms, char *err);

/* The channel bindings of a TLS connection: 0, or -EIO with err. */
int proto_gss_bindings(SSL *ssl, uint8_t out[PROTO_GSS_CB_LEN], char *err);
/*
 * GSSAPI's own words for a major/minor status pair, the minor (mechanism)
 * text first when there is one: "Ticket expired", "Server abs/x@R not
 * found in Kerberos database", ...
 */
void proto_gss_status_text(uint32_t major, uint32_t minor, char *buf,
    size_t len);

#endif
