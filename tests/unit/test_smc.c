/*
 * The medium changer decoders (sg/smc_parse.c) on hand-built answers: tgt's
 * shapes (32-byte tags, DVCID after a 36-byte tag, NUL-ended text), SMC-3's
 * (both tags, binary identifiers), every truncation of them, and lengths
 * that lie. Each answer is copied into a buffer of exactly its length so
 * that a sanitizer build catches any read past it.
 */
#include <errno.h>
#include <stdlib.h>

#include "sg/smc.h"
#include "sg/smc_parse.h"
#include "t.h"

struct ans {
	uint8_t b[8192];
	size_t n;
	size_t page;		/* offset of the open page's header */
};

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void
ans_start(struct ans *a)
{
	memset(a, 0, sizeof(*a));
	a->n = 8;
}

/* Open a page of type with descriptors of dlen bytes and tag flags. */
static void
ans_page(struct ans *a, uint8_t type, uint8_t flags, unsigned dlen)
{
	a->page = a->n;
	a->b[a->n] = type;
	a->b[a->n + 1] = flags;
	put16(a->b + a->n + 2, dlen);
	a->n += 8;
}

/*
 * A descriptor: addr, byte-2 flags, source (0: none), tag (NULL: the page
 * has none; tag32: a 32-byte field as tgt sends it without DVCID), ident
 * (NULL: none).
 */
static void
ans_desc(struct ans *a, unsigned dlen, unsigned addr, uint8_t fl,
    unsigned source, const char *tag, bool tag32, const char *ident,
    uint8_t codeset)
{
	uint8_t *p = a->b + a->n;
	size_t q = 12;

	memset(p, 0, dlen);
	put16(p, addr);
	p[2] = fl;
	if (source) {
		p[9] = 0x80;
		put16(p + 10, source);
	}
	if (tag) {
		memset(p + q, ' ', 32);
		memcpy(p + q, tag, strlen(tag));
		q += tag32 ? 32 : 36;
	}
	if (ident) {
		size_t il = strlen(ident);
		p[q] = codeset;
		p[q + 1] = 1;
		p[q + 3] = (uint8_t)il;
		memcpy(p + q + 4, ident, il);
	}
	a->n += dlen;
	/* Keep the page's and the header's byte counts true. */
	put24(a->b + a->page + 5, (uint32_t)(a->n - a->page - 8));
	put24(a->b + 5, (uint32_t)(a->n - 8));
}

/* Parse a's first len bytes from a buffer of exactly that size. */
static int
parse(const struct ans *a, size_t len, bool dvcid, struct smc_desc *d,
    size_t max, size_t *n, struct smc_res_info *ri)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, a->b, len);
	rc = smc_parse_element_status(copy, len, dvcid, d, max, n, ri);
	free(copy);
	return rc;
}

/* tgt's storage page: VolTag without DVCID, 52-byte descriptors. */
static void
build_tgt_slots(struct ans *a)
{
	ans_start(a);
	ans_page(a, SMC_ELEM_STORAGE, 0x80, 52);
	ans_desc(a, 52, 3, SMC_ED_FULL, 0, "00000001", true, NULL, 0);
	ans_desc(a, 52, 4, 0, 0, "", true, NULL, 0);
	ans_desc(a, 52, 5, SMC_ED_FULL, 0, "00000003", true, NULL, 0);
	/* tgt's snprintf ends the tag with a NUL in its 32nd byte. */
	a->b[8 + 8 + 12 + 31] = 0;
}

