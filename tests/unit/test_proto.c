/*
 * The control protocol (proto/): the one request table (every row has a
 * handler, a usage line unless it is internal, a well-formed spec), the
 * request parser's and argument checker's answers with their reasons,
 * roles, framing, the version check on both sides, connect and retry.
 * The daemon side of the handshake runs against a small fake abs-ctld on
 * a real Unix socket; t_control drives the real one.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/ctld.h"
#include "proto/proto.h"
#include "t.h"

/* Every row: its id, a unique name, a handler, a well-formed spec/usage. */
static void
test_table(void)
{
	char err[PROTO_ERRLEN];
	int internal = 0;

	CHECK_EQ(proto_nops, PROTO_NREQ);
	CHECK(proto_nops >= 35);
	for (size_t i = 0; i < proto_nops; i++) {
		const struct proto_op *op = &proto_ops[i];
		err[0] = '\0';
		CHECK_EQ(op->id, i);
		CHECK(proto_find(op->name) == op);
		if (proto_op_check(op, err) != 0)
			fprintf(stderr, "row %s: %s\n", op->name, err);
		CHECK_EQ(proto_op_check(op, err), 0);
		if (!ctld_handler(op))
			fprintf(stderr, "row %s has no handler\n", op->name);
		CHECK(ctld_handler(op) != NULL);
		if (op->flags & PROTO_F_INTERNAL) {
			internal++;
			CHECK(op->usage == NULL);
		} else {
			CHECK(op->usage != NULL && op->help != NULL);
			CHECK(op->roles & ROLE_ANY);
		}
		/* Only the handshake is open to a peer without a role. */
		CHECK_EQ(!!(op->flags & PROTO_F_OPEN), strcmp(op->name, "hello") == 0);
	}
	/* The internal rows are the media servers' and the handshake. */
	CHECK_EQ(internal, 5);
	CHECK(proto_find("engine-register")->flags & PROTO_F_INTERNAL);
	CHECK(proto_find("index-upload")->flags & PROTO_F_INTERNAL);
	CHECK_EQ(proto_find("index-upload")->roles, ROLE_ENGINE);
	CHECK_EQ(proto_find("index-download")->roles, ROLE_ENGINE);
	CHECK(proto_find("engine-event")->flags & PROTO_F_INTERNAL);
	CHECK(proto_find("hello")->flags & PROTO_F_INTERNAL);
	/* Media servers' requests need the engine role, and only it. */
	CHECK_EQ(proto_find("engine-register")->roles, ROLE_ENGINE);
	CHECK_EQ(proto_find("engine-event")->roles, ROLE_ENGINE);
	CHECK(!(proto_find("dump")->roles & ROLE_ENGINE));
	CHECK(proto_find("nosuch") == NULL);
	CHECK(ctld_handler(NULL) == NULL);
}

