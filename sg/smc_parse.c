/*
 * Decoders of a medium changer's answers (see sg/smc_parse.h). Changers
 * disagree with SMC-3 in small ways (tgt reports the whole list whatever
 * count was asked and cuts it at the allocation length, sends a 32-byte
 * volume tag where 36 are due without DVCID, ends a tag with a NUL), so
 * every field is read only where the bytes are, and the smaller of a
 * claimed length and the bytes present is the one used.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sg/smc.h"
#include "sg/smc_parse.h"

#define ES_HDR 8		/* element status data header */
#define PAGE_HDR 8		/* element status page header */
#define DESC_MIN 12		/* an element descriptor without tags */
#define TAG_FIELD 36		/* a volume tag field: 32 + reserved + seq */
#define TAG_CHARS 32

static unsigned
be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/*
 * n bytes of SCSI text into dst (size dstlen): up to the first NUL, without
 * the spaces around it, anything not printable ASCII as '?'.
 */
static void
text_of(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
	size_t a = 0, b, k = 0;

	for (b = 0; b < n && src[b]; b++)
		;
	while (a < b && src[a] == ' ')
		a++;
	while (b > a && src[b - 1] == ' ')
		b--;
	for (; a < b && k + 1 < dstlen; a++)
		dst[k++] = src[a] >= 0x20 && src[a] < 0x7f ? (char)src[a] : '?';
	dst[k] = '\0';
}

/* n bytes as upper-case hex into dst (size dstlen), cut to fit. */
static void
hex_of(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 3 <= dstlen; i++, k += 2)
		snprintf(dst + k, 3, "%02X", src[i]);
	dst[k] = '\0';
}

/*
 * One descriptor of dlen bytes at p, of which avail (at least DESC_MIN) are
 * there, in a page with flags pflags.
 */
static void
desc_of(const uint8_t *p, size_t dlen, size_t avail, uint8_t type,
    uint8_t pflags, bool dvcid, struct smc_desc *d)
{
	size_t q = DESC_MIN;

	memset(d, 0, sizeof(*d));
	d->partial = avail < dlen;
	d->type = type;
	d->addr = (uint16_t)be16(p);
	d->flags = p[2];
	d->asc = p[4];
	d->ascq = p[5];
	d->svalid = p[9] & SMC_ED_SVALID;
	d->source = d->svalid ? (uint16_t)be16(p + 10) : 0;
	/* A tag the descriptor has no room for was never sent. */
	if (pflags & 0x80) {
		if (q + TAG_CHARS <= avail) {
			d->pvoltag = true;
			text_of(d->ptag, sizeof(d->ptag), p + q, TAG_CHARS);
		}
		q += TAG_FIELD;
	}
	if (pflags & 0x40) {
		if (q + TAG_CHARS <= avail) {
			d->avoltag = true;
			text_of(d->atag, sizeof(d->atag), p + q, TAG_CHARS);
		}
		q += TAG_FIELD;
	}
	if (!dvcid || q + 4 > dlen)
		return;
	if (q + 4 > avail) {
		d->ident_cut = true;
		return;
	}
	size_t ilen = p[q + 3];
	if (ilen > dlen - q - 4)
		ilen = dlen - q - 4;	/* the length lies: what is there */
	if (!ilen)
		return;
	if (q + 4 + ilen > avail) {
		d->ident_cut = true;	/* half an identifier is none */
		return;
	}
	d->ident_codeset = p[q] & 0x0f;
	d->ident_type = p[q + 1] & 0x0f;
	if (d->ident_codeset == 2 || d->ident_codeset == 3)
		text_of(d->ident, sizeof(d->ident), p + q + 4, ilen);
	else
		hex_of(d->ident, sizeof(d->ident), p + q + 4, ilen);
	d->has_ident = d->ident[0] != '\0';
}

int
smc_parse_element_status(const uint8_t *buf, size_t len, bool dvcid,
    struct smc_desc *out, size_t max, size_t *n, struct smc_res_info *info)
{
	size_t end, off;

