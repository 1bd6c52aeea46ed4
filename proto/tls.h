/*
 * The control protocol over TCP: TLS 1.3 only (OpenSSL), then one JSON
 * line each way to authenticate, then plain protocol lines. Both ends
 * bridge the TLS channel to a socketpair in a thread of their own, so the
 * codec (proto/codec.c) and abs-ctld's loop see a socket as they always
 * did. No plaintext TCP mode exists.
 *
 * Authentication exchange, before the first protocol line (max 64 KiB a
 * line): the client sends {"auth":"cert"} (its TLS client certificate is
 * the proof) or {"auth":"gssapi","token":"BASE64"}; abs-ctld answers
 * {"auth":"continue","token":"BASE64"} until {"auth":"ok","identity":ID}
 * or {"auth":"refused","error":"TEXT"} (and closes). ID is "cert:SUBJECT"
 * (the subject in RFC 2253 form, "CN=alice,O=Example") or "krb:PRINCIPAL".
 *
 * Liveness: every TCP connection has keepalives (idle 10 s, then a probe
 * every 5 s, 3 lost = dead) and TCP_USER_TIMEOUT 30 s for data left
 * unacknowledged: a peer that vanished (a cut link, a host powered off)
 * is noticed within PROTO_TLS_DEAD_S seconds, whether the connection is
 * idle or busy, and the connection is closed at both bridge ends.
 */
#ifndef ABS_PROTO_TLS_H
#define ABS_PROTO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

#define PROTO_TLS_PORT "4747"
#define PROTO_TLS_DEAD_S 30	/* a dead peer is noticed within this */
#define PROTO_TLS_CONNECT_MS 3000	/* a TCP connect, per address */
#define PROTO_AUTH_MAX (64 * 1024)	/* an authentication line */
#define PROTO_AUTH_TIMEOUT_MS 15000	/* handshake + authentication */
#define PROTO_IDENTITY_MAX 256	/* "cert:...", "krb:...", "uid:N" + NUL */

/* "HOST:PORT", "[V6]:PORT", "HOST" (port 4747): 0, or -EINVAL with err. */
int proto_tls_hostport(const char *s, char *host, size_t hlen, char *port,
    size_t plen, char *err);

/* One authentication message, parsed. */
struct proto_auth_msg {
	char auth[16];		/* cert gssapi continue ok refused */
	char *token;		/* base64 as sent (malloc'd), or NULL */
	char identity[PROTO_IDENTITY_MAX];
	char error[256];
};
/*
 * Parse an authentication line: 0 with m filled (free with
 * proto_auth_msg_free), or -EPROTO with err saying what is wrong (not
 * JSON, no "auth", an unknown kind, a field of the wrong type, too long).
 */
int proto_auth_parse(const char *line, size_t len, struct proto_auth_msg *m,
    char *err);
void proto_auth_msg_free(struct proto_auth_msg *m);
/* A JSON line (with its newline) for an answer: malloc'd, or NULL. */
char *proto_auth_line(const char *auth, const char *key, const char *value);

/*
 * An SSL_CTX for abs-ctld: TLS 1.3 only, its certificate and key, the
 * site CA that signs clients, the CRL if given (every client certificate
 * checked against it). A client's certificate is asked for but not
 * required at the handshake (Kerberos clients have none); whether it is
 * good is decided at {"auth":"cert"}. NULL with err.
 */
SSL_CTX *proto_tls_server_ctx(const char *cert, const char *key,
    const char *ca, const char *crl, char *err);
/* The OpenSSL errors queued in this thread, as text (clears them). */
void proto_tls_errors(char *buf, size_t len);
/* Keepalives and the user timeout (see above) on a TCP socket. */
void proto_tls_keepalive(int fd);
/*
 * The TLS handshake on ssl's non-blocking socket, as server or client,
 * until deadline_ms (CLOCK_MONOTONIC ms): 0, or negative with err.
 */
int proto_tls_handshake(SSL *ssl, bool server, long long deadline_ms,
    char *err);
/* Monotonic milliseconds (the deadlines' clock). */
long long proto_tls_now_ms(void);
/*
 * One line from the TLS channel into buf (cap bytes; the newline is
 * replaced by a NUL), until deadline_ms. Bytes read past the line stay
 * in buf after it: *extra of them at buf + *len + 1. 0 with *len, or
 * negative with err (-EMSGSIZE: longer than cap - 1).
 */
int proto_tls_read_line(SSL *ssl, char *buf, size_t cap, size_t *len,
    size_t *extra, long long deadline_ms, char *err);
/* Write all of buf, until deadline_ms: 0, or negative with err. */
int proto_tls_write(SSL *ssl, const void *buf, size_t len,
    long long deadline_ms, char *err);
/*
 * Bridge a TLS channel (already authenticated) to one end of a
 * socketpair until either side is done: what the peer sends goes to
 * plain (pre's bytes first), what plain gives goes to the peer. Returns
 * when plain is closed (a close_notify is sent) or the TLS side ends: 0,
 * or when the TLS side fails (a peer gone, see Liveness above) negative
 * with err (PROTO_ERRLEN, or NULL) saying why. The caller frees ssl and
 * closes both sockets.
 */
int proto_tls_bridge(SSL *ssl, int plain, const char *pre, size_t prelen,
    char *err);
/* The subject of ssl's verified peer certificate as "cert:SUBJECT"
   (RFC 2253): 0, or negative with err saying why it is not acceptable. */
int proto_tls_peer_identity(SSL *ssl, char *identity, size_t len, char *err);

/*
 * The client side of proto_connect for "tls://HOST[:PORT]": TCP, TLS 1.3
 * (abs-ctld's certificate checked against the CA and the host name),
 * authentication, then a bridge thread: 0 and *fd (the local end of the
 * socketpair) and the identity abs-ctld granted, or negative with err.
 * Retries refused connections until wait_ms passed.
 */
int proto_tls_connect(const char *uri, unsigned wait_ms, int *fd,
    char *identity, size_t idlen, char *err);
/*
 * Why a client's TLS connection to abs-ctld failed under it ("TLS read
 * failed: Connection timed out"), "" if none did since the last call
 * (which clears it): the codec only sees its socketpair close.
 */
void proto_tls_last_loss(char *buf, size_t len);

#endif
