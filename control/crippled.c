/*
 * Crippled mode's state (control/crippled_int.h): the journal of jobs,
 * the active-tapes file, generated labels, the catalog cache, and the
 * switch from normal mode when the catalog fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/safefile.h"
#include "common/util.h"
#include "control/crippled_int.h"

#define JOURNAL_LINE_MAX 16384
/* The largest catalog cache read (20000 entities take about 5 MB). */
#define CACHE_MAX (256u << 20)

/* The time now as the catalog writes it. */
static void
now_str(char *buf, size_t len)
{
	util_fmt_time(clock_now(), buf, len);
}

/* DIR/name into buf; -ENAMETOOLONG if it does not fit. */
static int
path_in(const struct crippled *k, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", k->dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Append one line to DIR/name and fsync it; 0 or negative errno. */
static int
append_line(const struct crippled *k, const char *name, const char *line)
{
	char path[PATH_MAX];
	int fd, rc;

	if ((rc = path_in(k, name, path, sizeof(path))) < 0)
		return rc;
	if ((fd = sf_open_append(path)) < 0)	/* never a FIFO: no hang */
		return fd;
	rc = util_write_all(fd, line, strlen(line));
	if (!rc)
		rc = util_write_all(fd, "\n", 1);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/*
 * Write DIR/name atomically: a temporary file, fsync, rename over the old
 * one, fsync of the directory. 0 or negative errno.
 */
static int
write_atomic(const struct crippled *k, const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int fd, rc;

	if ((rc = path_in(k, name, path, sizeof(path))) < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* Whatever is at the temporary name goes (never opened: a FIFO). */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0640);
	if (fd < 0)
		return -errno;
	rc = util_write_all(fd, text, strlen(text));
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		return rc;
	}
	if ((fd = open(k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(fd) < 0)
			rc = -errno;
		close(fd);
	}
	return rc;
}

/* A journal record (owned), stamped with the time; 0 or negative. */
int
crip_journal(struct crippled *k, json_t *rec)
{
	char at[32], *s;
	int rc;

	if (!rec)
		return -ENOMEM;
	now_str(at, sizeof(at));
	json_object_set_new(rec, "at", json_string(at));
	s = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (!s)
		return -ENOMEM;
	rc = append_line(k, "journal", s);
	free(s);
	if (rc < 0)
		log_err("crippled mode: journal %s/journal: %s", k->dir,
		    strerror(-rc));
	return rc;
}

/*
 * One of crippled mode's own files, to read: a regular file, never a
 * symlink, FIFO or device (which would hang or flood abs-ctld). NULL with
 * *rc 0 if it is absent, else a negative errno (said in the log).
 */
static FILE *
open_own(const char *path, int *rc)
{
	FILE *fp = sf_fopen_regular(path, true);

	*rc = fp || errno == ENOENT ? 0 : -errno;
	if (*rc < 0)
		log_err("crippled mode: %s: %s", path, sf_strerror(*rc));
	return fp;
}

/* Copy a string field of o into dst (empty if absent). */
static void
copy_field(char *dst, size_t len, json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	snprintf(dst, len, "%s", s ? s : "");
}

/* A job record of the journal replayed. */
static void
replay_job(struct crippled *k, json_t *r)
{
	struct cjob *j = calloc(1, sizeof(*j));

	if (!j)
		return;
	j->id = json_integer_value(json_object_get(r, "id"));
	copy_field(j->kind, sizeof(j->kind), r, "kind");
	copy_field(j->entity, sizeof(j->entity), r, "entity");
	copy_field(j->source, sizeof(j->source), r, "source");
	copy_field(j->pool, sizeof(j->pool), r, "pool");
	copy_field(j->last_full, sizeof(j->last_full), r, "last_full");
	copy_field(j->drive, sizeof(j->drive), r, "drive");
	copy_field(j->created, sizeof(j->created), r, "at");
	copy_field(j->detail, sizeof(j->detail), r, "detail");
	j->level = (int)json_integer_value(json_object_get(r, "level"));
	j->uid = json_integer_value(json_object_get(r, "uid"));
	snprintf(j->state, sizeof(j->state), "queued");
	j->next = k->jobs;
	k->jobs = j;
}

/* A state record of the journal replayed. */
static void
replay_state(struct crippled *k, json_t *r)
{
	struct cjob *j = crip_job(k, json_integer_value(json_object_get(r,
	    "id")));
	const char *st = json_string_value(json_object_get(r, "state"));

	if (!j || !st)
		return;
	snprintf(j->state, sizeof(j->state), "%s", st);
	if (strcmp(st, "running") == 0)
		copy_field(j->started, sizeof(j->started), r, "at");
	else
		copy_field(j->finished, sizeof(j->finished), r, "at");
	if (json_is_string(json_object_get(r, "detail")))
		copy_field(j->detail, sizeof(j->detail), r, "detail");
}

/*
 * Read DIR/journal: jobs and their states, and the highest job ID given
 * out, so that a restart never reuses one. Unreadable lines are skipped
 * (a line cut by a crash is the last one).
 */
static int
replay_journal(struct crippled *k)
{
	char path[PATH_MAX], *line = NULL;
	ssize_t n;
	FILE *fp;
	int rc;

	if ((rc = path_in(k, "journal", path, sizeof(path))) < 0)
		return rc;
	if (!(fp = open_own(path, &rc)))
		return rc;
	if (!(line = malloc(JOURNAL_LINE_MAX + 2))) {
		fclose(fp);
		return -ENOMEM;
	}
	while ((n = sf_getline(fp, line, JOURNAL_LINE_MAX + 2)) != 0) {
		json_t *r;
		const char *type;
		int64_t id;
		if (n < 0 || !(r = json_loads(line, 0, NULL)))
			continue;
		type = json_string_value(json_object_get(r, "rec"));
		id = json_integer_value(json_object_get(r, "id"));
		if (type && strcmp(type, "job") == 0 && id > CRIP_JOB_BASE &&
		    !crip_job(k, id))
			replay_job(k, r);
		else if (type && strcmp(type, "state") == 0)
			replay_state(k, r);
		else if (type && strcmp(type, "origin") == 0 && crip_job(k, id))
			copy_field(crip_job(k, id)->origin, sizeof(crip_job(k,
			    id)->origin), r, "origin");
		if (type && strcmp(type, "job") == 0 && id > k->last_job)
			k->last_job = id;
		json_decref(r);
	}
	free(line);
	fclose(fp);
	return 0;
}

/* Parse one line of DIR/active-tapes into a new entry, or NULL. */
static struct ctape *
tape_parse(const char *line)
{
	struct ctape *t;
	char label[64], id[33], state[16], pool[64], at[32], how[16] = "";

	if (line[0] == '#' || sscanf(line, "%63s %32s %15s %63s %31s %15s",
	    label, id, state, pool, at, how) < 5 || !cat_name_valid(label) ||
	    strspn(id, "0123456789abcdef") != strlen(id))
		return NULL;
	if (!(t = calloc(1, sizeof(*t))))
		return NULL;
	snprintf(t->label, sizeof(t->label), "%s", label);
	snprintf(t->tape_id, sizeof(t->tape_id), "%s", id);
	snprintf(t->state, sizeof(t->state), "%s", state);
	snprintf(t->pool, sizeof(t->pool), "%s", pool);
	snprintf(t->at, sizeof(t->at), "%s", at);
	t->barcode = strcmp(how, "barcode") == 0;
	return t;
}

/* Read DIR/active-tapes. */
static int
tapes_load(struct crippled *k)
{
	char path[PATH_MAX], line[512];
	struct ctape **tail = &k->tapes, *t;
	int rc, lineno = 0;
	ssize_t n;
	FILE *fp;

	if ((rc = path_in(k, "active-tapes", path, sizeof(path))) < 0)
		return rc;
	if (!(fp = open_own(path, &rc)))
		return rc;
	while ((n = sf_getline(fp, line, sizeof(line))) != 0) {
		lineno++;
		if (n > 0 && (line[0] == '#' || line[strspn(line, " \t\r\n")] ==
		    '\0'))
			continue;
		if (n < 0 || !(t = tape_parse(line))) {
			log_warn("crippled mode: %s:%d: %s, skipped", path, lineno,
			    n < 0 ? "a line too long" : "a damaged line");
			continue;
		}
		*tail = t;
		tail = &t->next;
	}
	fclose(fp);
	return 0;
}

/* Rewrite DIR/active-tapes atomically. */
int
crip_tapes_save(struct crippled *k)
{
	size_t len = 256, off;
	char *buf;
	int rc;

	for (struct ctape *t = k->tapes; t; t = t->next)
		len += 256;
	if (!(buf = malloc(len)))
		return -ENOMEM;
	off = (size_t)snprintf(buf, len, "# ABS crippled mode: tapes abs-ctld "
	    "labelled without its catalog; never overwrite them.\n"
	    "# label tape_id state pool since [barcode: the label is its "
	    "library barcode]\n");
	for (struct ctape *t = k->tapes; t; t = t->next)
		off += (size_t)snprintf(buf + off, len - off, "%s %s %s %s %s%s\n",
		    t->label, t->tape_id, t->state, t->pool, t->at, t->barcode ?
		    " barcode" : "");
	rc = write_atomic(k, "active-tapes", buf);
	free(buf);
	if (rc < 0)
		log_err("crippled mode: %s/active-tapes: %s", k->dir, strerror(-rc));
	return rc;
}

struct ctape *
crip_tape_by_id(struct crippled *k, const char *tape_id)
{
	for (struct ctape *t = k->tapes; t && tape_id; t = t->next)
		if (strcmp(t->tape_id, tape_id) == 0)
			return t;
	return NULL;
}

struct ctape *
crip_tape_by_label(struct crippled *k, const char *label)
{
	for (struct ctape *t = k->tapes; t && label; t = t->next)
		if (strcmp(t->label, label) == 0)
			return t;
	return NULL;
}

/* Whether the catalog (as cached) has a tape with this label. */
static bool
catalog_has_label(struct crippled *k, const char *label)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(k->cache, "labels"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), label) == 0)
			return true;
	return false;
}

