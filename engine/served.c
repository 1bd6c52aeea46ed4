/*
 * abs-engine as a media server: `abs-engine serve --control SOCKET --drive
 * NAME --device URI`. It registers its drive with abs-ctld, takes jobs,
 * asks the catalog for tapes, passes mount requests on, reports every part
 * as a checkpoint and the job's result, and stops at a block boundary when
 * a job is aborted. It never opens the catalog; its dump log stays the
 * local journal (crippled mode needs nothing else).
 *
 * Masters come and go: when abs-ctld's connection drops, the job goes on
 * (parts are in the journal) and the media server connects again with
 * backoff; on SIGHUP it reads its configuration again (the socket to
 * report to) and moves to that master. Each time it registers it reports
 * its journal, then the job it has in progress, or the result of one
 * that ended while no master heard it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "catalog/dumplog.h"
#include "common/base64.h"
#include "common/clock.h"
#include "common/crash.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/safefile.h"
#include "common/util.h"
#include "engine/archive.h"
#include "engine/changer.h"
#include "engine/engine.h"
#include "engine/shadow.h"
#include "engine/scan.h"
#include "engine/snap.h"
#include "engine/source.h"
#include "engine/tape.h"
#include "engine/target.h"
#include "proto/proto.h"
#include "proto/tls.h"
#include "sg/uevent.h"

/* How long a starting media server waits for abs-ctld's socket. */
#define SERVE_CONNECT_WAIT_MS 5000
/* Backoff between attempts to reach a master that is gone: 1 s to 30 s. */
#define SERVE_BACKOFF_MIN 1
/* A drive holding dumps not yet committed commits them when no next job
   came within this many seconds (docs/NIGHTLY.md "Commit points"; a
   drive's COMMIT_IDLE= in --config). */
#define SERVE_COMMIT_IDLE_S 2
#define SERVE_BACKOFF_MAX 30
/* How long abs-ctld may take to answer (TIMEOUT= in the configuration). */
#define SERVE_CALL_TIMEOUT_S 30

/*
 * SIGHUP: read the configuration again and register anew. It is blocked
 * in every thread (no system call of the dump is interrupted) and taken
 * when pending by hup_now(), at each block and each second of waiting.
 */
static bool hup;

/* Whether a SIGHUP came (taken from the pending set, or seen before). */
static bool
hup_now(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	if (sigtimedwait(&set, NULL, &zero) == SIGHUP)
		hup = true;
	return hup;
}

/*
 * SIGTERM while the drive holds dumps not yet committed: blocked then
 * (hold_signals), and taken here between jobs and at each block of a
 * job, so the media server commits them before it stops. With nothing
 * held it is not blocked and stops the media server as before.
 */
static bool
term_now(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	return sigtimedwait(&set, NULL, &zero) == SIGTERM;
}

