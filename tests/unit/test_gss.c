/*
 * Kerberos inside TLS (proto/gss.h, control/gss.h) over a real OpenSSL
 * TLS 1.3 pair on a socketpair, client and server in two threads.
 *
 * Always: the exchange's lines (parser and builder), the line I/O on the
 * channel (nothing read past a line, bounded waits, oversized lines), the
 * channel bindings (the same at both ends, another on another connection),
 * a client without any ticket, a server refusing junk.
 *
 * With a realm (tests/integration/t_krb_gss.sh runs this under
 * tests/integration/krb.sh and sets ABS_GSS_*): an operator's ticket and a
 * media server's keytab authenticate, with their principals as identities;
 * refused: a token bound to another channel, a token with no bindings, an
 * expired ticket (the client says so itself), a ticket the server finds
 * expired (a KDC whose clock is behind issued it), a service whose key the
 * server does not hold, a service
 * the realm does not know; and a server that says "ok" without proving it
 * holds the service's key is not believed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "control/gss.h"
#include "proto/gss.h"
#include "proto/proto.h"
#include "t.h"

static SSL_CTX *sctx, *cctx;

/* A self-signed certificate for the server end; the client checks none
   (what is under test is the layer above TLS). */
static void tls_setup(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();

	CHECK(key && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"test-gss", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	CHECK(X509_sign(x, key, EVP_sha256()) > 0);
	sctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
	SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
	CHECK(SSL_CTX_use_certificate(sctx, x) == 1);
	CHECK(SSL_CTX_use_PrivateKey(sctx, key) == 1);
	X509_free(x);
	EVP_PKEY_free(key);
}

struct pair {
	SSL *c, *s;
	int cfd, sfd;
};

static void *accept_thread(void *arg)
{
	SSL *s = arg;

	return (void *)(long)SSL_accept(s);
}

/* A TLS 1.3 connection over a socketpair, handshake done. */
static void pair_open(struct pair *p)
{
	int sv[2];
	pthread_t th;
	void *sr;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	p->cfd = sv[0];
	p->sfd = sv[1];
	p->c = SSL_new(cctx);
	p->s = SSL_new(sctx);
	SSL_set_fd(p->c, p->cfd);
	SSL_set_fd(p->s, p->sfd);
	pthread_create(&th, NULL, accept_thread, p->s);
	CHECK(SSL_connect(p->c) == 1);
	pthread_join(th, &sr);
	CHECK((long)sr == 1);
}

static void pair_close(struct pair *p)
{
	SSL_free(p->c);
	SSL_free(p->s);
	close(p->cfd);
	close(p->sfd);
}

/* ---- the exchange's lines (parsed by proto/tls.c) ---- */

static int parse(const char *line, struct proto_auth_msg *m)
{
	char err[PROTO_ERRLEN];
	size_t n = strlen(line);

	if (n && line[n - 1] == '\n')
		n--;
	return proto_auth_parse(line, n, m, err);
}

static void test_lines(void)
{
	struct proto_auth_msg m;
	char err[PROTO_ERRLEN], *l;
	uint8_t *tok;
	size_t len;
	static const char *const bad_tokens[] = {
		"{\"auth\":\"gssapi\",\"token\":\"\"}",
		"{\"auth\":\"gssapi\",\"token\":\"abc\"}",
		"{\"auth\":\"gssapi\",\"token\":\"YW==\"}",
		"{\"auth\":\"gssapi\",\"token\":\"YWJj=\"}",
		"{\"auth\":\"gssapi\",\"token\":\"====\"}",
	};

	/* a line of ours parses back with its token, identity, error */
	l = proto_gss_line("ok", "\x01\x02\xff", 3, "krb:alice@ABS.TEST");
	CHECK(l != NULL && l[strlen(l) - 1] == '\n');
	CHECK_EQ(parse(l, &m), 0);
	CHECK(strcmp(m.auth, "ok") == 0 &&
	    strcmp(m.identity, "krb:alice@ABS.TEST") == 0);
	CHECK_EQ(proto_gss_token(&m, &tok, &len, err), 0);
	CHECK(len == 3 && memcmp(tok, "\x01\x02\xff", 3) == 0);
	free(tok);
	proto_auth_msg_free(&m);
	free(l);
	l = proto_gss_line("continue", NULL, 0, NULL);
	CHECK_EQ(parse(l, &m), -EPROTO);	/* continue needs a token */
	free(l);
	l = proto_gss_line("refused", NULL, 0, NULL);
	CHECK_EQ(parse(l, &m), 0);
	CHECK_EQ(proto_gss_token(&m, &tok, &len, err), -EPROTO);
	CHECK(tok == NULL && strstr(err, "without a token"));
	proto_auth_msg_free(&m);
	free(l);
	/* tokens that are not canonical base64 are refused */
	for (size_t i = 0; i < sizeof bad_tokens / sizeof bad_tokens[0]; i++) {
		int rc = parse(bad_tokens[i], &m);

		if (rc == 0) {
			rc = proto_gss_token(&m, &tok, &len, err);
			proto_auth_msg_free(&m);
		}
		if (rc != -EPROTO)
			fprintf(stderr, "accepted: %s\n", bad_tokens[i]);
		CHECK_EQ(rc, -EPROTO);
	}
}

/* ---- line I/O on the channel, bindings ---- */

static void test_io(void)
{
	struct pair p, q;
	char buf[64], err[PROTO_ERRLEN];
	uint8_t b1[PROTO_GSS_CB_LEN], b2[PROTO_GSS_CB_LEN], b3[PROTO_GSS_CB_LEN];
	long long dl;

	pair_open(&p);
	/* two lines and protocol bytes in one record: the reader takes one
	   line and leaves the rest to whoever reads next */
	CHECK(SSL_write(p.c, "one\ntwo\n{\"op\"", 14) == 14);
	dl = proto_tls_now_ms() + PROTO_AUTH_TIMEOUT_MS;
	CHECK_EQ(proto_ssl_read_line(p.s, buf, sizeof buf, dl, err), 3);
	CHECK(strcmp(buf, "one") == 0);
	CHECK_EQ(proto_ssl_read_line(p.s, buf, sizeof buf, dl, err), 3);
	CHECK(strcmp(buf, "two") == 0);
	CHECK_EQ(SSL_read(p.s, buf, sizeof buf), 6);
	CHECK(memcmp(buf, "{\"op\"", 6 - 1) == 0);
	/* written lines end with a newline */
	CHECK_EQ(proto_tls_write(p.s, "{\"auth\":\"cert\"}\n", 16, dl, err), 0);
	CHECK_EQ(proto_ssl_read_line(p.c, buf, sizeof buf, dl, err), 15);
	/* nothing comes: the wait ends at the deadline */
	CHECK_EQ(proto_ssl_read_line(p.s, buf, sizeof buf, proto_tls_now_ms() + 100,
	    err), -ETIMEDOUT);
	CHECK(strstr(err, "within") != NULL);
	/* a line longer than the buffer (the caller then closes) */
	CHECK(SSL_write(p.c, "0123456789abcdef\n", 17) == 17);
	CHECK_EQ(proto_ssl_read_line(p.s, buf, 8, dl, err), -EMSGSIZE);
	CHECK_EQ(proto_ssl_read_line(p.s, buf, sizeof buf, dl, err), 8);
	CHECK(strcmp(buf, "89abcdef") == 0);

	/* both ends derive the same bindings; another connection others */
	CHECK_EQ(proto_gss_bindings(p.c, b1, err), 0);
	CHECK_EQ(proto_gss_bindings(p.s, b2, err), 0);
	CHECK(memcmp(b1, b2, sizeof b1) == 0);
	pair_open(&q);
	CHECK_EQ(proto_gss_bindings(q.c, b3, err), 0);
	CHECK(memcmp(b1, b3, sizeof b1) != 0);
	pair_close(&q);

	/* the peer closes: the reader says so */
	SSL_shutdown(p.c);
	shutdown(p.cfd, SHUT_WR);
	CHECK_EQ(proto_ssl_read_line(p.s, buf, sizeof buf, dl, err), -ECONNRESET);
	pair_close(&p);
}

/* ---- the exchange, client and server in two threads ---- */

struct srv {
	SSL *ssl;
	const char *keytab;
	int rc;
	char identity[PROTO_IDENTITY_MAX];
	char err[PROTO_ERRLEN];
	/* a server of the test's own: reads one line, answers this */
	const char *fake_answer;
};

static void *server_thread(void *arg)
{
	struct srv *s = arg;
	char line[PROTO_AUTH_MAX + 1];
	long n = proto_ssl_read_line(s->ssl, line, sizeof line,
	    proto_tls_now_ms() + PROTO_AUTH_TIMEOUT_MS, s->err);

	if (n < 0) {
		s->rc = (int)n;
		return NULL;
	}
	if (s->fake_answer) {
		s->rc = proto_tls_write(s->ssl, s->fake_answer,
		    strlen(s->fake_answer),
		    proto_tls_now_ms() + PROTO_AUTH_TIMEOUT_MS, s->err);
		return NULL;
	}
	s->rc = ctld_gss_accept(s->ssl, s->keytab, line, s->identity,
	    sizeof s->identity, s->err);
	return NULL;
}

struct run {
	int crc, src;
	char cerr[PROTO_ERRLEN], serr[PROTO_ERRLEN];
	char identity[PROTO_IDENTITY_MAX];
};

/* One exchange: proto_gss_client against ctld_gss_accept (or a fake). */
static void exchange(const char *service, const char *keytab,
    const char *principal, const char *server_keytab, const char *fake,
    struct run *r)
{
	struct pair p;
	struct srv s = { .keytab = server_keytab, .fake_answer = fake };
	pthread_t th;

	pair_open(&p);
	s.ssl = p.s;
	pthread_create(&th, NULL, server_thread, &s);
	r->crc = proto_gss_client(p.c, service, keytab, principal, r->cerr);
	if (r->crc < 0) {
		/* the client gave up: the server sees the end of the channel */
		SSL_shutdown(p.c);
		shutdown(p.cfd, SHUT_RDWR);
	}
	pthread_join(th, NULL);
	r->src = s.rc;
	memcpy(r->serr, s.err, sizeof r->serr);
	memcpy(r->identity, s.identity, sizeof r->identity);
	if (r->crc == 0 && r->src == 0) {
		/* after "ok", the channel carries protocol lines both ways */
		char buf[32];

		CHECK(SSL_write(p.c, "{\"op\":\"hello\"}\n", 15) == 15);
		CHECK_EQ(SSL_read(p.s, buf, sizeof buf), 15);
		CHECK(memcmp(buf, "{\"op\":\"hello\"}\n", 15) == 0);
	}
	printf("  client %d: %s\n  server %d: %s %s\n", r->crc,
	    r->crc ? r->cerr : "ok", r->src, r->src ? r->serr : "ok", r->identity);
	pair_close(&p);
}

/* A client of the test's own: one token with the given bindings (NULL:
   none), sent as the first line; the server's verdict. */
static void raw_client(const char *service, const uint8_t *binding,
    struct run *r)
{
	struct pair p;
	struct srv s = { .keytab = getenv("ABS_GSS_CTLD_KEYTAB") };
	struct gss_channel_bindings_struct cb;
	gss_buffer_desc nb = { strlen(service), (void *)service }, out;
	gss_name_t target;
	gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
	OM_uint32 maj, min;
	pthread_t th;
	char line[PROTO_AUTH_MAX + 1], *l;
	struct proto_auth_msg m;

	memset(&cb, 0, sizeof cb);
	cb.initiator_addrtype = cb.acceptor_addrtype = GSS_C_AF_NULLADDR;
	cb.application_data.length = PROTO_GSS_CB_LEN;
	cb.application_data.value = (void *)binding;
	maj = gss_import_name(&min, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, &target);
	CHECK(!GSS_ERROR(maj));
	maj = gss_init_sec_context(&min, GSS_C_NO_CREDENTIAL, &ctx, target,
	    (gss_OID)gss_mech_krb5, GSS_C_MUTUAL_FLAG, 0,
	    binding ? &cb : GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL,
	    &out, NULL, NULL);
	CHECK(maj == GSS_S_CONTINUE_NEEDED);
	pair_open(&p);
	s.ssl = p.s;
	pthread_create(&th, NULL, server_thread, &s);
	l = proto_gss_line("gssapi", out.value, out.length, NULL);
	CHECK_EQ(proto_tls_write(p.c, l, strlen(l), proto_tls_now_ms() + 30000,
	    r->cerr),
	    0);
	free(l);
	r->crc = (int)proto_ssl_read_line(p.c, line, sizeof line,
	    proto_tls_now_ms() + 30000, r->cerr);
	pthread_join(th, NULL);
	r->src = s.rc;
	memcpy(r->serr, s.err, sizeof r->serr);
	r->cerr[0] = '\0';
	if (r->crc > 0 && proto_auth_parse(line, (size_t)r->crc, &m, r->cerr) == 0) {
		r->crc = strcmp(m.auth, "refused") == 0 ? -EACCES : 0;
		snprintf(r->cerr, sizeof r->cerr, "%s", m.error);
		proto_auth_msg_free(&m);
	}
	printf("  raw client: %d %s\n  server %d: %s\n", r->crc, r->cerr, r->src,
	    r->serr);
	gss_release_buffer(&min, &out);
	gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
	gss_release_name(&min, &target);
	pair_close(&p);
}

static void test_no_ticket(void)
{
	struct run r;
	char *old = getenv("KRB5CCNAME") ? strdup(getenv("KRB5CCNAME")) : NULL;

	printf("no ticket at all\n");
	setenv("KRB5CCNAME", "FILE:/nonexistent/abs-test-gss-none", 1);
	exchange("abs/127.0.0.1", NULL, NULL, NULL, NULL, &r);
	CHECK_EQ(r.crc, -ENOKEY);
	CHECK(strstr(r.cerr, "no Kerberos ticket") && strstr(r.cerr, "kinit"));
	/* the server saw the channel end without a word */
	CHECK_EQ(r.src, -ECONNRESET);
	if (old)
		setenv("KRB5CCNAME", old, 1);
	else
		unsetenv("KRB5CCNAME");
	free(old);
	printf("a keytab that is not there\n");
	exchange("abs/127.0.0.1", "/nonexistent/abs.keytab", NULL, NULL, NULL, &r);
	CHECK_EQ(r.crc, -ENOKEY);
	CHECK(strstr(r.cerr, "/nonexistent/abs.keytab") != NULL);
	printf("no service\n");
	exchange("", NULL, NULL, NULL, NULL, &r);
	CHECK_EQ(r.crc, -EINVAL);
}

/* Junk as the first line: refused, told, no crash. */
static void test_server_junk(void)
{
	static const char *const junk[] = {
		"{\"op\":\"hello\",\"id\":1}", "{\"auth\":\"cert\"}",
		"{\"auth\":\"gssapi\",\"token\":\"YWJjZA==\"}", "\x01\x02garbage",
	};

	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		struct pair p;
		char id[PROTO_IDENTITY_MAX] = "x", err[PROTO_ERRLEN], line[512];
		struct proto_auth_msg m;
		long n;

		pair_open(&p);
		CHECK_EQ(ctld_gss_accept(p.s, "/nonexistent/ctld.keytab", junk[i],
		    id, sizeof id, err), -1);
		CHECK(id[0] == '\0');
		CHECK(strstr(err, "refused") != NULL);
		n = proto_ssl_read_line(p.c, line, sizeof line,
		    proto_tls_now_ms() + 30000, err);
		CHECK(n > 0);
		CHECK_EQ(proto_auth_parse(line, (size_t)n, &m, err), 0);
		CHECK(strcmp(m.auth, "refused") == 0);
		printf("  junk %zu refused: %s\n", i, m.error);
		pair_close(&p);
	}
	{
		char err[PROTO_ERRLEN];

		CHECK_EQ(ctld_gss_check_keytab("/nonexistent/ctld.keytab", err), -1);
		CHECK(strstr(err, "/nonexistent/ctld.keytab") != NULL);
	}
}

