/*
 * Base64 (common/base64.h): RFC 4648's test vectors, every length around
 * the padding boundaries round trips, and the decoder refuses what is not
 * canonical base64 (lengths, characters, padding, leftover bits).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "t.h"

static void
test_vectors(void)
{
	static const char *const v[][2] = { { "", "" }, { "f", "Zg==" },
	    { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
	    { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
	char out[64];
	uint8_t back[64];
	size_t n;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK_EQ(b64_encode((const uint8_t *)v[i][0], strlen(v[i][0]),
		    out), strlen(v[i][1]));
		CHECK(strcmp(out, v[i][1]) == 0);
		CHECK_EQ(b64_decode(v[i][1], strlen(v[i][1]), back, &n), 0);
		CHECK(n == strlen(v[i][0]) && memcmp(back, v[i][0], n) == 0);
	}
}

static void
test_roundtrip(void)
{
	uint8_t in[300], back[300];
	char out[B64_ENCLEN(300) + 1];
	size_t n, len;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 151 + 7);
	for (n = 0; n <= sizeof(in); n++) {
		len = b64_encode(in, n, out);
		CHECK_EQ(len, B64_ENCLEN(n));
		CHECK(B64_DECLEN(len) >= n);
		CHECK_EQ(b64_decode(out, len, back, &len), 0);
		CHECK(len == n && memcmp(back, in, n) == 0);
	}
}

static void
test_refused(void)
{
	static const char *const bad[] = { "Zg=", "Zg", "Z===", "====",
	    "Zh==", "Zm9=", "Zm=v", "Zm9v!A==", "Zg==Zg==", "Zm 9", "Zm9\n" };
	uint8_t out[16];
	size_t n = 99;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(b64_decode(bad[i], strlen(bad[i]), out, &n), -EINVAL);
		CHECK_EQ(n, 0);
	}
}

int
main(void)
{
	test_vectors();
	test_roundtrip();
	test_refused();
	T_DONE();
}
