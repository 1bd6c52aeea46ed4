/*
 * The catalog: one SQLite file opened by abs-ctld only (WAL, foreign keys,
 * synchronous=FULL), its schema brought up to date by numbered migrations,
 * behind a typed C API by concern. It knows no wire protocol: callers turn
 * these structs into whatever they send.
 *
 * Conventions, the same for every function:
 * - The result is 0, or a count (rows delivered, rows changed), or a
 *   negative errno code; err (CAT_ERRLEN bytes, may not be NULL) then says
 *   what failed. A database error is never "not found":
 *     -ENOENT  the named thing does not exist (err names it)
 *     -EEXIST  it exists already          -EINVAL  a value is out of range
 *     -EROFS   the database is read-only  -EBUSY   it is locked
 *     -ENOSPC  the disk is full           -EBADF   the catalog is closed
 *     -EIO     any other SQLite failure
 *              (a corrupt file, a missing table, an I/O error)
 *   A few functions add their own codes; their comments say which.
 * - Rows come to a callback, one call per row, in the order stated. The
 *   struct and its strings live only until the callback returns: copy what
 *   you keep. A callback returns 0 to go on, a positive value to stop
 *   there (the function returns the rows delivered), or a negative value
 *   that stops the query and becomes the function's result. Lookups by
 *   key deliver one row or return -ENOENT.
 * - Strings that are NULL in the database are NULL; integers that may be
 *   NULL hold CAT_NULL. Dates are UTC, "YYYY-MM-DDTHH:MM:SSZ".
 * - Row ids (id fields) are the catalog's own; tape_id is a tape's unique
 *   ID as written on its label, dump_uid a dump's as written on tape.
 */
#ifndef ABS_CATALOG_H
#define ABS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAT_ERRLEN 256
#define CAT_NULL INT64_MIN	/* an integer column that is NULL */

struct cat_db;

/* Open (creating and migrating as needed) the catalog at path. */
int cat_open(const char *path, struct cat_db **out, char *err);
void cat_close(struct cat_db *db);	/* NULL is a no-op */
/* The schema version, or negative. */
int cat_schema_version(struct cat_db *db);
/* The site's ID (tape IDs start with it; job reports name it): 0. */
int cat_site(struct cat_db *db, char *buf, size_t len, char *err);
/*
 * A name the catalog stores (entity, type, pool, label, drive): 1-255
 * bytes, no blanks or control bytes, no '%', '=' or '|' (dump logs).
 */
bool cat_name_valid(const char *s);

/* ---- pools (catalog/pools.c) ---- */

struct cat_pool {
	int64_t id;
	const char *name;
	int64_t min_tapes, max_tapes;	/* 0: no limit */
	int64_t keep_fulls, keep_days;	/* reuse rules for full tapes */
	const char *created;
	int64_t tapes;			/* tapes not destroyed */
	int64_t writable;		/* blank or appendable */
};
typedef int cat_pool_fn(const struct cat_pool *p, void *arg);

/* Every pool, by name. */
int cat_pools_list(struct cat_db *db, cat_pool_fn *fn, void *arg, char *err);
int cat_pool_get(struct cat_db *db, const char *name, cat_pool_fn *fn,
    void *arg, char *err);
int cat_pool_add(struct cat_db *db, const char *name, char *err);
/* Set the rules; -1 leaves that one as it is (-EINVAL below that). */
int cat_pool_set(struct cat_db *db, const char *name, int64_t min_tapes,
    int64_t max_tapes, int64_t keep_fulls, int64_t keep_days, char *err);

/* ---- tapes (catalog/tapes.c) ---- */

struct cat_tape {
	int64_t id;
	const char *label;	/* the sticker */
	const char *tape_id;
	const char *state;	/* blank appendable full reserved no-new-writes
				   out-of-service destroyed */
	const char *pool;
	int64_t ever_written, bytes, files;
	const char *added, *last_written, *note;
	int64_t recycle;	/* cat_tapes_next: 1 if it will be relabelled */
};
typedef int cat_tape_fn(const struct cat_tape *t, void *arg);

/* Tapes of a pool (NULL: all), by pool, label and age. */
int cat_tapes_list(struct cat_db *db, const char *pool, cat_tape_fn *fn,
    void *arg, char *err);
/*
 * The next limit tapes of a pool in the order they will be written:
 * appendable (the most recently written first, to fill it), blank, then
 * full tapes whose every dump has keep_fulls newer fulls and which are
 * older than keep_days (recycled: relabelled with the same tape ID). A
 * tape holding a base (or a base's base) of a retained incremental is
 * never recycled: chains stay whole. Retained: a complete incremental
 * with fewer than keep_fulls newer fulls, or with a part on a tape
 * written less than keep_days ago.
 */
int cat_tapes_next(struct cat_db *db, const char *pool, int64_t limit,
    cat_tape_fn *fn, void *arg, char *err);
/* The tape with this label: a live one before destroyed ones. */
int cat_tape_get(struct cat_db *db, const char *label, cat_tape_fn *fn,
    void *arg, char *err);
/*
 * Add blank tapes to a pool in one transaction, fn per tape added (label,
 * tape_id, state). -EINVAL for a bad label (1-63 bytes, cat_name_valid),
 * -EDQUOT when the pool's max_tapes would be passed, -EEXIST for a label
 * the pool holds already (labels are reused only after destruction).
 */
int cat_tapes_add(struct cat_db *db, const char *pool,
    const char *const *labels, size_t n, cat_tape_fn *fn, void *arg,
    char *err);
/*
 * An operator's mark: out-of-service, no-new-writes, appendable (blank if
 * never written) or destroyed, on every live tape with the label.
 */
int cat_tape_set_state(struct cat_db *db, const char *label,
    const char *state, char *err);
/*
 * Reserve a tape for a job (job 0: none named), from blank, appendable or
 * full (reuse: only a tape cat_tapes_next would recycle), or again for
 * the job holding it; a reservation whose job
 * is not running any more is taken over. -EBUSY if another running job
 * holds it or it is not writable, -ENOENT for an unknown tape.
 */
int cat_tape_reserve(struct cat_db *db, const char *tape_id, int64_t job,
    char *err);
/*
 * Give a reserved tape back: to the state it had (blank becomes
 * appendable once it holds a label or parts), unless a job other than job
 * holds it (job 0: whoever holds it). Rows changed.
 */
int cat_tape_release(struct cat_db *db, const char *tape_id, int64_t job,
    char *err);
/* Give back every reservation no running job holds: rows changed. */
int cat_tapes_release_orphans(struct cat_db *db, char *err);
/*
 * A media server's reports on a tape (rows changed); -ENOENT for a tape
 * ID the catalog does not have. full and bad end a reservation.
 */
int cat_tape_full(struct cat_db *db, const char *tape_id, char *err);
int cat_tape_labelled(struct cat_db *db, const char *tape_id, char *err);
int cat_tape_bad(struct cat_db *db, const char *tape_id, char *err);
/* Relabelled for reuse: its old dumps expire, its counters restart. */
int cat_tape_recycled(struct cat_db *db, const char *tape_id, char *err);

/* Tapes holding complete dumps of an entity, by label. */
struct cat_tape_use {
	const char *label, *tape_id, *state, *pool;
	int64_t parts;
	const char *oldest, *newest;	/* dump dates */
};
typedef int cat_tape_use_fn(const struct cat_tape_use *u, void *arg);
int cat_tapes_for_entity(struct cat_db *db, const char *entity,
    cat_tape_use_fn *fn, void *arg, char *err);

/* ---- entities and their types (catalog/entities.c) ---- */

struct cat_entity {
	int64_t id;
	const char *name, *type, *pool;
	const char *source;	/* dir:PATH, cmd:ARGV, file:PATH */
	int64_t active;
	int64_t full_every_days, incr_every_days;	/* the type's if unset */
	const char *not_before;	/* one-time window, or NULL */
	const char *added;
	/* the nightly run (schema 5); NULL / CAT_NULL where there is none */
	int64_t server_id;	/* servers.id */
	const char *server, *subnet, *partition;
	int64_t subnet_id;
	int64_t priority;	/* effective: the entity's, else its type's */
	int64_t own_priority;	/* the entity's own (CAT_NULL: the type's) */
	const char *vanished;	/* since when discovery no longer lists it */
	int64_t discovered_by;	/* the discovery (id) that added it */
	int64_t listed_bytes;	/* the size its discovery last listed */
	/* the type's rules: deepest level (0..9), what a new entity is
	   guessed at (CAT_NULL: no guess), the commands around a dump (words
	   separated by one space, see cat_cmd_split; NULL: none) */
	int64_t max_level, estimate_bytes;
	const char *snapshot_cmd, *dump_cmd, *incr_cmd, *release_cmd;
};
typedef int cat_entity_fn(const struct cat_entity *e, void *arg);

