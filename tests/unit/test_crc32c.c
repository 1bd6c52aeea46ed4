/*
 * CRC32C: every implementation this CPU has, forced in turn, against a
 * bitwise reference: every length 0..4096 at every alignment 0..15, large
 * buffers, odd splits continued across calls, and known values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/crc32c.h"
#include "t.h"

/* The definition: one bit at a time, reflected polynomial. */
static uint32_t
ref(uint32_t crc, const unsigned char *p, size_t len)
{
	uint32_t c = ~crc;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static uint64_t rs = 0x9E3779B97F4A7C15ull;

static unsigned char
rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (unsigned char)(rs >> 24);
}

int
main(void)
{
	enum { MAX = 4096, BIG = (8 << 20) + 77 };
	unsigned char *buf = malloc(MAX + 64), *big = malloc(BIG);
	uint32_t *want = malloc((MAX + 1) * 16 * sizeof(*want));
	const char *name;
	int tried = 0;

	if (!buf || !big || !want)
		return 1;
	for (size_t i = 0; i < MAX + 64; i++)
		buf[i] = rnd();
	for (size_t i = 0; i < BIG; i++)
		big[i] = rnd();
	for (unsigned a = 0; a < 16; a++)
		for (size_t n = 0; n <= MAX; n++)
			want[a * (MAX + 1) + n] = ref(0, buf + a, n);
	uint32_t big_want = ref(0, big, BIG);
	uint32_t big_seed = ref(0x12345678u, big + 3, BIG - 3);

	printf("fastest here: %s\n", crc32c_impl());
	for (unsigned i = 0; (name = crc32c_impl_name(i)) != NULL; i++) {
		if (crc32c_use(name) < 0) {
			printf("%s: this CPU lacks it\n", name);
			continue;
		}
		tried++;
		CHECK(strcmp(crc32c_impl(), name) == 0);
		int bad = 0;
		for (unsigned a = 0; a < 16; a++)
			for (size_t n = 0; n <= MAX; n++)
				if (crc32c(0, buf + a, n) != want[a * (MAX + 1) + n] &&
				    bad++ < 5)
					fprintf(stderr, "%s: len %zu align %u wrong\n",
					    name, n, a);
		CHECK_EQ(bad, 0);
		/* Known values: the iSCSI check value and RFC 3720's. */
		CHECK_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
		unsigned char z[32] = { 0 }, f[32];
		memset(f, 0xff, sizeof(f));
		CHECK_EQ(crc32c(0, z, 32), 0x8A9136AAu);
		CHECK_EQ(crc32c(0, f, 32), 0x62A8AB43u);
		/* Large buffers, aligned and not, with a starting CRC. */
		CHECK_EQ(crc32c(0, big, BIG), big_want);
		CHECK_EQ(crc32c(0x12345678u, big + 3, BIG - 3), big_seed);
		/* Continued across calls at awkward split points. */
		uint32_t c = 0;
		size_t off = 0, step[] = { 1, 7, 255, 256, 257, 4093, 65536,
		    3 * 4096 + 5, 1 << 20 };
		for (unsigned s = 0; off < BIG; s++) {
			size_t n = step[s % (sizeof(step) / sizeof(step[0]))];
			if (n > BIG - off)
				n = BIG - off;
			c = crc32c(c, big + off, n);
			off += n;
		}
		CHECK_EQ(c, big_want);
		/* Every split of a short buffer, crossing the vector sizes. */
		int split_bad = 0;
		for (size_t n = 0; n <= 1100; n += 13)
			for (size_t k = 0; k <= n; k += 7)
				if (crc32c(crc32c(0, buf + 1, k), buf + 1 + k, n - k) !=
				    want[1 * (MAX + 1) + n])
					split_bad++;
		CHECK_EQ(split_bad, 0);
	}
	CHECK(tried >= 1);
	CHECK_EQ(crc32c_use("no-such"), -1);
	CHECK_EQ(crc32c_use(NULL), 0);
	free(buf);
	free(big);
	free(want);
	T_DONE();
}
