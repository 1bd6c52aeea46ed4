/*
 * Private to control/: crippled mode, abs-ctld without its catalog (the
 * 1996 specification). The same socket, the same request table; what it
 * can serve it serves from a journal directory:
 *
 *   DIR/journal        jobs and events, one JSON object a line, appended
 *                      and fsync'ed (job IDs survive a restart)
 *   DIR/active-tapes   the tapes it labelled, rewritten atomically (tmp,
 *                      fsync, rename): a tape it wrote is never handed out
 *                      as blank and its label never generated again
 *   DIR/dumplog        the crippled-mode dump log (catalog/dumplog.h):
 *                      parts, dumps, errors, bad tapes, grep-able
 *   DIR/catalog-cache.json  written in normal mode: entities (source,
 *                      pool, last full), the catalog's labels and the ACL,
 *                      so that crippled mode knows what to dump and who
 *                      may ask
 *
 * control/crippled.c keeps that state, control/crippled_req.c answers
 * requests and engine events with it, control/crippled_list.c runs the
 * listing command for partition and server dumps (both modes).
 */
#ifndef ABS_CONTROL_CRIPPLED_INT_H
#define ABS_CONTROL_CRIPPLED_INT_H

#include "control/handlers_int.h"

/* Job IDs in crippled mode start above this: never a catalog's job. */
#define CRIP_JOB_BASE 1000000000LL
/* The reply code of a request crippled mode cannot serve. */
#define CRIP_E_UNAVAILABLE "crippled"

struct cjob {
	int64_t id;
	char kind[16];		/* dump */
	char state[16];		/* queued running done failed aborted */
	char entity[256];
	char source[1100];
	char pool[64];
	char last_full[32];
	char drive[64];
	int level;
	int64_t uid;
	char created[32], started[32], finished[32];
	char detail[256];
	/* an adopted job: SITE:ID of the master that started it ("": ours) */
	char origin[96];
	struct cjob *next;	/* newest first */
};

struct ctape {
	char label[64];
	char tape_id[33];
	char state[16];		/* offered appendable full bad */
	char pool[64];
	char at[32];		/* when it was offered or labelled */
	char drive[64];		/* the drive it is offered to or in, or "" */
	bool barcode;		/* labelled with its library barcode: that is
				   its physical label (merge needs no map) */
	bool recovered;		/* from the dump log: active-tapes lost it */
	struct ctape *next;	/* in label order of creation */
};

struct crippled {
	char dir[512];
	char prefix[32];	/* generated labels: PREFIX%05d */
	char since[32];
	char why[256];
	int64_t last_job;
	long dumplog_max;	/* highest generated number DIR/dumplog names */
	int lock_fd;		/* DIR/lock, held while crippled mode runs */
	/* DIR/site: whose job IDs these are (made once, random), so that a
	   merge keeps them apart from the catalog's and other journals' */
	char site[40];
	struct cjob *jobs;
	struct ctape *tapes;
	json_t *cache;		/* DIR/catalog-cache.json, or an empty object */
};

/*
 * Enter crippled mode on journal directory dir (made if missing): the
 * journal replayed (jobs left running fail), active tapes and the
 * catalog cache read. 0, or negative with err (CAT_ERRLEN) set.
 */
int crip_start(struct ctld *c, const char *dir, const char *prefix,
    const char *why, char *err);
void crip_free(struct crippled *k);
/* A job adopted from another master: its origin (SITE:ID), journalled. */
void crip_job_origin(struct crippled *k, struct cjob *j, const char *origin);
/* The site whose job ID job is: the journal's for a crippled-mode job,
   else the catalog's (a job running when the catalog failed). */
const char *crip_site_of(const struct ctld *c, int64_t job);
/*
 * The catalog failed while abs-ctld runs (write refused, disk full,
 * locked, corrupt): close it, enter crippled mode, say so loudly. 0, or
 * negative if there is no journal directory to go to.
 */
int crip_switch(struct ctld *c, const char *why);
/* Whether a catalog failure means the catalog is unusable now (a probe). */
bool crip_catalog_broken(struct ctld *c);

