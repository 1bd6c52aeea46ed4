/*
 * Merge dump-log records (catalog/dumplog.h) into the catalog: direct-mode
 * logs, and media servers' journals written while abs-ctld was away.
 * Idempotent: what is known is skipped. Unknown tapes join the pool under
 * their own tape ID; a label already used there by another tape is a
 * conflict the operator resolves by reading the sticker (reported, not
 * merged).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog/db_int.h"
#include "catalog/dumplog.h"

struct merge {
	struct cat_db *db;
	int64_t pool;
	struct cat_merge_result *res;
	cat_conflict_fn *fn;
	void *arg;
	char *err;
	size_t line;		/* index of the line being merged */
	char why[CAT_ERRLEN];	/* why it is rejected */
	char site[64];		/* this catalog's site: whose job IDs are ours */
};

/* A merge_* step's result when the line is inconsistent (m->why says). */
#define REJECT 1
#define REJECTED(m, ...) (snprintf((m)->why, sizeof((m)->why), __VA_ARGS__), \
	REJECT)

/* The record's tape: its row id, 0 for a conflict, or negative. */
static int64_t
merge_tape(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t = 0;
	int rc = db_int(m->db, m->err, "finding a merged tape", &t, "SELECT id"
	    " FROM tapes WHERE tape_id = ?", "t", r->tape_id);

	if (rc != 0)
		return rc < 0 ? rc : t;
	rc = db_int(m->db, m->err, "checking a merged label", &t, "SELECT id FROM"
	    " tapes WHERE pool_id = ? AND label = ? AND state != 'destroyed'", "it",
	    m->pool, r->label);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		struct cat_merge_conflict c = { r->label, r->tape_id, "the pool"
		    " has another tape with this label: check the sticker, then"
		    " relabel or destroy one", m->line, false };
		return m->fn ? m->fn(&c, m->arg) : 0;
	}
	rc = db_exec(m->db, m->err, "adding a merged tape", "INSERT INTO tapes"
	    " (tape_id, label, pool_id, state, ever_written) VALUES (?, ?, ?,"
	    " 'appendable', 1)", "tti", r->tape_id, r->label, m->pool);
	if (rc < 0)
		return rc;
	m->res->tapes_added++;
	return sqlite3_last_insert_rowid(m->db->db);
}

/* The record's entity: its row id, or negative. */
static int64_t
merge_entity(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t e = 0;
	char src[1100];
	int rc = db_int(m->db, m->err, "finding a merged entity", &e, "SELECT id"
	    " FROM entities WHERE name = ?", "t", r->entity);

	if (rc != 0)
		return rc < 0 ? rc : e;
	snprintf(src, sizeof(src), "%s:%s", r->source_kind[0] ? r->source_kind :
	    "unknown", r->partition);
	rc = db_exec(m->db, m->err, "adding a merged entity", "INSERT INTO"
	    " entities (name, type_id, source, pool_id) VALUES (?, (SELECT id"
	    " FROM entity_types WHERE name = 'default'), ?, ?)", "tti", r->entity,
	    src, m->pool);
	if (rc < 0)
		return rc;
	m->res->entities_added++;
	return sqlite3_last_insert_rowid(m->db->db);
}

/*
 * The record's job here, in *job (0: none). A job ID means something only
 * with the site of the master that gave it (site=): ours is our job; any
 * other is the job whose origin is SITE:ID (as cat_job_adopt records a
 * reported one), added once, so that two masters' job 7 stay two jobs and
 * a second merge finds the first one's. 0, or negative.
 */
