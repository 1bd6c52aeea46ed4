/* SHA-256 digests of parts and streams (OpenSSL's, which uses SHA-NI). */
#ifndef ABS_DIGEST_H
#define ABS_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN 65

struct digest;

struct digest *digest_new(void);
void digest_free(struct digest *d);
void digest_update(struct digest *d, const void *buf, size_t len);
/* Finish into 64 hex digits plus NUL; the digest may be reused after reset. */
void digest_final_hex(struct digest *d, char out[DIGEST_HEX_LEN]);
void digest_reset(struct digest *d);

#endif
