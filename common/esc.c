/* Outside text made safe to print: see esc.h. */
#include <stdio.h>
#include <string.h>

#include "common/esc.h"

/* Length of the well-formed UTF-8 sequence at p (2 to 4), or 0. */
static size_t
utf8_len(const unsigned char *p)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Bytes at p that print as they are (0: p[0] is to be escaped). */
static size_t
plain_len(const unsigned char *p, int flags)
{
	size_t n;

	if (p[0] < 0x80)
		return p[0] < 0x20 || p[0] == 0x7f ||
		    (p[0] == '\\' && (flags & ESC_BACKSLASH)) ? 0 : 1;
	n = utf8_len(p);
	/* U+0080..U+009F: C1 controls (CSI among them) in UTF-8. */
	if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
		return 0;
	return n;
}

char *
esc_text(const char *in, char *out, size_t outlen, int flags)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	if (!outlen)
		return out;
	while (*p) {
		size_t n = plain_len(p, flags);
		if (n) {
			if (o + n >= outlen)
				break;
			memcpy(out + o, p, n);
			o += n;
			p += n;
		} else if (*p == '\\') {
			if (o + 2 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
			p++;
		} else {
			if (o + 4 >= outlen)
				break;
			snprintf(out + o, 5, "\\x%02x", *p);
			o += 4;
			p++;
		}
	}
	out[o] = '\0';
	return out;
}

char *
esc_name(const char *in, char *out, size_t outlen)
{
	return esc_text(in, out, outlen, ESC_BACKSLASH);
}

int
esc_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p) {
		if (!(n = plain_len(p, 0)))
			return 0;
		p += n;
	}
	return 1;
}
