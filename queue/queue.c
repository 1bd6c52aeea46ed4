/* The archive queue's entry files (docs/QUEUE.md). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/safefile.h"
#include "common/util.h"
#include "queue/queue.h"

__attribute__((format(printf, 2, 3)))
static int
qerr(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return 0;
	va_start(ap, fmt);
	vsnprintf(err, ABSQ_ERRLEN, fmt, ap);
	va_end(ap);
	return 0;
}

static const char *const state_names[] = { "open", "closed", "archived",
	"refused" };

const char *
absq_state_name(enum absq_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

void
absq_name_for(const char *path, char *name, size_t len)
{
	const char *base = strrchr(path, '/');
	struct digest *d = digest_new(DIGEST_XXH128);
	char hex[DIGEST_HEX_LEN] = "0000000000000000";
	char stem[65];
	size_t n = 0;

	base = base ? base + 1 : path;
	if (d) {
		digest_update(d, path, strlen(path));
		digest_final_hex(d, hex);
		digest_free(d);
	}
	/* The stem is for people; the hash keeps names of paths apart. */
	for (; *base && n < sizeof(stem) - 1; base++) {
		unsigned char c = (unsigned char)*base;
		bool keep = isalnum(c) || c == '-' || c == '_' ||
		    (c == '.' && n > 0);
		stem[n++] = keep ? (char)c : '_';
	}
	stem[n] = '\0';
	snprintf(name, len, "%s.%.16s", n ? stem : "file", hex);
}

/* A name this library could have made: no path, no dot first. */
static bool
name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= ABSQ_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