/*
 * A new tape with the next generated label: PREFIX and five digits, above
 * every number the active-tapes file holds, and not a label the cached
 * catalog has. Saved (state offered) before anyone sees it, so that a
 * crash after the engine wrote it cannot hand the label out twice.
 */
struct ctape *
crip_tape_new(struct crippled *k, const char *pool, const char *drive,
    char *err)
{
	size_t plen = strlen(k->prefix);
	struct ctape *t, **tail;
	long next = 1;

	for (t = k->tapes; t; t = t->next) {
		char *end;
		long v;
		if (strncmp(t->label, k->prefix, plen) != 0)
			continue;
		v = strtol(t->label + plen, &end, 10);
		if (!*end && v >= next)
			next = v + 1;
	}
	if (k->dumplog_max >= next)
		next = k->dumplog_max + 1;	/* a label the file lost */
	if (!(t = calloc(1, sizeof(*t)))) {
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return NULL;
	}
	for (;; next++) {
		snprintf(t->label, sizeof(t->label), "%s%05ld", k->prefix, next);
		if (!catalog_has_label(k, t->label))
			break;
	}
	if (util_random_hex(t->tape_id, 16) < 0) {
		snprintf(err, PROTO_ERRLEN, "no random tape ID: %s", strerror(errno));
		free(t);
		return NULL;
	}
	snprintf(t->state, sizeof(t->state), "offered");
	snprintf(t->pool, sizeof(t->pool), "%s", pool);
	snprintf(t->drive, sizeof(t->drive), "%s", drive);
	now_str(t->at, sizeof(t->at));
	for (tail = &k->tapes; *tail; tail = &(*tail)->next)
		;
	*tail = t;
	if (crip_tapes_save(k) < 0) {
		*tail = NULL;
		free(t);
		snprintf(err, PROTO_ERRLEN, "cannot write %.200s/active-tapes", k->dir);
		return NULL;
	}
	return t;
}

