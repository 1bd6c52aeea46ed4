/*
 * libFuzzer: the parsers of what a drive sends back (INQUIRY, MODE SENSE,
 * READ POSITION, READ BLOCK LIMITS, LOG SENSE, READ ATTRIBUTE). A fake
 * transport answers every command with the fuzzer's bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sg/tsg.h"
#include "sg/tsg_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *fz_data;
static size_t fz_size;

/* Answer with the fuzz input as parameter data, sometimes short. */
static int
fz_exec(struct tsg_dev *d, const uint8_t *cdb, int cdblen, enum tsg_dir dir,
    void *buf, size_t len, size_t *resid, int *scsi_status, uint8_t *sense,
    int *sense_len)
{
	(void)d;
	(void)cdb;
	(void)cdblen;
	(void)sense;
	*sense_len = 0;
	*scsi_status = 0;
	*resid = 0;
	if (dir == TSG_DIR_FROM_DEV && len) {
		size_t n = fz_size < len ? fz_size : len;
		memset(buf, 0, len);
		memcpy(buf, fz_data, n);
		*resid = len - n;
	}
	return 0;
}

static const struct tsg_transport fz_transport = {
	.scheme = "fuzz",
	.exec = fz_exec,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsg_dev d = { .tr = &fz_transport, .uri = (char *)"fuzz:" };
	struct tsg_status st;
	struct tsg_inquiry inq;
	struct tsg_mode m;
	struct tsg_pos pos;
	struct tsg_counters c;
	uint32_t a, b;
	uint64_t ta;
	char text[64];
	bool wp;

	fz_data = data;
	fz_size = size;
	tsg_inquiry(&d, &inq, &st);
	tsg_mode(&d, &m, &st);
	tsg_write_protected(&d, &wp, &st);
	tsg_read_position(&d, &pos, &st);
	tsg_buffer_fill(&d, &a, &b, &st);
	tsg_read_block_limits(&d, &a, &b, &st);
	tsg_error_counters(&d, 2, &c, &st);
	tsg_tapealert(&d, &ta, &st);
	tsg_read_attribute(&d, 0x0401, text, sizeof(text), &st);
	return 0;
}
