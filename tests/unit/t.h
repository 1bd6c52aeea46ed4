/* A minimal test harness: CHECK records failures, main returns 0 or 1. */
#ifndef ABS_T_H
#define ABS_T_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int t_failed, t_checks;

#define CHECK(cond) do { \
	t_checks++; \
	if (!(cond)) { \
		t_failed++; \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
		    #cond); \
	} \
} while (0)

#define CHECK_EQ(a, b) do { \
	long long _a = (long long)(a), _b = (long long)(b); \
	t_checks++; \
	if (_a != _b) { \
		t_failed++; \
		fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", \
		    __FILE__, __LINE__, #a, _a, #b, _b); \
	} \
} while (0)

#define T_DONE() do { \
	printf("%d checks, %d failed\n", t_checks, t_failed); \
	return t_failed ? 1 : 0; \
} while (0)

/* Remove an SQLite file and its -wal and -shm companions. */
static inline void
t_unlink_db(const char *path)
{
	char p[4096];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

#endif