static int
merge_job(struct merge *m, const struct cat_dl_rec *r, int64_t *job)
{
	char origin[160], detail[200];
	int rc;

	*job = 0;
	if (r->job <= 0 || !r->site[0])
		return 0;	/* direct mode, or a line older than site= */
	if (strcmp(r->site, m->site) == 0 && (rc = db_int(m->db, m->err,
	    "finding a merged line's job", job, "SELECT id FROM jobs WHERE id ="
	    " ? AND origin IS NULL", "i", r->job)) != 0)
		return rc < 0 ? rc : 0;
	snprintf(origin, sizeof(origin), "%.64s:%lld", r->site, (long long)r->job);
	if ((rc = db_int(m->db, m->err, "finding a merged job", job, "SELECT id"
	    " FROM jobs WHERE origin = ?", "t", origin)) != 0)
		return rc < 0 ? rc : 0;
	/* Failed until its dump line says how it ended. */
	snprintf(detail, sizeof(detail), "merged from a dump log: job %lld of"
	    " master %.64s", (long long)r->job, r->site);
	rc = db_exec(m->db, m->err, "adding a merged job", "INSERT INTO jobs"
	    " (kind, entity_id, state, created, started, detail, origin) VALUES"
	    " ('dump', (SELECT id FROM entities WHERE name = ?), 'failed', ?, ?,"
	    " ?, ?)", "ttttt", r->entity, r->date, r->date, detail, origin);
	if (rc < 0)
		return rc;
	*job = sqlite3_last_insert_rowid(m->db->db);
	return 0;
}

/* A dump as the catalog has it, to check a line against. */
struct known_dump {
	int64_t id;
	char entity[256], since[32], started[32], alg[8], state[16];
	int64_t level;
};

/* Copy the columns entity, level, since, started, alg, state, id. */
static int
known_dump_row(sqlite3_stmt *st, void *arg)
{
	struct known_dump *k = arg;
	const char *t;

#define COPY(f, col) snprintf(k->f, sizeof(k->f), "%s", \
	(t = db_text(st, col)) ? t : "-")
	COPY(entity, 0);
	k->level = db_i64(st, 1);
	COPY(since, 2);
	COPY(started, 3);
	COPY(alg, 4);
	COPY(state, 5);
#undef COPY
	k->id = db_i64(st, 6);
	return 1;
}

/* The dump of the record: 1 and *k, 0 if unknown, or negative. */
static int
known_dump(struct merge *m, const struct cat_dl_rec *r, struct known_dump *k)
{
	memset(k, 0, sizeof(*k));
	return db_query(m->db, m->err, "finding a merged dump", known_dump_row, k,
	    "SELECT e.name, d.level, d.since, d.started, d.digest_alg, d.state,"
	    " d.id FROM dumps d JOIN entities e ON e.id = d.entity_id WHERE"
	    " d.dump_uid = ?", "t", r->dump_id);
}

/* REJECT unless the record says of its dump what the catalog says. */
static int
dump_agrees(struct merge *m, const struct cat_dl_rec *r,
    const struct known_dump *k)
{
	const char *since = r->since[0] ? r->since : "-";
	if (strcmp(k->entity, r->entity) != 0 || k->level != r->level ||
	    strcmp(k->since, since) != 0 || strcmp(k->started, r->date) != 0 ||
	    strcmp(k->alg, r->digest_alg) != 0)
		return REJECTED(m, "dump %s is recorded as %.40s level %lld of"
		    " %.20s since %.20s (%.8s); the line says otherwise",
		    r->dump_id, k->entity, (long long)k->level, k->started,
		    k->since, k->alg);
	return 0;
}

/* A recorded part: where it is and what it holds. */
struct known_part {
	char tape_id[40], digest[72];
	int64_t file, offset, bytes, blocks;
};

/* Copy the columns tape_id, file, offset, bytes, blocks, digest. */
static int
known_part_row(sqlite3_stmt *st, void *arg)
{
	struct known_part *p = arg;
	const char *t;

	snprintf(p->tape_id, sizeof(p->tape_id), "%s",
	    (t = db_text(st, 0)) ? t : "");
	p->file = db_i64(st, 1);
	p->offset = db_i64(st, 2);
	p->bytes = db_i64(st, 3);
	p->blocks = db_i64(st, 4);
	snprintf(p->digest, sizeof(p->digest), "%s",
	    (t = db_text(st, 5)) ? t : "");
	return 1;
}