/* Block SIGTERM while dumps are held (see term_now), else let it act. */
static void
hold_signals(bool held)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(held ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* The job in progress, as a master that did not start it is told. */
struct cur_job {
	bool active;		/* a job runs, or its result is unheard */
	int64_t id;		/* its ID at the master that started it */
	char site[64];		/* that master's site ID */
	char kind[16], entity[256];
	char state[16];		/* running done failed aborted */
	char dump[33], tape_id[64], label[64];
	uint64_t bytes;
	char error[ENG_ERRLEN];
};

struct srv {
	struct proto_conn *pc;
	bool abort, mounted, retry, eof;
	bool unload;		/* abs-ctld asked for the drive to be unloaded */
	char barcode[TSG_BARCODE_LEN];	/* what the last `mounted` loaded */
	char serial[65];	/* the drive's INQUIRY unit serial, "" none */
	bool no_serial_arg;	/* this abs-ctld takes no serial: not sent */
	bool no_host_arg;	/* nor a host */
	char library[64];	/* the library abs-ctld attached the drive to */
	/* The device's node (sg:, st:) watched through kernel uevents. */
	int uev_fd;		/* -1: no uevents (checked at each job start) */
	char node[256];		/* "/dev/sg3", "" for a device without one */
	char node_name[128];	/* the kernel's DEVNAME: "sg3" */
	int node_major, node_minor;	/* -1 unknown */
	bool gone;		/* the node was removed and is not back */
	time_t uev_seen;	/* when uevents were last read */
	json_t *job;		/* a job event not yet run */
	json_t *scan;		/* a rebuild's scan event not yet run */
	int64_t job_id;
	unsigned mount_timeout;
	unsigned cmd_timeout;	/* a snapshot or release command's bound */
	char sock[108];		/* the master's socket */
	unsigned timeout_s;	/* a request's answer; then the master is gone */
	const char *config, *drive, *device, *log;
	time_t next_try;	/* when to try reaching a master again */
	unsigned backoff;
	struct cur_job cur;
	/* An archive job (engine/archive.c's loop): its name and done
	   directory, archive-stop heard, the done entries to send again
	   (a master that came back may lack some), its last status. */
	const char *arch_name, *arch_done;
	bool arch_stop, arch_resync;
	char *arch_status;
	/*
	 * Commit points shared by the dump jobs of the cartridge in the
	 * drive (docs/NIGHTLY.md "Commit points"): the drive held at end of
	 * data between jobs, the dump-log lines of the dumps written behind
	 * immediate filemarks kept until a synchronous one covers them.
	 */
	struct eng_commit commit;
	unsigned commit_every;	/* COMMIT_EVERY= of the config (0: abs-ctld's) */
	double commit_secs;	/* COMMIT_SECS= (< 0: abs-ctld's) */
	double commit_idle;	/* COMMIT_IDLE= (SERVE_COMMIT_IDLE_S) */
	json_t *committed;	/* lines a commit point released, for abs-ctld */
	json_t *lost;		/* jobs whose dumps a commit point lost */
	json_t *indexes;	/* committed dumps whose file index goes up */
	json_t *verified;	/* the commit points' read backs, per part */
	const struct eng_hooks *hooks;	/* the jobs' (bad-tape at a commit) */
	char lost_why[ENG_ERRLEN];
	double idle_since;	/* when the drive, holding dumps, went idle */
	bool term;		/* SIGTERM came while dumps were held */
	bool moving;		/* SIGHUP named another master: registering
				   there mid-job keeps the held dumps */
};

static void take_library(struct srv *s, json_t *lib);

/* A pushed event: remember what it asks for. */
static void
on_event(struct srv *s, json_t *m)
{
	const char *ev = json_string_value(json_object_get(m, "event"));

	if (!ev)
		return;
	if (strcmp(ev, "abort") == 0)
		s->abort = true;
	else if (strcmp(ev, "archive-stop") == 0)
		s->arch_stop = true;
	else if (strcmp(ev, "mounted") == 0) {
		/* The robot's cartridge: held to the sticker rule. */
		const char *b = json_string_value(json_object_get(m, "barcode"));
		s->mounted = true;
		snprintf(s->barcode, sizeof(s->barcode), "%s", b ? b : "");
	} else if (strcmp(ev, "unload") == 0) {
		s->unload = true;
	} else if (strcmp(ev, "library") == 0) {
		/* Attached (or detached: null) after we registered: from the
		   next job on, abs-ctld's robot (or ours) moves cartridges. */
		take_library(s, json_object_get(m, "library"));
	}
	else if (strcmp(ev, "retry-tape") == 0)
		s->retry = true;
	else if (strcmp(ev, "job") == 0 && !s->job && !(s->cur.active &&
	    strcmp(s->cur.state, "running") == 0)) {
		s->job = json_incref(m);
		/* Whose job it is, for another master (the event's, or hello's). */
		if (!json_is_string(json_object_get(m, "site")))
			json_object_set_new(s->job, "site", json_string(s->pc ?
			    proto_conn_site(s->pc) : ""));
	} else if (strcmp(ev, "scan") == 0 && !s->scan) {
		s->scan = json_incref(m);
	}
}

/* The event callback of proto_call and proto_hello. */
static void
event_cb(void *ctx, json_t *m)
{
	on_event(ctx, m);
}

/* Handle every event already received, waiting up to timeout_ms first. */
static void
drain_events(struct srv *s, int timeout_ms)
{
	char err[PROTO_ERRLEN];
	json_t *m;
	int rc;

	if (!s->pc || s->eof)
		return;
	while ((rc = proto_recv(s->pc, timeout_ms, &m, err)) == 1) {
		on_event(s, m);
		json_decref(m);
		timeout_ms = 0;
	}
	if (rc < 0)
		s->eof = true;
}

static int ensure_master(struct srv *s, char *err);

/*
 * A request on the current connection and its result (args taken); pushed
 * events met on the way are remembered. NULL with err set if refused or
 * the connection is lost (s->eof).
 */
static json_t *
call_on(struct srv *s, const char *op, json_t *args, char *err)
{
	char perr[PROTO_ERRLEN];
	json_t *rep, *r;
	int rc;

	if (!s->pc || s->eof) {
		json_decref(args);
		eng_err(err, "no abs-ctld to tell (trying again every %u s at most)",
		    SERVE_BACKOFF_MAX);
		return NULL;
	}
	rc = proto_call(s->pc, op, args, event_cb, s, &rep, perr);
	json_decref(args);
	if (rc < 0) {
		s->eof = true;	/* a lost reply: this connection is done */
		eng_err(err, "%s", rc == -ECONNRESET ?
		    "abs-ctld closed the connection" : perr);
		return NULL;
	}
	if (!proto_reply_ok(rep)) {
		eng_err(err, "abs-ctld: %s", proto_reply_error(rep));
		json_decref(rep);
		return NULL;
	}
	r = json_incref(json_object_get(rep, "result"));
	json_decref(rep);
	return r ? r : json_null();
}

/* A request to the master, reaching one first if it is time to try. */
static json_t *
call(struct srv *s, const char *op, json_t *args, char *err)
{
	if (ensure_master(s, err) < 0) {
		json_decref(args);
		return NULL;
	}
	return call_on(s, op, args, err);
}

/* Whether a master is connected (a refusal came from it, not from silence). */
static bool
master_up(const struct srv *s)
{
	return s->pc && !s->eof;
}

/* Wait until the next attempt to reach a master is due (at most ms). */
static void
wait_master(struct srv *s, unsigned ms)
{
	time_t now = time(NULL);

	if (master_up(s) || hup_now())
		return;
	if (s->next_try > now && (unsigned)(s->next_try - now) * 1000 < ms)
		ms = (unsigned)(s->next_try - now) * 1000;
	if (s->next_try > now)
		usleep(ms * 1000);
}

/* An engine-event request; its result or NULL with err. */
static json_t *
event_call(struct srv *s, const char *event, json_t *data, char *err)
{
	return call(s, "engine-event", json_pack("{s:s,s:o}", "event", event,
	    "data", data ? data : json_object()), err);
}

/*
 * An engine-event whose answer nobody waits for (progress, a check's
 * counts): sent, and its reply read later with the other messages
 * (drain_events, proto_call: a reply is no event). abs-ctld takes a
 * connection's lines in order, so the job's result, a call, still comes
 * after it. The data path never waits on abs-ctld for these.
 */
static void
event_post(struct srv *s, const char *event, json_t *data)
{
	char perr[PROTO_ERRLEN];
	json_t *args = json_pack("{s:s,s:o}", "event", event, "data", data ?
	    data : json_object());

	if (args && master_up(s) && proto_send(s->pc, "engine-event", args, NULL,
	    perr) < 0)
		s->eof = true;	/* the next call reaches a master anew */
	json_decref(args);
}

/* A dump-log record as an event's data (with the trailer's time if any). */
static json_t *
rec_json(const struct cat_dl_rec *r)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:I,s:i,s:I,s:I,s:I,"
	    "s:i,s:s,s:s,s:s,s:I,s:s}",
	    "dump", r->dump_id, "entity", r->entity, "date", r->date,
	    "since", r->since, "level", r->level, "label", r->label,
	    "tape_id", r->tape_id, "file", (json_int_t)r->file, "part", r->part,
	    "offset", (json_int_t)r->offset, "bytes", (json_int_t)r->bytes,
	    "blocks", (json_int_t)r->blocks, "block_size", (int)r->block_size,
	    "digest_alg", r->digest_alg, "digest", r->digest, "status", r->status,
	    "raw_bytes", (json_int_t)r->raw_bytes, "raw_digest", r->raw_digest);

	/* The whole line: crippled mode writes it to its own dump log. */
	if (j && json_object_update_new(j, json_pack("{s:s,s:s,s:s,s:s}",
	    "server", r->server, "partition", r->partition, "compress",
	    r->compress, "source", r->source_kind)) < 0) {
		json_decref(j);
		return NULL;
	}
	if (j && r->written[0])
		json_object_set_new(j, "written", json_string(r->written));
	/* A dump's base and where its file index sits (issue 13). */
	if (j && r->type == CAT_DL_DUMP && r->base[0])
		json_object_set_new(j, "base", json_string(r->base));
	if (j && r->type == CAT_DL_DUMP && r->index_bytes &&
	    json_object_update_new(j, json_pack("{s:I,s:I,s:I}", "index_raw",
	    (json_int_t)r->index_raw, "index_stored", (json_int_t)r->index_stored,
	    "index_bytes", (json_int_t)r->index_bytes)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void job_save(const struct srv *s);
static int upload_index(struct srv *s, const char *log, const char *dump,
    uint64_t want);

/* A line a commit point released (parts and dumps), for abs-ctld. */
static void
commit_line(void *ctx, const struct cat_dl_rec *r)
{
	struct srv *s = ctx;
	char line[4096];

	if (cat_dl_format(r, line, sizeof(line)) < 0)
		return;
	line[strcspn(line, "\n")] = '\0';
	json_array_append_new(s->committed, json_string(line));
	if (r->type == CAT_DL_DUMP && r->index_bytes)
		json_array_append_new(s->indexes, json_string(r->dump_id));
}

/* A dump a failed commit point leaves uncovered: its job fails. */
static void
commit_lost(void *ctx, const struct cat_dl_rec *r)
{
	struct srv *s = ctx;

	log_warn("job %lld: dump %s of %s was written but no commit point "
	    "covers it: it is not in the journal, and abs-ctld dumps it again",
	    (long long)r->job, r->dump_id, r->entity);
	json_array_append_new(s->lost, json_integer(r->job));
	/* Why, for commit-failed (a commit point inside a job sets it too). */
	snprintf(s->lost_why, sizeof(s->lost_why), "the commit point failed: %s",
	    s->commit.why);
}

/* A commit point's read back of a part of job's dump, for abs-ctld. */
static void
commit_verified(void *ctx, const char *dump_id, const char *tape_id,
    int64_t job, uint64_t checked, uint64_t bad)
{
	struct srv *s = ctx;

	json_array_append_new(s->verified, json_pack("{s:s,s:s,s:I,s:I,s:I}",
	    "dump", dump_id, "tape_id", tape_id, "job", (json_int_t)job,
	    "checked", (json_int_t)checked, "bad", (json_int_t)bad));
}

/* Whether the drive holds dumps not yet committed, or the drive itself. */
static bool
commit_held(const struct srv *s)
{
	return s->commit.dev || s->commit.nrec;
}

/*
 * What the commit points released, told to abs-ctld: "commit" events of
 * whole dumps' lines (at most 48 KiB each: the request line's limit is
 * 64), the dumps' file indexes, then a last "commit" that makes their
 * jobs done; then "commit-failed" for the jobs whose dumps were lost.
 * Lines not heard are in the journal: the next registration merges them.
 */
static void
commit_tell(struct srv *s)
{
	char err[ENG_ERRLEN];
	size_t i, from = 0, bytes = 0, n = json_array_size(s->committed);
	json_t *r;

	for (i = 0; i < n; i++) {
		const char *l = json_string_value(json_array_get(s->committed, i));
		bytes += strlen(l) + 8;
		/* a chunk ends after a dump line: a dump's lines stay together */
		if (i + 1 < n && (bytes < 48 * 1024 || strncmp(l, "dump ", 5) != 0))
			continue;
		json_t *chunk = json_array();
		for (size_t k = from; k <= i; k++)
			json_array_append(chunk, json_array_get(s->committed, k));
		from = i + 1;
		bytes = 0;
		if (!master_up(s))
			continue;
		r = event_call(s, "commit", json_pack("{s:o,s:b}", "lines", chunk,
		    "settle", 0), err);
		if (!r)
			log_warn("commit not heard (%s): the journal has it for the "
			    "next registration", err);
		json_decref(r);
	}
	if (n && master_up(s)) {
		json_t *id;
		json_array_foreach(s->indexes, i, id)
			upload_index(s, s->log, json_string_value(id), 0);
	}
	/* The read backs, each its job's (the dumps are in the catalog now,
	   or lost: then before commit-failed, as the reason). */
	if (master_up(s)) {
		json_t *v;
		json_array_foreach(s->verified, i, v)
			event_post(s, "verified", json_incref(v));
	}
	json_array_clear(s->verified);
	if (n && master_up(s)) {
		r = event_call(s, "commit", json_pack("{s:[],s:b}", "lines",
		    "settle", 1), err);
		if (!r)
			log_warn("commit not heard (%s): abs-ctld settles the jobs "
			    "when the drive registers again", err);
		json_decref(r);
	}
	json_array_clear(s->committed);
	json_array_clear(s->indexes);
	if (json_array_size(s->lost) && master_up(s)) {
		r = event_call(s, "commit-failed", json_pack("{s:O,s:s}", "jobs",
		    s->lost, "error", s->lost_why), err);
		if (!r)
			log_warn("commit-failed not heard (%s): abs-ctld fails the "
			    "jobs when the drive registers again", err);
		json_decref(r);
	}
	json_array_clear(s->lost);
}

/*
 * A commit point now (why: idle, unload, a restore, the end, ...): a
 * synchronous filemark, the held dumps to the journal, the drive let go;
 * then abs-ctld is told (tell). 0 or negative (the dumps were lost).
 */
static int
serve_commit(struct srv *s, const char *why, bool tell)
{
	struct eng_dump_opts o = { .device = s->device, .log = s->log,
	    .commit = &s->commit, .hooks = s->hooks };
	char err[ENG_ERRLEN] = "";
	unsigned held = s->commit.pending;
	uint64_t parts = s->commit.spot_parts, blocks = s->commit.spot_checked;
	int rc = 0;

	if (commit_held(s)) {
		double t0 = eng_now();
		rc = eng_commit_end(&s->commit, &o, err);
		s->commit.pending = 0;
		/* In the journal, abs-ctld not told yet. */
		if (rc == 0 && held)
			abs_crash_point("committed");
		if (rc < 0) {
			snprintf(s->lost_why, sizeof(s->lost_why), "the commit point "
			    "failed: %s", err);
			log_warn("drive %s: %s", s->drive, s->lost_why);
		} else if (held) {
			log_info("drive %s: commit point (%s): %u dumps on tape, "
			    "%llu of them read back (%llu blocks), %.2f s", s->drive,
			    why, held, (unsigned long long)(s->commit.spot_parts -
			    parts), (unsigned long long)(s->commit.spot_checked -
			    blocks), eng_now() - t0);
		}
	}
	hold_signals(false);
	/* A job whose written result no master heard: how it ended now. */
	if (s->cur.active && strcmp(s->cur.state, "written") == 0) {
		snprintf(s->cur.state, sizeof(s->cur.state), "%s", rc == 0 ?
		    "done" : "failed");
		snprintf(s->cur.error, sizeof(s->cur.error), "%s", rc == 0 ? "" :
		    s->lost_why);
		job_save(s);
	}
	if (tell)
		commit_tell(s);
	else {
		json_array_clear(s->committed);
		json_array_clear(s->lost);
		json_array_clear(s->indexes);
		json_array_clear(s->verified);
	}
	return rc;
}

/*
 * Crippled mode on a library: the master's made-up label cannot be loaded,
 * so a cartridge of the library is taken by its barcode (the changer then
 * writes only on a blank one; any other is refused and reported
 * unavailable), never one the master says to avoid. The barcode into
 * label; false if the drive is in no library or no cartridge is left.
 */
static bool
pick_barcode(const struct srv *s, json_t *avoid, char *label, size_t llen)
{
	struct tsg_changer *chg;
	struct tsg_element *e = NULL;
	struct tsg_status st;
	size_t n = 0, k;
	unsigned drive;
	bool found = false;
	json_t *a;

	if (eng_library_of(s->device, &chg, &drive) < 0)
		return false;
	if (tsg_changer_inventory(chg, &e, &n, &st) == 0)
		for (size_t i = 0; i < n && !found; i++) {
			const char *b = e[i].barcode;
			bool usable = e[i].full && b[0] && strlen(b) < llen &&
			    (e[i].type == TSG_ELEM_SLOT || (e[i].type ==
			    TSG_ELEM_DRIVE && e[i].num == drive));
			for (const char *p = b; usable && *p; p++)
				usable = (unsigned char)*p > ' ' && !strchr("%=|", *p);
			/* Never a cleaning cartridge; the sticker names the tape. */
			usable = usable && !eng_barcode_cleaning(b, NULL);
			json_array_foreach(avoid, k, a)
				usable = usable && json_is_string(a) &&
				    !eng_barcode_label_ok(b, json_string_value(a));
			if (usable) {
				eng_barcode_label(b, label, llen);
				found = true;
			}
		}
	free(e);
	tsg_changer_free(chg);
	return found;
}

/* ---- the device node: gone and back (kernel uevents) ---- */

/* The node of a device URI (sg:/dev/sgN, st:/dev/nstN) into s, if any. */
static void
node_init(struct srv *s)
{
	const char *p = NULL;
	struct stat st;

	s->uev_fd = -1;
	s->node_major = s->node_minor = -1;
	if (strncmp(s->device, "sg:", 3) == 0)
		p = s->device + 3;
	else if (strncmp(s->device, "st:", 3) == 0)
		p = s->device + 3;
	if (!p || p[0] != '/' || strlen(p) >= sizeof(s->node))
		return;
	snprintf(s->node, sizeof(s->node), "%s", p);
	snprintf(s->node_name, sizeof(s->node_name), "%s", strncmp(p, "/dev/",
	    5) == 0 ? p + 5 : strrchr(p, '/') + 1);
	if (stat(p, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
		s->node_major = (int)major(st.st_rdev);
		s->node_minor = (int)minor(st.st_rdev);
	}
	s->uev_fd = uevent_open();
	if (s->uev_fd < 0)
		log_warn("no kernel uevents (%s): %s going away is noticed at "
		    "a job's start only", strerror(-s->uev_fd), s->node);
}

/* The node is gone or back: said, and told abs-ctld (engine-event device). */
static void
node_state(struct srv *s, bool gone, const char *why)
{
	char err[ENG_ERRLEN];
	json_t *r;

	if (s->gone == gone)
		return;
	s->gone = gone;
	if (gone)
		log_warn("drive %s: device node %s is gone (%s): no job starts on "
		    "it until it is back", s->drive, s->node, why);
	else
		log_warn("drive %s: device node %s is back (%s)", s->drive, s->node,
		    why);
	r = event_call(s, "device", json_pack("{s:s,s:s}", "state", gone ?
	    "gone" : "back", "node", s->node), err);
	if (!r)
		log_warn("device event not heard: %s", err);
	json_decref(r);
}

/* Whether the node exists now (and its numbers, refreshed). */
static bool
node_present(struct srv *s)
{
	struct stat st;

	if (stat(s->node, &st) < 0)
		return false;
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		s->node_major = (int)major(st.st_rdev);
		s->node_minor = (int)minor(st.st_rdev);
	}
	return true;
}

/*
 * Read the kernel's uevents for our node (at most once a second unless
 * now): removed is gone, added is back. Lost events (ENOBUFS): the node
 * is looked at instead.
 */
static void
watch_device(struct srv *s, bool now)
{
	struct uevent ev;
	char why[700];
	int rc;

	if (!s->node[0] || s->uev_fd < 0 || (!now && time(NULL) == s->uev_seen))
		return;
	s->uev_seen = time(NULL);
	while ((rc = uevent_recv(s->uev_fd, &ev, NULL)) != 0) {
		if (rc < 0) {
			if (rc != -ENOBUFS)
				break;
			node_state(s, !node_present(s), "uevents were lost; the node "
			    "was looked at");
			continue;
		}
		bool ours = (ev.devname[0] && strcmp(ev.devname, s->node_name) ==
		    0) || (ev.major >= 0 && ev.major == s->node_major &&
		    ev.minor == s->node_minor);
		if (!ours)
			continue;
		snprintf(why, sizeof(why), "kernel: %s %s", ev.action, ev.devpath);
		if (strcmp(ev.action, "remove") == 0)
			node_state(s, true, why);
		else if (strcmp(ev.action, "add") == 0 && node_present(s))
			node_state(s, false, why);
	}
}

/*
 * Before a job: the node must be there (uevents read first; without them,
 * or if they missed it, the node is looked at). 0, or -ENODEV with err.
 */
static int
device_ready(struct srv *s, char *err)
{
	if (!s->node[0])
		return 0;
	watch_device(s, true);
	node_state(s, !node_present(s), "looked at before a job");
	if (!s->gone)
		return 0;
	eng_err(err, "device node %s of drive %s is gone (removed, not added "
	    "back): no job is started on it", s->node, s->drive);
	return -ENODEV;
}

static void send_tapealert(struct srv *s, uint64_t f, const char *label);

/*
 * abs-ctld's robot asked for the drive to be emptied (event `unload`): when
 * the device is ours to use, rewind it and unload the cartridge (SSC LOAD
 * UNLOAD), so the robot can take it; while a job holds the device, say
 * no and why. The answer is engine-event `unloaded` {ok, error}.
 */
static void
serve_unload(struct srv *s, bool busy)
{
	char why[TSG_WHY_LEN], err[ENG_ERRLEN] = "", sbuf[200];
	struct tsg_status st;
	struct tsg_dev *dev;
	uint64_t alerts = 0;
	bool ok = false;
	json_t *r;
	int rc;

	if (!s->unload)
		return;
	s->unload = false;
	if (!busy)	/* the cartridge leaves: what it holds is committed */
		serve_commit(s, "unload", true);
	if (busy) {
		eng_err(err, "busy: job %lld (%s of %s) holds drive %s",
		    (long long)s->job_id, s->cur.kind, s->cur.entity, s->drive);
	} else if ((rc = tsg_open_why(s->device, &dev, why)) < 0) {
		eng_err(err, "%s: cannot open: %s", s->device, why[0] ? why :
		    strerror(-rc));
	} else {
		rc = tsg_test_unit_ready(dev, &st);
		/* After a cleaning cycle the flags say how it went (22: spent). */
		struct tsg_status ast;
		if (tsg_tapealert(dev, &alerts, &ast) != 0)
			alerts = 0;
		if (rc == TSG_CHECK && st.cat == TSG_CAT_NOT_READY &&
		    st.asc == SPC_ASC_MEDIUM_NOT_PRESENT) {
			ok = true;	/* nothing in it: nothing to unload */
		} else if (tsg_rewind(dev, &st) != 0 ||
		    tsg_load(dev, false, &st) != 0) {
			eng_err(err, "unloading %s: %s", s->device,
			    tsg_status_str(&st, sbuf, sizeof(sbuf)));
		} else {
			ok = true;
		}
		tsg_free(dev);
	}
	if (ok)
		log_info("drive %s unloaded for abs-ctld's robot", s->drive);
	else
		log_warn("drive %s not unloaded: %s", s->drive, err);
	r = event_call(s, "unloaded", json_pack("{s:b,s:s?}", "ok", ok, "error",
	    ok ? NULL : err), why);
	if (!r)
		log_warn("unloaded: %s", why);
	json_decref(r);
	if (alerts)
		send_tapealert(s, alerts, "");
}

/*
 * After a job: the drive's TapeAlert flags (LOG SENSE 2Eh; reading clears
 * them), sent to abs-ctld when any is set: 20 and 21 ask for cleaning, 22
 * says the cleaning cartridge is spent.
 */
static void
report_tapealert(struct srv *s, const char *label)
{
	char why[TSG_WHY_LEN];
	struct tsg_status st;
	struct tsg_dev *dev;
	uint64_t f = 0;

	if (s->commit.dev) {	/* held at end of data for the next dump */
		if (tsg_tapealert(s->commit.dev, &f, &st) != 0)
			f = 0;
	} else {
		if (tsg_open_why(s->device, &dev, why) < 0)
			return;
		if (tsg_tapealert(dev, &f, &st) != 0)
			f = 0;
		tsg_free(dev);
	}
	if (f)
		send_tapealert(s, f, label);
}

/* TapeAlert flags f (bit i: flag i + 1) to abs-ctld: engine-event tapealert. */
static void
send_tapealert(struct srv *s, uint64_t f, const char *label)
{
	char why[ENG_ERRLEN], flags[24];
	json_t *r;

	snprintf(flags, sizeof(flags), "0x%016llx", (unsigned long long)f);
	log_warn("drive %s: TapeAlert flags %s (cartridge %s)", s->drive, flags,
	    label && *label ? label : "-");
	r = event_call(s, "tapealert", json_pack("{s:s,s:s}", "flags", flags,
	    "label", label ? label : ""), why);
	if (!r)
		log_warn("tapealert not heard: %s", why);
	json_decref(r);
}

/* The drive's INQUIRY unit serial, for abs-ctld to find it in its library. */
static void
read_serial(struct srv *s)
{
	char why[TSG_WHY_LEN];
	struct tsg_inquiry inq;
	struct tsg_status st;
	struct tsg_dev *dev;

	if (s->serial[0] || tsg_open_why(s->device, &dev, why) < 0)
		return;
	memset(&inq, 0, sizeof(inq));
	if (tsg_inquiry(dev, &inq, &st) == 0)
		snprintf(s->serial, sizeof(s->serial), "%s", inq.serial);
	tsg_free(dev);
}

/*
 * Hook: the catalog's choice of the next tape. Without a master, wait for
 * one (the job goes on when it comes); a master's refusal ends the job.
 */
static int
h_next_tape(void *ctx, const char *pool, char *label, size_t llen,
    char *tape_id, size_t tlen, bool *blank, bool *recycle, char *err)
{
	struct srv *s = ctx;
	time_t deadline = time(NULL) + (s->mount_timeout ? s->mount_timeout :
	    86400);
	json_t *r;

	s->retry = false;
	for (;;) {
		r = event_call(s, "next-tape", json_pack("{s:s}", "pool", pool ?
		    pool : "default"), err);
		if (r || master_up(s))
			break;
		/* SIGTERM (held while dumps wait for a commit point) stops
		   the wait too: the job ends, the held dumps are committed. */
		if (!s->term && term_now())
			s->term = true;
		if (s->abort || s->term || time(NULL) >= deadline) {
			eng_err(err, "no abs-ctld to choose the next tape");
			return -ENOSPC;
		}
		wait_master(s, 1000);
	}
	if (!r)
		return -ENOSPC;
	if (!json_is_string(json_object_get(r, "label")) ||
	    !json_is_string(json_object_get(r, "tape_id"))) {
		eng_err(err, "abs-ctld's choice of the next tape names no label or "
		    "tape ID");
		json_decref(r);
		return -EPROTO;
	}
	snprintf(label, llen, "%s", json_string_value(json_object_get(r, "label")));
	snprintf(tape_id, tlen, "%s", json_string_value(json_object_get(r,
	    "tape_id")));
	*blank = json_integer_value(json_object_get(r, "ever_written")) == 0;
	*recycle = json_integer_value(json_object_get(r, "recycle")) == 1;
	if (*blank && json_is_true(json_object_get(r, "barcode")) &&
	    pick_barcode(s, json_object_get(r, "avoid"), label, llen))
		log_info("crippled mode: the cartridge of barcode %s, if blank, "
		    "is labelled with it", label);
	json_decref(r);
	return 0;
}

/*
 * Hook: ask for a cartridge; wait for mounted, another tape or abort. A
 * master that goes away meanwhile is asked again once one is back.
 */
static int
h_mount(void *ctx, const char *label, char *err)
{
	struct srv *s = ctx;
	time_t deadline = time(NULL) + (s->mount_timeout ? s->mount_timeout : 86400);
	bool asked = false;
	json_t *r;

	s->mounted = s->retry = false;
	s->barcode[0] = '\0';
	while (!s->mounted && !s->retry && !s->abort && !s->term) {
		/* The drive is released while we wait: abs-ctld's robot may
		   ask for it to be unloaded first. */
		serve_unload(s, false);
		if (term_now()) {	/* held while dumps wait: see h_aborted */
			s->term = true;
			break;
		}
		watch_device(s, false);
		if (time(NULL) >= deadline) {
			eng_err(err, "nobody mounted %s", label);
			return -ETIMEDOUT;
		}
		if (!master_up(s) || hup_now()) {
			asked = false;
			if (ensure_master(s, err) < 0) {
				wait_master(s, 1000);
				continue;
			}
		}
		if (!asked) {
			r = event_call(s, "mount-request", json_pack("{s:s}", "label",
			    label), err);
			if (!r && master_up(s))
				return -EIO;	/* refused */
			json_decref(r);
			asked = r != NULL;
			continue;
		}
		drain_events(s, 1000);
	}
	if (s->abort || s->term) {
		eng_err(err, "%s while waiting for %s", s->abort ? "aborted by the "
		    "operator" : "stopped (SIGTERM)", label);
		return -ECANCELED;
	}
	return s->retry ? 1 : 0;
}

/* Hook: the barcode of what abs-ctld's robot loaded ("" unknown). */
static void
h_barcode(void *ctx, char *buf, size_t len)
{
	struct srv *s = ctx;

	snprintf(buf, len, "%s", s->barcode);
}

/* Hook: a cartridge refused by the sticker rule, or a cleaning one. */
static void
h_rejected(void *ctx, const char *label, const char *tape_id,
    const char *kind, const char *barcode, const char *tape_label,
    const char *why)
{
	char err[ENG_ERRLEN];
	json_t *r = event_call(ctx, "mount-rejected", json_pack("{s:s,s:s*,s:s,"
	    "s:s,s:s,s:s}", "label", label, "tape_id", tape_id && *tape_id ?
	    tape_id : NULL, "why", why, "kind", kind ? kind : "wrong-tape",
	    "barcode", barcode ? barcode : "", "tape_label", tape_label ?
	    tape_label : ""), err);

	if (!r)
		log_warn("mount-rejected: %s", err);
	json_decref(r);
}

/* Hook: a part, dump, tape or error event for the catalog. */
static int
h_event(void *ctx, const char *event, const struct cat_dl_rec *rec,
    const char *label, const char *tape_id, const char *why)
{
	struct srv *s = ctx;
	char err[ENG_ERRLEN];
	json_t *data = rec ? rec_json(rec) : json_object(), *r;

	if (label)
		json_object_set_new(data, "label", json_string(label));
	if (tape_id)
		json_object_set_new(data, "tape_id", json_string(tape_id));
	if (why)
		json_object_set_new(data, "why", json_string(why));
	if (strcmp(event, "error") == 0 && why)
		json_object_set_new(data, "message", json_string(why));
	/* What a master that did not start the job is told of it. */
	if (strcmp(event, "part") == 0 && rec)
		snprintf(s->cur.dump, sizeof(s->cur.dump), "%s", rec->dump_id);
	if (tape_id && (strcmp(event, "part") == 0 || strcmp(event, "loaded") ==
	    0)) {
		snprintf(s->cur.tape_id, sizeof(s->cur.tape_id), "%s", tape_id);
		snprintf(s->cur.label, sizeof(s->cur.label), "%s", label ? label :
		    "");
	}
	if (strcmp(event, "tape-full") == 0 || strcmp(event, "bad-tape") == 0)
		s->cur.tape_id[0] = s->cur.label[0] = '\0';
	/*
	 * Not waited for: the cartridge is in (abs-ctld only notes it); a
	 * part or a dump on tape and in the dump log (its answer changes
	 * nothing here: the journal has it for a merge, and abs-ctld says a
	 * record it could not make in its own log). abs-ctld takes the
	 * connection's lines in order, so the dump comes after its parts and
	 * the job's result, a call, after all of them; the spot check and
	 * the journal's lines go on meanwhile, not after a round trip each.
	 */
	if ((strcmp(event, "loaded") == 0 || (rec && (strcmp(event, "part") ==
	    0 || strcmp(event, "dump") == 0))) && master_up(s)) {
		event_post(s, event, data);
		return 0;
	}
	r = event_call(s, event, data, err);
	if (!r) {
		log_warn("%s", err);
		return -1;
	}
	json_decref(r);
	return 0;
}

/* Hook: bytes, rate and state for abs-ctl status. */
static void
h_progress(void *ctx, uint64_t bytes, double rate, const char *state)
{
	struct srv *s = ctx;

	s->cur.bytes = bytes;
	event_post(s, "progress", json_pack("{s:I,s:f,s:s}", "bytes",
	    (json_int_t)bytes, "rate", rate, "state", state));
}

/* Hook: a read-after-write check's counts. */
static void
h_verified(void *ctx, const char *dump_id, const char *tape_id,
    uint64_t checked, uint64_t bad)
{
	struct srv *s = ctx;

	event_post(s, "verified", json_pack("{s:s,s:s,s:I,s:I}", "dump", dump_id,
	    "tape_id", tape_id, "checked", (json_int_t)checked, "bad",
	    (json_int_t)bad));
}

/* Hook: whether the operator aborted the job. */
static bool
h_aborted(void *ctx)
{
	struct srv *s = ctx;
	char err[ENG_ERRLEN];

	/* A master to report to: the new one after SIGHUP, or one back. */
	if (hup_now() || !master_up(s))
		ensure_master(s, err);
	if (!s->abort && master_up(s))
		drain_events(s, 0);
	serve_unload(s, true);	/* the job holds the drive */
	watch_device(s, false);
	if (!s->term && term_now()) {
		/* Stopped: this job ends, then the held dumps are committed. */
		log_warn("SIGTERM: job %lld is stopped, the dumps written before "
		    "it are committed", (long long)s->job_id);
		s->term = true;
	}
	return s->abort || s->term;
}

/* A string field of o into dst, "" if absent. */
static void
jstr(json_t *o, const char *k, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(o, k));

	snprintf(dst, len, "%s", v ? v : "");
}

static uint64_t
jnum(json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));

	return v > 0 ? (uint64_t)v : 0;
}