/* A journal record (owned), stamped with the time; 0 or negative. */
int crip_journal(struct crippled *k, json_t *rec);
/* Rewrite DIR/active-tapes atomically; 0 or negative errno. */
int crip_tapes_save(struct crippled *k);
struct ctape *crip_tape_by_id(struct crippled *k, const char *tape_id);
struct ctape *crip_tape_by_label(struct crippled *k, const char *label);
/* A new tape entry with the next free generated label (state offered). */
struct ctape *crip_tape_new(struct crippled *k, const char *pool,
    const char *drive, char *err);
struct cjob *crip_job(struct crippled *k, int64_t id);
/* Queue a job (journalled); NULL with err on failure. */
struct cjob *crip_job_add(struct crippled *k, const char *kind,
    const char *drive, const char *entity, const char *source,
    const char *pool, const char *last_full, int level, int64_t uid,
    char *err);
/* A job's new state, journalled. detail may be NULL. */
void crip_job_state(struct crippled *k, struct cjob *j, const char *state,
    const char *detail);
/* The cached entity (from the catalog), or NULL. */
json_t *crip_entity(struct crippled *k, const char *name);
/* Roles of a uid from the cached ACL (root and our uid: all). */
unsigned crip_roles(struct ctld *c, uid_t uid);
/* An identity's, from the cache (ctld_client_roles in crippled mode). */
unsigned crip_identity_roles(struct ctld *c, const char *identity);
/* An error event in crippled mode: journal and dump log. */
void crip_error(struct ctld *c, struct drive *d, const char *label,
    int64_t job, const char *kind, const char *text);
/* A message in crippled mode: the journal. */
void crip_message(struct ctld *c, struct drive *d, const char *level,
    const char *text);
/* The drive's job was lost (its media server went away). */
void crip_job_lost(struct ctld *c, struct drive *d, const char *why);
/* Hand the drive its next queued crippled job, if it is idle. */
void crip_dispatch(struct ctld *c, struct drive *d);

/* Requests in crippled mode (crippled_req.c). */
json_t *crip_handle(struct ctld *c, struct client *cl,
    const struct proto_op *op, json_t *args, const char **code, char *err);

/*
 * Normal mode: write DIR/catalog-cache.json from the catalog (atomically),
 * if a journal directory is configured. Failures are logged.
 */
void crip_cache_write(struct ctld *c);

/*
 * Normal mode, a merge: the lines to merge (a new reference), holding back
 * those naming a tape crippled mode labelled whose physical label is not
 * confirmed yet (by label_map, "TAPE-ID LABEL" entries); *held counts
 * them. After the merge, crip_merge_confirmed marks the confirmed tapes
 * merged in DIR/active-tapes.
 */
json_t *crip_merge_hold(struct ctld *c, json_t *lines, json_t *label_map,
    int *held);
void crip_merge_confirmed(struct ctld *c, json_t *label_map);

/*
 * The listing command (crippled_list.c): run c->list_cmd with SERVER and,
 * for one partition, PARTITION as its last arguments, without a shell,
 * under a time and size limit; *out gets an array of {"name", "source"?}.
 * 0, or negative with err (PROTO_ERRLEN) set.
 */
int crip_list_entities(struct ctld *c, const char *server,
    const char *partition, json_t **out, char *err);
/*
 * A listing's output (buf holds len bytes and room for a NUL after them),
 * checked line by line into out ({"name", "source"?} each, names once);
 * 0, or -EINVAL / -E2BIG with err (PROTO_ERRLEN) naming the line.
 */
int crip_list_parse(char *buf, size_t len, json_t *out, char *err);
/* The handlers of dump-partition and dump-server, both modes. */
json_t *h_dump_partition(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
json_t *h_dump_server(struct ctld *c, struct client *cl, json_t *a,
    const char **code, char *err);
/* Crippled mode's dump of named entities (sources from the cache or s). */
json_t *crip_dump_entities(struct ctld *c, struct client *cl,
    struct drive *d, json_t *entities, int64_t level, const char **code,
    char *err);

#endif
