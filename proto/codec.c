/*
 * The control protocol's framing and client side: a line buffer for
 * newline-delimited JSON (abs-ctld reads requests with it, clients read
 * replies), connecting with retry, requests and their replies, and the
 * version handshake.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"
#include "proto/tls.h"

struct proto_conn {
	int fd;
	char path[108];
	struct proto_lbuf in;
	json_int_t next_id;
	bool eof;
	char site[64];		/* the daemon's site ID, from hello */
	int timeout_ms;		/* for a request and its reply; -1: none */
	char identity[PROTO_IDENTITY_MAX];	/* granted over tls:// */
};

/* An empty buffer for lines up to max bytes. */
void
proto_lbuf_init(struct proto_lbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Free a buffer's memory (it can be used again after init). */
void
proto_lbuf_free(struct proto_lbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->start = b->len = b->cap = b->scan = 0;
}

/* One read(2) from fd into the buffer. */
ssize_t
proto_lbuf_read(struct proto_lbuf *b, int fd)
{
	ssize_t n;

	if (b->start) {
		memmove(b->buf, b->buf + b->start, b->len - b->start);
		b->len -= b->start;
		b->scan -= b->start;
		b->start = 0;
	}
	if (b->cap - b->len < 4096) {
		size_t cap = b->cap ? b->cap * 2 : 8192;
		if (cap > b->max + 8192)
			cap = b->max + 8192;	/* a line and some of the next */
		if (cap > b->cap) {
			char *p = realloc(b->buf, cap);
			if (!p)
				return -ENOMEM;
			b->buf = p;
			b->cap = cap;
		}
	}
	n = read(fd, b->buf + b->len, b->cap - b->len);
	if (n < 0)
		return -errno;
	b->len += (size_t)n;
	return n;
}

/* The next whole line (see proto.h). */
int
proto_lbuf_next(struct proto_lbuf *b, const char **line, size_t *len)
{
	for (;;) {
		char *nl = b->scan < b->len ? memchr(b->buf + b->scan, '\n',
		    b->len - b->scan) : NULL;
		if (!nl) {
			b->scan = b->len;
			if (b->discard) {
				b->start = b->len = b->scan = 0;
				return PROTO_LINE_NONE;
			}
			if (b->len - b->start > b->max) {
				/* Too long already: refuse it, skip to its end. */
				b->discard = true;
				b->start = b->len = b->scan = 0;
				return PROTO_LINE_TOO_LONG;
			}
			return PROTO_LINE_NONE;
		}
		size_t at = b->start, n = (size_t)(nl - (b->buf + at));
		b->start = b->scan = (size_t)(nl - b->buf) + 1;
		if (b->discard) {
			b->discard = false;	/* the end of the long one */
			continue;
		}
		if (n > b->max)
			return PROTO_LINE_TOO_LONG;
		*line = b->buf + at;
		*len = n;
		return PROTO_LINE;
	}
}

/* Monotonic milliseconds. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection on fd (a socket or a TLS bridge's end) named path. */
static int
conn_new(int fd, const char *path, struct proto_conn **out, char *err)
{
	struct proto_conn *pc = calloc(1, sizeof(*pc));

	if (!pc) {
		close(fd);
		snprintf(err, PROTO_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	pc->fd = fd;
	pc->next_id = 1;
	pc->timeout_ms = -1;
	snprintf(pc->path, sizeof(pc->path), "%s", path);
	proto_lbuf_init(&pc->in, PROTO_MAX_REPLY);
	*out = pc;
	return 0;
}

/* tls://HOST:PORT: the bridge's end is the connection's socket. */
static int
connect_tls(const char *uri, unsigned wait_ms, struct proto_conn **out,
    char *err)
{
	char id[PROTO_IDENTITY_MAX];
	int fd, rc;

	if ((rc = proto_tls_connect(uri, wait_ms, &fd, id, sizeof(id), err)) < 0)
		return rc;
	/* Reads and writes wait in poll() with a timeout, as on a socket. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if ((rc = conn_new(fd, uri + 6, out, err)) == 0)
		snprintf((*out)->identity, sizeof((*out)->identity), "%s", id);
	return rc;
}

/* Connect to abs-ctld, retrying while it is starting (see proto.h). */
int
proto_connect(const char *path, unsigned wait_ms, struct proto_conn **out,
    char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + wait_ms;
	int fd, e;

	*out = NULL;
	if (strncmp(path, "tls://", 6) == 0)
		return connect_tls(path, wait_ms, out, err);
	if (strncmp(path, "unix:", 5) == 0)
		path += 5;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, PROTO_ERRLEN, "cannot reach abs-ctld at %.200s: socket "
		    "path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (unsigned pause = 50;; pause = pause < 800 ? pause * 2 : 1000) {
		/*
		 * Non-blocking: a daemon that stopped accepting (stalled, its
		 * backlog full) gives EAGAIN instead of a connect that never
		 * returns; reads and writes wait in poll() with a timeout.
		 */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			e = errno;
			break;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN) ||
		    now_ms() + pause > deadline)
			break;
		usleep(pause * 1000);
	}
	if (fd < 0) {
		snprintf(err, PROTO_ERRLEN, "cannot reach abs-ctld at %.200s: %s",
		    path, strerror(e));
		return -e;
	}
	return conn_new(fd, sa.sun_path, out, err);
}

/* The identity granted over TLS ("" for a Unix socket). */
const char *
proto_conn_identity(const struct proto_conn *pc)
{
	return pc->identity;
}

/* Close a connection; NULL is a no-op. */
void
proto_conn_free(struct proto_conn *pc)
{
	if (!pc)
		return;
	close(pc->fd);
	proto_lbuf_free(&pc->in);
	free(pc);
}

/* Whether abs-ctld has closed the connection. */
bool
proto_conn_eof(const struct proto_conn *pc)
{
	return pc->eof;
}

/* How long a request and its reply may take (see proto.h). */
void
proto_conn_set_timeout(struct proto_conn *pc, int timeout_ms)
{
	pc->timeout_ms = timeout_ms > 0 ? timeout_ms : -1;
}

/* The connection timed out: given up (a late reply would be another's). */
static int
timed_out(struct proto_conn *pc, const char *what, char *err)
{
	pc->eof = true;
	snprintf(err, PROTO_ERRLEN, "abs-ctld at %.100s did not %s within %d.%d s"
	    " (stalled?)", pc->path, what, pc->timeout_ms / 1000,
	    pc->timeout_ms % 1000 / 100);
	return -ETIMEDOUT;
}

/* Write all of buf, whatever signals and short writes do. */
int
proto_send_raw(struct proto_conn *pc, const char *buf, size_t len, char *err)
{
	long long deadline = now_ms() + pc->timeout_ms;

	while (len) {
		ssize_t n = send(pc->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* The daemon does not read: wait, not forever. */
			struct pollfd pf = { .fd = pc->fd, .events = POLLOUT };
			int left = pc->timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
			if (pc->timeout_ms >= 0 && left <= 0)
				return timed_out(pc, "read the request", err);
			if (poll(&pf, 1, left) == 0)
				return timed_out(pc, "read the request", err);
			continue;
		}
		if (n < 0) {
			int e = errno;
			pc->eof = true;	/* nothing more will get through */
			snprintf(err, PROTO_ERRLEN, "abs-ctld: connection lost: %s",
			    strerror(e));
			return -e;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send one request line. */
int
proto_send(struct proto_conn *pc, const char *op, json_t *args,
    json_int_t *id, char *err)
{
	json_int_t my = pc->next_id++;
	json_t *req = json_pack("{s:s,s:O,s:I}", "op", op, "args", args, "id", my);
	char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t n;
	int rc;

	json_decref(req);
	if (!s) {
		snprintf(err, PROTO_ERRLEN, "%s: cannot encode the request", op);
		return -ENOMEM;
	}
	n = strlen(s);
	s[n] = '\n';	/* json_dumps's NUL becomes the frame's end */
	rc = proto_send_raw(pc, s, n + 1, err);
	free(s);
	if (id)
		*id = my;
	return rc;
}

/* The next line from abs-ctld (see proto.h). */
int
proto_read_line(struct proto_conn *pc, int timeout_ms, const char **line,
    size_t *len, char *err)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		int got = proto_lbuf_next(&pc->in, line, len);
		if (got == PROTO_LINE)
			return 1;
		if (got == PROTO_LINE_TOO_LONG) {
			/* Its reply would be lost and the caller wait forever. */
			pc->eof = true;
			snprintf(err, PROTO_ERRLEN, "abs-ctld at %.100s sent a line "
			    "longer than %u bytes", pc->path, PROTO_MAX_REPLY);
			return -EMSGSIZE;
		}
		if (pc->eof) {
			snprintf(err, PROTO_ERRLEN, "abs-ctld closed the connection");
			return -ECONNRESET;
		}
		struct pollfd pf = { .fd = pc->fd, .events = POLLIN };
		int left = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
		if (timeout_ms >= 0 && left < 0)
			left = 0;
		int r = poll(&pf, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return 0;
		ssize_t n = proto_lbuf_read(&pc->in, pc->fd);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n <= 0) {
			pc->eof = true;
			snprintf(err, PROTO_ERRLEN, "abs-ctld closed the connection");
			return -ECONNRESET;
		}
	}
}

/* The next message as JSON (see proto.h). */
int
proto_recv(struct proto_conn *pc, int timeout_ms, json_t **msg, char *err)
{
	const char *line;
	size_t len;
	int rc;

	*msg = NULL;
	if ((rc = proto_read_line(pc, timeout_ms, &line, &len, err)) != 1)
		return rc;
	if (!(*msg = json_loadb(line, len, 0, NULL)) || !json_is_object(*msg)) {
		/* Not abs-ctld, or not one that speaks this protocol. */
		/* Its first bytes, escaped: the line may hold terminal controls. */
		char shown[60 * 4 + 1];
		size_t o = 0;
		for (size_t i = 0; i < len && i < 60; i++) {
			unsigned char b = (unsigned char)line[i];
			o += (size_t)snprintf(shown + o, sizeof(shown) - o, b >= 0x20 &&
			    b < 0x7f && b != '\\' ? "%c" : "\\x%02x", b);
		}
		shown[o] = '\0';
		json_decref(*msg);
		*msg = NULL;
		pc->eof = true;
		snprintf(err, PROTO_ERRLEN, "abs-ctld at %.60s sent a line that "
		    "is not a JSON object: %.140s", pc->path, len ? shown :
		    "(empty)");
		return -EPROTO;
	}
	return 1;
}

/*
 * The connection broke as we sent: a refusal abs-ctld wrote before it
 * closed (too many clients) is still there to read. 1 and *reply, or 0.
 */
static int
last_words(struct proto_conn *pc, json_t **reply)
{
	char err[PROTO_ERRLEN];
	json_t *m = NULL;
	int rc;

	pc->eof = false;	/* what is buffered can still be read */
	while ((rc = proto_recv(pc, 0, &m, err)) == 1) {
		json_t *rid = json_object_get(m, "id");
		if (json_is_integer(rid) && json_integer_value(rid) == 0 &&
		    !proto_reply_ok(m))
			break;
		json_decref(m);
		m = NULL;
	}
	pc->eof = true;
	*reply = rc == 1 ? m : NULL;
	return rc == 1;
}

/* A request and its reply (see proto.h). */
int
proto_call(struct proto_conn *pc, const char *op, json_t *args,
    proto_event_fn *on_event, void *ctx, json_t **reply, char *err)
{
	long long deadline = now_ms() + pc->timeout_ms;
	json_int_t id;
	json_t *m;
	int rc;

	*reply = NULL;
	if ((rc = proto_send(pc, op, args, &id, err)) < 0)
		return rc == -ETIMEDOUT ? rc : last_words(pc, reply) ? 0 : rc;
	for (;;) {
		int left = pc->timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
		if (pc->timeout_ms >= 0 && left < 0)
			left = 0;
		if ((rc = proto_recv(pc, left, &m, err)) != 1)
			break;
		json_t *rid = json_object_get(m, "id");
		/*
		 * Ours, or a refusal of id 0 (the daemon could not read the
		 * request's id, or refused the connection): the reply.
		 */
		if (json_is_integer(rid) && (json_integer_value(rid) == id ||
		    (json_integer_value(rid) == 0 && !proto_reply_ok(m)))) {
			*reply = m;
			return 0;
		}
		if (on_event)
			on_event(ctx, m);
		json_decref(m);
	}
	if (rc == 0) {	/* no reply in time: a stalled daemon */
		char what[64];
		snprintf(what, sizeof(what), "answer %.40s", op);
		return timed_out(pc, what, err);
	}
	return rc;
}

/* The handshake (see proto.h). */
int
proto_hello(struct proto_conn *pc, const char *self, proto_event_fn *on_event,
    void *ctx, char *err)
{
	json_t *args = json_pack("{s:i,s:s}", "version", PROTO_VERSION,
	    "client", self), *rep = NULL, *v;
	int rc = proto_call(pc, "hello", args, on_event, ctx, &rep, err);

	json_decref(args);
	if (rc < 0)
		return rc;
	if (!proto_reply_ok(rep)) {
		const char *code = proto_reply_code(rep);
		if (code && strcmp(code, PROTO_E_VERSION) == 0)
			snprintf(err, PROTO_ERRLEN, "%s", proto_reply_error(rep));
		else if (code && strcmp(code, PROTO_E_BUSY) == 0)
			snprintf(err, PROTO_ERRLEN, "%s", proto_reply_error(rep));
		else if (code && strcmp(code, PROTO_E_BAD_REQUEST) == 0)
			snprintf(err, PROTO_ERRLEN, "protocol version mismatch: "
			    "abs-ctld at %.100s predates the handshake, %s speaks "
			    "version %d", pc->path, self, PROTO_VERSION);
		else
			snprintf(err, PROTO_ERRLEN, "hello refused: %.200s",
			    proto_reply_error(rep));
		json_decref(rep);
		return -EPROTO;
	}
	v = json_object_get(json_object_get(rep, "result"), "version");
	if (!json_is_integer(v)) {
		/* Not a version 0: a reply that is not abs-ctld's. */
		snprintf(err, PROTO_ERRLEN, "abs-ctld at %.100s answered hello "
		    "without a protocol version", pc->path);
		json_decref(rep);
		return -EPROTO;
	}
	rc = proto_version_check(json_integer_value(v), "abs-ctld", self, err);
	v = json_object_get(json_object_get(rep, "result"), "site");
	snprintf(pc->site, sizeof(pc->site), "%s", json_is_string(v) &&
	    json_string_length(v) < sizeof(pc->site) ? json_string_value(v) : "");
	json_decref(rep);
	return rc;
}

/* The site ID abs-ctld told in hello ("" if none). */
const char *
proto_conn_site(const struct proto_conn *pc)
{
	return pc->site;
}

/* Whether a reply says ok. */
bool
proto_reply_ok(json_t *reply)
{
	return json_is_true(json_object_get(reply, "ok"));
}

/* A refusal's text ("failed" if it has none). */
const char *
proto_reply_error(json_t *reply)
{
	const char *e = json_string_value(json_object_get(reply, "error"));

	return e ? e : "failed";
}

/* A refusal's code, or NULL. */
const char *
proto_reply_code(json_t *reply)
{
	return json_string_value(json_object_get(reply, "code"));
}
