/*
 * Private to control/: what the request handlers (handlers.c) and the
 * engine events (events.c) share: reading arguments, turning catalog
 * results into JSON, a catalog failure as a reply, and the drive's tape
 * reservation.
 */
#ifndef ABS_CONTROL_HANDLERS_INT_H
#define ABS_CONTROL_HANDLERS_INT_H

#include <stdio.h>

#include "control/ctld.h"

/* Fail the request: *code and err (PROTO_ERRLEN) set, no result. */
#define FAIL(code_, ...) do { *code = (code_); \
	snprintf(err, PROTO_ERRLEN, __VA_ARGS__); return NULL; } while (0)

/* A string argument, or NULL if absent or not a string. */
const char *arg_str(json_t *a, const char *k);
/* An integer argument, or def. */
int64_t arg_num(json_t *a, const char *k, int64_t def);

/* A catalog string: NULL is null, bytes that are not UTF-8 are "?". */
json_t *j_str(const char *s);
/* A catalog integer: CAT_NULL is null. */
json_t *j_int(int64_t v);
/* Append o (owned) to the JSON array arr: 0, or -ENOMEM. */
int j_append(json_t *arr, json_t *o);

/* A tape in the order it will be used (next-tapes, the next-tape event). */
json_t *j_next_tape(const struct cat_tape *t);
/*
 * The array a list query (result rc) filled, or on failure NULL with the
 * reply's code and err set and the array freed.
 */
json_t *j_list(json_t *arr, int rc, const char *caterr, const char **code,
    char *err);
/*
 * A catalog failure (rc < 0, caterr its text) as a reply: not-found,
 * exists, bad-args, pool-full, incomplete, or catalog for the rest.
 */
json_t *cat_failed(const char **code, char *err, int rc, const char *caterr);
/* A catalog failure with nobody to reply to: the drive's log, syslog. */
void cat_warn(struct ctld *c, struct drive *d, const char *caterr);

/*
 * The drive a media server registers (engine-register, in both modes): a
 * valid name and job report, one drive per connection, one media server
 * per drive (the same process on a new connection, after SIGHUP, takes
 * over from its stale one). The drive, made if new, with *again if this
 * connection registered it already; or NULL with *code and err set.
 */
struct drive *ctld_register_drive(struct ctld *c, struct client *cl,
    json_t *a, bool *again, const char **code, char *err);

/* A string field of an event's data, or dflt. */
const char *ctld_field(json_t *data, const char *k, const char *dflt);
/* The reply to an event that needs no answer: {"ok": true}. */
json_t *ctld_ok(void);
/* A type's commands around a dump (as the catalog stores them, NULL or
   "": none) as a job event's "commands": {"snapshot": [argv...], ...},
   those it has; NULL if none. */
json_t *ctld_type_commands(const char *snapshot, const char *dump,
    const char *incr, const char *release);

/*
 * Commit points (control/commit.c): the dump jobs a drive wrote and has
 * not committed, the commit and commit-failed events, and the jobs
 * resolved against the catalog (final: at a registration, the others
 * fail with why).
 */
bool ctld_written_has(const struct drive *d, int64_t job);
int ctld_written_add(struct drive *d, int64_t job);
bool ctld_job_uncommitted(const struct ctld *c, int64_t job);
void ctld_written_resolve(struct ctld *c, struct drive *d, bool final,
    const char *why);
json_t *ev_commit(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err);
json_t *ev_commit_failed(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err);
/* The job a verified event is about: its job:, if d runs or holds it. */
int64_t ctld_verified_job(const struct drive *d, json_t *data);
/* A run's job was written, not committed: its drive takes the next. */
void night_job_written(struct ctld *c, int64_t job);

/* Give back the drive's reserved tape, if it was not filled. */
void release_reservation(struct ctld *c, struct drive *d);

/* The catalog rebuilt from tapes (control/rebuild.c): the request, the
   media server's scan events, and whether a drive scans (takes no job). */