/* Part n of dump row d: 1 and *p, 0 if not recorded, or negative. */
static int
known_part(struct merge *m, int64_t d, int64_t n, struct known_part *p)
{
	memset(p, 0, sizeof(*p));
	return db_query(m->db, m->err, "finding a merged part", known_part_row, p,
	    "SELECT t.tape_id, p.file, p.offset, p.bytes, p.blocks, p.digest FROM"
	    " dump_parts p JOIN tapes t ON t.id = p.tape_id WHERE p.dump_id = ?"
	    " AND p.part = ?", "ii", d, n);
}

/*
 * A part line against its dump's recorded parts: 1 if the same part is
 * recorded already (nothing to do), REJECT if it or a neighbour disagrees
 * (or the dump is finished without it), 0 to merge it, or negative.
 */
static int
part_agrees(struct merge *m, const struct cat_dl_rec *r,
    const struct known_dump *k)
{
	struct known_part p;
	int rc;

	if ((rc = known_part(m, k->id, r->part, &p)) < 0)
		return rc;
	if (rc == 1) {
		if (strcmp(p.tape_id, r->tape_id) != 0 || p.file != (int64_t)r->file
		    || p.offset != (int64_t)r->offset ||
		    p.bytes != (int64_t)r->bytes || p.blocks != (int64_t)r->blocks
		    || strcmp(p.digest, r->digest) != 0)
			return REJECTED(m, "part %u of dump %s is recorded as tape %s"
			    " file %lld offset %lld bytes %lld: the line says tape %s"
			    " file %llu offset %llu bytes %llu", r->part, r->dump_id,
			    p.tape_id, (long long)p.file, (long long)p.offset,
			    (long long)p.bytes, r->tape_id,
			    (unsigned long long)r->file, (unsigned long long)r->offset,
			    (unsigned long long)r->bytes);
		return 1;
	}
	/* A dump failed when its job was lost, or rebuilt from tapes but
	   incomplete, still takes its parts. */
	if (strcmp(k->state, "running") != 0 && strcmp(k->state, "failed") != 0 &&
	    strcmp(k->state, "incomplete") != 0)
		return REJECTED(m, "dump %s is %s without a part %u", r->dump_id,
		    k->state, r->part);
	if (r->part > 1 && (rc = known_part(m, k->id, r->part - 1, &p)) != 0) {
		if (rc < 0)
			return rc;
		if (p.offset + p.bytes != (int64_t)r->offset)
			return REJECTED(m, "part %u of dump %s starts at %llu, part %u"
			    " ends at %lld", r->part, r->dump_id,
			    (unsigned long long)r->offset, r->part - 1,
			    (long long)(p.offset + p.bytes));
	}
	if ((rc = known_part(m, k->id, (int64_t)r->part + 1, &p)) != 0) {
		if (rc < 0)
			return rc;
		if ((int64_t)(r->offset + r->bytes) != p.offset)
			return REJECTED(m, "part %u of dump %s ends at %llu, part %u"
			    " starts at %lld", r->part, r->dump_id,
			    (unsigned long long)(r->offset + r->bytes), r->part + 1,
			    (long long)p.offset);
	}
	return 0;
}

/* When the record's part was written (or its dump completed). */
static const char *
written(const struct cat_dl_rec *r)
{
	return r->written[0] && strcmp(r->written, "-") != 0 ? r->written :
	    r->date;
}

