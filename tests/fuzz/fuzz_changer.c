/*
 * libFuzzer: a changer command's answer, as abs-ctld reads it before
 * believing any of it (lib_parse_answer): a refusal carries its error; an
 * inventory's elements have a type, numbers in range, no element twice,
 * and barcodes the catalog can store (anything else unreadable).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/library_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Die loudly: libFuzzer keeps the input. */
#define ASSERT(c) do { if (!(c)) __builtin_trap(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lib_answer a;
	char why[256];

	for (int inv = 0; inv < 2; inv++) {
		why[0] = '\0';
		if (lib_parse_answer((const char *)data, size, inv, &a, why,
		    sizeof(why)) < 0) {
			ASSERT(why[0] && !a.ok && a.elems == NULL && a.n == 0);
			continue;
		}
		ASSERT(a.ok || a.error[0]);
		ASSERT(a.ok || a.n == 0);
		for (size_t i = 0; i < a.n; i++) {
			const struct cat_element_in *e = &a.elems[i];
			ASSERT(e->type && e->num >= 0 && e->num <= 65535);
			ASSERT(e->addr >= 0 && e->addr <= 65535);
			ASSERT(!e->barcode || (e->full && cat_name_valid(e->barcode) &&
			    strlen(e->barcode) <= 63));
			ASSERT(!e->ident || strlen(e->ident) <= 255);
			for (size_t k = 0; k < i && k < 64; k++)
				ASSERT(strcmp(a.elems[k].type, e->type) != 0 ||
				    a.elems[k].num != e->num);
		}
		lib_answer_free(&a);
	}
	return 0;
}
