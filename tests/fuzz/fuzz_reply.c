/*
 * libFuzzer: the client side of the control protocol (proto/codec.c) as
 * abs-ctl and media servers run it, reading what the peer sends back: the
 * fuzzer's bytes are abs-ctld's side of a real Unix socket, then the
 * daemon half-closes. The handshake, a call and the events after it must
 * end (a reply, an error or the end of the connection), never hang.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[108];
static int lfd = -1;

/* At exit: the socket and its directory go. */
static void
remove_socket(void)
{
	char dir[sizeof(path)];

	unlink(path);
	snprintf(dir, sizeof(dir), "%s", path);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

/* The fake daemon's listening socket, made once. */
static int
listen_once(void)
{
	static char dir[] = "/tmp/abs-fuzz-reply-XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (lfd >= 0)
		return 0;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/ctld.sock", dir);
	memcpy(sa.sun_path, path, sizeof(path));
	atexit(remove_socket);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4) < 0)
		return -1;
	return 0;
}

/* Count what proto_call passes on as events. */
static void
on_event(void *ctx, json_t *m)
{
	(*(int *)ctx) += json_is_object(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PROTO_ERRLEN];
	struct proto_conn *pc;
	json_t *rep = NULL, *args, *m;
	int fd, events = 0, sz = 1 << 20;

	if (size > 512 * 1024 || listen_once() < 0)
		return 0;
	if (proto_connect(path, 0, &pc, err) < 0)
		abort();
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		abort();
	/* All of it fits in the socket: the daemon writes, then half-closes. */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	shutdown(fd, SHUT_WR);

	if (proto_hello(pc, "abs-fuzz", on_event, &events, err) == 0) {
		args = json_object();
		if (proto_call(pc, "status", args, on_event, &events, &rep,
		    err) == 0) {
			(void)proto_reply_ok(rep);
			(void)proto_reply_error(rep);
			(void)proto_reply_code(rep);
			json_decref(rep);
		}
		json_decref(args);
		while (proto_recv(pc, 0, &m, err) == 1)
			json_decref(m);
	}
	if (strlen(err) >= PROTO_ERRLEN)
		abort();
	proto_conn_free(pc);
	close(fd);
	return 0;
}