	*n = 0;
	memset(info, 0, sizeof(*info));
	if (!buf || len < ES_HDR)
		return -EBADMSG;
	info->first_addr = (uint16_t)be16(buf);
	info->avail = (uint16_t)be16(buf + 2);
	info->report_bytes = be24(buf + 5);
	end = ES_HDR + (size_t)info->report_bytes;
	if (end > len) {
		end = len;
		info->truncated = true;
	}
	for (off = ES_HDR; off + PAGE_HDR <= end;) {
		const uint8_t *pg = buf + off;
		uint8_t type = pg[0] & 0x0f;
		size_t dlen = be16(pg + 2), pbytes = be24(pg + 5);
		size_t d = off + PAGE_HDR, pend = d + pbytes;

		if (type < SMC_ELEM_TRANSPORT || type > SMC_ELEM_DATA_TRANSFER ||
		    (pbytes && dlen < DESC_MIN)) {
			info->malformed = true;
			break;
		}
		info->pages++;
		if (pend > end) {
			pend = end;
			info->truncated = true;
		}
		for (; pbytes && d + dlen <= pend; d += dlen) {
			if (*n >= max) {
				info->more = true;
				return 0;
			}
			desc_of(buf + d, dlen, dlen, type, pg[1], dvcid,
			    &out[(*n)++]);
		}
		if (d < pend) {
			info->truncated = true;	/* a descriptor cut short */
			if (pbytes && pend - d >= DESC_MIN && pend == end) {
				if (*n >= max) {
					info->more = true;
					return 0;
				}
				desc_of(buf + d, dlen, pend - d, type, pg[1], dvcid,
				    &out[(*n)++]);
			}
		}
		off += PAGE_HDR + pbytes;
	}
	if (off < end && off + PAGE_HDR > end)
		info->truncated = true;	/* a page header cut short */
	return 0;
}

int
smc_mode_page(const uint8_t *buf, size_t len, bool ten, uint8_t code,
    const uint8_t **page, size_t *plen)
{
	size_t hdr = ten ? 8 : 4, end, off;

	*page = NULL;
	*plen = 0;
	if (!buf || len < hdr)
		return -EBADMSG;
	/* The mode data length counts the bytes after itself. */
	end = ten ? 2 + (size_t)be16(buf) : 1 + (size_t)buf[0];
	if (end > len)
		end = len;
	off = hdr + (ten ? be16(buf + 6) : buf[3]);	/* past block descriptors */
	while (off + 2 <= end) {
		const uint8_t *p = buf + off;
		bool spf = p[0] & 0x40;
		size_t h = spf ? 4 : 2, n;

		if (off + h > end)
			break;
		n = h + (spf ? be16(p + 2) : p[1]);
		if ((p[0] & 0x3f) == code && !spf) {
			*page = p;
			*plen = off + n <= end ? n : end - off;
			return 0;
		}
		off += n;
	}
	return -ENOENT;
}

int
smc_parse_page_1d(const uint8_t *page, size_t plen, struct smc_addr_assign *a)
{
	memset(a, 0, sizeof(*a));
	if (!page || plen < 18 || (page[0] & 0x3f) != SMC_MP_ELEMENT_ADDRESS)
		return -EBADMSG;
	for (unsigned t = SMC_ELEM_TRANSPORT; t <= SMC_ELEM_DATA_TRANSFER; t++) {
		/* Transport, storage, import/export, data transfer in order. */
		const uint8_t *p = page + 2 + 4 * (t - 1);
		a->first[t] = (uint16_t)be16(p);
		a->count[t] = (uint16_t)be16(p + 2);
	}
	return 0;
}

int
smc_parse_page_1f(const uint8_t *page, size_t plen, struct smc_caps *c)
{
	memset(c, 0, sizeof(*c));
	if (!page || plen < 8 || (page[0] & 0x3f) != SMC_MP_DEVICE_CAPS)
		return -EBADMSG;
	c->store = page[2] & 0x0f;
	for (unsigned t = SMC_ELEM_TRANSPORT; t <= SMC_ELEM_DATA_TRANSFER; t++) {
		c->move[t] = page[3 + t] & 0x0f;
		if (plen >= 16)
			c->exchange[t] = page[11 + t] & 0x0f;
	}
	return 0;
}

bool
smc_can_move(const struct smc_caps *c, unsigned from, unsigned to)
{
	if (from < SMC_ELEM_TRANSPORT || from > SMC_ELEM_DATA_TRANSFER ||
	    to < SMC_ELEM_TRANSPORT || to > SMC_ELEM_DATA_TRANSFER)
		return false;
	return c->move[from] & (1u << (to - 1));
}
