/*
 * Outside text made safe to print (common/esc.h): controls, DEL, C1 as a
 * byte or as UTF-8, and bytes that are not UTF-8 become \xNN; valid UTF-8
 * (accents, CJK, emoji) stays; backslashes only with ESC_BACKSLASH;
 * escaping twice without it changes nothing; a short buffer is cut at a
 * whole character or escape, never inside one.
 */
#include <string.h>

#include "common/esc.h"
#include "t.h"

static void
check(const char *in, int flags, const char *want)
{
	char out[256];

	esc_text(in, out, sizeof(out), flags);
	if (strcmp(out, want) != 0)
		fprintf(stderr, "esc_text: \"%s\", want \"%s\"\n", out, want);
	CHECK(strcmp(out, want) == 0);
}

static void
test_cases(void)
{
	check("plain name.txt", 0, "plain name.txt");
	check("s\033]2;PWNED\007\033[31mRED\302\233sock", 0,
	    "s\\x1b]2;PWNED\\x07\\x1b[31mRED\\xc2\\x9bsock");
	check("lone \x9b CSI", 0, "lone \\x9b CSI");
	check("tab\tnew\nline\r\x7f", 0, "tab\\x09new\\x0aline\\x0d\\x7f");
	check("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 0,
	    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
	check("nbsp\xc2\xa0ok", 0, "nbsp\xc2\xa0ok");
	/* overlong, surrogate, above U+10FFFF, cut short */
	check("\xc0\xaf \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe6\x97", 0,
	    "\\xc0\\xaf \\xe0\\x80\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80 "
	    "\\xe6\\x97");
	check("a\\b", 0, "a\\b");
	check("a\\b\033", ESC_BACKSLASH, "a\\\\b\\x1b");
	check("", 0, "");
}

static void
test_twice(void)
{
	const char *in = "x\033[2J\\x1b \xff y\xc2\x85";
	char once[256], twice[256];

	esc_text(in, once, sizeof(once), 0);
	esc_text(once, twice, sizeof(twice), 0);
	CHECK(strcmp(once, twice) == 0);
	CHECK(esc_clean(once));
	CHECK(!esc_clean(in));
	CHECK(esc_clean("caf\xc3\xa9"));
}

static void
test_short(void)
{
	char out[8];

	/* "ab" + "\x1b" (4) = 6, then "c" fits, then the 3-byte char does not. */
	esc_text("ab\033c\xe6\x97\xa5", out, sizeof(out), 0);
	CHECK(strcmp(out, "ab\\x1bc") == 0);
	esc_text("abcdef\033", out, sizeof(out), 0);
	CHECK(strcmp(out, "abcdef") == 0);
	esc_text("abcdefgh", out, 1, 0);
	CHECK(out[0] == '\0');
}

int
main(void)
{
	test_cases();
	test_twice();
	test_short();
	T_DONE();
}
