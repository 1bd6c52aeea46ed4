/* The archiver: an archive queue's files to tape (engine/archive.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/clock.h"
#include "common/crash.h"
#include "common/log.h"
#include "common/safefile.h"
#include "common/util.h"
#include "engine/archive.h"
#include "engine/tape.h"
#include "queue/queue.h"

static const char *const state_names[] = { "waiting", "running",
	"load-media", "unloading", "stopped" };

const char *
eng_archive_state_name(enum eng_archive_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

/* A file written, waiting for the commit point that covers it. */
struct pending {
	char dump_id[33];
	char name[ABSQ_NAME_MAX];
	struct absq_entry *taken;	/* the entry as it was archived */
	uint64_t verify_checked, verify_bad;
	bool returned;			/* eng_dump came back with it */
	bool committed;
	struct cat_dl_rec rec;		/* its dump line, once committed */
};

struct arch {
	const struct eng_archive_opts *o;
	struct eng_dump_opts d;
	char log[PATH_MAX], status[PATH_MAX], refused[PATH_MAX],
	    superseded[PATH_MAX];
	char entity[64];
	/* The dump log's part lines not yet used, read from log_off on. */
	FILE *logfp;
	long log_off;
	struct cat_dl_rec *parts;
	size_t nparts, capparts;
	struct pending *pend;
	size_t npend, cappend;
	const char *cur;		/* the entry eng_dump is writing */
	char *qabs;			/* the queue's absolute path */
	/* Status. */
	enum eng_archive_state state;
	char file[ABSQ_PATH_MAX + 1];
	char label[64];
	char next[64];			/* the cartridge about to be loaded */
	char msgs[ENG_ARCH_MESSAGES][512];
	unsigned nmsg, msg0;
	uint64_t queued;
	struct eng_archive_result *res;
	int ino;			/* inotify on the queue, or -1 */
	int drive_failed;
	char err[ENG_ERRLEN];
};

static void write_status(struct arch *a);

/* snprintf that may cut: for texts whose length the compiler cannot bound. */
__attribute__((format(printf, 3, 4)))
static void
put(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

/* A message for the operator: stderr (or syslog) and the status's ring. */
__attribute__((format(printf, 3, 4)))
static void
say(struct arch *a, int lvl, const char *fmt, ...)
{
	char text[512], when[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_at(lvl, "%s", text);
	util_fmt_time(clock_now(), when, sizeof(when));
	put(a->msgs[(a->msg0 + a->nmsg) % ENG_ARCH_MESSAGES],
	    sizeof(a->msgs[0]), "%s %s", when, text);
	if (a->nmsg < ENG_ARCH_MESSAGES)
		a->nmsg++;
	else
		a->msg0 = (a->msg0 + 1) % ENG_ARCH_MESSAGES;
	write_status(a);
}

static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

/* The status file, written then renamed, and the status callback. */
static void
write_status(struct arch *a)
{
	char *buf = NULL, tmp[PATH_MAX + 16];
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	int fd;

	if (!fp)
		return;
	fprintf(fp, "{\"state\":\"%s\",\"pid\":%ld,\"queue\":",
	    eng_archive_state_name(a->state), (long)getpid());
	json_str(fp, a->o->queue);
	fprintf(fp, ",\"done\":");
	json_str(fp, a->o->done);
	fprintf(fp, ",\"file\":");
	json_str(fp, a->file);
	fprintf(fp, ",\"label\":");
	json_str(fp, a->label);
	fprintf(fp, ",\"next\":");
	json_str(fp, a->next);
	fprintf(fp, ",\"queued\":%llu,\"archived\":%llu,\"refused\":%llu,"
	    "\"failed\":%llu,\"bytes\":%llu,\"messages\":[",
	    (unsigned long long)a->queued,
	    (unsigned long long)a->res->archived,
	    (unsigned long long)a->res->refused,
	    (unsigned long long)a->res->failed,
	    (unsigned long long)a->res->bytes);
	for (unsigned i = 0; i < a->nmsg; i++) {
		if (i)
			fputc(',', fp);
		json_str(fp, a->msgs[(a->msg0 + i) % ENG_ARCH_MESSAGES]);
	}
	fprintf(fp, "]}");
	if (fclose(fp) != 0) {
		free(buf);
		return;
	}
	if (a->o->status_cb)
		a->o->status_cb(a->o->ctx, buf);
	/* A name nobody can have made first: the queue is the producer's
	   to write, and a FIFO or a link put at a fixed name would hang the
	   archiver or have it write through the link. */
	char rnd[17] = "0";
	util_random_hex(rnd, 8);
	put(tmp, sizeof(tmp), "%s.%s.tmp", a->status, rnd);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0644);
	if (fd >= 0) {
		bool ok = util_write_all(fd, buf, len) == 0 &&
		    util_write_all(fd, "\n", 1) == 0;
		close(fd);
		if (!ok || rename(tmp, a->status) < 0)
			unlink(tmp);
	}
	free(buf);
}

static void
set_state(struct arch *a, enum eng_archive_state s)
{
	if (a->state == s)
		return;
	a->state = s;
	log_info("state %s%s%s", eng_archive_state_name(s),
	    a->next[0] ? ", next cartridge " : "", a->next);
	if (a->o->on_state)
		a->o->on_state(a->o->ctx, s, a->label, a->next);
	write_status(a);
}

/*
 * The engine's cartridge changes (engine.h): the status names the next
 * cartridge before it is loaded, and shows load-media while it is
 * fetched, loaded or labelled, unloading while one leaves the drive.
 */
static void
on_media(void *ctx, enum eng_media ev, const char *label, const char *where)
{
	struct arch *a = ctx;

	switch (ev) {
	case ENG_MEDIA_NEXT:
		put(a->next, sizeof(a->next), "%s", label);
		a->state = ENG_ARCH_LOAD_MEDIA;
		log_info("state %s", eng_archive_state_name(a->state));
		if (a->o->on_state)
			a->o->on_state(a->o->ctx, a->state, a->label, a->next);
		if (*label)
			say(a, LOG_LVL_INFO, "next cartridge: %s (%s)", label, where);
		else
			say(a, LOG_LVL_INFO, "next cartridge: any writable one%s%s",
			    *where ? ", " : "", where);
		break;
	case ENG_MEDIA_UNLOADING:
		set_state(a, ENG_ARCH_UNLOADING);
		break;
	case ENG_MEDIA_LOADING:
		set_state(a, ENG_ARCH_LOAD_MEDIA);
		break;
	case ENG_MEDIA_LOADED:
		put(a->label, sizeof(a->label), "%s", label);
		a->next[0] = '\0';
		say(a, LOG_LVL_INFO, "cartridge %s loaded (%s)", label, where);
		set_state(a, ENG_ARCH_RUNNING);
		break;
	}
}

/* New part lines of the dump log since the last look. */
static void
read_parts(struct arch *a)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!a->logfp && !(a->logfp = fopen(a->log, "re")))
		return;
	clearerr(a->logfp);
	if (fseek(a->logfp, a->log_off, SEEK_SET) < 0)
		return;
	while ((n = getline(&line, &cap, a->logfp)) > 0) {
		struct cat_dl_rec r;
		if (line[n - 1] != '\n')
			break;	/* a line being written: read it next time */
		a->log_off += n;
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_PART)
			continue;
		if (a->nparts == a->capparts) {
			size_t nc = a->capparts ? 2 * a->capparts : 16;
			struct cat_dl_rec *np = realloc(a->parts, nc * sizeof(*np));
			if (!np)
				break;
			a->parts = np;
			a->capparts = nc;
		}
		a->parts[a->nparts++] = r;
	}
	free(line);
}

