/*
 * libFuzzer: the Kerberos lines of the authentication exchange as both
 * ends read them (proto/tls.c's proto_auth_parse, then proto/gss.c's
 * token decoding). A line that parses and carries a token decodes to at
 * least one byte or is refused; what decodes, written again by
 * proto_gss_line, parses back to the same kind, identity and token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/gss.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_auth_msg m, back;
	char err[PROTO_ERRLEN], *line;
	uint8_t *tok = NULL, *tok2 = NULL;
	size_t len = 0, len2 = 0;
	int rc;

	if (proto_auth_parse((const char *)data, size, &m, err) < 0) {
		ASSERT(err[0] != '\0');
		return 0;
	}
	rc = proto_gss_token(&m, &tok, &len, err);
	ASSERT(rc == 0 ? tok && len > 0 : !tok && !len && err[0]);
	line = proto_gss_line(m.auth, tok, len, m.identity[0] ? m.identity : NULL);
	ASSERT(line && line[strlen(line) - 1] == '\n');
	if (proto_auth_parse(line, strlen(line) - 1, &back, err) == 0) {
		ASSERT(strcmp(back.auth, m.auth) == 0);
		ASSERT(strcmp(back.identity, m.identity) == 0);
		if (tok) {
			ASSERT(proto_gss_token(&back, &tok2, &len2, err) == 0);
			ASSERT(len2 == len && memcmp(tok, tok2, len) == 0);
		}
		proto_auth_msg_free(&back);
	} else {
		/* only a kind that needs a token may fail without one */
		ASSERT(!tok);
	}
	free(tok2);
	free(tok);
	free(line);
	proto_auth_msg_free(&m);
	return 0;
}