/* The row checker refuses each kind of bad row, with its reason. */
static void
test_row_check(void)
{
	static const struct {
		struct proto_op op;
		const char *why;
	} bad[] = {
		{ { "x", 0, ROLE_ADMIN, 0, "a:s a:i?", "x A [--a N]", "h" }, "twice" },
		{ { "x", 0, ROLE_ADMIN, 0, "a:q", "x A", "h" }, "bad type" },
		{ { "x", 0, ROLE_ADMIN, 0, "a:ss", "x A", "h" }, "bad type" },
		{ { "x", 0, ROLE_ADMIN, 0, "A:s", "x A", "h" }, "bad argument name" },
		{ { "x", 0, ROLE_ADMIN, 0, "a:s", "x", "h" }, "positional" },
		{ { "x", 0, ROLE_ADMIN, 0, "a:s", "x A B", "h" }, "positional" },
		{ { "x", 0, ROLE_ADMIN, 0, "a:s b:i?", "x A", "h" }, "lacks --b" },
		{ { "x", 0, ROLE_ADMIN, 0, "keep_days:i?", "x [--keep]", "h" },
		    "lacks --keep_days" },
		{ { "x", 0, ROLE_ADMIN, 0, "a:S b:s", "x A... B", "h" }, "follows a list" },
		{ { "x", 0, ROLE_ADMIN, 0, "a:o", "x A", "h" }, "object" },
		{ { "x", 0, ROLE_ADMIN, 0, "", "y", "h" }, "no usage line" },
		{ { "x", 0, ROLE_ADMIN, 0, "", NULL, "h" }, "no usage line" },
		{ { "x", 0, ROLE_ENGINE, PROTO_F_INTERNAL, "", "x", "h" }, "internal" },
		{ { "x", 0, ROLE_NONE, 0, "", "x", "h" }, "no role" },
		{ { "x", 0, ROLE_ADMIN, 0, "", "x", NULL }, "no name, spec or help" },
	};
	static const struct proto_op good[] = {
		{ "x", 0, ROLE_ADMIN, 0, "a:s keep_days:i? l:S", "x A [--keep-days N] L...",
		    "h" },
		{ "x", 0, ROLE_ENGINE, PROTO_F_INTERNAL, "d:o?", NULL, "h" },
		{ "x", 0, ROLE_NONE, PROTO_F_OPEN | PROTO_F_INTERNAL, "v:i", NULL, "h" },
	};
	char err[PROTO_ERRLEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(proto_op_check(&bad[i].op, err), -1);
		if (!strstr(err, bad[i].why))
			fprintf(stderr, "bad row %zu: '%s' lacks '%s'\n", i, err,
			    bad[i].why);
		CHECK(strstr(err, bad[i].why) != NULL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK_EQ(proto_op_check(&good[i], err), 0);
	}
}

/* Parse and check one request; -1 and err if either refuses it. */
static int
parse_check(const char *line, char *err)
{
	const struct proto_op *op = NULL;
	json_t *req, *args;
	json_int_t id;
	int rc;

	err[0] = '\0';
	rc = proto_parse_request(line, strlen(line), &req, &op, &args, &id, err);
	if (rc == 0)
		rc = proto_check_args(op, args, err);
	json_decref(req);
	return rc;
}

/* Good requests pass; each kind of bad one is refused for its reason. */
static void
test_requests(void)
{
	const struct proto_op *op;
	json_t *req, *args;
	json_int_t id;
	char err[PROTO_ERRLEN];
	const char *ok = "{\"op\":\"tape-add\",\"args\":{\"pool\":\"p\","
	    "\"labels\":[\"A\",\"B\"]},\"id\":9}";

	CHECK_EQ(proto_parse_request(ok, strlen(ok), &req, &op, &args, &id, err), 0);
	CHECK(op && strcmp(op->name, "tape-add") == 0);
	CHECK_EQ(id, 9);
	CHECK_EQ(proto_check_args(op, args, err), 0);
	json_decref(req);
	/* No args and no id: today's shortest form. */
	CHECK_EQ(parse_check("{\"op\":\"status\"}", err), 0);
	/* index-upload's chunk (32 KiB as base64) passes; other strings
	   stop at 4 KiB. */
	{
		size_t n = 43692;
		char *line = malloc(n + 256), *p;
		p = line + sprintf(line, "{\"op\":\"index-upload\",\"args\":"
		    "{\"dump\":\"d\",\"total\":32768,\"offset\":0,\"data\":\"");
		memset(p, 'A', n);
		strcpy(p + n, "\"}}");
		CHECK_EQ(parse_check(line, err), 0);
		p = line + sprintf(line, "{\"op\":\"tape-add\",\"args\":"
		    "{\"labels\":[\"A\"],\"pool\":\"");
		memset(p, 'A', 5000);
		strcpy(p + 5000, "\"}}");
		CHECK_EQ(parse_check(line, err), -1);
		CHECK(strstr(err, "fewer than 4096 bytes") != NULL);
		free(line);
	}
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "{\"op\":\"tape-add\",\"args\":{\"pool\":\"p\"}}",
		    "missing argument 'labels'" },
		{ "{\"op\":\"tape-add\",\"args\":{\"pool\":1,\"labels\":[\"A\"]}}",
		    "'pool' must be a string" },
		{ "{\"op\":\"tape-add\",\"args\":{\"pool\":\"p\",\"labels\":[]}}",
		    "'labels' must be a list of strings" },
		{ "{\"op\":\"tape-add\",\"args\":{\"pool\":\"p\",\"labels\":[1]}}",
		    "'labels' must be a list of strings" },
		{ "{\"op\":\"abort\",\"args\":{\"job\":\"7\"}}",
		    "'job' must be an integer" },
		{ "{\"op\":\"engine-event\",\"args\":{\"event\":\"x\",\"data\":[]}}",
		    "'data' must be an object" },
		{ "{\"op\":\"status\",\"args\":{\"x\":1}}", "unknown argument 'x'" },
		{ "{\"op\":\"status\",\"args\":[]}", "args must be an object" },
		{ "", "malformed JSON" },
		{ "{", "malformed JSON" },
		{ "[]", "a request is a JSON object" },
		{ "{\"op\":3}", "no \"op\"" },
		{ "{\"op\":\"nosuch\"}", "unknown request 'nosuch'" },
		{ "{\"op\":\"a\",\"op\":\"b\"}", "malformed JSON" },
		{ "{\"op\":\"status\",\"args\":{},\"id\":\"x\"}", "\"id\" is an integer" },
		{ "{\"op\":\"status\",\"args\":{},\"id\":1.5}", "\"id\" is an integer" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(parse_check(bad[i].line, err), -1);
		if (!strstr(err, bad[i].why))
			fprintf(stderr, "%s: '%s' lacks '%s'\n", bad[i].line, err,
			    bad[i].why);
		CHECK(strstr(err, bad[i].why) != NULL);
	}
	/* Over the line limit, before any parsing. */
	char *big = malloc(PROTO_MAX_LINE + 2);
	memset(big, ' ', PROTO_MAX_LINE + 1);
	big[PROTO_MAX_LINE + 1] = '\0';
	CHECK_EQ(proto_parse_request(big, PROTO_MAX_LINE + 1, &req, &op, &args,
	    &id, err), -1);
	CHECK(strstr(err, "longer than 65536") != NULL);
	json_decref(req);
	free(big);
}

