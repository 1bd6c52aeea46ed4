/* One pass over a block: CRC32C and digests per cache-resident piece. */
#include "common/crc32c.h"
#include "common/sum.h"

uint32_t
sum_block(uint32_t crc, struct digest *const *d, unsigned nd,
    const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		size_t n = len < SUM_PIECE ? len : SUM_PIECE;
		crc = crc32c(crc, p, n);
		for (unsigned i = 0; i < nd; i++)
			if (d[i])
				digest_update(d[i], p, n);
		p += n;
		len -= n;
	}
	return crc;
}
