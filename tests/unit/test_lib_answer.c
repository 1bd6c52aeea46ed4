/*
 * What abs-ctld believes of a changer command's answer (control/library_
 * parse.c): a refusal with its sense, an inventory with attention and the
 * changer's serial, barcodes the catalog cannot store taken as
 * unreadable, and refusals of what is not an answer (not JSON, no
 * elements, a bad type or number, an element twice); drive identifiers
 * matched whole or by their end, never by a blank.
 */
#include <errno.h>
#include <string.h>

#include "control/library_int.h"
#include "t.h"

static int
parse(const char *s, bool inv, struct lib_answer *a, char *why)
{
	return lib_parse_answer(s, strlen(s), inv, a, why, 256);
}

int
main(void)
{
	struct lib_answer a;
	char why[256];

	CHECK_EQ(parse("{\"error\":\"load: ILLEGAL REQUEST\",\"sense\":\"3B/0E\","
	    "\"attention\":true}", false, &a, why), 0);
	CHECK(!a.ok && strcmp(a.sense, "3B/0E") == 0 && a.attention);
	CHECK(strstr(a.error, "ILLEGAL REQUEST") != NULL);
	CHECK_EQ(parse("{\"ok\":true}", false, &a, why), 0);
	CHECK(a.ok && !a.attention);
	CHECK_EQ(parse("{\"serial\":\"VL1\",\"elements\":[{\"type\":\"slot\","
	    "\"num\":1,\"addr\":4096,\"full\":true,\"barcode\":\" A1L6 \"},"
	    "{\"type\":\"slot\",\"num\":2,\"addr\":4097,\"full\":true,"
	    "\"barcode\":\"A B\"},{\"type\":\"drive\",\"num\":0,\"addr\":256,"
	    "\"full\":false,\"ident\":\"VL1D0\",\"source\":3}]}", true, &a, why),
	    0);
	CHECK(a.ok && a.n == 3 && strcmp(a.serial, "VL1") == 0);
	CHECK(a.n == 3 && strcmp(a.elems[0].barcode, "A1L6") == 0);
	CHECK(a.n == 3 && !a.elems[1].barcode && a.elems[1].tag_unreadable);
	CHECK(a.bad_tags == 1);
	CHECK(a.n == 3 && strcmp(a.elems[2].ident, "VL1D0") == 0 &&
	    a.elems[2].access);
	lib_answer_free(&a);
	CHECK_EQ(parse("{\"elements\":[{\"type\":\"slot\",\"num\":1,\"addr\":1},"
	    "{\"type\":\"slot\",\"num\":1,\"addr\":2}]}", true, &a, why), -EINVAL);
	CHECK(strstr(why, "twice") != NULL && !a.ok && a.n == 0);
	CHECK_EQ(parse("{\"elements\":[{\"type\":\"shelf\",\"num\":1,\"addr\":1}]}",
	    true, &a, why), -EINVAL);
	CHECK_EQ(parse("{\"elements\":[{\"type\":\"slot\",\"num\":70000,"
	    "\"addr\":1}]}", true, &a, why), -EINVAL);
	CHECK_EQ(parse("{\"ok\":true}", true, &a, why), -EINVAL);
	CHECK(strstr(why, "no elements") != NULL && !a.ok);
	CHECK_EQ(parse("abs-engine: usage", true, &a, why), -EINVAL);
	CHECK(strstr(why, "not JSON") != NULL);
	CHECK_EQ(parse("[1]", false, &a, why), -EINVAL);
	CHECK_EQ(lib_parse_answer(NULL, 0, false, &a, why, sizeof(why)),
	    -EINVAL);

	CHECK(lib_ident_match("VL1D0", "VL1D0"));
	CHECK(lib_ident_match("IBM ULT3580 1068000123", "1068000123"));
	CHECK(lib_ident_match(" 1068000123 ", "IBM ULT3580 1068000123"));
	CHECK(!lib_ident_match("VL1D0", "VL1D1"));
	CHECK(!lib_ident_match("VL1D0", "  "));
	CHECK(!lib_ident_match(NULL, "x"));
	T_DONE();
}
