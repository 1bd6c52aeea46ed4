/*
 * libFuzzer: what a peer on the network sends before it is anyone (issue
 * 17): the authentication lines both ends parse (proto_auth_parse, on
 * abs-ctld's side the client's first line, on the client's abs-ctld's
 * answers) and the HOST[:PORT] of --listen, --host and tls:// URIs.
 * Invariants: a line parsed is one of the known kinds with its required
 * fields; an answer made from the parsed fields parses again to the same;
 * a HOST parsed has no blank, '/' or '@' and a port of 0-65535.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(const char *line, size_t len)
{
	struct proto_auth_msg m, again;
	char err[PROTO_ERRLEN];

	if (proto_auth_parse(line, len, &m, err) < 0) {
		if (!err[0])
			abort();	/* a refusal always says why */
		return;
	}
	if (strlen(m.identity) >= sizeof(m.identity) || !m.auth[0])
		abort();
	if ((!strcmp(m.auth, "gssapi") || !strcmp(m.auth, "continue")) &&
	    !m.token)
		abort();
	if (!strcmp(m.auth, "ok") && !m.identity[0])
		abort();
	/* What abs-ctld would answer with it, parsed back. */
	const char *key = !strcmp(m.auth, "ok") ? "identity" :
	    !strcmp(m.auth, "refused") ? "error" : m.token ? "token" : NULL;
	const char *val = !strcmp(m.auth, "ok") ? m.identity :
	    !strcmp(m.auth, "refused") ? m.error : m.token;
	char *out = proto_auth_line(m.auth, key, val);
	if (out) {
		size_t n = strlen(out);
		if (n == 0 || out[n - 1] != '\n' || memchr(out, '\n', n - 1))
			abort();	/* one line, always */
		if (proto_auth_parse(out, n - 1, &again, err) < 0 ||
		    strcmp(again.auth, m.auth) != 0 || (!strcmp(m.auth, "ok") &&
		    strcmp(again.identity, m.identity) != 0))
			abort();
		proto_auth_msg_free(&again);
		free(out);
	}
	proto_auth_msg_free(&m);
}

static void
check_hostport(const char *s)
{
	char host[256], port[16], err[PROTO_ERRLEN];

	if (proto_tls_hostport(s, host, sizeof(host), port, sizeof(port),
	    err) < 0)
		return;
	if (!host[0] || strpbrk(host, " \t\n/@"))
		abort();
	long p = strtol(port, NULL, 10);
	if (p < 0 || p > 65535)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	/* The first byte picks the parser; the rest is the input. */
	if (!(s = malloc(size)))
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] & 1)
		check_hostport(s);
	else
		check_line(s, size - 1);
	free(s);
	return 0;
}