static void
put_time(json_t *o, const char *key, time_t t)
{
	char buf[32];

	if (!t)
		return;
	util_fmt_time(t, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
}

char *
absq_entry_json(const struct absq_entry *e)
{
	json_t *o = json_object();
	char buf[80], *s;

	if (!o)
		return NULL;
	json_object_set_new(o, "abs_queue", json_integer(ABSQ_VERSION));
	json_object_set_new(o, "name", json_string(e->name));
	json_object_set_new(o, "path", json_string(e->path));
	json_object_set_new(o, "state", json_string(absq_state_name(e->state)));
	if (e->size >= 0)
		json_object_set_new(o, "size", json_integer(e->size));
	put_time(o, "added", e->added);
	put_time(o, "closed", e->closed);
	put_time(o, "expires", e->expires);
	if (e->sum_alg[0]) {
		snprintf(buf, sizeof(buf), "%s:%s", e->sum_alg, e->sum);
		json_object_set_new(o, "checksum", json_string(buf));
	}
	if (e->state == ABSQ_ARCHIVED) {
		json_t *parts = json_array();

		put_time(o, "archived", e->archived);
		if (e->entity[0])
			json_object_set_new(o, "entity", json_string(e->entity));
		json_object_set_new(o, "dump_id", json_string(e->dump_id));
		snprintf(buf, sizeof(buf), "%s:%s", e->digest_alg, e->digest);
		json_object_set_new(o, "digest", json_string(buf));
		json_object_set_new(o, "bytes", json_integer((json_int_t)e->bytes));
		/* The first part's location at the top, for people and grep. */
		if (e->nparts) {
			json_object_set_new(o, "label", json_string(e->parts[0].label));
			json_object_set_new(o, "tape_id",
			    json_string(e->parts[0].tape_id));
			json_object_set_new(o, "file",
			    json_integer((json_int_t)e->parts[0].file));
			json_object_set_new(o, "offset",
			    json_integer((json_int_t)e->parts[0].offset));
		}
		for (unsigned i = 0; i < e->nparts; i++) {
			const struct absq_part *p = &e->parts[i];
			json_array_append_new(parts, json_pack("{s:s,s:s,s:I,s:I,s:I}",
			    "label", p->label, "tape_id", p->tape_id,
			    "file", (json_int_t)p->file,
			    "offset", (json_int_t)p->offset,
			    "bytes", (json_int_t)p->bytes));
		}
		json_object_set_new(o, "parts", parts);
		json_object_set_new(o, "verified", json_boolean(e->verified));
		json_object_set_new(o, "verify_checked",
		    json_integer((json_int_t)e->verify_checked));
		json_object_set_new(o, "verify_bad",
		    json_integer((json_int_t)e->verify_bad));
		put_time(o, "checked", e->checked);
		put_time(o, "scrubbed", e->scrubbed);
	}
	if (e->reason[0])
		json_object_set_new(o, "reason", json_string(e->reason));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* Copy a string member: absent is "" when optional, else an error. */
static int
get_str(json_t *o, const char *key, char *dst, size_t len, bool need,
    char *err)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	dst[0] = '\0';
	if (!v) {
		if (need)
			qerr(err, "no \"%s\"", key);
		return need ? -EINVAL : 0;
	}
	if (!json_is_string(v)) {
		qerr(err, "\"%s\" is not a string", key);
		return -EINVAL;
	}
	s = json_string_value(v);
	if (json_string_length(v) >= len || strlen(s) != json_string_length(v)) {
		qerr(err, "\"%s\" is too long or holds a NUL", key);
		return -EINVAL;
	}
	memcpy(dst, s, json_string_length(v) + 1);
	return 0;
}

static int
get_u64(json_t *o, const char *key, uint64_t *out, bool need, char *err)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		if (need)
			qerr(err, "no \"%s\"", key);
		return need ? -EINVAL : 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		qerr(err, "\"%s\" is not a count", key);
		return -EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
get_time(json_t *o, const char *key, time_t *out, char *err)
{
	char buf[32];
	int rc = get_str(o, key, buf, sizeof(buf), false, err);

	*out = 0;
	if (rc || !buf[0])
		return rc;
	if (util_parse_time(buf, out) || *out <= 0) {
		qerr(err, "\"%s\" is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)", key);
		return -EINVAL;
	}
	return 0;
}

static bool
hex_valid(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

/* "ALG:HEX" into alg and hex, the hex digit count checked for alg. */
static int
split_sum(const char *s, char alg[8], char hex[65], const char *what,
    char *err)
{
	const char *colon = strchr(s, ':');
	int a;

	if (!colon || (size_t)(colon - s) >= 8) {
		qerr(err, "%s \"%s\" is not ALG:HEX", what, s);
		return -EINVAL;
	}
	memcpy(alg, s, (size_t)(colon - s));
	alg[colon - s] = '\0';
	a = digest_alg_from_name(alg);
	if (a < 0) {
		qerr(err, "%s algorithm \"%s\" is neither xxh128 nor sha256",
		    what, alg);
		return -EINVAL;
	}
	if (!hex_valid(colon + 1, a == DIGEST_SHA256 ? 64 : 32)) {
		qerr(err, "%s \"%s\" is not %d lowercase hex digits", what,
		    colon + 1, a == DIGEST_SHA256 ? 64 : 32);
		return -EINVAL;
	}
	strcpy(hex, colon + 1);
	return 0;
}

static int
parse_obj(json_t *o, struct absq_entry *e, char *err)
{
	char state[16], sum[80];
	uint64_t v;
	json_t *parts;

	if (!json_is_object(o))
		return qerr(err, "not a JSON object"), -EINVAL;
	if (get_u64(o, "abs_queue", &v, true, err))
		return -EINVAL;
	if (v != ABSQ_VERSION)
		return qerr(err, "entry format %llu is not this program's %d",
		    (unsigned long long)v, ABSQ_VERSION), -EINVAL;
	if (get_str(o, "name", e->name, sizeof(e->name), true, err) ||
	    get_str(o, "path", e->path, sizeof(e->path), true, err) ||
	    get_str(o, "state", state, sizeof(state), true, err))
		return -EINVAL;
	if (!name_valid(e->name))
		return qerr(err, "name \"%s\" is not an entry name", e->name),
		    -EINVAL;
	if (e->path[0] != '/')
		return qerr(err, "path \"%s\" is not absolute", e->path), -EINVAL;
	for (e->state = 0; e->state < ARRAY_SIZE(state_names); e->state++)
		if (strcmp(state, state_names[e->state]) == 0)
			break;
	if ((unsigned)e->state >= ARRAY_SIZE(state_names))
		return qerr(err, "state \"%s\" is not open, closed, archived or "
		    "refused", state), -EINVAL;
	e->size = -1;
	if (json_object_get(o, "size")) {
		if (get_u64(o, "size", &v, true, err) || v > INT64_MAX)
			return -EINVAL;
		e->size = (int64_t)v;
	}
	if (get_time(o, "added", &e->added, err) ||
	    get_time(o, "closed", &e->closed, err) ||
	    get_time(o, "expires", &e->expires, err) ||
	    get_str(o, "checksum", sum, sizeof(sum), false, err))
		return -EINVAL;
	if (sum[0] && split_sum(sum, e->sum_alg, e->sum, "checksum", err))
		return -EINVAL;
	if (get_str(o, "reason", e->reason, sizeof(e->reason), false, err))
		return -EINVAL;
	if (e->state != ABSQ_ARCHIVED)
		return 0;
	/* A done entry must prove where the file is. */
	if (get_time(o, "archived", &e->archived, err) ||
	    get_time(o, "checked", &e->checked, err) ||
	    get_time(o, "scrubbed", &e->scrubbed, err) ||
	    get_str(o, "entity", e->entity, sizeof(e->entity), false, err) ||
	    get_str(o, "dump_id", e->dump_id, sizeof(e->dump_id), true, err) ||
	    get_str(o, "digest", sum, sizeof(sum), true, err) ||
	    get_u64(o, "bytes", &e->bytes, true, err) ||
	    get_u64(o, "verify_checked", &e->verify_checked, false, err) ||
	    get_u64(o, "verify_bad", &e->verify_bad, false, err))
		return -EINVAL;
	if (!hex_valid(e->dump_id, 32))
		return qerr(err, "dump_id is not 32 hex digits"), -EINVAL;
	if (split_sum(sum, e->digest_alg, e->digest, "digest", err))
		return -EINVAL;
	if (json_object_get(o, "verified")) {
		if (!json_is_boolean(json_object_get(o, "verified")))
			return qerr(err, "\"verified\" is not true or false"),
			    -EINVAL;
		e->verified = json_is_true(json_object_get(o, "verified"));
	}
	parts = json_object_get(o, "parts");
	if (!json_is_array(parts) || json_array_size(parts) == 0 ||
	    json_array_size(parts) > ABSQ_MAX_PARTS)
		return qerr(err, "\"parts\" is not a list of 1 to %d parts",
		    ABSQ_MAX_PARTS), -EINVAL;
	e->nparts = (unsigned)json_array_size(parts);
	uint64_t next = 0;
	for (unsigned i = 0; i < e->nparts; i++) {
		json_t *p = json_array_get(parts, i);
		struct absq_part *q = &e->parts[i];
		if (!json_is_object(p))
			return qerr(err, "part %u is not an object", i + 1),
			    -EINVAL;
		if (get_str(p, "label", q->label, sizeof(q->label), true, err) ||
		    get_str(p, "tape_id", q->tape_id, sizeof(q->tape_id), true,
		    err) || get_u64(p, "file", &q->file, true, err) ||
		    get_u64(p, "offset", &q->offset, true, err) ||
		    get_u64(p, "bytes", &q->bytes, true, err))
			return -EINVAL;
		if (!q->label[0] || !hex_valid(q->tape_id, 32))
			return qerr(err, "part %u names no cartridge", i + 1),
			    -EINVAL;
		/* The parts hold the file's bytes in order, each once. */
		if (q->offset != next || q->bytes > e->bytes - next)
			return qerr(err, "part %u does not continue part %u",
			    i + 1, i), -EINVAL;
		next += q->bytes;
	}
	if (next != e->bytes)
		return qerr(err, "the parts hold %llu bytes, not %llu",
		    (unsigned long long)next, (unsigned long long)e->bytes),
		    -EINVAL;
	return 0;
}

int
absq_entry_parse(const char *buf, size_t len, struct absq_entry *e, char *err)
{
	json_error_t je;
	json_t *o;
	int rc;

	memset(e, 0, sizeof(*e));
	if (len > ABSQ_ENTRY_MAX)
		return qerr(err, "entry longer than %d bytes", ABSQ_ENTRY_MAX),
		    -EFBIG;
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return qerr(err, "not JSON: %s (line %d)", je.text, je.line),
		    -EINVAL;
	rc = parse_obj(o, e, err);
	json_decref(o);
	return rc;
}

static int
join(char *out, size_t len, const char *dir, const char *name, const char *ext,
    char *err)
{
	int n = snprintf(out, len, "%s/%s%s", dir, name, ext);

	if (n < 0 || (size_t)n >= len)
		return qerr(err, "path %s/%s too long", dir, name), -ENAMETOOLONG;
	return 0;
}

int
absq_entry_read(const char *dir, const char *name, struct absq_entry *e,
    char *err)
{
	char path[PATH_MAX], why[ABSQ_ERRLEN];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (join(path, sizeof(path), dir, name, ".json", err))
		return -ENAMETOOLONG;
	/* Not one this library makes (a stem of 64 and a hash): said, never
	   passed over, so that the producer hears of it. */
	if (strlen(name) >= ABSQ_NAME_MAX)
		return qerr(err, "entry name of %zu characters (at most %d): "
		    "%s", strlen(name), ABSQ_NAME_MAX - 1, path), -ENAMETOOLONG;
	rc = sf_read_file(path, true, ABSQ_ENTRY_MAX, &buf, &len);
	if (rc)
		return qerr(err, "%s: %s", path, sf_strerror(rc)), rc;
	rc = absq_entry_parse(buf, len, e, why);
	free(buf);
	if (rc)
		return qerr(err, "%s: %s", path, why), rc;
	if (strcmp(e->name, name) != 0)
		return qerr(err, "%s: names another entry (%s)", path, e->name),
		    -EINVAL;
	return 0;
}

static int
fsync_dir(const char *dir, char *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc)
		qerr(err, "%s: fsync: %s", dir, strerror(-rc));
	return rc;
}

int
absq_entry_write(const char *dir, const struct absq_entry *e, char *err)
{
	char tmp[PATH_MAX], path[PATH_MAX], rnd[17];
	char *s;
	int fd, rc;

	if (!name_valid(e->name))
		return qerr(err, "\"%s\" is not an entry name", e->name), -EINVAL;
	if (util_random_hex(rnd, 8) ||
	    join(path, sizeof(path), dir, e->name, ".json", err))
		return -EINVAL;
	/* A dot first: readers skip it until the rename makes it an entry. */
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.%s.tmp", dir, e->name, rnd) >=
	    (int)sizeof(tmp))
		return qerr(err, "path %s too long", dir), -ENAMETOOLONG;
	s = absq_entry_json(e);
	if (!s)
		return qerr(err, "out of memory"), -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		free(s);
		return qerr(err, "%s: %s", tmp, strerror(-rc)), rc;
	}
	rc = util_write_all(fd, s, strlen(s));
	if (!rc)
		rc = util_write_all(fd, "\n", 1);
	free(s);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return qerr(err, "%s: %s", path, strerror(-rc)), rc;
	}
	return fsync_dir(dir, err);
}