static void
test_tgt_slots(void)
{
	struct smc_desc d[8];
	struct smc_res_info ri;
	struct ans a;
	size_t n;

	build_tgt_slots(&a);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(ri.pages, 1);
	CHECK(!ri.truncated && !ri.malformed && !ri.more);
	CHECK_EQ(d[0].type, SMC_ELEM_STORAGE);
	CHECK_EQ(d[0].addr, 3);
	CHECK(d[0].flags & SMC_ED_FULL);
	CHECK(d[0].pvoltag && !d[0].avoltag);
	CHECK(strcmp(d[0].ptag, "00000001") == 0);
	CHECK(!(d[1].flags & SMC_ED_FULL));
	CHECK(d[1].pvoltag && d[1].ptag[0] == '\0');
	CHECK(strcmp(d[2].ptag, "00000003") == 0);
	CHECK(!d[0].has_ident && !d[0].svalid);
}

/* tgt's drive page with VolTag and DVCID: 86 bytes, ident after 36. */
static void
build_tgt_drives(struct ans *a)
{
	ans_start(a);
	ans_page(a, SMC_ELEM_DATA_TRANSFER, 0x80, 86);
	ans_desc(a, 86, 1, SMC_ED_FULL, 4, "00000002", false,
	    "IET     VIRTUAL-TAPE    beaf11    ", 2);
	ans_desc(a, 86, 2, 0, 0, "", false,
	    "IET     VIRTUAL-TAPE    beaf12    ", 2);
}

static void
test_tgt_drives(void)
{
	struct smc_desc d[4];
	struct smc_res_info ri;
	struct ans a;
	size_t n;

	build_tgt_drives(&a);
	CHECK_EQ(parse(&a, a.n, true, d, 4, &n, &ri), 0);
	CHECK_EQ(n, 2);
	CHECK(d[0].svalid && d[0].source == 4);
	CHECK(strcmp(d[0].ptag, "00000002") == 0);
	CHECK(d[0].has_ident);
	CHECK(strcmp(d[0].ident, "IET     VIRTUAL-TAPE    beaf11") == 0);
	CHECK_EQ(d[0].ident_codeset, 2);
	CHECK(strcmp(d[1].ident, "IET     VIRTUAL-TAPE    beaf12") == 0);
	CHECK(!d[0].partial && !d[1].partial);
	/*
	 * tgt's answer always lacks its last 8 bytes (it counts the data
	 * without its header): the last drive comes with its tag, and no
	 * identifier rather than half of one.
	 */
	CHECK_EQ(parse(&a, a.n - 8, true, d, 4, &n, &ri), 0);
	CHECK_EQ(n, 2);
	CHECK(ri.truncated);
	CHECK(d[1].partial && d[1].ident_cut && !d[1].has_ident);
	CHECK(d[1].ident[0] == '\0');
	CHECK(d[1].pvoltag && d[1].addr == 2);
	/* Without DVCID asked, the same bytes are vendor-specific. */
	CHECK_EQ(parse(&a, a.n, false, d, 4, &n, &ri), 0);
	CHECK_EQ(n, 2);
	CHECK(!d[0].has_ident && d[0].ident[0] == '\0');
}