static void test_realm(void)
{
	const char *service = getenv("ABS_GSS_SERVICE");
	const char *ctld_kt = getenv("ABS_GSS_CTLD_KEYTAB");
	const char *ms_kt = getenv("ABS_GSS_MS_KEYTAB");
	const char *ms_pr = getenv("ABS_GSS_MS_PRINCIPAL");
	const char *user = getenv("ABS_GSS_USER");
	const char *expired = getenv("ABS_GSS_EXPIRED_CC");
	const char *late = getenv("ABS_GSS_LATE_CC");
	const char *other = getenv("ABS_GSS_OTHER_SERVICE");
	char want[PROTO_IDENTITY_MAX], *cc;
	uint8_t junkcb[PROTO_GSS_CB_LEN];
	struct run r;

	CHECK(service && ctld_kt && ms_kt && ms_pr && user && expired && late &&
	    other);
	if (!service || !ctld_kt || !ms_kt || !ms_pr || !user || !expired ||
	    !late || !other)
		return;
	CHECK_EQ(ctld_gss_check_keytab(ctld_kt, r.serr), 0);

	printf("an operator's ticket\n");
	exchange(service, NULL, NULL, ctld_kt, NULL, &r);
	snprintf(want, sizeof want, "krb:%s", user);
	CHECK_EQ(r.crc, 0);
	CHECK_EQ(r.src, 0);
	CHECK(strcmp(r.identity, want) == 0);

	printf("a media server's keytab, twice (its own memory cache)\n");
	snprintf(want, sizeof want, "krb:%s", ms_pr);
	for (int i = 0; i < 2; i++) {
		exchange(service, ms_kt, ms_pr, ctld_kt, NULL, &r);
		CHECK_EQ(r.crc, 0);
		CHECK_EQ(r.src, 0);
		CHECK(strcmp(r.identity, want) == 0);
	}
	printf("a media server's keytab, its first principal\n");
	exchange(service, ms_kt, NULL, ctld_kt, NULL, &r);
	CHECK_EQ(r.crc, 0);
	CHECK(strcmp(r.identity, want) == 0);
	printf("a principal the keytab does not hold\n");
	exchange(service, ms_kt, "nobody/here", ctld_kt, NULL, &r);
	CHECK_EQ(r.crc, -ENOKEY);

	printf("a token bound to another channel\n");
	memset(junkcb, 0x5a, sizeof junkcb);
	raw_client(service, junkcb, &r);
	CHECK_EQ(r.crc, -EACCES);
	CHECK_EQ(r.src, -1);
	CHECK(strstr(r.serr, "channel binding") || strstr(r.serr, "Channel binding"));
	printf("a token without channel bindings\n");
	raw_client(service, NULL, &r);
	CHECK_EQ(r.crc, -EACCES);
	CHECK(strstr(r.cerr, "not bound to this TLS channel") != NULL);

	printf("a service whose key abs-ctld does not hold\n");
	exchange(other, NULL, NULL, ctld_kt, NULL, &r);
	CHECK_EQ(r.crc, -EACCES);
	CHECK_EQ(r.src, -1);
	CHECK(strstr(r.cerr, "abs-ctld refused Kerberos authentication") != NULL);
	printf("a service the realm does not know\n");
	exchange("abs/no-such-host.invalid", NULL, NULL, ctld_kt, NULL, &r);
	CHECK_EQ(r.crc, -ENOKEY);
	CHECK(strstr(r.cerr, "abs/no-such-host.invalid") != NULL);

	printf("a server that says ok without its proof\n");
	exchange(service, NULL, NULL, NULL,
	    "{\"auth\":\"ok\",\"identity\":\"krb:whoever\"}\n", &r);
	CHECK_EQ(r.crc, -EPROTO);
	CHECK(strstr(r.cerr, "does not follow the Kerberos exchange") != NULL);
	printf("a server that refuses\n");
	exchange(service, NULL, NULL, NULL,
	    "{\"auth\":\"refused\",\"error\":\"closed for \\u001b[1mrepairs\"}\n", &r);
	CHECK_EQ(r.crc, -EACCES);
	CHECK(strstr(r.cerr, "closed for ?[1mrepairs") != NULL);

	printf("an expired ticket\n");
	cc = getenv("KRB5CCNAME") ? strdup(getenv("KRB5CCNAME")) : NULL;
	setenv("KRB5CCNAME", expired, 1);
	exchange(service, NULL, NULL, ctld_kt, NULL, &r);
	CHECK_EQ(r.crc, -EKEYEXPIRED);
	CHECK(strstr(r.cerr, "expired") && strstr(r.cerr, "kinit"));
	printf("a ticket from a KDC whose clock is behind: expired here\n");
	setenv("KRB5CCNAME", late, 1);
	exchange(service, NULL, NULL, ctld_kt, NULL, &r);
	CHECK_EQ(r.crc, -EACCES);
	CHECK_EQ(r.src, -1);
	CHECK(strstr(r.cerr, "abs-ctld refused") && strstr(r.cerr, "expired"));
	CHECK(strstr(r.serr, "expired") != NULL);
	CHECK(r.identity[0] == '\0');
	if (cc)
		setenv("KRB5CCNAME", cc, 1);
	free(cc);
}