/* Role names, the engine role, and the text of a refusal. */
static void
test_roles(void)
{
	char buf[64];

	CHECK_EQ(proto_role_from_name("admin"), ROLE_ADMIN);
	CHECK_EQ(proto_role_from_name("engine"), ROLE_ENGINE);
	CHECK_EQ(proto_role_from_name("root"), -1);
	CHECK(strcmp(proto_role_name(ROLE_ENGINE), "engine") == 0);
	CHECK(strcmp(proto_role_name(ROLE_OPERATOR | ROLE_ADMIN), "?") == 0);
	CHECK(!(ROLE_ANY & ROLE_ENGINE));
	proto_roles_text(ROLE_ENGINE, buf, sizeof(buf));
	CHECK(strcmp(buf, "engine") == 0);
	proto_roles_text(ROLE_OPERATOR | ROLE_RETRIEVAL, buf, sizeof(buf));
	CHECK(strcmp(buf, "operator or retrieval") == 0);
	proto_roles_text(ROLE_ADMIN | ROLE_ENGINE, buf, sizeof(buf));
	CHECK(strcmp(buf, "engine") == 0);
	proto_roles_text(ROLE_ADMIN, buf, sizeof(buf));
	CHECK(strcmp(buf, "admin") == 0);
	proto_roles_text(ROLE_ANY, buf, sizeof(buf));
	CHECK(strcmp(buf, "any role") == 0);
}

