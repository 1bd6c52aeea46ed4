/*
 * The archiver (docs/QUEUE.md): takes closed and expired entries of an
 * archive queue to tape, each file as a dump of its own (source file:PATH,
 * its queue entry in every part header's archive_entry key) through the
 * engine's dump path (CRC per block, digests, spot verification, spanning
 * at end of tape), several files between commit points, and moves each
 * entry into the done directory, with where it is on tape, once a commit
 * point covers it.
 */
#ifndef ABS_ENGINE_ARCHIVE_H
#define ABS_ENGINE_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

/* The archiver's states, as its status shows them. */
enum eng_archive_state {
	ENG_ARCH_WAITING,	/* nothing ready in the queue */
	ENG_ARCH_RUNNING,	/* writing files */
	ENG_ARCH_LOAD_MEDIA,	/* a cartridge is named, fetched, loaded or
				   labelled (or the drive opened for a run) */
	ENG_ARCH_UNLOADING,	/* a cartridge is rewound, unloaded and put
				   back, or a run's last commit point */
	ENG_ARCH_STOPPED,
};
const char *eng_archive_state_name(enum eng_archive_state s);

#define ENG_ARCH_MESSAGES 32	/* the status's rolling buffer */

struct eng_archive_opts {
	const char *queue, *done;
	const char *status;	/* the status file (NULL: QUEUE/.archive-status.json) */
	/* The dump options every file shares: device, log (NULL:
	   DONE/archive.dumplog), entity (NULL: "archive"), block size,
	   digest, verify rate, autolabel, hooks (a media server)... */
	struct eng_dump_opts dump;
	unsigned commit_every;	/* files per commit point (0: 1000) */
	double commit_secs;	/* the longest between them (0: none) */
	unsigned batch;		/* files per run of the drive (0: 1000) */
	bool once;		/* stop when nothing is ready, not wait */
	double poll;		/* seconds between looks at an idle queue (0: 1) */
	/* Asked between files and while waiting: true stops the archiver
	   after the file being written (NULL: never). */
	bool (*stop)(void *ctx);
	void *ctx;
	/* Each status change and message (NULL: none): a media server
	   passes them to abs-ctld. */
	void (*status_cb)(void *ctx, const char *json);
	/*
	 * Each change of state or of the next cartridge (NULL: none): label
	 * is the cartridge in the drive ("" none yet), next the one the
	 * archiver is about to load ("" none, or any writable one), named
	 * before it is loaded so the operator can write its sticker.
	 */
	void (*on_state)(void *ctx, enum eng_archive_state s,
	    const char *label, const char *next);
	/* Each entry moved into done, as its done entry's JSON (NULL:
	   none): a media server records it in abs-ctld's catalog. */
	void (*done_cb)(void *ctx, const char *name, const char *json);
};

struct eng_archive_result {
	uint64_t archived, refused, failed, bytes, commits;
	double seconds;
};

/*
 * Run the archiver until nothing is ready (once), stop() says so, or the
 * drive fails (a file that cannot be written for the tape's or drive's
 * sake stays queued and the archiver stops: 0 only if nothing failed).
 */
int eng_archive(const struct eng_archive_opts *o,
    struct eng_archive_result *res, char *err);

#endif