/* SMC-3 in full: both tags, a binary identifier, several pages. */
static void
test_smc3_pages(void)
{
	struct smc_desc d[8];
	struct smc_res_info ri;
	struct ans a;
	size_t n;

	ans_start(&a);
	ans_page(&a, SMC_ELEM_TRANSPORT, 0, 12);
	ans_desc(&a, 12, 0x10, 0, 0, NULL, false, NULL, 0);
	ans_page(&a, SMC_ELEM_IMPORT_EXPORT, 0xc0, 12 + 72);
	ans_desc(&a, 84, 0x20, SMC_ED_FULL | 0x02 | SMC_ED_ACCESS, 0,
	    "CLN001L1", false, NULL, 0);
	/* The alternate tag follows the primary's 36 bytes. */
	memcpy(a.b + a.n - 84 + 12 + 36, "ALT-TAG ", 8);
	memset(a.b + a.n - 84 + 12 + 36 + 8, ' ', 24);
	ans_page(&a, SMC_ELEM_DATA_TRANSFER, 0x80, 12 + 36 + 4 + 8);
	ans_desc(&a, 60, 0x100, SMC_ED_EXCEPT, 0, "", false,
	    "\x50\x01\x02\x03\xa0\xb0\xc0\xff", 1);
	a.b[a.n - 60 + 4] = 0x30;	/* ASC/ASCQ of the exception */
	a.b[a.n - 60 + 5] = 0x03;
	CHECK_EQ(parse(&a, a.n, true, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(ri.pages, 3);
	CHECK_EQ(d[0].type, SMC_ELEM_TRANSPORT);
	CHECK(!d[0].pvoltag);
	CHECK_EQ(d[1].type, SMC_ELEM_IMPORT_EXPORT);
	CHECK(d[1].pvoltag && d[1].avoltag);
	CHECK(strcmp(d[1].ptag, "CLN001L1") == 0);
	CHECK(strcmp(d[1].atag, "ALT-TAG") == 0);
	CHECK(d[1].flags & 0x02);
	CHECK_EQ(d[2].addr, 0x100);
	CHECK(d[2].flags & SMC_ED_EXCEPT);
	CHECK_EQ(d[2].asc, 0x30);
	CHECK_EQ(d[2].ascq, 0x03);
	CHECK(strcmp(d[2].ident, "50010203A0B0C0FF") == 0);
	/* A bound on descriptors: the rest left, said so. */
	CHECK_EQ(parse(&a, a.n, true, d, 2, &n, &ri), 0);
	CHECK_EQ(n, 2);
	CHECK(ri.more);
}

/* Every cut of an answer: no error, never more than the full answer. */
static void
test_truncations(void)
{
	struct smc_desc full[8], d[8];
	struct smc_res_info ri;
	struct ans a;
	size_t nfull, n, prev = 0;

	build_tgt_drives(&a);
	CHECK_EQ(parse(&a, a.n, true, full, 8, &nfull, &ri), 0);
	for (size_t len = 0; len <= a.n; len++) {
		int rc = parse(&a, len, true, d, 8, &n, &ri);
		if (len < 8) {
			CHECK_EQ(rc, -EBADMSG);
			CHECK_EQ(n, 0);
			continue;
		}
		CHECK_EQ(rc, 0);
		CHECK(n >= prev && n <= nfull);
		/*
		 * Whole descriptors as uncut; a partial last one has only what
		 * is wholly there, never a cut tag or identifier.
		 */
		for (size_t i = 0; i < n; i++) {
			if (!d[i].partial) {
				CHECK(memcmp(&d[i], &full[i], sizeof(d[i])) == 0);
				continue;
			}
			CHECK_EQ(i, n - 1);
			CHECK_EQ(d[i].addr, full[i].addr);
			CHECK_EQ(d[i].flags, full[i].flags);
			CHECK(!d[i].pvoltag || strcmp(d[i].ptag, full[i].ptag) == 0);
			CHECK(!d[i].has_ident ||
			    strcmp(d[i].ident, full[i].ident) == 0);
			CHECK(d[i].has_ident || d[i].ident[0] == '\0');
		}
		CHECK(len == a.n ? !ri.truncated : ri.truncated);
		prev = n;
	}
	CHECK_EQ(prev, 2);
}

/* Length fields that say more, or less, or nonsense. */
static void
test_lying_lengths(void)
{
	struct smc_desc d[8];
	struct smc_res_info ri;
	struct ans a;
	size_t n;

	/* The header claims 16 MB: the bytes present decide. */
	build_tgt_slots(&a);
	put24(a.b + 5, 0xffffff);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 3);
	CHECK(ri.truncated);
	/* The page claims more than there is (tgt past the allocation). */
	build_tgt_slots(&a);
	put24(a.b + 8 + 5, 52 * 100);
	put24(a.b + 5, 8 + 52 * 100);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 3);
	CHECK(ri.truncated);
	/* The header claims less: only that much is read. */
	build_tgt_slots(&a);
	put24(a.b + 5, 8 + 52);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 1);
	CHECK(ri.truncated);
	/* Descriptor length 0 with bytes, or below 12: not decoded. */
	build_tgt_slots(&a);
	put16(a.b + 8 + 2, 0);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 0);
	CHECK(ri.malformed);
	put16(a.b + 8 + 2, 5);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK(ri.malformed && n == 0);
	/* Longer than the answer: nothing whole to decode. */
	put16(a.b + 8 + 2, 60000);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 1);
	CHECK(ri.truncated && d[0].partial);
	/* A descriptor too short for the tag its page announces: no tag. */
	build_tgt_slots(&a);
	put16(a.b + 8 + 2, 26);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 6);
	CHECK(!d[0].pvoltag && d[0].ptag[0] == '\0');
	/* An element type no changer has. */
	build_tgt_slots(&a);
	a.b[8] = 0x07;
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK(n == 0 && ri.malformed);
	/* An identifier longer than its descriptor: cut to what is there. */
	build_tgt_drives(&a);
	a.b[8 + 8 + 48 + 3] = 255;
	CHECK_EQ(parse(&a, a.n, true, d, 8, &n, &ri), 0);
	CHECK_EQ(n, 2);
	CHECK(strncmp(d[0].ident, "IET     VIRTUAL-TAPE    beaf11", 29) == 0);
	/* Text that is not text: shown as '?', never copied raw. */
	build_tgt_slots(&a);
	a.b[8 + 8 + 12 + 1] = 0x07;
	a.b[8 + 8 + 12 + 2] = 0xe9;
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK(strncmp(d[0].ptag, "0??", 3) == 0);
	/* No elements at all. */
	ans_start(&a);
	CHECK_EQ(parse(&a, a.n, true, d, 8, &n, &ri), 0);
	CHECK(n == 0 && !ri.truncated && !ri.malformed);
	/* A page with no descriptors, then one with. */
	ans_start(&a);
	ans_page(&a, SMC_ELEM_IMPORT_EXPORT, 0x80, 0);
	ans_page(&a, SMC_ELEM_STORAGE, 0x80, 52);
	ans_desc(&a, 52, 9, SMC_ED_FULL, 0, "X1", true, NULL, 0);
	CHECK_EQ(parse(&a, a.n, false, d, 8, &n, &ri), 0);
	CHECK(n == 1 && d[0].addr == 9 && ri.pages == 2);
}

