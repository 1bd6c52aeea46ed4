/* Dump log lines: format, parse, append. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/clock.h"
#include "common/crash.h"
#include "common/util.h"

static const char *type_names[] = { "part", "dump", "bad", "error",
	"full", "aborted" };

int
cat_dl_format(const struct cat_dl_rec *r, char *buf, size_t len)
{
	/* Every value escaped, so what was parsed formats back the same. */
	char e[17][3 * 1024 + 4];
	int n;

	util_kv_escape(r->dump_id, e[0], sizeof(e[0]));
	util_kv_escape(r->entity, e[1], sizeof(e[1]));
	util_kv_escape(r->server, e[2], sizeof(e[2]));
	util_kv_escape(r->partition, e[3], sizeof(e[3]));
	util_kv_escape(r->label, e[4], sizeof(e[4]));
	util_kv_escape(r->since[0] ? r->since : "-", e[5], sizeof(e[5]));
	util_kv_escape(r->compress[0] ? r->compress : "none", e[6], sizeof(e[6]));
	util_kv_escape(r->source_kind[0] ? r->source_kind : "-", e[7], sizeof(e[7]));
	util_kv_escape(r->status[0] ? r->status : "-", e[8], sizeof(e[8]));
	util_kv_escape(r->drive[0] ? r->drive : "-", e[9], sizeof(e[9]));
	util_kv_escape(r->site[0] ? r->site : "-", e[10], sizeof(e[10]));
	util_kv_escape(r->date[0] ? r->date : "-", e[11], sizeof(e[11]));
	util_kv_escape(r->tape_id[0] ? r->tape_id : "-", e[12], sizeof(e[12]));
	util_kv_escape(r->digest_alg[0] ? r->digest_alg : "-", e[13],
	    sizeof(e[13]));
	util_kv_escape(r->digest[0] ? r->digest : "-", e[14], sizeof(e[14]));
	util_kv_escape(r->raw_digest[0] ? r->raw_digest : "-", e[15],
	    sizeof(e[15]));
	util_kv_escape(r->written[0] ? r->written : "-", e[16], sizeof(e[16]));
	n = snprintf(buf, len,
	    "%s entity=%s date=%s level=%d since=%s server=%s partition=%s "
	    "label=%s tape=%s file=%llu part=%u offset=%llu bytes=%llu "
	    "blocks=%llu block_size=%u digest_alg=%s digest=%s raw_bytes=%llu raw_digest=%s "
	    "compress=%s source=%s status=%s drive=%s site=%s written=%s "
	    "job=%lld dump=%s\n",
	    type_names[r->type], e[1], e[11], r->level, e[5], e[2], e[3], e[4],
	    e[12], (unsigned long long)r->file, r->part,
	    (unsigned long long)r->offset, (unsigned long long)r->bytes,
	    (unsigned long long)r->blocks, r->block_size, e[13], e[14],
	    (unsigned long long)r->raw_bytes, e[15], e[6], e[7], e[8], e[9],
	    e[10], e[16], (long long)r->job, e[0]);
	if (n < 0 || (size_t)n >= len)
		return -E2BIG;
	/* The chain keys, only when set (older lines stay as they were). */
	if (r->base[0] || r->index_bytes) {
		char b[3 * 33 + 4];
		int m;
		util_kv_escape(r->base[0] ? r->base : "-", b, sizeof(b));
		n--;	/* over the newline */
		m = snprintf(buf + n, len - (size_t)n,
		    " base=%s index_raw=%llu index_stored=%llu index_bytes=%llu\n",
		    b, (unsigned long long)r->index_raw,
		    (unsigned long long)r->index_stored,
		    (unsigned long long)r->index_bytes);
		if (m < 0 || (size_t)m >= len - (size_t)n)
			return -E2BIG;
		n += m;
	}
	return n;
}