int
absq_entry_move(const char *dir, const char *to, const char *name, char *err)
{
	char from[PATH_MAX], dst[PATH_MAX];
	int rc;

	if (!name_valid(name))
		return qerr(err, "\"%s\" is not an entry name", name), -EINVAL;
	if (join(from, sizeof(from), dir, name, ".json", err) ||
	    join(dst, sizeof(dst), to, name, ".json", err))
		return -ENAMETOOLONG;
	if (rename(from, dst) < 0) {
		rc = -errno;
		return qerr(err, "rename %s to %s: %s", from, dst, strerror(-rc)),
		    rc;
	}
	/* The new name first: if only one reaches the disk, let it be the
	   one that has the entry in both places, never in neither. */
	if ((rc = fsync_dir(to, err)) != 0)
		return rc;
	return fsync_dir(dir, err);
}

int
absq_lock(const char *queue, char *err)
{
	char path[PATH_MAX];
	int fd;

	if (join(path, sizeof(path), queue, ".lock", "", err))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0) {
		int rc = -errno;
		return qerr(err, "%s: %s", path, strerror(-rc)), rc;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int rc = -errno;
			close(fd);
			return qerr(err, "%s: flock: %s", path, strerror(-rc)), rc;
		}
	}
	return fd;
}

void
absq_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* The absolute path of file: resolved if it exists, else as given
   joined to the working directory. */
