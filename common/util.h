/* Small helpers shared by every module: sizes, times, ids, key=value text. */
#ifndef ABS_UTIL_H
#define ABS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parse "64K", "1M", "2G", "512" into bytes; -EINVAL on bad input. */
int util_parse_size(const char *s, uint64_t *out);
/* Parse an unsigned decimal that must fit in max; -EINVAL otherwise. */
int util_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Format t as 2026-11-22T03:50:00Z into buf (at least 21 bytes). */
void util_fmt_time(time_t t, char *buf, size_t len);
/* Parse the format above (or a plain date); -EINVAL on bad input. */
int util_parse_time(const char *s, time_t *out);
/* A catalog date (or util_parse_time's forms) as a time; 0 if s is NULL,
   empty or not a date. */
time_t util_time_or_zero(const char *s);
/* Fill buf with n random bytes as 2n hex digits plus NUL. */
int util_random_hex(char *buf, size_t nbytes);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void util_hex(const unsigned char *in, size_t n, char *out);
/* Escape a value for a key=value line: %, space, =, control bytes. */
void util_kv_escape(const char *in, char *out, size_t outlen);
/* Undo util_kv_escape in place; -EINVAL on a bad escape. */
int util_kv_unescape(char *s);
/* Write all of buf to fd, retrying short writes; negative errno. */
int util_write_all(int fd, const void *buf, size_t len);
/* Read up to len bytes, stopping only at EOF; returns the count or -errno. */
ssize_t util_read_full(int fd, void *buf, size_t len);
/*
 * Close every descriptor from lowfd up, in a forked child that does not
 * exec (or before it does): a copy of a flock(2)ed file would keep the
 * parent's lock alive after the parent let it go. Async-signal-safe.
 */
void util_close_from(int lowfd);

/*
 * len bytes (rounded up to 2 MiB) aligned to 2 MiB and marked for huge
 * pages where the kernel has them (a hint: 4 KiB pages without). Many
 * MiB touched once cost a fault each 4 KiB otherwise, and registering
 * buffers pins every page. free() it; NULL if out of memory.
 */
void *util_alloc_huge(size_t len);
#define UTIL_HUGE_PAGE ((size_t)2 << 20)

#endif
