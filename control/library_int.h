/*
 * Private to control/: tape libraries in abs-ctld (control/library.c).
 * abs-ctld alone moves a library's cartridges: a robot worker per
 * library runs `abs-engine changer --device URI --json ...` as an
 * asynchronous child, one operation at a time, its pipes watched by the
 * loop; every move is journalled in the catalog before it starts and
 * marked after, and the inventory (at start, after a UNIT ATTENTION, on
 * request, after a failed move) is the truth.
 */
#ifndef ABS_CONTROL_LIBRARY_INT_H
#define ABS_CONTROL_LIBRARY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "control/ctld.h"

/* What a changer command answered (lib_parse_answer). */
struct lib_answer {
	bool ok;		/* no "error" */
	char error[256];	/* its "error", if any */
	char sense[16];		/* its "sense" ("3B/0E"), if any */
	bool attention;		/* a UNIT ATTENTION was seen: inventory */
	char serial[72];	/* inventory: the changer's serial, "" none */
	struct cat_element_in *elems;	/* inventory: the elements */
	size_t n;
	size_t bad_tags;	/* barcodes not storable: taken as unreadable */
};
#define LIB_MAX_ELEMENTS 100000
/*
 * Parse a changer command's standard output (the JSON of `abs-engine
 * changer --json`): one object, with "error" (and "sense") when refused;
 * with elements (want_elements) an inventory, each element checked (type
 * robot slot portal drive, num 0..65535, addr 0..65535, no element twice;
 * a barcode the catalog cannot store is taken as unreadable, never
 * guessed). 0, or -EINVAL with why (wlen bytes): the answer is not one.
 */
int lib_parse_answer(const char *buf, size_t len, bool want_elements,
    struct lib_answer *a, char *why, size_t wlen);
void lib_answer_free(struct lib_answer *a);

/*
 * Whether two drive identifiers name one drive: equal, or one ends with
 * the other (a changer's DVCID may be vendor+product+serial, the drive's
 * page 80h the serial alone), ignoring blanks around both.
 */
bool lib_ident_match(const char *a, const char *b);

#endif