/* Every entity, by name. */
int cat_entities_list(struct cat_db *db, cat_entity_fn *fn, void *arg,
    char *err);
/*
 * What the planner reads: the active entities that are not vanished, by
 * server then name (the same rows as cat_entities_list).
 */
int cat_entities_plan_list(struct cat_db *db, cat_entity_fn *fn, void *arg,
    char *err);
int cat_entity_get(struct cat_db *db, const char *name, cat_entity_fn *fn,
    void *arg, char *err);
/* -EINVAL for a bad name or source; -ENOENT for an unknown type or pool. */
int cat_entity_add(struct cat_db *db, const char *name, const char *source,
    const char *type, const char *pool, char *err);
/* A new entity with what the nightly run adds; NULL: none (type, pool:
   default), priority CAT_NULL: the type's. */
struct cat_entity_new {
	const char *name, *source, *type, *pool;
	const char *server, *partition;
	int64_t priority;
};
/*
 * As cat_entity_add; -ENOENT also for an unknown server (servers are
 * added by cat_server_add or discovery, never by a typo), -EINVAL for a
 * priority outside 0..CAT_PRIORITY_MAX or a bad partition (cat_name_valid).
 */
int cat_entity_create(struct cat_db *db, const struct cat_entity_new *e,
    char *err);
#define CAT_PRIORITY_MAX 1000	/* priorities: 0..1000, higher first */
/*
 * Change an entity's server (NULL: unchanged, "": none), partition (NULL:
 * unchanged, "": none) and priority (CAT_NULL: unchanged, -1: the
 * type's); -ENOENT for an unknown entity or server.
 */
int cat_entity_set(struct cat_db *db, const char *name, const char *server,
    const char *partition, int64_t priority, char *err);
/* Stop dumping it; its dumps stay. */
int cat_entity_remove(struct cat_db *db, const char *name, char *err);
int cat_entity_set_type(struct cat_db *db, const char *name,
    const char *type, char *err);
/* One-time: not before this date (YYYY-MM-DD[THH:MM:SSZ]). */
int cat_entity_set_window(struct cat_db *db, const char *name,
    const char *not_before, char *err);

/* Days between fulls and increments; CAT_NULL where an entity has none. */
struct cat_frequency {
	int64_t full_days, incr_days;
};
/*
 * Set full and/or incr (1..3650; below 0: unchanged, one of them given);
 * *now gets what is stored afterwards.
 */
int cat_entity_set_frequency(struct cat_db *db, const char *name,
    int64_t full, int64_t incr, struct cat_frequency *now, char *err);
int cat_type_set_frequency(struct cat_db *db, const char *name, int64_t full,
    int64_t incr, struct cat_frequency *now, char *err);
/* A new entity type; full and incr as above, or both below 0: 7 and 1. */
int cat_type_add(struct cat_db *db, const char *name, int64_t full,
    int64_t incr, struct cat_frequency *now, char *err);

/* What is due next: the later of the next full/incremental and the window. */
struct cat_due {
	const char *entity;
	const char *kind;	/* full incremental */
	const char *due;
	const char *last_full, *last_dump;
};
typedef int cat_due_fn(const struct cat_due *d, void *arg);
int cat_entities_next(struct cat_db *db, int64_t limit, cat_due_fn *fn,
    void *arg, char *err);

/* ---- servers and subnets (catalog/servers.c) ---- */

struct cat_subnet {
	int64_t id;
	const char *name;
	int64_t max_dumps;	/* concurrent dumps of its servers; 0: none */
	int64_t servers, entities;	/* entities: active ones */
};
typedef int cat_subnet_fn(const struct cat_subnet *s, void *arg);

struct cat_server {
	int64_t id;
	const char *name;
	int64_t subnet_id;	/* CAT_NULL: in no subnet */
	const char *subnet;
	int64_t max_dumps;	/* concurrent dumps; 0: no limit */
	int64_t subnet_max_dumps;	/* its subnet's (0 if none) */
	const char *added;
	int64_t entities;	/* active, not vanished */
	int64_t vanished;	/* active and vanished */
	int64_t discoveries;	/* discovery commands */
};
typedef int cat_server_fn(const struct cat_server *s, void *arg);

/* Every server, by name. */
int cat_servers_list(struct cat_db *db, cat_server_fn *fn, void *arg,
    char *err);
int cat_server_get(struct cat_db *db, const char *name, cat_server_fn *fn,
    void *arg, char *err);
/* Every subnet, by name. */
int cat_subnets_list(struct cat_db *db, cat_subnet_fn *fn, void *arg,
    char *err);
/*
 * Add a server; subnet (NULL: none) is made on first use; max_dumps
 * below 0: 0. -EEXIST if it exists, -EINVAL for a bad name or limit.
 */
int cat_server_add(struct cat_db *db, const char *name, const char *subnet,
    int64_t max_dumps, char *err);
/* Change a server: subnet NULL unchanged, "" none; max_dumps < 0 unchanged. */
int cat_server_set(struct cat_db *db, const char *name, const char *subnet,
    int64_t max_dumps, char *err);
/* A subnet's limit (made if new). */
int cat_subnet_set(struct cat_db *db, const char *name, int64_t max_dumps,
    char *err);

/* ---- type rules and forbidden windows (catalog/rules.c) ---- */

struct cat_type {
	int64_t id;
	const char *name;
	int64_t full_every_days, incr_every_days;
	int64_t priority, max_level;
	int64_t estimate_bytes;		/* CAT_NULL: none */
	const char *snapshot_cmd, *dump_cmd, *incr_cmd, *release_cmd;
	int64_t entities;		/* active */
};
typedef int cat_type_fn(const struct cat_type *t, void *arg);

/* Every entity type, by name. */
int cat_types_list(struct cat_db *db, cat_type_fn *fn, void *arg, char *err);
int cat_type_get(struct cat_db *db, const char *name, cat_type_fn *fn,
    void *arg, char *err);

/* A type's rules to change: -1 (estimate: CAT_NULL) or NULL unchanged. */
struct cat_type_rules {
	int64_t priority;	/* 0..CAT_PRIORITY_MAX */
	int64_t max_level;	/* 0..9 */
	int64_t estimate_bytes;	/* 0 or more; -1: none */
	/* argv text (cat_cmd_check), "": none */
	const char *snapshot_cmd, *dump_cmd, *incr_cmd, *release_cmd;
};
/* -EINVAL (err says which) for a value out of range or a bad command. */
int cat_type_set_rules(struct cat_db *db, const char *name,
    const struct cat_type_rules *r, char *err);

/*
 * A command as the catalog stores it: words split on blanks (no shell, no
 * quoting: a word holds no blank), joined by one space into out (len
 * bytes). With placeholders true (a type's commands), {entity} {date}
 * {since} {base} {snapshot} {level} (a whole word or inside one) are the
 * only {...} allowed; false (discovery commands): no placeholder, a '{'
 * is a character like any other.
 * -EINVAL (err says why) for an empty command, control bytes, an unknown
 * or unclosed placeholder, or more than CAT_CMD_MAX bytes.
 */
#define CAT_CMD_MAX 4096
int cat_cmd_check(const char *in, bool placeholders, char *out, size_t len,
    char *err);
/*
 * Split a stored command into a NULL-terminated argv (malloc'd, free with
 * cat_cmd_free): the word count, or -ENOMEM / -EINVAL for an empty one.
 */
int cat_cmd_split(const char *cmd, char ***argv);
void cat_cmd_free(char **argv);

/*
 * A recurring forbidden window, in abs-ctld's local time: on the days in
 * the mask (bit 0 Sunday .. bit 6 Saturday) from start_min (0..1439) to
 * end_min (1..1440) minutes of the day. end_min <= start_min wraps past
 * midnight: it ends at end_min on the next day (22:00-06:00 on Fri is
 * Fri 22:00 to Sat 06:00). It belongs to a type or to one entity; an
 * entity's own windows replace its type's.
 */
struct cat_window {
	int64_t id;
	const char *type, *entity;	/* one is NULL */
	int64_t days, start_min, end_min;
};
typedef int cat_window_fn(const struct cat_window *w, void *arg);

