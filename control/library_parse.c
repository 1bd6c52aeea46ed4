/*
 * A changer command's answer, read defensively: whatever the child wrote
 * (truncated, not JSON, wrong types, absurd numbers, duplicates) is
 * refused with a reason or taken in a form the catalog can store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/library_int.h"

void
lib_answer_free(struct lib_answer *a)
{
	if (!a)
		return;
	for (size_t i = 0; a->elems && i < a->n; i++) {
		free((char *)a->elems[i].barcode);
		free((char *)a->elems[i].ident);
	}
	free(a->elems);
	a->elems = NULL;
	a->n = 0;
}

/* A string field, copied (trimmed of blanks at both ends), or NULL. */
static char *
str_dup_trim(json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	size_t n;

	if (!s)
		return NULL;
	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n && s[n - 1] == ' ')
		n--;
	if (n == 0 || n > max)
		return NULL;
	return strndup(s, n);
}

/* An integer field in [lo, hi]: 0 and *out, or -1. */
static int
int_in(json_t *o, const char *k, long long lo, long long hi, int64_t *out)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int
parse_element(json_t *o, size_t i, struct cat_element_in *e,
    struct lib_answer *a, char *why, size_t wlen)
{
	static const char *const types[] = { "robot", "slot", "portal", "drive" };
	const char *t = json_string_value(json_object_get(o, "type"));
	json_t *src = json_object_get(o, "source");
	char *bc;

	if (!json_is_object(o)) {
		snprintf(why, wlen, "element %zu is not an object", i);
		return -EINVAL;
	}
	e->type = NULL;
	for (size_t k = 0; t && k < 4; k++)
		if (strcmp(t, types[k]) == 0)
			e->type = types[k];
	if (!e->type) {
		snprintf(why, wlen, "element %zu: type is not robot, slot, portal or"
		    " drive", i);
		return -EINVAL;
	}
	if (int_in(o, "num", 0, 65535, &e->num) < 0 ||
	    int_in(o, "addr", 0, 65535, &e->addr) < 0) {
		snprintf(why, wlen, "element %zu (%s): num and addr are 0..65535", i,
		    e->type);
		return -EINVAL;
	}
	e->full = json_is_true(json_object_get(o, "full"));
	e->tag_unreadable = json_is_true(json_object_get(o, "tag_unreadable"));
	e->except = json_is_true(json_object_get(o, "except"));
	/* access: absent means the robot reaches it */
	e->access = !json_is_false(json_object_get(o, "access"));
	e->source = json_is_integer(src) && json_integer_value(src) > 0 &&
	    json_integer_value(src) <= 65535 ? json_integer_value(src) : CAT_NULL;
	e->ident = str_dup_trim(json_object_get(o, "ident"), 255);
	e->barcode = NULL;
	if (e->full && (bc = str_dup_trim(json_object_get(o, "barcode"), 63))) {
		if (cat_name_valid(bc)) {
			e->barcode = bc;
		} else {
			free(bc);
			e->tag_unreadable = true;	/* never guessed */
			a->bad_tags++;
		}
	} else if (e->full && json_is_string(json_object_get(o, "barcode")) &&
	    json_string_length(json_object_get(o, "barcode")) > 0) {
		e->tag_unreadable = true;	/* too long, or only blanks */
		a->bad_tags++;
	}
	return 0;
}

int
lib_parse_answer(const char *buf, size_t len, bool want_elements,
    struct lib_answer *a, char *why, size_t wlen)
{
	json_error_t je;
	json_t *root, *els, *v;
	unsigned char *seen = NULL;
	size_t n;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if (!buf || len == 0) {
		snprintf(why, wlen, "no answer on its standard output");
		return -EINVAL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(why, wlen, "its answer is not JSON (%.100s)", je.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(why, wlen, "its answer is not a JSON object");
		json_decref(root);
		return -EINVAL;
	}
	a->attention = json_is_true(json_object_get(root, "attention"));
	if ((v = json_object_get(root, "serial")) && json_is_string(v) &&
	    json_string_length(v) < sizeof(a->serial))
		snprintf(a->serial, sizeof(a->serial), "%s", json_string_value(v));
	if ((v = json_object_get(root, "error")) && !json_is_null(v)) {
		const char *s = json_string_value(v);
		snprintf(a->error, sizeof(a->error), "%s", s && *s ? s :
		    "refused");
		s = json_string_value(json_object_get(root, "sense"));
		if (s && strlen(s) < sizeof(a->sense))
			snprintf(a->sense, sizeof(a->sense), "%s", s);
		json_decref(root);
		return 0;
	}
	if (!want_elements) {
		a->ok = true;
		json_decref(root);
		return 0;
	}
	els = json_object_get(root, "elements");
	if (!json_is_array(els)) {
		snprintf(why, wlen, "its inventory has no elements array");
		json_decref(root);
		return -EINVAL;
	}
	n = json_array_size(els);
	if (n > LIB_MAX_ELEMENTS) {
		snprintf(why, wlen, "its inventory has %zu elements (at most %d)", n,
		    LIB_MAX_ELEMENTS);
		json_decref(root);
		return -EINVAL;
	}
	if (n && !(a->elems = calloc(n, sizeof(*a->elems)))) {
		snprintf(why, wlen, "out of memory");
		json_decref(root);
		return -ENOMEM;
	}
	/* one bit per type and number: the same element twice is refused */
	if (n && !(seen = calloc(4 * 65536 / 8, 1))) {
		snprintf(why, wlen, "out of memory");
		json_decref(root);
		lib_answer_free(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = parse_element(json_array_get(els, i), i, &a->elems[i], a, why,
		    wlen);
		if (rc < 0)
			break;
		a->n++;
		size_t bit = (size_t)(a->elems[i].type[0] == 'r' ? 0 :
		    a->elems[i].type[0] == 's' ? 1 : a->elems[i].type[0] == 'p' ?
		    2 : 3) * 65536 + (size_t)a->elems[i].num;
		if (seen[bit / 8] & (1u << (bit % 8))) {
			snprintf(why, wlen, "element %s %lld is listed twice",
			    a->elems[i].type, (long long)a->elems[i].num);
			rc = -EINVAL;
		}
		seen[bit / 8] |= (unsigned char)(1u << (bit % 8));
	}
	free(seen);
	json_decref(root);
	if (rc < 0)
		lib_answer_free(a);
	a->ok = rc == 0;
	return rc;
}

/* s without blanks around it: its start, and *n its length. */
static const char *
trimmed(const char *s, size_t *n)
{
	while (*s == ' ')
		s++;
	*n = strlen(s);
	while (*n && s[*n - 1] == ' ')
		(*n)--;
	return s;
}

bool
lib_ident_match(const char *a, const char *b)
{
	size_t na, nb;

	if (!a || !b)
		return false;
	a = trimmed(a, &na);
	b = trimmed(b, &nb);
	if (!na || !nb)
		return false;
	if (na >= nb)
		return memcmp(a + na - nb, b, nb) == 0;
	return memcmp(b + nb - na, a, na) == 0;
}
