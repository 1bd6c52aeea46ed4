/* abs-ctld internals shared by the daemon loop and the request handlers. */
#ifndef ABS_CTLD_H
#define ABS_CTLD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "catalog/catalog.h"
#include "proto/proto.h"

#define CTLD_MSGS 32		/* messages kept per drive */
#define CTLD_GRACE 60		/* default --grace: seconds */

struct client;
struct index_upload;
struct library;

struct drive {
	char name[64];
	char device[256];
	char host[256];		/* the host its media server said it runs
				   on when it last registered ("": not said) */
	struct client *engine;	/* the connected media server, or NULL */
	const char *state;	/* idle writing load-media unloading ... */
	int64_t job;		/* current job, 0 if none */
	bool restoring;		/* the job reads rather than writes */
	char entity[256];
	uint64_t bytes;
	uint64_t estimate;	/* bytes of the entity's last dump, for the ETA */
	double rate;		/* MB/s */
	double started;
	char want_label[64];	/* the cartridge asked for, if any */
	char reserved[64];	/* tape ID reserved for this drive's job */
	json_t *skip;		/* labels reported unavailable for this job */
	json_t *msgs;		/* the last CTLD_MSGS messages */
	double orphaned;	/* when it lost its media server mid-job */
	struct index_upload *upload;	/* an index it is sending (chains.c) */
	/* its library (control/library.c): what the robot does for it */
	bool clean_wanted;	/* a TapeAlert asked for a cleaning cycle */
	bool robot_holds;	/* a cleaning cycle runs: no job starts */
	int64_t clean_job;	/* the job after which cleaning was asked */
	char last_cln[64];	/* the cleaning cartridge it last had */
	/* dump jobs written, not yet committed (control/commit.c) */
	int64_t *written;
	size_t nwritten, capwritten;
	struct drive *next;
};

struct ctld {
	struct cat_db *db;
	/* commit points a media server's dump jobs share (docs/NIGHTLY.md):
	   --commit-every (default 1000; 1: every dump its own) and
	   --commit-secs */
	unsigned commit_every;
	unsigned commit_secs;
	struct drive *drives;
	const char *exception_cmd;	/* run with the message on stdin */
	unsigned grace;		/* seconds a job waits for its media server */
	unsigned exception_timeout;	/* seconds an exception command may run */
	char site[64];		/* the catalog's site ID, told in hello */
	/* crippled mode (control/crippled_int.h): its state, or NULL */
	struct crippled *crip;
	/* a job's result changed what crippled mode's catalog cache holds:
	   written once the turn's answers are sent (ctld.c serve) */
	bool cache_due;
	const char *journal;	/* --journal DIR, or NULL */
	const char *label_prefix;	/* --label-prefix */
	char **list_cmd;	/* --list-cmd ARGV split, NULL-terminated */
	char **changer_cmd;	/* --changer-cmd ARGV (default abs-engine
				   changer), NULL-terminated */
	struct library *libs;	/* control/library.c */
};

struct client {
	int fd;
	uid_t uid;		/* (uid_t)-1 for a client over TLS */
	pid_t pid;		/* 0 over TLS */
	/* who it is: "uid:N" on the Unix socket, "cert:SUBJECT" or
	   "krb:PRINCIPAL" over TLS (control/listen.c) */
	char identity[256];
	char from[64];		/* "ADDR:PORT" over TLS, "" on the socket */
	bool net;		/* over TLS: roles from its identity */
	unsigned roles;
	struct proto_lbuf in;	/* request lines, up to PROTO_MAX_LINE */
	char *out;
	size_t outlen, outcap;
	struct drive *drive;	/* set for a registered media server */
	bool dead;
	bool rdeof;		/* it half-closed: answer, then close */
	bool more;		/* lines or bytes left for the next turn */
	bool turn;		/* read this turn of the loop */
	int64_t partial;	/* since when (ms) a request line is unfinished */
	bool waiting;		/* its request is worked on off the loop */
	json_int_t wait_id;	/* that request's id */
	struct client *next;
};