/*
 * Parse what an operator types: days "Mon-Fri", "Sat,Sun", "Mon,Wed-Fri",
 * "Fri-Mon" (wraps), "daily", "weekdays", "weekend" (names of 3 letters
 * or in full, any case); hours "HH:MM-HH:MM" (24:00 ends a day, an end
 * before the start wraps past midnight, equal is refused). 0 and
 * w->days/start_min/end_min, or -EINVAL saying what is wrong.
 */
int cat_window_parse(const char *days, const char *hours,
    struct cat_window *w, char *err);
/* "Mon-Fri 07:00-19:00" of w->days/start_min/end_min into buf. */
void cat_window_format(const struct cat_window *w, char *buf, size_t len);
/* Whether w forbids minute min (0..1439) of weekday wday (0: Sunday). */
bool cat_window_covers(const struct cat_window *w, int wday, int min);
/*
 * Add a window to a type or (exactly one of them) an entity; *id gets
 * its id. -ENOENT for an unknown type or entity.
 */
int cat_window_add(struct cat_db *db, const char *type, const char *entity,
    int64_t days, int64_t start_min, int64_t end_min, int64_t *id,
    char *err);
int cat_window_remove(struct cat_db *db, int64_t id, char *err);
/*
 * Windows of a type and/or an entity (NULL: any), by type, entity, id;
 * both NULL: every window.
 */
int cat_windows_list(struct cat_db *db, const char *type, const char *entity,
    cat_window_fn *fn, void *arg, char *err);
/* An entity's effective windows: its own, else its type's. */
int cat_entity_windows(struct cat_db *db, const char *entity,
    cat_window_fn *fn, void *arg, char *err);

/* ---- discovery (catalog/discovery.c) ---- */

struct cat_discovery {
	int64_t id;
	const char *server, *type, *pool;
	const char *cmd;		/* stored as cat_cmd_check makes it */
	const char *source_template;	/* NULL: dir:{name} */
	const char *last_run, *last_ok, *last_error;
	int64_t entities, vanished;	/* active ones it added */
	int64_t timeout_s;		/* how long it may run */
};
typedef int cat_discovery_fn(const struct cat_discovery *d, void *arg);

/* Discovery commands of a server (NULL: all), by server and id. */
int cat_discoveries_list(struct cat_db *db, const char *server,
    cat_discovery_fn *fn, void *arg, char *err);
/*
 * Add one; the server is made if new; timeout_s 1..CAT_DISCOVERY_MAX_S
 * (0: 30). -ENOENT for an unknown type or pool, -EEXIST for the same
 * command on the server, -EINVAL for a bad command, template
 * (cat_discovery_source with a probe name) or timeout.
 */
#define CAT_DISCOVERY_MAX_S 300
int cat_discovery_add(struct cat_db *db, const char *server,
    const char *type, const char *pool, const char *cmd,
    const char *source_template, int64_t timeout_s, int64_t *id, char *err);
/* Its entities stay (discovered_by cleared). */
int cat_discovery_remove(struct cat_db *db, int64_t id, char *err);

/* A line of a discovery command's output, parsed. */
struct cat_listed {
	char name[256], partition[256];	/* partition "" if none */
	int64_t bytes;			/* CAT_NULL if none */
};
/*
 * Parse one line (without its newline): "NAME [PARTITION [SIZE]]",
 * fields separated by blanks, names cat_name_valid, SIZE a count of bytes
 * with an optional K, M, G or T (powers of 1024). -EINVAL saying why.
 */
int cat_listed_parse(const char *line, struct cat_listed *out, char *err);
/*
 * A source from a template: {name} {server} {partition} substituted,
 * the result a valid source (dir:, cmd:, file:). -EINVAL if not, or if
 * a value has a "." or ".." path component (a listed "../etc" never
 * makes dir:/export/../etc).
 */
int cat_discovery_source(const char *tmpl, const char *name,
    const char *server, const char *partition, char *out, size_t len,
    char *err);

/* What applying a listing changed, one call per entity. */
struct cat_discovered {
	const char *entity;
	const char *what;	/* new back moved vanished gone removed */
	const char *since;	/* vanished: since when */
	const char *partition;
};
typedef int cat_discovered_fn(const struct cat_discovered *d, void *arg);
/*
 * A successful run of discovery id listed these entities: in one
 * transaction, a name the catalog does not have is added (the discovery's
 * type and pool, its server, the partition, the source from its
 * template; "new"); one it added or that vanished comes back (un-vanished,
 * reactivated if an admin removed it after it vanished, its server and
 * partition updated; "back", or "moved" when another server's discovery
 * had it); an active entity of this discovery not listed is flagged
 * vanished ("vanished": now; "gone": already before), never removed; an
 * entity removed by an admin while listed stays removed ("removed"). Other
 * entities (added by hand, listed by another live discovery) are left.
 * last_run and last_ok become now, last_error NULL. The count of changes.
 */
int cat_discovery_apply(struct cat_db *db, int64_t id,
    const struct cat_listed *list, size_t n, cat_discovered_fn *fn,
    void *arg, char *err);
/* A run that failed: last_run now, last_error why; nothing else changes. */
int cat_discovery_failed(struct cat_db *db, int64_t id, const char *why,
    char *err);

/* ---- dumps and their parts (catalog/dumps.c) ---- */

struct cat_dump {
	int64_t id;
	const char *dump_uid, *entity;
	int64_t job, level;
	const char *since, *started, *finished;
	const char *state;	/* running complete failed aborted expired */
	int64_t bytes, raw_bytes;	/* stored; before compression */
	const char *digest_alg, *digest, *raw_digest;
	/* the job's origin (SITE:ID) if another master gave it its ID: a job
	   merged from a dump log or reported by a media server; else NULL */
	const char *job_origin;
	/* chains (schema 6): the dump it was taken since (NULL: a full, or
	   unknown), and where its file index sits in the stream (the dump
	   line's keys; index_bytes 0 or CAT_NULL: none) */
	const char *base_uid;
	int64_t index_raw, index_stored, index_bytes;
	const char *drive;	/* its job's drive, or NULL */
};
typedef int cat_dump_fn(const struct cat_dump *d, void *arg);

/* The newest complete dump of entity at or before date (NULL: any). */
int cat_dump_for_restore(struct cat_db *db, const char *entity,
    const char *date, cat_dump_fn *fn, void *arg, char *err);
/* A dump by its uid; -ENOENT if the catalog does not have it. */
int cat_dump_get(struct cat_db *db, const char *dump_uid, cat_dump_fn *fn,
    void *arg, char *err);
/* The newest complete full (or, full false, incremental): 0 or 1 rows. */
int cat_dump_last(struct cat_db *db, const char *entity, bool full,
    cat_dump_fn *fn, void *arg, char *err);
/* Complete dumps of an entity: how many, and their stored bytes. */
int cat_dump_totals(struct cat_db *db, const char *entity, int64_t *dumps,
    int64_t *bytes, char *err);
/*
 * The whole dump is on tape: complete once all its parts are recorded,
 * else -EAGAIN (err says how many are). Reads dump_uid, bytes, raw_bytes,
 * digest, raw_digest, and finished (the last trailer's time; NULL: now);
 * base_uid and index_raw/index_stored/index_bytes if set (index_bytes >
 * 0), kept otherwise.
 */
int cat_dump_complete(struct cat_db *db, const struct cat_dump *d,
    int64_t parts, char *err);

/* A dump part, with what its dump and tape add for the views below. */
struct cat_part {
	const char *dump_uid, *entity;
	int64_t level;
	const char *since, *started;	/* the dump's */
	const char *digest_alg, *dump_state;
	int64_t part;
	const char *label, *tape_id;
	int64_t file, offset, bytes, blocks, block_size;
	const char *digest;
	bool ok;		/* its trailer was written */
	const char *written;	/* cat_part_record: the trailer's time (what
				   the tape says), NULL: now */
};
typedef int cat_part_fn(const struct cat_part *p, void *arg);

/* The parts of a dump (by row id) in order. */
int cat_dump_parts(struct cat_db *db, int64_t dump, cat_part_fn *fn,
    void *arg, char *err);
/* The parts on a tape (by row id) in file order. */
int cat_tape_parts(struct cat_db *db, int64_t tape, cat_part_fn *fn,
    void *arg, char *err);
/*
 * A part confirmed on tape by job: its dump is created running if new,
 * the tape becomes appendable and counts it. -ENOENT for an unknown tape.
 */
int cat_part_record(struct cat_db *db, const struct cat_part *p, int64_t job,
    char *err);

