/*
 * abs-engine's operations (direct mode): label, dump, list, restore, verify.
 * Each returns 0 on success or a negative errno, and on failure leaves a
 * one-line reason in err for the operator.
 */
#ifndef ABS_ENGINE_H
#define ABS_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/format.h"

#define ENG_ERRLEN 512

struct cat_dl_rec;

/*
 * Why a dump failed, when the failure is the cartridge's: such a cartridge
 * is taken out of use and the dump is written again on another. The text
 * in err is for people; this is for the program.
 */
enum eng_fault {
	ENG_FAULT_NONE,		/* not the cartridge's (or no failure) */
	ENG_FAULT_WRITE,	/* it took a block after refusing one */
	ENG_FAULT_MEDIUM,	/* medium error while writing */
	ENG_FAULT_VERIFY,	/* read-after-write spot verification failed */
};
/* The dump log's error status: write-failed, medium-error, verify-mismatch. */
const char *eng_fault_status(enum eng_fault f);

/*
 * A media server's link to abs-ctld (engine/served.c); NULL in direct mode.
 * The catalog chooses tapes and hears of every part; the operator's mounts
 * come through it.
 */
struct eng_hooks {
	void *ctx;
	/*
	 * The catalog's next tape: label, tape ID, whether it is blank, and
	 * whether it is to be recycled (relabelled, its old dumps expired).
	 */
	int (*next_tape)(void *ctx, const char *pool, char *label, size_t llen,
	    char *tape_id, size_t tlen, bool *blank, bool *recycle, char *err);
	/* Ask for label: 0 mounted, 1 unavailable (choose again), <0 stop. */
	int (*mount)(void *ctx, const char *label, char *err);
	/* Tell the catalog; -1 if it refused (the dump log keeps it anyway). */
	int (*event)(void *ctx, const char *event, const struct cat_dl_rec *rec,
	    const char *label, const char *tape_id, const char *why);
	void (*progress)(void *ctx, uint64_t bytes, double rate,
	    const char *state);
	/* A part's read-after-write check: blocks re-read (or checked by the
	 * drive) and how many failed. */
	void (*verified)(void *ctx, const char *dump_id, const char *tape_id,
	    uint64_t checked, uint64_t bad);
	bool (*aborted)(void *ctx);
	/*
	 * The barcode of the cartridge the last mount put in the drive, as
	 * abs-ctld's robot says ("" unknown); may be NULL. A library's
	 * cartridge is then held to the sticker rule (engine/changer.h).
	 */
	void (*barcode)(void *ctx, char *buf, size_t len);
	/*
	 * A library cartridge refused by the sticker rule or as a cleaning
	 * cartridge (kind "wrong-tape" or "cleaning"): label asked for, the
	 * cartridge's barcode and the label its tape carries ("" blank). May
	 * be NULL: the mount-rejected event is sent then.
	 */
	void (*rejected)(void *ctx, const char *label, const char *tape_id,
	    const char *kind, const char *barcode, const char *tape_label,
	    const char *why);
};

/*
 * Cartridge changes as they happen, for a status (the archiver's): the
 * engine names the cartridge it is about to load before anything moves
 * (so the operator can write its sticker), then says as it unloads,
 * loads and has it ready.
 */
enum eng_media {
	ENG_MEDIA_NEXT,		/* label is the one to be loaded ("" unknown) */
	ENG_MEDIA_UNLOADING,	/* label leaves the drive (rewind, unload, back) */
	ENG_MEDIA_LOADING,	/* label is fetched, loaded, checked or labelled */
	ENG_MEDIA_LOADED,	/* label is in the drive, to be written */
};
/* where: how the label was found, for people ("slot 3", "--autolabel"). */
typedef void eng_media_fn(void *ctx, enum eng_media ev, const char *label,
    const char *where);

struct eng_label_opts {
	const char *device;
	const char *label;
	const char *pool;
	uint32_t block_size;
	bool force;
	unsigned slot;		/* a library drive: load this slot first */
};

