/*
 * libFuzzer: abs-ctld's request path as a client reaches it - parsing, the
 * argument check and the handler - against an in-memory catalog, with an
 * administrator's roles so that every handler runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/log.h"
#include "control/ctld.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctld ctld;
static struct client client;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PROTO_ERRLEN];
	const struct proto_op *op = NULL;
	const char *code = NULL;
	json_t *req = NULL, *args = NULL, *res;
	json_int_t id;

	if (!ctld.db) {
		if (cat_open(":memory:", &ctld.db, err) < 0)
			return 0;
		log_init("abs-ctld", LOG_LVL_QUIET, 0);
		client.fd = -1;
		client.roles = ROLE_ANY;
	}
	if (proto_parse_request((const char *)data, size, &req, &op, &args, &id,
	    err) == 0 && proto_check_args(op, args, err) == 0) {
		res = ctld_handle(&ctld, &client, op, args, &code, err);
		if (res) {
			char *s = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
			free(s);
			json_decref(res);
		}
	}
	json_decref(req);
	client.outlen = 0;	/* events to a "media server" go nowhere */
	return 0;
}