/* Lines split across reads; a long one refused once, the next one fine. */
static void
test_framing(void)
{
	struct proto_lbuf b;
	const char *line;
	size_t len;
	int fds[2];

	CHECK_EQ(pipe(fds), 0);
	proto_lbuf_init(&b, 16);
	CHECK_EQ(write(fds[1], "{\"a\":1}\n{\"b\"", 12), 12);
	CHECK_EQ(proto_lbuf_read(&b, fds[0]), 12);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE);
	CHECK(len == 7 && memcmp(line, "{\"a\":1}", 7) == 0);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE_NONE);
	CHECK_EQ(write(fds[1], ":2}\n\n", 5), 5);
	CHECK_EQ(proto_lbuf_read(&b, fds[0]), 5);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE);
	CHECK(len == 7 && memcmp(line, "{\"b\":2}", 7) == 0);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE);
	CHECK_EQ(len, 0);
	/* 20 bytes with no newline yet: too long, said once. */
	CHECK_EQ(write(fds[1], "xxxxxxxxxxxxxxxxxxxx", 20), 20);
	CHECK_EQ(proto_lbuf_read(&b, fds[0]), 20);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE_TOO_LONG);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE_NONE);
	CHECK_EQ(write(fds[1], "yyyy\nok\n", 8), 8);
	CHECK_EQ(proto_lbuf_read(&b, fds[0]), 8);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE);
	CHECK(len == 2 && memcmp(line, "ok", 2) == 0);
	/* A whole line over the limit in one read: refused too. */
	CHECK_EQ(write(fds[1], "zzzzzzzzzzzzzzzzzzzz\nok\n", 24), 24);
	CHECK_EQ(proto_lbuf_read(&b, fds[0]), 24);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE_TOO_LONG);
	CHECK_EQ(proto_lbuf_next(&b, &line, &len), PROTO_LINE);
	CHECK(len == 2 && memcmp(line, "ok", 2) == 0);
	close(fds[1]);
	CHECK_EQ(proto_lbuf_read(&b, fds[0]), 0);
	close(fds[0]);
	proto_lbuf_free(&b);
}

/* abs-ctld's side of the version check. */
static void
test_version_server(void)
{
	const struct proto_op *hello = proto_find("hello");
	const struct proto_op *reg = proto_find("engine-register");
	char err[PROTO_ERRLEN];
	json_t *a;

	CHECK_EQ(proto_version_check(PROTO_VERSION, "abs-ctl", "abs-ctld", err), 0);
	a = json_pack("{s:i,s:s}", "version", PROTO_VERSION + 1, "client", "abs-ctl");
	CHECK_EQ(proto_check_request_version(hello, a, err), -EPROTO);
	CHECK(strstr(err, "protocol version mismatch: abs-ctl speaks version 2, "
	    "abs-ctld speaks version 1") != NULL);
	json_decref(a);
	a = json_pack("{s:s,s:s,s:i}", "drive", "d", "device", "null:", "version", 7);
	CHECK_EQ(proto_check_request_version(reg, a, err), -EPROTO);
	CHECK(strstr(err, "the media server speaks version 7") != NULL);
	json_decref(a);
	/* Today's registration, without a version, is still accepted. */
	a = json_pack("{s:s,s:s}", "drive", "d", "device", "null:");
	CHECK_EQ(proto_check_request_version(reg, a, err), 0);
	json_decref(a);
}

/*
 * A fake abs-ctld in a child: for each accepted connection it reads one
 * line and writes the given lines back (the id is the client's first, 1).
 */
static pid_t
fake_daemon(const char *path, const char *const *answers, unsigned delay_ms)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	usleep(delay_ms * 1000);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fd;
	char buf[4096];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		_exit(1);
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		_exit(1);
	if (read(fd, buf, sizeof(buf)) <= 0)
		_exit(1);
	for (size_t i = 0; answers[i]; i++)
		if (write(fd, answers[i], strlen(answers[i])) < 0)
			_exit(1);
	/* Hold the connection until the client is done. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

/* Count the events proto_hello passes on. */
static void
count_event(void *ctx, json_t *m)
{
	if (json_is_string(json_object_get(m, "event")))
		(*(int *)ctx)++;
}

