/* CRC32C (Castagnoli), as used for every tape block. */
#ifndef ABS_CRC32C_H
#define ABS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC32C over buf; start with crc = 0. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