/* A part line: its tape, entity and dump as needed, then the part. */
static int
merge_part(struct merge *m, const struct cat_dl_rec *r)
{
	struct known_dump k;
	int64_t t, e = 0, d = 0, job = 0;
	int rc;

	if ((rc = known_dump(m, r, &k)) < 0)
		return rc;
	if (rc == 1 && ((rc = dump_agrees(m, r, &k)) != 0 ||
	    (rc = part_agrees(m, r, &k)) != 0)) {
		if (rc == 1 && strcmp(m->why, "") == 0) {
			m->res->skipped++;	/* known already */
			return 0;
		}
		return rc;
	}
	if ((t = merge_tape(m, r)) <= 0 || (e = merge_entity(m, r)) <= 0) {
		if (t < 0 || (t > 0 && e < 0))
			return (int)(t < 0 ? t : e);
		m->res->skipped++;
		return 0;
	}
	if ((rc = merge_job(m, r, &job)) < 0 ||
	    (rc = db_exec(m->db, m->err, "adding a merged dump", "INSERT OR"
	    " IGNORE INTO dumps (dump_uid, entity_id, job_id, level, since,"
	    " started, state, digest_alg) VALUES (?, ?, nullif(?, 0), ?, ?, ?,"
	    " 'running', ?)", "tiiitt" "t", r->dump_id, e, job, (int64_t)r->level,
	    r->since, r->date, r->digest_alg)) < 0 ||
	    (rc = db_int(m->db, m->err, "finding a merged dump", &d, "SELECT id"
	    " FROM dumps WHERE dump_uid = ?", "t", r->dump_id)) < 0)
		return rc;
	if (rc == 0) {
		m->res->skipped++;
		return 0;
	}
	rc = db_exec(m->db, m->err, "adding a merged part", "INSERT INTO"
	    " dump_parts (dump_id, part, tape_id, file, offset, bytes, blocks,"
	    " block_size, digest, trailer, written) VALUES (?, ?, ?, ?, ?, ?, ?,"
	    " ?, ?, ?, ?)", "iiiiiiiitit", d, (int64_t)r->part, t,
	    (int64_t)r->file, (int64_t)r->offset, (int64_t)r->bytes,
	    (int64_t)r->blocks, (int64_t)r->block_size, r->digest,
	    (int64_t)(strcmp(r->status, "ok") == 0), written(r));
	if (rc < 0)
		return rc;
	m->res->parts++;
	rc = db_exec(m->db, m->err, "counting a merged part", "UPDATE tapes SET"
	    " bytes = bytes + ?, files = files + 2, ever_written = 1, state ="
	    " CASE WHEN state = 'blank' THEN 'appendable' ELSE state END,"
	    " last_written = max(coalesce(last_written, ''), ?) WHERE id = ?",
	    "iti", (int64_t)r->bytes, written(r), t);
	return rc < 0 ? rc : 0;
}

/* A dump's recorded parts: how many, the highest, their bytes, and how
   many do not start where the parts before them end. */
struct parts_sum {
	int64_t n, max, bytes, gaps;
};

/* Copy the four columns. */
static int
parts_sum_row(sqlite3_stmt *st, void *arg)
{
	struct parts_sum *s = arg;

	s->n = db_i64(st, 0);
	s->max = db_i64(st, 1);
	s->bytes = db_i64(st, 2);
	s->gaps = db_i64(st, 3);
	return 1;
}

/*
 * A dump line against its parts: REJECT if they disagree, 1 if some are
 * not merged yet (incomplete: skipped), 0 if all are there and agree.
 */
static int
dump_parts_agree(struct merge *m, const struct cat_dl_rec *r, int64_t d)
{
	struct parts_sum s = { 0, 0, 0, 0 };
	struct known_part p;
	int rc = db_query(m->db, m->err, "adding up a merged dump's parts",
	    parts_sum_row, &s, "SELECT count(*), coalesce(max(part), 0),"
	    " coalesce(sum(bytes), 0), (SELECT count(*) FROM dump_parts p WHERE"
	    " p.dump_id = ?1 AND p.offset != (SELECT coalesce(sum(q.bytes), 0)"
	    " FROM dump_parts q WHERE q.dump_id = ?1 AND q.part < p.part)) FROM"
	    " dump_parts WHERE dump_id = ?1", "i", d);

	if (rc < 0)
		return rc;
	if (s.max > (int64_t)r->part)
		return REJECTED(m, "dump %s says %u parts, part %lld is recorded",
		    r->dump_id, r->part, (long long)s.max);
	if (s.n < (int64_t)r->part)
		return 1;
	if (s.gaps)
		return REJECTED(m, "dump %s: %lld of its parts do not start where"
		    " the one before ends", r->dump_id, (long long)s.gaps);
	if (s.bytes != (int64_t)r->bytes)
		return REJECTED(m, "dump %s says %llu bytes, its parts hold %lld",
		    r->dump_id, (unsigned long long)r->bytes, (long long)s.bytes);
	if ((rc = known_part(m, d, 1, &p)) < 0)
		return rc;
	if (strcmp(p.tape_id, r->tape_id) != 0 || p.file != (int64_t)r->file)
		return REJECTED(m, "dump %s says it starts on tape %s file %llu, its"
		    " part 1 is on tape %s file %lld", r->dump_id, r->tape_id,
		    (unsigned long long)r->file, p.tape_id, (long long)p.file);
	return 0;
}