struct eng_dump_opts {
	const char *device;
	const char *entity;
	const char *source;	/* dir:PATH, cmd:ARGV, file:PATH */
	/*
	 * With source_fd_given, a file: source's file is this descriptor (the
	 * caller's, left open), never PATH opened again: the archiver checks
	 * a queued file and dumps the very file it checked. Each attempt reads
	 * it from its start.
	 */
	bool source_fd_given;
	int source_fd;
	const char *expect_label;	/* NULL: any labelled tape */
	const char *log;
	const char *server;
	const char *partition;
	const char *since;	/* increment base time, NULL for a full */
	int level;
	/*
	 * Chains: the dump (ID) this level > 0 dump is relative to. NULL with
	 * a level > 0 and no since: the newest complete dump of the entity
	 * at a lower level in the log, since its date. NULL with since: no
	 * known base (recorded as none). Given: its date is since (taken from
	 * the log; without it there, since must be given).
	 */
	const char *base;
	const char *compress;	/* NULL/"none" or "zstd[:LEVEL]" */
	/* Frames compressed at once (0: a core each; ENG_COMPRESS_INLINE:
	   none beside the dump's own thread). */
	unsigned compress_threads;
	int direct_io;		/* file: sources: enum eng_direct (0: auto) */
	const char *digest;	/* NULL/"xxh128" or "sha256" */
	uint32_t block_size;
	unsigned depth;		/* ring buffers */
	unsigned queue;		/* writes in flight (0: the transport's default) */
	bool quiet;
	const char *autolabel;	/* label pattern for blank tapes, e.g. A%05d */
	double verify_rate;	/* spot-verify sample; < 0 turns it off */
	unsigned retries;	/* re-dumps after a bad cartridge */
	unsigned mount_timeout;	/* seconds to wait for an operator's mount */
	bool no_pew;		/* leave programmable early warning alone */
	bool lbp;		/* logical block protection where the drive has it */
	const char *pool;	/* with hooks: the pool the catalog writes to */
	const struct eng_hooks *hooks;	/* media-server mode, or NULL */
	int64_t job;		/* abs-ctld's job ID for the headers (0: none) */
	const char *entity_type;	/* the catalog's, for the headers */
	/* with job: the site of the master that gave it; on every dump-log
	   line with the job (merge keeps them as the job's origin) */
	const char *site;
	/* Several dumps of one run sharing commit points (below), or NULL:
	   every dump is its own commit point. */
	struct eng_commit *commit;
	/* An archived file's queue entry (JSON, docs/QUEUE.md) for every
	   part's header (archive_entry), or NULL. */
	const char *archive_entry;
	/* Cartridge changes (above), or NULL. */
	eng_media_fn *media;
	void *media_ctx;
};

/*
 * Commit points (issue 15, docs/FORMAT.md "Commit points"). A run of
 * dumps in one process (abs-engine dump --batch) closes each dump's
 * trailer with an immediate filemark, which leaves the drive streaming,
 * and writes a synchronous one only at a commit point: after `every`
 * dumps, when `secs` have passed since the last one, at end of cartridge
 * (early warning, a full cartridge, a hand-over), before a failure
 * leaves the drive, and at the run's last dump (`final`, set by the
 * caller). A dump reaches the dump log and the caller (on_commit) only
 * once a synchronous point covers it; dumps a failed synchronous point
 * leaves uncovered go to on_lost and are not in the log: run them again.
 * Between commit points the drive stays open at end of data (no rewind,
 * no positioning). Every commit point reads back what it covers, before
 * it releases a line: each part closed behind an immediate filemark keeps
 * its sample (first and last block, random ones at the rate; chosen as
 * it closed) and where it is, and the commit point reads the samples of
 * up to ENG_COMMIT_SPOT_PARTS of them (the last always, others at random),
 * in tape order, with the sample of the part that closes it, if one does,
 * in one pass. A sample that does not read back as written fails the
 * commit point as a failed synchronous filemark does (on_lost; bad is
 * set: the cartridge is taken out of use). With hooks (a media server's archive
 * job), the catalog hears of a deferred dump's parts and its end at the
 * commit point that covers it, never before. A media server also shares
 * commit points between the dump jobs of a drive when abs-ctld's job
 * event allows it (on_line set: engine/served.c tells abs-ctld in its
 * commit events; docs/NIGHTLY.md "Commit points").
 */