/* The parts of dump_id into e (taken out of the list); 0 or -ENOENT. */
static int
take_parts(struct arch *a, const char *dump_id, struct absq_entry *e)
{
	size_t j = 0;

	read_parts(a);
	e->nparts = 0;
	for (size_t i = 0; i < a->nparts; i++) {
		struct cat_dl_rec *r = &a->parts[i];
		if (strcmp(r->dump_id, dump_id) != 0) {
			a->parts[j++] = *r;
			continue;
		}
		if (r->part < 1 || r->part > ABSQ_MAX_PARTS)
			continue;
		struct absq_part *p = &e->parts[r->part - 1];
		snprintf(p->label, sizeof(p->label), "%s", r->label);
		snprintf(p->tape_id, sizeof(p->tape_id), "%s", r->tape_id);
		p->file = r->file;
		p->offset = r->offset;
		p->bytes = r->bytes;
		if (r->part > e->nparts)
			e->nparts = r->part;
	}
	a->nparts = j;
	for (unsigned i = 0; i < e->nparts; i++)
		if (!e->parts[i].label[0])
			return -ENOENT;
	return e->nparts ? 0 : -ENOENT;
}

/*
 * Move NAME from the queue into dir (done, or done/refused) by one
 * rename, an older entry of the same name there kept under superseded/.
 */
static int
move_entry(struct arch *a, const char *dir, const char *name, char *err)
{
	char old[PATH_MAX], keep[PATH_MAX], rnd[9];
	struct stat st;

	if (snprintf(old, sizeof(old), "%s/%s.json", dir, name) >=
	    (int)sizeof(old))
		return -ENAMETOOLONG;
	if (lstat(old, &st) == 0) {
		/* The same path archived before (and scrubbed, and made
		   again): that record is kept, never overwritten. */
		util_random_hex(rnd, 4);
		if (snprintf(keep, sizeof(keep), "%s/%s.json.%ld.%s",
		    a->superseded, name, (long)time(NULL), rnd) >=
		    (int)sizeof(keep))
			return -ENAMETOOLONG;
		if (rename(old, keep) < 0) {
			eng_err(err, "keeping %s as %s: %s", old, keep,
			    strerror(errno));
			return -errno;
		}
	}
	return absq_entry_move(a->o->queue, dir, name, err);
}

/*
 * The queue or done directory cannot be written (not writable by the
 * archiver, its file system full): the entry stays queued, and the
 * archiver stops as for a failed drive, saying why. Going on would take
 * the same entry again and again (and write its file to tape again).
 */