static int
abs_path(const char *file, char *out, size_t len, char *err)
{
	char *r = realpath(file, NULL);

	if (r) {
		if (strlen(r) >= len) {
			free(r);
			return qerr(err, "%s: path longer than %d bytes", file,
			    (int)len - 1), -ENAMETOOLONG;
		}
		strcpy(out, r);
		free(r);
		return 0;
	}
	if (file[0] == '/') {
		if (strlen(file) >= len)
			return qerr(err, "%s: path too long", file), -ENAMETOOLONG;
		strcpy(out, file);
		return 0;
	}
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)) ||
	    snprintf(out, len, "%s/%s", cwd, file) >= (int)len)
		return qerr(err, "%s: path too long", file), -ENAMETOOLONG;
	return 0;
}

static int
regular_size(const char *path, int64_t *size, char *err)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int rc = -errno;
		return qerr(err, "%s: %s", path, strerror(-rc)), rc;
	}
	if (!S_ISREG(st.st_mode))
		return qerr(err, "%s: not a regular file", path), -EINVAL;
	*size = (int64_t)st.st_size;
	return 0;
}

static int
ensure_dir(const char *dir, char *err)
{
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return qerr(err, "%s: %s", dir, strerror(errno)), -errno;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return qerr(err, "%s: not a directory", dir), -ENOTDIR;
	return 0;
}

