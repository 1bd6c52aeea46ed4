/*
 * The control protocol over TLS 1.3 (see proto/tls.h): contexts, the
 * handshake and the authentication lines with deadlines, the bridge
 * between a TLS channel and a socketpair, and the client's connect.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "proto/proto.h"
#include "proto/tls.h"
#include "proto/gss.h"

/* The credentials proto_auth_set gave (NULL fields: the environment). */
static struct proto_auth auth_opts;

void
proto_auth_set(const struct proto_auth *a)
{
	auth_opts = a ? *a : (struct proto_auth){ 0 };
}

/* A credential: the option, else the environment variable, else NULL. */
static const char *
cred(const char *opt, const char *env)
{
	const char *v = opt && *opt ? opt : getenv(env);

	return v && *v ? v : NULL;
}

long long
proto_tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Split HOST:PORT (see tls.h). */
int
proto_tls_hostport(const char *s, char *host, size_t hlen, char *port,
    size_t plen, char *err)
{
	const char *p, *h = s;
	size_t n;

	if (!s || !*s)
		goto bad;
	if (*s == '[') {	/* [IPv6]:PORT */
		if (!(p = strchr(s, ']')))
			goto bad;
		h = s + 1;
		n = (size_t)(p - h);
		p++;
		if (*p && *p != ':')
			goto bad;
	} else {
		p = strrchr(s, ':');
		if (p && strchr(s, ':') != p)
			goto bad;	/* a bare IPv6 address: say [ ] */
		n = p ? (size_t)(p - s) : strlen(s);
	}
	if (n == 0 || n >= hlen)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= ' ' || h[i] == '/' || h[i] == '@')
			goto bad;
	memcpy(host, h, n);
	host[n] = '\0';
	if (p && *p == ':') {
		char *end;
		long v = strtol(p + 1, &end, 10);
		if (!p[1] || *end || v < 0 || v > 65535)
			goto bad;
		snprintf(port, plen, "%ld", v);
	} else {
		snprintf(port, plen, "%s", PROTO_TLS_PORT);
	}
	return 0;
bad:
	snprintf(err, PROTO_ERRLEN, "'%.100s' is not HOST[:PORT] (an IPv6 "
	    "address in brackets: [::1]:4747)", s ? s : "");
	return -EINVAL;
}

/* ---- the authentication lines ---- */

int
proto_auth_parse(const char *line, size_t len, struct proto_auth_msg *m,
    char *err)
{
	static const char *const kinds[] = { "cert", "gssapi", "continue", "ok",
	    "refused" };
	json_t *j, *v;
	const char *kind;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (len > PROTO_AUTH_MAX) {
		snprintf(err, PROTO_ERRLEN, "authentication line longer than %d "
		    "bytes", PROTO_AUTH_MAX);
		return -EPROTO;
	}
	if (!(j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL)) ||
	    !json_is_object(j)) {
		json_decref(j);
		snprintf(err, PROTO_ERRLEN, "authentication line is not a JSON "
		    "object");
		return -EPROTO;
	}
	if (!(kind = json_string_value(json_object_get(j, "auth")))) {
		snprintf(err, PROTO_ERRLEN, "authentication line without \"auth\"");
		goto fail;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0])) {
		snprintf(err, PROTO_ERRLEN, "unknown authentication \"%.40s\" "
		    "(cert or gssapi)", kind);
		goto fail;
	}
	snprintf(m->auth, sizeof(m->auth), "%s", kind);
	if ((v = json_object_get(j, "token"))) {
		const char *t = json_string_value(v);
		if (!t) {
			snprintf(err, PROTO_ERRLEN, "\"token\" is not a string");
			goto fail;
		}
		for (const char *c = t; *c; c++)
			if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
			    (*c >= '0' && *c <= '9') || *c == '+' || *c == '/' ||
			    *c == '=')) {
				snprintf(err, PROTO_ERRLEN, "\"token\" is not base64");
				goto fail;
			}
		if (!(m->token = strdup(t))) {
			snprintf(err, PROTO_ERRLEN, "out of memory");
			goto fail;
		}
	}
	if ((v = json_object_get(j, "identity"))) {
		const char *t = json_string_value(v);
		if (!t || json_string_length(v) >= sizeof(m->identity) ||
		    strlen(t) != json_string_length(v)) {
			snprintf(err, PROTO_ERRLEN, "\"identity\" is not a string of "
			    "at most %zu bytes", sizeof(m->identity) - 1);
			goto fail;
		}
		snprintf(m->identity, sizeof(m->identity), "%s", t);
	}
	if ((v = json_object_get(j, "error"))) {
		if (!json_is_string(v)) {
			snprintf(err, PROTO_ERRLEN, "\"error\" is not a string");
			goto fail;
		}
		snprintf(m->error, sizeof(m->error), "%s", json_string_value(v));
	}
	if ((strcmp(kind, "gssapi") == 0 || strcmp(kind, "continue") == 0) &&
	    !m->token) {
		snprintf(err, PROTO_ERRLEN, "\"%s\" without a token", kind);
		goto fail;
	}
	if (strcmp(kind, "ok") == 0 && !m->identity[0]) {
		snprintf(err, PROTO_ERRLEN, "\"ok\" without an identity");
		goto fail;
	}
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	proto_auth_msg_free(m);
	return -EPROTO;
}