/* A dump line: complete (or failed) once all its parts are merged. */
static int
merge_dump(struct merge *m, const struct cat_dl_rec *r)
{
	struct known_dump k;
	int64_t job = 0;
	int rc = known_dump(m, r, &k);

	if (rc <= 0) {
		if (rc == 0)
			m->res->skipped++;	/* its parts were not merged */
		return rc;
	}
	if ((rc = merge_job(m, r, &job)) < 0)
		return rc;
	if ((rc = dump_agrees(m, r, &k)) != 0 ||
	    (rc = dump_parts_agree(m, r, k.id)) != 0) {
		if (rc == 1 && strcmp(m->why, "") == 0) {
			m->res->skipped++;	/* incomplete */
			return 0;
		}
		return rc;
	}
	/*
	 * A dump failed because its job was lost (abs-ctld or its media
	 * server gone) is complete when the journal says it is.
	 */
	rc = db_exec(m->db, m->err, "completing a merged dump", "UPDATE dumps SET"
	    " state = ?1, finished = ?, bytes = ?, raw_bytes = ?, digest = ?,"
	    " raw_digest = ?, job_id = coalesce(job_id, nullif(?, 0)) WHERE id ="
	    " ? AND (state = 'running' OR (state IN ('failed', 'incomplete') AND"
	    " ?1 = 'complete'))", "ttiittii",
	    strcmp(r->status, "complete") == 0 ? "complete" : "failed", written(r),
	    (int64_t)r->bytes, (int64_t)r->raw_bytes, r->digest, r->raw_digest,
	    job, k.id);
	if (rc == 1)
		m->res->dumps++;
	else if (rc == 0)
		m->res->skipped++;	/* finished already */
	/* Its base and index keys (issue 13), where the catalog lacks them. */
	if (rc >= 0 && (r->base[0] || r->index_bytes) && (rc = db_exec(m->db,
	    m->err, "recording a merged dump's chain", "UPDATE dumps SET"
	    " base_uid = coalesce(base_uid, nullif(?1, '')), index_raw = CASE"
	    " WHEN index_bytes IS NULL AND ?2 > 0 THEN ?3 ELSE index_raw END,"
	    " index_stored = CASE WHEN index_bytes IS NULL AND ?2 > 0 THEN ?4"
	    " ELSE index_stored END, index_bytes = CASE WHEN index_bytes IS NULL"
	    " AND ?2 > 0 THEN ?2 ELSE index_bytes END WHERE id = ?5", "tiiii",
	    r->base, (int64_t)r->index_bytes, (int64_t)r->index_raw,
	    (int64_t)r->index_stored, k.id)) > 0)
		rc = 0;
	/* Another master's job (merged or reported) ended with its dump. */
	if (rc >= 0 && job && strcmp(r->status, "complete") == 0)
		rc = db_exec(m->db, m->err, "ending a merged job", "UPDATE jobs SET"
		    " state = 'done', finished = ? WHERE id = ? AND origin IS NOT"
		    " NULL AND state = 'failed'", "ti", written(r), job);
	return rc < 0 ? rc : 0;
}

/*
 * An aborted line: the operator stopped the dump; its parts stay on tape,
 * the dump is aborted (never complete), and so is another master's job.
 */
