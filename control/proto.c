/* The one table of control requests, and request parsing and checking. */
#include <stdio.h>
#include <string.h>

#include "control/proto.h"

#define OP ROLE_OPERATOR
#define RT ROLE_RETRIEVAL
#define EX ROLE_EXCEPTION
#define AD ROLE_ADMIN
#define ANY ROLE_ANY

const struct proto_op proto_ops[] = {
	/* the operator's flow */
	{ "dump", OP, "drive:s entities:S level:i?", "dump DRIVE ENTITY...",
	    "dump entities on a drive (mount requests follow)" },
	{ "mounted", OP, "drive:s", "mounted DRIVE",
	    "the requested cartridge is in DRIVE" },
	{ "unavailable", OP, "label:s", "unavailable LABEL",
	    "a requested cartridge cannot be found; ask for another" },
	{ "abort", OP, "job:i", "abort JOB", "stop a job at the next block" },
	{ "status", ANY, "", "status", "drives, jobs, progress, messages" },
	{ "jobs", ANY, "count:i?", "jobs [--count N]", "recent jobs" },
	/* restores */
	{ "restore", OP | RT, "entity:s date:s? as:s? to:s? drive:s?",
	    "restore ENTITY [--date D] [--as NEW] [--to PATH] [--drive DRIVE]",
	    "restore the latest (or D's) dump on DRIVE (or an idle one);"
	    " asks for the tapes in order" },
	/* queries */
	{ "tapes-for", ANY, "entity:s", "tapes-for ENTITY",
	    "which tapes hold an entity" },
	{ "entity", ANY, "name:s", "entity NAME",
	    "describe an entity: last full, last incremental, sizes" },
	{ "tape", ANY, "label:s", "tape LABEL", "describe a tape" },
	{ "errors", ANY, "drive:s? label:s? since:s?",
	    "errors [--drive D] [--label L] [--since DATE]",
	    "errors per drive and per tape over time" },
	{ "next-entities", ANY, "count:i?", "next-entities [--count N]",
	    "the next N entities to be dumped" },
	{ "next-tapes", ANY, "pool:s? count:i?", "next-tapes [--pool P] [--count N]",
	    "the next N tapes to be used" },
	{ "entities", ANY, "", "entities", "all entities" },
	{ "tapes", ANY, "pool:s?", "tapes [--pool P]", "all tapes" },
	{ "pools", ANY, "", "pools", "pools and their rules" },
	/* configuration */
	{ "entity-add", AD, "name:s source:s type:s? pool:s?",
	    "entity-add NAME SOURCE [--type T] [--pool P]",
	    "add an entity (SOURCE: dir:PATH, cmd:ARGV, file:PATH)" },
	{ "entity-remove", AD, "name:s", "entity-remove NAME",
	    "stop dumping an entity (its dumps stay)" },
	{ "entity-type", AD, "name:s type:s", "entity-type NAME TYPE",
	    "change an entity's type" },
	{ "entity-frequency", AD, "name:s full:i? incr:i?",
	    "entity-frequency NAME [--full DAYS] [--incr DAYS]",
	    "backup frequency of one entity" },
	{ "entity-window", OP, "name:s not_before:s",
	    "entity-window NAME DATE", "one-time: do not dump before DATE" },
	{ "type-add", AD, "name:s full:i? incr:i?",
	    "type-add NAME [--full DAYS] [--incr DAYS]", "add an entity type" },
	{ "type-frequency", AD, "name:s full:i? incr:i?",
	    "type-frequency NAME [--full DAYS] [--incr DAYS]",
	    "backup frequency of an entity type" },
	{ "tape-add", OP, "pool:s labels:S", "tape-add POOL LABEL...",
	    "add blank tapes to a pool" },
	{ "tape-state", OP, "label:s state:s",
	    "tape-state LABEL out-of-service|no-new-writes|appendable|destroyed",
	    "mark a tape" },
	{ "pool-add", AD, "name:s", "pool-add NAME", "add a pool" },
	{ "pool-set", AD, "name:s min:i? max:i? keep_fulls:i? keep_days:i?",
	    "pool-set NAME [--min N] [--max N] [--keep-fulls N] [--keep-days N]",
	    "pool counts and reuse rules" },
	{ "acl-set", AD, "uid:i role:s", "acl-set UID ROLE",
	    "grant a role (operator, retrieval, exception, admin)" },
	{ "acl-remove", AD, "uid:i role:s", "acl-remove UID ROLE",
	    "take a role back" },
	{ "acl", AD, "", "acl", "list the ACL" },
	{ "whoami", ANY, "", "whoami", "your uid and roles" },
	{ "merge", AD, "lines:S pool:s?", "merge [--pool P] DUMPLOG...",
	    "bring dump logs (direct mode, engine journals) into the catalog" },
	/* media servers (abs-engine --control) */
	{ "engine-register", OP, "drive:s device:s", NULL, NULL },
	{ "engine-event", OP, "event:s job:i? data:o?", NULL, NULL },
};
const size_t proto_nops = sizeof(proto_ops) / sizeof(proto_ops[0]);

const struct proto_op *
proto_find(const char *name)
{
	for (size_t i = 0; i < proto_nops; i++)
		if (strcmp(proto_ops[i].name, name) == 0)
			return &proto_ops[i];
	return NULL;
}

static const char *const role_names[] = { "operator", "retrieval",
	"exception", "admin" };

int
proto_role_from_name(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(role_names[i], name) == 0)
			return 1 << i;
	return -1;
}

const char *
proto_role_name(unsigned role)
{
	for (int i = 0; i < 4; i++)
		if (role == (1u << i))
			return role_names[i];
	return "?";
}

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
		if (!spec_lookup(op->args, key, &type, &opt)) {
			snprintf(err, PROTO_ERRLEN, "%s: unknown argument '%s'",
			    op->name, key);
			return -1;
		}
		bool good = (type == 's' && json_is_string(v) &&
		    json_string_length(v) < 4096) ||
		    (type == 'i' && json_is_integer(v)) ||
		    (type == 'o' && json_is_object(v));
		if (type == 'S' && json_is_array(v) && json_array_size(v) > 0 &&
		    json_array_size(v) <= 1000) {
			size_t i;
			json_t *e;
			good = true;
			json_array_foreach(v, i, e)
				if (!json_is_string(e) || json_string_length(e) >= 4096)
					good = false;
		}
		if (!good) {
			snprintf(err, PROTO_ERRLEN, "%s: argument '%s' must be %s",
			    op->name, key, type == 's' ? "a string" : type == 'i' ?
			    "an integer" : type == 'o' ? "an object" :
			    "a list of strings");
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
		snprintf(err, PROTO_ERRLEN, "malformed JSON: %s", je.text);
		return -1;
	}
	*req = r;
	if (!json_is_object(r)) {
		snprintf(err, PROTO_ERRLEN, "a request is a JSON object");
		return -1;
	}
	i = json_object_get(r, "id");
	if (i && json_is_integer(i))
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