/* ---- chains and file indexes (catalog/chains.c) ---- */

/*
 * A chain is a full and the incrementals taken since it: each dump names
 * its base (base_uid; a dump recorded before schema 6 without one has as
 * base the dump of a lower level that started at its since). A dump can
 * be restored as the tree it saw only if every dump of its chain is
 * complete and every part of each is on a tape in service (not
 * out-of-service, not destroyed).
 */

/* A dump of a chain, with what restoring it needs. */
struct cat_chain_dump {
	int64_t id;		/* 0: a base the catalog does not have */
	const char *dump_uid, *entity;
	const char *base_uid;	/* NULL: a full (or no base known) */
	int64_t level;
	const char *since, *started, *finished;
	const char *state;	/* NULL for a base the catalog lacks */
	int64_t bytes, raw_bytes;
	const char *digest_alg, *digest;
	int64_t index_raw, index_stored, index_bytes;	/* CAT_NULL: none */
	int64_t index_len;	/* bytes of its index the catalog keeps (0) */
	int64_t parts;		/* parts recorded */
	const char *bad_label;	/* a tape of its parts not in service */
	const char *head_uid;	/* the full its chain starts at (NULL if
				   the chain does not reach one) */
	/* NULL if this dump can be restored with its chain, else why not,
	   naming the dump at fault */
	const char *why;
};
typedef int cat_chain_fn(const struct cat_chain_dump *d, void *arg);

/*
 * The chain of a dump, the full first and dump_uid last, one row per
 * dump (a base the catalog lacks is a row with id 0 and state NULL).
 * why (CAT_ERRLEN, may be NULL) gets "" if the chain is restorable, else
 * the reason naming the dump at fault. Rows, or -ENOENT for an unknown
 * dump.
 */
int cat_dump_chain(struct cat_db *db, const char *dump_uid, cat_chain_fn *fn,
    void *arg, char *why, char *err);
/*
 * What a restore of entity at date (NULL: now; a date prefix or a full
 * UTC time) reads: the chain ending at the newest complete dump at or
 * before date (level_only: that dump alone), the full first. -ENOENT (no
 * such dump), -EAGAIN (a newer dump is incomplete: cat_dump_for_restore),
 * -ENOLINK for a broken chain: err names the dump missing, expired,
 * incomplete or on a tape out of service, and nothing is delivered.
 */
int cat_restore_chain(struct cat_db *db, const char *entity, const char *date,
    bool level_only, cat_chain_fn *fn, void *arg, char *err);
/*
 * Every dump of an entity that is complete or incomplete, oldest first,
 * each with its chain's head and whether it can be restored (why). Rows.
 */
int cat_entity_chains(struct cat_db *db, const char *entity,
    cat_chain_fn *fn, void *arg, char *err);

/* An entity whose newest complete dump cannot be restored. */
struct cat_broken_chain {
	const char *entity, *dump_uid;
	const char *why;	/* names the dump at fault */
};
typedef int cat_broken_chain_fn(const struct cat_broken_chain *b, void *arg);
/*
 * Active entities whose current chain (the one ending at their newest
 * complete dump) is broken, by name: their next dump must be a full. An
 * incremental whose base was never known (taken since a time no dump
 * started at) is not a broken chain.
 */
int cat_chains_broken(struct cat_db *db, cat_broken_chain_fn *fn, void *arg,
    char *err);

/* The index is kept in chunks of this many bytes. */
#define CAT_INDEX_CHUNK (1 << 20)
/* No index is larger (FIDX_MAX_DECODED bounds what it decodes to). */
#define CAT_INDEX_MAX ((int64_t)4 << 30)
/*
 * Keep a dump's file index: its encoded bytes (the caller checked them
 * with fidx_decode), in one transaction. 1 stored, 0 the same bytes were
 * kept already (idempotent); -ENOENT for an unknown dump, -EEXIST if other
 * bytes are kept for it, -EINVAL for 0 bytes, more than CAT_INDEX_MAX, or
 * a length that is not the dump's index_bytes (when known).
 */
int cat_index_store(struct cat_db *db, const char *dump_uid,
    const uint8_t *buf, size_t len, char *err);
/*
 * A dump's index: its bytes into *buf (malloc'd) and *len. -ENOENT for an
 * unknown dump or one whose index the catalog does not keep (err says
 * which), -EIO if the chunks do not follow each other.
 */
int cat_index_load(struct cat_db *db, const char *dump_uid, uint8_t **buf,
    size_t *len, char *err);
/*
 * Chunk seq (0..) of a dump's kept index into *buf (malloc'd, *len bytes)
 * and the index's whole length into *total: 0, -ENOENT for an unknown
 * dump or a chunk it does not have.
 */
int cat_index_chunk(struct cat_db *db, const char *dump_uid, int64_t seq,
    uint8_t **buf, size_t *len, int64_t *total, char *err);
/* Bytes of the index kept for a dump into *len (0: none). 0 or -ENOENT. */
int cat_index_len(struct cat_db *db, const char *dump_uid, int64_t *len,
    char *err);

/* ---- jobs, drives and drive messages (catalog/jobs.c) ---- */

struct cat_job {
	int64_t id;
	const char *kind;	/* dump restore archive */
	const char *state;	/* queued running done failed aborted */
	const char *entity, *drive;
	const char *created, *started, *finished;
	const char *detail;	/* the caller's, stored as given */
	/* cat_job_get only: what a media server needs */
	const char *source, *pool, *last_full;
	/* cat_jobs_running only: the tape it holds, where it came from */
	const char *tape_id, *origin;
	const char *type;	/* the entity's type (written on tape) */
	/* cat_job_get only: the type's commands around a dump (as stored,
	   cat_cmd_split; NULL or "": none) */
	const char *snapshot_cmd, *dump_cmd, *incr_cmd, *release_cmd;
};
typedef int cat_job_fn(const struct cat_job *j, void *arg);

/* The newest limit jobs, newest first. */
int cat_jobs_list(struct cat_db *db, int64_t limit, cat_job_fn *fn,
    void *arg, char *err);
/* Queued jobs, oldest first. */
int cat_jobs_queued(struct cat_db *db, cat_job_fn *fn, void *arg, char *err);
int cat_job_get(struct cat_db *db, int64_t job, cat_job_fn *fn, void *arg,
    char *err);
/*
 * Queue n jobs of one kind on a drive, one per entity, in one transaction;
 * ids[i] gets each job's id.
 */
int cat_jobs_add(struct cat_db *db, const char *kind, const char *drive,
    const char *const *entities, size_t n, int64_t uid, const char *detail,
    int64_t *ids, char *err);
/* The drive's oldest queued job: 1 and *job, or 0 if none. */
int cat_job_next(struct cat_db *db, const char *drive, int64_t *job,
    char *err);
int cat_job_start(struct cat_db *db, int64_t job, char *err);
/* Whether the job has ended (done, failed, aborted): 1 and *ended (0 or
   1), or 0 if there is no such job. */
int cat_job_ended(struct cat_db *db, int64_t job, int64_t *ended, char *err);
/* Bytes of the last complete dump of the job's entity (0 if none). */
int cat_job_estimate(struct cat_db *db, int64_t job, int64_t *bytes,
    char *err);
/* Abort a queued job: 1, or 0 if it is not queued. */
int cat_job_abort_queued(struct cat_db *db, int64_t job, char *err);
/*
 * The media server's result: state done, failed or aborted; detail (if
 * not NULL) replaces the job's. The running dumps of a job that did not
 * finish fail (or are aborted) with it.
 */
int cat_job_finish(struct cat_db *db, int64_t job, const char *state,
    const char *detail, char *err);
/*
 * The media server went away: a running job and its dumps fail (why), the
 * tapes it holds go back.
 */
int cat_job_lost(struct cat_db *db, int64_t job, const char *why, char *err);
/* Whether job has a complete dump (a commit point covered it): 1 or 0. */
int cat_job_dump_complete(struct cat_db *db, int64_t job, char *err);
/*
 * Abort a queued job, or a running one whose media server is gone (it
 * hears of it if it comes back: cat_job_adopt); its running dumps are
 * aborted, its tapes go back; why (may be NULL) becomes its detail. 1, or
 * 0 if the job is neither queued nor running.
 */
int cat_job_abort(struct cat_db *db, int64_t job, const char *why,
    char *err);
/* Running jobs, oldest first, with the tape each holds (or NULL). */
int cat_jobs_running(struct cat_db *db, cat_job_fn *fn, void *arg,
    char *err);
