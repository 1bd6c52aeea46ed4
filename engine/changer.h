/*
 * Private to engine/: who puts the next cartridge in the drive. For a drive
 * in a library (tsg_changer_of_drive(): today a vtape library's
 * vtape:LIB/driveK) the engine works the library's changer itself, through
 * the changer API only; for any other device it asks the operator and waits
 * for Enter on a terminal or for `abs-engine mounted --device URI`.
 */
#ifndef ABS_ENGINE_CHANGER_H
#define ABS_ENGINE_CHANGER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/format.h"
#include "sg/tsg.h"

struct eng_changer_opts {
	const char *uri;
	const char *pool;	/* writable tapes must be of this pool */
	const char *autolabel;	/* e.g. "A%05d" for blank tapes, or NULL */
	const char *log;	/* dump log: labels already used */
	uint32_t block_size;
	unsigned mount_timeout;	/* seconds to wait for an operator */
	const struct eng_hooks *hooks;	/* the catalog chooses tapes */
};

struct eng_changer;

int eng_changer_new(const struct eng_changer_opts *o, struct eng_changer **out);
void eng_changer_free(struct eng_changer *c);
bool eng_changer_is_library(const struct eng_changer *c);
/* Never offer this tape again in this job (full, bad, or refused). */
void eng_changer_skip(struct eng_changer *c, const char *tape_id);
/* This tape reached early warning: full, never appended to again. */
void eng_changer_full(struct eng_changer *c, const char *tape_id);
/* Was this tape ruled out (in this job, or bad or full in the dump log)? */
bool eng_changer_skipped(const struct eng_changer *c, const char *tape_id);
/* Was it ruled out as full (a dump log `full` line, or in this job)? */
bool eng_changer_is_full(const struct eng_changer *c, const char *tape_id);
/*
 * Label the blank tape in dev: --autolabel's next unused label (by the
 * dump log), else its barcode; 0 or a negative errno with err set.
 */
int eng_changer_label_blank(struct eng_changer *c, struct tsg_dev *dev,
    const char *barcode, struct fmt_label *l, char *err);
/*
 * Release *dev (unload it) and put a writable tape in the drive: an
 * appendable one of the pool with room left, or a blank one labelled now.
 * On success *dev is open and *l is its label.
 */
int eng_changer_next_writable(struct eng_changer *c, struct tsg_dev **dev,
    struct fmt_label *l, char *err);
/* Release *dev and put the cartridge labelled label (tape_id) in the drive. */
int eng_changer_mount(struct eng_changer *c, const char *label,
    const char *tape_id, struct tsg_dev **dev, struct fmt_label *l, char *err);
/*
 * Library only: release *dev and load the cartridge of the slot-th full
 * slot (0-based) into the drive. -ERANGE past the last slot.
 */
int eng_changer_load_next(struct eng_changer *c, int slot, struct tsg_dev **dev,
    struct fmt_label *l, char *err);
/* Signal an engine waiting on uri that a cartridge is mounted. */
int eng_mounted(const char *uri, char *err);
/* Write a new label on the tape in dev (rewind first; truncates the tape). */
int eng_write_label(struct tsg_dev *dev, const char *label, const char *pool,
    uint32_t block_size, struct fmt_label *out, char *err);
/* The same with the catalog's tape ID (NULL: a random one). */
int eng_write_label_id(struct tsg_dev *dev, const char *label,
    const char *tape_id, const char *pool, uint32_t block_size,
    struct fmt_label *out, char *err);

#endif
