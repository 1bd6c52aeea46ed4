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

struct digest;
struct eng_window;
struct eng_compress;
struct fidx_frame;

/*
 * A zstd dump's stream is a run of frames, a new one every ENG_FRAME_RAW
 * bytes of raw input and one at the file index's start: a reader starts
 * decompressing at any frame (the index's frame table). docs/FORMAT.md
 * "The file index" has what it costs.
 */
#define ENG_FRAME_RAW ((uint64_t)4 << 20)

/* Parse "none" (or NULL), "zstd" or "zstd:LEVEL": 0 none, the level, -1 bad. */
int eng_compress_level(const char *spec);
/* Most compression threads a dump runs. */
#define ENG_COMPRESS_MAX_THREADS 256
/* No compression threads: frames are compressed on the caller's thread. */
#define ENG_COMPRESS_INLINE ((unsigned)-1)
/* The default number of compression threads: the online cores. */
unsigned eng_compress_default_threads(void);
/*
 * A zstd stream at level into nbuf buffers of bs bytes, a new frame every
 * frame_raw raw bytes (> 0), threads frames compressed at once (0: one a
 * core; ENG_COMPRESS_INLINE: one at a time, by the caller as it puts
 * bytes); 0, -EINVAL or -ENOMEM. Level 0: bytes are copied into the blocks
 * as they come (a plain stream's tail; frame_raw and threads unused). The
 * stream is the same whatever the number of threads.
 */
int eng_compress_new(int level, uint32_t bs, unsigned nbuf,
    uint64_t frame_raw, unsigned threads, struct eng_compress **out);
void eng_compress_free(struct eng_compress *c);
/*
 * Compress len bytes from in; each full block goes into w. With end, the
 * frame is finished and its short last block goes too. err: ENG_ERRLEN.
 */
int eng_compress_put(struct eng_compress *c, struct eng_window *w,
    const void *in, size_t len, bool end, char *err);
/* End the open frame here (full blocks stay in the pool): the next byte
   starts a frame. */
int eng_compress_end_frame(struct eng_compress *c, struct eng_window *w,
    char *err);
/* Raw bytes taken and stored bytes made so far. */
void eng_compress_pos(const struct eng_compress *c, uint64_t *raw,
    uint64_t *stored);
/* Every frame begun so far, (raw, stored) of its start. */
const struct fidx_frame *eng_compress_frames(const struct eng_compress *c,
    uint64_t *n);
/* Take the digest of the raw bytes put from now on, or none (NULL). */
void eng_compress_digest(struct eng_compress *c, struct digest *rd);
/* Buffer idx is on tape: it may take output again. */
void eng_compress_release(struct eng_compress *c, unsigned idx);

#endif