static int
merge_aborted(struct merge *m, const struct cat_dl_rec *r)
{
	struct known_dump k;
	int64_t job = 0;
	int rc = known_dump(m, r, &k);

	if (rc <= 0) {
		if (rc == 0)
			m->res->skipped++;	/* none of its parts merged */
		return rc;
	}
	if ((rc = dump_agrees(m, r, &k)) != 0 || (rc = merge_job(m, r, &job)) < 0)
		return rc;
	rc = db_exec(m->db, m->err, "aborting a merged dump", "UPDATE dumps SET"
	    " state = 'aborted', finished = ?, job_id = coalesce(job_id,"
	    " nullif(?, 0)) WHERE id = ? AND state IN ('running', 'failed',"
	    " 'incomplete')", "tii", written(r), job, k.id);
	if (rc == 0)
		m->res->skipped++;	/* complete, or aborted already */
	if (rc >= 0 && job)
		rc = db_exec(m->db, m->err, "aborting a merged job", "UPDATE jobs SET"
		    " state = 'aborted', finished = ? WHERE id = ? AND origin IS NOT"
		    " NULL AND state = 'failed'", "ti", written(r), job);
	return rc < 0 ? rc : 0;
}

/*
 * The tape a bad, full or error line names: its row id; 0 for a conflict
 * (the line is skipped, and counted so) or negative.
 */
static int64_t
line_tape(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t = merge_tape(m, r);

	if (t == 0)
		m->res->skipped++;
	return t;
}

/* A bad line: the cartridge goes out of service (it may hold no part). */
static int
merge_bad(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t = line_tape(m, r);
	int rc;

	if (t <= 0)
		return (int)t;
	rc = db_exec(m->db, m->err, "taking a merged tape out of service",
	    "UPDATE tapes SET state = 'out-of-service' WHERE tape_id = ? AND"
	    " state != 'out-of-service'", "t", r->tape_id);
	if (rc == 1)
		m->res->bad_tapes++;
	return rc < 0 ? rc : 0;
}

/* A full line: the cartridge reached early warning; never appended to. */
static int
merge_full(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t = line_tape(m, r);
	int rc;

	if (t <= 0)
		return (int)t;
	/*
	 * Only if nothing was written to the tape after the line (a tape the
	 * catalog recycled since then starts anew: no files, or newer ones).
	 */
	rc = db_exec(m->db, m->err, "marking a merged tape full",
	    "UPDATE tapes SET state = 'full' WHERE tape_id = ? AND state IN"
	    " ('appendable', 'blank', 'reserved') AND files > 0 AND"
	    " coalesce(last_written, '') <= ?", "tt", r->tape_id, written(r));
	return rc < 0 ? rc : 0;
}

/* An error line: once per event (the same kind, tape and time). */
static int
merge_error(struct merge *m, const struct cat_dl_rec *r)
{
	int64_t t = line_tape(m, r), seen = 0;
	int rc;

	if (t <= 0)
		return (int)t;
	rc = db_int(m->db, m->err, "checking a merged error", &seen, "SELECT"
	    " count(*) FROM error_events ev JOIN tapes t ON t.id = ev.tape_id"
	    " WHERE t.tape_id = ? AND ev.kind = ? AND ev.at = ?", "ttt",
	    r->tape_id, r->status, r->date);
	if (rc < 0 || seen)
		return rc < 0 ? rc : 0;
	rc = db_exec(m->db, m->err, "adding a merged error", "INSERT INTO"
	    " error_events (at, tape_id, kind, message) VALUES (?, (SELECT id"
	    " FROM tapes WHERE tape_id = ?), ?, ?)", "tttt", r->date, r->tape_id,
	    r->status, "merged from a dump log");
	if (rc == 1)
		m->res->errors++;
	return rc < 0 ? rc : 0;
}

/* A line merged by its type: 0, REJECT, or negative. */
static int
merge_rec(struct merge *m, const struct cat_dl_rec *r)
{
	switch (r->type) {
	case CAT_DL_PART:
		return merge_part(m, r);
	case CAT_DL_DUMP:
		return merge_dump(m, r);
	case CAT_DL_BAD:
		return merge_bad(m, r);
	case CAT_DL_ERROR:
		return merge_error(m, r);
	case CAT_DL_FULL:
		return merge_full(m, r);
	case CAT_DL_ABORTED:
		return merge_aborted(m, r);
	}
	return REJECTED(m, "unknown record type");
}