/* A dump line's blocks: its parts' together. */
static uint64_t
parts_blocks(json_t *parts)
{
	uint64_t n = 0;
	size_t i;
	json_t *p;

	json_array_foreach(parts, i, p)
		n += jnum(p, "blocks");
	return n;
}

/*
 * The part and dump lines of one dump of a restore's chain (d: abs-ctld's
 * {dump_uid, level, base, started, since, bytes, raw_bytes, digest_alg,
 * digest, raw_digest, index_*, parts}), as a dump log has them.
 */
/* 32 hex digits: a dump ID, which names files (LOG.fidx/DUMP). */
static bool
dump_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s && s[i]; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return s && i == 32;
}

static int
write_chain_dump(const char *path, const char *entity, const char *kind,
    json_t *d, char *why, size_t whylen)
{
	json_t *parts = json_object_get(d, "parts"), *p;
	struct cat_dl_rec rec;
	size_t i;
	int rc = 0;

	memset(&rec, 0, sizeof(rec));
	jstr(d, "dump_uid", rec.dump_id, sizeof(rec.dump_id));
	snprintf(rec.entity, sizeof(rec.entity), "%s", entity);
	jstr(d, "started", rec.date, sizeof(rec.date));
	jstr(d, "since", rec.since, sizeof(rec.since));
	rec.level = (int)jnum(d, "level");
	jstr(d, "digest_alg", rec.digest_alg, sizeof(rec.digest_alg));
	/* Not in the catalog: what the dump log's checks accept. */
	snprintf(rec.server, sizeof(rec.server), "unknown");
	snprintf(rec.partition, sizeof(rec.partition), "unknown");
	snprintf(rec.source_kind, sizeof(rec.source_kind), "%s", kind);
	snprintf(rec.compress, sizeof(rec.compress), "%s", jnum(d, "raw_bytes")
	    != jnum(d, "bytes") ? "zstd" : "none");
	if (!rec.date[0] || !json_array_size(parts)) {
		snprintf(why, whylen, "a dump without a date or parts");
		return -EINVAL;
	}
	json_array_foreach(parts, i, p) {
		rec.type = CAT_DL_PART;
		jstr(p, "label", rec.label, sizeof(rec.label));
		jstr(p, "tape_id", rec.tape_id, sizeof(rec.tape_id));
		jstr(p, "digest", rec.digest, sizeof(rec.digest));
		snprintf(rec.status, sizeof(rec.status), "ok");
		rec.part = (unsigned)jnum(p, "part");
		rec.file = jnum(p, "file");
		rec.offset = jnum(p, "offset");
		rec.bytes = jnum(p, "bytes");
		rec.blocks = jnum(p, "blocks");
		rec.block_size = (uint32_t)jnum(p, "block_size");
		/* Checked as the restore's reader checks a dump log: IDs of 32
		   hex digits, sizes within their blocks and stream. */
		if ((rc = cat_dl_check(&rec, why, whylen)) < 0 ||
		    (rc = cat_dl_append(path, &rec)) < 0)
			return rc;
	}
	rec.type = CAT_DL_DUMP;
	rec.part = (unsigned)json_array_size(parts);
	rec.offset = 0;
	rec.blocks = parts_blocks(parts);
	snprintf(rec.status, sizeof(rec.status), "complete");
	p = json_array_get(parts, 0);
	/* As the engine writes a dump line: its first part's block size. */
	rec.block_size = (uint32_t)jnum(p, "block_size");
	jstr(p, "label", rec.label, sizeof(rec.label));
	jstr(p, "tape_id", rec.tape_id, sizeof(rec.tape_id));
	rec.file = jnum(p, "file");
	rec.bytes = jnum(d, "bytes");
	rec.raw_bytes = jnum(d, "raw_bytes");
	jstr(d, "digest", rec.digest, sizeof(rec.digest));
	jstr(d, "raw_digest", rec.raw_digest, sizeof(rec.raw_digest));
	jstr(d, "base", rec.base, sizeof(rec.base));
	rec.index_raw = jnum(d, "index_raw");
	rec.index_stored = jnum(d, "index_stored");
	rec.index_bytes = jnum(d, "index_bytes");
	if ((rc = cat_dl_check(&rec, why, whylen)) < 0)
		return rc;
	return cat_dl_append(path, &rec);
}

