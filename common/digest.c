/*
 * Digests: XXH3-128 (xxhash.h, vector unit chosen at run time: xxh3.c)
 * and SHA-256 (OpenSSL EVP).
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/util.h"
#include "common/xxh3.h"

struct digest {
	enum digest_alg alg;
	EVP_MD_CTX *ctx;
	struct xxh3 *xx;
};

int
digest_alg_from_name(const char *name)
{
	if (strcmp(name, "xxh128") == 0)
		return DIGEST_XXH128;
	if (strcmp(name, "sha256") == 0)
		return DIGEST_SHA256;
	return -1;
}

const char *
digest_alg_name(enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? "sha256" : "xxh128";
}

struct digest *
digest_new(enum digest_alg alg)
{
	struct digest *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->alg = alg;
	if (alg == DIGEST_SHA256) {
		d->ctx = EVP_MD_CTX_new();
		if (!d->ctx || !EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL))
			goto fail;
	} else {
		if (!(d->xx = xxh3_new()))
			goto fail;
	}
	return d;
fail:
	digest_free(d);
	return NULL;
}

void
digest_free(struct digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	xxh3_free(d->xx);
	free(d);
}

void
digest_update(struct digest *d, const void *buf, size_t len)
{
	if (d->alg == DIGEST_SHA256)
		EVP_DigestUpdate(d->ctx, buf, len);
	else
		xxh3_update(d->xx, buf, len);
}

int
digest_copy(struct digest *dst, const struct digest *src)
{
	if (dst->alg != src->alg)
		return -1;
	if (dst->alg == DIGEST_SHA256)
		return EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) ? 0 : -1;
	xxh3_copy(dst->xx, src->xx);
	return 0;
}

void
digest_final_hex(struct digest *d, char out[DIGEST_HEX_LEN])
{
	if (d->alg == DIGEST_SHA256) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		EVP_DigestFinal_ex(d->ctx, md, &n);
		util_hex(md, n, out);
	} else {
		/* The canonical (big-endian) form, as xxh128sum prints it. */
		unsigned char c[16];
		xxh3_digest(d->xx, c);
		util_hex(c, sizeof(c), out);
	}
}