/* MODE SENSE(6) with a block descriptor, pages 1Dh and 1Fh. */
static size_t
build_mode(uint8_t *b, bool ten)
{
	size_t h = ten ? 8 : 4, n;

	memset(b, 0, 128);
	if (ten)
		put16(b + 6, 8);
	else
		b[3] = 8;
	n = h + 8;
	b[n++] = 0x02;		/* another page first */
	b[n++] = 2;
	n += 2;
	uint8_t *p = b + n;
	p[0] = SMC_MP_ELEMENT_ADDRESS;
	p[1] = 0x12;
	put16(p + 2, 2); put16(p + 4, 1);	/* robot 2, one */
	put16(p + 6, 3); put16(p + 8, 8);	/* slots 3.. 8 */
	put16(p + 10, 0); put16(p + 12, 0);	/* no portal */
	put16(p + 14, 0x100); put16(p + 16, 2);	/* drives 100h.. 2 */
	n += 20;
	p = b + n;
	p[0] = SMC_MP_DEVICE_CAPS;
	p[1] = 0x12;
	p[2] = 0x0e;
	p[4] = 0x0f; p[5] = 0x0a; p[6] = 0x0f; p[7] = 0x02;
	p[12] = 0x01;
	n += 20;
	if (ten)
		put16(b, (unsigned)(n - 2));
	else
		b[0] = (uint8_t)(n - 1);
	return n;
}

