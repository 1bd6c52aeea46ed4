/*
 * Base64 (RFC 4648, the standard alphabet with '=' padding), for bytes
 * that travel inside JSON: a file index uploaded to abs-ctld in chunks,
 * `abs-engine scan --json`. The decoder trusts nothing: a wrong length,
 * a byte outside the alphabet, padding anywhere but the end or bits left
 * over in the last character are refused.
 */
#ifndef ABS_BASE64_H
#define ABS_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters for n bytes (without the NUL), and bytes at most for n chars. */
#define B64_ENCLEN(n) ((((n) + 2) / 3) * 4)
#define B64_DECLEN(n) (((n) / 4) * 3)

/* Encode n bytes into out (B64_ENCLEN(n) + 1 bytes, NUL-terminated):
   the characters written. */
size_t b64_encode(const uint8_t *in, size_t n, char *out);
/* Decode n characters into out (B64_DECLEN(n) bytes): 0 and *outlen, or
   -EINVAL for anything but canonical base64. */
int b64_decode(const char *in, size_t n, uint8_t *out, size_t *outlen);

#endif