/* Copy an unescaped value into dst; -EINVAL if it does not fit. */
static int
put_str(char *dst, size_t len, char *val)
{
	if (util_kv_unescape(val) < 0 || strlen(val) >= len)
		return -EINVAL;
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

int
cat_dl_parse(const char *line, struct cat_dl_rec *r)
{
	char *copy, *save = NULL, *tok;
	int rc = -EINVAL;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	if (strlen(line) > 16384)
		return -EINVAL;
	copy = strdup(line);
	if (!copy)
		return -ENOMEM;
	copy[strcspn(copy, "\r\n")] = '\0';
	tok = strtok_r(copy, " ", &save);
	if (!tok) {
		rc = -ENOMSG;
		goto out;
	}
	if (strcmp(tok, "part") == 0)
		r->type = CAT_DL_PART;
	else if (strcmp(tok, "dump") == 0)
		r->type = CAT_DL_DUMP;
	else if (strcmp(tok, "bad") == 0)
		r->type = CAT_DL_BAD;
	else if (strcmp(tok, "error") == 0)
		r->type = CAT_DL_ERROR;
	else if (strcmp(tok, "full") == 0)
		r->type = CAT_DL_FULL;
	else if (strcmp(tok, "aborted") == 0)
		r->type = CAT_DL_ABORTED;
	else {
		rc = -ENOMSG;
		goto out;
	}
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		char *eq = strchr(tok, '=');
		if (!eq)
			goto out;
		*eq = '\0';
		char *k = tok, *val = eq + 1;
		int bad = 0;
#define S(name, field) else if (strcmp(k, name) == 0) bad = put_str(r->field, sizeof(r->field), val)
#define U(name, field, max) else if (strcmp(k, name) == 0) { \
		bad = util_parse_u64(val, max, &v); r->field = (__typeof__(r->field))v; }
		if (0) {}
		S("dump", dump_id);
		S("entity", entity);
		S("date", date);
		S("since", since);
		S("server", server);
		S("partition", partition);
		S("label", label);
		S("tape", tape_id);
		S("digest", digest);
		S("digest_alg", digest_alg);
		S("raw_digest", raw_digest);
		S("compress", compress);
		S("source", source_kind);
		S("status", status);
		S("drive", drive);
		S("written", written);
		S("site", site);
		S("base", base);
		U("level", level, 99)
		U("file", file, UINT32_MAX)
		U("part", part, UINT32_MAX)
		U("offset", offset, UINT64_MAX)
		U("bytes", bytes, UINT64_MAX)
		U("blocks", blocks, UINT64_MAX)
		U("block_size", block_size, UINT32_MAX)
		U("raw_bytes", raw_bytes, UINT64_MAX)
		U("job", job, INT64_MAX)
		U("index_raw", index_raw, UINT64_MAX)
		U("index_stored", index_stored, UINT64_MAX)
		U("index_bytes", index_bytes, UINT64_MAX)
#undef S
#undef U
		if (bad)
			goto out;
	}
	if (!r->dump_id[0] || !r->entity[0] || !r->label[0])
		goto out;
	if (strcmp(r->site, "-") == 0)
		r->site[0] = '\0';
	if (strcmp(r->base, "-") == 0)
		r->base[0] = '\0';
	rc = 0;
out:
	free(copy);
	return rc;
}

/* The value as the format writes it: "" and "-" both mean none. */
static bool
none(const char *s)
{
	return !s[0] || strcmp(s, "-") == 0;
}

/* Exactly n lowercase hex digits. */
static bool
hex_n(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* A name as the catalog stores it (cat_name_valid): 1..max bytes, no blank,
   control byte, '%', '=' or '|'. */
static bool
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '%' || *s == '=' || *s == '|')
			return false;
	return true;
}

/* A UTC date as ABS writes it, YYYY-MM-DDTHH:MM:SSZ, a real one, after
   1990 and not more than a day ahead of this machine's clock. */
static bool
date_ok(const char *s, time_t *t)
{
	char again[32];

	if (strlen(s) != 20 || s[19] != 'Z' || util_parse_time(s, t) < 0)
		return false;
	util_fmt_time(*t, again, sizeof(again));
	return strcmp(again, s) == 0 && *t >= 631152000 &&
	    (*t <= time(NULL) + 86400 || *t <= clock_now() + 86400);
}

/* A digest of the algorithm alg (xxh128: 32 hex digits, sha256: 64). */
static bool
digest_ok(const char *alg, const char *d)
{
	return hex_n(d, strcmp(alg, "sha256") == 0 ? 64 : 32);
}

#define BAD(...) do { snprintf(why, len, __VA_ARGS__); return -EINVAL; } \
	while (0)