/*
 * Where a restore job's dumps are written for the restore code to read: a
 * dump log of the chain (abs-ctld's detail "chain", full first: each
 * dump's part lines, then its dump line with base= and the index keys),
 * as direct mode reads its own; from an abs-ctld before chains, the one
 * dump's parts.
 */
static int
write_parts_log(const char *path, json_t *job, char *err)
{
	json_t *detail = json_loads(json_string_value(json_object_get(job,
	    "detail")), 0, NULL), *parts, *chain, *p;
	const char *entity = json_string_value(json_object_get(job, "entity"));
	const char *source = json_string_value(json_object_get(job, "source"));
	char kind[8] = "dir";
	struct cat_dl_rec rec;
	size_t i;
	int rc = 0;

	if (source && strchr(source, ':') && strchr(source, ':') - source < 8)
		snprintf(kind, sizeof(kind), "%.*s", (int)(strchr(source, ':') -
		    source), source);
	parts = json_object_get(detail, "parts");
	chain = json_object_get(detail, "chain");
	if (!json_array_size(parts) && !json_array_size(chain)) {
		eng_err(err, "restore job without parts");
		json_decref(detail);
		return -EINVAL;
	}
	/* Made anew, ours: never appended through a link planted at its name. */
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		rc = -errno;
		eng_err(err, "%s: %s (a file of someone else's at its name?)", path,
		    strerror(errno));
		json_decref(detail);
		return rc;
	}
	close(fd);
	if (json_array_size(chain)) {
		char why[200] = "";
		json_array_foreach(chain, i, p)
			if ((rc = write_chain_dump(path, entity, kind, p, why,
			    sizeof(why))) < 0)
				break;
		if (rc < 0)
			eng_err(err, "the restore job's chain: dump %zu (%.40s): %s",
			    i + 1, json_string_value(json_object_get(p, "dump_uid")) ?
			    json_string_value(json_object_get(p, "dump_uid")) : "?",
			    rc == -EINVAL && why[0] ? why : strerror(-rc));
		json_decref(detail);
		if (rc < 0)
			unlink(path);
		return rc;
	}
	if (!dump_id_ok(json_string_value(json_object_get(detail, "dump")))) {
		eng_err(err, "restore job: its dump ID is not 32 hex digits");
		json_decref(detail);
		unlink(path);
		return -EINVAL;
	}
	json_array_foreach(parts, i, p) {
		memset(&rec, 0, sizeof(rec));
		rec.type = CAT_DL_PART;
		snprintf(rec.dump_id, sizeof(rec.dump_id), "%s",
		    json_string_value(json_object_get(detail, "dump")));
		snprintf(rec.entity, sizeof(rec.entity), "%s", entity);
		snprintf(rec.label, sizeof(rec.label), "%s",
		    json_string_value(json_object_get(p, "label")));
		snprintf(rec.tape_id, sizeof(rec.tape_id), "%s",
		    json_string_value(json_object_get(p, "tape_id")));
		snprintf(rec.digest, sizeof(rec.digest), "%s",
		    json_string_value(json_object_get(p, "digest")));
		snprintf(rec.date, sizeof(rec.date), "-");
		snprintf(rec.status, sizeof(rec.status), "ok");
		rec.part = (unsigned)json_integer_value(json_object_get(p, "part"));
		rec.file = (uint64_t)json_integer_value(json_object_get(p, "file"));
		rec.offset = (uint64_t)json_integer_value(json_object_get(p, "offset"));
		rec.bytes = (uint64_t)json_integer_value(json_object_get(p, "bytes"));
		rec.blocks = (uint64_t)json_integer_value(json_object_get(p, "blocks"));
		rec.block_size = (uint32_t)json_integer_value(json_object_get(p,
		    "block_size"));
		if ((rc = cat_dl_append(path, &rec)) < 0)
			break;
	}
	if (rc == 0) {
		rec.type = CAT_DL_DUMP;
		rec.part = (unsigned)json_array_size(parts);
		rec.offset = 0;
		rec.blocks = parts_blocks(parts);
		snprintf(rec.status, sizeof(rec.status), "complete");
		p = json_array_get(parts, 0);
		snprintf(rec.label, sizeof(rec.label), "%s",
		    json_string_value(json_object_get(p, "label")));
		snprintf(rec.tape_id, sizeof(rec.tape_id), "%s",
		    json_string_value(json_object_get(p, "tape_id")));
		rec.file = (uint64_t)json_integer_value(json_object_get(p, "file"));
		rc = cat_dl_append(path, &rec);
	}
	if (rc < 0)
		eng_err(err, "%s: %s", path, strerror(-rc));
	json_decref(detail);
	return rc;
}

/* No index larger is sent or taken (abs-ctld's bound). */
#define UPLOAD_MAX ((size_t)1 << 30)

/* ---- the catalog's copies of a restore's indexes (index-download) ---- */

/* Write len bytes to dir/name, made anew (0600): 0 or negative. */
static int
write_new(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[PATH_MAX];
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return -errno;
	rc = util_write_all(fd, buf, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0)
		unlink(path);
	return rc;
}

/* One dump's kept index from abs-ctld into dir/DUMP; 0 or negative. */
static int
download_index(struct srv *s, const char *dir, const char *dump, size_t kept)
{
	uint8_t *buf = malloc(kept ? kept : 1);
	char err[ENG_ERRLEN];
	size_t got = 0, n;
	int rc = -EPROTO;

	if (!buf)
		return -ENOMEM;
	for (int64_t seq = 0; got < kept; seq++) {
		json_t *r = call(s, "index-download", json_pack("{s:s,s:I}", "dump",
		    dump, "seq", (json_int_t)seq), err);
		const char *data = json_string_value(json_object_get(r, "data"));
		size_t dl = data ? strlen(data) : 0;
		if (!r || !dl || (size_t)json_integer_value(json_object_get(r,
		    "total")) != kept || B64_DECLEN(dl) > kept - got + 2 ||
		    b64_decode(data, dl, buf + got, &n) < 0 || n > kept - got ||
		    n == 0) {
			if (!r)
				log_warn("the catalog's index of dump %s: %s", dump, err);
			json_decref(r);
			break;
		}
		got += n;
		json_decref(r);
	}
	if (got == kept)
		rc = write_new(dir, dump, buf, kept);
	free(buf);
	return rc;
}

/*
 * The catalog's copies of the indexes of a restore's chain into
 * PLOG.fidx/ (0700), where the restore reads them as direct mode reads
 * its log's (checked there; a dump without one has its index read from
 * tape). false if the directory is not ours to use.
 */
static bool
download_indexes(struct srv *s, const char *plog, json_t *detail)
{
	char dir[PATH_MAX];
	struct stat st;
	json_t *c;
	size_t i;

	if (snprintf(dir, sizeof(dir), "%s.fidx", plog) >= (int)sizeof(dir) ||
	    (mkdir(dir, 0700) < 0 && (errno != EEXIST || lstat(dir, &st) < 0 ||
	    !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077))))
		return false;
	json_array_foreach(json_object_get(detail, "chain"), i, c) {
		const char *dump = json_string_value(json_object_get(c,
		    "dump_uid"));
		json_int_t kept = json_integer_value(json_object_get(c,
		    "index_kept"));
		if (dump_id_ok(dump) && kept > 0 && (uint64_t)kept <= UPLOAD_MAX &&
		    master_up(s) && download_index(s, dir, dump, (size_t)kept) < 0)
			log_warn("the catalog's index of dump %s not used: the"
			    " restore reads it from tape", dump);
	}
	return true;
}

/* Remove what download_indexes wrote. */
static void
downloaded_free(const char *plog, json_t *detail)
{
	char dir[PATH_MAX], path[PATH_MAX];
	json_t *c;
	size_t i;

	if (snprintf(dir, sizeof(dir), "%s.fidx", plog) >= (int)sizeof(dir))
		return;
	json_array_foreach(json_object_get(detail, "chain"), i, c) {
		const char *dump = json_string_value(json_object_get(c,
		    "dump_uid"));
		if (dump_id_ok(dump) &&
		    snprintf(path, sizeof(path), "%s/%s", dir, dump) <
		    (int)sizeof(path))
			unlink(path);
	}
	rmdir(dir);
}

/* ---- a dump's file index to abs-ctld (index-upload) ---- */

/* Raw bytes per chunk: base64 of it stays well within the line limit. */
#define UPLOAD_CHUNK (32 * 1024)

/* Chunks sent ahead of their answers (a window of about 350 KB). */
#define UPLOAD_WINDOW 8

/*
 * The reply to request id on the current connection: its result, or
 * NULL with err (refused, or the connection lost: s->eof). Pushed events
 * met on the way are remembered; replies to events nobody waits for
 * (event_post) are dropped.
 */
static json_t *
await_reply(struct srv *s, json_int_t id, char *err)
{
	char perr[PROTO_ERRLEN];
	json_t *m, *r;
	int rc;

	for (;;) {
		if (!s->pc || s->eof) {
			eng_err(err, "abs-ctld closed the connection");
			return NULL;
		}
		rc = proto_recv(s->pc, (int)s->timeout_s * 1000, &m, perr);
		if (rc <= 0) {
			s->eof = true;
			eng_err(err, "%s", rc == 0 ? "abs-ctld did not answer" :
			    rc == -ECONNRESET ? "abs-ctld closed the connection" :
			    perr);
			return NULL;
		}
		json_t *rid = json_object_get(m, "id");
		if (json_is_integer(rid) && (json_integer_value(rid) == id ||
		    (json_integer_value(rid) == 0 && !proto_reply_ok(m))))
			break;
		on_event(s, m);		/* an event, or another's reply */
		json_decref(m);
	}
	if (!proto_reply_ok(m)) {
		eng_err(err, "abs-ctld: %s", proto_reply_error(m));
		json_decref(m);
		return NULL;
	}
	r = json_incref(json_object_get(m, "result"));
	json_decref(m);
	return r ? r : json_null();
}

/*
 * Send len bytes of dump's index in chunks, up to UPLOAD_WINDOW of them
 * ahead of abs-ctld's answers (each says how far it has the index, the
 * last one stored: true), so that an index costs about one round trip,
 * not one a chunk. An answer that says another offset (a kept index, an
 * upload begun before) is where the next chunks start, once those still
 * in flight are answered. 0 once the catalog keeps it, or negative with
 * err (the index stays here: the next registration's journal replay
 * sends it). During a registration no master is reached anew.
 */
