/* Base64, RFC 4648 (common/base64.h). */
#include <errno.h>
#include <stdbool.h>

#include "common/base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ?
		    (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* The value of a character, or -1. */
static int
val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int
b64_decode(const char *in, size_t n, uint8_t *out, size_t *outlen)
{
	size_t o = 0;

	*outlen = 0;
	if (n % 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		int a = val(in[i]), b = val(in[i + 1]), c, d;
		int pad = last && in[i + 3] == '=' ? (in[i + 2] == '=' ? 2 : 1) : 0;

		c = pad == 2 ? 0 : val(in[i + 2]);
		d = pad ? 0 : val(in[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -EINVAL;
		/* The bits padding leaves out must be zero: one encoding only. */
		if ((pad == 2 && (b & 15)) || (pad == 1 && (c & 3)))
			return -EINVAL;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 |
		    (uint32_t)c << 6 | (uint32_t)d;
		out[o++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)v;
	}
	*outlen = o;
	return 0;
}
