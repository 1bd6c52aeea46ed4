/*
 * The control protocol: newline-delimited JSON over a Unix socket.
 * Request:  {"op": NAME, "args": {...}, "id": N}
 * Reply:    {"id": N, "ok": true, "result": ...}
 *           {"id": N, "ok": false, "error": "text", "code": "denied|..."}
 * Every request is defined once, in proto_ops: its name, the role it needs,
 * its arguments and its usage line (abs-ctl prints the same table).
 */
#ifndef ABS_PROTO_H
#define ABS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define PROTO_MAX_LINE (64 * 1024)	/* longer requests are refused */
#define PROTO_ERRLEN 256

enum proto_role {
	ROLE_NONE = 0,
	ROLE_OPERATOR = 1 << 0,
	ROLE_RETRIEVAL = 1 << 1,
	ROLE_EXCEPTION = 1 << 2,
	ROLE_ADMIN = 1 << 3,
	ROLE_ANY = ROLE_OPERATOR | ROLE_RETRIEVAL | ROLE_EXCEPTION | ROLE_ADMIN,
};

/*
 * Argument spec: space-separated NAME:TYPE, TYPE one of s (string),
 * i (integer), S (array of strings); a trailing ? makes it optional.
 */
struct proto_op {
	const char *name;
	unsigned roles;		/* any of these may call it; admin always */
	const char *args;
	const char *usage;	/* for abs-ctl: "dump DRIVE ENTITY..." */
	const char *help;
};

extern const struct proto_op proto_ops[];
extern const size_t proto_nops;

const struct proto_op *proto_find(const char *name);
/*
 * Walk an argument spec: from *p, the next argument's name (into name),
 * type letter and whether it is optional; false at the end.
 */
bool proto_spec_next(const char **p, char *name, size_t len, char *type,
    bool *optional);
int proto_role_from_name(const char *name);
const char *proto_role_name(unsigned role);
/* Check args against the op's spec; unknown or ill-typed ones refused. */
int proto_check_args(const struct proto_op *op, json_t *args, char *err);
/*
 * Parse one request line: 0 and *op, *args (borrowed from *req, which the
 * caller frees), *id; -1 with err set. The arguments are checked apart
 * (proto_check_args), after the caller's role is.
 */
int proto_parse_request(const char *line, size_t len, json_t **req,
    const struct proto_op **op, json_t **args, json_int_t *id, char *err);

#endif
