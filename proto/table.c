/*
 * The one table of control requests (rows in proto/requests.def), and the
 * request parser and argument checker over it, shared by abs-ctld and
 * abs-ctl.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/proto.h"

const struct proto_op proto_ops[PROTO_NREQ] = {
#define REQ(id, name, roles, flags, args, usage, help) \
	[PROTO_REQ_##id] = { name, PROTO_REQ_##id, roles, flags, args, usage, \
	    help },
#include "proto/requests.def"
#undef REQ
};
const size_t proto_nops = PROTO_NREQ;

/* The row of a request name, or NULL. */
const struct proto_op *
proto_find(const char *name)
{
	for (size_t i = 0; i < proto_nops; i++)
		if (strcmp(proto_ops[i].name, name) == 0)
			return &proto_ops[i];
	return NULL;
}

/* ACL names, one per role bit from bit 0. */
static const char *const role_names[] = { "operator", "retrieval",
	"exception", "admin", "engine" };
#define NROLES (sizeof(role_names) / sizeof(role_names[0]))

/* A role's bit from its ACL name, or -1. */
int
proto_role_from_name(const char *name)
{
	for (size_t i = 0; i < NROLES; i++)
		if (strcmp(role_names[i], name) == 0)
			return 1 << i;
	return -1;
}

/* The ACL name of one role bit. */
const char *
proto_role_name(unsigned role)
{
	for (size_t i = 0; i < NROLES; i++)
		if (role == (1u << i))
			return role_names[i];
	return "?";
}

/* Who may send a row, for a refusal's text. */
void
proto_roles_text(unsigned roles, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if ((roles & ROLE_ANY) == ROLE_ANY) {
		snprintf(buf, len, "any role%s", roles & ROLE_ENGINE ?
		    " or engine" : "");
		return;
	}
	if (roles != ROLE_ADMIN)
		roles &= ~(unsigned)ROLE_ADMIN;	/* admin always may */
	for (size_t i = 0; i < NROLES; i++) {
		if (!(roles & (1u << i)))
			continue;
		int w = snprintf(buf + n, len - n, "%s%s", n ? " or " : "",
		    role_names[i]);
		if (w < 0 || (size_t)w >= len - n)
			return;
		n += (size_t)w;
	}
}

/* Walk an argument spec (see proto.h). */
bool
proto_spec_next(const char **p, char *name, size_t len, char *type,
    bool *optional)
{
	const char *s = *p, *colon;
	size_t n;

	while (*s == ' ')
		s++;
	if (!*s || !(colon = strchr(s, ':')) || !colon[1])
		return false;
	n = (size_t)(colon - s);
	if (n >= len)
		n = len - 1;
	memcpy(name, s, n);
	name[n] = '\0';
	*type = colon[1];
	*optional = colon[2] == '?';
	*p = colon + 2 + (colon[2] == '?');
	return true;
}

/* Find NAME in the spec; its type letter and whether it is optional. */
static bool
spec_lookup(const char *spec, const char *name, char *type, bool *optional)
{
	char n[64];

	while (proto_spec_next(&spec, n, sizeof(n), type, optional))
		if (strcmp(n, name) == 0)
			return true;
	return false;
}

/* Whether the usage line names --NAME (underscores written as dashes). */
static bool
usage_has_option(const char *usage, const char *name)
{
	char opt[72];
	size_t n = 0;

	opt[n++] = '-';
	opt[n++] = '-';
	for (const char *p = name; *p && n < sizeof(opt) - 1; p++)
		opt[n++] = *p == '_' ? '-' : *p;
	opt[n] = '\0';
	for (const char *p = usage; (p = strstr(p, opt)); p += n)
		if (!isalnum((unsigned char)p[n]) && p[n] != '-')
			return true;
	return false;
}