static void
cannot_record(struct arch *a, const char *name, const char *why)
{
	say(a, LOG_LVL_ERR, "%s stays queued, the archiver stops: cannot record "
	    "it: %s", name, why);
	put(a->err, sizeof(a->err), "cannot record %s: %s", name, why);
	a->drive_failed = 1;
}

static uint64_t name_hash(const char *s);

/* An entry that will not be archived: to done/refused with the reason. */
static void
refuse(struct arch *a, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
refuse(struct arch *a, const char *name, const char *fmt, ...)
{
	struct absq_entry *e = calloc(1, sizeof(*e));
	char err[ABSQ_ERRLEN], why[256];
	va_list ap;
	int lk;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	a->res->refused++;
	if (!e)
		return;
	lk = absq_lock(a->o->queue, err);
	if (absq_entry_read(a->o->queue, name, e, err) == 0) {
		e->state = ABSQ_REFUSED;
		snprintf(e->reason, sizeof(e->reason), "%s", why);
		abs_crash_point("archive-entry");
		if (absq_entry_write(a->o->queue, e, err) == 0 &&
		    (abs_crash_point("archive-move"), true) &&
		    move_entry(a, a->refused, name, err) == 0)
			say(a, LOG_LVL_WARN, "refused %s: %s (report in %s)",
			    e->path, why, a->refused);
		else
			cannot_record(a, name, err);
	} else {
		/* Damaged: the file itself goes, as it is, beside a report;
		   a name too long for ".json.damaged" after it is cut, a hash
		   of the whole keeping it apart. */
		char from[PATH_MAX], to[PATH_MAX];
		snprintf(from, sizeof(from), "%s/%s.json", a->o->queue, name);
		if (strlen(name) > 200)
			put(to, sizeof(to), "%s/%.200s~%016llx.json.damaged",
			    a->refused, name,
			    (unsigned long long)name_hash(name));
		else
			put(to, sizeof(to), "%s/%s.json.damaged", a->refused,
			    name);
		if (rename(from, to) == 0)
			say(a, LOG_LVL_WARN, "refused damaged entry %.100s%s: %s "
			    "(moved to %s)", name, strlen(name) > 100 ? "..." : "",
			    why, to);
		else {
			char m[ABSQ_ERRLEN];
			put(m, sizeof(m), "damaged entry %s: %s; cannot move it to "
			    "%s: %s", name, why, a->refused, strerror(errno));
			cannot_record(a, name, m);
		}
	}
	absq_unlock(lk);
	free(e);
}

/* An entry moved into done, told to the caller (a media server). */
static void
done_told(struct arch *a, const struct absq_entry *e)
{
	char *json;

	if (!a->o->done_cb || !(json = absq_entry_json(e)))
		return;
	a->o->done_cb(a->o->ctx, e->name, json);
	free(json);
}

/* Whether the queue's entry now is still the one that was archived. */
static bool
same_entry(const struct absq_entry *now, const struct absq_entry *taken,
    const struct cat_dl_rec *rec)
{
	if (strcmp(now->path, taken->path) != 0)
		return false;
	if (now->state == taken->state && now->added == taken->added &&
	    now->closed == taken->closed && now->size == taken->size &&
	    strcmp(now->sum, taken->sum) == 0)
		return true;
	/* Closed since (an expired entry the producer closed late): the
	   same if it is what went to tape. */
	return now->state == ABSQ_CLOSED && now->size >= 0 &&
	    (uint64_t)now->size == rec->raw_bytes &&
	    (!now->sum_alg[0] || (strcmp(now->sum_alg, rec->digest_alg) == 0 &&
	    strcmp(now->sum, rec->raw_digest) == 0));
}

/* A committed file: its entry, with where it is, into done. */
static void
finish(struct arch *a, struct pending *p)
{
	struct absq_entry *e = calloc(1, sizeof(*e));
	const struct cat_dl_rec *rec = &p->rec;
	char err[ABSQ_ERRLEN], why[256] = "";
	int lk, rc;

	if (!e)
		return;
	lk = absq_lock(a->o->queue, err);
	rc = absq_entry_read(a->o->queue, p->name, e, err);
	if (rc == -ENOENT) {
		/* Taken out of the queue meanwhile: its record still goes. */
		*e = *p->taken;
	} else if (rc) {
		say(a, LOG_LVL_ERR, "%s (its file is on tape %s file %llu, dump "
		    "%s)", err, rec->label, (unsigned long long)rec->file,
		    rec->dump_id);
		goto out;
	} else if (!same_entry(e, p->taken, rec)) {
		say(a, LOG_LVL_WARN, "%s changed while it was archived: it stays "
		    "queued (the copy on tape %s file %llu, dump %s, is not "
		    "recorded as its archive)", e->path, rec->label,
		    (unsigned long long)rec->file, rec->dump_id);
		goto out;
	}
	if (take_parts(a, rec->dump_id, e) < 0) {
		say(a, LOG_LVL_ERR, "the dump log %s lacks parts of dump %s (%s): "
		    "%s stays queued", a->log, rec->dump_id, rec->label, e->path);
		goto out;
	}
	e->state = ABSQ_ARCHIVED;
	e->archived = time(NULL);
	snprintf(e->entity, sizeof(e->entity), "%s", a->entity);
	snprintf(e->dump_id, sizeof(e->dump_id), "%s", rec->dump_id);
	snprintf(e->digest_alg, sizeof(e->digest_alg), "%s", rec->digest_alg);
	snprintf(e->digest, sizeof(e->digest), "%s", rec->raw_digest);
	e->bytes = rec->raw_bytes;
	e->verify_checked = p->verify_checked;
	e->verify_bad = p->verify_bad;
	e->verified = p->verify_checked > 0 && p->verify_bad == 0;
	e->checked = e->scrubbed = 0;
	/* What the producer said against what went to tape. */
	if (e->sum_alg[0] && strcmp(e->sum_alg, e->digest_alg) == 0 &&
	    strcmp(e->sum, e->digest) != 0)
		snprintf(why, sizeof(why), "checksum differs: the producer said "
		    "%s:%s, the file as archived is %s:%s", e->sum_alg, e->sum,
		    e->digest_alg, e->digest);
	else if (e->state == ABSQ_ARCHIVED && p->taken->state == ABSQ_CLOSED &&
	    p->taken->size >= 0 && (uint64_t)p->taken->size != e->bytes)
		snprintf(why, sizeof(why), "changed after it was closed: %lld "
		    "bytes then, %llu archived", (long long)p->taken->size,
		    (unsigned long long)e->bytes);
	if (why[0]) {
		/* On tape, but not what the producer queued: a report. */
		e->state = ABSQ_REFUSED;
		snprintf(e->reason, sizeof(e->reason), "%s", why);
	}
	abs_crash_point("archive-entry");
	if ((rc = absq_entry_write(a->o->queue, e, err)) == 0) {
		abs_crash_point("archive-move");
		rc = move_entry(a, why[0] ? a->refused : a->o->done, e->name,
		    err);
	}
	if (rc) {
		cannot_record(a, e->path, err);
		goto out;
	}
	if (why[0]) {
		a->res->refused++;
		say(a, LOG_LVL_WARN, "refused %s: %s (on tape %s file %llu; report "
		    "in %s)", e->path, why, rec->label,
		    (unsigned long long)rec->file, a->refused);
	} else {
		a->res->archived++;
		a->res->bytes += e->bytes;
		done_told(a, e);
		say(a, LOG_LVL_INFO, "archived %s: %llu bytes, tape %s file %llu%s",
		    e->path, (unsigned long long)e->bytes, e->parts[0].label,
		    (unsigned long long)e->parts[0].file,
		    e->nparts > 1 ? " (spans cartridges)" : "");
	}
out:
	absq_unlock(lk);
	free(e);
}

static struct pending *
find_pending(struct arch *a, const char *dump_id)
{
	for (size_t i = 0; i < a->npend; i++)
		if (strcmp(a->pend[i].dump_id, dump_id) == 0)
			return &a->pend[i];
	return NULL;
}

static struct pending *
new_pending(struct arch *a, const char *dump_id)
{
	struct pending *p;

	if (a->npend == a->cappend) {
		size_t nc = a->cappend ? 2 * a->cappend : 64;
		struct pending *np = realloc(a->pend, nc * sizeof(*np));
		if (!np)
			return NULL;
		a->pend = np;
		a->cappend = nc;
	}
	p = &a->pend[a->npend++];
	memset(p, 0, sizeof(*p));
	snprintf(p->dump_id, sizeof(p->dump_id), "%s", dump_id);
	return p;
}

/* A commit point covers this dump (inside eng_dump, or at its end). */
static void
on_commit(void *ctx, const struct cat_dl_rec *rec)
{
	struct arch *a = ctx;
	struct pending *p = find_pending(a, rec->dump_id);

	/* Not back from eng_dump yet: the file being written now. */
	if (!p && a->cur && (p = new_pending(a, rec->dump_id)) != NULL)
		snprintf(p->name, sizeof(p->name), "%s", a->cur);
	if (!p)
		return;
	p->rec = *rec;
	p->committed = true;
}

static void
on_lost(void *ctx, const struct cat_dl_rec *rec)
{
	struct arch *a = ctx;

	a->res->failed++;
	say(a, LOG_LVL_WARN, "dump %s was written but no commit point covers "
	    "it: its file stays queued and is archived again", rec->dump_id);
}

/* Every committed file whose dump is back: into done. */
static void
finish_committed(struct arch *a)
{
	size_t j = 0;

	for (size_t i = 0; i < a->npend; i++) {
		struct pending *p = &a->pend[i];
		if (p->committed && p->returned && p->taken) {
			finish(a, p);
			free(p->taken);
			continue;
		}
		a->pend[j++] = *p;
	}
	a->npend = j;
}

/* Drop what no commit point will cover any more (lost with the run). */
static void
drop_pending(struct arch *a)
{
	finish_committed(a);
	for (size_t i = 0; i < a->npend; i++)
		free(a->pend[i].taken);
	a->npend = 0;
}

/* The file of one entry to tape. 0, or <0 when the drive failed. */
static int
archive_one(struct arch *a, struct eng_commit *c, const char *name,
    bool final)
{
	struct absq_entry *e = calloc(1, sizeof(*e));
	struct eng_dump_result r;
	/* The queue library's messages are ABSQ_ERRLEN long (a path of up
	   to 1017 bytes in them), eng_dump's ENG_ERRLEN: room for both. */
	char err[ABSQ_ERRLEN > ENG_ERRLEN ? ABSQ_ERRLEN : ENG_ERRLEN] = "";
	char src[ABSQ_PATH_MAX + 8], *json = NULL;
	struct stat st;
	int rc = 0, fd = -1;

	if (!e)
		return -ENOMEM;
	if ((rc = absq_entry_read(a->o->queue, name, e, err)) != 0) {
		if (rc != -ENOENT)	/* else gone since the scan */
			refuse(a, name, "damaged entry: %s", err);
		rc = 0;
		goto out;
	}
	/* The path as named, a regular file the queue's owner may read
	   (queue.h absq_open_data): never a file the producer could not. */
	if ((fd = absq_open_data(a->o->queue, e->path, &st, err)) < 0) {
		if (fd == -ENOENT)
			refuse(a, name, "missing: %s is not on disk", e->path);
		else
			refuse(a, name, "%s", err);
		goto out;
	}
	/* What is dumped is this fd, the file just checked: a file put in
	   its place from now on (another, a link) is never read. */
	abs_crash_point("archive-checked");
	json = absq_entry_json(e);
	if (!json || strlen(json) >= FMT_ARCHIVE_MAX) {
		refuse(a, name, "its entry is longer than a part header holds "
		    "(%d bytes)", FMT_ARCHIVE_MAX - 1);
		goto out;
	}
	snprintf(src, sizeof(src), "file:%s", e->path);
	snprintf(a->file, sizeof(a->file), "%s", e->path);
	a->d.source = src;
	a->d.source_fd_given = true;
	a->d.source_fd = fd;
	a->d.archive_entry = json;
	/* The producer's checksum is checked in its algorithm. */
	a->d.digest = e->sum_alg[0] ? e->sum_alg : a->o->dump.digest;
	a->d.commit = c;
	c->final = final;
	a->cur = name;
	set_state(a, ENG_ARCH_RUNNING);
	rc = eng_dump(&a->d, &r, err);
	a->cur = NULL;
	a->d.source_fd_given = false;
	close(fd);
	fd = -1;
	if (rc == 0) {
		struct pending *p = find_pending(a, r.dump_id);
		if (!p && (p = new_pending(a, r.dump_id)) != NULL)
			snprintf(p->name, sizeof(p->name), "%s", name);
		if (p) {
			p->returned = true;
			p->verify_checked = r.verify_checked;
			p->verify_bad = r.verify_bad;
			p->taken = e;
			e = NULL;
		}
		/* The cartridge the last part went to. */
		const char *last = strrchr(r.labels, ',');
		put(a->label, sizeof(a->label), "%s", last ? last + 1 :
		    r.labels[0] ? r.labels : r.label);
		finish_committed(a);
		goto out;
	}
	a->res->failed++;
	/* The file's fault, or the drive's? */
	if (lstat(e->path, &st) < 0 && errno == ENOENT) {
		refuse(a, name, "missing: %s went from disk while it was "
		    "archived (%s)", e->path, err);
		rc = 0;
	} else if (access(e->path, R_OK) < 0 && errno == EACCES) {
		refuse(a, name, "unreadable: %s (%s)", e->path, err);
		rc = 0;
	} else {
		say(a, LOG_LVL_ERR, "%s stays queued: %s", e->path, err);
		put(a->err, sizeof(a->err), "%s: %s", e->path, err);
		a->drive_failed = 1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(json);
	free(e);
	return rc;
}

/*
 * Whether the dump log (the archiver's record of what is on tape) holds
 * e's dump with the parts e names. 0, or -ENOENT with why.
 */
static int
log_proves(struct arch *a, const struct absq_entry *e, char *why, size_t len)
{
	struct cat_dl_rec *p = calloc(ABSQ_MAX_PARTS, sizeof(*p)), dump;
	unsigned n = 0;
	int rc;

	if (!p)
		return snprintf(why, len, "out of memory"), -ENOMEM;
	rc = cat_dl_find_dump(a->log, e->dump_id, &dump, p, ABSQ_MAX_PARTS, &n);
	if (rc < 0)
		snprintf(why, len, "dump log %.200s: %s", a->log, strerror(-rc));
	else if (rc == 0 || n == 0)
		snprintf(why, len, "dump log %.200s has no dump %s", a->log,
		    e->dump_id);
	else if (n != e->nparts)
		snprintf(why, len, "dump log %.200s has %u parts of dump %s, the "
		    "entry %u", a->log, n, e->dump_id, e->nparts);
	else if (strcmp(dump.digest_alg, e->digest_alg) != 0 ||
	    strcmp(dump.raw_digest, e->digest) != 0 ||
	    dump.raw_bytes != e->bytes)
		snprintf(why, len, "dump %s holds %llu bytes of %s:%s, the entry "
		    "says %llu of %s:%s", e->dump_id,
		    (unsigned long long)dump.raw_bytes, dump.digest_alg,
		    dump.raw_digest, (unsigned long long)e->bytes, e->digest_alg,
		    e->digest);
	else {
		rc = 0;
		for (unsigned i = 0; i < n && !rc; i++) {
			const struct absq_part *q = &e->parts[i];
			if (strcmp(p[i].label, q->label) != 0 ||
			    strcmp(p[i].tape_id, q->tape_id) != 0 ||
			    p[i].file != q->file || p[i].offset != q->offset ||
			    p[i].bytes != q->bytes) {
				snprintf(why, len, "part %u is not where the dump log "
				    "%.200s puts it", i + 1, a->log);
				rc = -1;
			}
		}
		free(p);
		return rc ? -ENOENT : 0;
	}
	free(p);
	return -ENOENT;
}

/*
 * The names a run of the drive took already (FNV-1a hashes, open
 * addressing): a look at the queue during the run skips them without
 * reading their entries (they stay queued until a commit point covers
 * them). A false match only leaves an entry for the next run.
 */
struct nameset {
	uint64_t *h;
	size_t cap, n;
};

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ? h : 1;
}

static bool
nameset_has(const struct nameset *ns, const char *name)
{
	uint64_t h = name_hash(name);

	if (!ns || !ns->cap)
		return false;
	for (size_t i = h % ns->cap; ns->h[i]; i = (i + 1) % ns->cap)
		if (ns->h[i] == h)
			return true;
	return false;
}

static int
nameset_add(struct nameset *ns, const char *name)
{
	if (2 * (ns->n + 1) > ns->cap) {
		struct nameset nn = { .cap = ns->cap ? 2 * ns->cap : 256 };
		if (!(nn.h = calloc(nn.cap, sizeof(*nn.h))))
			return -ENOMEM;
		for (size_t i = 0; i < ns->cap; i++) {
			if (!ns->h[i])
				continue;
			size_t j = ns->h[i] % nn.cap;
			while (nn.h[j])
				j = (j + 1) % nn.cap;
			nn.h[j] = ns->h[i];
			nn.n++;
		}
		free(ns->h);
		*ns = nn;
	}
	uint64_t h = name_hash(name);
	size_t i = h % ns->cap;
	while (ns->h[i] && ns->h[i] != h)
		i = (i + 1) % ns->cap;
	if (!ns->h[i]) {
		ns->h[i] = h;
		ns->n++;
	}
	return 0;
}

/*
 * The entries ready now, oldest first, less those in skip (may be NULL);
 * finishes interrupted moves.
 */
static int
ready_entries(struct arch *a, char (**names)[ABSQ_NAME_MAX], size_t *n,
    const struct nameset *skip)
{
	struct absq_entry *e = malloc(sizeof(*e));
	struct absq_ref *refs;
	char err[ABSQ_ERRLEN];
	size_t cnt, k = 0;
	time_t now = time(NULL);
	int rc;

	*names = NULL;
	*n = 0;
	if (!e)
		return -ENOMEM;
	if ((rc = absq_scan(a->o->queue, &refs, &cnt, err)) < 0) {
		say(a, LOG_LVL_ERR, "%s", err);
		free(e);
		return rc;
	}
	*names = cnt ? calloc(cnt, sizeof(**names)) : NULL;
	a->queued = cnt;
	for (size_t i = 0; i < cnt && (*names || !cnt); i++) {
		if (nameset_has(skip, refs[i].name))
			continue;
		rc = absq_entry_read(a->o->queue, refs[i].name, e, err);
		if (rc == -ENOENT)
			continue;	/* gone since the scan */
		if (rc) {
			refuse(a, refs[i].name, "damaged entry: %s", err);
			continue;
		}
		if (e->state == ABSQ_ARCHIVED) {
			/* A move a crash cut short: it is on tape already, if
			   the dump log says so (a producer may write the queue,
			   and an entry it made "archived" is no proof). */
			char why[512];
			if (log_proves(a, e, why, sizeof(why)) < 0) {
				refuse(a, refs[i].name, "an entry marked archived "
				    "that the dump log does not prove: %s", why);
				continue;
			}
			int lk = absq_lock(a->o->queue, err);
			abs_crash_point("archive-move");
			if (move_entry(a, a->o->done, refs[i].name, err) == 0) {
				say(a, LOG_LVL_INFO, "archived %s (a move finished "
				    "after a restart)", e->path);
				done_told(a, e);
			}
			else
				say(a, LOG_LVL_ERR, "%s", err);
			absq_unlock(lk);
			continue;
		}
		if (e->state == ABSQ_REFUSED) {
			int lk = absq_lock(a->o->queue, err);
			if (move_entry(a, a->refused, refs[i].name, err) != 0)
				say(a, LOG_LVL_ERR, "%s", err);
			absq_unlock(lk);
			continue;
		}
		/* (read above: its name is shorter than ABSQ_NAME_MAX) */
		if (absq_ready(e, now))
			snprintf((*names)[k++], ABSQ_NAME_MAX, "%.*s",
			    ABSQ_NAME_MAX - 1, refs[i].name);
	}
	free(refs);
	free(e);
	*n = k;
	return 0;
}

/* Whether the inotify events waiting name a queue entry (not a dot file). */
static bool
entry_event(int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool found = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			size_t len = ev->len ? strlen(ev->name) : 0;
			if (len > 5 && ev->name[0] != '.' &&
			    strcmp(ev->name + len - 5, ".json") == 0)
				found = true;
			p += sizeof(*ev) + ev->len;
		}
	return found;
}

