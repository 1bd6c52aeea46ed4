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
	bool status_known;	/* status is its wait status (asynchronous
				   form: false when SIGCHLD reaped it) */
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
/*
 * The asynchronous form, for a child abs-ctld's loop watches (the robot
 * worker, control/library.c): after ctl_child_start, read what its pipes
 * have without waiting (call it when one is readable, or every turn):
 * 1 while it runs, 0 once both pipes are closed and it is reaped. abs-ctld
 * ignores SIGCHLD, so its exit status may be lost (status_known false):
 * the caller judges by its output then. Its pipes and their end are the
 * caller's to watch (ctl_child_fds); ctl_child_stop kills its group.
 */
int ctl_child_poll(struct ctl_child *ch);
/*
 * The next ctl_child_start's child dies with abs-ctld (SIGKILL when it
 * goes): a robot command left running by a killed abs-ctld would move
 * after the next one's inventory.
 */
void ctl_child_bind(void);
/* The pipes still open (-1: closed). */
void ctl_child_fds(const struct ctl_child *ch, int *out, int *errfd);
/* Kill its group (rc why), close its pipes; reaped if it can be. */
void ctl_child_stop(struct ctl_child *ch, int why);
/* Free its buffer, close what is open (the struct may be reused). */
void ctl_child_free(struct ctl_child *ch);

#endif
