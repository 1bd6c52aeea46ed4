/*
 * libFuzzer: arbitrary CDB sequences against the vtape target. The SSC
 * emulation reads CDBs and parameter data from its initiator, so it must
 * never crash whatever it is sent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg/tsg.h"
#include "sg/vtape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cart[256];

/* Remove the scratch cartridge without a shell. */
static void
remove_cart(void)
{
	char path[320];

	for (int n = 0;; n++) {
		snprintf(path, sizeof(path), "%s/file%06d", cart, n);
		int gone = unlink(path);
		snprintf(path, sizeof(path), "%s/file%06d.idx", cart, n);
		if (unlink(path) < 0 && gone < 0)
			break;
	}
	snprintf(path, sizeof(path), "%s/cart.conf", cart);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.lock", cart);
	unlink(path);
	rmdir(cart);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 17];
	struct tsg_dev *d;
	struct tsg_status st;
	char uri[300];

	if (!cart[0]) {
		snprintf(cart, sizeof(cart), "%s/abs-fuzz-vtape-%d",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
		    (int)getpid());
		atexit(remove_cart);
	}
	remove_cart();
	if (vtape_cart_create(cart, "F00001", 1 << 20, 1 << 18) < 0)
		return 0;
	snprintf(uri, sizeof(uri), "vtape:%s", cart);
	if (tsg_open(uri, &d) < 0)
		return 0;
	/* Each record: cdb length (6/10/16), dir, data length, cdb bytes. */
	while (size >= 4) {
		/* The three CDB sizes SSC uses: READ(6), LOCATE(10), LOCATE(16). */
		int cdblen = data[0] % 3 == 0 ? SSC_READ6_CMDLEN :
		    data[0] % 3 == 1 ? SSC_LOCATE10_CMDLEN : SSC_LOCATE16_CMDLEN;
		enum tsg_dir dir = (enum tsg_dir)(data[1] % 3);
		size_t len = (size_t)data[2] << 8 | data[3];
		data += 4;
		size -= 4;
		if (size < (size_t)cdblen)
			break;
		uint8_t cdb[16];
		memcpy(cdb, data, (size_t)cdblen);
		data += cdblen;
		size -= (size_t)cdblen;
		if (dir == TSG_DIR_TO_DEV) {
			size_t n = len < size ? len : size;
			memset(buf, 0xa5, len);
			memcpy(buf, data, n);
			data += n;
			size -= n;
		}
		tsg_exec(d, cdb, cdblen, dir, dir != TSG_DIR_NONE ? buf : NULL,
		    dir != TSG_DIR_NONE ? len : 0, &st);
	}
	tsg_free(d);
	return 0;
}