/* Watch fd in the loop (readable: the libraries are polled); on false,
   stop watching it (before it is closed). */
void ctld_watch(int fd, bool on);

/*
 * Tape libraries (control/library.c). ctld_library_start reads them from
 * the catalog and asks each for an inventory (what a crash cut off is
 * said); ctld_library_tick runs each turn of the loop (answers, time
 * limits, the next operation); a client gone forgets its answers; a
 * drive whose robot work is under way (a cleaning cycle) takes no job.
 */
int ctld_library_start(struct ctld *c);
void ctld_library_tick(struct ctld *c);
void ctld_library_free(struct ctld *c);
void ctld_library_client_gone(struct ctld *c, struct client *cl);
bool ctld_library_holds(struct ctld *c, struct drive *d);
/* The drive's job ended or its media server left: its robot work for the
   job is dropped, a cleaning it waits for may start. */
void ctld_library_drive_free(struct ctld *c, struct drive *d);

/*
 * A request's handler: its result, or NULL with *code (PROTO_E_...) and
 * err (PROTO_ERRLEN bytes) set. One per row of proto/requests.def,
 * h_<id> in control/handlers.c.
 */
typedef json_t *ctld_handler_fn(struct ctld *c, struct client *cl,
    json_t *args, const char **code, char *err);
/* The handler of a row (NULL only for a pointer outside proto_ops). */
ctld_handler_fn *ctld_handler(const struct proto_op *op);
/* Handle one request; result or NULL with *code and err set. */
json_t *ctld_handle(struct ctld *c, struct client *cl,
    const struct proto_op *op, json_t *args, const char **code, char *err);