struct cat_dl_rec;
struct eng_commit_rec;
struct eng_spot_held;
struct tsg_dev;
struct ring;
struct eng_changer;
struct eng_commit {
	unsigned every;		/* dumps per commit point (0: 1) */
	double secs;		/* the longest between commit points (0: none) */
	bool final;		/* the next dump is the run's last */
	void (*on_commit)(void *ctx, const struct cat_dl_rec *dump);
	void (*on_lost)(void *ctx, const struct cat_dl_rec *dump);
	/* every line (parts and dumps) once in the dump log, or NULL */
	void (*on_line)(void *ctx, const struct cat_dl_rec *line);
	/* a commit point's read back of a part of job's dump, after its
	   lines were released or lost (NULL: hooks->verified, if hooks) */
	void (*on_verified)(void *ctx, const char *dump_id, const char *tape_id,
	    int64_t job, uint64_t checked, uint64_t bad);
	void *ctx;
	/* The engine's, between dumps: */
	struct tsg_dev *dev;	/* held at end of data, or NULL */
	struct ring *ring;	/* the source's buffers, kept for the next dump */
	struct eng_changer *chg;	/* the changer, kept likewise */
	struct fmt_label l;	/* the cartridge in it */
	uint64_t next_file;	/* the tape file the next part takes */
	double since;		/* when the last commit point was */
	unsigned pending;	/* dumps written since */
	struct eng_commit_rec *recs;
	size_t nrec, caprec;
	/* the parts written since, to read back (engine/verify.h) */
	struct eng_spot_held *held;
	size_t nheld, capheld;
	uint64_t rng;		/* which parts a large commit point reads */
	bool check_due;		/* synchronous filemark written, the read
				   back of the closing part's check left */
	char why[256];		/* why the last lines were lost (on_lost) */
	bool bad;		/* a read back failed on this cartridge: */
	char bad_label[64], bad_tape_id[64];	/* it is taken out of use */
	char bad_dump[33];	/* the dump whose block was not as written */
	struct cat_dl_rec *bad_rec;	/* its part line, for the bad lines */
	uint64_t syncs, immediate;	/* filemarks that closed parts */
	uint64_t commits;
	uint64_t spot_parts, spot_checked, spot_bad;	/* read back at them */
};
/* The parts a commit point reads back at most (the last always). */
#define ENG_COMMIT_SPOT_PARTS 32
/*
 * A commit point now: a synchronous filemark count 0 (the drive writes
 * out its buffer), the read back of what it covers, then the pending
 * dumps to the log and on_commit; on failure they go to on_lost (a
 * failed read back also takes the cartridge out of use: the dump log's
 * error and bad lines, hooks' bad-tape). Then the drive is let go. 0,
 * -EIO or -EBADMSG (the read back).
 */
int eng_commit_end(struct eng_commit *c, const struct eng_dump_opts *o,
    char *err);
/*
 * Forget the kept lines of every job but keep (their dumps to on_lost):
 * a media server registering anew mid-job cannot commit them first. The
 * count of dumps dropped.
 */
int eng_commit_drop_except(struct eng_commit *c, int64_t keep);
/* Whether a dump line of job waits for the next commit point. */
bool eng_commit_holds(const struct eng_commit *c, int64_t job);

struct eng_dump_result {
	char dump_id[33];
	char label[64];		/* first cartridge */
	char labels[512];	/* every cartridge, in part order */
	unsigned parts;
	uint64_t file;
	uint64_t raw_bytes, bytes, blocks;
	double seconds;
	uint64_t verify_checked, verify_bad;
	double verify_seconds;
	unsigned handovers, no_trailer, retries;
	bool lbp;		/* blocks carried their CRC to the drive */
	uint64_t drive_verified;	/* blocks VERIFYed in the drive */
	double handover_seconds;
	char digest_alg[8];
	char digest[65];
	char raw_digest[65];
	/* Chains: the base ("" none); the file index in the stream (raw
	   stream = archive + index; 0 bytes: none) and its copy beside the
	   log, LOG.fidx/DUMPID ("" if none was written). */
	char base[33];
	uint64_t index_raw, index_stored, index_bytes;
	char index_path[4160];
};

