/* Arguments in, catalog results out: the helpers every handler uses. */
#include <errno.h>
#include <string.h>

#include "control/handlers_int.h"

const char *
arg_str(json_t *a, const char *k)
{
	return json_string_value(json_object_get(a, k));
}

int64_t
arg_num(json_t *a, const char *k, int64_t def)
{
	json_t *v = json_object_get(a, k);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

json_t *
j_str(const char *s)
{
	json_t *v;

	if (!s)
		return json_null();
	v = json_string(s);
	return v ? v : json_string("?");	/* not UTF-8: never break a reply */
}

json_t *
j_int(int64_t v)
{
	return v == CAT_NULL ? json_null() : json_integer((json_int_t)v);
}

int
j_append(json_t *arr, json_t *o)
{
	return o && json_array_append_new(arr, o) == 0 ? 0 : -ENOMEM;
}

json_t *
cat_failed(const char **code, char *err, int rc, const char *caterr)
{
	switch (rc) {
	case -ENOENT: *code = "not-found"; break;
	case -EEXIST: *code = "exists"; break;
	case -EINVAL: *code = "bad-args"; break;
	case -EDQUOT: *code = "pool-full"; break;
	case -EAGAIN: *code = "incomplete"; break;
	case -ENOLINK: *code = PROTO_E_BROKEN_CHAIN; break;
	case -ENOMEM:
		*code = "internal";
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return NULL;
	default: *code = "catalog"; break;
	}
	snprintf(err, PROTO_ERRLEN, "%s", caterr);
	return NULL;
}

json_t *
j_next_tape(const struct cat_tape *t)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "label", j_str(t->label),
	    "tape_id", j_str(t->tape_id), "state", j_str(t->state), "bytes",
	    j_int(t->bytes), "ever_written", j_int(t->ever_written), "recycle",
	    j_int(t->recycle));
}

json_t *
j_list(json_t *arr, int rc, const char *caterr, const char **code, char *err)
{
	if (rc >= 0 && arr)
		return arr;
	json_decref(arr);
	if (rc >= 0)
		rc = -ENOMEM;
	return cat_failed(code, err, rc, caterr);
}

void
cat_warn(struct ctld *c, struct drive *d, const char *caterr)
{
	ctld_message(c, d, "error", "catalog: %s", caterr);
}

void
release_reservation(struct ctld *c, struct drive *d)
{
	char err[CAT_ERRLEN];

	if (!d->reserved[0])
		return;
	if (cat_tape_release(c->db, d->reserved, d->job, err) < 0)
		cat_warn(c, d, err);
	d->reserved[0] = '\0';
}