/* The client's side: connect (with retry), hello, the daemon's version. */
static void
test_version_client(void)
{
	char dir[] = "/tmp/abs-test-proto-XXXXXX", path[128],
	    err[PROTO_ERRLEN];
	struct proto_conn *pc;
	int status, events = 0;
	pid_t pid;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ctld.sock", dir);
	/* Nobody there: one try, a clear error. */
	CHECK_EQ(proto_connect(path, 0, &pc, err), -ENOENT);
	CHECK(strstr(err, "cannot reach abs-ctld at") != NULL);
	CHECK(pc == NULL);

	/* A daemon that comes up late is waited for; its version differs. */
	static const char *const newer[] = {
		"{\"event\":\"abort\"}\n",
		"{\"id\":1,\"ok\":true,\"result\":{\"version\":2,"
		"\"server\":\"abs-ctld\"}}\n", NULL };
	pid = fake_daemon(path, newer, 300);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-ctl", count_event, &events, err), -EPROTO);
	CHECK(strstr(err, "protocol version mismatch: abs-ctld speaks version 2, "
	    "abs-ctl speaks version 1") != NULL);
	CHECK_EQ(events, 1);
	proto_conn_free(pc);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	unlink(path);

	/* A daemon from before the handshake. */
	static const char *const older[] = {
		"{\"id\":1,\"ok\":false,\"error\":\"unknown request 'hello'\","
		"\"code\":\"bad-request\"}\n", NULL };
	pid = fake_daemon(path, older, 0);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-engine", NULL, NULL, err), -EPROTO);
	CHECK(strstr(err, "predates the handshake, abs-engine speaks version 1")
	    != NULL);
	proto_conn_free(pc);
	waitpid(pid, &status, 0);
	unlink(path);

	/* A hello reply without a result is not "version 0". */
	static const char *const bare[] = { "{\"id\":1,\"ok\":true}\n", NULL };
	pid = fake_daemon(path, bare, 0);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-ctl", NULL, NULL, err), -EPROTO);
	CHECK(strstr(err, "answered hello without a protocol version") != NULL);
	CHECK(strstr(err, "version 0") == NULL);
	proto_conn_free(pc);
	waitpid(pid, &status, 0);
	unlink(path);

	/* A daemon with too many clients says so (id 0): that is the reply. */
	static const char *const busy[] = {
		"{\"id\":0,\"ok\":false,\"error\":\"abs-ctld refused the "
		"connection: too many clients\",\"code\":\"busy\"}\n", NULL };
	pid = fake_daemon(path, busy, 0);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-ctl", NULL, NULL, err), -EPROTO);
	CHECK(strcmp(err, "abs-ctld refused the connection: too many clients")
	    == 0);
	proto_conn_free(pc);
	waitpid(pid, &status, 0);
	unlink(path);

	/* The same version: the handshake passes, the site is kept. */
	static const char *const same[] = {
		"{\"id\":1,\"ok\":true,\"result\":{\"version\":1,"
		"\"site\":\"0123abcd\"}}\n", NULL };
	pid = fake_daemon(path, same, 0);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-ctl", NULL, NULL, err), 0);
	CHECK(strcmp(proto_conn_site(pc), "0123abcd") == 0);
	/* Then the daemon goes away: the call says so. */
	json_t *rep = NULL, *args = json_object();
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK(proto_call(pc, "status", args, NULL, NULL, &rep, err) < 0);
	CHECK(rep == NULL);
	CHECK(proto_conn_eof(pc));
	json_decref(args);
	proto_conn_free(pc);
	unlink(path);
	rmdir(dir);
}

/*
 * A peer that is not abs-ctld: a line that is not JSON, or one longer than
 * PROTO_MAX_REPLY, fails the call at once instead of leaving the client
 * waiting for a reply that cannot come.
 */
