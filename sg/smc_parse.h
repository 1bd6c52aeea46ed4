/*
 * Pure decoders of a SCSI medium changer's answers (SMC-3): READ ELEMENT
 * STATUS data and the mode pages 1Dh (element address assignment) and 1Fh
 * (device capabilities). No I/O: the SMC backend (sg/smc.c), the tests and
 * the fuzzer feed them bytes. A changer's answer is outside input: every
 * length field is checked against the bytes actually moved, a descriptor
 * that does not fit whole is not decoded, and nothing is read past len.
 */
#ifndef ABS_SMC_PARSE_H
#define ABS_SMC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg/tsg.h"

#define SMC_TAG_TEXT 33		/* a volume tag's 32 characters and a NUL */

/* One element descriptor as the changer reported it. */
struct smc_desc {
	uint8_t type;		/* SMC_ELEM_TRANSPORT .. SMC_ELEM_DATA_TRANSFER */
	uint16_t addr;
	uint8_t flags;		/* byte 2: SMC_ED_FULL, EXCEPT, ACCESS, IMPEXP */
	uint8_t asc, ascq;	/* why EXCEPT is set (bytes 4-5) */
	bool svalid;		/* source is the element the medium came from */
	uint16_t source;
	bool pvoltag, avoltag;	/* the page carried these tags */
	char ptag[SMC_TAG_TEXT];	/* primary tag (barcode), trimmed; "" */
	char atag[SMC_TAG_TEXT];
	bool has_ident;		/* an identification descriptor (DVCID) */
	uint8_t ident_codeset, ident_type;
	char ident[TSG_IDENT_LEN];	/* text, or hex for a binary code set */
	/*
	 * The answer ended inside this descriptor (the last one): only the
	 * fields wholly present are set. ident_cut: its identifier was cut
	 * (tgt always drops the last 8 bytes of its answer): not reported.
	 */
	bool partial, ident_cut;
};

/* What the answer said of itself, and what decoding it found. */
struct smc_res_info {
	uint16_t first_addr;	/* header: first element address reported */
	uint16_t avail;		/* header: elements available (not trusted) */
	uint32_t report_bytes;	/* header: bytes of report available */
	unsigned pages;		/* element status pages decoded */
	/*
	 * The answer ends before what its lengths claim (a short allocation
	 * length, a changer that fills less): more elements may follow.
	 */
	bool truncated;
	bool malformed;		/* a page header no changer sends: stopped */
	bool more;		/* descriptors past max were left undecoded */
};

/*
 * Decode a READ ELEMENT STATUS answer: len is what the transport moved
 * (never more than the buffer). dvcid: the CDB asked for identifiers (only
 * then are the bytes after the volume tags an identification descriptor).
 * Up to max descriptors go to out, *n says how many; the last may be
 * partial (at least its 12 fixed bytes there). 0, or -EBADMSG when len
 * cannot hold the 8-byte header.
 */
int smc_parse_element_status(const uint8_t *buf, size_t len, bool dvcid,
    struct smc_desc *out, size_t max, size_t *n, struct smc_res_info *info);

/*
 * The page with this code in a MODE SENSE answer (ten: MODE SENSE(10)
 * header, else (6)), past the header and block descriptors: 0 with *page at
 * its first byte (the page code) and *plen the bytes of it that are really
 * there, -ENOENT when absent, -EBADMSG when the header lies.
 */
int smc_mode_page(const uint8_t *buf, size_t len, bool ten, uint8_t code,
    const uint8_t **page, size_t *plen);

/* Element address assignment (1Dh): first address and count per type. */
struct smc_addr_assign {
	uint16_t first[5], count[5];	/* indexed by SMC_ELEM_* (1..4) */
};
int smc_parse_page_1d(const uint8_t *page, size_t plen,
    struct smc_addr_assign *a);

/* Device capabilities (1Fh). */
struct smc_caps {
	uint8_t store;		/* bits (type - 1): that type can store media */
	uint8_t move[5];	/* move[from]: bits (to - 1) allowed */
	uint8_t exchange[5];
};
int smc_parse_page_1f(const uint8_t *page, size_t plen, struct smc_caps *c);
/* Whether the changer says it can move from one type of element to another. */
bool smc_can_move(const struct smc_caps *c, unsigned from, unsigned to);

#endif
