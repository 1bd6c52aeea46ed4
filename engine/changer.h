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
#include <stddef.h>
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
	/*
	 * The drive's library when its URI does not say (vtape:LIB/driveK
	 * does): a changer URI and the drive's element number in it. NULL:
	 * the process's library (eng_library_set), if any.
	 */
	const char *changer;
	int drive_element;	/* with changer; -1: not known */
	/*
	 * A library whose robot abs-ctld alone works: the engine never moves
	 * a cartridge; every mount goes through the mount hook (and the
	 * barcode of what was loaded comes from hooks->barcode). Also set
	 * when the process's library says so.
	 */
	bool no_robot;
	/* Cartridge changes as they happen (engine.h), or NULL. */
	eng_media_fn *media;
	void *media_ctx;
};

/*
 * The library of this process's drive, beyond what its URI says: direct
 * mode's --changer URI --drive-element N, or the library abs-ctld's
 * register reply names (no_robot: abs-ctld's robot moves its cartridges).
 * Copied; NULL or a zeroed one forgets it.
 */
struct eng_library {
	const char *changer;	/* changer URI, NULL: none */
	int element;		/* the drive's number (mtx style, from 0) */
	bool no_robot;
	const char *clean_prefix;	/* cleaning barcodes' prefix; NULL: CLN */
};
int eng_library_set(const struct eng_library *lib, char *err);
/* What abs-ctld's register reply says, over what eng_library_set said
   (NULL: back to that). */
int eng_library_control(const struct eng_library *lib, char *err);
/* Whether abs-ctld's robot moves this process's cartridges. */
bool eng_library_no_robot(void);
/* The prefix of cleaning cartridges' barcodes (default CLN). */
const char *eng_clean_prefix(void);
/*
 * The changer serving the drive uri names, and the drive's number: the
 * process's library (never under no_robot), else the one the URI says
 * (tsg_changer_of_drive). -ENODEV: none (the operator changes cartridges).
 */
int eng_library_of(const char *uri, struct tsg_changer **out,
    unsigned *drive);
/*
 * The barcode of the cartridge in the drive uri names, from its library's
 * inventory ("" if none or unreadable): 0, -ENODEV if the drive is in no
 * library the engine works, or another negative errno.
 */
int eng_library_drive_barcode(const char *uri, char *buf, size_t len);
/*
 * label --slot N: put slot N's cartridge into the drive uri names (the one
 * in it, if another, back to its slot first). 0, or negative with err.
 */
int eng_library_load_slot(const char *uri, unsigned slot, char *err);
/*
 * Which drive of changer the device is: *element if it is >= 0 (checked:
 * the changer has it), else the one whose identifier (DVCID) matches the
 * device's INQUIRY unit serial. 0 and *element; -ENODEV with err saying
 * why (no such drive, no serial, no identifiers, none or two match):
 * never guessed.
 */
int eng_library_find_drive(const char *changer, const char *device,
    int *element, char *err);

/*
 * The barcode is the sticker label. A cartridge's tape label must be its
 * barcode, or its barcode less a 2-character LTO media suffix (L1..L9,
 * LT..LZ, M8): B00001L6 holds B00001 or B00001L6. An empty barcode (no
 * reader, or no tag) puts no condition.
 */
bool eng_barcode_label_ok(const char *barcode, const char *label);
/* The label a blank cartridge of this barcode gets: the barcode less its
   LTO media suffix. */
void eng_barcode_label(const char *barcode, char *out, size_t len);
/* A cleaning cartridge: its barcode starts with prefix (NULL: the
   process's, eng_clean_prefix()). Never written, labelled or offered. */
bool eng_barcode_cleaning(const char *barcode, const char *prefix);

struct eng_changer;

int eng_changer_new(const struct eng_changer_opts *o, struct eng_changer **out);
/* The same, saying why it failed in err (a configured changer unreachable). */
int eng_changer_open(const struct eng_changer_opts *o, struct eng_changer **out,
    char *err);
void eng_changer_free(struct eng_changer *c);
bool eng_changer_is_library(const struct eng_changer *c);
/* Never offer this tape again in this job (full, bad, or refused). */
void eng_changer_skip(struct eng_changer *c, const char *tape_id);
/* This tape (label) reached early warning: full, never appended to
   again. */
void eng_changer_full(struct eng_changer *c, const char *tape_id,
    const char *label);
/* The cartridge labelled label is in the drive, to be written (said to
   the media callback). */
void eng_changer_loaded(struct eng_changer *c, const char *label,
    const char *where);
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
 * On success *dev is open and *l is its label. A library's slots are
 * tried from the one after the cartridge leaving the drive, round to it,
 * cartridges the dump log or this job knows full (by the label their
 * barcode gives) last; the first of them is named (ENG_MEDIA_NEXT)
 * before anything moves.
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