static int
upload_bytes(struct srv *s, const char *dump, const uint8_t *buf, size_t len,
    char *err)
{
	char *b64 = malloc(B64_ENCLEN(UPLOAD_CHUNK) + 1);
	size_t next = 0, calls = 0, max = len / UPLOAD_CHUNK * 2 + 8;
	json_int_t ids[UPLOAD_WINDOW];
	size_t ends[UPLOAD_WINDOW];
	unsigned head = 0, nin = 0;
	bool stored = false, moved = false;
	size_t want = 0;	/* where abs-ctld asked us to go on */
	int rc = -EPROTO;
	json_t *r;

	if (!b64) {
		eng_err(err, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		/* Fill the window, unless an answer moved us elsewhere. */
		while (!moved && !stored && nin < UPLOAD_WINDOW && next < len &&
		    calls < max) {
			size_t n = len - next < UPLOAD_CHUNK ? len - next :
			    UPLOAD_CHUNK;
			char perr[PROTO_ERRLEN];
			json_t *args;
			b64_encode(buf + next, n, b64);
			args = json_pack("{s:s,s:I,s:I,s:s}", "dump", dump, "total",
			    (json_int_t)len, "offset", (json_int_t)next, "data", b64);
			unsigned k = (head + nin) % UPLOAD_WINDOW;
			if (!args || !master_up(s) ||
			    proto_send(s->pc, "index-upload", args, &ids[k],
			    perr) < 0) {
				json_decref(args);
				if (master_up(s))
					s->eof = true;
				eng_err(err, "sending the index: %s", master_up(s) ?
				    perr : "abs-ctld closed the connection");
				rc = -EIO;
				goto out;
			}
			json_decref(args);
			ends[k] = next + n;
			next += n;
			nin++;
			calls++;
		}
		if (!nin)
			break;
		if (!(r = await_reply(s, ids[head], err))) {
			rc = -EIO;
			goto out;
		}
		size_t end = ends[head];
		head = (head + 1) % UPLOAD_WINDOW;
		nin--;
		if (json_is_true(json_object_get(r, "stored"))) {
			stored = true;
		} else {
			json_int_t n = json_integer_value(json_object_get(r, "next"));
			if (n < 0 || (size_t)n >= len) {
				json_decref(r);
				eng_err(err, "abs-ctld asks for offset %lld of an index "
				    "of %zu bytes", (long long)n, len);
				goto out;
			}
			if ((size_t)n != end) {
				moved = true;
				want = (size_t)n;
			}
		}
		json_decref(r);
		/* Every answer in: go on where the last one said. */
		if (!nin && moved && !stored) {
			next = want;
			moved = false;
		}
		if (!nin && (stored || calls >= max))
			break;
	}
	if (stored)
		rc = 0;
	else
		eng_err(err, "abs-ctld took no more of the index after %zu chunks",
		    calls);
out:
	free(b64);
	return rc;
}

/*
 * Send the index of dump from LOG.fidx/DUMP (the dump wrote it there),
 * if it is there and has want bytes (0: any). Quiet if there is none (a
 * dump without an index: cmd, file, or an engine before indexes).
 */
static int
upload_index(struct srv *s, const char *log, const char *dump, uint64_t want)
{
	char path[PATH_MAX], err[ENG_ERRLEN];
	uint8_t *buf = NULL;
	struct stat st;
	ssize_t n = 0;
	size_t got = 0;
	int fd, rc;

	if (!log || !dump_id_ok(dump) || snprintf(path, sizeof(path),
	    "%s.fidx/%s", log, dump) >= (int)sizeof(path))
		return 0;
	/* Non-blocking: a FIFO planted at the name is not waited on (it
	   is refused as not a regular file just below). */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) <
	    0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > UPLOAD_MAX || (want && (uint64_t)st.st_size !=
	    want) || !(buf = malloc((size_t)st.st_size))) {
		log_warn("index %s not sent: not a file of the dump's index size",
		    path);
		close(fd);
		return -EINVAL;
	}
	while (got < (size_t)st.st_size && (n = read(fd, buf + got,
	    (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (got != (size_t)st.st_size) {
		log_warn("index %s not sent: %s", path, n < 0 ? strerror(errno) :
		    "short read");
		free(buf);
		return -EIO;
	}
	rc = upload_bytes(s, dump, buf, got, err);
	free(buf);
	if (rc < 0)
		log_warn("the file index of dump %s is not in the catalog yet: %s",
		    dump, err);
	return rc;
}

/* The indexes of the journal's complete dumps, each unless it is kept. */
static void
upload_journal_indexes(struct srv *s, const char *log)
{
	FILE *fp = fopen(log, "r");
	struct cat_dl_rec r;
	char *line = NULL, why[200];
	size_t cap = 0;
	unsigned long no = 0;

	if (!fp)
		return;
	while (master_up(s) && getline(&line, &cap, fp) > 0) {
		no++;
		if (cat_dl_parse(line, &r) < 0 || r.type != CAT_DL_DUMP ||
		    strcmp(r.status, "complete") != 0 || r.index_bytes == 0)
			continue;
		/* A line that does not check names no index we send. */
		if (cat_dl_check(&r, why, sizeof(why)) < 0 ||
		    r.index_bytes > UPLOAD_MAX) {
			log_warn("%s, line %lu: its index not sent: %s", log, no,
			    r.index_bytes > UPLOAD_MAX ? "index_bytes too large" :
			    why);
			continue;
		}
		upload_index(s, log, r.dump_id, r.index_bytes);
	}
	free(line);
	fclose(fp);
}

/* A job's capabilities effective (common/priv.c); NULL: none again. */
static int
job_privileges(json_t *job, char *err)
{
	const char *kind = job ? json_string_value(json_object_get(job,
	    "kind")) : NULL;
	char perr[PRIV_ERRLEN];
	enum priv_role role = !kind ? PRIV_NONE : strcmp(kind, "dump") == 0 ||
	    strcmp(kind, "archive") == 0 ? PRIV_DUMP : strcmp(kind, "restore") == 0 ? PRIV_RESTORE : PRIV_NONE;
	int rc = priv_engine_job(role, perr);

	if (rc < 0)
		eng_err(err, "%s", perr);
	return rc;
}

/* Hook of the snapshot commands: a message for the drive (and an error
   event of kind, if one is given). */
static void
h_say(void *ctx, const char *level, const char *kind, const char *text)
{
	struct srv *s = ctx;
	char err[ENG_ERRLEN];
	json_t *r;

	if (strcmp(level, "info") == 0)
		log_info("job %lld: %s", (long long)s->job_id, text);
	else
		log_warn("job %lld: %s", (long long)s->job_id, text);
	r = event_call(s, "message", json_pack("{s:s,s:s}", "level", level,
	    "text", text), err);
	json_decref(r);
	if (kind) {
		r = event_call(s, "error", json_pack("{s:s,s:s}", "kind", kind,
		    "message", text), err);
		json_decref(r);
	}
}

/*
 * One of the job event's commands ("commands": {"snapshot": [argv], ...})
 * as an argv: a list of words, or one line split as a cmd: source is.
 * 0 and *out (NULL if absent), or -EINVAL with err.
 */
static int
job_cmd(json_t *cmds, const char *k, char ***out, char *err)
{
	json_t *a = json_object_get(cmds, k), *w;
	size_t i, n = json_array_size(a);

	*out = NULL;
	if (!a || json_is_null(a))
		return 0;
	if (json_is_string(a)) {
		if (eng_split_argv(json_string_value(a), out) < 0)
			goto bad;
		return 0;
	}
	if (!json_is_array(a) || n == 0 || n > 1024 ||
	    !(*out = calloc(n + 1, sizeof(**out))))
		goto bad;
	json_array_foreach(a, i, w) {
		if (!json_is_string(w) || (i == 0 && !json_string_length(w)) ||
		    strlen(json_string_value(w)) != json_string_length(w) ||
		    !((*out)[i] = strdup(json_string_value(w))))
			goto bad;
	}
	return 0;
bad:
	eng_free_argv(*out);
	*out = NULL;
	eng_err(err, "the type's %s command is not a list of words (a first "
	    "word, no NUL)", k);
	return -EINVAL;
}

/* The job event's commands into sn (none: all NULL); -EINVAL with err. */
static int
job_cmds(json_t *job, struct eng_snap *sn, char *err)
{
	json_t *c = json_object_get(job, "commands");
	int rc;

	if (c && !json_is_object(c) && !json_is_null(c)) {
		eng_err(err, "the job's commands are not an object");
		return -EINVAL;
	}
	if ((rc = job_cmd(c, "snapshot", &sn->snapshot, err)) < 0 ||
	    (rc = job_cmd(c, "dump", &sn->dump, err)) < 0 ||
	    (rc = job_cmd(c, "incr", &sn->incr, err)) < 0 ||
	    (rc = job_cmd(c, "release", &sn->release, err)) < 0)
		return rc;
	return 0;
}

/* Free what job_cmds made. */
static void
job_cmds_free(struct eng_snap *sn)
{
	eng_free_argv(sn->snapshot);
	eng_free_argv(sn->dump);
	eng_free_argv(sn->incr);
	eng_free_argv(sn->release);
}

/*
 * The commit points a dump job shares (NULL: it is its own commit point,
 * as with an abs-ctld that sends no commit_every, or in crippled mode):
 * commit_every and commit_secs from the job event, the drive's
 * COMMIT_EVERY= and COMMIT_SECS= over them. The cartridge held for
 * another pool is committed and let go first.
 */
static struct eng_commit *
dump_commit(struct srv *s, json_t *job, const char *pool)
{
	json_t *ev = json_object_get(job, "commit_every");
	json_t *es = json_object_get(job, "commit_secs");
	unsigned every = json_is_integer(ev) && json_integer_value(ev) > 0 &&
	    json_integer_value(ev) <= 1000000 ?
	    (unsigned)json_integer_value(ev) : 1;
	double secs = json_is_number(es) && json_number_value(es) >= 0 ?
	    json_number_value(es) : 0;

	if (s->commit_every)
		every = s->commit_every;
	if (s->commit_secs >= 0)
		secs = s->commit_secs;
	if (commit_held(s) && (every <= 1 || !s->commit.dev ||
	    strcmp(s->commit.l.pool, pool && *pool ? pool : "default") != 0))
		serve_commit(s, "another pool", true);
	if (every <= 1)
		return NULL;
	s->commit.every = every;
	s->commit.secs = secs;
	s->commit.final = false;
	s->commit.on_line = commit_line;
	s->commit.on_lost = commit_lost;
	s->commit.on_verified = commit_verified;
	s->commit.ctx = s;
	return &s->commit;
}

/*
 * A dump job: its level and base (the event's "level", "since" and
 * "base"; from an older abs-ctld the detail's "level=N" and last_full),
 * and the type's commands around it, if any (engine/snap.h).
 */
static int
run_dump(struct srv *s, const struct eng_hooks *hooks, const char *device,
    const char *log, uint32_t bs, json_t *job, char *err)
{
	const char *entity = json_string_value(json_object_get(job, "entity"));
	const char *detail = json_string_value(json_object_get(job, "detail"));
	const char *date = json_string_value(json_object_get(job, "date"));
	json_t *lv = json_object_get(job, "level");
	struct eng_dump_opts o = { 0 };
	struct eng_dump_result res;
	struct eng_snap sn = { 0 };
	char today[32], name[128], id[32];
	int level = 0, rc;

	if (json_is_integer(lv))
		level = (int)json_integer_value(lv);
	else if (detail)
		sscanf(detail, "level=%d", &level);
	if (level < 0 || level > 9) {
		eng_err(err, "abs-ctld asked for level %d (0 to 9)", level);
		return -EPROTO;
	}
	o.device = device;
	o.entity = entity;
	o.source = json_string_value(json_object_get(job, "source"));
	o.pool = json_string_value(json_object_get(job, "pool"));
	o.log = log;
	o.block_size = bs;
	o.level = level;
	/* The base's start; an older abs-ctld names the last full only. */
	o.since = json_string_value(json_object_get(job, "since"));
	if (!o.since || !*o.since)
		o.since = json_string_value(json_object_get(job, "last_full"));
	if (level == 0 || (o.since && !*o.since))
		o.since = NULL;
	if (level > 0 && !o.since)
		o.level = 0;	/* no base yet: this one is the full */
	/* The chain's base as abs-ctld names it (its date is since). */
	o.base = o.level > 0 ? json_string_value(json_object_get(job, "base")) :
	    NULL;
	if (o.base && !*o.base)
		o.base = NULL;
	o.verify_rate = 0.01;
	o.retries = 1;
	o.hooks = hooks;
	o.commit = dump_commit(s, job, o.pool);
	o.job = s->job_id;	/* on tape, for a rebuilt catalog */
	o.entity_type = json_string_value(json_object_get(job, "type"));
	o.site = s->cur.site;
	if ((rc = job_cmds(job, &sn, err)) < 0)
		goto out;
	if (sn.snapshot || sn.dump || sn.incr || sn.release) {
		if (!date || !*date) {
			util_fmt_time(clock_now(), today, sizeof(today));
			today[10] = '\0';	/* the day: 2026-11-29 */
			date = today;
		}
		snprintf(id, sizeof(id), "%lld", (long long)s->job_id);
		eng_snap_name(date, id, name, sizeof(name));
		sn.v = (struct eng_snap_vars){ .entity = entity, .date = date,
		    .since = o.since, .level = o.level, .snapshot = name,
		    .base = o.level > 0 ? json_string_value(json_object_get(job,
		    "base")) : NULL };
		sn.timeout = s->cmd_timeout;
		sn.say = h_say;
		sn.ctx = s;
		rc = eng_snap_dump(&o, &sn, &res, err);
	} else if (!o.source) {
		eng_err(err, "abs-ctld handed over a dump without a source");
		rc = -EPROTO;
	} else {
		rc = eng_dump(&o, &res, err);
	}
	if (rc == 0)
		log_info("job %lld: dumped %s, %llu bytes, %u parts",
		    (long long)s->job_id, entity, (unsigned long long)res.bytes,
		    res.parts);
	/* Parts of an aborted dump stay on tape: the log says why. */
	if (rc == -ECANCELED && s->cur.dump[0] &&
	    cat_dl_append_aborted(log, s->cur.dump, 0) < 0)
		log_warn("dump log %s: the aborted line of dump %s not written",
		    log, s->cur.dump);
out:
	job_cmds_free(&sn);
	return rc;
}

/* ---- archive jobs (docs/QUEUE.md, "Under abs-ctld") ---- */

/*
 * Done entries (an object, name: entry) to abs-ctld's catalog. A master
 * away: sent again when one is back (arch_resync); one that refuses them
 * says why in our log (sending them again would not change its mind).
 */
static void
arch_send_entries(struct srv *s, json_t *entries)
{
	char err[ENG_ERRLEN];
	json_t *r;

	if (!json_object_size(entries)) {
		json_decref(entries);
		return;
	}
	if (!master_up(s)) {
		json_decref(entries);
		s->arch_resync = true;
		return;
	}
	r = event_call(s, "archive-entries", json_pack("{s:s,s:o}", "archive",
	    s->arch_name, "entries", entries), err);
	if (r) {
		json_decref(r);
		return;
	}
	if (!master_up(s))
		s->arch_resync = true;
	log_warn("archive %s: abs-ctld did not record done entries: %s",
	    s->arch_name, err);
}

/* Every done entry and the last status to a master (at the job's start
   and after each registration): the catalog then agrees with done/. */
static void
arch_sync(struct srv *s)
{
	DIR *dir = opendir(s->arch_done);
	json_t *batch = json_object();
	struct dirent *de;
	size_t n = 0;

	s->arch_resync = false;
	while (dir && batch && master_up(s) && (de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		char path[PATH_MAX];
		json_t *e;
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".json") != 0 ||
		    snprintf(path, sizeof(path), "%s/%s", s->arch_done,
		    de->d_name) >= (int)sizeof(path))
			continue;
		if (!(e = json_load_file(path, JSON_REJECT_DUPLICATES, NULL)))
			continue;
		if (json_is_string(json_object_get(e, "name")) &&
		    strcmp(json_string_value(json_object_get(e, "state")) ?
		    json_string_value(json_object_get(e, "state")) : "",
		    "archived") == 0)
			json_object_set(batch, json_string_value(json_object_get(e,
			    "name")), e);
		json_decref(e);
		if (++n % 100 == 0) {
			arch_send_entries(s, batch);
			batch = json_object();
		}
	}
	if (dir)
		closedir(dir);
	arch_send_entries(s, batch);
	if (s->arch_status && master_up(s)) {
		json_t *st = json_loads(s->arch_status, 0, NULL);
		if (st)
			event_post(s, "archive-status", json_pack("{s:s,s:o}",
			    "archive", s->arch_name, "status", st));
	}
}

/* The archiver asks between files and while it waits: stop? Meanwhile
   abs-ctld's events are read and a master that left is reached again. */
static bool
arch_stopped(void *ctx)
{
	struct srv *s = ctx;
	char err[ENG_ERRLEN];

	if (hup_now() || !master_up(s))
		ensure_master(s, err);
	if (master_up(s))
		drain_events(s, 0);
	serve_unload(s, true);	/* the job holds the drive */
	watch_device(s, false);
	if (s->arch_resync && master_up(s))
		arch_sync(s);
	return s->arch_stop || s->abort;
}

/* Each status change and message, to abs-ctld without waiting. */
static void
arch_status(void *ctx, const char *json)
{
	struct srv *s = ctx;
	json_t *st;

	free(s->arch_status);
	s->arch_status = strdup(json);
	if (!master_up(s) || !(st = json_loads(json, 0, NULL)))
		return;
	event_post(s, "archive-status", json_pack("{s:s,s:o}", "archive",
	    s->arch_name, "status", st));
}

/* An entry moved into done: into the catalog. */
static void
arch_done_entry(void *ctx, const char *name, const char *json)
{
	struct srv *s = ctx;
	json_t *e = json_loads(json, 0, NULL);

	if (!e) {
		s->arch_resync = true;
		return;
	}
	arch_send_entries(s, json_pack("{s:o}", name, e));
}

/*
 * An archive job: engine/archive.c's loop on this drive until
 * archive-stop (after the file being written) or abort, with the job's
 * options (the detail abs-ctld made from archive-add), tapes from the
 * catalog, parts to the journal and the catalog as for any dump, and
 * each entry moved into done told to the catalog.
 */
static int
run_archive(struct srv *s, const struct eng_hooks *hooks, const char *device,
    const char *log, uint32_t bs, json_t *job, char *err)
{
	const char *detail = json_string_value(json_object_get(job, "detail"));
	json_t *d = json_loads(detail ? detail : "", 0, NULL), *v;
	struct eng_archive_opts o = { 0 };
	struct eng_archive_result res;
	int rc;

	o.queue = json_string_value(json_object_get(d, "queue"));
	o.done = json_string_value(json_object_get(d, "done"));
	s->arch_name = json_string_value(json_object_get(d, "archive"));
	if (!o.queue || !o.done || !s->arch_name) {
		eng_err(err, "abs-ctld handed over an archive job without its"
		    " archive, queue or done directory");
		json_decref(d);
		s->arch_name = NULL;
		return -EPROTO;
	}
	o.dump.device = device;
	o.dump.log = log;	/* the journal: the catalog gets every part */
	o.dump.entity = json_string_value(json_object_get(job, "entity"));
	o.dump.pool = json_string_value(json_object_get(d, "pool"));
	o.dump.block_size = bs;
	o.dump.digest = json_string_value(json_object_get(d, "digest"));
	v = json_object_get(d, "verify_rate");
	o.dump.verify_rate = json_is_number(v) ? json_number_value(v) : 0.01;
	o.dump.retries = 1;
	o.dump.hooks = hooks;
	o.dump.job = s->job_id;
	o.dump.site = s->cur.site;
	o.commit_every = (unsigned)json_integer_value(json_object_get(d,
	    "commit_every"));
	o.commit_secs = (double)json_integer_value(json_object_get(d,
	    "commit_secs"));
	o.poll = (double)json_integer_value(json_object_get(d, "poll"));
	o.stop = arch_stopped;
	o.ctx = s;
	o.status_cb = arch_status;
	o.done_cb = arch_done_entry;
	s->arch_done = o.done;
	s->arch_stop = false;
	s->arch_resync = true;	/* the first look at the queue tells them */
	rc = eng_archive(&o, &res, err);
	if (s->abort)
		rc = -ECANCELED;
	if (rc == 0)
		log_info("job %lld: archive %s: %llu archived (%llu bytes), %llu"
		    " refused, %llu failed", (long long)s->job_id, s->arch_name,
		    (unsigned long long)res.archived,
		    (unsigned long long)res.bytes,
		    (unsigned long long)res.refused,
		    (unsigned long long)res.failed);
	else if (rc == -ECANCELED)
		eng_err(err, "aborted by the operator");
	s->arch_name = s->arch_done = NULL;
	free(s->arch_status);
	s->arch_status = NULL;
	json_decref(d);
	return rc;
}

/* Run one job abs-ctld handed us: a dump, a restore or an archive. */
static int
run_job(struct srv *s, const struct eng_hooks *hooks, const char *device,
    const char *log, uint32_t bs, json_t *job, char *err)
{
	const char *kind = json_string_value(json_object_get(job, "kind"));
	const char *entity = json_string_value(json_object_get(job, "entity"));
	const char *detail = json_string_value(json_object_get(job, "detail"));

	if (!entity || !*entity) {
		eng_err(err, "abs-ctld handed over a job without an entity");
		return -EPROTO;
	}
	if (kind && strcmp(kind, "dump") == 0) {
		int rc = run_dump(s, hooks, device, log, bs, job, err);
		/* Its file index to the catalog, before the result (a dump
		   not yet committed: once it is, see commit_tell). */
		if (rc == 0 && master_up(s) && !eng_commit_holds(&s->commit,
		    s->job_id))
			upload_index(s, log, s->cur.dump, 0);
		return rc;
	}
	/* Another job on the drive (an archive, a read): what it holds
	   is committed first. */
	serve_commit(s, "another job", true);
	if (kind && strcmp(kind, "archive") == 0)
		return run_archive(s, hooks, device, log, bs, job, err);
	if (kind && strcmp(kind, "restore") == 0) {
		json_t *d = json_loads(detail ? detail : "{}", 0, NULL);
		char plog[512], to[1024], shown[1024];
		const char *dir = getenv("ABS_RUN_DIR") ? getenv("ABS_RUN_DIR") : "/tmp";
		struct eng_restore_opts o = { 0 };
		struct eng_restore_result res;
		int rc, pin = -1;
		bool fetched = false;
		snprintf(plog, sizeof(plog), "%s/abs-restore-job-%lld.log", dir,
		    (long long)s->job_id);
		/* Whom for: abs-ctld's word (SO_PEERCRED), -1 if it gave none. */
		json_t *u = json_object_get(d, "uid");
		int64_t uid = json_is_integer(u) ? json_integer_value(u) : -1;
		const char *t = json_string_value(json_object_get(d, "to"));
		if (!t || !*t)
			rc = eng_target_default(json_string_value(json_object_get(d,
			    "as")), to, sizeof(to), err);
		else if (uid == 0 || json_is_true(json_object_get(d, "admin")))
			rc = snprintf(to, sizeof(to), "%s", t) >= (int)sizeof(to) ?
			    -ENAMETOOLONG : 0;
		else
			rc = eng_target_check(t, uid, to, sizeof(to), &pin, shown,
			    sizeof(shown), err);
		if (rc == 0)
			rc = write_parts_log(plog, job, err);
		/* The catalog's copies of the chain's indexes, beside it. */
		if (rc == 0)
			fetched = download_indexes(s, plog, d);
		if (rc < 0) {
			if (pin >= 0)
				close(pin);
			json_decref(d);
			return rc;
		}
		/* The chain's options: one dump alone, only some paths (those
		   that are not UTF-8 in base64: decoded into bytes). */
		json_t *pl = json_object_get(d, "paths"), *pv;
		json_t *pb = json_object_get(d, "paths_b64");
		size_t np = json_array_size(pl), nb = json_array_size(pb), k;
		const char **paths = np + nb ? calloc(np + nb, sizeof(*paths)) :
		    NULL;
		char *bytes = nb ? malloc(nb * 4096) : NULL;
		if ((np + nb && !paths) || (nb && !bytes)) {
			free(paths);
			free(bytes);
			if (pin >= 0)
				close(pin);
			if (fetched)
				downloaded_free(plog, d);
			json_decref(d);
			unlink(plog);
			eng_err(err, "out of memory");
			return -ENOMEM;
		}
		json_array_foreach(pl, k, pv)
			paths[k] = json_is_string(pv) ? json_string_value(pv) : ".";
		json_array_foreach(pb, k, pv) {
			const char *e = json_string_value(pv);
			size_t el = e ? strlen(e) : 0, got = 0;
			char *b = bytes + k * 4096;
			/* abs-ctld checked them; a path that is not one is none
			   the restore can find (never the whole tree). */
			if (!e || B64_DECLEN(el) > 4095 || b64_decode(e, el,
			    (uint8_t *)b, &got) < 0 || !got || memchr(b, '\0',
			    got))
				snprintf(b, 4096, "./\x01not base64");
			else
				b[got] = '\0';
			paths[np + k] = b;
		}
		o.paths = paths;
		o.npaths = np + nb;
		o.level_only = json_is_true(json_object_get(d, "level_only"));
		o.root_onto_existing = uid == 0;
		o.onto_nonempty = json_is_true(json_object_get(d, "force"));
		o.device = device;
		o.entity = entity;
		o.log = plog;
		o.to = to;
		o.file = -1;
		o.hooks = hooks;
		/* A shadow's refresh: the chain applied onto the shadow. */
		rc = json_object_get(d, "shadow") ? eng_shadow_job(&o, d, &res,
		    err) : eng_restore(&o, &res, err);
		free(paths);
		free(bytes);
		eng_target_unpin(err, ENG_ERRLEN, pin, shown);
		if (pin >= 0)
			close(pin);
		unlink(plog);
		if (fetched)
			downloaded_free(plog, d);
		if (rc == 0)
			log_info("job %lld: restored %s to %s, %llu bytes",
			    (long long)s->job_id, entity, t && *t ? t : to,
			    (unsigned long long)res.raw_bytes);
		json_decref(d);
		return rc;
	}
	eng_err(err, "unknown job kind %s", kind ? kind : "?");
	return -EINVAL;
}

/*
 * Report what the journal holds: parts and dumps written while abs-ctld was
 * away reach the catalog now (merge is idempotent, so the whole journal is
 * sent; abs-ctld skips what it knows).
 */
static void
report_journal(struct srv *s, const char *log)
{
	FILE *fp = fopen(log, "r");
	json_t *lines = json_array(), *r;
	char *line = NULL, err[ENG_ERRLEN];
	size_t cap = 0, chunk = 0;
	ssize_t n;
	int parts = 0, dumps = 0;

	if (!fp) {
		json_decref(lines);
		return;
	}
	for (;;) {
		n = getline(&line, &cap, fp);
		if (n > 0 && n < 4000) {
			line[strcspn(line, "\n")] = '\0';
			json_array_append_new(lines, json_string(line));
			chunk += (size_t)n + 8;
		}
		if ((n <= 0 || chunk > 48 * 1024) && json_array_size(lines)) {
			r = call_on(s, "merge", json_pack("{s:O}", "lines", lines),
			    err);
			if (!r) {
				log_warn("journal %s not reported: %s", log, err);
				break;
			}
			parts += (int)json_integer_value(json_object_get(r, "parts"));
			dumps += (int)json_integer_value(json_object_get(r, "dumps"));
			json_decref(r);
			json_array_clear(lines);
			chunk = 0;
		}
		if (n <= 0)
			break;
	}
	if (parts || dumps)
		log_warn("journal %s: %d parts and %d dumps abs-ctld did not know "
		    "are in the catalog now", log, parts, dumps);
	free(line);
	fclose(fp);
	json_decref(lines);
}

/* A rebuild's scan: a cartridge's label, or the cartridge done. */
static int
scan_tape_ev(void *ctx, const struct eng_scan_tape *t)
{
	char err[ENG_ERRLEN];
	json_t *r = event_call(ctx, "scan-tape", json_pack("{s:s,s:s,s:s,s:s,"
	    "s:b,s:b,s:I,s:I}", "label", t->l.label, "tape_id", t->l.tape_id,
	    "pool", t->l.pool, "labelled_at", t->l.labelled_at, "done", t->done,
	    "full", t->full, "parts", (json_int_t)t->parts, "other",
	    (json_int_t)t->other), err);

	if (!r) {
		log_warn("rebuild: cartridge %s: %s", t->l.label, err);
		return ((struct srv *)ctx)->eof ? -ECONNRESET : 0;
	}
	json_decref(r);
	return 0;
}

/* A rebuild's scan: a part (abs-ctld says whether it took it). */
static int
scan_part_ev(void *ctx, const struct eng_scan_tape *t,
    const struct eng_scan_part *p)
{
	char err[ENG_ERRLEN];
	json_t *ev = eng_scan_part_json(t, p), *ix;
	struct srv *s = ctx;
	uint8_t *buf = NULL;
	size_t n = 0;
	json_t *r;

	/* A last part's index goes apart, in chunks (the line limit). */
	ix = json_incref(json_object_get(ev, "index"));
	json_object_del(ev, "index");
	r = event_call(ctx, "scan-part", ev, err);
	if (!r) {
		json_decref(ix);
		return s->eof ? -ECONNRESET : 0;
	}
	if (json_is_true(json_object_get(r, "recorded")) && json_is_string(ix) &&
	    (buf = malloc(B64_DECLEN(json_string_length(ix)) + 1)) &&
	    b64_decode(json_string_value(ix), json_string_length(ix), buf,
	    &n) == 0 && n > 0 && upload_bytes(s, p->h.dump_id, buf, n, err) < 0)
		log_warn("rebuild: the file index of dump %s: %s", p->h.dump_id,
		    err);
	free(buf);
	json_decref(ix);
	json_decref(r);
	return 0;
}

/* A rebuild's scan: a library slot that could not be scanned (a blank
   cartridge has nothing to tell). */
static void
scan_skipped_ev(void *ctx, int slot, int rc, const char *why)
{
	char err[ENG_ERRLEN];
	json_t *r;

	if (rc == -ENODATA)
		return;
	r = event_call(ctx, "scan-skipped", json_pack("{s:i,s:s}", "slot",
	    slot, "why", why), err);
	json_decref(r);
}

/* Scan for abs-ctl rebuild: the drive's cartridge or the whole library. */
static void
serve_scan(struct srv *s, const char *device)
{
	struct eng_scan_fns fns = { scan_tape_ev, scan_part_ev, scan_skipped_ev,
	    s };
	bool library = json_is_true(json_object_get(s->scan, "library"));
	char err[ENG_ERRLEN] = "";
	int rc;
	json_t *r;

	json_decref(s->scan);
	s->scan = NULL;
	rc = eng_scan_run(device, library, &fns, err);
	if (rc < 0)
		log_warn("rebuild: %s", err);
	r = event_call(s, "scan-end", json_pack("{s:i,s:s?}", "tapes",
	    rc < 0 ? 0 : rc, "error", rc < 0 ? err : NULL), err);
	json_decref(r);
}

/* The job report a master gets when we register (NULL: no job). */
static json_t *
job_report(const struct srv *s)
{
	const struct cur_job *c = &s->cur;

	if (!c->active)
		return NULL;
	/* Written, not committed: a media server restarted now lost it. */
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s*,s:s*,s:s*,s:I,s:s*}", "id",
	    (json_int_t)c->id, "site", c->site, "kind", c->kind, "entity",
	    c->entity, "state", strcmp(c->state, "written") == 0 ? "running" :
	    c->state, "dump", c->dump[0] ? c->dump : NULL,
	    "tape_id", c->tape_id[0] ? c->tape_id : NULL, "label", c->label[0] ?
	    c->label : NULL, "bytes", (json_int_t)c->bytes, "error",
	    c->error[0] ? c->error : NULL);
}