struct cjob *
crip_job(struct crippled *k, int64_t id)
{
	for (struct cjob *j = k->jobs; j; j = j->next)
		if (j->id == id)
			return j;
	return NULL;
}

/* Queue a job, journalled before it exists. */
struct cjob *
crip_job_add(struct crippled *k, const char *kind, const char *drive,
    const char *entity, const char *source, const char *pool,
    const char *last_full, int level, int64_t uid, char *err)
{
	struct cjob *j = calloc(1, sizeof(*j));

	if (!j) {
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return NULL;
	}
	j->id = (k->last_job < CRIP_JOB_BASE ? CRIP_JOB_BASE : k->last_job) + 1;
	snprintf(j->kind, sizeof(j->kind), "%s", kind);
	snprintf(j->state, sizeof(j->state), "queued");
	snprintf(j->drive, sizeof(j->drive), "%s", drive);
	snprintf(j->entity, sizeof(j->entity), "%s", entity);
	snprintf(j->source, sizeof(j->source), "%s", source);
	snprintf(j->pool, sizeof(j->pool), "%s", pool ? pool : "default");
	snprintf(j->last_full, sizeof(j->last_full), "%s",
	    last_full ? last_full : "");
	snprintf(j->detail, sizeof(j->detail), "level=%d", level);
	j->level = level;
	j->uid = uid;
	now_str(j->created, sizeof(j->created));
	if (crip_journal(k, json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:i,"
	    "s:I,s:s}", "rec", "job", "id", (json_int_t)j->id, "kind", kind,
	    "drive", drive, "entity", entity, "source", source, "pool", j->pool,
	    "last_full", j->last_full, "level", level, "uid", (json_int_t)uid,
	    "detail", j->detail)) < 0) {
		snprintf(err, PROTO_ERRLEN, "cannot write the journal in %.200s",
		    k->dir);
		free(j);
		return NULL;
	}
	k->last_job = j->id;
	j->next = k->jobs;
	k->jobs = j;
	return j;
}

/* A job adopted from another master: its origin, journalled. */
void
crip_job_origin(struct crippled *k, struct cjob *j, const char *origin)
{
	snprintf(j->origin, sizeof(j->origin), "%s", origin);
	crip_journal(k, json_pack("{s:s,s:I,s:s}", "rec", "origin", "id",
	    (json_int_t)j->id, "origin", origin));
}

/* A job's new state, journalled. */
void
crip_job_state(struct crippled *k, struct cjob *j, const char *state,
    const char *detail)
{
	snprintf(j->state, sizeof(j->state), "%s", state);
	if (strcmp(state, "running") == 0)
		now_str(j->started, sizeof(j->started));
	else
		now_str(j->finished, sizeof(j->finished));
	if (detail)
		snprintf(j->detail, sizeof(j->detail), "%s", detail);
	crip_journal(k, json_pack("{s:s,s:I,s:s,s:s?}", "rec", "state", "id",
	    (json_int_t)j->id, "state", state, "detail", detail));
}

/* The cached entity, or NULL. */
json_t *
crip_entity(struct crippled *k, const char *name)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(k->cache, "entities"), i, e)
		if (name && json_is_string(json_object_get(e, "name")) &&
		    strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			return e;
	return NULL;
}

/* Roles from the cached ACL. */
unsigned
crip_roles(struct ctld *c, uid_t uid)
{
	unsigned roles = 0;
	json_t *g;
	size_t i;

	if (uid == 0 || uid == geteuid())
		return ROLE_ALL;
	json_array_foreach(json_object_get(c->crip->cache, "acl"), i, g) {
		int b;
		if (!json_is_integer(json_object_get(g, "uid")) ||
		    json_integer_value(json_object_get(g, "uid")) != (json_int_t)uid)
			continue;
		b = proto_role_from_name(json_string_value(json_object_get(g,
		    "role")) ? json_string_value(json_object_get(g, "role")) : "");
		if (b > 0)
			roles |= (unsigned)b;
	}
	return roles & ROLE_ADMIN ? ROLE_ALL : roles;
}