int
absq_add(const char *queue, const char *file, const struct absq_add_opts *o,
    struct absq_entry *out, char *err)
{
	struct absq_entry *e = calloc(1, sizeof(*e)), *old = calloc(1, sizeof(*old));
	char why[ABSQ_ERRLEN];
	int lk = -1, rc;

	if (!e || !old) {
		rc = -ENOMEM;
		qerr(err, "out of memory");
		goto out;
	}
	if ((rc = ensure_dir(queue, err)) ||
	    (rc = abs_path(file, e->path, sizeof(e->path), err)) ||
	    (rc = regular_size(e->path, &e->size, err)))
		goto out;
	/* What the archiver will refuse is refused now, said to the
	   producer. */
	{
		struct stat st;
		int fd = absq_open_data(queue, e->path, &st, err);
		if (fd < 0) {
			rc = fd;
			goto out;
		}
		close(fd);
	}
	if (o->checksum && (rc = split_sum(o->checksum, e->sum_alg, e->sum,
	    "checksum", err)))
		goto out;
	absq_name_for(e->path, e->name, sizeof(e->name));
	e->state = o->open ? ABSQ_OPEN : ABSQ_CLOSED;
	e->added = time(NULL);
	if (!o->open)
		e->closed = e->added;
	e->expires = o->expires;
	if ((lk = absq_lock(queue, err)) < 0) {
		rc = lk;
		goto out;
	}
	rc = absq_entry_read(queue, e->name, old, why);
	if (rc == 0 && strcmp(old->path, e->path) != 0) {
		rc = -EEXIST;
		qerr(err, "%s: entry %s belongs to %s", e->path, e->name,
		    old->path);
		goto out;
	}
	if (rc == 0 && old->state != ABSQ_OPEN) {
		rc = -EEXIST;
		qerr(err, "%s is queued already (%s, entry %s)", e->path,
		    absq_state_name(old->state), e->name);
		goto out;
	}
	if (rc == 0)
		e->added = old->added;	/* its place in the queue */
	else if (rc != -ENOENT) {
		qerr(err, "%s", why);
		goto out;
	}
	rc = absq_entry_write(queue, e, err);
	if (!rc && out)
		*out = *e;
out:
	absq_unlock(lk);
	free(e);
	free(old);
	return rc;
}

