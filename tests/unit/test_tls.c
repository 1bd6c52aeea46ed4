/*
 * The TLS side of the protocol (proto/tls.h) without a network: HOST[:PORT]
 * of --listen, --host and tls:// (names, IPv4, [IPv6], the default port,
 * what is refused), the authentication lines (each kind, its required
 * fields, what is refused and why), the answers abs-ctld makes parsing
 * back, and the identity grants and media-server table of the catalog
 * (catalog/acl.c): the identity forms, engine refused as a grant, rows
 * listed and removed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "proto/proto.h"
#include "proto/tls.h"
#include "t.h"

static void
test_hostport(void)
{
	static const struct { const char *in, *host, *port; } ok[] = {
		{ "ctl.example.org:4747", "ctl.example.org", "4747" },
		{ "ctl", "ctl", "4747" },
		{ "10.0.0.1:1", "10.0.0.1", "1" },
		{ "[::1]:4848", "::1", "4848" },
		{ "[fe80::1]", "fe80::1", "4747" },
		{ "*:4747", "*", "4747" },
		{ "127.0.0.1:0", "127.0.0.1", "0" },	/* --listen: the kernel's */
	};
	static const char *const bad[] = { "", ":4747", "h:", "h:x", "h:65536",
	    "h:-1", "::1", "[::1", "[::1]x", "a b:1", "a/b:1", "u@h:1",
	    "[]:1" };
	char host[256], port[16], err[PROTO_ERRLEN];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_EQ(proto_tls_hostport(ok[i].in, host, sizeof(host), port,
		    sizeof(port), err), 0);
		CHECK(strcmp(host, ok[i].host) == 0);
		CHECK(strcmp(port, ok[i].port) == 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(proto_tls_hostport(bad[i], host, sizeof(host), port,
		    sizeof(port), err), -EINVAL);
		CHECK(strstr(err, "HOST[:PORT]") != NULL);
	}
}

static void
test_auth_lines(void)
{
	static const char *const bad[][2] = {
		{ "not json", "not a JSON object" },
		{ "[1]", "not a JSON object" },
		{ "{}", "without \"auth\"" },
		{ "{\"auth\":1}", "without \"auth\"" },
		{ "{\"auth\":\"password\"}", "unknown authentication" },
		{ "{\"auth\":\"gssapi\"}", "without a token" },
		{ "{\"auth\":\"gssapi\",\"token\":\"a b\"}", "not base64" },
		{ "{\"auth\":\"gssapi\",\"token\":7}", "not a string" },
		{ "{\"auth\":\"ok\"}", "without an identity" },
		{ "{\"auth\":\"cert\",\"auth\":\"ok\"}", "not a JSON object" },
		{ "{\"auth\":\"ok\",\"identity\":\"a\\u0000b\"}", "not a JSON" },
	};
	struct proto_auth_msg m;
	char err[PROTO_ERRLEN], *line;

	CHECK_EQ(proto_auth_parse("{\"auth\":\"cert\"}", 15, &m, err), 0);
	CHECK(strcmp(m.auth, "cert") == 0 && !m.token);
	proto_auth_msg_free(&m);
	CHECK_EQ(proto_auth_parse("{\"auth\":\"gssapi\",\"token\":\"YWJj\"}", 32,
	    &m, err), 0);
	CHECK(m.token && strcmp(m.token, "YWJj") == 0);
	proto_auth_msg_free(&m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(proto_auth_parse(bad[i][0], strlen(bad[i][0]), &m, err),
		    -EPROTO);
		if (!strstr(err, bad[i][1]))
			fprintf(stderr, "%s: %s\n", bad[i][0], err);
		CHECK(strstr(err, bad[i][1]) != NULL);
	}
	/* Longer than a line may be: refused before it is read as JSON. */
	size_t n = PROTO_AUTH_MAX + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	CHECK_EQ(proto_auth_parse(big, n, &m, err), -EPROTO);
	CHECK(strstr(err, "longer") != NULL);
	free(big);
	/* Answers: one line each, escaped, parsed back. */
	line = proto_auth_line("ok", "identity", "cert:CN=a\\\"b,O=x\ny");
	CHECK(line && strchr(line, '\n') == line + strlen(line) - 1);
	CHECK_EQ(proto_auth_parse(line, strlen(line) - 1, &m, err), 0);
	CHECK(strcmp(m.identity, "cert:CN=a\\\"b,O=x\ny") == 0);
	proto_auth_msg_free(&m);
	free(line);
	line = proto_auth_line("refused", "error", "certificate revoked");
	CHECK_EQ(proto_auth_parse(line, strlen(line) - 1, &m, err), 0);
	CHECK(strcmp(m.error, "certificate revoked") == 0);
	proto_auth_msg_free(&m);
	free(line);
}