/*
 * The job's state survives the media server: JOURNAL.job holds what the
 * next registration reports (written at the job's start and end, removed
 * once a master heard the end), so a media server killed after its job
 * ended still reports how, and one killed mid-job reports it failed.
 */
static void
job_save(const struct srv *s)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	json_t *rep = job_report(s);
	FILE *fp;

	if (!rep || snprintf(path, sizeof(path), "%s.job", s->log) >=
	    (int)sizeof(path)) {
		json_decref(rep);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(fp = fopen(tmp, "w"))) {
		log_warn("%s: %s", tmp, strerror(errno));
		json_decref(rep);
		return;
	}
	json_dumpf(rep, fp, JSON_COMPACT);
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || fclose(fp) != 0 ||
	    rename(tmp, path) != 0)
		log_warn("%s: %s", path, strerror(errno));
	json_decref(rep);
}

/* A master heard how the job ended: nothing is left to report. */
static void
job_forget(struct srv *s)
{
	char path[PATH_MAX];

	memset(&s->cur, 0, sizeof(s->cur));
	if (snprintf(path, sizeof(path), "%s.job", s->log) < (int)sizeof(path))
		unlink(path);
}

/* A string field of a saved job into dst. */
static void
saved_str(json_t *j, const char *k, char *dst, size_t len)
{
	const char *v = json_string_value(json_object_get(j, k));

	snprintf(dst, len, "%s", v ? v : "");
}

