/*
 * abs-ctld: the control process. One thread, one epoll loop over a Unix
 * socket; every client is non-blocking, its requests are lines of JSON
 * answered in order, and nothing a client sends (garbage, a line too long,
 * a flood, a vanished peer) can stop the loop or the others. Peers are
 * known by SO_PEERCRED; their roles come from the catalog's ACL.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "control/ctld.h"

#define MAX_CLIENTS 512
#define MAX_OUT (8u << 20)	/* a client that reads nothing is dropped */

static volatile sig_atomic_t stop;
static struct client *clients;
static int nclients;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
logf_(struct ctld *c, int prio, const char *fmt, va_list ap)
{
	if (c->quiet)
		return;
	if (c->use_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		fprintf(stderr, "abs-ctld: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
}

static void
ctld_log(struct ctld *c, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logf_(c, prio, fmt, ap);
	va_end(ap);
}

void
ctld_message(struct ctld *c, struct drive *d, const char *level,
    const char *fmt, ...)
{
	char text[1024], at[32];
	time_t now = time(NULL);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (d) {
		json_array_append_new(d->msgs, json_pack("{s:s,s:s,s:s}", "at", at,
		    "level", level, "text", text));
		while (json_array_size(d->msgs) > CTLD_MSGS)
			json_array_remove(d->msgs, 0);
	}
	cat_exec(c->db, NULL, "INSERT INTO messages (drive_id, job_id, level, text)"
	    " VALUES ((SELECT id FROM drives WHERE name = ?), (SELECT id FROM jobs"
	    " WHERE id = ?), ?, ?)", "titt", d ? d->name : NULL,
	    d ? d->job : (int64_t)0, level, text);
	ctld_log(c, strcmp(level, "error") == 0 ? LOG_ERR : LOG_INFO, "%s%s%s",
	    d ? d->name : "", d ? ": " : "", text);
}

void
ctld_error_event(struct ctld *c, struct drive *d, const char *label,
    int64_t job, const char *kind, const char *fmt, ...)
{
	char text[1024], err[CAT_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (cat_exec(c->db, err, "INSERT INTO error_events (drive_id, tape_id,"
	    " job_id, kind, message) VALUES ((SELECT id FROM drives WHERE name = ?),"
	    " (SELECT id FROM tapes WHERE label = ? AND state != 'destroyed'"
	    " ORDER BY id DESC LIMIT 1), (SELECT id FROM jobs WHERE id = ?), ?, ?)",
	    "ttitt", d ? d->name : NULL, label, job, kind, text) < 0)
		ctld_log(c, LOG_ERR, "recording an error event: %s", err);
	ctld_message(c, d, "error", "%s%s%s", kind, ": ", text);
	if (c->exception_cmd && *c->exception_cmd) {
		/* The exception role's command (e.g. mail) gets the text. */
		pid_t pid = fork();
		if (pid == 0) {
			int fds[2];
			if (pipe(fds) == 0 && fork() == 0) {
				close(fds[1]);
				dup2(fds[0], 0);
				signal(SIGCHLD, SIG_DFL);
				execl("/bin/sh", "sh", "-c", c->exception_cmd, (char *)NULL);
				_exit(127);
			}
			dprintf(fds[1], "ABS exception (%s) on %s%s%s: %s\n", kind,
			    d ? d->name : "-", label ? " tape " : "", label ? label : "",
			    text);
			_exit(0);
		}
		/* SIGCHLD is ignored: the children reap themselves. */
	}
}

struct drive *
ctld_drive(struct ctld *c, const char *name, bool create)
{
	struct drive *d;

	for (d = c->drives; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	if (!create || strlen(name) >= sizeof(d->name))
		return NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->state = "offline";
	d->msgs = json_array();
	d->skip = json_array();
	d->next = c->drives;
	c->drives = d;
	return d;
}

unsigned
ctld_roles(struct ctld *c, uid_t uid)
{
	unsigned roles = 0;
	json_t *rows, *r;
	size_t i;

	if (uid == 0 || uid == geteuid())
		return ROLE_ANY;	/* root, and whoever runs the daemon */
	rows = cat_rows(c->db, NULL, "SELECT role FROM acl WHERE uid = ?", "i",
	    (int64_t)uid);
	json_array_foreach(rows, i, r) {
		int b = proto_role_from_name(json_string_value(json_object_get(r,
		    "role")));
		if (b > 0)
			roles |= (unsigned)b;
	}
	json_decref(rows);
	if (roles & ROLE_ADMIN)
		roles = ROLE_ANY;
	return roles;
}

void
ctld_send(struct client *cl, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t n;

	if (!s || cl->dead)
		goto out;
	n = strlen(s);
	if (cl->outlen + n + 1 > MAX_OUT) {
		cl->dead = true;	/* not reading its replies */
		goto out;
	}
	if (cl->outlen + n + 1 > cl->outcap) {
		size_t cap = cl->outcap ? cl->outcap * 2 : 4096;
		while (cap < cl->outlen + n + 1)
			cap *= 2;
		char *p = realloc(cl->out, cap);
		if (!p) {
			cl->dead = true;
			goto out;
		}
		cl->out = p;
		cl->outcap = cap;
	}
	memcpy(cl->out + cl->outlen, s, n);
	cl->out[cl->outlen + n] = '\n';
	cl->outlen += n + 1;
out:
	free(s);
}

static void
reply_error(struct client *cl, json_int_t id, const char *code,
    const char *err)
{
	json_t *r = json_pack("{s:I,s:b,s:s,s:s}", "id", id, "ok", 0, "error",
	    err, "code", code);

	ctld_send(cl, r);
	json_decref(r);
}

static void
handle_line(struct ctld *c, struct client *cl, const char *line, size_t len)
{
	char err[PROTO_ERRLEN] = "";
	const struct proto_op *op = NULL;
	const char *code = "bad-request";
	json_t *req = NULL, *args = NULL, *res;
	json_int_t id = 0;

	if (len == 0)
		return;
	if (proto_parse_request(line, len, &req, &op, &args, &id, err) < 0) {
		reply_error(cl, id, op ? "bad-args" : "bad-request", err);
		json_decref(req);
		return;
	}
	cl->roles = ctld_roles(c, cl->uid);
	if (!(cl->roles & op->roles)) {
		snprintf(err, sizeof(err), "uid %u may not %s (needs %s%s)",
		    (unsigned)cl->uid, op->name,
		    op->roles & ROLE_OPERATOR ? "operator" :
		    op->roles & ROLE_RETRIEVAL ? "retrieval" : "admin",
		    op->roles == ROLE_ANY ? " or any role" : "");
		reply_error(cl, id, "denied", err);
		json_decref(req);
		return;
	}
	if (proto_check_args(op, args, err) < 0) {
		reply_error(cl, id, "bad-args", err);
		json_decref(req);
		return;
	}
	res = ctld_handle(c, cl, op, args, &code, err);
	if (!res) {
		reply_error(cl, id, code, err[0] ? err : "failed");
	} else {
		json_t *r = json_pack("{s:I,s:b,s:o}", "id", id, "ok", 1,
		    "result", res);
		ctld_send(cl, r);
		json_decref(r);
	}
	json_decref(req);
}

static void
client_read(struct ctld *c, struct client *cl)
{
	for (;;) {
		if (cl->incap - cl->inlen < 4096) {
			size_t cap = cl->incap ? cl->incap * 2 : 8192;
			if (cap > PROTO_MAX_LINE + 8192)
				cap = PROTO_MAX_LINE + 8192;
			if (cap > cl->incap) {
				char *p = realloc(cl->in, cap);
				if (!p) {
					cl->dead = true;
					return;
				}
				cl->in = p;
				cl->incap = cap;
			}
		}
		ssize_t n = read(cl->fd, cl->in + cl->inlen, cl->incap - cl->inlen);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			cl->dead = true;
			return;
		}
		if (n < 0)
			return;
		cl->inlen += (size_t)n;
		/* Every whole line; a line too long is refused and skipped. */
		size_t start = 0;
		for (size_t i = 0; i < cl->inlen; i++) {
			if (cl->in[i] != '\n')
				continue;
			if (!cl->discard)
				handle_line(c, cl, cl->in + start, i - start);
			cl->discard = false;
			start = i + 1;
		}
		memmove(cl->in, cl->in + start, cl->inlen - start);
		cl->inlen -= start;
		if (cl->inlen > PROTO_MAX_LINE) {
			if (!cl->discard)
				reply_error(cl, 0, "too-long", "request longer than "
				    "65536 bytes");
			cl->discard = true;
			cl->inlen = 0;
		}
	}
}

static void
client_write(struct client *cl)
{
	while (cl->outlen) {
		ssize_t n = send(cl->fd, cl->out, cl->outlen, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				cl->dead = true;
			return;
		}
		memmove(cl->out, cl->out + n, cl->outlen - (size_t)n);
		cl->outlen -= (size_t)n;
	}
}

static void
client_free(struct ctld *c, int ep, struct client *cl)
{
	struct client **pp;

	epoll_ctl(ep, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	if (cl->drive) {
		struct drive *d = cl->drive;
		d->engine = NULL;
		d->state = "offline";
		/* Its reservation goes back to the pool. */
		cat_exec(c->db, NULL, "UPDATE tapes SET state = CASE WHEN ever_written"
		    " THEN 'appendable' ELSE 'blank' END WHERE tape_id = ? AND state ="
		    " 'reserved'", "t", d->reserved);
		d->reserved[0] = '\0';
		ctld_message(c, d, "warning", "media server disconnected");
		if (d->job) {
			cat_exec(c->db, NULL, "UPDATE jobs SET state = 'failed',"
			    " finished = strftime('%Y-%m-%dT%H:%M:%SZ','now'),"
			    " detail = 'media server disconnected' WHERE id = ?"
			    " AND state = 'running'", "i", d->job);
			cat_exec(c->db, NULL, "UPDATE dumps SET state = 'failed'"
			    " WHERE job_id = ? AND state = 'running'", "i", d->job);
			d->job = 0;
		}
	}
	for (pp = &clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	free(cl->in);
	free(cl->out);
	free(cl);
	nclients--;
}

static int
listen_on(const char *path, char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, 256, "socket path too long: %s", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, 128) < 0) {
		snprintf(err, 256, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The defaults live in /run/abs and /var/lib/abs: make them if missing. */
static void
make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: abs-ctld [--socket PATH] [--db FILE] [--foreground]\n"
	    "                [--syslog] [--exception-cmd 'mail -s ABS ops']\n"
	    "defaults: --socket /run/abs/ctld.sock --db /var/lib/abs/catalog.db\n");
	exit(2);
}

int
ctld_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, 'l' },
		{ "exception-cmd", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = "/run/abs/ctld.sock", *dbpath = "/var/lib/abs/catalog.db";
	struct ctld c = { 0 };
	struct epoll_event ev, evs[64];
	char err[256];
	bool fg = false;
	int opt, lfd, ep;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'd': dbpath = optarg; break;
		case 'f': fg = true; break;
		case 'l': c.use_syslog = true; break;
		case 'x': c.exception_cmd = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (c.use_syslog)
		openlog("abs-ctld", LOG_PID, LOG_DAEMON);
	make_parent(dbpath);
	make_parent(sock);
	if (cat_open(dbpath, &c.db, err) < 0) {
		fprintf(stderr, "abs-ctld: catalog %s: %s\n", dbpath, err);
		return 1;
	}
	if ((lfd = listen_on(sock, err)) < 0) {
		fprintf(stderr, "abs-ctld: %s\n", err);
		return 1;
	}
	if (!fg && daemon(0, 0) < 0) {
		fprintf(stderr, "abs-ctld: daemon: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN);	/* exception commands reap themselves */
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ctld_log(&c, LOG_INFO, "listening on %s, catalog %s (schema %d)", sock,
	    dbpath, cat_schema_version(c.db));
	while (!stop) {
		int n = epoll_wait(ep, evs, 64, 1000);
		for (int i = 0; i < n; i++) {
			struct client *cl = evs[i].data.ptr;
			if (!cl) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
				    SOCK_CLOEXEC)) >= 0) {
					struct ucred cr;
					socklen_t crl = sizeof(cr);
					if (nclients >= MAX_CLIENTS ||
					    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr,
					    &crl) < 0 || !(cl = calloc(1, sizeof(*cl)))) {
						close(fd);
						continue;
					}
					cl->fd = fd;
					cl->uid = cr.uid;
					cl->pid = cr.pid;
					cl->next = clients;
					clients = cl;
					nclients++;
					ev = (struct epoll_event){ .events = EPOLLIN |
					    EPOLLRDHUP, .data.ptr = cl };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				client_read(&c, cl);
		}
		/* Flush replies and events; drop the dead. */
		for (struct client *cl = clients, *next; cl; cl = next) {
			next = cl->next;
			if (!cl->dead)
				client_write(cl);
			if (cl->dead) {
				client_free(&c, ep, cl);
				continue;
			}
			ev = (struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP |
			    (cl->outlen ? EPOLLOUT : 0), .data.ptr = cl };
			epoll_ctl(ep, EPOLL_CTL_MOD, cl->fd, &ev);
		}
	}
	ctld_log(&c, LOG_INFO, "stopping");
	while (clients)
		client_free(&c, ep, clients);
	while (c.drives) {
		struct drive *d = c.drives;
		c.drives = d->next;
		json_decref(d->msgs);
		json_decref(d->skip);
		free(d);
	}
	close(ep);
	close(lfd);
	unlink(sock);
	cat_close(c.db);
	return 0;
}