void
proto_auth_msg_free(struct proto_auth_msg *m)
{
	free(m->token);
	m->token = NULL;
}

char *
proto_auth_line(const char *auth, const char *key, const char *value)
{
	json_t *j = key ? json_pack("{s:s,s:s}", "auth", auth, key, value) :
	    json_pack("{s:s}", "auth", auth);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	char *line = NULL;

	json_decref(j);
	if (s && (line = malloc(strlen(s) + 2)))
		sprintf(line, "%s\n", s);
	free(s);
	return line;
}

/* ---- OpenSSL plumbing ---- */

void
proto_tls_errors(char *buf, size_t len)
{
	unsigned long e;
	size_t o = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		char one[256];
		ERR_error_string_n(e, one, sizeof(one));
		/* "error:0A000086:SSL routines::certificate verify failed":
		   the reason is what a person reads. */
		const char *r = strrchr(one, ':');
		r = r && r[1] ? r + 1 : one;
		if (o + strlen(r) + 3 < len && !strstr(buf, r))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "; " : "",
			    r);
	}
	if (!buf[0])
		snprintf(buf, len, "connection closed");
}

void
proto_tls_keepalive(int fd)
{
	int on = 1, idle = 10, intvl = 5, cnt = 3;
	unsigned ut = PROTO_TLS_DEAD_S * 1000;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* A context with what both ends share: TLS 1.3 only, no renegotiation. */
static SSL_CTX *
base_ctx(bool server, char *err)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() :
	    TLS_client_method());

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		char e[200];
		proto_tls_errors(e, sizeof(e));
		snprintf(err, PROTO_ERRLEN, "TLS: %.200s", e);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return ctx;
}

/* Certificate (with its chain) and key; 0 or -1 with err. */
static int
use_cert(SSL_CTX *ctx, const char *cert, const char *key, char *err)
{
	char e[200];

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		proto_tls_errors(e, sizeof(e));
		snprintf(err, PROTO_ERRLEN, "certificate %.100s: %.140s", cert, e);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		proto_tls_errors(e, sizeof(e));
		snprintf(err, PROTO_ERRLEN, "key %.80s (for %.60s): %.100s", key,
		    cert, e);
		return -1;
	}
	return 0;
}

/* Clients' certificates are judged at {"auth":"cert"}, with a clear
   refusal, not by a handshake alert that tells the client nothing. */