/* The fields every type of line has: IDs, names, dates. */
static int
check_common(const struct cat_dl_rec *r, char *why, size_t len)
{
	time_t t, since, w;

	if (!hex_n(r->dump_id, 32))
		BAD("dump=%.40s is not 32 hex digits", r->dump_id);
	if (!name_ok(r->entity, 255))
		BAD("entity=%.40s is not a valid name", r->entity);
	if (!name_ok(r->label, 63))
		BAD("label=%.40s is not a valid label", r->label);
	if (!hex_n(r->tape_id, 32))
		BAD("tape=%.40s is not 32 hex digits", r->tape_id);
	if (!date_ok(r->date, &t))
		BAD("date=%.32s is not a sane UTC date", r->date);
	if (!none(r->written) && (!date_ok(r->written, &w) || w < t))
		BAD("written=%.32s is not a sane UTC date after date=%s",
		    r->written, r->date);
	if (r->level < 0 || r->level > 9)
		BAD("level=%d is not 0..9", r->level);
	if (r->level == 0 && !none(r->since))
		BAD("since=%.32s on a full dump (level 0)", r->since);
	if (r->level > 0 && (!date_ok(r->since, &since) || since > t))
		BAD("since=%.32s is not a sane UTC date before date=%s", r->since,
		    r->date);
	if (r->job < 0)
		BAD("job=%lld is negative", (long long)r->job);
	if (!none(r->base) && !hex_n(r->base, 32))
		BAD("base=%.40s is not 32 hex digits", r->base);
	if (!none(r->base) && r->level == 0)
		BAD("base=%.40s on a full dump (level 0)", r->base);
	if (!none(r->base) && strcmp(r->base, r->dump_id) == 0)
		BAD("base=%.40s is the dump itself", r->base);
	if (r->index_bytes && (r->index_raw > UINT64_MAX - r->index_bytes ||
	    (r->raw_bytes && r->index_raw + r->index_bytes > r->raw_bytes) ||
	    (r->bytes && r->index_stored >= r->bytes)))
		BAD("index_raw=%llu index_bytes=%llu index_stored=%llu lie outside "
		    "the stream", (unsigned long long)r->index_raw,
		    (unsigned long long)r->index_bytes,
		    (unsigned long long)r->index_stored);
	if (!r->index_bytes && (r->index_raw || r->index_stored))
		BAD("index_raw or index_stored without index_bytes");
	if (!none(r->site) && !name_ok(r->site, 63))
		BAD("site=%.40s is not a valid name", r->site);
	if (!none(r->site) && r->job == 0)
		BAD("site=%.40s without a job", r->site);
	return 0;
}

/* What a part and a dump line share: source, compression, digests. */
static int
check_stream(const struct cat_dl_rec *r, char *why, size_t len)
{
	if (!r->server[0] || !r->partition[0])
		BAD("server and partition must not be empty");
	if (strcmp(r->compress, "none") != 0 && strcmp(r->compress, "zstd") != 0)
		BAD("compress=%.16s is not none or zstd", r->compress);
	if (strcmp(r->source_kind, "dir") != 0 &&
	    strcmp(r->source_kind, "cmd") != 0 &&
	    strcmp(r->source_kind, "file") != 0)
		BAD("source=%.8s is not dir, cmd or file", r->source_kind);
	if (strcmp(r->digest_alg, "xxh128") != 0 &&
	    strcmp(r->digest_alg, "sha256") != 0)
		BAD("digest_alg=%.8s is not xxh128 or sha256", r->digest_alg);
	if (r->block_size < (64u << 10) || r->block_size > (8u << 20))
		BAD("block_size=%u is not 64 KiB..8 MiB", r->block_size);
	if (r->file < 1)
		BAD("file=0 is the label, not a part");
	if (r->part < 1)
		BAD("part=%u: parts are numbered from 1", r->part);
	return 0;
}

/* A part line: its bytes fill its blocks, its offset and digest. */
static int
check_part(const struct cat_dl_rec *r, char *why, size_t len)
{
	uint64_t bs = r->block_size;

	if (strcmp(r->status, "ok") != 0 && strcmp(r->status, "no-trailer") != 0)
		BAD("status=%.24s is not ok or no-trailer", r->status);
	/* The last block may be short, no block is empty. */
	if (r->blocks > (uint64_t)INT64_MAX / bs || r->bytes > r->blocks * bs ||
	    (r->blocks && r->bytes <= (r->blocks - 1) * bs))
		BAD("bytes=%llu do not fill blocks=%llu of block_size=%u",
		    (unsigned long long)r->bytes, (unsigned long long)r->blocks,
		    r->block_size);
	if (r->part == 1 && r->offset != 0)
		BAD("offset=%llu: part 1 starts at 0",
		    (unsigned long long)r->offset);
	if (r->offset > (uint64_t)INT64_MAX - r->bytes)
		BAD("offset=%llu plus bytes overflow",
		    (unsigned long long)r->offset);
	if (!digest_ok(r->digest_alg, r->digest))
		BAD("digest=%.70s is not a %s digest", r->digest, r->digest_alg);
	return 0;
}