/*
 * What a crash left, in one transaction: every reservation no running job
 * holds goes back, every dump running without a running job fails (a
 * journal that shows it complete completes it later: cat_merge). Counts in
 * *released and *failed (may be NULL); the sum, or negative.
 */
int cat_reconcile(struct cat_db *db, int64_t *released, int64_t *failed,
    char *err);

/* A job in progress (or ended unreported) as its media server reports it. */
struct cat_job_report {
	int64_t id;		/* its ID at the master that started it */
	const char *site;	/* that master's site ID; NULL if unknown */
	const char *kind;	/* dump restore archive (NULL: dump) */
	const char *entity, *drive;
	const char *state;	/* running done failed aborted */
	const char *dump_uid;	/* the dump it writes, or NULL */
	const char *tape_id;	/* the tape it writes, or NULL */
	const char *detail;	/* why it ended, or NULL */
};
/*
 * Record a media server's report of its job, in one transaction. The job
 * is ours (the site is ours and the id names a job of the entity), or one
 * adopted before (origin SITE:ID), or another master's: recorded once under
 * a new id of ours with origin SITE:ID, so the two id spaces never mix
 * (without a site, every report is a new job). Running: resumed (a job
 * failed when its media server went quiet is running again), its dump and
 * its tape its own again (a tape another running job holds is left).
 * Ended: it ends so. The reported dump, merged from a journal without a
 * job, is linked to it. *job gets our id; 1 if we aborted the job
 * meanwhile and the media server must stop it, else 0.
 */
int cat_job_adopt(struct cat_db *db, const struct cat_job_report *r,
    int64_t *job, char *err);

/* A media server registered the drive on device. */
int cat_drive_seen(struct cat_db *db, const char *name, const char *device,
    char *err);
/* A line of a drive's log (drive and job may be NULL and 0); durable with
   the next record's commit, not waited for on the disk by itself. */
int cat_message_add(struct cat_db *db, const char *drive, int64_t job,
    const char *level, const char *text, char *err);

/* ---- errors and verifications (catalog/errors.c) ---- */

struct cat_error {
	const char *at, *drive, *label;
	int64_t job;		/* CAT_NULL if none */
	const char *kind, *message;
};
typedef int cat_error_fn(const struct cat_error *e, void *arg);

/* Record one (drive, label: NULL if none; job 0 if none). */
int cat_error_add(struct cat_db *db, const char *drive, const char *label,
    int64_t job, const char *kind, const char *message, char *err);
/* Errors in time order; NULL filters match everything. */
int cat_errors_list(struct cat_db *db, const char *drive, const char *label,
    const char *since, cat_error_fn *fn, void *arg, char *err);

/* Errors per drive (or per tape label) per day, for trends. */
struct cat_error_day {
	const char *name;	/* the drive or the label */
	const char *day;	/* YYYY-MM-DD */
	int64_t errors;
};
typedef int cat_error_day_fn(const struct cat_error_day *d, void *arg);
int cat_errors_per_drive(struct cat_db *db, const char *drive,
    const char *since, cat_error_day_fn *fn, void *arg, char *err);
int cat_errors_per_tape(struct cat_db *db, const char *label,
    const char *since, cat_error_day_fn *fn, void *arg, char *err);
/* Error events on a tape (row id). */
int cat_tape_errors(struct cat_db *db, int64_t tape, int64_t *count,
    char *err);

struct cat_verification {
	const char *kind;	/* spot */
	int64_t checked, bad;	/* blocks */
	const char *at;
};
typedef int cat_verification_fn(const struct cat_verification *v, void *arg);
/* A check of a dump's blocks on a tape (tape_id, dump_uid). */
int cat_verification_add(struct cat_db *db, const char *tape_id,
    const char *dump_uid, const char *kind, int64_t checked, int64_t bad,
    char *err);
/* The newest limit checks of a tape (row id), newest first. */
int cat_tape_verifications(struct cat_db *db, int64_t tape, int64_t limit,
    cat_verification_fn *fn, void *arg, char *err);

/* ---- access control (catalog/acl.c) ---- */

struct cat_acl {
	int64_t uid;		/* CAT_NULL for an identity's grant */
	const char *role;	/* operator retrieval exception admin engine */
	const char *identity;	/* "krb:P" or "cert:SUBJECT"; NULL for a uid */
};
typedef int cat_acl_fn(const struct cat_acl *a, void *arg);

/* Every grant: the uids' by uid and role, then the identities'. */
int cat_acl_list(struct cat_db *db, cat_acl_fn *fn, void *arg, char *err);
/* The grants of one uid. */
int cat_acl_roles(struct cat_db *db, int64_t uid, cat_acl_fn *fn, void *arg,
    char *err);
/* Grant (idempotent) or take back a role; -EINVAL for a bad role or uid. */
int cat_acl_set(struct cat_db *db, int64_t uid, const char *role, char *err);
int cat_acl_remove(struct cat_db *db, int64_t uid, const char *role,
    char *err);
/*
 * A network identity as the ACL keeps it: "krb:PRINCIPAL" or
 * "cert:SUBJECT", at most 255 bytes of printable ASCII after the prefix
 * (a certificate subject is written in RFC 2253 form, escapes and all):
 * 0, or -EINVAL with err.
 */
int cat_identity_check(const char *identity, char *err);
/* An identity's grants; grant or take back (no engine role: media
   servers over the network are on the media-server table). */
int cat_acl_ident_roles(struct cat_db *db, const char *identity,
    cat_acl_fn *fn, void *arg, char *err);
int cat_acl_ident_set(struct cat_db *db, const char *identity,
    const char *role, char *err);
int cat_acl_ident_remove(struct cat_db *db, const char *identity,
    const char *role, char *err);

/*
 * Authorized media servers over the network: NAME is a drive name or a
 * shell pattern of drive names ("tapehost-*"), IDENTITY the one who may
 * register them. A media server over TLS registers a drive only if a row
 * of its identity matches the drive's name.
 */
struct cat_mserver {
	const char *name, *identity, *added, *added_by;
};
typedef int cat_mserver_fn(const struct cat_mserver *m, void *arg);
/* Add or replace NAME's row (by: who, for the record). */
int cat_mserver_allow(struct cat_db *db, const char *name,
    const char *identity, const char *by, char *err);
/* Remove NAME's row; -ENOENT if there is none. */
int cat_mserver_deny(struct cat_db *db, const char *name, char *err);
/* Every row by name; or only identity's (identity not NULL). */
int cat_mserver_list(struct cat_db *db, const char *identity,
    cat_mserver_fn *fn, void *arg, char *err);

/* ---- merge of dump logs (catalog/merge.c) ---- */

struct cat_merge_result {
	int parts, dumps, tapes_added, entities_added, errors, bad_tapes;
	int skipped;		/* foreign lines, known ones, incomplete dumps */
	int rejected;		/* inconsistent lines: nothing of them merged */
};
/*
 * What fn hears of: a label conflict (rejected false), or a line rejected
 * as inconsistent (rejected true; label and tape_id may be empty). line is
 * the index in lines[] (0-based).
 */
struct cat_merge_conflict {
	const char *label, *tape_id, *why;
	size_t line;
	bool rejected;
};
typedef int cat_conflict_fn(const struct cat_merge_conflict *c, void *arg);

/*
 * Merge dump-log lines (catalog/dumplog.h: direct mode, or a media
 * server's journal written while abs-ctld was away) into the catalog in
 * one transaction. Idempotent: what is known is skipped. Unknown tapes
 * join pool under their own tape ID, unknown entities the default type; a
 * label the pool uses for another tape is a conflict (fn), left for the
 * operator to resolve by reading the sticker. A dump completes only when
 * all its parts are in.
 *
 * Every line is believed only once it is consistent: its fields
 * (cat_dl_check), and against the catalog: a part agrees with its dump
 * (entity, level, dates, digest algorithm), with a part of the same
 * number already recorded, and its offset with its neighbours'; a dump
 * completes only when parts 1..N are all there, their bytes add up to
 * the dump's, their offsets follow each other and part 1 is where the
 * dump line says. An inconsistent line is rejected (fn, rejected true)
 * and changes nothing; the others are merged.
 */
int cat_merge(struct cat_db *db, const char *pool, const char *const *lines,
    size_t n, struct cat_merge_result *res, cat_conflict_fn *fn, void *arg,
    char *err);