/* The spec of one row: names, types, one list argument and only last. */
static int
check_spec(const struct proto_op *op, int *required, char *err)
{
	const char *p = op->args;
	char name[64], type;
	bool opt, list = false;

	*required = 0;
	while (proto_spec_next(&p, name, sizeof(name), &type, &opt)) {
		/* Lower-case words, digits after the first letter (path_b64). */
		if (!*name || !strchr("abcdefghijklmnopqrstuvwxyz", *name) ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz_0123456789") !=
		    strlen(name) || strlen(name) >= sizeof(name) - 1) {
			snprintf(err, PROTO_ERRLEN, "%s: bad argument name '%s'",
			    op->name, name);
			return -1;
		}
		if (!strchr("siSou", type) || (*p && *p != ' ')) {
			snprintf(err, PROTO_ERRLEN, "%s: argument '%s' has a bad type",
			    op->name, name);
			return -1;
		}
		if (type == 'o' && !(op->flags & PROTO_F_INTERNAL)) {
			snprintf(err, PROTO_ERRLEN, "%s: abs-ctl cannot pass the "
			    "object '%s'", op->name, name);
			return -1;
		}
		const char *q = op->args;
		char other[64], t2;
		bool o2;
		int same = 0;
		while (proto_spec_next(&q, other, sizeof(other), &t2, &o2))
			same += strcmp(other, name) == 0;
		if (same != 1) {
			snprintf(err, PROTO_ERRLEN, "%s: argument '%s' twice",
			    op->name, name);
			return -1;
		}
		if (!opt && list) {
			snprintf(err, PROTO_ERRLEN, "%s: '%s' follows a list that "
			    "takes the rest", op->name, name);
			return -1;
		}
		if (!opt) {
			(*required)++;
			list = type == 'S';
		}
	}
	while (*p == ' ')
		p++;
	if (*p) {
		snprintf(err, PROTO_ERRLEN, "%s: spec ends in '%s'", op->name, p);
		return -1;
	}
	return 0;
}

/*
 * A row is well formed: a spec that parses, and a usage line that starts
 * with the name, has one positional word per required argument and names
 * every optional one as --name. Internal rows have no usage line.
 */
int
proto_op_check(const struct proto_op *op, char *err)
{
	const char *p;
	char name[64], type;
	bool opt;
	int required, words = 0;
	size_t n;

	if (!op->name || !*op->name || !op->args || !op->help) {
		snprintf(err, PROTO_ERRLEN, "row %d: no name, spec or help",
		    (int)op->id);
		return -1;
	}
	if (!op->roles && !(op->flags & PROTO_F_OPEN)) {
		snprintf(err, PROTO_ERRLEN, "%s: no role may send it", op->name);
		return -1;
	}
	if (check_spec(op, &required, err) < 0)
		return -1;
	if (op->flags & PROTO_F_INTERNAL) {
		if (op->usage) {
			snprintf(err, PROTO_ERRLEN, "%s: internal, yet a usage line",
			    op->name);
			return -1;
		}
		return 0;
	}
	n = strlen(op->name);
	if (!op->usage || strncmp(op->usage, op->name, n) != 0 ||
	    (op->usage[n] && op->usage[n] != ' ')) {
		snprintf(err, PROTO_ERRLEN, "%s: no usage line starting with it",
		    op->name);
		return -1;
	}
	/* Positional words: those outside [brackets]. */
	/* ("--name VALUE" outside them: a required one given by name) */
	int depth = 0;
	bool named = false;
	for (p = op->usage + n; *p; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		else if (*p != ' ' && depth == 0 && (p[-1] == ' ' ||
		    p[-1] == ']')) {
			if (named)
				named = false;	/* its value: counted */
			else if (strncmp(p, "--", 2) == 0)
				named = true, words++;
			else
				words++;
		}
	}
	if (words != required) {
		snprintf(err, PROTO_ERRLEN, "%s: usage has %d positional words for "
		    "%d required arguments", op->name, words, required);
		return -1;
	}
	p = op->args;
	while (proto_spec_next(&p, name, sizeof(name), &type, &opt))
		if (opt && !usage_has_option(op->usage, name)) {
			snprintf(err, PROTO_ERRLEN, "%s: usage lacks --%s", op->name,
			    name);
			return -1;
		}
	return 0;
}

/*
 * Whether one value has the spec's type. A string (one of a list too) is
 * shorter than max bytes; a list has at least one, as many as the
 * request line holds.
 */
static bool
value_is(char type, json_t *v, size_t max)
{
	size_t i;
	json_t *e;

	switch (type) {
	case 's':
		return json_is_string(v) && json_string_length(v) < max;
	case 'i':
		return json_is_integer(v);
	case 'u':	/* a uid, or an identity: "krb:P", "cert:SUBJECT" */
		return json_is_integer(v) || (json_is_string(v) &&
		    json_string_length(v) < max);
	case 'o':
		return json_is_object(v);
	case 'S':
		if (!json_is_array(v) || json_array_size(v) == 0)
			return false;
		json_array_foreach(v, i, e)
			if (!json_is_string(e) || json_string_length(e) >= max)
				return false;
		return true;
	}
	return false;
}

