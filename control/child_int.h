/*
 * Private to control/: a bounded child abs-ctld waits for (a listing
 * command of crippled mode's dump-server, a discovery command). It runs
 * without a shell, stdin /dev/null, in its own process group; its stdout
 * is kept up to a size, the first line of its stderr for the error; a
 * child that runs past the time or writes too much is killed with its
 * group. Several run at once under one deadline, so that abs-ctld (one
 * thread) waits for the slowest, never for their sum.
 */
#ifndef ABS_CONTROL_CHILD_INT_H
#define ABS_CONTROL_CHILD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ctl_child {
	pid_t pid;		/* 0: not started */
	int out, errfd;		/* -1 once closed */
	char *buf;		/* stdout, NUL-terminated, max bytes */
	size_t len, max;
	char ebuf[256];		/* stderr's first bytes */
	size_t el;
	int rc;			/* 0, -ETIMEDOUT, -EFBIG or -errno */
	int status;		/* its wait status, once reaped */
	bool reaped;
	int limit_ms;		/* its own time (set after start; 0: the
				   wait's) */
};

/*
 * Start argv (argv[0] looked up in PATH) with stdout kept up to max
 * bytes. 0, or -errno with ch->rc set too. Call ctl_child_wait after
 * starting (even when a start failed): it puts SIGCHLD back.
 */
int ctl_child_start(struct ctl_child *ch, char *const *argv, size_t max);
/*
 * Read the n children's output until each has ended, or its limit_ms
 * (else timeout_ms) since the call; kill (the group of) each one that
 * runs past it (rc -ETIMEDOUT) or writes more than its max (-EFBIG);
 * reap them all.
 */
void ctl_child_wait(struct ctl_child *ch, size_t n, int timeout_ms);
/*
 * What went wrong, for people: "" and 0 if it exited 0 in time, else
 * "ran longer than N s", "wrote more than N bytes", "exit 3: first
 * stderr line", "signal 9" into buf and -1.
 */
int ctl_child_failed(const struct ctl_child *ch, int timeout_ms, char *buf,
    size_t len);
/* Free its buffer, close what is open (the struct may be reused). */
void ctl_child_free(struct ctl_child *ch);

#endif