static int
verify_later(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

SSL_CTX *
proto_tls_server_ctx(const char *cert, const char *key, const char *ca,
    const char *crl, char *err)
{
	SSL_CTX *ctx = base_ctx(true, err);
	STACK_OF(X509_NAME) *names;
	char e[200];

	if (!ctx)
		return NULL;
	if (use_cert(ctx, cert, key, err) < 0)
		goto fail;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		proto_tls_errors(e, sizeof(e));
		snprintf(err, PROTO_ERRLEN, "CA %.100s: %.140s", ca, e);
		goto fail;
	}
	if ((names = SSL_load_client_CA_file(ca)))
		SSL_CTX_set_client_CA_list(ctx, names);
	if (crl) {
		X509_STORE *st = SSL_CTX_get_cert_store(ctx);
		X509_LOOKUP *lu = X509_STORE_add_lookup(st, X509_LOOKUP_file());
		if (!lu || X509_load_crl_file(lu, crl, X509_FILETYPE_PEM) <= 0) {
			proto_tls_errors(e, sizeof(e));
			snprintf(err, PROTO_ERRLEN, "CRL %.100s: %.140s", crl, e);
			goto fail;
		}
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_later);
	SSL_CTX_set_verify_depth(ctx, 8);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Wait for what the last SSL call wants, until deadline: 0 or -ETIMEDOUT. */
static int
tls_wait(SSL *ssl, int want, long long deadline)
{
	struct pollfd pf = { .fd = SSL_get_fd(ssl),
	    .events = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN };

	for (;;) {
		long long left = deadline - proto_tls_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(&pf, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* What a failed SSL call says, for a person. */
static void
tls_failure(SSL *ssl, int rc, int e, char *buf, size_t len)
{
	long vr = SSL_get_verify_result(ssl);
	char q[200];

	proto_tls_errors(q, sizeof(q));
	if (e == SSL_ERROR_SYSCALL && !strcmp(q, "connection closed"))
		snprintf(buf, len, "%s", rc == 0 ? "connection closed" :
		    strerror(errno ? errno : ECONNRESET));
	else if (strstr(q, "certificate verify failed") && vr != X509_V_OK)
		snprintf(buf, len, "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	else
		snprintf(buf, len, "%s", q);
}

int
proto_tls_handshake(SSL *ssl, bool server, long long deadline_ms, char *err)
{
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int rc = server ? SSL_accept(ssl) : SSL_connect(ssl);
		if (rc == 1)
			return 0;
		int e = SSL_get_error(ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (tls_wait(ssl, e, deadline_ms) < 0) {
				snprintf(err, PROTO_ERRLEN, "TLS handshake timed out");
				return -ETIMEDOUT;
			}
			continue;
		}
		char why[200];
		tls_failure(ssl, rc, e, why, sizeof(why));
		snprintf(err, PROTO_ERRLEN, "TLS handshake failed: %.200s", why);
		return -EPROTO;
	}
}

int
proto_tls_write(SSL *ssl, const void *buf, size_t len, long long deadline_ms,
    char *err)
{
	const char *p = buf;

	while (len) {
		ERR_clear_error();
		errno = 0;
		int n = SSL_write(ssl, p, len > (1u << 30) ? 1 << 30 : (int)len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		int e = SSL_get_error(ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (tls_wait(ssl, e, deadline_ms) < 0) {
				snprintf(err, PROTO_ERRLEN, "TLS write timed out");
				return -ETIMEDOUT;
			}
			continue;
		}
		char why[200];
		tls_failure(ssl, n, e, why, sizeof(why));
		snprintf(err, PROTO_ERRLEN, "TLS write failed: %.200s", why);
		return -EPIPE;
	}
	return 0;
}

int
proto_tls_read_line(SSL *ssl, char *buf, size_t cap, size_t *len,
    size_t *extra, long long deadline_ms, char *err)
{
	size_t have = 0;

	for (;;) {
		char *nl = have ? memchr(buf, '\n', have) : NULL;
		if (nl) {
			*nl = '\0';
			*len = (size_t)(nl - buf);
			*extra = have - *len - 1;
			return 0;
		}
		if (have >= cap - 1) {
			snprintf(err, PROTO_ERRLEN, "authentication line longer than "
			    "%zu bytes", cap - 1);
			return -EMSGSIZE;
		}
		ERR_clear_error();
		errno = 0;
		int n = SSL_read(ssl, buf + have, (int)(cap - 1 - have));
		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		int e = SSL_get_error(ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (tls_wait(ssl, e, deadline_ms) < 0) {
				snprintf(err, PROTO_ERRLEN, "no authentication line in "
				    "time");
				return -ETIMEDOUT;
			}
			continue;
		}
		char why[200];
		if (e == SSL_ERROR_ZERO_RETURN)
			snprintf(why, sizeof(why), "connection closed");
		else
			tls_failure(ssl, n, e, why, sizeof(why));
		snprintf(err, PROTO_ERRLEN, "%s", why);
		return -ECONNRESET;
	}
}

int
proto_tls_peer_identity(SSL *ssl, char *identity, size_t len, char *err)
{
	X509 *x = SSL_get1_peer_certificate(ssl);
	long vr = SSL_get_verify_result(ssl);
	BIO *b;
	char *s;
	long n;

	if (!x) {
		snprintf(err, PROTO_ERRLEN, "no client certificate was presented "
		    "(--cert FILE --key FILE, or ABS_CERT and ABS_KEY)");
		return -EACCES;
	}
	if (vr != X509_V_OK) {
		X509_free(x);
		snprintf(err, PROTO_ERRLEN, "client certificate refused: %s",
		    X509_verify_cert_error_string(vr));
		return -EACCES;
	}
	if (!(b = BIO_new(BIO_s_mem()))) {
		X509_free(x);
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	BIO_puts(b, "cert:");
	/* RFC 2253, escaping what is not printable ASCII: a safe name. */
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	n = BIO_get_mem_data(b, &s);
	if (n <= 5 || (size_t)n >= len) {
		snprintf(err, PROTO_ERRLEN, n <= 5 ? "client certificate has an "
		    "empty subject" : "client certificate subject longer than %zu "
		    "bytes", len - 6);
		BIO_free(b);
		X509_free(x);
		return -EACCES;
	}
	memcpy(identity, s, (size_t)n);
	identity[n] = '\0';
	BIO_free(b);
	X509_free(x);
	return 0;
}

/* ---- the bridge ---- */

/* Why the TLS side of the bridge failed, into err: -errno. */
static int
bridge_failed(SSL *ssl, int rc, int e, const char *what, char *err)
{
	int se = 0;
	socklen_t sl = sizeof(se);
	char why[200];

	/* The socket's own error first (a peer gone: ETIMEDOUT after the
	   keepalives or the user timeout, ECONNRESET, EHOSTUNREACH). */
	if (getsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_ERROR, &se, &sl) == 0 &&
	    se) {
		snprintf(why, sizeof(why), "%s", strerror(se));
	} else {
		se = errno ? errno : EPROTO;
		tls_failure(ssl, rc, e, why, sizeof(why));
	}
	if (err)
		snprintf(err, PROTO_ERRLEN, "TLS %s failed: %s", what, why);
	return -se;
}

int
proto_tls_bridge(SSL *ssl, int plain, const char *pre, size_t prelen,
    char *err)
{
	enum { BUF = 16384 };
	char *a = malloc(BUF), *b = malloc(BUF);	/* net->plain, plain->net */
	size_t alen = 0, aoff = 0, blen = 0, boff = 0;
	bool net_eof = false, plain_eof = false, plain_shut = false;
	short want_a = POLLIN, want_b = POLLOUT;
	int net = SSL_get_fd(ssl), rc = 0;

	if (err)
		err[0] = '\0';
	if (!a || !b) {
		if (err)
			snprintf(err, PROTO_ERRLEN, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	fcntl(plain, F_SETFL, fcntl(plain, F_GETFL) | O_NONBLOCK);
	fcntl(net, F_SETFL, fcntl(net, F_GETFL) | O_NONBLOCK);
	if (prelen > BUF)
		prelen = BUF;	/* cannot be: the callers' buffers are smaller */
	memcpy(a, pre, prelen);
	alen = prelen;
	for (;;) {
		bool progress = false;
		if (!net_eof && alen == 0) {
			ERR_clear_error();
			errno = 0;
			int n = SSL_read(ssl, a, BUF);
			if (n > 0) {
				alen = (size_t)n;
				aoff = 0;
				progress = true;
			} else {
				int e = SSL_get_error(ssl, n);
				if (e == SSL_ERROR_WANT_READ)
					want_a = POLLIN;
				else if (e == SSL_ERROR_WANT_WRITE)
					want_a = POLLOUT;
				else if (e == SSL_ERROR_ZERO_RETURN)
					net_eof = progress = true;
				else {	/* reset, timed out, bad record */
					rc = bridge_failed(ssl, n, e, "read", err);
					break;
				}
			}
		}
		if (alen) {
			ssize_t n = send(plain, a + aoff, alen, MSG_NOSIGNAL);
			if (n > 0) {
				aoff += (size_t)n;
				alen -= (size_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				break;
			}
		}
		if (net_eof && !alen && !plain_shut) {
			shutdown(plain, SHUT_WR);	/* the peer has said all */
			plain_shut = true;
		}
		if (!plain_eof && blen == 0) {
			ssize_t n = recv(plain, b, BUF, 0);
			if (n > 0) {
				blen = (size_t)n;
				boff = 0;
				progress = true;
			} else if (n == 0) {
				plain_eof = progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				break;
			}
		}
		if (blen) {
			ERR_clear_error();
			errno = 0;
			int n = SSL_write(ssl, b + boff, (int)blen);
			if (n > 0) {
				boff += (size_t)n;
				blen -= (size_t)n;
				progress = true;
			} else {
				int e = SSL_get_error(ssl, n);
				if (e == SSL_ERROR_WANT_READ)
					want_b = POLLIN;
				else if (e == SSL_ERROR_WANT_WRITE)
					want_b = POLLOUT;
				else {
					rc = bridge_failed(ssl, n, e, "write", err);
					break;
				}
			}
		}
		if (plain_eof && !blen) {
			SSL_shutdown(ssl);	/* close_notify, best effort */
			break;
		}
		if (progress)
			continue;
		struct pollfd pf[2] = {
			{ .fd = net, .events = (short)((!net_eof && !alen ? want_a : 0) |
			    (blen ? want_b : 0)) },
			{ .fd = plain, .events = (short)((alen ? POLLOUT : 0) |
			    (!plain_eof && !blen ? POLLIN : 0)) },
		};
		/* A side with nothing asked of it is not watched (its
		   POLLHUP would wake us for nothing). */
		if (!pf[0].events)
			pf[0].fd = -1;
		if (!pf[1].events)
			pf[1].fd = -1;
		if (poll(pf, 2, -1) < 0 && errno != EINTR) {
			rc = -errno;
			if (err)
				snprintf(err, PROTO_ERRLEN, "poll: %s", strerror(errno));
			break;
		}
	}
out:
	free(a);
	free(b);
	return rc;
}

/* ---- the client ---- */

/*
 * Kerberos inside the channel (proto/gss.c, issue 17's Kerberos half):
 * the whole exchange, the first line to abs-ctld's "ok" (or its
 * refusal), is proto_gss_client's. 0, or negative with err.
 */
static int
gss_client(SSL *ssl, const struct proto_auth *a, const char *host, char *err)
{
	char service[300];
	const char *keytab = cred(a->keytab, "ABS_KEYTAB");

	snprintf(service, sizeof(service), "%s", a->service ? a->service : "");
	if (!service[0])
		snprintf(service, sizeof(service), "abs/%.290s", host);
	int rc = proto_gss_client(ssl, service, keytab,
	    keytab ? a->principal : NULL, err);

	/* Kerberos only because no certificate was given: say both. */
	if (rc == -ENOKEY && !keytab && !a->krb && !cred(a->cert, "ABS_CERT")) {
		char why[PROTO_ERRLEN];

		memcpy(why, err, sizeof(why));
		snprintf(err, PROTO_ERRLEN, "no client certificate (--cert FILE "
		    "--key FILE, or ABS_CERT and ABS_KEY) and %.150s", why);
	}
	return rc;
}

struct bridge_arg {
	SSL *ssl;
	int plain;
	struct bridge_arg *next;	/* in bridges */
	size_t prelen;
	char pre[];
};

/* Why the last client bridge lost abs-ctld ("" if none since asked). */
static pthread_mutex_t lost_mu = PTHREAD_MUTEX_INITIALIZER;
static char lost[PROTO_ERRLEN];

void
proto_tls_last_loss(char *buf, size_t len)
{
	pthread_mutex_lock(&lost_mu);
	snprintf(buf, len, "%s", lost);
	lost[0] = '\0';
	pthread_mutex_unlock(&lost_mu);
}

/*
 * The client's bridges still running. OpenSSL frees its state in an
 * atexit handler of its own: a bridge thread still inside OpenSSL then
 * would use freed memory (and a media server that exits as abs-ctld
 * refuses it often has one). So at exit each bridge is told that its
 * client is done (its plain end shut for reading: what was written is
 * still sent, then close_notify) and waited for, 2 s at most. Registered
 * with atexit after OpenSSL's handler, it runs before it.
 */
static pthread_mutex_t bridges_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bridges_cv = PTHREAD_COND_INITIALIZER;
static struct bridge_arg *bridges;
static pid_t bridges_pid;	/* the process that registered the handler */

static void
bridges_end(void)
{
	struct timespec until;

	/* A forked child that calls exit() shares the sockets, not the
	   threads: it must not end its parent's bridges. */
	if (getpid() != bridges_pid)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&bridges_mu);
	for (struct bridge_arg *b = bridges; b; b = b->next)
		shutdown(b->plain, SHUT_RD);
	while (bridges && pthread_cond_timedwait(&bridges_cv, &bridges_mu,
	    &until) == 0)
		;
	pthread_mutex_unlock(&bridges_mu);
}

static void *
bridge_thread(void *p)
{
	struct bridge_arg *ba = p;
	int net = SSL_get_fd(ba->ssl);
	char err[PROTO_ERRLEN];
	sigset_t pipe;

	/* OpenSSL writes with write(2): a peer gone must not kill us. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	/* Said before the plain end closes: the caller sees EOF after. */
	if (proto_tls_bridge(ba->ssl, ba->plain, ba->pre, ba->prelen, err) < 0) {
		pthread_mutex_lock(&lost_mu);
		snprintf(lost, sizeof(lost), "%s", err);
		pthread_mutex_unlock(&lost_mu);
	}
	SSL_free(ba->ssl);
	close(net);
	/* This thread's OpenSSL state (its error queue) freed now, not by
	   a key destructor after bridges_end has let exit go on. */
	OPENSSL_thread_stop();
	/* Done with OpenSSL: off the list, the last step. */
	pthread_mutex_lock(&bridges_mu);
	for (struct bridge_arg **b = &bridges; *b; b = &(*b)->next) {
		if (*b == ba) {
			*b = ba->next;
			break;
		}
	}
	close(ba->plain);	/* under the lock: bridges_end shuts it */
	pthread_cond_broadcast(&bridges_cv);
	pthread_mutex_unlock(&bridges_mu);
	free(ba);
	return NULL;
}

/* A TCP connection to host:port, retried while refused until deadline. */
static int
tcp_connect(const char *host, const char *port, long long deadline,
    long long retry_until, char *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc, fd = -1, e = 0;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, PROTO_ERRLEN, "cannot reach abs-ctld at %.100s:%s: %s",
		    host, port, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (unsigned pause = 50;; pause = pause < 800 ? pause * 2 : 1000) {
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
			if (fd < 0) {
				e = errno;
				continue;
			}
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				goto connected;
			if (errno == EINPROGRESS) {
				struct pollfd pf = { .fd = fd, .events = POLLOUT };
				/* A lost SYN is sent again after 1 s: 3 s allows one
				   loss, and a partition costs a caller 3 s a try, not
				   the whole deadline. */
				long long left = deadline - proto_tls_now_ms();
				if (left > PROTO_TLS_CONNECT_MS)
					left = PROTO_TLS_CONNECT_MS;
				socklen_t el = sizeof(e);
				if (left > 0 && poll(&pf, 1, (int)left) == 1 &&
				    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 &&
				    e == 0)
					goto connected;
				if (left <= 0 || e == 0)
					e = ETIMEDOUT;
			} else {
				e = errno;
			}
			close(fd);
			fd = -1;
		}
		if (e != ECONNREFUSED || proto_tls_now_ms() + pause > retry_until)
			break;
		usleep(pause * 1000);
	}
	freeaddrinfo(res);
	snprintf(err, PROTO_ERRLEN, "cannot reach abs-ctld at %.100s:%s: %s",
	    host, port, strerror(e));
	return -e;
connected:
	freeaddrinfo(res);
	proto_tls_keepalive(fd);
	return fd;
}

static int tls_connect(const char *uri, unsigned wait_ms, int *fd,
    char *identity, size_t idlen, char *err);

/*
 * SIGPIPE blocked meanwhile (OpenSSL writes with write(2)), and one it
 * raised taken before the caller's mask is back.
 */
int
proto_tls_connect(const char *uri, unsigned wait_ms, int *fd, char *identity,
    size_t idlen, char *err)
{
	sigset_t pipe, old;
	struct timespec zero = { 0, 0 };
	int rc;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	rc = tls_connect(uri, wait_ms, fd, identity, idlen, err);
	while (sigtimedwait(&pipe, NULL, &zero) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int
tls_connect(const char *uri, unsigned wait_ms, int *fd, char *identity,
    size_t idlen, char *err)
{
	const struct proto_auth *a = &auth_opts;
	const char *cert = cred(a->cert, "ABS_CERT"), *ca = cred(a->ca, "ABS_CA");
	const char *key = cred(a->key, "ABS_KEY");
	char host[256], port[16], why[PROTO_ERRLEN], where[96];
	long long start = proto_tls_now_ms();
	long long deadline = start + wait_ms + PROTO_AUTH_TIMEOUT_MS;
	struct proto_auth_msg m;
	struct bridge_arg *ba = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char *line = NULL, *buf = NULL;
	size_t len, extra;
	int net = -1, sp[2] = { -1, -1 }, rc;
	struct in6_addr a6;
	struct in_addr a4;

	*fd = -1;
	if (strncmp(uri, "tls://", 6) != 0 || proto_tls_hostport(uri + 6, host,
	    sizeof(host), port, sizeof(port), err) < 0) {
		if (strncmp(uri, "tls://", 6) != 0)
			snprintf(err, PROTO_ERRLEN, "%.100s: not tls://HOST[:PORT]",
			    uri);
		return -EINVAL;
	}
	snprintf(where, sizeof(where), "abs-ctld at %.70s:%.6s", host, port);
	if (strcmp(port, "0") == 0) {
		snprintf(err, PROTO_ERRLEN, "%s: port 0 is no port to reach", where);
		return -EINVAL;
	}
	if (!ca) {
		snprintf(err, PROTO_ERRLEN, "%s: no CA to check its certificate "
		    "with (--ca FILE or ABS_CA)", where);
		return -EINVAL;
	}
	if (!(ctx = base_ctx(false, err)))
		return -EPROTO;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		proto_tls_errors(why, sizeof(why));
		snprintf(err, PROTO_ERRLEN, "CA %.100s: %.140s", ca, why);
		rc = -EINVAL;
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cert && use_cert(ctx, cert, key ? key : cert, err) < 0) {
		rc = -EINVAL;
		goto out;
	}
	if ((net = tcp_connect(host, port, deadline, start + wait_ms, err)) < 0) {
		rc = net;
		goto out;
	}
	if (!(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, net) != 1) {
		snprintf(err, PROTO_ERRLEN, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	/* abs-ctld's certificate must name the host we asked for. */
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host,
	    &a6) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	} else {
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
	}
	if ((rc = proto_tls_handshake(ssl, false, deadline, why)) < 0) {
		snprintf(err, PROTO_ERRLEN, "%s: %.150s", where, why);
		goto out;
	}
	if (!cert || a->krb || cred(a->keytab, "ABS_KEYTAB")) {
		if ((rc = gss_client(ssl, a, host, why)) < 0) {
			snprintf(err, PROTO_ERRLEN, "%s: %.150s", where, why);
			goto out;
		}
		if (identity)
			snprintf(identity, idlen, "krb:");
		extra = len = 0;
		if (!(buf = malloc(1))) {
			rc = -ENOMEM;
			snprintf(err, PROTO_ERRLEN, "out of memory");
			goto out;
		}
		goto bridge;
	}
	{
		if (!(line = proto_auth_line("cert", NULL, NULL))) {
			snprintf(err, PROTO_ERRLEN, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
		if ((rc = proto_tls_write(ssl, line, strlen(line), deadline,
		    why)) < 0) {
			snprintf(err, PROTO_ERRLEN, "%s: %.150s", where, why);
			goto out;
		}
	}
	if (!(buf = malloc(PROTO_AUTH_MAX + 1))) {
		rc = -ENOMEM;
		snprintf(err, PROTO_ERRLEN, "out of memory");
		goto out;
	}
	if ((rc = proto_tls_read_line(ssl, buf, PROTO_AUTH_MAX + 1, &len, &extra,
	    deadline, why)) < 0) {
		/* A client certificate abs-ctld's CA did not sign can end
		   the channel at the handshake's last step: said here. */
		snprintf(err, PROTO_ERRLEN, "%s: no authentication answer: %.120s",
		    where, why);
		goto out;
	}
	if ((rc = proto_auth_parse(buf, len, &m, why)) < 0) {
		snprintf(err, PROTO_ERRLEN, "%s: %.150s", where, why);
		goto out;
	}
	if (strcmp(m.auth, "ok") != 0) {
		snprintf(err, PROTO_ERRLEN, "%s refused us: %.140s", where,
		    strcmp(m.auth, "refused") == 0 && m.error[0] ? m.error :
		    "an unexpected authentication answer");
		proto_auth_msg_free(&m);
		rc = -EACCES;
		goto out;
	}
	if (identity)
		snprintf(identity, idlen, "%s", m.identity);
	proto_auth_msg_free(&m);
bridge:
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
	    !(ba = malloc(sizeof(*ba) + extra + 1))) {
		rc = errno ? -errno : -ENOMEM;
		snprintf(err, PROTO_ERRLEN, "%s: %s", where, strerror(-rc));
		goto out;
	}
	ba->ssl = ssl;
	ba->plain = sp[1];
	ba->prelen = extra;
	memcpy(ba->pre, buf + len + 1, extra);
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	pthread_mutex_lock(&bridges_mu);
	if (bridges_pid != getpid()) {
		bridges = NULL;	/* a forked child's copy: its parent's threads */
		if (atexit(bridges_end) == 0)
			bridges_pid = getpid();
	}
	rc = pthread_create(&t, &at, bridge_thread, ba);
	if (rc == 0) {
		ba->next = bridges;
		bridges = ba;
	}
	pthread_mutex_unlock(&bridges_mu);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		snprintf(err, PROTO_ERRLEN, "%s: no thread: %s", where, strerror(rc));
		free(ba);
		rc = -rc;
		goto out;
	}
	*fd = sp[0];
	ssl = NULL;	/* the thread's now */
	net = sp[1] = -1;
	rc = 0;
out:
	free(line);
	free(buf);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (net >= 0)
		close(net);
	if (rc < 0 && sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	return rc;
}