/*
 * The operator confirmed a tape's physical label at a merge: entry is
 * "TAPE-ID LABEL" (a tape crippled mode labelled with a generated label).
 * A blank, never written tape of the pool with that label is that tape:
 * it takes the tape ID (appendable, written); 1 if adopted, 0 if there
 * was nothing to adopt, -EINVAL for a malformed entry.
 */
int cat_merge_confirm_label(struct cat_db *db, const char *pool,
    const char *entry, char *err);

/* ---- the catalog rebuilt from tapes (catalog/rebuild.c) ---- */

/* A cartridge's label as a scan read it; done once every file is read. */
struct cat_rebuild_tape {
	const char *label, *tape_id, *pool, *labelled_at;
	bool done;
	bool full;		/* done: its last part ended at early warning */
};
/*
 * The tape (new: added appendable, ever written, added = labelled_at; 1),
 * known already (0); done: its bytes, files and last_written counted from
 * its parts, its state full or appendable (an operator's mark stays).
 * -EEXIST if the pool has another live tape with the label.
 */
int cat_rebuild_tape(struct cat_db *db, const struct cat_rebuild_tape *t,
    char *err);

/* A part as a scan read it: its header, and its trailer or counts. */
struct cat_rebuild_part {
	const char *label, *tape_id;	/* its cartridge (scanned first) */
	const char *dump_uid, *entity, *entity_type;	/* type "": default */
	const char *server, *partition, *source_kind, *source, *compress;
	int64_t level, job;		/* job 0: none */
	const char *started, *since;	/* dump date; "-" for a full */
	int64_t part, file, offset, bytes, blocks, block_size;
	const char *digest_alg, *digest;
	bool trailer;			/* false: counted from the tape */
	const char *written;		/* "" or NULL: unknown */
	bool last;			/* the stream's last part: totals */
	int64_t stream_bytes, raw_bytes;
	const char *stream_digest, *raw_digest;
	const char *prev_tape_id;	/* part > 1: the previous part's tape */
	/* chains (issue 13): the header's base (NULL or "": none), the last
	   trailer's index keys (index_bytes 0: none) */
	const char *base_uid;
	int64_t index_raw, index_stored, index_bytes;
};
/*
 * Record a part: its entity (and type), its dump (incomplete: failed with
 * no finished date, and its job, its base and index keys) and the part; the dump completes once
 * parts 1..N are in and add up to the last part's stream_bytes; it expires
 * if the previous part is missing and its cartridge (prev_tape_id) was
 * labelled again after the dump (recycled). 1 added,
 * 0 known already; -EINVAL for a field that fails the dump log's checks
 * or a dump or part the catalog has otherwise (err says which); -ENOENT
 * if the tape was not recorded first.
 */
int cat_rebuild_part(struct cat_db *db, const struct cat_rebuild_part *p,
    char *err);

struct cat_rebuild_counts {
	int64_t complete, incomplete, tapes;
};
/* Dumps complete and incomplete, live tapes. */
int cat_rebuild_counts(struct cat_db *db, struct cat_rebuild_counts *c,
    char *err);

/* ---- the dump history and drive rates, for the planner (catalog/history.c) ---- */

struct cat_history {
	int64_t entity_id;
	const char *entity;
	int64_t level;
	const char *started, *finished;
	const char *state;	/* complete failed aborted */
	int64_t bytes, raw_bytes;
	const char *dump_uid, *base_uid;	/* base: NULL for a full */
	const char *drive;	/* the job's, or NULL (merged, rebuilt) */
};
typedef int cat_history_fn(const struct cat_history *h, void *arg);
/*
 * Dumps that ended (complete, failed, aborted) of entity (NULL: every
 * one) started at or after since (NULL: all), by entity id and date.
 */
int cat_history_list(struct cat_db *db, const char *entity, const char *since,
    cat_history_fn *fn, void *arg, char *err);

/* The newest complete dump of every entity at each level, by id, level. */
int cat_history_last(struct cat_db *db, cat_history_fn *fn, void *arg,
    char *err);

struct cat_drive_rate {
	const char *drive;
	int64_t dumps, bytes;	/* the dumps measured and their bytes */
	double seconds;		/* their finished - started */
	double rate;		/* bytes a second */
};
typedef int cat_drive_rate_fn(const struct cat_drive_rate *r, void *arg);
/*
 * Per drive (by name), its newest recent complete dumps of min_bytes or
 * more that lasted a second or more, among the last 100,000 dumps (small
 * dumps measure the cost of a dump, not the drive).
 */
int cat_drive_rates(struct cat_db *db, int64_t recent, int64_t min_bytes,
    cat_drive_rate_fn *fn, void *arg, char *err);

/* A dump's base: what an incremental is taken since. */
struct cat_base {
	char dump_uid[64], started[32];
	int64_t level;
};
/*
 * The base of a dump of entity at level (> 0): its newest complete dump of
 * a lower level. 1 and *b, 0 if none (level 0 or no such dump), negative.
 */
int cat_dump_base(struct cat_db *db, const char *entity, int64_t level,
    struct cat_base *b, char *err);

/* A dump names its base (base_uid: the dump it was taken since). */
int cat_dump_set_base(struct cat_db *db, const char *dump_uid,
    const char *base_uid, char *err);

/* ---- nightly runs, their plans and jobs, the report (catalog/runs.c) ---- */

struct cat_run {
	int64_t id;
	const char *night;	/* YYYY-MM-DD, the date it started on */
	const char *drives;	/* d0,d1 */
	const char *state;	/* running done failed aborted */
	int64_t uid;
	const char *started, *finished, *detail;
};
typedef int cat_run_fn(const struct cat_run *r, void *arg);
/* A new run (state running) started at started: *id. */
int cat_run_add(struct cat_db *db, const char *night, const char *drives,
    int64_t uid, const char *started, int64_t *id, char *err);
/* It ended: done, failed or aborted; detail (NULL: kept) says why. */
int cat_run_finish(struct cat_db *db, int64_t id, const char *state,
    const char *finished, const char *detail, char *err);
/* One run (id > 0; -ENOENT) or the newest limit (<= 0: 20), newest first. */
int cat_runs_list(struct cat_db *db, int64_t id, int64_t limit, cat_run_fn *fn,
    void *arg, char *err);
/* The runs of a night (YYYY-MM-DD), oldest first. */
int cat_night_runs(struct cat_db *db, const char *night, cat_run_fn *fn,
    void *arg, char *err);
/* Runs in state running, oldest first. */
int cat_runs_running(struct cat_db *db, cat_run_fn *fn, void *arg, char *err);

/* A row of a run's plan: an entity on a drive (NULL: not tonight). */
struct cat_plan_row {
	int64_t run;		/* cat_run_plan_list only */
	const char *entity, *drive;
	int64_t position, level, bytes;
	double seconds;
	const char *reason;	/* the planner's: due overdue promoted ... */
};
typedef int cat_plan_row_fn(const struct cat_plan_row *p, void *arg);
/* Record a run's plan (n rows) in one transaction: n. */
int cat_run_plan_add(struct cat_db *db, int64_t run,
    const struct cat_plan_row *p, size_t n, char *err);
/* A run's plan (run > 0) or a night's, by run, drive, position. */
int cat_run_plan_list(struct cat_db *db, int64_t run, const char *night,
    cat_plan_row_fn *fn, void *arg, char *err);

/*
 * Queue a run's dump job (level, the plan's reason, attempt 1.. counts
 * retries) on drive: *job. Its detail is "level=N" as cat_jobs_add's.
 */
int cat_run_job_add(struct cat_db *db, int64_t run, const char *drive,
    const char *entity, int64_t level, const char *reason, int64_t attempt,
    int64_t uid, int64_t *job, char *err);

/* The label of the tape the newest error of job names: 1, or 0 if none. */
int cat_job_fault(struct cat_db *db, int64_t job, char *label, size_t len,
    char *err);

struct cat_run_job {
	int64_t id, run;
	const char *entity, *drive, *state;
	int64_t level, attempt;
	const char *reason, *started, *finished, *detail;
	/* its newest dump (NULL, CAT_NULL if none) and its parts' places */
	const char *dump_uid, *dump_state;
	int64_t bytes, raw_bytes;
	const char *dump_started, *dump_finished;
	const char *tapes;	/* "LABEL:FILE ..." in part order */
};
typedef int cat_run_job_fn(const struct cat_run_job *j, void *arg);
/* The jobs of a run (run > 0) or of a night's runs, in queue order. */
int cat_run_jobs(struct cat_db *db, int64_t run, const char *night,
    cat_run_job_fn *fn, void *arg, char *err);