/*
 * Sleep up to secs, or less when asked to stop, or when an entry is
 * renamed into the queue (inotify): a producer's file is taken at once,
 * not at the next look.
 */
static bool
idle(struct arch *a, double secs)
{
	for (double t = 0; t < secs; t += 0.1) {
		if (a->o->stop && a->o->stop(a->o->ctx))
			return false;
		if (a->ino < 0) {
			usleep(100000);
			continue;
		}
		struct pollfd pf = { .fd = a->ino, .events = POLLIN };
		if (poll(&pf, 1, 100) > 0 && entry_event(a->ino))
			break;
	}
	return !(a->o->stop && a->o->stop(a->o->ctx));
}

/*
 * A run of the drive that reached its last file takes the entries ready
 * since (waiting up to linger seconds for one: the drive's buffer keeps
 * it streaming meanwhile), so that it ends, with a commit point, only
 * when the producer stopped, not whenever the archiver caught up.
 */
#define ARCH_LINGER 0.5

static void
more_entries(struct arch *a, char (**names)[ABSQ_NAME_MAX], size_t *n,
    size_t batch, struct nameset *taken, double linger)
{
	double until = eng_now() + linger;

	for (;;) {
		char (*add)[ABSQ_NAME_MAX] = NULL;
		size_t k = 0;
		if (ready_entries(a, &add, &k, taken) == 0 && k > 0) {
			if (*n + k > batch)
				k = batch - *n;
			char (*nn)[ABSQ_NAME_MAX] = realloc(*names,
			    (*n + k) * sizeof(**names));
			if (nn) {
				*names = nn;
				for (size_t i = 0; i < k; i++) {
					if (nameset_add(taken, add[i]) < 0)
						break;
					memcpy(nn[(*n)++], add[i], sizeof(add[i]));
				}
			}
			free(add);
			return;
		}
		free(add);
		double left = until - eng_now();
		if (left <= 0 || a->ino < 0)
			return;
		/* Until an entry is renamed in (other events: wait on). */
		struct pollfd pf = { .fd = a->ino, .events = POLLIN };
		int ms = (int)(left * 1000) + 1;
		if (poll(&pf, 1, ms) <= 0)
			return;
		if (!entry_event(a->ino))
			continue;
	}
}

