/* Crash points for fault injection: ABS_CRASH_AT=POINT:N[:stop],
   ABS_CRASH_TRACE. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crash.h"

enum { CRASH_UNREAD, CRASH_OFF, CRASH_ON };

static int crash_state = CRASH_UNREAD;
static char crash_point[64];
static unsigned long crash_n;
static unsigned long crash_hits;
static int crash_stop;		/* SIGSTOP there instead of SIGKILL */
static int crash_trace_fd = -1;

/* Read ABS_CRASH_AT and ABS_CRASH_TRACE once; a malformed value arms nothing. */
static void
crash_setup(void)
{
	const char *env = getenv("ABS_CRASH_AT");
	const char *trace = getenv("ABS_CRASH_TRACE");
	char at[96];
	char *colon, *end;
	size_t len;

	snprintf(at, sizeof(at), "%s", env ? env : "");
	len = strlen(at);
	if (len > 5 && strcmp(at + len - 5, ":stop") == 0) {
		crash_stop = 1;
		at[len - 5] = '\0';
	}
	colon = strrchr(at, ':');

	if (trace && *trace)
		crash_trace_fd = open(trace, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0644);
	if (colon && colon > at && (size_t)(colon - at) < sizeof(crash_point)) {
		crash_n = strtoul(colon + 1, &end, 10);
		if (*end == '\0' && crash_n > 0) {
			memcpy(crash_point, at, (size_t)(colon - at));
			crash_point[colon - at] = '\0';
		} else {
			crash_n = 0;
		}
	}
	__atomic_store_n(&crash_state, crash_n || crash_trace_fd >= 0 ?
	    CRASH_ON : CRASH_OFF, __ATOMIC_RELEASE);
}

void
abs_crash_point(const char *point)
{
	char msg[160];
	int state = __atomic_load_n(&crash_state, __ATOMIC_ACQUIRE);
	unsigned long hit;
	int n;

	if (state == CRASH_OFF)
		return;
	if (state == CRASH_UNREAD) {
		crash_setup();
		if (crash_state == CRASH_OFF)
			return;
	}
	if (crash_trace_fd >= 0) {
		n = snprintf(msg, sizeof(msg), "%s\n", point);
		if (n > 0 && write(crash_trace_fd, msg, (size_t)n) < 0)
			crash_trace_fd = -1;
	}
	if (!crash_n || (strcmp(crash_point, "*") != 0 &&
	    strcmp(crash_point, point) != 0))
		return;
	hit = __atomic_add_fetch(&crash_hits, 1, __ATOMIC_ACQ_REL);
	if (hit != crash_n)
		return;
	n = snprintf(msg, sizeof(msg), "crash point %s reached (%s:%lu): "
	    "%s (ABS_CRASH_AT)\n", point, crash_point, crash_n,
	    crash_stop ? "SIGSTOP" : "SIGKILL");
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		msg[0] = '\0';
	if (crash_stop) {
		/* Held there until SIGCONT: a test changes the world under it. */
		raise(SIGSTOP);
		return;
	}
	kill(getpid(), SIGKILL);
	_exit(137);
}