/*
 * A saved job that cannot be reported (damaged by hand or by the disk) is
 * moved aside as JOURNAL.job.bad-TIME, said once, and forgotten: a media
 * server that could not register with it would never start again.
 */
static void
job_set_aside(struct srv *s, const char *why)
{
	char path[PATH_MAX], bad[PATH_MAX + 48], stamp[32];

	memset(&s->cur, 0, sizeof(s->cur));
	if (snprintf(path, sizeof(path), "%s.job", s->log) >= (int)sizeof(path))
		return;
	util_fmt_time(clock_now(), stamp, sizeof(stamp));
	snprintf(bad, sizeof(bad), "%s.bad-%s", path, stamp);
	if (rename(path, bad) < 0 && errno != ENOENT)
		unlink(path);
	log_warn("%s: %s; moved aside as %s, not reported", path, why, bad);
}

/* Does a saved job's string field k fit (and exist, if needed)? */
static bool
saved_ok(json_t *j, const char *k, size_t len, bool needed)
{
	json_t *v = json_object_get(j, k);

	if (!v)
		return !needed;
	return json_is_string(v) && json_string_length(v) < len &&
	    (!needed || json_string_length(v) > 0);
}

/* Whether the journal has a complete dump of job (of the master site). */
static bool
journal_has_dump(const char *log, int64_t job, const char *site)
{
	FILE *fp = fopen(log, "r");
	char *line = NULL;
	size_t cap = 0;
	struct cat_dl_rec r;
	bool found = false;

	if (!fp)
		return false;
	while (!found && getline(&line, &cap, fp) > 0) {
		line[strcspn(line, "\n")] = '\0';
		found = strncmp(line, "dump ", 5) == 0 && cat_dl_parse(line, &r) ==
		    0 && r.job == job && strcmp(r.site, site) == 0 &&
		    strcmp(r.status, "complete") == 0;
	}
	free(line);
	fclose(fp);
	return found;
}

/* At start: the job a killed media server left, to report (see job_save). */
static void
job_load(struct srv *s)
{
	char path[PATH_MAX];
	struct cur_job *c = &s->cur;
	const char *kind;
	json_t *j;

	if (snprintf(path, sizeof(path), "%s.job", s->log) >= (int)sizeof(path) ||
	    access(path, F_OK) < 0)
		return;
	if (!(j = json_load_file(path, 0, NULL))) {
		job_set_aside(s, "not a job record");
		return;
	}
	kind = json_string_value(json_object_get(j, "kind"));
	if (!json_is_integer(json_object_get(j, "id")) ||
	    json_integer_value(json_object_get(j, "id")) <= 0 || !kind ||
	    (strcmp(kind, "dump") && strcmp(kind, "restore") &&
	    strcmp(kind, "archive")) ||
	    !saved_ok(j, "entity", sizeof(c->entity), true) ||
	    !saved_ok(j, "site", sizeof(c->site), false) ||
	    !saved_ok(j, "state", sizeof(c->state), false) ||
	    !saved_ok(j, "dump", sizeof(c->dump), false) ||
	    !saved_ok(j, "error", sizeof(c->error), false)) {
		json_decref(j);
		job_set_aside(s, "a job record without a job ID, kind or entity "
		    "that fit");
		return;
	}
	{
		memset(c, 0, sizeof(*c));
		c->active = true;
		c->id = json_integer_value(json_object_get(j, "id"));
		saved_str(j, "site", c->site, sizeof(c->site));
		saved_str(j, "kind", c->kind, sizeof(c->kind));
		saved_str(j, "entity", c->entity, sizeof(c->entity));
		saved_str(j, "state", c->state, sizeof(c->state));
		saved_str(j, "dump", c->dump, sizeof(c->dump));
		saved_str(j, "error", c->error, sizeof(c->error));
		c->bytes = (uint64_t)json_integer_value(json_object_get(j, "bytes"));
		if (strcmp(c->state, "done") && strcmp(c->state, "failed") &&
		    strcmp(c->state, "aborted") && journal_has_dump(s->log, c->id,
		    c->site)) {
			/* Written, then committed before it died: on tape. */
			snprintf(c->state, sizeof(c->state), "done");
		} else if (strcmp(c->state, "done") && strcmp(c->state, "failed") &&
		    strcmp(c->state, "aborted")) {
			/* It died with the job running: the job cannot go on. */
			snprintf(c->state, sizeof(c->state), "failed");
			snprintf(c->error, sizeof(c->error), "the media server was "
			    "restarted mid-job");
		}
		log_warn("job %lld of the last run ended %s; reported on "
		    "registering", (long long)c->id, c->state);
	}
	json_decref(j);
}

/*
 * The socket from the configuration file: its CONTROL= line (KEY=VALUE
 * lines, as systemd's EnvironmentFile). Read without blocking (on SIGHUP
 * a running job waits for it): a regular file of at most 64 KiB, never a
 * FIFO or device. 0, or negative with err set (the socket stays as it was).
 */
