/*
 * Private to engine/: compression on the dump path. zstd's output goes
 * into a pool of block buffers; a full block goes to the write window, and
 * its buffer comes back (eng_compress_release) only once the drive has
 * confirmed it, since written blocks stay in flight.
 */
#ifndef ABS_ENGINE_COMPRESS_H
#define ABS_ENGINE_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eng_window;
struct eng_compress;

/* Parse "none" (or NULL), "zstd" or "zstd:LEVEL": 0 none, the level, -1 bad. */
int eng_compress_level(const char *spec);
/* A zstd stream at level into nbuf buffers of bs bytes; 0 or -ENOMEM. */
int eng_compress_new(int level, uint32_t bs, unsigned nbuf,
    struct eng_compress **out);
void eng_compress_free(struct eng_compress *c);
/*
 * Compress len bytes from in; each full block goes into w. With end, the
 * frame is finished and its short last block goes too. err: ENG_ERRLEN.
 */
int eng_compress_put(struct eng_compress *c, struct eng_window *w,
    const void *in, size_t len, bool end, char *err);
/* Buffer idx is on tape: it may take output again. */
void eng_compress_release(struct eng_compress *c, unsigned idx);

#endif