/* An identity's roles from the cached ACL and media-server table. */
unsigned
crip_identity_roles(struct ctld *c, const char *identity)
{
	unsigned roles = 0;
	const char *v;
	json_t *g;
	size_t i;

	json_array_foreach(json_object_get(c->crip->cache, "acl"), i, g) {
		int b;
		v = json_string_value(json_object_get(g, "identity"));
		if (!v || strcmp(v, identity) != 0)
			continue;
		v = json_string_value(json_object_get(g, "role"));
		if ((b = proto_role_from_name(v ? v : "")) > 0 && b != ROLE_ENGINE)
			roles |= (unsigned)b;
	}
	if (roles & ROLE_ADMIN)
		roles |= ROLE_ANY;
	json_array_foreach(json_object_get(c->crip->cache, "media_servers"), i,
	    g) {
		v = json_string_value(json_object_get(g, "identity"));
		if (v && strcmp(v, identity) == 0)
			roles |= ROLE_ENGINE;
	}
	return roles;
}

/* An error event: journal, and an error line in the dump log. */
void
crip_error(struct ctld *c, struct drive *d, const char *label, int64_t job,
    const char *kind, const char *text)
{
	struct crippled *k = c->crip;
	struct ctape *t = crip_tape_by_label(k, label);
	struct cat_dl_rec r;
	char path[PATH_MAX];

	crip_journal(k, json_pack("{s:s,s:s?,s:s?,s:I,s:s,s:s}", "rec", "error",
	    "drive", d ? d->name : NULL, "label", label, "job", (json_int_t)job,
	    "kind", kind, "message", text));
	/* A line only for a tape whose ID is known: merge needs it. */
	if (!label || !cat_name_valid(label) || !t || path_in(k, "dumplog",
	    path, sizeof(path)) < 0)
		return;
	memset(&r, 0, sizeof(r));
	r.type = CAT_DL_ERROR;
	memset(r.dump_id, '0', 32);	/* no dump: the tape's line */
	r.job = job;
	if (job > 0)
		snprintf(r.site, sizeof(r.site), "%s", crip_site_of(c, job));
	snprintf(r.entity, sizeof(r.entity), "%s", d && d->job ? d->entity : "-");
	now_str(r.date, sizeof(r.date));
	snprintf(r.label, sizeof(r.label), "%s", label);
	snprintf(r.tape_id, sizeof(r.tape_id), "%s", t->tape_id);
	snprintf(r.status, sizeof(r.status), "%s", kind);
	snprintf(r.drive, sizeof(r.drive), "%s", d ? d->device : "");
	cat_dl_append(path, &r);
}

/* A message: the journal. */
void
crip_message(struct ctld *c, struct drive *d, const char *level,
    const char *text)
{
	crip_journal(c->crip, json_pack("{s:s,s:s?,s:I,s:s,s:s}", "rec",
	    "message", "drive", d ? d->name : NULL, "job",
	    (json_int_t)(d ? d->job : 0), "level", level, "text", text));
}

/* The drive's media server went away: its job failed. */
void
crip_job_lost(struct ctld *c, struct drive *d, const char *why)
{
	struct cjob *j = crip_job(c->crip, d->job);

	if (j)
		crip_job_state(c->crip, j, "failed", why);
	else
		crip_journal(c->crip, json_pack("{s:s,s:I,s:s,s:s}", "rec",
		    "state", "id", (json_int_t)d->job, "state", "failed", "detail",
		    why));
	for (struct ctape *t = c->crip->tapes; t; t = t->next)
		if (strcmp(t->drive, d->name) == 0)
			t->drive[0] = '\0';
}

/* DIR/site: read, or made (16 random hex digits) the first time. */
static int
site_load(struct crippled *k)
{
	char path[PATH_MAX], buf[48] = "";
	FILE *fp;
	int rc;

	if ((rc = path_in(k, "site", path, sizeof(path))) < 0)
		return rc;
	if ((fp = fopen(path, "r"))) {
		if (!fgets(buf, sizeof(buf), fp))
			buf[0] = '\0';
		fclose(fp);
		buf[strcspn(buf, "\r\n")] = '\0';
		if (strlen(buf) == 16 && strspn(buf, "0123456789abcdef") == 16) {
			snprintf(k->site, sizeof(k->site), "%s", buf);
			return 0;
		}
	}
	if ((rc = util_random_hex(k->site, 8)) < 0)
		return rc;
	snprintf(buf, sizeof(buf), "%s\n", k->site);
	return write_atomic(k, "site", buf);
}

/* The site whose job ID job is (see crippled_int.h). */
const char *
crip_site_of(const struct ctld *c, int64_t job)
{
	return job > CRIP_JOB_BASE || !c->site[0] ? c->crip->site : c->site;
}

