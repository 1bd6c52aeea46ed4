/*
 * Private to engine/: a shadow refresh (docs/SHADOWS.md). A shadow is a
 * directory holding an entity's tree as of one of its dumps, marked by a
 * file in it (ENG_SHADOW_MARKER) that names the entity and that dump. A
 * refresh brings it to the newest dump of the chain it is given: the
 * dumps after the one the marker names are applied onto the tree (the
 * chain restore's apply step: deletions, renames, changes), or, when the
 * marker's dump is not in that chain (a new full), a refresh that died
 * half-way, or no shadow yet, the whole chain from the full. The marker
 * is rewritten only once the tree is the newest dump's.
 */
#ifndef ABS_ENGINE_SHADOW_H
#define ABS_ENGINE_SHADOW_H

#include <stddef.h>
#include <jansson.h>

#include "engine/engine.h"

#define ENG_SHADOW_MARKER ".abs-shadow"
/* A marker is at most this many bytes; a larger file is no marker. */
#define ENG_SHADOW_MARKER_MAX 4096

/*
 * What a marker says. dump: the dump the tree is, 32 hex digits, or "-"
 * while no dump is completely applied (a refresh is under way or died).
 */
struct eng_shadow_marker {
	char entity[256];
	char dump[33];
	char date[32];		/* the dump's date, or "-" */
	int level;		/* the dump's level, -1 with dump "-" */
	char refreshed[32];	/* when it was written */
};

/*
 * Parse a marker file's len bytes (the directory it is in may have been
 * written by anyone): "ABS shadow:" first, then "key: value" lines;
 * entity and dump once each and required, date, level and refreshed at
 * most once each, other lines ignored. 0, or -EBADMSG with err
 * (ENG_ERRLEN) saying what is wrong.
 */
int eng_shadow_marker_parse(const char *buf, size_t len,
    struct eng_shadow_marker *m, char *err);
/* m as a marker file's text into buf: its length, or -EINVAL when m
   holds what a marker cannot (a control character in the entity's name),
   -ENAMETOOLONG when it does not fit len. */
int eng_shadow_marker_format(const struct eng_shadow_marker *m, char *buf,
    size_t len);

/*
 * Everything under the directory open at dirfd removed but the top-level
 * name keep (NULL: none), only through descriptors of directories opened
 * without following links: a symbolic link in it is removed, never
 * followed, and a directory swapped for a link while it is emptied stops
 * the removal. A directory's mode is made writable by its descriptor.
 * to: the path, for messages. 0 or -errno with err.
 */
int eng_shadow_empty(int dirfd, const char *keep, const char *to, char *err);
/* Tests only: called with the directory's descriptor and an entry's name
   after the entry was looked at and before it is opened or removed. */
extern void (*eng_shadow_empty_hook)(int dirfd, const char *name);

struct eng_shadow_opts {
	const char *entity;
	const char *const *chain;	/* the chain's dump IDs, full first */
	size_t nchain;
	const char *host;	/* the host the shadow is on (NULL: this one) */
	const char *source;	/* the entity's live source path (dir:), or
				   NULL: never written onto */
	const char *last_date;	/* the last dump's date and level, for */
	int last_level;		/* the marker */
};

/*
 * Refresh the shadow at o->to (o: the restore's options, o->log the
 * chain's dump log) to the chain's last dump. Refused, with nothing
 * written: another host's shadow, a path that is (or is inside, or holds)
 * the live source, a symbolic link or not a directory, a directory whose
 * marker names another entity, a directory that holds files and no
 * marker. res: what was read and applied (res->dumps 0: it was current).
 * 0, or negative with err (ENG_ERRLEN).
 */
int eng_shadow_refresh(const struct eng_restore_opts *o,
    const struct eng_shadow_opts *so, struct eng_restore_result *res,
    char *err);

/* A media server's shadow job: the refresh its detail (abs-ctld's
   restore job with a "shadow" object: host, source; its chain) asks for. */
int eng_shadow_job(const struct eng_restore_opts *o, json_t *detail,
    struct eng_restore_result *res, char *err);

#endif