static int
read_config(struct srv *s, char *err)
{
	char sock[sizeof(s->sock)], *text, *line, *save = NULL, *v;
	int rc = sf_read_file(s->config, false, 65536, &text, NULL);

	if (rc < 0) {
		eng_err(err, "%s: %s", s->config, rc == -EFBIG ? "larger than "
		    "64 KiB" : sf_strerror(rc));
		return rc;
	}
	rc = -ENOENT;
	for (line = strtok_r(text, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		if (strncmp(line, "TIMEOUT=", 8) == 0) {
			uint64_t t;
			if (util_parse_u64(line + 8, 3600, &t) < 0 || t == 0)
				log_warn("%s: TIMEOUT=%.20s is not 1..3600 seconds; "
				    "keeping %u", s->config, line + 8, s->timeout_s);
			else
				s->timeout_s = (unsigned)t;
			continue;
		}
		if (strncmp(line, "COMMIT_EVERY=", 13) == 0) {
			uint64_t t;
			if (util_parse_u64(line + 13, 1000000, &t) < 0 || t == 0)
				log_warn("%s: COMMIT_EVERY=%.20s is not 1..1000000 dumps",
				    s->config, line + 13);
			else
				s->commit_every = (unsigned)t;
			continue;
		}
		if (strncmp(line, "COMMIT_IDLE=", 12) == 0) {
			uint64_t t;
			if (util_parse_u64(line + 12, 86400, &t) < 0 || !t)
				log_warn("%s: COMMIT_IDLE=%.20s is not 1..86400 seconds",
				    s->config, line + 12);
			else
				s->commit_idle = (double)t;
			continue;
		}
		if (strncmp(line, "COMMIT_SECS=", 12) == 0) {
			uint64_t t;
			if (util_parse_u64(line + 12, 86400, &t) < 0)
				log_warn("%s: COMMIT_SECS=%.20s is not 0..86400 seconds",
				    s->config, line + 12);
			else
				s->commit_secs = (double)t;
			continue;
		}
		if (strncmp(line, "CONTROL=", 8) != 0)
			continue;
		v = line + 8;
		if (*v == '"' && strlen(v) >= 2 && v[strlen(v) - 1] == '"') {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		if (!*v || strlen(v) >= sizeof(sock)) {
			eng_err(err, "%s: CONTROL= is empty or too long", s->config);
			rc = -EINVAL;
			break;
		}
		snprintf(sock, sizeof(sock), "%s", v);
		rc = 0;
	}
	free(text);
	if (rc == -ENOENT)
		eng_err(err, "%s has no CONTROL=SOCKET line", s->config);
	if (rc == 0)
		snprintf(s->sock, sizeof(s->sock), "%s", sock);
	return rc;
}

/* Drop the connection to the master; the next attempt is after backoff. */
static void
drop_master(struct srv *s, const char *why)
{
	if (!s->pc)
		return;
	proto_conn_free(s->pc);
	s->pc = NULL;
	s->eof = false;
	s->next_try = time(NULL) + SERVE_BACKOFF_MIN;
	s->backoff = SERVE_BACKOFF_MIN;
	log_warn("%s; media server for %s keeps %s and tries again", why,
	    s->drive, s->cur.active ? "its job going" : "waiting");
}

/*
 * engine-register: the drive, its device and serial, and the job (rep,
 * kept). An abs-ctld that takes no serial yet is asked again without it.
 */
static json_t *
call_register(struct srv *s, json_t *rep, char *err)
{
	char host[256];
	json_t *r;

	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	read_serial(s);
	for (;;) {
		bool serial = s->serial[0] && !s->no_serial_arg;
		bool hn = host[0] && !s->no_host_arg;
		r = call_on(s, "engine-register", json_pack("{s:s,s:s,s:i,s:O*,"
		    "s:s*,s:s*}", "drive", s->drive, "device", s->device, "version",
		    PROTO_VERSION, "job", rep, "serial", serial ? s->serial : NULL,
		    "host", hn ? host : NULL), err);
		if (r || s->eof)
			return r;
		/* An older abs-ctld: asked again without what it does not
		   take. */
		if (serial && strstr(err, "'serial'"))
			s->no_serial_arg = true;
		else if (hn && strstr(err, "'host'"))
			s->no_host_arg = true;
		else
			return r;
	}
}

/*
 * The register reply's library {name, changer, element, clean_prefix}:
 * abs-ctld's robot moves this drive's cartridges, the engine never does
 * (every mount is asked for). None: the engine's own library, if any.
 */
static void
take_library(struct srv *s, json_t *lib)
{
	const char *name = json_string_value(json_object_get(lib, "name"));
	const char *chg = json_string_value(json_object_get(lib, "changer"));
	json_t *el = json_object_get(lib, "element");
	struct eng_library l = { .no_robot = true, .element = -1 };
	char err[ENG_ERRLEN];

	if (!json_is_object(lib)) {
		if (s->library[0])
			log_warn("drive %s is in no library abs-ctld knows now",
			    s->drive);
		s->library[0] = '\0';
		eng_library_control(NULL, err);
		return;
	}
	l.clean_prefix = json_string_value(json_object_get(lib, "clean_prefix"));
	if (eng_library_control(&l, err) < 0) {
		log_warn("library %s: %s; the default prefix CLN is used",
		    name ? name : "?", err);
		l.clean_prefix = NULL;
		eng_library_control(&l, err);
	}
	snprintf(s->library, sizeof(s->library), "%s", name ? name : "?");
	log_warn("drive %s is drive %lld of library %s (%s): abs-ctld's robot "
	    "moves its cartridges", s->drive, json_is_integer(el) ?
	    (long long)json_integer_value(el) : -1LL, s->library, chg ? chg :
	    "?");
}

/*
 * Connect (waiting up to wait_ms for a daemon that is starting), shake
 * hands, report the journal, register the drive with our job. 0, or a
 * negative errno with err set: a version mismatch names both versions.
 */
static int
connect_master(struct srv *s, unsigned wait_ms, char *err)
{
	char perr[PROTO_ERRLEN];
	json_t *r, *rep;
	bool reported;
	int rc;

	if ((rc = proto_connect(s->sock, wait_ms, &s->pc, perr)) < 0) {
		eng_err(err, "%s", perr);
		return rc == -EACCES ? -EACCES : -ECONNREFUSED;
	}
	/* A master that accepts but never answers is a master gone. */
	proto_conn_set_timeout(s->pc, (int)s->timeout_s * 1000);
	s->eof = false;
	if ((rc = proto_hello(s->pc, "abs-engine", event_cb, s, perr)) < 0) {
		eng_err(err, "%s", perr);
		rc = rc == -EPROTO ? -EPROTO : -ECONNRESET;
		goto fail;
	}
	/*
	 * Dumps held for a commit point: committed now, so the journal has
	 * them (abs-ctld reconciles its uncommitted jobs with the catalog
	 * at this registration); mid-job they cannot be, and are given up.
	 */
	if (commit_held(s) && !(s->cur.active && strcmp(s->cur.state,
	    "running") == 0)) {
		serve_commit(s, "registering", false);
	} else if (s->commit.nrec && s->moving) {
		/* Moved mid-job (SIGHUP): the master that gave them meets this
		   drive again only after the job's own commit point covered
		   them (ensure_master), with them in the journal. */
		log_warn("registering with another master mid-job: the %zu "
		    "dump-log lines written before it are committed when job "
		    "%lld ends", s->commit.nrec, (long long)s->job_id);
	} else if (s->commit.nrec) {
		int n = eng_commit_drop_except(&s->commit, s->job_id);
		json_array_clear(s->lost);
		if (n)
			log_warn("registering mid-job: %d dumps written before it and "
			    "not committed are given up (abs-ctld dumps them again)",
			    n);
	}
	/* The journal first: the job's dump is then known when reported. */
	report_journal(s, s->log);
	rep = job_report(s);
	r = call_register(s, rep, err);
	if (!r && !s->eof && rep && strcmp(s->cur.state, "running") != 0) {
		/* A saved job the master refuses must not keep the drive out. */
		job_set_aside(s, err);
		json_decref(rep);
		rep = NULL;
		r = call_register(s, NULL, err);
	}
	if (!r) {
		json_decref(rep);
		rc = s->eof ? -ECONNRESET : -EPERM;
		goto fail;
	}
	reported = rep != NULL;
	json_decref(rep);
	take_library(s, json_object_get(r, "library"));
	json_decref(r);
	/* The master heard how the job ended: it is over for us too. */
	if (s->cur.active && strcmp(s->cur.state, "running") != 0)
		job_forget(s);
	s->backoff = 0;
	log_warn("serving drive %s (%s) for abs-ctld at %s%s", s->drive,
	    s->device, s->sock, reported ? "; job in progress reported" : "");
	/* An archive job's done entries and status, told again. */
	s->arch_resync = true;
	/* Registered: the journal's file indexes the catalog lacks. */
	upload_journal_indexes(s, s->log);
	return 0;
fail:
	proto_conn_free(s->pc);
	s->pc = NULL;
	s->eof = false;
	return rc;
}

/*
 * A master to talk to: after SIGHUP the configured one (the old connection
 * is dropped), else the current one, else another attempt when the
 * backoff allows. 0 if connected, negative with err set if not.
 */
static int
ensure_master(struct srv *s, char *err)
{
	char cerr[ENG_ERRLEN];
	time_t now = time(NULL);
	int rc;

	if (hup_now()) {
		char was[sizeof(s->sock)];
		bool running = s->cur.active && strcmp(s->cur.state,
		    "running") == 0;
		hup = false;
		snprintf(was, sizeof(was), "%s", s->sock);
		if (s->config && read_config(s, cerr) < 0)
			log_err("SIGHUP: %s; staying with %s", cerr, s->sock);
		/*
		 * Another master: what the drive holds is committed first
		 * (synchronous filemark, read back) and the master that gave
		 * those jobs is told while it is still ours; a dump running now
		 * closes as a commit point of its own (covering those before
		 * it), so the master it is reported to hears it done, in the
		 * dump log, never written and waiting.
		 */
		s->moving = strcmp(was, s->sock) != 0;
		if (s->moving && running)
			s->commit.final = true;
		else if (s->moving && commit_held(s))
			serve_commit(s, "moving to another master", master_up(s));
		if (s->pc)
			proto_conn_free(s->pc);
		s->pc = NULL;
		s->eof = false;
		s->next_try = 0;
		log_warn("SIGHUP: registering drive %s with abs-ctld at %s",
		    s->drive, s->sock);
	}
	if (s->pc && !s->eof)
		return 0;
	if (s->pc) {
		char lost[PROTO_ERRLEN], why[PROTO_ERRLEN + 160];

		proto_tls_last_loss(lost, sizeof(lost));
		if (lost[0])
			snprintf(why, sizeof(why), "lost abs-ctld at %s: %s", s->sock,
			    lost);
		else
			snprintf(why, sizeof(why), "abs-ctld closed the connection "
			    "(%s)", s->sock);
		drop_master(s, why);
	}
	if (now < s->next_try) {
		eng_err(err, "no abs-ctld at %s (next attempt in %lld s)", s->sock,
		    (long long)(s->next_try - now));
		return -ENOTCONN;
	}
	if ((rc = connect_master(s, 0, err)) == 0) {
		s->moving = false;
		return 0;
	}
	s->backoff = s->backoff ? s->backoff * 2 : SERVE_BACKOFF_MIN;
	if (s->backoff > SERVE_BACKOFF_MAX)
		s->backoff = SERVE_BACKOFF_MAX;
	s->next_try = time(NULL) + s->backoff;
	log_warn("%s; next attempt in %u s", err, s->backoff);
	return rc;
}

/* A job handed over: what another master would be told of it. */
static void
job_begin(struct srv *s, json_t *job)
{
	struct cur_job *c = &s->cur;

	memset(c, 0, sizeof(*c));
	c->active = true;
	c->id = json_integer_value(json_object_get(job, "job"));
	snprintf(c->site, sizeof(c->site), "%s",
	    json_string_value(json_object_get(job, "site")) ?
	    json_string_value(json_object_get(job, "site")) : "");
	snprintf(c->kind, sizeof(c->kind), "%s",
	    json_string_value(json_object_get(job, "kind")) ?
	    json_string_value(json_object_get(job, "kind")) : "dump");
	snprintf(c->entity, sizeof(c->entity), "%s",
	    json_string_value(json_object_get(job, "entity")) ?
	    json_string_value(json_object_get(job, "entity")) : "");
	snprintf(c->state, sizeof(c->state), "running");
	job_save(s);
}

/* The job ended: its result to the master, or kept for the next one. */
static void
job_end(struct srv *s, int rc, const char *jerr, bool written)
{
	char err[ENG_ERRLEN];
	json_t *r;

	/* written: on tape behind an immediate filemark, not yet committed
	   (abs-ctld holds the job uncommitted until the commit event). */
	snprintf(s->cur.state, sizeof(s->cur.state), "%s", rc == 0 ? written ?
	    "written" : "done" : rc == -ECANCELED ? "aborted" : "failed");
	snprintf(s->cur.error, sizeof(s->cur.error), "%s", rc < 0 ? jerr : "");
	job_save(s);
	r = event_call(s, "result", json_pack("{s:b,s:b,s:s?,s:b}", "ok",
	    rc == 0, "aborted", rc == -ECANCELED, "error", rc < 0 ? jerr : NULL,
	    "written", rc == 0 && written), err);
	if (r || master_up(s)) {
		/* Heard (or refused by a master that knows better). */
		job_forget(s);
		json_decref(r);
		return;
	}
	log_warn("job %lld %s; no abs-ctld heard it: reported on registering",
	    (long long)s->cur.id, s->cur.state);
}

/* The media server (see engine.h): register, then run jobs for good. */
int
eng_serve(const char *socket_path, const char *config, const char *drive,
    const char *device, const char *log, uint32_t bs, unsigned cmd_timeout,
    char *err)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct eng_hooks hooks = {
		.ctx = s, .next_tape = h_next_tape, .mount = h_mount,
		.event = h_event, .progress = h_progress, .aborted = h_aborted,
		.verified = h_verified, .barcode = h_barcode,
		.rejected = h_rejected,
	};
	sigset_t set;
	int rc = 0;

	if (!s)
		return -ENOMEM;
	s->uev_fd = -1;
	s->commit_secs = -1;
	s->commit_idle = SERVE_COMMIT_IDLE_S;
	s->committed = json_array();
	s->lost = json_array();
	s->indexes = json_array();
	s->verified = json_array();
	s->hooks = &hooks;
	if (!s->committed || !s->lost || !s->indexes || !s->verified) {
		rc = -ENOMEM;
		goto out;
	}
	/* Before any thread starts: SIGHUP is only ever taken by hup_now(). */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	s->config = config;
	s->timeout_s = SERVE_CALL_TIMEOUT_S;
	s->cmd_timeout = cmd_timeout ? cmd_timeout : ENG_SNAP_TIMEOUT;
	s->drive = drive;
	s->device = device;
	s->log = log;
	snprintf(s->sock, sizeof(s->sock), "%s", socket_path ? socket_path : "");
	if (config && (rc = read_config(s, err)) < 0 && !socket_path)
		goto out;
	if (!s->sock[0] || strlen(socket_path ? socket_path : s->sock) >=
	    sizeof(s->sock)) {
		eng_err(err, "no socket to reach abs-ctld (--control or CONTROL=)");
		rc = -EINVAL;
		goto out;
	}
	job_load(s);
	node_init(s);
	/* The first master must answer: a supervisor restarts us if not. */
	if ((rc = connect_master(s, SERVE_CONNECT_WAIT_MS, err)) < 0)
		goto out;
	for (;;) {
		char jerr[ENG_ERRLEN] = "";
		if (s->term || term_now()) {
			/* Stopped: the held dumps committed, then gone as before. */
			serve_commit(s, "stop", true);
			log_warn("SIGTERM: media server for drive %s stops", s->drive);
			raise(SIGTERM);
		}
		/* Blocked only while dumps wait for a commit point. */
		hold_signals(s->commit.nrec > 0);
		/* Idle with dumps held: a commit point after the grace, with
		   or without a master (the journal has them for the next). */
		if (!s->job && commit_held(s)) {
			if (s->idle_since == 0)
				s->idle_since = eng_now();
			else if (eng_now() - s->idle_since >= s->commit_idle)
				serve_commit(s, "idle", master_up(s));
		}
		if (ensure_master(s, jerr) < 0) {
			wait_master(s, 1000);
			continue;
		}
		if (s->scan) {
			serve_commit(s, "a rebuild's scan", true);
			serve_scan(s, device);
			continue;
		}
		serve_unload(s, false);
		watch_device(s, false);
		if (!s->job) {
			drain_events(s, 1000);
			serve_unload(s, false);
			continue;
		}
		s->idle_since = 0;
		json_t *job = s->job;
		s->job = NULL;
		s->abort = false;
		s->job_id = json_integer_value(json_object_get(job, "job"));
		job_begin(s, job);
		char perr[ENG_ERRLEN];
		if ((rc = device_ready(s, jerr)) == 0 &&
		    (rc = job_privileges(job, jerr)) == 0)
			rc = run_job(s, &hooks, device, log, bs, job, jerr);
		if (job_privileges(NULL, perr) < 0 && rc == 0) {
			snprintf(jerr, sizeof(jerr), "%s", perr);
			rc = -EPERM;
		}
		json_decref(job);
		if (rc < 0)
			log_warn("job %lld: %s", (long long)s->job_id, jerr);
		char label[sizeof(s->cur.label)];
		snprintf(label, sizeof(label), "%s", s->cur.label);
		bool written = rc == 0 && eng_commit_holds(&s->commit, s->job_id);
		if (written)
			hold_signals(true);
		/* Jobs this one's commit point covered, before its result. */
		commit_tell(s);
		if (written)	/* on tape behind an immediate filemark only */
			abs_crash_point("written");
		job_end(s, rc, jerr, written);
		report_tapealert(s, label);
	}
out:
	if (commit_held(s))
		serve_commit(s, "the end", true);
	if (s->uev_fd >= 0)
		close(s->uev_fd);
	json_decref(s->committed);
	json_decref(s->lost);
	json_decref(s->indexes);
	json_decref(s->verified);
	json_decref(s->job);
	json_decref(s->scan);
	proto_conn_free(s->pc);
	free(s);
	return rc;
}