/* Hand the drive its oldest queued crippled job. */
void
crip_dispatch(struct ctld *c, struct drive *d)
{
	struct cjob *j, *oldest = NULL;
	json_t *ev;

	if (!d->engine || d->job)
		return;
	for (j = c->crip->jobs; j; j = j->next)
		if (strcmp(j->state, "queued") == 0 && strcmp(j->drive, d->name) == 0)
			oldest = j;	/* newest first: the last one is oldest */
	if (!(j = oldest))
		return;
	ev = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s?,s:s}", "event", "job",
	    "job", (json_int_t)j->id, "kind", j->kind, "detail", j->detail,
	    "entity", j->entity, "source", j->source, "pool", j->pool,
	    "last_full", j->last_full[0] ? j->last_full : NULL, "site",
	    c->crip->site);
	if (!ev)
		return;
	/* The type's commands as the catalog had them: a snapshot type is
	   never dumped without its snapshot, in crippled mode either. */
	json_t *cmds = json_object_get(crip_entity(c->crip, j->entity),
	    "commands");
	if (json_is_object(cmds))
		json_object_set(ev, "commands", cmds);
	crip_job_state(c->crip, j, "running", NULL);
	d->job = j->id;
	d->bytes = 0;
	d->estimate = 0;
	d->rate = 0;
	d->started = (double)time(NULL);
	snprintf(d->entity, sizeof(d->entity), "%s", j->entity);
	json_array_clear(d->skip);
	d->restoring = false;
	d->state = "writing";
	ctld_send(d->engine, ev);
	ctld_message(c, d, "info", "job %lld: %s %s (crippled mode)",
	    (long long)j->id, j->kind, j->entity);
	json_decref(ev);
}

/*
 * A tape with a generated label that DIR/dumplog names but the
 * active-tapes file lost (a damaged line): back, appendable, or full or
 * bad as the dump log says. Whether the file needs writing again.
 */
static bool
recover_tape(struct crippled *k, const struct cat_dl_rec *r)
{
	struct ctape *t = crip_tape_by_id(k, r->tape_id), **tail;
	const char *state = r->type == CAT_DL_BAD ? "bad" : r->type ==
	    CAT_DL_FULL ? "full" : "appendable";

	if (strlen(r->tape_id) != 32 || !cat_name_valid(r->label) ||
	    strncmp(r->label, k->prefix, strlen(k->prefix)) != 0)
		return false;
	if (t) {	/* one recovered here: its later lines count */
		if (!t->recovered || strcmp(t->state, "bad") == 0 ||
		    strcmp(state, "appendable") == 0)
			return false;
		snprintf(t->state, sizeof(t->state), "%s", state);
		return true;
	}
	if (crip_tape_by_label(k, r->label) || !(t = calloc(1, sizeof(*t))))
		return false;	/* its label is another tape's: leave it */
	snprintf(t->label, sizeof(t->label), "%s", r->label);
	snprintf(t->tape_id, sizeof(t->tape_id), "%s", r->tape_id);
	snprintf(t->state, sizeof(t->state), "%s", state);
	snprintf(t->pool, sizeof(t->pool), "default");
	snprintf(t->at, sizeof(t->at), "%s", r->date[0] ? r->date : "-");
	t->recovered = true;
	for (tail = &k->tapes; *tail; tail = &(*tail)->next)
		;
	*tail = t;
	return true;
}

/*
 * The highest number of a generated label DIR/dumplog names: should the
 * active-tapes file ever lose a line, no label on tape is made again; and
 * the tapes it lost come back from the dump log (said, and saved).
 */
static void
dumplog_labels(struct crippled *k)
{
	char path[PATH_MAX], line[8192], key[48];
	size_t plen = strlen(k->prefix);
	struct cat_dl_rec r;
	bool changed = false;
	ssize_t n;
	FILE *fp;
	int rc;

	snprintf(key, sizeof(key), " label=%s", k->prefix);
	if (path_in(k, "dumplog", path, sizeof(path)) < 0 ||
	    !(fp = open_own(path, &rc)))
		return;
	while ((n = sf_getline(fp, line, sizeof(line))) != 0) {
		char *p = n > 0 ? strstr(line, key) : NULL, *end;
		long v;
		if (!p)
			continue;
		v = strtol(p + 7 + plen, &end, 10);
		if (*end == ' ' && v > k->dumplog_max)
			k->dumplog_max = v;
		if (cat_dl_parse(line, &r) == 0 && recover_tape(k, &r))
			changed = true;
	}
	fclose(fp);
	for (struct ctape *t = k->tapes; t; t = t->next)
		if (t->recovered)
			log_warn("crippled mode: %s (tape ID %s) was missing from "
			    "%s/active-tapes: recovered from the dump log as %s",
			    t->label, t->tape_id, k->dir, t->state);
	if (changed)
		crip_tapes_save(k);
}

/* One crippled abs-ctld per journal directory: DIR/lock, held. */
static int
lock_dir(struct crippled *k, char *err)
{
	char path[PATH_MAX], who[64];
	int fd;

	if (path_in(k, "lock", path, sizeof(path)) < 0) {
		snprintf(err, CAT_ERRLEN, "journal lock: path too long");
		return -ENAMETOOLONG;
	}
	if ((fd = sf_lock(path, who, sizeof(who))) == -EBUSY) {
		snprintf(err, CAT_ERRLEN, "journal directory %.120s is in use by "
		    "another abs-ctld in crippled mode (%.30s holds DIR/lock)",
		    k->dir, who);
		return -EBUSY;
	}
	if (fd < 0) {
		snprintf(err, CAT_ERRLEN, "journal lock %.150s: %s", path,
		    sf_strerror(fd));
		return -EIO;
	}
	k->lock_fd = fd;
	return 0;
}

/*
 * A file cut inside a line by a crash ends with a newline again, so that
 * the next record is a line of its own (the cut one is skipped on read).
 */