/* A line to a client (an event to a media server). */
void ctld_send(struct client *cl, json_t *msg);
/* A message for a drive's ring (and syslog/stderr). */
void ctld_message(struct ctld *c, struct drive *d, const char *level,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* An error event: catalog, syslog and the exception command. */
void ctld_error_event(struct ctld *c, struct drive *d, const char *label,
    int64_t job, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
struct drive *ctld_drive(struct ctld *c, const char *name, bool create);
/* Text for the exception command alone (a run's report): no error event. */
void ctld_exception(struct ctld *c, const char *kind, const char *text);
/*
 * Roles of a uid from the ACL. Root and the daemon's own uid have every
 * role, the engine's included (media servers run as root keep working);
 * admin implies every role.
 */
unsigned ctld_roles(struct ctld *c, uid_t uid);
/*
 * A client's roles: its uid's on the Unix socket; over TLS its
 * identity's grants in the ACL (admin implies every person's role, not
 * the engine's) and the engine role only if it is on the table of
 * authorized media servers.
 */
unsigned ctld_client_roles(struct ctld *c, struct client *cl);
/* "uid 1000" or "cert:CN=alice (10.0.0.3:5123)": who, for messages. */
const char *ctld_who(const struct client *cl, char *buf, size_t len);
/* The daemon: options, catalog, socket, the loop until SIGTERM. */
int ctld_main(int argc, char **argv);
/* Hand the drive its next queued job, if it is idle. */
void ctld_dispatch(struct ctld *c, struct drive *d);

/*
 * Jobs whose media server is not there (control/recover.c). At start, the
 * running jobs wait on their drives and what no running job holds is given
 * back (0, or negative if the catalog cannot be read).
 */
int ctld_recover_start(struct ctld *c);
/* The drive's media server left mid-job: the job waits c->grace seconds. */
void ctld_orphan(struct ctld *c, struct drive *d);
/* Fail the jobs whose media servers did not come back in time. */
void ctld_orphans_expire(struct ctld *c);
/*
 * Abort job if no connected media server runs it (queued, or waiting for
 * its media server): 1, 0 if it is neither, negative with dberr set.
 */
int ctld_abort_orphan(struct ctld *c, int64_t job, uid_t uid, char *dberr);
/* Check a registration's job report (NULL: none): 0 or -EINVAL, err. */
int ctld_report_check(json_t *rep, char *err);
/*
 * A media server registered d with its job report (NULL: none): the job
 * it had here and did not report fails; the reported one is resumed,
 * adopted (another master started it: a new id of ours) or ended. 0 and
 * *job (the job it runs now, 0 if none), or negative with dberr set.
 */
int ctld_adopt(struct ctld *c, struct drive *d, json_t *rep, int64_t *job,
    char *dberr);

/*
 * Engine events (control/events.c): what a registered media server
 * reports in an engine-event request, one row per event. data is the
 * fields the handler reads, in proto_ops' spec syntax (f: a number,
 * b: a boolean); handlers tolerate missing ones, and abs-ctld checks an
 * engine-event's data against its row before the handler runs.
 */
typedef json_t *ctld_event_fn(struct ctld *c, struct drive *d, json_t *data,
    const char **code, char *err);
struct ctld_event {
	const char *name;
	ctld_event_fn *fn;
	const char *data;
	bool job;		/* about the drive's job: refused without one */
};
extern const struct ctld_event ctld_events[];
extern const size_t ctld_nevents;
/* The row of an event by name, or NULL. */
const struct ctld_event *ctld_event_find(const char *name);
/*
 * Check an event's data (an object) against its row: every field the row
 * requires is there, every field the row names has its type (an optional
 * one may be null, as absent); fields the
 * row does not name are left to the handler (media servers send more).
 * 0, or -EINVAL with err (PROTO_ERRLEN) naming the event and the field.
 */
/* path made lexically canonical (absolute, no "..", no control
   characters) into out; false with err naming what (control/shadow.c). */
bool ctld_path_canon(const char *path, char *out, size_t len,
    const char *what, char *err);
int ctld_event_check(const struct ctld_event *ev, json_t *data, char *err);

/* Free the index a drive's media server was sending (control/chains.c). */
void ctld_upload_free(struct drive *d);

/*
 * Work off the loop (control/offloop.c): one worker thread that owns no
 * catalog handle, client or drive. A handler that returns NULL with
 * *code CTLD_PENDING is answered later: its client reads no other
 * request meanwhile.
 */
#define CTLD_PENDING "pending"
/* In the worker: the work on what arg holds, and nothing else. */
typedef void ctld_work_fn(void *arg);
/* In the loop when fn ended: the reply (NULL with *code and err), or NULL
   with *code CTLD_PENDING to run fn again (arg's next step). */
typedef json_t *ctld_done_fn(struct ctld *c, struct client *cl, void *arg,
    const char **code, char *err);
typedef void ctld_free_fn(void *arg);
/* In the loop just before fn's turn (NULL: none): what the step needs
   read into arg; 0 to run fn, 1 to go to done without it, or negative
   with *code and err (the refusal). */
typedef int ctld_prep_fn(struct ctld *c, void *arg, const char **code,
    char *err);
/* Queue fn(arg) for cl's request; always NULL with *code: CTLD_PENDING,
   or a refusal (busy) with arg freed. */
json_t *ctld_offload(struct client *cl, ctld_prep_fn *prep, ctld_work_fn *fn,
    ctld_done_fn *done, ctld_free_fn *fr, void *arg, const char **code,
    char *err);
/* The eventfd the loop watches (-1 if none could be made). */
int ctld_offload_fd(void);
/* In the loop, once the eventfd is readable: what the worker made. */
void ctld_offload_done(struct ctld *c);
/* A client is freed: its work's result goes nowhere. */
void ctld_offload_client_gone(struct client *cl);
/* The answer to cl's waiting request: res (owned), or the refusal. */
void ctld_reply(struct client *cl, json_t *res, const char *code,
    const char *err);

#endif