static void
test_peer_not_ctld(void)
{
	char dir[] = "/tmp/abs-test-proto-XXXXXX", path[128],
	    err[PROTO_ERRLEN];
	static const char head[] = "{\"id\":1,\"ok\":true,\"result\":\"";
	size_t n = PROTO_MAX_REPLY + 16;
	char *huge = malloc(n);
	struct proto_conn *pc;
	int status;
	pid_t pid;

	CHECK(mkdtemp(dir) != NULL && huge != NULL);
	snprintf(path, sizeof(path), "%s/ctld.sock", dir);
	static const char *const garbage[] = { "garbage\n", NULL };
	pid = fake_daemon(path, garbage, 0);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-ctl", NULL, NULL, err), -EPROTO);
	CHECK(strstr(err, "sent a line that is not a JSON object: garbage") !=
	    NULL);
	CHECK(strchr(err, '\n') == NULL);
	CHECK(proto_conn_eof(pc));
	proto_conn_free(pc);
	waitpid(pid, &status, 0);
	unlink(path);
	/* Terminal controls in the line are shown escaped, not sent to a
	   terminal (hostile15 H2). */
	static const char *const escapes[] = { "\033]2;owned\007\302\233x\\\n",
	    NULL };
	pid = fake_daemon(path, escapes, 0);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-ctl", NULL, NULL, err), -EPROTO);
	CHECK(strstr(err, "not a JSON object: \\x1b]2;owned\\x07\\xc2\\x9bx"
	    "\\x5c") != NULL);
	for (const char *p = err; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	proto_conn_free(pc);
	waitpid(pid, &status, 0);
	unlink(path);

	/* A JSON value that is not an object is not a reply either. */
	static const char *const number[] = { "42\n", NULL };
	pid = fake_daemon(path, number, 0);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-ctl", NULL, NULL, err), -EPROTO);
	proto_conn_free(pc);
	waitpid(pid, &status, 0);
	unlink(path);

	memset(huge, 'a', n);
	memcpy(huge, head, sizeof(head) - 1);
	memcpy(huge + n - 4, "\"}\n", 4);
	huge[n - 1] = '\0';
	huge[n - 2] = '\n';
	const char *const long_line[] = { huge, NULL };
	pid = fake_daemon(path, long_line, 0);
	CHECK_EQ(proto_connect(path, 60000, &pc, err), 0);
	CHECK_EQ(proto_hello(pc, "abs-engine", NULL, NULL, err), -EMSGSIZE);
	CHECK(strstr(err, "sent a line longer than 8388608 bytes") != NULL);
	CHECK(proto_conn_eof(pc));
	proto_conn_free(pc);
	waitpid(pid, &status, 0);
	unlink(path);
	rmdir(dir);
	free(huge);
}

/*
 * A daemon that accepts (its backlog does) and never answers, as a
 * stopped abs-ctld: with a timeout, hello and a request the daemon does
 * not read both fail with -ETIMEDOUT and give the connection up; once the
 * backlog is full, connect fails at once instead of hanging.
 */
static void
test_stalled(void)
{
	char dir[] = "/tmp/abs-test-proto-XXXXXX", path[128],
	    err[PROTO_ERRLEN];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct proto_conn *pc, *held[64];
	size_t big = 16u << 20, nheld = 0;
	char *s = malloc(big);
	json_t *args, *rep = NULL;
	int lfd, rc = 0;

	CHECK(mkdtemp(dir) != NULL && s != NULL);
	snprintf(path, sizeof(path), "%s/ctld.sock", dir);
	memcpy(sa.sun_path, path, strlen(path) + 1);	/* < 40 bytes */
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(lfd, 2) == 0);
	CHECK_EQ(proto_connect(path, 0, &pc, err), 0);
	proto_conn_set_timeout(pc, 200);
	CHECK_EQ(proto_hello(pc, "abs-ctl", NULL, NULL, err), -ETIMEDOUT);
	CHECK(strstr(err, "did not answer hello within 0.2 s") != NULL);
	CHECK(proto_conn_eof(pc));
	proto_conn_free(pc);
	/* A request too big for the socket's buffers: the send times out. */
	CHECK_EQ(proto_connect(path, 0, &pc, err), 0);
	proto_conn_set_timeout(pc, 200);
	memset(s, 'a', big - 1);
	s[big - 1] = '\0';
	args = json_pack("{s:s}", "x", s);
	CHECK_EQ(proto_call(pc, "status", args, NULL, NULL, &rep, err),
	    -ETIMEDOUT);
	CHECK(strstr(err, "did not read the request") != NULL);
	CHECK(rep == NULL && proto_conn_eof(pc));
	json_decref(args);
	proto_conn_free(pc);
	/* The backlog fills: connect says so (EAGAIN), it does not hang. */
	while (nheld < 64 && (rc = proto_connect(path, 0, &held[nheld],
	    err)) == 0)
		nheld++;
	CHECK_EQ(rc, -EAGAIN);
	CHECK(nheld < 64);
	while (nheld)
		proto_conn_free(held[--nheld]);
	close(lfd);
	unlink(path);
	rmdir(dir);
	free(s);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_table();
	test_row_check();
	test_requests();
	test_roles();
	test_framing();
	test_version_server();
	test_version_client();
	test_peer_not_ctld();
	test_stalled();
	T_DONE();
}
