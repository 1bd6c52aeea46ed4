/*
 * find: which versions of the paths matching a pattern are in which dumps
 * of an entity, from the dumps' file indexes (the dump log's copies, or
 * read from tape by range reads).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/dumplog.h"
#include "catalog/fileindex.h"
#include "common/log.h"
#include "engine/chain.h"
#include "engine/engine.h"
#include "engine/scan.h"
#include "engine/tape.h"

static const char *
type_name(uint8_t t)
{
	switch (t) {
	case FIDX_REG: return "file";
	case FIDX_DIR: return "dir";
	case FIDX_LNK: return "symlink";
	case FIDX_CHR: return "chardev";
	case FIDX_BLK: return "blockdev";
	case FIDX_FIFO: return "fifo";
	case FIDX_SOCK: return "socket";
	}
	return "?";
}

/* The stored span a restore of e alone reads: plain = raw; zstd: from
   the frame holding its start to the frame after its end. */
void
eng_find_span(const struct fidx *x, const struct cat_dl_rec *d,
    const struct fidx_entry *e, uint64_t *s, uint64_t *end)
{
	const struct fidx_frame *f = x->nframes ?
	    fidx_frame_at(x, e->raw_offset) : NULL;

	if (!f && strcmp(d->compress, "zstd") == 0) {
		/* No frame table: from the stream's start. */
		*s = 0;
		*end = d->index_stored ? d->index_stored : d->bytes;
		return;
	}
	if (!f) {
		*s = e->raw_offset;
		*end = e->raw_end;
		return;
	}
	*s = f->stored;
	*end = d->index_stored ? d->index_stored : d->bytes;
	for (uint64_t i = 0; i < x->nframes; i++)
		if (x->f[i].raw >= e->raw_end) {
			*end = x->f[i].stored;
			break;
		}
}

/* The length of the valid UTF-8 sequence at p (not a C1 control), or 0. */
static size_t
utf8_len(const unsigned char *p)
{
	uint32_t c;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong, surrogates, past U+10FFFF, and C1 controls (U+0080 to
	   U+009F: some terminals take U+009B as an escape). */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff) || c < 0xa0)
		return 0;
	return n;
}