static int
check_dirs(struct arch *a, char *err)
{
	const struct eng_archive_opts *o = a->o;
	struct stat qs, ds;

	if (!o->queue || !o->done) {
		eng_err(err, "archive needs --queue DIR and --done DIR");
		return -EINVAL;
	}
	if (stat(o->queue, &qs) < 0 || !S_ISDIR(qs.st_mode)) {
		eng_err(err, "--queue %s: not a directory", o->queue);
		return -ENOTDIR;
	}
	if (mkdir(o->done, 0755) < 0 && errno != EEXIST) {
		eng_err(err, "--done %s: %s", o->done, strerror(errno));
		return -errno;
	}
	if (stat(o->done, &ds) < 0 || !S_ISDIR(ds.st_mode)) {
		eng_err(err, "--done %s: not a directory", o->done);
		return -ENOTDIR;
	}
	if (qs.st_dev != ds.st_dev) {
		eng_err(err, "--done %s is on another file system than --queue "
		    "%s: an entry moves into done by one rename, so both must "
		    "be on one", o->done, o->queue);
		return -EXDEV;
	}
	if (qs.st_ino == ds.st_ino) {
		eng_err(err, "--done and --queue are one directory");
		return -EINVAL;
	}
	if (snprintf(a->refused, sizeof(a->refused), "%s/refused", o->done) >=
	    (int)sizeof(a->refused) ||
	    snprintf(a->superseded, sizeof(a->superseded), "%s/superseded",
	    o->done) >= (int)sizeof(a->superseded)) {
		eng_err(err, "--done %s: path too long", o->done);
		return -ENAMETOOLONG;
	}
	if ((mkdir(a->refused, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(a->superseded, 0755) < 0 && errno != EEXIST)) {
		eng_err(err, "%s: %s", o->done, strerror(errno));
		return -errno;
	}
	return 0;
}

int
eng_archive(const struct eng_archive_opts *o, struct eng_archive_result *res,
    char *err)
{
	struct arch *a = calloc(1, sizeof(*a));
	char lockp[PATH_MAX], holder[64] = "";
	double t0 = eng_now();
	int lock = -1, rc;

	memset(res, 0, sizeof(*res));
	if (!a)
		return -ENOMEM;
	a->ino = -1;
	a->o = o;
	a->res = res;
	a->d = o->dump;
	if ((rc = check_dirs(a, err)) < 0)
		goto out;
	/* One archiver per queue. */
	snprintf(lockp, sizeof(lockp), "%s/.archiver.lock", o->queue);
	if ((lock = sf_lock(lockp, holder, sizeof(holder))) < 0) {
		rc = lock;
		if (rc == -EBUSY)
			eng_err(err, "another archiver (%s) works queue %s",
			    holder, o->queue);
		else
			eng_err(err, "%s: %s", lockp, sf_strerror(rc));
		goto out;
	}
	if (o->dump.log)
		snprintf(a->log, sizeof(a->log), "%s", o->dump.log);
	else
		snprintf(a->log, sizeof(a->log), "%s/archive.dumplog", o->done);
	a->d.log = a->log;
	snprintf(a->status, sizeof(a->status), "%s", o->status ? o->status :
	    "");
	if (!o->status)
		snprintf(a->status, sizeof(a->status), "%s/.archive-status.json",
		    o->queue);
	snprintf(a->entity, sizeof(a->entity), "%s",
	    o->dump.entity ? o->dump.entity : "archive");
	a->d.entity = a->entity;
	a->d.media = on_media;
	a->d.media_ctx = a;
	/* The header's partition names the queue, wherever it is run from. */
	if (!a->d.partition && (a->qabs = realpath(o->queue, NULL)) != NULL)
		a->d.partition = a->qabs;
	/* The log's parts from now on: earlier ones were used before. */
	{
		struct stat st;
		a->log_off = stat(a->log, &st) == 0 ? (long)st.st_size : 0;
	}
	/* Entries renamed in (add, close) wake a waiting archiver. */
	if ((a->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0 &&
	    inotify_add_watch(a->ino, o->queue, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(a->ino);
		a->ino = -1;
	}
	a->state = ENG_ARCH_STOPPED;
	say(a, LOG_LVL_INFO, "archiving queue %s to %s, done entries into %s",
	    o->queue, o->dump.device, o->done);
	while (!a->drive_failed) {
		char (*names)[ABSQ_NAME_MAX] = NULL;
		size_t n = 0;
		unsigned batch = o->batch ? o->batch : 1000;

		if (o->stop && o->stop(o->ctx))
			break;
		if ((rc = ready_entries(a, &names, &n, NULL)) < 0) {
			snprintf(err, ENG_ERRLEN, "queue %s: %s", o->queue,
			    strerror(-rc));
			break;
		}
		if (n == 0) {
			free(names);
			a->file[0] = '\0';
			set_state(a, ENG_ARCH_WAITING);
			if (o->once || !idle(a, o->poll > 0 ? o->poll : 1))
				break;
			continue;
		}
		struct eng_commit c = { .every = o->commit_every ?
		    o->commit_every : 1000, .secs = o->commit_secs,
		    .on_commit = on_commit, .on_lost = on_lost, .ctx = a };
		if (n > batch)
			n = batch;
		struct nameset taken = { 0 };
		for (size_t i = 0; i < n; i++)
			if (nameset_add(&taken, names[i]) < 0)
				batch = (unsigned)n;	/* no memory: no more */
		if (!c.dev && !a->label[0])
			set_state(a, ENG_ARCH_LOAD_MEDIA);
		for (size_t i = 0; i < n && !a->drive_failed; i++) {
			/* Before the last file known: what came meanwhile joins
			   this run of the drive, which keeps streaming. */
			if (i + 1 == n && n < batch && !(o->stop && o->stop(o->ctx)))
				more_entries(a, &names, &n, batch, &taken,
				    o->once ? 0 : ARCH_LINGER);
			bool last = i + 1 == n;
			if (!last && o->stop && o->stop(o->ctx))
				last = true;
			if (archive_one(a, &c, names[i], last) < 0)
				break;
			if (last)
				break;
		}
		set_state(a, ENG_ARCH_UNLOADING);
		char cerr[ENG_ERRLEN] = "";
		if (eng_commit_end(&c, &a->d, cerr) < 0)
			say(a, LOG_LVL_ERR, "the last commit point: %s", cerr);
		finish_committed(a);
		drop_pending(a);
		res->commits += c.commits;
		free(names);
		free(taken.h);
	}
	if (a->drive_failed) {
		snprintf(err, ENG_ERRLEN, "%s", a->err);
		rc = -EIO;
	} else if (rc > 0) {
		rc = 0;
	}
	a->file[0] = '\0';
	set_state(a, ENG_ARCH_STOPPED);
	res->seconds = eng_now() - t0;
out:
	if (lock >= 0)
		close(lock);
	if (a->ino >= 0)
		close(a->ino);
	if (a->logfp)
		fclose(a->logfp);
	free(a->parts);
	free(a->pend);
	free(a->qabs);
	free(a);
	return rc;
}
