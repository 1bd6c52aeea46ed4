/*
 * Bounded children abs-ctld waits for (see control/child_int.h). abs-ctld
 * ignores SIGCHLD (exception commands reap themselves): while it waits
 * for these it takes the default, to read their exit status, and reaps
 * what else ended meanwhile when it goes back.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "control/child_int.h"

/* Children that die with abs-ctld (ctl_child_bind). */
static bool bind_next;
static pid_t bind_parent;

void
ctl_child_bind(void)
{
	bind_next = true;
	bind_parent = getpid();
}

/* Exec argv with stdout and stderr on pipes (the child). */
static void
child_exec(char *const *argv, int out, int errfd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (bind_next) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != bind_parent)
			_exit(127);	/* it died already */
	}
	setpgid(0, 0);
	if (null >= 0)
		dup2(null, 0);
	dup2(out, 1);
	dup2(errfd, 2);
	util_close_from(3);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Start one child. */
int
ctl_child_start(struct ctl_child *ch, char *const *argv, size_t max)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };

	memset(ch, 0, sizeof(*ch));
	ch->out = ch->errfd = -1;
	ch->max = max;
	if (!argv || !argv[0])
		return ch->rc = -EINVAL;
	if (!(ch->buf = malloc(max + 1)) || pipe2(po, O_CLOEXEC) < 0 ||
	    pipe2(pe, O_CLOEXEC) < 0) {
		ch->rc = -errno;
		goto fail;
	}
	signal(SIGCHLD, SIG_DFL);	/* to read its exit status */
	ch->pid = fork();
	if (ch->pid != 0)
		bind_next = false;
	if (ch->pid < 0) {
		ch->rc = -errno;
		ch->pid = 0;
		goto fail;	/* ctl_child_wait puts SIGCHLD back */
	}
	if (ch->pid == 0)
		child_exec(argv, po[1], pe[1]);
	setpgid(ch->pid, ch->pid);	/* either of us, whoever runs first */
	close(po[1]);
	close(pe[1]);
	ch->out = po[0];
	ch->errfd = pe[0];
	ch->buf[0] = '\0';
	return 0;
fail:
	bind_next = false;
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return ch->rc;
}

/* Milliseconds since t0. */
static long
since_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) /
	    1000000;
}

/* Close a child's pipes. */
static void
close_pipes(struct ctl_child *ch)
{
	if (ch->out >= 0)
		close(ch->out);
	if (ch->errfd >= 0)
		close(ch->errfd);
	ch->out = ch->errfd = -1;
}

/* Kill a child and its group, for why (rc). */
static void
child_kill(struct ctl_child *ch, int why)
{
	if (!ch->rc)
		ch->rc = why;
	if (ch->pid > 0 && !ch->reaped) {
		kill(-ch->pid, SIGKILL);
		kill(ch->pid, SIGKILL);
	}
	close_pipes(ch);
}

/* Read what one pipe of a child has; close it at its end. */
static void
child_read(struct ctl_child *ch, bool err)
{
	char tmp[4096];
	size_t room = err ? sizeof(tmp) : ch->max - ch->len;
	ssize_t n;

	if (!err && room == 0) {
		child_kill(ch, -EFBIG);
		return;
	}
	n = read(err ? ch->errfd : ch->out, err ? tmp : ch->buf + ch->len, room);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(err ? ch->errfd : ch->out);
		*(err ? &ch->errfd : &ch->out) = -1;
		return;
	}
	if (!err) {
		ch->len += (size_t)n;
		ch->buf[ch->len] = '\0';
	} else if (ch->el + 1 < sizeof(ch->ebuf)) {
		size_t k = (size_t)n < sizeof(ch->ebuf) - ch->el - 1 ? (size_t)n :
		    sizeof(ch->ebuf) - ch->el - 1;
		memcpy(ch->ebuf + ch->el, tmp, k);
		ch->el += k;
		ch->ebuf[ch->el] = '\0';
	}
}

/* Reap a child if it ended (or, block, wait for it). */
static void
child_reap(struct ctl_child *ch, bool block)
{
	pid_t r;

	if (ch->pid <= 0 || ch->reaped)
		return;
	while ((r = waitpid(ch->pid, &ch->status, block ? 0 : WNOHANG)) < 0 &&
	    errno == EINTR)
		;
	if (r == ch->pid) {
		ch->reaped = true;
		ch->status_known = true;
	} else if (r < 0 && errno == ECHILD) {
		ch->reaped = true;	/* reaped by someone else: unknown */
		if (!ch->rc)
			ch->rc = -ECHILD;
	}
}

/*
 * Poll every open pipe of the children once, for up to left ms: 1 if
 * some child still has a pipe open or is not reaped, 0 when all are done.
 */
static int
wait_turn(struct ctl_child *ch, size_t n, long left)
{
	struct pollfd p[128];
	size_t who[128], np = 0;
	bool running = false;

	for (size_t i = 0; i < n; i++) {
		if (ch[i].out >= 0 && np < 128) {
			who[np] = i * 2;
			p[np++] = (struct pollfd){ ch[i].out, POLLIN, 0 };
		}
		if (ch[i].errfd >= 0 && np < 128) {
			who[np] = i * 2 + 1;
			p[np++] = (struct pollfd){ ch[i].errfd, POLLIN, 0 };
		}
		if (ch[i].out < 0 && ch[i].errfd < 0)
			child_reap(&ch[i], false);
		if (ch[i].out >= 0 || ch[i].errfd >= 0 || (ch[i].pid > 0 &&
		    !ch[i].reaped))
			running = true;
	}
	if (!running)
		return 0;
	/* A child that closed its output but lives on: look again soon. */
	if (poll(p, np, np ? (int)(left < 50 ? left : 50) : 20) < 0 &&
	    errno != EINTR)
		return 1;
	for (size_t k = 0; k < np; k++)
		if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
			child_read(&ch[who[k] / 2], who[k] % 2);
	return 1;
}