json_t *h_rebuild(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *ev_scan_tape(struct ctld *c, struct drive *d, json_t *p,
    const char **code, char *err);
json_t *ev_scan_part(struct ctld *c, struct drive *d, json_t *p,
    const char **code, char *err);
json_t *ev_scan_skipped(struct ctld *c, struct drive *d, json_t *p,
    const char **code, char *err);
json_t *ev_scan_end(struct ctld *c, struct drive *d, json_t *p,
    const char **code, char *err);
bool ctld_rebuild_busy(const struct drive *d);

/*
 * Chains and file indexes (control/chains.c): the index upload and find
 * requests, the chain a restore of entity at date reads (an array, full
 * first, each dump with its parts; NULL with *code and err if it cannot
 * be restored), the chains the entity request shows (ctld.h: a drive's
 * unfinished upload freed).
 */
json_t *h_index_upload(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
/*
 * Authorized media servers over the network (control/mservers.c): the
 * requests, and whether identity may register drive (a row of its
 * matches the drive's name; crippled mode reads the catalog's cache).
 */
json_t *h_server_allow(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_server_deny(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_servers_allowed(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
bool ctld_server_may(struct ctld *c, const char *identity, const char *drive);
json_t *h_index_download(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_find(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *ctld_restore_chain(struct ctld *c, const char *entity,
    const char *date, bool level_only, const char **code, char *err);
json_t *ctld_entity_chains(struct ctld *c, const char *entity,
    const char **code, char *err);
/*
 * restore's and find's --date: 0 and *date (NULL if none; else what the
 * catalog compares with, in buf), or -1 with err when it is not a date
 * prefix (common/date.h).
 */
int ctld_date_arg(json_t *a, char *buf, size_t len, const char **date,
    char *err);
/* A path of n bytes a restore names: true, or false with err. */
bool ctld_path_ok(const char *s, size_t n, char *err);
/* path as o's key (the JSON string; one that is not UTF-8 with '?' for
   each byte above 0x7f and its bytes in KEY_b64): o, or NULL. */
json_t *ctld_path_json(json_t *o, const char *key, const char *path);
/* n bytes of a name for a message or a JSON string: control bytes, and
   bytes that are not UTF-8, as '?'; out (len bytes) returned. */
const char *ctld_shown(const char *s, size_t n, char *out, size_t len);

/* What the console shows before it acts (control/console.c). */
json_t *h_restore_plan(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_tapes_where(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_last_dumps(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);

/* The nightly run's configuration (control/config.c) and the run itself
   (control/night.c). */
json_t *h_server_add(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_server_set(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_subnet_set(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_servers(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_entity_set(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_type_set(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_types(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_window_add(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_window_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_windows(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_discover_add(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_discover_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_discover(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_discoveries(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
/* What the nightly run adds to an entity's JSON (server, partition,
   priority, vanished, discovered_by): 0 or -ENOMEM. */
int j_entity_night(json_t *o, const struct cat_entity *e);
/* An entity as entity-add and entity-set answer, or NULL with the
   reply's code and err set. */
json_t *j_entity_reply(struct ctld *c, const char *name, const char **code,
    char *err);
/*
 * Run the discovery commands (control/discover.c) of one server (NULL:
 * every server) at once, each bounded (time, bytes, lines), and apply
 * each listing that is whole (catalog: cat_discovery_apply). report (an
 * object) gets arrays "new", "back", "moved", "vanished", "removed" (one
 * object per entity: entity, server, partition, ...) and "failed" (one
 * per command: id, server, cmd, error; such a command changed nothing
 * and is an exception), and "ran" (commands run). The number of failed
 * commands (0: all listed), or negative with err (PROTO_ERRLEN) set when
 * none could run (crippled mode: -ENOTSUP; an unknown server or one
 * without discovery: -ENOENT; the catalog: its code).
 */
int ctld_discover(struct ctld *c, const char *server, json_t *report,
    char *err);
/*
 * A discovery command's whole output (buf[len] writable, lines cut in
 * place): every line "NAME [PARTITION [SIZE]]" (cat_listed_parse; blank
 * lines and # comments skipped, a CR before the newline dropped), at
 * most 200000, none over 4096 bytes, no NUL. 0 and *out (malloc'd, *n
 * entries), or -EINVAL with why (wlen bytes) naming the line.
 */
int ctld_discover_parse(char *buf, size_t len, struct cat_listed **out,
    size_t *n, char *why, size_t wlen);
json_t *h_plan(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_run(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_runs(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_run_continue(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_run_stop(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_report(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
/*
 * The nightly run's hooks (control/night.c): a job's result, once a
 * second, a part and a full tape of a drive's job (a run counts its
 * cartridges), and the job event a media server gets (level, since, base,
 * date; a retry's tape at fault in the drive's skip list).
 */
void night_job_ended(struct ctld *c, int64_t job, const char *state,
    const char *why);
void night_tick(struct ctld *c);
void night_part(struct ctld *c, struct drive *d, const char *dump_uid,
    const char *tape_id);
void night_part_of(struct ctld *c, struct drive *d, int64_t job,
    const char *dump_uid, const char *tape_id);
void night_tape_full(struct ctld *c, struct drive *d, const char *tape_id);
void night_job_event(struct ctld *c, struct drive *d, int64_t job,
    json_t *ev);
/* The old queries that answer from the planner now (night_plan.c). */
json_t *h_next_entities(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_next_tapes(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);

/*
 * Tape libraries (control/library.c): the requests, the media servers'
 * library events, and what the engine events ask of the robot: a mount
 * (true: the robot fetches it; false: the operator), whether a tape may
 * be offered to a drive (1 in its library and free, 0 in no library, -1
 * not to be offered), the engine-register reply's library object (NULL:
 * none), a cartridge the media server refused.
 */
json_t *h_library_add(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_library_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_libraries(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_library_drive(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_library_clear(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_inventory(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_eject(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_import(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_clean(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *ev_unloaded(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err);
json_t *ev_tapealert(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err);
json_t *ev_device(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err);
bool ctld_library_mount(struct ctld *c, struct drive *d, const char *label);
int ctld_library_tape_ok(struct ctld *c, struct drive *d, const char *label);
json_t *ctld_library_of(struct ctld *c, struct drive *d);
void ctld_library_rejected(struct ctld *c, struct drive *d, json_t *data);
/* The night report's library part: "in_portals" (cartridges in portals,
   to go offsite) and "cleaning_expended" into out: 0 or negative. */
int ctld_library_report(struct ctld *c, json_t *out, char *err);

/*
 * Shadows (control/shadow.c): the requests; a refresh job's end (from
 * the job's result); the tick that queues the refreshes due (once a
 * second, from the loop).
 */
json_t *h_shadow_add(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_shadows(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_shadow_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_shadow_promote(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_shadow_refresh(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
void ctld_shadow_job_ended(struct ctld *c, int64_t job, const char *state,
    const char *why);
void ctld_shadow_tick(struct ctld *c);

/*
 * Archive jobs (control/archive.c, docs/QUEUE.md "Under abs-ctld"): the
 * requests; the media server's archive-status and archive-entries
 * events; a job's end (from its result: the tick reads how from the
 * catalog); the tick that keeps each archive that should run with a job
 * (once a second, from the loop); a note in the drive's log when a job
 * waits for a drive an archive holds (from ctld_dispatch).
 */
json_t *h_archive_add(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_archive_list(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_archive_stop(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_archive_start(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_archive_remove(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_archive_find(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *ev_archive_status(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err);
json_t *ev_archive_entries(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err);
void ctld_archive_job_ended(struct ctld *c, int64_t job, const char *state,
    const char *why);
void ctld_archive_tick(struct ctld *c);
void ctld_archive_holding(struct ctld *c, struct drive *d);

/*
 * job-wait (control/jobwait.c): the client is answered once the job has
 * ended; the tick (each turn of the loop) reads the state of the jobs
 * waited for; a client gone waits no more.
 */
json_t *h_job_wait(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
void ctld_jobwait_tick(struct ctld *c);
void ctld_jobwait_client_gone(struct client *cl);

#endif