static void
test_mode_pages(void)
{
	struct smc_addr_assign aa;
	struct smc_caps caps;
	const uint8_t *pg;
	uint8_t b[128];
	size_t n, plen;

	for (int ten = 0; ten <= 1; ten++) {
		n = build_mode(b, ten);
		CHECK_EQ(smc_mode_page(b, n, ten, SMC_MP_ELEMENT_ADDRESS, &pg,
		    &plen), 0);
		CHECK_EQ(plen, 20);
		CHECK_EQ(smc_parse_page_1d(pg, plen, &aa), 0);
		CHECK_EQ(aa.first[SMC_ELEM_TRANSPORT], 2);
		CHECK_EQ(aa.count[SMC_ELEM_STORAGE], 8);
		CHECK_EQ(aa.first[SMC_ELEM_STORAGE], 3);
		CHECK_EQ(aa.count[SMC_ELEM_IMPORT_EXPORT], 0);
		CHECK_EQ(aa.first[SMC_ELEM_DATA_TRANSFER], 0x100);
		CHECK_EQ(aa.count[SMC_ELEM_DATA_TRANSFER], 2);
		CHECK_EQ(smc_mode_page(b, n, ten, SMC_MP_DEVICE_CAPS, &pg, &plen),
		    0);
		CHECK_EQ(smc_parse_page_1f(pg, plen, &caps), 0);
		CHECK(smc_can_move(&caps, SMC_ELEM_STORAGE, SMC_ELEM_DATA_TRANSFER));
		CHECK(!smc_can_move(&caps, SMC_ELEM_STORAGE, SMC_ELEM_TRANSPORT));
		CHECK(smc_can_move(&caps, SMC_ELEM_DATA_TRANSFER, SMC_ELEM_STORAGE));
		CHECK(!smc_can_move(&caps, SMC_ELEM_DATA_TRANSFER,
		    SMC_ELEM_DATA_TRANSFER));
		CHECK(!smc_can_move(&caps, 0, SMC_ELEM_STORAGE));
		CHECK(!smc_can_move(&caps, SMC_ELEM_STORAGE, 9));
		CHECK_EQ(caps.exchange[SMC_ELEM_TRANSPORT], 1);
		CHECK_EQ(smc_mode_page(b, n, ten, SMC_MP_TRANSPORT_GEOM, &pg,
		    &plen), -ENOENT);
		/* Every cut: found whole, or cut (then 1Dh refuses), or absent. */
		for (size_t len = 0; len <= n; len++) {
			uint8_t *c = malloc(len ? len : 1);
			memcpy(c, b, len);
			int rc = smc_mode_page(c, len, ten, SMC_MP_ELEMENT_ADDRESS,
			    &pg, &plen);
			if (rc == 0) {
				CHECK(pg + plen <= c + len);
				rc = smc_parse_page_1d(pg, plen, &aa);
				CHECK(rc == 0 || rc == -EBADMSG);
			} else {
				CHECK(rc == -ENOENT || rc == -EBADMSG);
			}
			free(c);
		}
	}
	/* A mode data length that claims more than there is. */
	n = build_mode(b, false);
	b[0] = 0xff;
	CHECK_EQ(smc_mode_page(b, n, false, SMC_MP_DEVICE_CAPS, &pg, &plen), 0);
	CHECK_EQ(plen, 20);
	/* A block descriptor length past the end: no page. */
	n = build_mode(b, false);
	b[3] = 200;
	CHECK_EQ(smc_mode_page(b, n, false, SMC_MP_ELEMENT_ADDRESS, &pg, &plen),
	    -ENOENT);
	/* A page too short for its fields, or of the wrong code. */
	CHECK_EQ(smc_parse_page_1d(b + 16, 10, &aa), -EBADMSG);
	CHECK_EQ(smc_parse_page_1f(b, 40, &caps), -EBADMSG);
	CHECK_EQ(smc_parse_page_1d(NULL, 0, &aa), -EBADMSG);
}

int
main(void)
{
	test_tgt_slots();
	test_tgt_drives();
	test_smc3_pages();
	test_truncations();
	test_lying_lengths();
	test_mode_pages();
	T_DONE();
}