struct eng_restore_opts {
	const char *device;
	const char *entity;
	const char *date;	/* prefix of the dump date, NULL: newest */
	const char *log;	/* dump log to find the part, or NULL to scan */
	const char *to;		/* directory (dir dumps) or file */
	bool to_stdout;
	const char *expect_label;
	int64_t file;		/* tape file to restore, -1 to search */
	unsigned mount_timeout;	/* seconds to wait for an operator's mount */
	bool no_wait;		/* fail instead of asking for a cartridge */
	bool verify_only;	/* read and prove every part, write nothing */
	bool extract;		/* extract the stream as a tar even if not dir: */
	bool allow_refused;	/* entries refused by extraction are no failure */
	bool root_onto_existing;	/* a tree's root entry onto an existing
					   target directory (root asked) */
	bool onto_nonempty;	/* --force: into a target that holds files */
	const struct eng_hooks *hooks;	/* media-server mode, or NULL */
	/*
	 * Chains (engine/chain.h): with a dump log the chain that ends at
	 * the dump asked for is restored (full, then each incremental);
	 * level_only: that dump alone. paths (npaths): only these entries
	 * (a directory: its subtree), reading only their blocks.
	 */
	bool level_only;
	const char *const *paths;
	size_t npaths;
	unsigned queue;		/* reads in flight (0: the transport's default) */
	/*
	 * A shadow (engine/shadow.c): the target holds the tree as of the
	 * chain's dump applied - 1 already; only the dumps after it are
	 * applied onto it (0: the whole chain, from the full).
	 */
	unsigned applied;
	/* With log: this dump alone, by its ID (an archived file: many
	   dumps of one entity share a second), or NULL. */
	const char *dump_id;
};

struct eng_restore_result {
	uint64_t bytes, raw_bytes, blocks;
	double seconds;
	char dump_id[33];
	char source_kind[8];
	uint64_t file;
	unsigned parts;
	uint64_t entries, refused;	/* a tree: restored and refused entries */
	unsigned log_proven;	/* parts without a trailer (cut at physical
				 * end, or damaged): no block CRCs, proven
				 * by the dump log's digest */
	unsigned dumps;		/* dumps of the chain restored (or read) */
	uint64_t meta_blocks;	/* header and trailer blocks read */
	uint64_t read_bytes;	/* data bytes read from tape */
	uint64_t positionings;	/* LOCATE or SPACE to a block */
	uint64_t span_blocks;	/* --path: blocks the entries' spans touch */
};

int eng_label(const struct eng_label_opts *o, char *err);
int eng_dump(const struct eng_dump_opts *o, struct eng_dump_result *res,
    char *err);
int eng_list(const char *device, bool json, FILE *out, char *err);
int eng_restore(const struct eng_restore_opts *o,
    struct eng_restore_result *res, char *err);
/*
 * find: which versions of the paths matching pattern are in which dumps
 * of o->entity (at or before o->date) in the dump log o->log, from their
 * file indexes. *matches counts them. 0, or negative with err.
 */
int eng_find_cmd(const struct eng_restore_opts *o, const char *pattern,
    bool json, FILE *out, uint64_t *matches, char *err);
/* Verify every part, or only the part whose header is tape file `file`. */
int eng_verify(const char *device, int64_t file, FILE *out, char *err);
/* Drive and cartridge health: what the drive reports, and what it cannot. */
int eng_status(const char *device, bool json, FILE *out, char *err);
/*
 * Media server: register DRIVE with abs-ctld and run its jobs, through
 * masters that come and go. config (may be NULL): KEY=VALUE lines whose
 * CONTROL= names the socket (over socket), read again on SIGHUP.
 * cmd_timeout bounds a type's snapshot and release commands (0: the
 * default, engine/snap.h). Returns only if the first registration fails.
 */
int eng_serve(const char *socket, const char *config, const char *drive,
    const char *device, const char *log, uint32_t block_size,
    unsigned cmd_timeout, char *err);

#endif