/* Check args against the op's spec; unknown or ill-typed ones refused. */
int
proto_check_args(const struct proto_op *op, json_t *args, char *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(args)) {
		snprintf(err, PROTO_ERRLEN, "args must be an object");
		return -1;
	}
	json_object_foreach(args, key, v) {
		char type;
		bool opt;
		/* NAME_b64: the base64 of a string of up to 4095 bytes; data:
		   a chunk of base64 (index-upload's 32 KiB), bounded by the
		   line alone. */
		size_t klen = strlen(key), max = klen > 4 &&
		    strcmp(key + klen - 4, "_b64") == 0 ? 5462 :
		    strcmp(key, "data") == 0 ? PROTO_MAX_LINE : 4096;
		if (!spec_lookup(op->args, key, &type, &opt)) {
			snprintf(err, PROTO_ERRLEN, "%s: unknown argument '%.64s'",
			    op->name, key);
			return -1;
		}
		if (!value_is(type, v, max)) {
			snprintf(err, PROTO_ERRLEN, "%s: argument '%s' must be %s of"
			    " fewer than %zu bytes", op->name, key, type == 's' ?
			    "a string" : type == 'i' ? "an integer" : type == 'u' ?
			    "a uid or an identity" : type == 'o' ?
			    "an object" : "a list of strings, each", max);
			if (type == 'i' || type == 'o' || type == 'u')
				*strstr(err, " of fewer") = '\0';
			return -1;
		}
	}
/* Every required one present. */
	const char *p = op->args;
	char name[64], type;
	bool opt;
	while (proto_spec_next(&p, name, sizeof(name), &type, &opt))
		if (!opt && !json_object_get(args, name)) {
			snprintf(err, PROTO_ERRLEN, "%s: missing argument '%s'",
			    op->name, name);
			return -1;
		}
	return 0;
}

/* Parse one request line (see proto.h). */
int
proto_parse_request(const char *line, size_t len, json_t **req,
    const struct proto_op **op, json_t **args, json_int_t *id, char *err)
{
	json_error_t je;
	json_t *r, *o, *a, *i;

	*req = NULL;
	*id = 0;
	if (len > PROTO_MAX_LINE) {
		snprintf(err, PROTO_ERRLEN, "request longer than %d bytes",
		    PROTO_MAX_LINE);
		return -1;
	}
	r = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!r) {
		snprintf(err, PROTO_ERRLEN, "malformed JSON: %.160s", je.text);
		return -1;
	}
	*req = r;
	if (!json_is_object(r)) {
		snprintf(err, PROTO_ERRLEN, "a request is a JSON object");
		return -1;
	}
	i = json_object_get(r, "id");
	if (i && !json_is_integer(i)) {
		/* A reply could not carry it back: the client would wait. */
		snprintf(err, PROTO_ERRLEN, "a request's \"id\" is an integer");
		return -1;
	}
	if (i)
		*id = json_integer_value(i);
	o = json_object_get(r, "op");
	if (!json_is_string(o)) {
		snprintf(err, PROTO_ERRLEN, "request has no \"op\"");
		return -1;
	}
	*op = proto_find(json_string_value(o));
	if (!*op) {
		snprintf(err, PROTO_ERRLEN, "unknown request '%.64s'",
		    json_string_value(o));
		return -1;
	}
	a = json_object_get(r, "args");
	if (!a) {
		a = json_object();
		json_object_set_new(r, "args", a);
	}
	*args = a;
	return 0;
}

/* A peer's protocol version against ours. */
int
proto_version_check(json_int_t peer_version, const char *peer,
    const char *self, char *err)
{
	if (peer_version == PROTO_VERSION)
		return 0;
	snprintf(err, PROTO_ERRLEN, "protocol version mismatch: %.64s speaks "
	    "version %lld, %.64s speaks version %d", peer,
	    (long long)peer_version, self, PROTO_VERSION);
	return -EPROTO;
}

/* The version a request carries, if any, against abs-ctld's. */
int
proto_check_request_version(const struct proto_op *op, json_t *args,
    char *err)
{
	json_t *v = json_object_get(args, "version");
	const char *who = json_string_value(json_object_get(args, "client"));

	if (!json_is_integer(v))
		return 0;	/* older clients send none: version 1 */
	if (!who)
		who = op->flags & PROTO_F_INTERNAL && op->id != PROTO_REQ_hello ?
		    "the media server" : "the client";
	return proto_version_check(json_integer_value(v), who, "abs-ctld", err);
}