/* Tell fn of a rejected line; its result (negative stops the merge). */
static int
reject(struct merge *m)
{
	struct cat_merge_conflict c = { "", "", m->why, m->line, true };

	m->res->rejected++;
	return m->fn ? m->fn(&c, m->arg) : 0;
}

/*
 * One line: parsed, checked, then merged by its type inside a savepoint,
 * so that a line rejected half-way leaves nothing behind. Foreign lines
 * are skipped.
 */
static int
merge_line(struct merge *m, const char *line)
{
	struct cat_merge_result before = *m->res;
	struct cat_dl_rec r;
	int rc;

	m->why[0] = '\0';
	rc = line ? cat_dl_parse(line, &r) : -ENOMSG;
	if (rc == -ENOMSG) {
		m->res->skipped++;
		return 0;
	}
	if (rc < 0) {
		snprintf(m->why, sizeof(m->why), "not a dump-log line (cut short "
		    "or damaged: a value that does not parse, or no dump, entity "
		    "or label)");
		return reject(m);
	}
	if (cat_dl_check(&r, m->why, sizeof(m->why)) < 0)
		return reject(m);
	if ((rc = db_exec(m->db, m->err, "merging a line", "SAVEPOINT line",
	    "")) < 0)
		return rc;
	rc = merge_rec(m, &r);
	if (rc == REJECT) {
		if ((rc = db_exec(m->db, m->err, "undoing a rejected line",
		    "ROLLBACK TO line", "")) < 0)
			return rc;
		*m->res = before;
		if ((rc = reject(m)) < 0)
			return rc;
	} else if (rc < 0) {
		return rc;
	}
	rc = db_exec(m->db, m->err, "merging a line", "RELEASE line", "");
	return rc < 0 ? rc : 0;
}

/* Merge dump-log lines into the catalog in one transaction. */
int
cat_merge(struct cat_db *db, const char *pool, const char *const *lines,
    size_t n, struct cat_merge_result *res, cat_conflict_fn *fn, void *arg,
    char *err)
{
	struct merge m = { db, 0, res, fn, arg, err, 0, "", "" };
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = cat_site(db, m.site, sizeof(m.site), err)) < 0)
		return rc;
	rc = db_int(db, err, "finding the merge's pool", &m.pool, "SELECT id FROM"
	    " pools WHERE name = ?", "t", pool);
	if (rc <= 0)
		return rc < 0 ? rc : db_fail(err, -ENOENT, "no pool %s", pool);
	if ((rc = db_begin(db, err)) < 0)
		return rc;
	for (m.line = 0; m.line < n; m.line++)
		if ((rc = merge_line(&m, lines[m.line])) < 0) {
			db_rollback(db);
			return rc;
		}
	return db_commit(db, err);
}

/* A label the operator confirmed (see catalog.h). */
int
cat_merge_confirm_label(struct cat_db *db, const char *pool,
    const char *entry, char *err)
{
	char tape_id[64], label[64], extra[2];
	int64_t known = 0;
	int rc;

	if (!entry || sscanf(entry, "%63s %63s %1s", tape_id, label, extra) != 2 ||
	    !cat_name_valid(label) || strspn(tape_id, "0123456789abcdef") !=
	    strlen(tape_id))
		return db_fail(err, -EINVAL, "label map entry '%.80s' is not "
		    "'TAPE-ID LABEL'", entry ? entry : "");
	if ((rc = db_int(db, err, "finding a confirmed tape", &known, "SELECT"
	    " count(*) FROM tapes WHERE tape_id = ?", "t", tape_id)) < 0 || known)
		return rc < 0 ? rc : 0;
	rc = db_exec(db, err, "adopting a confirmed tape", "UPDATE tapes SET"
	    " tape_id = ?, state = 'appendable', ever_written = 1 WHERE label = ?"
	    " AND state = 'blank' AND ever_written = 0 AND pool_id = (SELECT id"
	    " FROM pools WHERE name = ?) AND NOT EXISTS (SELECT 1 FROM dump_parts"
	    " p WHERE p.tape_id = tapes.id)", "ttt", tape_id, label, pool);
	return rc < 0 ? rc : rc > 0;
}