char *
eng_find_escape(const char *path)
{
	const unsigned char *p = (const unsigned char *)path;
	size_t len = strlen(path);
	char *out = malloc(4 * len + 1), *o = out;

	if (!out)
		return NULL;
	while (*p) {
		size_t n = utf8_len(p);
		if (*p == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			p++;
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			*o++ = '\\';
			*o++ = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
			p++;
		} else if (*p < 0x20 || *p == 0x7f || n == 0) {
			o += sprintf(o, "\\%03o", *p);
			p++;
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	return out;
}

/* One match: a JSON line or a table row. */
static void
print_match(FILE *out, bool json, const struct cat_dl_rec *d,
    const struct fidx *x, const struct fidx_entry *e)
{
	bool in = e->flags & FIDX_IN_STREAM;
	char mt[32];
	time_t t = (time_t)e->mtime;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(mt, sizeof(mt), "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(mt, sizeof(mt), "%" PRId64, e->mtime);
	if (!json) {
		/* Names escaped: a newline, a terminal's escape sequence or
		   bytes that are not UTF-8 in a file name must not reach the
		   operator's terminal as they are (hostile13 H15). */
		char *esc = eng_find_escape(e->path);
		fprintf(out, "%-40s %s %s level %d %-8s %12" PRIu64 " %s %s\n",
		    esc ? esc : "?", d->dump_id, d->date, d->level,
		    type_name(e->type), e->size, mt, in ? "in stream" :
		    "unchanged");
		free(esc);
		return;
	}
	json_t *path = json_string(e->path);
	char *b64 = NULL;
	if (!path) {
		/* Not UTF-8: '?' for each byte above 0x7f, and the exact bytes
		   in path_b64. */
		char *copy = strdup(e->path);
		for (char *q = copy; q && *q; q++)
			if ((unsigned char)*q > 0x7f)
				*q = '?';
		path = json_string(copy ? copy : "?");
		free(copy);
		b64 = eng_base64((const uint8_t *)e->path, strlen(e->path));
	}
	json_t *j = json_pack("{s:o,s:s,s:s,s:i,s:s,s:I,s:I,s:s,s:b,s:I,s:I,"
	    "s:b,s:i,s:i,s:i}",
	    "path", path, "dump", d->dump_id, "date", d->date,
	    "level", d->level, "type", type_name(e->type),
	    "size", (json_int_t)e->size, "mtime", (json_int_t)e->mtime,
	    "mtime_utc", mt, "in_stream", in, "ino", (json_int_t)e->ino,
	    "nlink", (json_int_t)e->nlink,
	    "has_data", (e->flags & FIDX_HAS_DATA) != 0,
	    "mode", (int)e->mode, "uid", (int)e->uid, "gid", (int)e->gid);
	if (j && b64)
		json_object_set_new(j, "path_b64", json_string(b64));
	free(b64);
	if (j && in) {
		uint64_t s, end;
		eng_find_span(x, d, e, &s, &end);
		json_object_set_new(j, "raw_offset",
		    json_integer((json_int_t)e->raw_offset));
		json_object_set_new(j, "raw_end", json_integer((json_int_t)e->raw_end));
		json_object_set_new(j, "stored_start", json_integer((json_int_t)s));
		json_object_set_new(j, "stored_end", json_integer((json_int_t)end));
	}
	if (j && json_dumpf(j, out, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
		fputc('\n', out);
	json_decref(j);
}

int
eng_find(struct eng_chain_io *io, const char *entity, const char *pattern,
    bool json, FILE *out, uint64_t *matches)
{
	struct eng_restore_result res;
	struct cat_dl_rec *v = NULL;
	size_t n = 0, cap = 0;
	FILE *fp = fopen(io->o->log, "r");
	char *line = NULL;
	size_t lcap = 0;
	int rc = 0, indexed = 0, lk;
	unsigned long lineno = 0;

	*matches = 0;
	memset(&res, 0, sizeof(res));
	if (!fp) {
		eng_err(io->err, "dump log %s: %s", io->o->log, strerror(errno));
		return -errno;
	}
	/* The entity's complete dumps at or before the date, oldest first. */
	while (getline(&line, &lcap, fp) > 0) {
		struct cat_dl_rec r;
		if ((lk = eng_chain_dump_line(line, ++lineno, io->o->log, &r,
		    io->err)) < 0) {
			rc = lk;
			break;
		}
		if (lk == 0 || strcmp(r.entity, entity) != 0 ||
		    strcmp(r.status, "complete") != 0 ||
		    !eng_chain_date_ok(r.date, io->o->date))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			struct cat_dl_rec *nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		/* Insertion by date: logs are in time order, mostly. */
		size_t i = n++;
		while (i > 0 && strcmp(v[i - 1].date, r.date) > 0) {
			v[i] = v[i - 1];
			i--;
		}
		v[i] = r;
	}
	free(line);
	fclose(fp);
	if (rc == 0 && !n) {
		eng_err(io->err, "no complete dump of %s%s%s in %s", entity,
		    io->o->date ? " at or before " : "",
		    io->o->date ? io->o->date : "", io->o->log);
		rc = -ENOENT;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct fidx x;
		if (!v[i].index_bytes)
			continue;	/* no index: written before them, or no dir: */
		if ((rc = eng_chain_index(io, &v[i], &x, &res)) < 0)
			break;
		indexed++;
		for (uint64_t k = 0; k < x.nentries; k++)
			if (fidx_match(pattern, x.e[k].path)) {
				print_match(out, json, &v[i], &x, &x.e[k]);
				(*matches)++;
			}
		fidx_free(&x);
	}
	if (rc == 0 && !indexed) {
		eng_err(io->err, "no dump of %s in %s has a file index", entity,
		    io->o->log);
		rc = -ENOENT;
	}
	free(v);
	return rc;
}