/* Kill the children whose own time is up (at ms since the start). */
static void
kill_late(struct ctl_child *ch, size_t n, long ms, int timeout_ms)
{
	for (size_t i = 0; i < n; i++)
		if (ch[i].pid > 0 && !ch[i].rc && ms >= (ch[i].limit_ms > 0 ?
		    ch[i].limit_ms : timeout_ms) && (ch[i].out >= 0 ||
		    ch[i].errfd >= 0 || !ch[i].reaped))
			child_kill(&ch[i], -ETIMEDOUT);
}

/* Wait for n children, each until its time is up. */
void
ctl_child_wait(struct ctl_child *ch, size_t n, int timeout_ms)
{
	struct timespec t0;
	long left, all = timeout_ms;

	for (size_t i = 0; i < n; i++)
		if (ch[i].limit_ms > all)
			all = ch[i].limit_ms;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = all - since_ms(&t0)) > 0 && wait_turn(ch, n, left))
		kill_late(ch, n, since_ms(&t0), timeout_ms);
	for (size_t i = 0; i < n; i++) {
		if (ch[i].pid > 0 && (ch[i].out >= 0 || ch[i].errfd >= 0 ||
		    !ch[i].reaped))
			child_kill(&ch[i], -ETIMEDOUT);
		else if (ch[i].rc)
			child_kill(&ch[i], ch[i].rc);
		child_reap(&ch[i], true);
	}
	signal(SIGCHLD, SIG_IGN);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;	/* exception commands that ended meanwhile */
}

/* What went wrong, for people. */
int
ctl_child_failed(const struct ctl_child *ch, int timeout_ms, char *buf,
    size_t len)
{
	char first[sizeof(ch->ebuf)];

	snprintf(first, sizeof(first), "%s", ch->ebuf);
	first[strcspn(first, "\n")] = '\0';
	if (ch->rc == -ETIMEDOUT)
		snprintf(buf, len, "ran longer than %d s", (ch->limit_ms > 0 ?
		    ch->limit_ms : timeout_ms) / 1000);
	else if (ch->rc == -EFBIG)
		snprintf(buf, len, "wrote more than %zu bytes", ch->max);
	else if (ch->rc < 0)
		snprintf(buf, len, "could not run: %s", strerror(-ch->rc));
	else if (!WIFEXITED(ch->status) || WEXITSTATUS(ch->status) != 0)
		snprintf(buf, len, "failed (%s %d)%s%s", WIFEXITED(ch->status) ?
		    "exit" : "signal", WIFEXITED(ch->status) ?
		    WEXITSTATUS(ch->status) : WTERMSIG(ch->status), first[0] ?
		    ": " : "", first);
	else {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	return -1;
}

/* The asynchronous form (child_int.h). */
int
ctl_child_poll(struct ctl_child *ch)
{
	struct pollfd p[2];
	int np = 0, rounds = 0;

	if (ch->pid <= 0)
		return 0;
	/* Drain what is there now; a child that floods is read next turn. */
	while (rounds++ < 16 && (ch->out >= 0 || ch->errfd >= 0)) {
		np = 0;
		if (ch->out >= 0)
			p[np++] = (struct pollfd){ ch->out, POLLIN, 0 };
		if (ch->errfd >= 0)
			p[np++] = (struct pollfd){ ch->errfd, POLLIN, 0 };
		if (poll(p, (nfds_t)np, 0) <= 0)
			break;
		for (int k = 0; k < np; k++)
			if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
				child_read(ch, p[k].fd != ch->out);
	}
	if (ch->out >= 0 || ch->errfd >= 0)
		return 1;
	if (!ch->reaped) {
		pid_t r = waitpid(ch->pid, &ch->status, WNOHANG);
		if (r == ch->pid) {
			ch->reaped = true;
			ch->status_known = true;
		} else if (r < 0 && errno == ECHILD) {
			ch->reaped = true;	/* SIGCHLD ignored: reaped for us */
		} else if (r < 0 && errno != EINTR) {
			ch->reaped = true;
		}
	}
	return ch->reaped ? 0 : 1;
}

void
ctl_child_fds(const struct ctl_child *ch, int *out, int *errfd)
{
	*out = ch->out;
	*errfd = ch->errfd;
}

void
ctl_child_stop(struct ctl_child *ch, int why)
{
	child_kill(ch, why);
	if (ch->pid > 0 && !ch->reaped) {
		pid_t r = waitpid(ch->pid, &ch->status, WNOHANG);
		if (r == ch->pid)
			ch->status_known = true;
		ch->reaped = r == ch->pid || (r < 0 && errno == ECHILD);
	}
}

/* Free a child's buffer and close its pipes. */
void
ctl_child_free(struct ctl_child *ch)
{
	close_pipes(ch);
	free(ch->buf);
	ch->buf = NULL;
}