/* A dump line: the stream's totals and digests. */
static int
check_dump(const struct cat_dl_rec *r, char *why, size_t len)
{
	bool complete = strcmp(r->status, "complete") == 0;

	if (!complete && strcmp(r->status, "source-failed") != 0 &&
	    strcmp(r->status, "failed") != 0)
		BAD("status=%.24s is not complete, source-failed or failed",
		    r->status);
	if (r->offset != 0)
		BAD("offset=%llu: a dump starts at 0",
		    (unsigned long long)r->offset);
	if (r->bytes > (uint64_t)INT64_MAX || r->raw_bytes > (uint64_t)INT64_MAX)
		BAD("bytes=%llu or raw_bytes=%llu out of range",
		    (unsigned long long)r->bytes, (unsigned long long)r->raw_bytes);
	if (r->part > r->bytes / (64u << 10) + 1)
		BAD("part=%u parts for bytes=%llu", r->part,
		    (unsigned long long)r->bytes);
	if (complete && !digest_ok(r->digest_alg, r->digest))
		BAD("digest=%.70s is not a %s digest", r->digest, r->digest_alg);
	if (complete && !none(r->raw_digest) &&
	    !digest_ok(r->digest_alg, r->raw_digest))
		BAD("raw_digest=%.70s is not a %s digest", r->raw_digest,
		    r->digest_alg);
	if (complete && strcmp(r->compress, "none") == 0 &&
	    (r->raw_bytes != r->bytes || (!none(r->raw_digest) &&
	    strcmp(r->raw_digest, r->digest) != 0)))
		BAD("raw_bytes and raw_digest differ from bytes and digest on an "
		    "uncompressed dump");
	return 0;
}

/* Check a parsed record's fields one by one. */
int
cat_dl_check(const struct cat_dl_rec *r, char *why, size_t len)
{
	int rc;

	if ((rc = check_common(r, why, len)) < 0)
		return rc;
	switch (r->type) {
	case CAT_DL_PART:
		if ((rc = check_stream(r, why, len)) < 0)
			return rc;
		return check_part(r, why, len);
	case CAT_DL_DUMP:
		if ((rc = check_stream(r, why, len)) < 0)
			return rc;
		return check_dump(r, why, len);
	case CAT_DL_BAD:
		return 0;
	case CAT_DL_FULL:
		if (strcmp(r->status, "full") != 0)
			BAD("status=%.24s on a full line", r->status);
		return 0;
	case CAT_DL_ERROR:
		if (!name_ok(r->status, sizeof(r->status) - 1))
			BAD("status=%.24s is not an error kind", r->status);
		return 0;
	case CAT_DL_ABORTED:
		if (strcmp(r->status, "aborted") != 0)
			BAD("status=%.24s on an aborted line", r->status);
		return 0;
	}
	BAD("unknown record type");
}

#undef BAD

int
cat_dl_append(const char *path, const struct cat_dl_rec *r)
{
	char line[8192];
	int fd, n, rc;

	n = cat_dl_format(r, line, sizeof(line));
	if (n < 0)
		return n;
	abs_crash_point("dumplog");
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = util_write_all(fd, line, (size_t)n);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* The aborted line of a dump: its last part line's fields (see dumplog.h). */
int
cat_dl_append_aborted(const char *path, const char *dump_id, int64_t job)
{
	struct cat_dl_rec r, last;
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!fp)
		return errno == ENOENT ? 0 : -errno;
	while (getline(&line, &cap, fp) > 0) {
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_PART)
			continue;
		if (dump_id && dump_id[0] ? strcmp(r.dump_id, dump_id) != 0 :
		    (job <= 0 || r.job != job))
			continue;
		last = r;
		found = true;
	}
	free(line);
	fclose(fp);
	if (!found)
		return 0;
	last.type = CAT_DL_ABORTED;
	snprintf(last.status, sizeof(last.status), "aborted");
	util_fmt_time(clock_now(), last.written, sizeof(last.written));
	int rc = cat_dl_append(path, &last);
	return rc < 0 ? rc : 1;
}

int
cat_dl_find_dump(const char *path, const char *dump_id, struct cat_dl_rec *dump,
    struct cat_dl_rec *parts, unsigned max, unsigned *nparts)
{
	struct cat_dl_rec r;
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	*nparts = 0;
	if (!fp)
		return -errno;
	while (getline(&line, &cap, fp) > 0) {
		if (cat_dl_parse(line, &r) < 0 || strcmp(r.dump_id, dump_id) != 0)
			continue;
		if (r.type == CAT_DL_DUMP) {
			if (dump)
				*dump = r;
			found = true;
		} else if (r.type == CAT_DL_PART && r.part >= 1 && r.part <= max) {
			parts[r.part - 1] = r;
			if (r.part > *nparts)
				*nparts = r.part;
		}
	}
	free(line);
	fclose(fp);
	return found ? 1 : 0;
}