int
absq_close(const char *queue, const char *file, const char *checksum,
    char *err)
{
	struct absq_entry *e = calloc(1, sizeof(*e));
	char path[ABSQ_PATH_MAX + 1], name[ABSQ_NAME_MAX];
	int lk = -1, rc;

	if (!e)
		return qerr(err, "out of memory"), -ENOMEM;
	if ((rc = abs_path(file, path, sizeof(path), err)))
		goto out;
	absq_name_for(path, name, sizeof(name));
	if ((lk = absq_lock(queue, err)) < 0) {
		rc = lk;
		goto out;
	}
	rc = absq_entry_read(queue, name, e, err);
	if (rc == -ENOENT) {
		qerr(err, "%s is not in queue %s (archived already, or never "
		    "added)", path, queue);
		goto out;
	}
	if (rc)
		goto out;
	if (strcmp(e->path, path) != 0) {
		rc = -ENOENT;
		qerr(err, "%s is not in queue %s (entry %s is %s)", path, queue,
		    name, e->path);
		goto out;
	}
	if (e->state != ABSQ_OPEN) {
		if (checksum)
			qerr(err, "%s is %s already: its checksum stays", path,
			    absq_state_name(e->state));
		rc = checksum ? -EEXIST : 0;
		goto out;
	}
	if (checksum && (rc = split_sum(checksum, e->sum_alg, e->sum,
	    "checksum", err)))
		goto out;
	if ((rc = regular_size(path, &e->size, err)))
		goto out;
	e->state = ABSQ_CLOSED;
	e->closed = time(NULL);
	rc = absq_entry_write(queue, e, err);
out:
	absq_unlock(lk);
	free(e);
	return rc;
}