/* The tapes a night's runs wrote on, by label (their state now). */
int cat_night_tapes(struct cat_db *db, const char *night, cat_tape_fn *fn,
    void *arg, char *err);

struct cat_error_count {
	const char *drive, *label, *kind;	/* drive, label may be NULL */
	int64_t count;
};
typedef int cat_error_count_fn(const struct cat_error_count *e, void *arg);
/* Errors of a night's runs (their jobs, their drives while they ran). */
int cat_night_errors(struct cat_db *db, const char *night,
    cat_error_count_fn *fn, void *arg, char *err);

struct cat_entity_change {
	const char *entity;
	const char *change;	/* new vanished */
	const char *at;
};
typedef int cat_entity_change_fn(const struct cat_entity_change *c,
    void *arg);
/*
 * Entities discovery added that are new to a night (first dumped by one
 * of its runs, or not dumped yet), and those vanished.
 */
int cat_night_entities(struct cat_db *db, const char *night,
    cat_entity_change_fn *fn, void *arg, char *err);

/* ---- tape libraries (catalog/libraries.c) ---- */

/*
 * A library is a changer (its URI) whose cartridges abs-ctld alone
 * moves. Element types are "robot", "slot", "portal", "drive"; numbers
 * as mtx gives them (slots and portals from 1, drives and the robot from
 * 0). A barcode is the sticker: a cartridge carries tape label L if its
 * barcode is L, or L and a 2-character LTO media suffix (cat_barcode_
 * label). Cleaning cartridges are those whose barcode starts with the
 * library's clean_prefix.
 */
struct cat_library {
	int64_t id;
	const char *name, *changer, *clean_prefix;
	int64_t clean_uses;	/* a cleaning cartridge's uses */
	const char *added;
	const char *last_inventory;	/* NULL: never taken */
	const char *inventory_error;	/* the last inventory's failure */
	int64_t drives;		/* attached */
	int64_t slots, slots_full, portals, portals_full, drives_full;
	int64_t cleaning, expended;	/* cleaning cartridges in it, expended */
	int64_t moves_done, moves_failed;	/* the journal's (failed: or cut) */
};
typedef int cat_library_fn(const struct cat_library *l, void *arg);

#define CAT_CLEAN_USES 50	/* default uses of a cleaning cartridge */
/*
 * Add a library: name (cat_name_valid), changer URI (1-1023 bytes, no
 * blanks), clean_prefix (NULL: "CLN"; 1-16 bytes of A-Z0-9), clean_uses
 * (0: CAT_CLEAN_USES; 1..100000). -EEXIST for a name or changer taken.
 */
int cat_library_add(struct cat_db *db, const char *name, const char *changer,
    const char *clean_prefix, int64_t clean_uses, char *err);
/*
 * Remove a library, its inventory, journal, cleaning counts and marks;
 * its drives are detached. -EBUSY while a move of it is started (not
 * marked done or failed); -ENOENT.
 */
int cat_library_remove(struct cat_db *db, const char *name, char *err);
/* Every library by name; one by name (-ENOENT). */
int cat_libraries_list(struct cat_db *db, cat_library_fn *fn, void *arg,
    char *err);
int cat_library_get(struct cat_db *db, const char *name, cat_library_fn *fn,
    void *arg, char *err);

struct cat_lib_drive {
	const char *library, *changer;
	const char *drive;	/* the name its media server registers */
	int64_t element;	/* its drive number in the library */
	const char *serial;	/* the serial its media server last reported */
	const char *device;
};
typedef int cat_lib_drive_fn(const struct cat_lib_drive *d, void *arg);
/*
 * Attach a drive (made if never registered) to a library as drive
 * element (>= 0); again with another element moves it. -EEXIST when
 * another drive holds that element; -ENOENT for an unknown library.
 * library NULL detaches the drive (rows changed).
 */
int cat_library_drive_set(struct cat_db *db, const char *library,
    const char *drive, int64_t element, char *err);
/* The drives attached to a library (NULL: any), by library and element. */
int cat_library_drives(struct cat_db *db, const char *library,
    cat_lib_drive_fn *fn, void *arg, char *err);
/* The library a drive is attached to (one row), or -ENOENT. */
int cat_drive_library(struct cat_db *db, const char *drive,
    cat_lib_drive_fn *fn, void *arg, char *err);
/* The serial its media server last reported into buf ("" none): 0, or
   -ENOENT for a drive never seen nor attached. */
int cat_drive_serial(struct cat_db *db, const char *drive, char *buf,
    size_t len, char *err);
/* The serial a drive's media server reported (NULL or "": none). */
int cat_drive_serial_set(struct cat_db *db, const char *drive,
    const char *serial, char *err);

/* An element of an inventory as the robot reported it. */
struct cat_element_in {
	const char *type;	/* robot slot portal drive */
	int64_t num, addr;
	bool full;
	const char *barcode;	/* NULL or "": none */
	bool tag_unreadable;
	int64_t source;		/* CAT_NULL: unknown */
	const char *ident;	/* drive: DVCID, NULL: none */
	bool except, access;
};
/* A row of the catalog's inventory, with what the catalog knows of it. */
struct cat_element {
	const char *library;
	const char *type;
	int64_t num, addr;
	bool full;
	const char *barcode;	/* NULL: empty, or no tag */
	bool tag_unreadable;
	int64_t source;
	const char *ident;
	bool except, access;
	const char *last_seen;
	/* the catalog's tape the barcode carries (NULL: none) */
	const char *label, *tape_id, *pool, *tape_state;
	const char *drive;	/* drive element: the attached drive's name */
	bool cleaning;		/* barcode has the library's clean prefix */
	int64_t clean_uses;	/* its uses so far (0 if never counted) */
	bool expended;
	const char *mark;	/* why its barcode is marked, or NULL */
};
typedef int cat_element_fn(const struct cat_element *e, void *arg);
/*
 * The robot's inventory replaces the catalog's copy of a library (one
 * transaction), dated now; every move still marked started is marked
 * cut (the inventory says where its cartridge is): *cut counts them
 * (NULL: not wanted). -EINVAL for an element of an unknown type, a
 * duplicate, or a barcode that is not cat_name_valid (tag_unreadable
 * elements carry none).
 */
int cat_inventory_replace(struct cat_db *db, const char *library,
    const struct cat_element_in *e, size_t n, int64_t *cut, char *err);
/* An inventory could not be taken: said on the library until the next. */
int cat_inventory_failed(struct cat_db *db, const char *library,
    const char *why, char *err);
/* A library's elements: robot, slots, portals, drives, each by number. */
int cat_inventory_list(struct cat_db *db, const char *library,
    cat_element_fn *fn, void *arg, char *err);
/*
 * The elements of every library holding the cartridge that carries tape
 * label (barcode == label first, then barcode less an LTO suffix), or of
 * the cartridge with that barcode: rows delivered (0: in no library).
 */
int cat_inventory_find(struct cat_db *db, const char *label,
    cat_element_fn *fn, void *arg, char *err);

/*
 * Whether barcode carries tape label: equal, or label followed by an LTO
 * media suffix (L1..L9, LT..LZ, M8).
 */
bool cat_barcode_label(const char *barcode, const char *label);

/* A move of the journal. */
struct cat_move {
	int64_t id;
	const char *library;
	int64_t job;		/* CAT_NULL: none */
	const char *drive, *barcode;
	const char *from_type;
	int64_t from_num;
	const char *to_type;
	int64_t to_num;
	const char *why;	/* what it was for */
	const char *state;	/* started done failed cut */
	const char *started, *finished, *error;
};
typedef int cat_move_fn(const struct cat_move *m, void *arg);
/*
 * Journal a move before the robot starts it: *id. job 0: none; drive,
 * barcode, why may be NULL.
 */
int cat_move_start(struct cat_db *db, const char *library, int64_t job,
    const char *drive, const char *barcode, const char *from_type,
    int64_t from_num, const char *to_type, int64_t to_num, const char *why,
    int64_t *id, char *err);
/*
 * The robot's answer: done (the catalog's inventory follows the
 * cartridge: from empty, to full with its barcode) or failed (error).
 * -ENOENT for an unknown move, -EALREADY for one already ended.
 */
int cat_move_end(struct cat_db *db, int64_t id, bool ok, const char *error,
    char *err);
/* The journal of a library (NULL: all), newest first, at most limit. */
int cat_moves_list(struct cat_db *db, const char *library, int64_t limit,
    cat_move_fn *fn, void *arg, char *err);