/* Without the rig: a krb5.conf of the test's own (a realm with no KDC
   reachable), so that nothing depends on the host's /etc/krb5.conf. */
static char conf_dir[64];

static void own_config(void)
{
	char path[128];
	FILE *f;

	snprintf(conf_dir, sizeof conf_dir, "/tmp/abs-test-gss.XXXXXX");
	CHECK(mkdtemp(conf_dir) != NULL);
	snprintf(path, sizeof path, "%s/krb5.conf", conf_dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, "[libdefaults]\n default_realm = ABS.TEST\n"
	    " dns_lookup_kdc = false\n dns_lookup_realm = false\n"
	    "[realms]\n ABS.TEST = {\n  kdc = 127.0.0.1:1\n }\n");
	fclose(f);
	setenv("KRB5_CONFIG", path, 1);
	snprintf(path, sizeof path, "FILE:%s/none.keytab", conf_dir);
	setenv("KRB5_KTNAME", path, 1);
	setenv("KRB5_CLIENT_KTNAME", path, 1);
	snprintf(path, sizeof path, "FILE:%s/none.cc", conf_dir);
	setenv("KRB5CCNAME", path, 1);
}

static void own_config_remove(void)
{
	char path[128];

	if (!conf_dir[0])
		return;
	snprintf(path, sizeof path, "%s/krb5.conf", conf_dir);
	unlink(path);
	rmdir(conf_dir);
}

int main(void)
{
	log_init("test_gss", LOG_LVL_INFO, 0);
	if (!getenv("ABS_GSS_SERVICE"))
		own_config();
	tls_setup();
	test_lines();
	test_io();
	test_server_junk();
	test_no_ticket();
	if (getenv("ABS_GSS_SERVICE"))
		test_realm();
	else
		printf("no realm (ABS_GSS_SERVICE unset): the Kerberos exchanges "
		    "themselves run in t_krb_gss\n");
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	own_config_remove();
	T_DONE();
}
