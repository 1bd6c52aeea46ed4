/* Private to engine/: tape handling shared by the operations. */
#ifndef ABS_ENGINE_TAPE_H
#define ABS_ENGINE_TAPE_H

#include <stdarg.h>
#include <stdint.h>

#include "engine/format.h"
#include "sg/tsg.h"

/* Format the operator's one-line reason into err (ENG_ERRLEN bytes). */
void eng_err(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* err = "what: SCSI status text". */
void eng_err_st(char *err, const char *what, const struct tsg_status *st);

/* Open a device and make it ready for variable-block I/O; -ENOMEDIUM: empty. */
int eng_open(const char *uri, struct tsg_dev **dev, char *err);
/*
 * The URI with a relative path (vtape:, sg:, st:) made absolute from the
 * working directory, into out; 0, or -ENAMETOOLONG / -errno. A restore
 * into a tree works from inside that tree, and changes cartridges there.
 */
int eng_uri_absolute(const char *uri, char *out, size_t len);
/*
 * Rewind and classify the tape, the one place every operation does it:
 * 0 labelled (l filled); -ENODATA blank (end of data at the beginning of
 * tape, nothing else is blank); -EBADMSG damaged (an ABS label that cannot
 * be used, or any label trouble with ABS parts after it: err says what was
 * found, e.g. "file 1 holds part 1 of dump D of entity E ..."); -ENOMSG
 * foreign (not ABS); -EPROTO a newer format; other negative errnos when
 * the drive failed. err always says why.
 */
int eng_read_label(struct tsg_dev *dev, struct fmt_label *l, char *err);
/* Position at end of data for appending; *file is the next file number. */
int eng_goto_eod(struct tsg_dev *dev, uint64_t *file, char *err);
/* Position at the start of tape file n (rewind, space filemarks). */
int eng_goto_file(struct tsg_dev *dev, uint64_t n, char *err);
/* Read one block into buf (room len); 1 block, 0 filemark, -ENODATA EOD. */
int eng_read_block(struct tsg_dev *dev, void *buf, size_t len, size_t *got,
    char *err);
/*
 * Read a block whose length is only guessed (hint): some targets (tgt)
 * lose data unless the length is exact. A longer block (ILI) is read again
 * with its real length, up to cap bytes.
 */
int eng_read_guess(struct tsg_dev *dev, void *buf, size_t hint, size_t cap,
    size_t *got, char *err);
/* Read a trailer file from its first block on: the record and CRC table. */
int eng_read_trailer(struct tsg_dev *dev, uint8_t *buf, size_t bs,
    struct fmt_trailer *t, uint32_t **table, char *err);
/* A monotonic clock in seconds. */
double eng_now(void);

#endif