/* Moves started and not ended (a crash cut them off), oldest first. */
int cat_moves_open(struct cat_db *db, const char *library, cat_move_fn *fn,
    void *arg, char *err);

/*
 * A cleaning cartridge was used: its count goes up; *expended is set
 * when this use reaches the library's clean_uses (marked expended now).
 * force: expended whatever the count (the drive said so: TapeAlert 22).
 * *uses gets the count (either may be NULL).
 */
int cat_cleaning_used(struct cat_db *db, const char *library,
    const char *barcode, bool force, int64_t *uses, bool *expended,
    char *err);
/* Mark a cleaning cartridge expended (TapeAlert 22) without a use. */
int cat_cleaning_expend(struct cat_db *db, const char *library,
    const char *barcode, char *err);

/*
 * Mark a barcode (its label disagrees with the tape in it): the cartridge
 * is never offered again until cleared. Clear: rows changed (0: none).
 */
int cat_barcode_mark(struct cat_db *db, const char *library,
    const char *barcode, const char *why, char *err);
int cat_barcode_clear(struct cat_db *db, const char *library,
    const char *barcode, char *err);

/* ---- what the console lists (catalog/console.c) ---- */

/* An entity's newest complete full and incremental (NULL: none). */
struct cat_last_dumps {
	const char *entity;
	const char *last_full, *last_incr;	/* their start dates */
	int64_t dumps;				/* its complete dumps */
};
typedef int cat_last_dumps_fn(const struct cat_last_dumps *e, void *arg);
/* Every entity's, by name, in one query. */
int cat_entities_last_dumps(struct cat_db *db, cat_last_dumps_fn *fn,
    void *arg, char *err);

/* ---- shadows (catalog/shadows.c, docs/SHADOWS.md) ---- */

/*
 * A shadow: a restored copy of an entity at path (on host; NULL: the
 * media server's own) kept current by applying each new dump of its
 * chain. Dates are UTC "YYYY-MM-DDTHH:MM:SSZ"; NULL where there is none.
 */
struct cat_shadow {
	int64_t id;
	const char *entity;
	const char *source;		/* the entity's source now */
	const char *host, *path, *drive;	/* drive NULL: any */
	int64_t every_hours;		/* 0: as each dump lands */
	const char *state;		/* active, promoted */
	const char *added, *added_by;
	/* what it reflects (NULL: nothing yet) and when that refresh ended */
	const char *dump_uid, *dump_started, *refreshed;
	int64_t dump_level;		/* CAT_NULL when none */
	/* the refresh in progress (job_id CAT_NULL: none), to job_dump */
	int64_t job_id;
	const char *job_dump;
	/* the last refresh that failed, for which dump, when */
	const char *error, *error_dump, *error_at;
	const char *promoted_at, *promoted_by, *promoted_from;
	/* the entity's newest complete dump (NULL: none) */
	const char *newest_uid, *newest_started;
	int64_t newest_level;
	/* complete dumps of the entity newer than the one it reflects (all
	   of them when it reflects none) */
	int64_t dumps_behind;
};
typedef int cat_shadow_fn(const struct cat_shadow *s, void *arg);

/* Every shadow (active ones first, then promoted), by entity. Rows. */
int cat_shadows_list(struct cat_db *db, cat_shadow_fn *fn, void *arg,
    char *err);
/* The entity's active shadow; -ENOENT if it has none. */
int cat_shadow_get(struct cat_db *db, const char *entity, cat_shadow_fn *fn,
    void *arg, char *err);
/*
 * Add an active shadow of entity at host (NULL: none), path (absolute,
 * 1-1023 bytes); drive NULL: any; every_hours 0..8760; by: who asked.
 * -ENOENT for an unknown entity, -EEXIST when it has an active shadow or
 * another active shadow is at that place, -EINVAL for bad values.
 */
int cat_shadow_add(struct cat_db *db, const char *entity, const char *host,
    const char *path, const char *drive, int64_t every_hours, const char *by,
    char *err);
/* Remove the entity's active shadow (its row; the files stay). */
int cat_shadow_remove(struct cat_db *db, const char *entity, char *err);
/* A refresh started: its job and the dump it brings the shadow to. */
int cat_shadow_job(struct cat_db *db, int64_t id, int64_t job,
    const char *dump_uid, char *err);
/* The refresh in progress ended well at when (NULL: now): the shadow
   reflects its dump. */
int cat_shadow_refreshed(struct cat_db *db, int64_t id, const char *when,
    char *err);
/* A refresh to dump (NULL: the one in progress) failed at when (NULL:
   now), why: the shadow is as the last good refresh left it. */
int cat_shadow_failed(struct cat_db *db, int64_t id, const char *dump,
    const char *why, const char *when, char *err);
/*
 * Promote the entity's active shadow: the entity's source becomes
 * dir:PATH (the old one kept in promoted_from), the shadow is no longer
 * refreshed; who (by) and when are kept. -ENOENT without an active
 * shadow, -EBUSY while a refresh of it runs.
 */
int cat_shadow_promote(struct cat_db *db, const char *entity, const char *by,
    char *err);

/* ---- archive jobs (catalog/archives.c, docs/QUEUE.md "Under abs-ctld") ---- */

/* An archive: an archive queue a drive's media server works as one job. */
struct cat_archive {
	int64_t id;
	const char *name, *drive, *queue, *done;
	const char *entity;		/* the entity its dumps are recorded as */
	const char *options;		/* JSON: pool, commit_every, ... */
	const char *want;		/* run, stopped */
	int64_t job_id;			/* the job that runs it, CAT_NULL none */
	const char *state;		/* waiting running load-media unloading
					   stopped failed */
	const char *error;		/* the last failure, NULL none */
	int64_t fails;			/* failures since it last archived */
	const char *retry_at;		/* when a failed one starts again */
	const char *added, *added_by;
	int64_t archived, bytes;	/* its entries in the catalog */
};
typedef int cat_archive_fn(const struct cat_archive *a, void *arg);

/* Every archive, by name. Rows. */
int cat_archives_list(struct cat_db *db, cat_archive_fn *fn, void *arg,
    char *err);
/* One archive by name: 1, or -ENOENT. */
int cat_archive_get(struct cat_db *db, const char *name, cat_archive_fn *fn,
    void *arg, char *err);
/*
 * Add an archive (want run, state waiting) and its entity (source
 * file:QUEUE, inactive: no plan dumps it) in one transaction. -EEXIST for
 * a name or a drive taken, an entity of that name, -ENOENT for no pool.
 */
int cat_archive_add(struct cat_db *db, const char *name, const char *drive,
    const char *queue, const char *done, const char *entity, const char *pool,
    const char *options, const char *by, char *err);
/* Remove an archive and its entries' rows (done/ and the tapes stay). */
int cat_archive_remove(struct cat_db *db, const char *name, char *err);
/* Whether it should run (want "run" or "stopped"); a start clears the
   failures. */
int cat_archive_want(struct cat_db *db, int64_t id, const char *want,
    char *err);
/* The job that runs it now (CAT_NULL: none). */
int cat_archive_job(struct cat_db *db, int64_t id, int64_t job, char *err);
/* Its state and error (NULL: none); retry_at (NULL: none); fails: -1
   leaves it, 0 resets, a count sets it. */
int cat_archive_state(struct cat_db *db, int64_t id, const char *state,
    const char *error, int64_t fails, const char *retry_at, char *err);

/* An archived file as its done entry says (docs/QUEUE.md). */
struct cat_archive_entry {
	const char *archive;		/* its archive's name (list only) */
	const char *name, *path, *dump_uid, *digest;
	int64_t bytes;
	const char *label, *tape_id;	/* the first part */
	int64_t file, offset;
	const char *parts;		/* JSON array of every part */
	const char *archived;
	bool verified;
};
typedef int cat_archive_entry_fn(const struct cat_archive_entry *e,
    void *arg);
/* Record (or replace) an entry of archive id. */
int cat_archive_entry_put(struct cat_db *db, int64_t id,
    const struct cat_archive_entry *e, char *err);
/*
 * The entries whose name or path is key (every archive's, or only
 * archive's if not NULL), newest first. Rows.
 */
int cat_archive_entries_find(struct cat_db *db, const char *archive,
    const char *key, cat_archive_entry_fn *fn, void *arg, char *err);
/* Every entry of archive id, by name. Rows. */
int cat_archive_entries(struct cat_db *db, int64_t id,
    cat_archive_entry_fn *fn, void *arg, char *err);

#endif
