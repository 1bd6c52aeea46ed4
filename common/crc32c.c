/* CRC32C with the SSE4.2 instruction when the CPU has it, a table otherwise. */
#include <string.h>

#include "common/crc32c.h"

static uint32_t crc_table[8][256];
static int crc_hw = -1;

/* Build the slicing-by-8 tables for the software path. */
static void
crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
			    crc_table[0][crc_table[t - 1][i] & 0xff];
}

/* Software CRC32C, slicing by 8. */
static uint32_t
crc_sw(uint32_t c, const unsigned char *p, size_t len)
{
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		v ^= c;
		c = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
		    crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
		    crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
		    crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return c;
}

#if defined(__x86_64__)
/* Hardware CRC32C, three interleaved streams would be faster; one is plenty. */
__attribute__((target("sse4.2")))
static uint32_t
crc_hw_x86(uint32_t c, const unsigned char *p, size_t len)
{
	uint64_t c64 = c;

	while (len && ((uintptr_t)p & 7)) {
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
	return (uint32_t)c64;
}
#endif

uint32_t
crc32c(uint32_t crc, const void *buf, size_t len)
{
	uint32_t c = ~crc;

	if (crc_hw < 0) {
#if defined(__x86_64__)
		__builtin_cpu_init();
		crc_hw = __builtin_cpu_supports("sse4.2");
#else
		crc_hw = 0;
#endif
		if (!crc_hw)
			crc_table_init();
	}
#if defined(__x86_64__)
	if (crc_hw)
		return ~crc_hw_x86(c, buf, len);
#endif
	return ~crc_sw(c, buf, len);
}
