/* Dump log lines: format, parse, append. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/util.h"

static const char *type_names[] = { "part", "dump", "bad", "error" };

int
cat_dl_format(const struct cat_dl_rec *r, char *buf, size_t len)
{
	char e[10][3 * 1024 + 4];
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
	n = snprintf(buf, len,
	    "%s entity=%s date=%s level=%d since=%s server=%s partition=%s "
	    "label=%s tape=%s file=%llu part=%u offset=%llu bytes=%llu "
	    "blocks=%llu block_size=%u digest_alg=%s digest=%s raw_bytes=%llu raw_digest=%s "
	    "compress=%s source=%s status=%s drive=%s dump=%s\n",
	    type_names[r->type], e[1], r->date[0] ? r->date : "-", r->level,
	    e[5], e[2], e[3], e[4], r->tape_id[0] ? r->tape_id : "-",
	    (unsigned long long)r->file, r->part, (unsigned long long)r->offset,
	    (unsigned long long)r->bytes, (unsigned long long)r->blocks,
	    r->block_size, r->digest_alg[0] ? r->digest_alg : "-",
	    r->digest[0] ? r->digest : "-",
	    (unsigned long long)r->raw_bytes,
	    r->raw_digest[0] ? r->raw_digest : "-", e[6], e[7], e[8], e[9], e[0]);
	if (n < 0 || (size_t)n >= len)
		return -E2BIG;
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
		U("level", level, 99)
		U("file", file, UINT32_MAX)
		U("part", part, UINT32_MAX)
		U("offset", offset, UINT64_MAX)
		U("bytes", bytes, UINT64_MAX)
		U("blocks", blocks, UINT64_MAX)
		U("block_size", block_size, UINT32_MAX)
		U("raw_bytes", raw_bytes, UINT64_MAX)
#undef S
#undef U
		if (bad)
			goto out;
	}
	if (!r->dump_id[0] || !r->entity[0] || !r->label[0])
		goto out;
	rc = 0;
out:
	free(copy);
	return rc;
}

int
cat_dl_append(const char *path, const struct cat_dl_rec *r)
{
	char line[8192];
	int fd, n, rc;

	n = cat_dl_format(r, line, sizeof(line));
	if (n < 0)
		return n;
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
