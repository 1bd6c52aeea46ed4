/* SHA-256 through OpenSSL's EVP interface. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "common/digest.h"
#include "common/util.h"

struct digest {
	EVP_MD_CTX *ctx;
};

struct digest *
digest_new(void)
{
	struct digest *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx || !EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL)) {
		digest_free(d);
		return NULL;
	}
	return d;
}

void
digest_free(struct digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

void
digest_update(struct digest *d, const void *buf, size_t len)
{
	EVP_DigestUpdate(d->ctx, buf, len);
}

void
digest_final_hex(struct digest *d, char out[DIGEST_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(d->ctx, md, &n);
	util_hex(md, n, out);
}

void
digest_reset(struct digest *d)
{
	EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL);
}
