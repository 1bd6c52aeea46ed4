/*
 * io_uring read-ahead with registered buffers and an in-flight window.
 * Source bytes are read into a pool of aligned, registered block buffers;
 * ring_next() hands full blocks out strictly in source order, and a buffer
 * is reused only after ring_confirm() says the sink has it for good. It
 * knows nothing of SCSI or tapes.
 *
 * Who uses io_uring (liburing is included here and in bench/ only):
 * - ring/ (this module): the source side, many reads in flight into
 *   registered buffers. That is where io_uring pays.
 * - The tape transports do not. Their queued writes are queued in the
 *   device, not in a ring: sg: write()s an sg_io_hdr on a non-blocking fd
 *   (it returns at once, the driver keeps up to 16 commands in flight) and
 *   read()s it back by pack id after poll(); iscsi: hands libiscsi the
 *   writes and drives its one socket with poll() and iscsi_service(). Each
 *   of those was once one io_uring SQE submitted and waited for alone: a
 *   synchronous call in an async costume, with its own ring per device.
 *   They are plain syscalls now; a transport that really keeps several
 *   requests in flight in the kernel (O_DIRECT files, several sockets)
 *   would get a ring_ API for it here rather than a private ring.
 *   A restore's queued reads (tsg_read_queue_*, sg/tsg.c) go the same
 *   ways: sg v3 write()/read() on sg:, libiscsi tasks on iscsi://, and a
 *   thread of the queue's own on vtape: and st:, which run one command
 *   at a time. (SCSI passthrough through io_uring, IORING_OP_URING_CMD,
 *   exists for NVMe character devices only, not for sg.)
 * - bench/abs-bench --uring-write is a benchmark peer: the raw ceiling of
 *   a file sink, 8 writes in flight through its own small ring. It stays
 *   outside ring/ on purpose, so it measures the kernel and not our code.
 */
#ifndef ABS_RING_H
#define ABS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ring;

/* Room after each block buffer for a sink's trailer (protection CRC). */
#define RING_SLACK 4096

struct ring_block {
	unsigned idx;		/* buffer index, for ring_confirm() */
	void *buf;
	size_t len;		/* block_size, or less for the last block */
	uint64_t seq;		/* 0, 1, 2 ... in source order */
};

/* depth buffers of block_size bytes each (4 KiB aligned, registered). */
int ring_new(unsigned depth, size_t block_size, struct ring **out);
void ring_free(struct ring *r);
/*
 * Ready the ring for another source (ring_source again), keeping its
 * buffers: a run of many small dumps pays for them (allocated and
 * faulted in) once. The reader stops and its io_uring goes; blocks not
 * confirmed are dropped. 0, or negative: free the ring instead.
 */
int ring_reset(struct ring *r);
size_t ring_block_size(const struct ring *r);
/*
 * Read from fd; a seekable fd gets many reads in flight from offset. An
 * fd opened O_DIRECT is read straight into the buffers (no page-cache
 * copy) until the kernel refuses it (EINVAL) or the source ends short of
 * a block: from there O_DIRECT is dropped and the reads go through the
 * page cache, so any file system, tail or growing file reads whole. A
 * regular file read through the page cache is read inline while cached
 * (ring_inline()).
 */
int ring_source(struct ring *r, int fd);
/*
 * Before ring_source(): the reader thread reads even a cached file, so that
 * the copy out of the page cache runs beside the consumer (a compressing
 * dump, whose consumer is the one serial stage).
 */
void ring_thread_always(struct ring *r);
/* Still reading with O_DIRECT (false once it fell back). */
bool ring_direct(struct ring *r);
/*
 * Still reading in ring_next() itself: a file read through the page cache
 * while the next blocks are cached (no copy on another core); the reader
 * thread takes over, for good, at the first range that is not.
 */
bool ring_inline(struct ring *r);
/* Next block in order: 1 and *b filled, 0 at end of source, -errno. */
int ring_next(struct ring *r, struct ring_block *b);
/* The same, waiting ms at most (0: as long as it takes): -ETIMEDOUT when
   no block came meanwhile (a source that stalls), and nothing changed. */
int ring_next_wait(struct ring *r, struct ring_block *b, unsigned ms);
/* The sink holds block idx for good: recycle it. Oldest first. */
int ring_confirm(struct ring *r, unsigned idx);
/* Blocks handed out and not yet confirmed. */
unsigned ring_outstanding(const struct ring *r);
unsigned ring_depth(const struct ring *r);
uint64_t ring_bytes(const struct ring *r);

#endif
