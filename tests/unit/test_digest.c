/*
 * Digests: known XXH3-128 and SHA-256 values (as xxh128sum and sha256sum
 * print them), and every XXH3 variant this CPU has, forced in turn,
 * against libxxhash's one-shot hash over many lengths and splits; a
 * copied state goes on as the original would.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "common/digest.h"
#include "common/xxh3.h"
#include "t.h"

static void
hex_of(enum digest_alg alg, const void *p, size_t n, size_t step,
    char out[DIGEST_HEX_LEN])
{
	struct digest *d = digest_new(alg);
	const unsigned char *b = p;

	for (size_t off = 0; off < n; off += step)
		digest_update(d, b + off, n - off < step ? n - off : step);
	digest_final_hex(d, out);
	digest_free(d);
}

/* libxxhash's one-shot XXH3-128 in canonical hex. */
static void
ref_hex(const void *p, size_t n, char out[33])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(p, n));
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", c.digest[i]);
}

int
main(void)
{
	enum { PAT = 1000003 };
	unsigned char *pat = malloc(PAT);
	char h[DIGEST_HEX_LEN], r[33];
	const char *name;

	if (!pat)
		return 1;
	for (size_t i = 0; i < PAT; i++)
		pat[i] = (unsigned char)(i * 31 + 7);
	printf("fastest here: %s\n", xxh3_impl());
	for (unsigned i = 0; (name = xxh3_impl_name(i)) != NULL; i++) {
		if (xxh3_use(name) < 0) {
			printf("%s: this CPU lacks it\n", name);
			continue;
		}
		CHECK(strcmp(xxh3_impl(), name) == 0);
		hex_of(DIGEST_XXH128, "", 0, 1, h);
		CHECK(strcmp(h, "99aa06d3014798d86001c324468d497f") == 0);
		hex_of(DIGEST_XXH128, "abc", 3, 3, h);
		CHECK(strcmp(h, "06b05ab6733a618578af5f94892f3950") == 0);
		hex_of(DIGEST_XXH128, pat, 240, 7, h);
		CHECK(strcmp(h, "de57aab31e77a2ff93e173833f75ab66") == 0);
		size_t steps[] = { 1, 63, 64, 65, 255, 1024, 65536, 1 << 20 };
		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			hex_of(DIGEST_XXH128, pat, PAT, steps[s], h);
			CHECK(strcmp(h, "a6ea16ee0fd324191f748a0eacf646fa") == 0);
		}
		/* Lengths across the short, medium and streaming forms. */
		int bad = 0;
		for (size_t n = 0; n <= 4200; n += (n < 300 ? 1 : 37)) {
			ref_hex(pat + 5, n, r);
			hex_of(DIGEST_XXH128, pat + 5, n, n > 97 ? 97 : n + 1, h);
			if (strcmp(h, r) != 0 && bad++ < 5)
				fprintf(stderr, "%s: len %zu: %s, want %s\n", name,
				    n, h, r);
		}
		CHECK_EQ(bad, 0);
		/* A copy taken mid-stream finishes as the original. */
		struct digest *a = digest_new(DIGEST_XXH128),
		    *b = digest_new(DIGEST_XXH128);
		digest_update(a, pat, 300001);
		CHECK_EQ(digest_copy(b, a), 0);
		digest_update(a, pat + 300001, PAT - 300001);
		digest_update(b, pat + 300001, PAT - 300001);
		digest_final_hex(a, h);
		CHECK(strcmp(h, "a6ea16ee0fd324191f748a0eacf646fa") == 0);
		digest_final_hex(b, h);
		CHECK(strcmp(h, "a6ea16ee0fd324191f748a0eacf646fa") == 0);
		digest_free(a);
		digest_free(b);
	}
	CHECK_EQ(xxh3_use("no-such"), -1);
	CHECK_EQ(xxh3_use(NULL), 0);

	hex_of(DIGEST_SHA256, "", 0, 1, h);
	CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	hex_of(DIGEST_SHA256, "abc", 3, 1, h);
	CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	hex_of(DIGEST_SHA256, pat, PAT, 65536, h);
	CHECK(strcmp(h, "98a99a78c43949f17251c669c6e3ff37064482fdc65e85ef1f21b70c2e48a81b") == 0);
	struct digest *a = digest_new(DIGEST_SHA256), *b = digest_new(DIGEST_SHA256);
	digest_update(a, pat, 777);
	CHECK_EQ(digest_copy(b, a), 0);
	digest_update(b, pat + 777, PAT - 777);
	digest_final_hex(b, h);
	CHECK(strcmp(h, "98a99a78c43949f17251c669c6e3ff37064482fdc65e85ef1f21b70c2e48a81b") == 0);
	struct digest *x = digest_new(DIGEST_XXH128);
	CHECK_EQ(digest_copy(x, a), -1);
	digest_free(a);
	digest_free(b);
	digest_free(x);
	CHECK_EQ(digest_alg_from_name("xxh128"), DIGEST_XXH128);
	CHECK_EQ(digest_alg_from_name("sha256"), DIGEST_SHA256);
	CHECK_EQ(digest_alg_from_name("md5"), -1);
	free(pat);
	T_DONE();
}
