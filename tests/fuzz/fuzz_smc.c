/*
 * libFuzzer: a medium changer's answers (sg/smc_parse.c). The first byte
 * picks what the rest is read as: bit 0 DVCID asked, bit 1 a MODE SENSE(10)
 * answer rather than (6); the rest goes to every decoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sg/smc.h"
#include "sg/smc_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smc_desc d[64];
	struct smc_res_info ri;
	struct smc_addr_assign aa;
	struct smc_caps caps;
	const uint8_t *pg;
	size_t n, plen;

	if (size < 1)
		return 0;
	bool dvcid = data[0] & 1, ten = data[0] & 2;
	data++;
	size--;
	if (smc_parse_element_status(data, size, dvcid, d, 64, &n, &ri) == 0) {
		for (size_t i = 0; i < n; i++) {
			/* Text fields end inside their arrays. */
			if (strnlen(d[i].ptag, sizeof(d[i].ptag)) >= sizeof(d[i].ptag) ||
			    strnlen(d[i].atag, sizeof(d[i].atag)) >= sizeof(d[i].atag) ||
			    strnlen(d[i].ident, sizeof(d[i].ident)) >=
			    sizeof(d[i].ident))
				__builtin_trap();
		}
	}
	if (smc_mode_page(data, size, ten, SMC_MP_ELEMENT_ADDRESS, &pg,
	    &plen) == 0) {
		if (pg < data || pg + plen > data + size)
			__builtin_trap();
		smc_parse_page_1d(pg, plen, &aa);
	}
	if (smc_mode_page(data, size, ten, SMC_MP_DEVICE_CAPS, &pg, &plen) == 0) {
		if (pg < data || pg + plen > data + size)
			__builtin_trap();
		if (smc_parse_page_1f(pg, plen, &caps) == 0)
			for (unsigned f = 0; f < 6; f++)
				for (unsigned t = 0; t < 6; t++)
					smc_can_move(&caps, f, t);
	}
	return 0;
}
