/*
 * Private to engine/: the commands an entity type may run around a dump
 * (the requirements' "AFS cloning"): a snapshot before it, the dump (or
 * its incremental form) reading the snapshot as a cmd: source, a release
 * after it. Each command is an argv, never a shell; placeholders are
 * filled in every word (README, "Snapshot commands").
 */
#ifndef ABS_ENGINE_SNAP_H
#define ABS_ENGINE_SNAP_H

#include <stdbool.h>

#include "engine/engine.h"

/* What the placeholders stand for. */
struct eng_snap_vars {
	const char *entity;
	const char *date;	/* {date}: the night's date */
	const char *since;	/* {since}: the base's start, NULL for a full */
	const char *base;	/* {base}: the base's dump ID, NULL for a full */
	const char *snapshot;	/* {snapshot}: the name made for this job */
	int level;		/* {level} */
};

/*
 * Where a command's output and the commands' troubles go: level is info,
 * warning or error; kind, when not NULL, makes it an error event of that
 * kind too (e.g. "release-failed").
 */
typedef void eng_snap_say_fn(void *ctx, const char *level, const char *kind,
    const char *text);

/* A dump with its commands: templates (NULL: none) and what fills them. */
struct eng_snap {
	char **snapshot, **dump, **incr, **release;
	struct eng_snap_vars v;
	unsigned timeout;	/* seconds a snapshot or release may take */
	eng_snap_say_fn *say;
	void *ctx;
};

/* The default bound of a snapshot or release command, in seconds. */
#define ENG_SNAP_TIMEOUT 600

/*
 * argv with every placeholder filled ({entity} {date} {since} {base}
 * {snapshot} {level}, inside a word too; one absent is ""; any other
 * {word} is left as written). 0 and *out (eng_free_argv), or -ENOMEM.
 */
int eng_snap_fill(char *const *tmpl, const struct eng_snap_vars *v,
    char ***out);
/* argv as a cmd: source spec that eng_split_argv splits back into argv
   word for word (malloc'd), or NULL on ENOMEM. */
char *eng_snap_spec(char *const *argv);
/*
 * Run argv (no shell, no capabilities, the --cmd-user's ids, no tape
 * nodes: as a cmd: source) with what it prints passed to say as what
 * (e.g. "snapshot") lines; killed with its process group after timeout
 * seconds, or when aborted() says so (may be NULL). 0 if it exited 0,
 * else negative with err: -ETIMEDOUT, -ECANCELED, -ECHILD (its status).
 */
int eng_snap_run(char *const *argv, const char *what, unsigned timeout,
    const struct eng_snap *sn, bool (*aborted)(void *), void *actx,
    char *err);
/*
 * A dump with its commands (o->source is replaced by the dump or incr
 * command if the type has one): snapshot, dump, release. A snapshot that
 * fails is "snapshot failed: ..." and nothing is written; the release
 * runs after every dump whose snapshot was made (a failed release is a
 * message and an error event, never a failed dump). eng_dump's result.
 */
int eng_snap_dump(struct eng_dump_opts *o, const struct eng_snap *sn,
    struct eng_dump_result *res, char *err);
/* A snapshot name for the job: abs-DATE-ID, only [A-Za-z0-9._-]. */
void eng_snap_name(const char *date, const char *id, char *buf, size_t len);

#endif