static int
count_acl(const struct cat_acl *a, void *arg)
{
	if (a->identity)
		++*(int *)arg;
	return 0;
}

static int
count_ms(const struct cat_mserver *m, void *arg)
{
	(void)m;
	++*(int *)arg;
	return 0;
}

static void
test_catalog(void)
{
	char err[CAT_ERRLEN];
	struct cat_db *db;
	int n = 0;

	CHECK_EQ(cat_open(":memory:", &db, err), 0);
	CHECK_EQ(cat_identity_check("cert:O=Example,CN=alice", err), 0);
	CHECK_EQ(cat_identity_check("krb:alice@EXAMPLE.ORG", err), 0);
	CHECK_EQ(cat_identity_check("alice", err), -EINVAL);
	CHECK_EQ(cat_identity_check("cert:", err), -EINVAL);
	CHECK_EQ(cat_identity_check("krb:a\x1b[2Jb", err), -EINVAL);
	CHECK_EQ(cat_acl_ident_set(db, "cert:CN=alice", "operator", err), 0);
	CHECK_EQ(cat_acl_ident_set(db, "cert:CN=alice", "operator", err), 0);
	CHECK_EQ(cat_acl_ident_set(db, "cert:CN=alice", "engine", err), -EINVAL);
	CHECK(strstr(err, "server-allow") != NULL);
	CHECK_EQ(cat_acl_ident_set(db, "cert:CN=alice", "wizard", err), -EINVAL);
	CHECK_EQ(cat_acl_ident_set(db, "krb:bob@R", "admin", err), 0);
	CHECK_EQ(cat_acl_set(db, 1000, "retrieval", err), 0);
	CHECK_EQ(cat_acl_list(db, count_acl, &n, err), 3);
	CHECK_EQ(n, 2);
	n = 0;
	CHECK_EQ(cat_acl_ident_roles(db, "cert:CN=alice", count_acl, &n, err), 1);
	CHECK_EQ(cat_acl_ident_remove(db, "cert:CN=alice", "admin", err),
	    -ENOENT);
	CHECK_EQ(cat_acl_ident_remove(db, "cert:CN=alice", "operator", err), 0);
	CHECK_EQ(cat_mserver_allow(db, "tapehost-*", "cert:CN=tapehost", "t",
	    err), 0);
	CHECK_EQ(cat_mserver_allow(db, "d 1", "cert:CN=tapehost", "t", err),
	    -EINVAL);
	CHECK_EQ(cat_mserver_allow(db, "d1", "tapehost", "t", err), -EINVAL);
	CHECK_EQ(cat_mserver_allow(db, "d1", "krb:abs/tapehost@R", NULL, err), 0);
	n = 0;
	CHECK_EQ(cat_mserver_list(db, "cert:CN=tapehost", count_ms, &n, err), 1);
	CHECK_EQ(cat_mserver_list(db, NULL, count_ms, &n, err), 2);
	CHECK_EQ(cat_mserver_deny(db, "d1", err), 0);
	CHECK_EQ(cat_mserver_deny(db, "d1", err), -ENOENT);
	cat_close(db);
}

int
main(void)
{
	test_hostport();
	test_auth_lines();
	test_catalog();
	T_DONE();
}