static int
end_line(struct crippled *k, const char *name)
{
	char path[PATH_MAX], last = '\n';
	int fd, rc = 0;
	off_t end;

	if ((rc = path_in(k, name, path, sizeof(path))) < 0)
		return rc;
	/* A regular file only: checked before it is opened for writing. */
	if ((fd = sf_open_regular(path, true)) < 0) {
		if (fd != -ENOENT)
			log_err("crippled mode: %s: %s", path, sf_strerror(fd));
		return fd == -ENOENT ? 0 : fd;
	}
	close(fd);
	if ((fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	end = lseek(fd, 0, SEEK_END);
	if (end > 0 && pread(fd, &last, 1, end - 1) != 1)
		rc = -errno;
	if (!rc && last != '\n') {
		log_warn("crippled mode: %s ends inside a line (a crash); that line "
		    "is skipped", path);
		if ((rc = util_write_all(fd, "\n", 1)) == 0 && fsync(fd) < 0)
			rc = -errno;
	}
	close(fd);
	return rc;
}

/*
 * Read DIR/catalog-cache.json (a regular file of at most CACHE_MAX bytes),
 * or an empty cache; what was wrong with it is said.
 */
static json_t *
cache_load(struct crippled *k)
{
	char path[PATH_MAX], why[256] = "";
	json_error_t je;
	json_t *c = NULL;
	size_t len = 0;
	char *text;
	int rc;

	if ((rc = path_in(k, "catalog-cache.json", path, sizeof(path))) == 0 &&
	    (rc = sf_read_file(path, true, CACHE_MAX, &text, &len)) == 0) {
		c = json_loadb(text, len, 0, &je);
		free(text);
		if (!c)
			snprintf(why, sizeof(why), "unreadable: %.150s, line %d "
			    "column %d", je.text, je.line, je.column);
		else if (!json_is_object(c))
			snprintf(why, sizeof(why), "unreadable: not a JSON object");
	} else if (rc != -ENOENT) {
		snprintf(why, sizeof(why), "%s", rc == -EFBIG ?
		    "larger than 256 MiB" : sf_strerror(rc));
	}
	if (!json_is_object(c)) {
		json_decref(c);
		if (why[0])
			log_err("crippled mode: %s/catalog-cache.json %s: only root "
			    "may send requests, and dumps need the listing "
			    "command", k->dir, why);
		else
			log_warn("crippled mode: no catalog cache in %s: only root "
			    "may send requests, and dumps need the listing "
			    "command", k->dir);
		c = json_object();
	}
	return c;
}

/* Enter crippled mode (see crippled_int.h). */
int
crip_start(struct ctld *c, const char *dir, const char *prefix,
    const char *why, char *err)
{
	struct crippled *k = calloc(1, sizeof(*k));
	int rc;

	if (!k) {
		snprintf(err, CAT_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	if (strlen(dir) >= sizeof(k->dir) - 32 || !prefix ||
	    !cat_name_valid(prefix) || strlen(prefix) >= sizeof(k->prefix) - 6) {
		snprintf(err, CAT_ERRLEN, "bad journal directory or label prefix");
		free(k);
		return -EINVAL;
	}
	snprintf(k->dir, sizeof(k->dir), "%s", dir);
	snprintf(k->prefix, sizeof(k->prefix), "%s", prefix);
	snprintf(k->why, sizeof(k->why), "%s", why);
	now_str(k->since, sizeof(k->since));
	k->last_job = CRIP_JOB_BASE;
	k->lock_fd = -1;
	rc = mkdir(dir, 0750) < 0 && errno != EEXIST ? -errno : 0;
	if (rc < 0)
		snprintf(err, CAT_ERRLEN, "journal directory %s: %s", dir,
		    strerror(-rc));
	else if ((rc = lock_dir(k, err)) == 0 && ((rc = end_line(k,
	    "journal")) < 0 || (rc = end_line(k, "dumplog")) < 0 ||
	    (rc = replay_journal(k)) < 0 || (rc = tapes_load(k)) < 0 ||
	    (rc = site_load(k)) < 0))
		snprintf(err, CAT_ERRLEN, "journal directory %s: %s", dir,
		    sf_strerror(rc));	/* which file: in the log above */
	if (rc < 0) {
		crip_free(k);
		return rc;
	}
	dumplog_labels(k);
	k->cache = cache_load(k);
	/* Jobs running when abs-ctld stopped: their media server is gone. */
	for (struct cjob *j = k->jobs; j; j = j->next)
		if (strcmp(j->state, "running") == 0)
			crip_job_state(k, j, "failed", "abs-ctld restarted while it ran");
	if ((rc = crip_journal(k, json_pack("{s:s,s:s}", "rec", "start", "why",
	    why))) < 0) {
		snprintf(err, CAT_ERRLEN, "journal %s/journal: %s", dir,
		    strerror(-rc));
		crip_free(k);
		return rc;
	}
	c->crip = k;
	if (!c->site[0])	/* started crippled: hello names the journal's */
		snprintf(c->site, sizeof(c->site), "%s", k->site);
	log_err("CRIPPLED MODE (no catalog: %s): journal %s, labels %s%%05d, "
	    "job IDs above %lld; merge with abs-ctl merge %s once the catalog "
	    "is back", why, dir, prefix, (long long)CRIP_JOB_BASE, dir);
	return 0;
}

void
crip_free(struct crippled *k)
{
	if (!k)
		return;
	while (k->jobs) {
		struct cjob *j = k->jobs;
		k->jobs = j->next;
		free(j);
	}
	while (k->tapes) {
		struct ctape *t = k->tapes;
		k->tapes = t->next;
		free(t);
	}
	json_decref(k->cache);
	if (k->lock_fd >= 0)
		close(k->lock_fd);
	free(k);
}

/* A write probe: whether the catalog takes a write now. */
bool
crip_catalog_broken(struct ctld *c)
{
	char err[CAT_ERRLEN];

	if (c->crip)
		return false;
	return cat_message_add(c->db, NULL, 0, "info", "abs-ctld: catalog write "
	    "check", err) < 0;
}

/* The catalog failed while running: crippled mode from now on. */
int
crip_switch(struct ctld *c, const char *why)
{
	char err[CAT_ERRLEN];
	int rc;

	if (c->crip)
		return 0;
	if (!c->journal) {
		log_err("the catalog failed (%s) and abs-ctld has no --journal "
		    "directory for crippled mode", why);
		return -ENOENT;
	}
	if ((rc = crip_start(c, c->journal, c->label_prefix, why, err)) < 0) {
		log_err("the catalog failed (%s), and crippled mode cannot start: "
		    "%s", why, err);
		return rc;
	}
	/* Reservations stay as they are in the catalog; merge sorts them. */
	for (struct drive *d = c->drives; d; d = d->next) {
		d->reserved[0] = '\0';
		if (d->job && !d->engine) {	/* waiting for its media server */
			crip_job_lost(c, d, "the catalog failed while its media "
			    "server was away");
			d->job = 0;
			d->orphaned = 0;
		}
		ctld_message(c, d, "error", "CRIPPLED MODE: the catalog failed (%s);"
		    " jobs go on from the journal in %s", why, c->journal);
	}
	cat_close(c->db);
	c->db = NULL;
	return 0;
}

/* An entity for the cache. */
static int
cache_entity_row(const struct cat_entity *e, void *arg)
{
	return j_append(arg, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o*}", "name",
	    j_str(e->name), "source", j_str(e->source), "pool", j_str(e->pool),
	    "type", j_str(e->type), "active", j_int(e->active), "commands",
	    ctld_type_commands(e->snapshot_cmd, e->dump_cmd, e->incr_cmd,
	    e->release_cmd)));
}

/* The last full's date into the cached entity. */
static int
cache_last_full(const struct cat_dump *d, void *arg)
{
	json_object_set_new(arg, "last_full", j_str(d->started));
	return 0;
}

/* A tape's label for the cache: crippled mode never generates it. */
static int
cache_label_row(const struct cat_tape *t, void *arr)
{
	return j_append(arr, j_str(t->label));
}

/* A grant for the cache: crippled mode's roles. */
static int
cache_acl_row(const struct cat_acl *g, void *arr)
{
	if (g->identity)
		return j_append(arr, json_pack("{s:s,s:o}", "identity", g->identity,
		    "role", j_str(g->role)));
	return j_append(arr, json_pack("{s:I,s:o}", "uid", (json_int_t)g->uid,
	    "role", j_str(g->role)));
}

/* An authorized media server for the cache. */
static int
cache_mserver_row(const struct cat_mserver *m, void *arr)
{
	return j_append(arr, json_pack("{s:s,s:s}", "name", m->name, "identity",
	    m->identity));
}

/* Normal mode: DIR/catalog-cache.json from the catalog, atomically. */
void
crip_cache_write(struct ctld *c)
{
	struct crippled k = { 0 };
	json_t *ents = json_array(), *labels = json_array(), *acl = json_array();
	json_t *ms = json_array();
	json_t *cache, *e;
	char err[CAT_ERRLEN], at[32], *s = NULL;
	size_t i;
	int rc;

	if (!c->journal || c->crip || !c->db)
		goto out;
	snprintf(k.dir, sizeof(k.dir), "%s", c->journal);
	if ((rc = cat_entities_list(c->db, cache_entity_row, ents, err)) < 0 ||
	    (rc = cat_tapes_list(c->db, NULL, cache_label_row, labels, err)) < 0 ||
	    (rc = cat_acl_list(c->db, cache_acl_row, acl, err)) < 0 ||
	    (rc = cat_mserver_list(c->db, NULL, cache_mserver_row, ms, err)) < 0)
		goto fail;
	json_array_foreach(ents, i, e)
		if ((rc = cat_dump_last(c->db, json_string_value(json_object_get(e,
		    "name")), true, cache_last_full, e, err)) < 0)
			goto fail;
	now_str(at, sizeof(at));
	cache = json_pack("{s:s,s:O,s:O,s:O,s:O}", "written", at, "entities",
	    ents, "labels", labels, "acl", acl, "media_servers", ms);
	s = cache ? json_dumps(cache, JSON_INDENT(1)) : NULL;
	json_decref(cache);
	if (mkdir(c->journal, 0750) < 0 && errno != EEXIST)
		log_err("journal directory %s: %s", c->journal, strerror(errno));
	else if (!s || (rc = write_atomic(&k, "catalog-cache.json", s)) < 0)
		log_err("writing %s/catalog-cache.json: %s", c->journal,
		    s ? strerror(-rc) : "out of memory");
	goto out;
fail:
	log_err("catalog cache for crippled mode: %s", err);
out:
	free(s);
	json_decref(ents);
	json_decref(labels);
	json_decref(acl);
	json_decref(ms);
}

/* The journal directory's active tapes, read in normal mode. */
static int
hold_load(struct ctld *c, struct crippled *k)
{
	memset(k, 0, sizeof(*k));
	if (!c->journal || strlen(c->journal) >= sizeof(k->dir))
		return -ENOENT;
	snprintf(k->dir, sizeof(k->dir), "%s", c->journal);
	return tapes_load(k);
}

/* Free what hold_load read. */
static void
hold_free(struct crippled *k)
{
	while (k->tapes) {
		struct ctape *t = k->tapes;
		k->tapes = t->next;
		free(t);
	}
}

/* Whether label_map ("TAPE-ID LABEL" entries) confirms tape_id. */
static bool
confirmed(json_t *label_map, const char *tape_id)
{
	size_t n = strlen(tape_id), i;
	json_t *e;

	json_array_foreach(label_map, i, e) {
		const char *s = json_string_value(e);
		if (s && strncmp(s, tape_id, n) == 0 && s[n] == ' ')
			return true;
	}
	return false;
}

/*
 * Normal mode, a merge: lines naming a tape that crippled mode labelled
 * and whose physical label nobody confirmed yet are held back (a media
 * server reporting its journal would bring it in under its generated
 * label). The lines to merge (a new reference); *held counts the others.
 */
json_t *
crip_merge_hold(struct ctld *c, json_t *lines, json_t *label_map, int *held)
{
	struct crippled k;
	struct cat_dl_rec r;
	json_t *out, *l;
	size_t i;

	*held = 0;
	if (hold_load(c, &k) < 0 || !k.tapes) {
		hold_free(&k);
		return json_incref(lines);
	}
	out = json_array();
	json_array_foreach(lines, i, l) {
		struct ctape *t = NULL;
		if (cat_dl_parse(json_string_value(l), &r) == 0)
			t = crip_tape_by_id(&k, r.tape_id);
		if (t && strcmp(t->state, "offered") && strcmp(t->state, "merged") &&
		    !confirmed(label_map, t->tape_id)) {
			(*held)++;	/* kept in place: line numbers still hold */
			json_array_append_new(out, json_string(""));
		} else {
			json_array_append(out, l);
		}
	}
	hold_free(&k);
	return out;
}

/*
 * The spot verifications the journal holds for tapes that just became the
 * catalog's (ids: an object of their tape IDs). Once: a tape is marked
 * merged only once.
 */
static void
merge_verifications(struct ctld *c, struct crippled *k, json_t *ids)
{
	char path[PATH_MAX], *line = NULL, err[CAT_ERRLEN];
	ssize_t n;
	FILE *fp;
	int rc;

	if (path_in(k, "journal", path, sizeof(path)) < 0 ||
	    !(fp = open_own(path, &rc)))
		return;
	if (!(line = malloc(JOURNAL_LINE_MAX + 2))) {
		fclose(fp);
		return;
	}
	while ((n = sf_getline(fp, line, JOURNAL_LINE_MAX + 2)) != 0) {
		json_t *r;
		if (n < 0 || !strstr(line, "\"verified\"") ||
		    !(r = json_loads(line, 0, NULL)))
			continue;
		const char *id = json_string_value(json_object_get(r, "tape_id"));
		if (id && json_object_get(ids, id) &&
		    strcmp(json_string_value(json_object_get(r, "rec")) ?
		    json_string_value(json_object_get(r, "rec")) : "", "verified") == 0 &&
		    cat_verification_add(c->db, id, json_string_value(
		    json_object_get(r, "dump")), "spot", json_integer_value(
		    json_object_get(r, "checked")), json_integer_value(
		    json_object_get(r, "bad")), err) < 0)
			log_err("merging the journal's verifications: %s", err);
		json_decref(r);
	}
	free(line);
	fclose(fp);
}

/* A tape ID the catalog knows, into the object arg. */
static int
known_row(const struct cat_tape *t, void *arg)
{
	return t->tape_id ? json_object_set_new(arg, t->tape_id, json_true()) :
	    0;
}

/*
 * After a merge: the confirmed tapes the catalog now knows (adopted, or
 * added by their parts; not one left in a label conflict) are the
 * catalog's.
 */
void
crip_merge_confirmed(struct ctld *c, json_t *label_map)
{
	struct crippled k;
	json_t *ids = json_object(), *known = json_object();
	char err[CAT_ERRLEN];
	bool changed = false;

	memset(&k, 0, sizeof(k));
	if (!json_array_size(label_map) || hold_load(c, &k) < 0 ||
	    cat_tapes_list(c->db, NULL, known_row, known, err) < 0) {
		hold_free(&k);
		json_decref(ids);
		json_decref(known);
		return;
	}
	for (struct ctape *t = k.tapes; t; t = t->next)
		if (strcmp(t->state, "offered") && strcmp(t->state, "merged") &&
		    confirmed(label_map, t->tape_id) &&
		    json_object_get(known, t->tape_id)) {
			snprintf(t->state, sizeof(t->state), "merged");
			json_object_set_new(ids, t->tape_id, json_true());
			changed = true;
		}
	if (changed && crip_tapes_save(&k) == 0)
		merge_verifications(c, &k, ids);
	hold_free(&k);
	json_decref(ids);
	json_decref(known);
}