static int
ref_cmp(const void *a, const void *b)
{
	const struct absq_ref *x = a, *y = b;

	if (x->added != y->added)
		return x->added < y->added ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
absq_scan(const char *dir, struct absq_ref **refs, size_t *n, char *err)
{
	DIR *d = opendir(dir);
	struct absq_entry *e = malloc(sizeof(*e));
	struct absq_ref *r = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;

	*refs = NULL;
	*n = 0;
	if (!d || !e) {
		int rc = d ? -ENOMEM : -errno;
		if (d)
			closedir(d);
		free(e);
		return qerr(err, "%s: %s", dir, strerror(-rc)), rc;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		char name[sizeof(r->name)];

		if (de->d_name[0] == '.' || len <= 5 || len - 5 >= sizeof(name) ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (cnt == cap) {
			struct absq_ref *nr;
			cap = cap ? cap * 2 : 64;
			nr = realloc(r, cap * sizeof(*r));
			if (!nr) {
				free(r);
				free(e);
				closedir(d);
				return qerr(err, "out of memory"), -ENOMEM;
			}
			r = nr;
		}
		snprintf(r[cnt].name, sizeof(r[cnt].name), "%s", name);
		/* A damaged entry sorts first, so that it is seen at once. */
		r[cnt].added = absq_entry_read(dir, name, e, NULL) == 0 ?
		    e->added : 0;
		cnt++;
	}
	closedir(d);
	free(e);
	if (cnt)
		qsort(r, cnt, sizeof(*r), ref_cmp);
	*refs = r;
	*n = cnt;
	return 0;
}

int
absq_fd_digest(int fd, const char *alg, char hex[65], uint64_t *size,
    char *err)
{
	int a = digest_alg_from_name(alg);
	struct digest *d;
	uint8_t *buf;
	uint64_t total = 0;
	ssize_t got;
	int rc = 0;

	if (a < 0)
		return qerr(err, "unknown digest %s", alg), -EINVAL;
	d = digest_new((enum digest_alg)a);
	buf = malloc(1 << 20);
	if (!d || !buf) {
		rc = -ENOMEM;
		qerr(err, "out of memory");
		goto out;
	}
	while ((got = read(fd, buf, 1 << 20)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			qerr(err, "%s", strerror(errno));
			goto out;
		}
		digest_update(d, buf, (size_t)got);
		total += (uint64_t)got;
	}
	digest_final_hex(d, hex);
	if (size)
		*size = total;
out:
	digest_free(d);
	free(buf);
	return rc;
}

int
absq_file_digest(const char *path, const char *alg, char hex[65],
    uint64_t *size, char *err)
{
	char why[ABSQ_ERRLEN];
	int fd, rc;

	if (digest_alg_from_name(alg) < 0)
		return qerr(err, "unknown digest %s", alg), -EINVAL;
	fd = sf_open_regular(path, false);
	if (fd < 0)
		return qerr(err, "%s: %s", path, sf_strerror(fd)), fd;
	rc = absq_fd_digest(fd, alg, hex, size, why);
	close(fd);
	if (rc)
		qerr(err, "%s: %s", path, why);
	return rc;
}

bool
absq_ready(const struct absq_entry *e, time_t now)
{
	if (e->state == ABSQ_CLOSED || e->state == ABSQ_ARCHIVED)
		return true;
	return e->state == ABSQ_OPEN && e->expires && e->expires <= now;
}

int
absq_may_read(const char *queue, const struct stat *st, char *err)
{
	struct stat qs;
	struct passwd *pw;
	gid_t groups[256];
	int ng = (int)ARRAY_SIZE(groups);
	bool member = false;

	if (stat(queue, &qs) < 0) {
		int rc = -errno;
		return qerr(err, "%s: %s", queue, strerror(-rc)), rc;
	}
	if (qs.st_uid == 0)
		return 0;	/* root's queue: root may read what it names */
	/* The permission bits as the kernel applies them: the owner's if
	   it is the owner, else the group's if in the group, else all's. */
	if ((pw = getpwuid(qs.st_uid)) != NULL &&
	    getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) >= 0)
		for (int i = 0; i < ng; i++)
			member |= groups[i] == st->st_gid;
	if (st->st_uid == qs.st_uid ? (st->st_mode & S_IRUSR) != 0 :
	    member ? (st->st_mode & S_IRGRP) != 0 : (st->st_mode & S_IROTH) != 0)
		return 0;
	qerr(err, "queue %s's owner (uid %u) may not read it (owner uid %u, "
	    "group %u, mode %04o): the archiver reads only files the queue's "
	    "owner could", queue, (unsigned)qs.st_uid, (unsigned)st->st_uid,
	    (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777));
	return -EACCES;
}

int
absq_open_data(const char *queue, const char *path, struct stat *st,
    char *err)
{
	char *real;
	int fd, rc;

	if (path[0] != '/')
		return qerr(err, "%s: not an absolute path", path), -EINVAL;
	/* Every component as named: no symbolic link, "..", "." or "//"
	   takes the archiver (or scrub) to a file the entry does not name. */
	if (!(real = realpath(path, NULL))) {
		rc = -errno;
		return qerr(err, "%s: %s", path, strerror(-rc)), rc;
	}
	rc = strcmp(real, path);
	free(real);
	if (rc != 0)
		return qerr(err, "%s: not the file's own path (a symbolic link, "
		    "\"..\" or \".\" in it)", path), -ELOOP;
	/* Non-blocking: a FIFO put in its place must not hang the reader. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP)
			return qerr(err, "%s: a symbolic link", path), rc;
		return qerr(err, "%s: %s", path, strerror(-rc)), rc;
	}
	/* realpath looked before open: a directory on the way swapped for
	   a link in between took open elsewhere. The file opened must be
	   at the path as named (where /proc says where it is). */
	char self[64], at[ABSQ_PATH_MAX + 2];
	ssize_t n;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if ((n = readlink(self, at, sizeof(at))) >= 0 &&
	    ((size_t)n >= sizeof(at) || (at[n] = '\0', strcmp(at, path) != 0))) {
		close(fd);
		if ((size_t)n < sizeof(at) && n > 10 &&
		    strcmp(at + n - 10, " (deleted)") == 0)
			return qerr(err, "%s: removed while it was opened",
			    path), -ENOENT;
		return qerr(err, "%s: not the file's own path (a symbolic link "
		    "put on the way while it was opened)", path), -ELOOP;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return qerr(err, "%s: not a regular file", path), -EINVAL;
	}
	if ((rc = absq_may_read(queue, st, err)) < 0) {
		char why[ABSQ_ERRLEN];
		close(fd);
		snprintf(why, sizeof(why), "%s", err ? err : "");
		return qerr(err, "%s: %s", path, why), rc;
	}
	return fd;
}
