/*
 * abs-ctl: the operator's CLI to abs-ctld. Commands and their arguments
 * come from the one request table (proto/requests.def): required arguments
 * are positional in table order (a list takes the rest), optional ones are
 * --name VALUE. Human tables by default, --json for scripts. It speaks
 * the protocol through proto/ only: no handler, no catalog.
 * Exit codes: 0 done, 1 refused or failed (a protocol version mismatch
 * too), 2 usage, 3 no daemon, 4 permission denied, 5 not found.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base64.h"
#include "common/date.h"
#include "common/esc.h"
#include "common/version.h"
#include "proto/proto.h"
#include "tools/tui.h"
#include "tools/report_html.h"

enum { EX_OK, EX_FAIL, EX_USAGE, EX_NODAEMON, EX_DENIED, EX_NOTFOUND,
	EX_TIMEOUT, EX_INCOMPLETE };

/* The options every command takes, before or after its word. */
#define GLOBAL_OPTS "--socket PATH | --host H[:PORT]] [--json] [--timeout SEC]\n" \
	"               [--cert FILE --key FILE] [--ca FILE] [--krb] [--service P"

/* The report page's usage. */
#define REPORT_PAGE_USAGE "report (--html FILE | --mime [--to ADDR ...]" \
	" [--subject S]) [--night DATE] [--nights N] [--floor [DRIVE=]MB/S ...]"

/* How long abs-ctld may take to answer a request (--timeout; 0: forever). */
#define CTL_TIMEOUT_S 60

static const char *sock_path = "/run/abs/ctld.sock";
static bool json_out;
static bool sock_given;		/* --socket or --host: no environment */
static char host_uri[300];	/* tls://H:PORT of --host */
static struct proto_auth auth;	/* --cert --key --ca --krb --service */
static struct proto_conn *conn;
static int conn_failed;		/* the exit code once connecting failed */
static int timeout_s = CTL_TIMEOUT_S;
static bool timeout_given;	/* --timeout: job-wait waits that long too */

/* The usage and every command's usage line and help. */
static void
usage(FILE *fp)
{
	fprintf(fp, "usage: abs-ctl [" GLOBAL_OPTS "] COMMAND [ARGS]\n"
	    "       abs-ctl batch FILE|-     (one command per line)\n"
	    "       abs-ctl watch [--count N] (live progress)\n"
	    "       abs-ctl raw               (JSON request lines from stdin)\n"
	    "       abs-ctl tui               (the full-screen console:"
	    " docs/TUI.md)\n"
	    "       abs-ctl " REPORT_PAGE_USAGE "\n"
	    "                                 (the report as a web page, or a"
	    " mail with it)\n"
	    "       abs-ctl --version | --help\n"
	    "The global options go before or after the command"
	    " (abs-ctl status --json).\n"
	    "\ncommands:\n");
	for (size_t i = 0; i < proto_nops; i++)
		if (!(proto_ops[i].flags & PROTO_F_INTERNAL))
			fprintf(fp, "  %-60s %s\n", proto_ops[i].usage,
			    proto_ops[i].help);
}

/*
 * --requests: every row of the table, media servers' included, one line
 * each: NAME ROLE[,ROLE...]|open [internal] (for scripts and tests).
 */
static void
list_requests(void)
{
	for (size_t i = 0; i < proto_nops; i++) {
		const struct proto_op *op = &proto_ops[i];
		printf("%s ", op->name);
		if (op->flags & PROTO_F_OPEN) {
			printf("open");
		} else {
			const char *sep = "";
			for (unsigned b = 1; b & ROLE_ALL; b <<= 1)
				if (op->roles & b) {
					printf("%s%s", sep, proto_role_name(b));
					sep = ",";
				}
		}
		printf("%s\n", op->flags & PROTO_F_INTERNAL ? " internal" : "");
	}
}

/* The commands that are not rows of the request table. */
static const char *const own_commands[] = { "batch", "watch", "raw",
    "tui" };

/*
 * --list-commands: every command word, one a line (bash completion reads
 * it, so it cannot drift from the table).
 */
static void
list_commands(void)
{
	for (size_t i = 0; i < proto_nops; i++)
		if (!(proto_ops[i].flags & PROTO_F_INTERNAL))
			printf("%s\n", proto_ops[i].name);
	for (size_t i = 0; i < sizeof(own_commands) / sizeof(*own_commands);
	    i++)
		printf("%s\n", own_commands[i]);
}

/* Whether the op's usage line shows the option opt ("--date"). */
static bool
usage_has(const struct proto_op *op, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = op->usage; p && (p = strstr(p, opt)); p += n)
		if (p[n] == ' ' || p[n] == ']' || p[n] == '\0')
			return true;
	return false;
}

/* Whether the op's usage line shows --NAME as a flag ("[--level-only]"). */
static bool
op_flag(const struct proto_op *op, const char *opt)
{
	char flag[80];

	snprintf(flag, sizeof(flag), "[%s]", opt);
	return op->usage && strstr(op->usage, flag) != NULL;
}

/*
 * --list-options COMMAND: the command's options, one a line, "--name" or
 * "--name VALUE-KIND" (VALUE-KIND one of path, entity, drive, label, pool,
 * number, word), then the global options (bash completion).
 */
static int
list_options(const char *cmd)
{
	const struct proto_op *op = proto_find(cmd);
	const char *sp;
	char name[64], opt[72], type;
	bool optional;

	if (op && !(op->flags & PROTO_F_INTERNAL)) {
		for (sp = op->args; proto_spec_next(&sp, name, sizeof(name), &type,
		    &optional);) {
			snprintf(opt, sizeof(opt), "--%s", name);
			for (char *p = opt; *p; p++)
				if (*p == '_')
					*p = '-';
			/* Only what the usage line offers as an option. */
			if (!usage_has(op, opt))
				continue;
			const char *kind = op_flag(op, opt) ? NULL :
			    strcmp(name, "to") == 0 || strstr(name, "map") ? "path" :
			    strcmp(name, "entity") == 0 || strcmp(name, "as") == 0 ?
			    "entity" : strcmp(name, "drive") == 0 ? "drive" :
			    strcmp(name, "label") == 0 ? "label" :
			    strcmp(name, "pool") == 0 ? "pool" :
			    type == 'i' ? "number" : "word";
			printf("%s%s%s\n", opt, kind ? " " : "", kind ? kind : "");
		}
		/* The words it takes in order: their kinds, for completion. */
		for (sp = op->args; proto_spec_next(&sp, name, sizeof(name), &type,
		    &optional);)
			if (!optional)
				printf("@%s\n", name);
		if (strcmp(op->name, "report") == 0)
			printf("--html path\n--mime\n--to word\n--subject word\n"
			    "--nights number\n--floor word\n");
		if (strcmp(op->name, "dump") == 0)
			printf("--wait\n");
	} else if (strcmp(cmd, "watch") == 0) {
		printf("--count number\n");
	} else if (strcmp(cmd, "batch") != 0 && strcmp(cmd, "raw") != 0 &&
	    strcmp(cmd, "tui") != 0) {
		fprintf(stderr, "abs-ctl: unknown command '%s' (abs-ctl --help)\n",
		    cmd);
		return EX_USAGE;
	}
	printf("--json\n--socket path\n--timeout number\n--host word\n"
	    "--cert path\n--key path\n--ca path\n--krb\n--service word\n");
	return EX_OK;
}

/*
 * --list-names KIND: the names abs-ctld knows, one a line, for bash
 * completion: entities, tapes (labels), drives, pools, libraries, types,
 * servers, archives. Nothing (and its exit code) when abs-ctld cannot say.
 */
static json_t *call_result(const char *op, json_t *args, int *rc);
static int wait_jobs(json_t *res);
static int
list_names(const char *kind)
{
	static const struct { const char *kind, *op, *list, *key; } k[] = {
		{ "entities", "entities", NULL, "name" },
		{ "tapes", "tapes", NULL, "label" },
		{ "drives", "status", "drives", "drive" },
		{ "pools", "pools", NULL, "name" },
		{ "libraries", "libraries", NULL, "library" },
		{ "types", "types", NULL, "name" },
		{ "servers", "servers", "servers", "name" },
		{ "archives", "archive-list", NULL, "name" },
	};
	json_t *res, *rows, *r;
	size_t i, n;
	int rc = EX_OK;

	for (n = 0; n < sizeof(k) / sizeof(*k) && strcmp(k[n].kind, kind); n++)
		;
	if (n == sizeof(k) / sizeof(*k)) {
		fprintf(stderr, "abs-ctl: --list-names takes entities, tapes, drives,"
		    " pools, libraries, types, servers or archives, not '%s'\n", kind);
		return EX_USAGE;
	}
	if (!(res = call_result(k[n].op, json_object(), &rc)))
		return rc;
	rows = k[n].list ? json_object_get(res, k[n].list) : res;
	json_array_foreach(rows, i, r)
		if (json_is_string(json_object_get(r, k[n].key)))
			printf("%s\n", json_string_value(json_object_get(r, k[n].key)));
	json_decref(res);
	return EX_OK;
}

/* --version: ours, the tape format's, the protocol's. */
static void
print_version(void)
{
	printf("abs-ctl %s\ntape format version %d\nprotocol version %d\n",
	    ABS_VERSION, ABS_TAPE_FORMAT, PROTO_VERSION);
}

/*
 * Connect and shake hands once; 0, or the exit code (3: no daemon, 4: the
 * socket's permissions refuse us, 1: a protocol version mismatch or the
 * daemon refused the connection, too many clients, 6: the daemon accepted
 * but did not answer within --timeout) after saying why.
 */
static int
connect_daemon(void)
{
	char err[PROTO_ERRLEN];
	int rc;

	if (conn)
		return 0;
	if (conn_failed)
		return conn_failed;
	if ((rc = proto_connect(sock_path, 0, &conn, err)) < 0) {
		fprintf(stderr, "abs-ctl: %s\n", err);
		/* The daemon is there, but the socket is not ours to use. */
		return conn_failed = rc == -EACCES || rc == -EPERM ? EX_DENIED :
		    rc == -EAGAIN ? EX_TIMEOUT : EX_NODAEMON;
	}
	proto_conn_set_timeout(conn, timeout_s * 1000);
	if ((rc = proto_hello(conn, "abs-ctl", NULL, NULL, err)) < 0) {
		fprintf(stderr, "abs-ctl: %s\n", err);
		proto_conn_free(conn);
		conn = NULL;
		return conn_failed = rc == -EPROTO ? EX_FAIL : rc == -ETIMEDOUT ?
		    EX_TIMEOUT : EX_NODAEMON;
	}
	return 0;
}

/* Send one request and read its reply (skipping pushed events). */
static json_t *
call(const char *op, json_t *args)
{
	char err[PROTO_ERRLEN];
	json_t *rep;
	int rc;

	if (connect_daemon())
		return NULL;
	if ((rc = proto_call(conn, op, args, NULL, NULL, &rep, err)) < 0) {
		fprintf(stderr, "abs-ctl: %s\n", err);
		conn_failed = rc == -ETIMEDOUT ? EX_TIMEOUT : EX_NODAEMON;
		return NULL;
	}
	return rep;
}

/* What to exit with when call() gave no reply. */
static int
call_failed(void)
{
	return conn_failed ? conn_failed : EX_NODAEMON;
}

/* One value as a table cell. */
static void
print_value(json_t *v)
{
	if (json_is_string(v))
		printf("%s", json_string_value(v));
	else if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		printf("%.1f", json_real_value(v));
	else if (json_is_null(v))
		printf("-");
	else if (json_is_boolean(v))
		printf("%s", json_is_true(v) ? "yes" : "no");
	else {
		char *s = json_dumps(v, JSON_COMPACT);
		printf("%s", s ? s : "?");
		free(s);
	}
}

/* How wide print_value prints v. */
static int
value_width(json_t *v)
{
	if (json_is_string(v))
		return (int)json_string_length(v);
	if (json_is_integer(v))
		return snprintf(NULL, 0, "%lld",
		    (long long)json_integer_value(v));
	if (json_is_null(v))
		return 1;
	if (json_is_boolean(v))
		return json_is_true(v) ? 3 : 2;
	if (json_is_real(v))
		return snprintf(NULL, 0, "%.1f", json_real_value(v));
	return 20;
}

/* An array of objects as a table; columns from the first row. */
static void
print_table(json_t *rows, const char *indent)
{
	json_t *first = json_array_get(rows, 0), *r, *v;
	const char *k;
	size_t i, n = 0;
	int w[64];

	if (!json_is_object(first)) {
		json_array_foreach(rows, i, r) {
			printf("%s", indent);
			print_value(r);
			printf("\n");
		}
		return;
	}
	json_object_foreach(first, k, v) {
		if (n == 64)
			break;
		w[n] = (int)strlen(k);
		json_array_foreach(rows, i, r) {
			int vw = value_width(json_object_get(r, k));
			if (vw > w[n])
				w[n] = vw > 40 ? 40 : vw;
		}
		n++;
	}
	printf("%s", indent);
	n = 0;
	json_object_foreach(first, k, v) {
		if (n < 64)
			printf("%-*s  ", w[n++], k);
	}
	printf("\n");
	json_array_foreach(rows, i, r) {
		printf("%s", indent);
		n = 0;
		json_object_foreach(first, k, v) {
			if (n >= 64)
				break;
			json_t *x = json_object_get(r, k);
			int vw = value_width(x);
			print_value(x);
			printf("%*s  ", w[n] > vw ? w[n] - vw : 0, "");
			n++;
		}
		printf("\n");
	}
}

/* A string field of o, or "-". */
static const char *
jstr_or(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "-";
}

/* archive-list for people: one block per archive, its last messages. */
static void
print_archives(json_t *res)
{
	json_t *a, *m;
	size_t i, j, n;

	if (!json_array_size(res))
		printf("(no archives)\n");
	json_array_foreach(res, i, a) {
		printf("%s  %s%s  drive %s%s  archived %lld (%lld bytes)",
		    jstr_or(a, "name"), jstr_or(a, "state"),
		    json_is_true(json_object_get(a, "stopping")) ? " (stopping)" :
		    "", jstr_or(a, "drive"), json_is_true(json_object_get(a,
		    "drive_connected")) ? "" : " (no media server)",
		    (long long)json_integer_value(json_object_get(a, "archived")),
		    (long long)json_integer_value(json_object_get(a, "bytes")));
		if (json_is_integer(json_object_get(a, "pending")))
			printf("  pending %lld", (long long)json_integer_value(
			    json_object_get(a, "pending")));
		printf("\n  queue %s  done %s\n", jstr_or(a, "queue"),
		    jstr_or(a, "done"));
		printf("  cartridge %s  next %s\n", jstr_or(a, "cartridge"),
		    jstr_or(a, "next_label"));
		if (json_is_string(json_object_get(a, "file")))
			printf("  writing %s\n", jstr_or(a, "file"));
		if (json_is_string(json_object_get(a, "error")))
			printf("  error: %s%s%s\n", jstr_or(a, "error"),
			    json_is_string(json_object_get(a, "retry_at")) ?
			    "; again at " : "", json_is_string(json_object_get(a,
			    "retry_at")) ? jstr_or(a, "retry_at") : "");
		m = json_object_get(a, "messages");
		n = json_array_size(m);
		for (j = n > 8 ? n - 8 : 0; j < n; j++)
			printf("  | %s\n", json_string_value(json_array_get(m, j)) ?
			    json_string_value(json_array_get(m, j)) : "");
	}
}

/* archive-find for people: where each version of the file is. */
static void
print_archive_find(json_t *res)
{
	json_t *e, *p;
	size_t i, j;

	json_array_foreach(res, i, e) {
		printf("%s  (archive %s, entry %s)\n  %lld bytes, %s, dump %s,"
		    " archived %s%s\n", jstr_or(e, "path"), jstr_or(e, "archive"),
		    jstr_or(e, "name"), (long long)json_integer_value(
		    json_object_get(e, "bytes")), jstr_or(e, "digest"),
		    jstr_or(e, "dump"), jstr_or(e, "archived"),
		    json_is_true(json_object_get(e, "verified")) ?
		    ", read back" : "");
		json_array_foreach(json_object_get(e, "parts"), j, p)
			printf("  part %zu: cartridge %s (%s) tape file %lld, its"
			    " bytes %lld.. of the file (%lld bytes)\n", j + 1,
			    jstr_or(p, "label"), jstr_or(p, "tape_id"),
			    (long long)json_integer_value(json_object_get(p, "file")),
			    (long long)json_integer_value(json_object_get(p,
			    "offset")), (long long)json_integer_value(
			    json_object_get(p, "bytes")));
	}
}

/* A result for people: tables for lists, "key value" lines. */
static void
print_human(json_t *res)
{
	const char *k;
	json_t *v;

	if (json_is_array(res)) {
		if (!json_array_size(res))
			printf("(none)\n");
		else
			print_table(res, "");
		return;
	}
	if (!json_is_object(res)) {
		print_value(res);
		printf("\n");
		return;
	}
	json_object_foreach(res, k, v) {
		if (json_is_array(v) && json_array_size(v) &&
		    json_is_object(json_array_get(v, 0))) {
			printf("%s:\n", k);
			print_table(v, "  ");
		} else if (json_is_object(v)) {
			const char *k2;
			json_t *v2;
			printf("%s:", k);
			json_object_foreach(v, k2, v2) {
				printf(" %s=", k2);
				print_value(v2);
			}
			printf("\n");
		} else {
			printf("%-18s ", k);
			print_value(v);
			printf("\n");
		}
	}
}

/*
 * A name for the terminal, as ls -b shows it: control bytes (C0, DEL and
 * the C1 controls a UTF-8 terminal may act on), bytes that are not UTF-8
 * and the backslash itself escaped (\n, \t, \\, else \NNN in octal); the rest
 * as it is. n bytes of s.
 */
static void
print_escaped(FILE *fp, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char b = s[i];
		size_t len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) ==
		    0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = len && i + len <= n && !(b == 0xc2 && i + 1 < n &&
		    s[i + 1] < 0xa0);
		for (size_t k = 1; ok && k < len; k++)
			ok = (s[i + k] & 0xc0) == 0x80;
		if (b == '\\')
			fputs("\\\\", fp);
		else if (b == '\n')
			fputs("\\n", fp);
		else if (b == '\t')
			fputs("\\t", fp);
		else if (b < 0x20 || b == 0x7f || !ok)
			fprintf(fp, "\\%03o", b);
		else {
			fwrite(s + i, 1, len, fp);
			i += len - 1;
		}
	}
}

/* A match's path: its bytes (path_b64, for one that is not UTF-8). */
static void
print_path(json_t *v)
{
	const char *p = json_string_value(json_object_get(v, "path"));
	const char *b = json_string_value(json_object_get(v, "path_b64"));
	size_t bl = b ? strlen(b) : 0, n;
	uint8_t *buf = b ? malloc(B64_DECLEN(bl) + 1) : NULL;

	if (buf && b64_decode(b, bl, buf, &n) == 0)
		print_escaped(stdout, buf, n);
	else if (p)
		print_escaped(stdout, (const unsigned char *)p, strlen(p));
	free(buf);
}

/* find: one line per version of a path, the dumps without an index. */
static void
print_find(json_t *res)
{
	json_t *m = json_object_get(res, "matches"), *v;
	const char *stopped = json_string_value(json_object_get(res, "stopped"));
	size_t i;

	if (!json_array_size(m))
		printf("no path matches %s\n", json_string_value(json_object_get(res,
		    "pattern")));
	json_array_foreach(m, i, v) {
		printf("%-20s L%lld %-7s %12lld  mtime %-10lld %s  ",
		    json_string_value(json_object_get(v, "date")),
		    (long long)json_integer_value(json_object_get(v, "level")),
		    json_string_value(json_object_get(v, "type")),
		    (long long)json_integer_value(json_object_get(v, "size")),
		    (long long)json_integer_value(json_object_get(v, "mtime")),
		    json_string_value(json_object_get(v, "dump")));
		print_path(v);
		printf("%s\n", json_is_true(json_object_get(v, "in_stream")) ? "" :
		    "  (unchanged: its data in an earlier dump)");
	}
	json_array_foreach(json_object_get(res, "without_index"), i, v)
		printf("dump %s has no file index in the catalog\n",
		    json_string_value(v));
	if (json_is_true(json_object_get(res, "truncated")) && stopped &&
	    strcmp(stopped, "time") == 0)
		printf("(stopped after searching %lld of %lld dumps for too long:"
		    " narrow the pattern or --date)\n",
		    (long long)json_integer_value(json_object_get(res,
		    "dumps_searched")), (long long)json_integer_value(
		    json_object_get(res, "dumps")));
	else if (json_is_true(json_object_get(res, "truncated")))
		printf("(more matches not shown: narrow the pattern or --date)\n");
}

/* A string field, or "-". */
static const char *
sf(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && *s ? s : "-";
}

/* inventory: one line per element, with the tape its barcode carries. */
static void
print_inventory(json_t *res)
{
	json_t *e;
	size_t i;

	printf("library %s (%s), inventory of %s%s%s\n", sf(res, "library"),
	    sf(res, "changer"), sf(res, "last_inventory"),
	    json_is_string(json_object_get(res, "inventory_error")) ?
	    "; last one failed: " : "", json_is_string(json_object_get(res,
	    "inventory_error")) ? sf(res, "inventory_error") : "");
	json_array_foreach(json_object_get(res, "elements"), i, e) {
		const char *type = sf(e, "type");
		char el[32], what[200] = "";
		if (strcmp(type, "robot") == 0)
			continue;
		snprintf(el, sizeof(el), "%s %lld", type,
		    (long long)json_integer_value(json_object_get(e, "num")));
		if (json_is_true(json_object_get(e, "cleaning")))
			snprintf(what, sizeof(what), "cleaning, %lld uses%s",
			    (long long)json_integer_value(json_object_get(e, "uses")),
			    json_is_true(json_object_get(e, "expended")) ?
			    ", EXPENDED" : "");
		else if (json_is_string(json_object_get(e, "label")))
			snprintf(what, sizeof(what), "tape %s pool %s %s", sf(e,
			    "label"), sf(e, "pool"), sf(e, "state"));
		else if (json_is_true(json_object_get(e, "full")))
			snprintf(what, sizeof(what), "%s",
			    json_is_true(json_object_get(e, "tag_unreadable")) ?
			    "barcode unreadable" : "not in the catalog");
		printf("  %-10s %-10s %-34s%s%s%s%s\n", el,
		    json_is_true(json_object_get(e, "full")) ? sf(e, "barcode") :
		    "(empty)", what, json_is_string(json_object_get(e, "drive")) ?
		    "  drive " : "", json_is_string(json_object_get(e, "drive")) ?
		    sf(e, "drive") : "", json_is_string(json_object_get(e, "mark")) ?
		    "  MARKED: " : "", json_is_string(json_object_get(e, "mark")) ?
		    sf(e, "mark") : "");
	}
}

/* A duration for people: 45s, 12m, 3h05m, 2d04h. */
static void
fmt_dur(json_int_t sec, char *buf, size_t len)
{
	if (sec < 0)
		sec = 0;
	if (sec < 60)
		snprintf(buf, len, "%llds", (long long)sec);
	else if (sec < 3600)
		snprintf(buf, len, "%lldm", (long long)(sec / 60));
	else if (sec < 86400)
		snprintf(buf, len, "%lldh%02lldm", (long long)(sec / 3600),
		    (long long)(sec % 3600 / 60));
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)(sec / 86400),
		    (long long)(sec % 86400 / 3600));
}

#define SHADOW_COLS 7

/* shadows: a table (entity, where, the dump reflected and its date, age,
   lag, state), a failure's error and a promotion under their rows. */
static void
print_shadows(json_t *res)
{
	static const char *const head[SHADOW_COLS] = { "ENTITY", "WHERE",
	    "DUMP", "DUMP DATE", "AGE", "LAG", "STATE" };
	size_t n = json_array_size(res), i;
	char (*cell)[SHADOW_COLS][300] = calloc(n ? n : 1, sizeof(*cell));
	int w[SHADOW_COLS];
	json_t *o;

	if (!n) {
		printf("no shadow (abs-ctl shadow-add)\n");
		free(cell);
		return;
	}
	if (!cell) {
		print_human(res);
		return;
	}
	for (int c = 0; c < SHADOW_COLS; c++)
		w[c] = (int)strlen(head[c]);
	json_array_foreach(res, i, o) {
		const char *refresh = sf(o, "refresh"), *dump = sf(o, "dump");
		json_t *age = json_object_get(o, "age_seconds");
		json_t *lag = json_object_get(o, "lag_seconds");
		json_int_t behind = json_integer_value(json_object_get(o,
		    "behind_dumps"));
		char d1[32], d2[32];

		esc_name(sf(o, "entity"), cell[i][0], sizeof(cell[i][0]));
		if (json_is_string(json_object_get(o, "host")))
			snprintf(d2, sizeof(d2), "%.20s:", sf(o, "host"));
		else
			d2[0] = '\0';
		snprintf(cell[i][1], sizeof(cell[i][1]), "%s%s", d2, sf(o, "path"));
		if (strcmp(dump, "-") == 0)
			snprintf(cell[i][2], sizeof(cell[i][2]), "none yet");
		else
			snprintf(cell[i][2], sizeof(cell[i][2]), "%.8s L%lld", dump,
			    (long long)json_integer_value(json_object_get(o,
			    "dump_level")));
		snprintf(cell[i][3], sizeof(cell[i][3]), "%s", sf(o,
		    "dump_started"));
		if (json_is_integer(age))
			fmt_dur(json_integer_value(age), cell[i][4],
			    sizeof(cell[i][4]));
		else
			snprintf(cell[i][4], sizeof(cell[i][4]), "-");
		if (strcmp(refresh, "promoted") == 0)
			snprintf(cell[i][5], sizeof(cell[i][5]), "-");
		else if (behind <= 0)
			snprintf(cell[i][5], sizeof(cell[i][5]), "current");
		else {
			if (json_is_integer(lag))
				fmt_dur(json_integer_value(lag), d1, sizeof(d1));
			snprintf(cell[i][5], sizeof(cell[i][5]), "%lld dump%s%s%s",
			    (long long)behind, behind == 1 ? "" : "s",
			    json_is_integer(lag) ? ", " : "",
			    json_is_integer(lag) ? d1 : "");
		}
		if (strcmp(refresh, "refreshing") == 0)
			snprintf(cell[i][6], sizeof(cell[i][6]), "running (job %lld)",
			    (long long)json_integer_value(json_object_get(o, "job")));
		else if (strcmp(refresh, "current") == 0)
			snprintf(cell[i][6], sizeof(cell[i][6]), "idle");
		else if (strcmp(refresh, "wait") == 0)
			snprintf(cell[i][6], sizeof(cell[i][6]), "idle (next %s)",
			    sf(o, "next_refresh"));
		else if (strcmp(refresh, "held") == 0)
			snprintf(cell[i][6], sizeof(cell[i][6]), "failed");
		else
			snprintf(cell[i][6], sizeof(cell[i][6]), "%s", refresh);
		for (int c = 0; c < SHADOW_COLS; c++)
			if ((int)strlen(cell[i][c]) > w[c])
				w[c] = (int)strlen(cell[i][c]);
	}
	for (int c = 0; c < SHADOW_COLS; c++)
		printf("%-*s%s", c < SHADOW_COLS - 1 ? w[c] : 0, head[c],
		    c < SHADOW_COLS - 1 ? "  " : "\n");
	json_array_foreach(res, i, o) {
		char e[600];
		for (int c = 0; c < SHADOW_COLS; c++)
			printf("%-*s%s", c < SHADOW_COLS - 1 ? w[c] : 0, cell[i][c],
			    c < SHADOW_COLS - 1 ? "  " : "\n");
		if (json_is_string(json_object_get(o, "error")))
			printf("  last error %s (dump %.8s): %s\n", sf(o, "error_at"),
			    sf(o, "error_dump"), esc_text(sf(o, "error"), e,
			    sizeof(e), 0));
		if (json_is_string(json_object_get(o, "promoted_at")))
			printf("  promoted by %s at %s; it replaced %s\n",
			    sf(o, "promoted_by"), sf(o, "promoted_at"),
			    esc_text(sf(o, "promoted_from"), e, sizeof(e), 0));
	}
	free(cell);
}

/* libraries: each with its counts and drives. */
static void
print_libraries(json_t *res)
{
	json_t *l, *d;
	size_t i, k;

	if (!json_array_size(res))
		printf("no library (abs-ctl library-add)\n");
	json_array_foreach(res, i, l) {
		printf("%s  %s  robot %s, %lld tasks\n", sf(l, "library"),
		    sf(l, "changer"), sf(l, "robot"),
		    (long long)json_integer_value(json_object_get(l, "tasks")));
		printf("  slots %lld/%lld full, portals %lld/%lld, drives %lld full;"
		    " cleaning cartridges %lld (%lld expended), %s %s uses\n",
		    (long long)json_integer_value(json_object_get(l, "slots_full")),
		    (long long)json_integer_value(json_object_get(l, "slots")),
		    (long long)json_integer_value(json_object_get(l, "portals_full")),
		    (long long)json_integer_value(json_object_get(l, "portals")),
		    (long long)json_integer_value(json_object_get(l, "drives_full")),
		    (long long)json_integer_value(json_object_get(l, "cleaning")),
		    (long long)json_integer_value(json_object_get(l, "expended")),
		    sf(l, "clean_prefix"), json_is_integer(json_object_get(l,
		    "clean_uses")) ? "x" : "");
		printf("  last inventory %s%s%s\n", sf(l, "last_inventory"),
		    json_is_string(json_object_get(l, "inventory_error")) ?
		    ", failed since: " : "", json_is_string(json_object_get(l,
		    "inventory_error")) ? sf(l, "inventory_error") : "");
		json_array_foreach(json_object_get(l, "attached"), k, d)
			printf("  drive %lld: %s (serial %s, %s)\n",
			    (long long)json_integer_value(json_object_get(d, "element")),
			    sf(d, "drive"), sf(d, "serial"), sf(d, "device"));
	}
}

/* entity: its fields, then its chains and whether each restores. */
static void
print_entity(json_t *res)
{
	json_t *chains = json_incref(json_object_get(res, "chains")), *ch, *d;
	size_t i, j;

	json_object_del(res, "chains");
	print_human(res);
	printf("chains (%zu):\n", json_array_size(chains));
	json_array_foreach(chains, i, ch) {
		const char *full = json_string_value(json_object_get(ch, "full"));
		printf("  %s%s%s: %zu dumps, newest %s, %s%s\n", full ? "full " :
		    "no full", full ? full : "", full ? "" : " reached",
		    json_array_size(json_object_get(ch, "dumps")),
		    json_string_value(json_object_get(ch, "newest")),
		    json_is_true(json_object_get(ch, "restorable")) ? "restorable" :
		    "NOT RESTORABLE: ", json_is_true(json_object_get(ch,
		    "restorable")) ? "" : json_string_value(json_object_get(ch,
		    "why")));
		json_array_foreach(json_object_get(ch, "dumps"), j, d)
			printf("    level %lld %s %s %s\n",
			    (long long)json_integer_value(json_object_get(d, "level")),
			    json_string_value(json_object_get(d, "started")),
			    json_string_value(json_object_get(d, "dump")),
			    json_is_true(json_object_get(d, "restorable")) ? "ok" :
			    "broken");
	}
	json_decref(chains);
}

/* status: one line per drive, its last five messages, the queue. */
static void
print_status(json_t *res)
{
	json_t *drives = json_object_get(res, "drives"), *d, *m;
	json_t *crip = json_object_get(res, "crippled");
	size_t i, j;

	if (crip)
		printf("CRIPPLED MODE since %s (%s): journal %s\n",
		    json_string_value(json_object_get(crip, "since")),
		    json_string_value(json_object_get(crip, "why")),
		    json_string_value(json_object_get(crip, "journal")));
	json_array_foreach(drives, i, d) {
		const char *state = json_string_value(json_object_get(d, "state"));
		long long bytes = json_integer_value(json_object_get(d, "bytes"));
		double rate = json_number_value(json_object_get(d, "rate_mbs"));
		json_t *eta = json_object_get(d, "eta_seconds");
		char etas[330] = "";	/* "  ETA %.0f s" of any double */
		if (json_is_number(eta))
			snprintf(etas, sizeof(etas), "  ETA %.0f s",
			    json_number_value(eta));
		printf("%-10s %-10s job %-5lld %-20s %10.1f MB  %6.1f MB/s%s%s%s\n",
		    json_string_value(json_object_get(d, "drive")), state,
		    (long long)json_integer_value(json_object_get(d, "job")),
		    json_string_value(json_object_get(d, "entity")),
		    (double)bytes / 1e6, rate, etas,
		    *json_string_value(json_object_get(d, "wants")) ? "  wants " : "",
		    json_string_value(json_object_get(d, "wants")));
		json_t *msgs = json_object_get(d, "messages");
		size_t n = json_array_size(msgs);
		json_array_foreach(msgs, j, m) {
			if (j + 5 < n)
				continue;	/* the last five */
			printf("    %s %-7s %s\n",
			    json_string_value(json_object_get(m, "at")),
			    json_string_value(json_object_get(m, "level")),
			    json_string_value(json_object_get(m, "text")));
		}
	}
	if (!json_array_size(drives))
		printf("no drives\n");
	if (json_array_size(json_object_get(res, "queued"))) {
		printf("queued:\n");
		print_table(json_object_get(res, "queued"), "  ");
	}
}

/* A JSON array of strings as words ("-" for null), into buf. */
static const char *
words(json_t *arr, const char *sep, char *buf, size_t len)
{
	size_t i, o = 0;
	json_t *w;

	buf[0] = '\0';
	if (!json_is_array(arr))
		return "-";
	json_array_foreach(arr, i, w)
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? sep : "",
			    json_is_string(w) ? json_string_value(w) : "?");
	return buf[0] ? buf : "-";
}

/* types: a table of the rules, then each type's windows and commands. */
static void
print_types(json_t *res)
{
	static const char *const cmds[] = { "snapshot", "dump", "incr",
	    "release" };
	json_t *t;
	size_t i;
	char buf[4096];

	printf("%-16s %5s %5s %8s %9s %14s %8s\n", "name", "full", "incr",
	    "priority", "max_level", "estimate", "entities");
	json_array_foreach(res, i, t) {
		json_t *est = json_object_get(t, "estimate_bytes");
		printf("%-16s %5lld %5lld %8lld %9lld %14s %8lld\n",
		    json_string_value(json_object_get(t, "name")),
		    (long long)json_integer_value(json_object_get(t,
		    "full_every_days")),
		    (long long)json_integer_value(json_object_get(t,
		    "incr_every_days")),
		    (long long)json_integer_value(json_object_get(t, "priority")),
		    (long long)json_integer_value(json_object_get(t, "max_level")),
		    json_is_integer(est) ? (snprintf(buf, sizeof(buf), "%lld",
		    (long long)json_integer_value(est)), buf) : "-",
		    (long long)json_integer_value(json_object_get(t, "entities")));
	}
	json_array_foreach(res, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		if (json_array_size(json_object_get(t, "windows")))
			printf("%s: not during %s\n", name, words(json_object_get(t,
			    "windows"), "; ", buf, sizeof(buf)));
		for (size_t k = 0; k < sizeof(cmds) / sizeof(*cmds); k++)
			if (json_is_array(json_object_get(t, cmds[k])))
				printf("%s: %-8s %s\n", name, cmds[k],
				    words(json_object_get(t, cmds[k]), " ", buf,
				    sizeof(buf)));
	}
}

/* discover: what changed, by kind (an empty kind unsaid), failures last. */
static void
print_discover(json_t *res)
{
	static const char *const kinds[] = { "new", "back", "moved",
	    "vanished", "removed" };
	json_t *e, *failed = json_object_get(res, "failed");
	size_t i;

	printf("%lld discovery command(s) run\n",
	    (long long)json_integer_value(json_object_get(res, "ran")));
	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
		json_t *arr = json_object_get(res, kinds[k]);
		if (!json_array_size(arr))
			continue;
		printf("%s (%zu):\n", kinds[k], json_array_size(arr));
		json_array_foreach(arr, i, e) {
			json_t *part = json_object_get(e, "partition");
			json_t *since = json_object_get(e, "since");
			printf("  %-32s %s%s%s%s%s\n",
			    json_string_value(json_object_get(e, "entity")),
			    json_string_value(json_object_get(e, "server")),
			    json_is_string(part) ? " " : "",
			    json_is_string(part) ? json_string_value(part) : "",
			    json_is_string(since) ? "  since " : "",
			    json_is_string(since) ? json_string_value(since) : "");
		}
	}
	json_array_foreach(failed, i, e)
		printf("FAILED %s (discovery %lld, %s): %s\n",
		    json_string_value(json_object_get(e, "server")),
		    (long long)json_integer_value(json_object_get(e, "id")),
		    json_string_value(json_object_get(e, "cmd")),
		    json_string_value(json_object_get(e, "error")));
}

/*
 * A word as a JSON string; a word that is not UTF-8 (a file name of
 * bytes) cannot be one: if the op takes NAME_b64, its base64 goes there
 * (*b64 set) and the string is the word with '?' for each byte that is
 * not UTF-8 (a glob that matches it, a name shown).
 */
/* The type of the op's argument name: true and *type, or false. */
static bool
spec_type(const struct proto_op *op, const char *name, char *type)
{
	const char *sp = op->args;
	char sname[64];
	bool opt;

	while (proto_spec_next(&sp, sname, sizeof(sname), type, &opt))
		if (strcmp(sname, name) == 0)
			return true;
	return false;
}

static json_t *
word_string(const struct proto_op *op, const char *name, const char *w,
    json_t *args)
{
	json_t *s = json_string(w), *list;
	char b64name[80], type, *enc;
	size_t n = strlen(w);

	snprintf(b64name, sizeof(b64name), "%s_b64", name);
	if (s || !spec_type(op, b64name, &type))
		return s;
	if (!(enc = malloc(B64_ENCLEN(n) + 1)))
		return NULL;
	b64_encode((const uint8_t *)w, n, enc);
	if (type == 'S') {
		if (!(list = json_object_get(args, b64name)))
			json_object_set_new(args, b64name, list = json_array());
		json_array_append_new(list, json_string(enc));
		free(enc);
		return json_null();	/* a list has it in its bytes form only */
	}
	json_object_set_new(args, b64name, json_string(enc));
	/* The string: '?' for each byte of a sequence that is not UTF-8. */
	for (size_t i = 0; i < n; i++)
		enc[i] = (unsigned char)w[i] >= 0x80 ? '?' : w[i];
	enc[n] = '\0';
	s = json_string(enc);
	free(enc);
	return s;
}

/* Append w to args' list name (the bytes form if it is not UTF-8). */
static int
list_add(const struct proto_op *op, const char *name, const char *w,
    json_t *args)
{
	json_t *list = json_object_get(args, name), *v;

	if (!(v = word_string(op, name, w, args))) {
		fprintf(stderr, "abs-ctl: %s: '%s' is not UTF-8 and %s has no"
		    " bytes form for it\n", op->name, name, op->name);
		return -1;
	}
	if (json_is_null(v))
		return 0;	/* in NAME_b64 */
	if (!list) {
		list = json_array();
		json_object_set_new(args, name, list);
	}
	json_array_append_new(list, v);
	return 0;
}

/* Set args' string name to w (the bytes form too if it is not UTF-8). */
static int
string_set(const struct proto_op *op, const char *name, const char *w,
    json_t *args)
{
	json_t *v = word_string(op, name, w, args);

	if (!v) {
		fprintf(stderr, "abs-ctl: %s: '%s' is not UTF-8 and %s has no"
		    " bytes form for it\n", op->name, name, op->name);
		return -1;
	}
	json_object_set_new(args, name, v);
	return 0;
}

/* The right form of a command, after a usage error. */
static void
say_usage(const struct proto_op *op)
{
	fprintf(stderr, "usage: abs-ctl %s\n", op->usage);
}

/* Parse argv into the op's arguments. */
static int
build_args(const struct proto_op *op, int argc, char **argv, json_t *args)
{
	int pos = 0;

	/*
	 * Options first: --name VALUE anywhere; a list option (--path P)
	 * may come again, and an integer option the usage line shows without
	 * a value ("[--level-only]") is a flag: 1.
	 */
	for (int i = 0; i < argc; i++) {
		if (!argv[i] || strncmp(argv[i], "--", 2) != 0)
			continue;
		char name[64];
		snprintf(name, sizeof(name), "%s", argv[i] + 2);
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		const char *sp = op->args;
		char sname[64], type = 0;
		bool opt, found = false;
		while (!found && proto_spec_next(&sp, sname, sizeof(sname), &type,
		    &opt))
			found = strcmp(sname, name) == 0;
		if (!found) {
			fprintf(stderr, "abs-ctl: %s takes no %s\n", op->name, argv[i]);
			say_usage(op);
			return -1;
		}
		if (type == 'i' && op_flag(op, argv[i])) {
			json_object_set_new(args, name, json_integer(1));
			argv[i] = NULL;
			continue;
		}
		if (i + 1 >= argc || !argv[i + 1]) {
			fprintf(stderr, "abs-ctl: %s: %s needs a value\n", op->name,
			    argv[i]);
			say_usage(op);
			return -1;
		}
		if (type == 'S') {
			if (list_add(op, name, argv[i + 1], args) < 0)
				return -1;
		} else if (type == 'i') {
			char *end;
			long long v = strtoll(argv[i + 1], &end, 10);
			if (*end || !*argv[i + 1]) {
				fprintf(stderr, "abs-ctl: %s: %s takes a number, not '%s'\n",
				    op->name, argv[i], argv[i + 1]);
				say_usage(op);
				return -1;
			}
			json_object_set_new(args, name, json_integer(v));
		} else if (string_set(op, name, argv[i + 1], args) < 0) {
			return -1;
		}
		argv[i] = argv[i + 1] = NULL;
		i++;
	}
	/* Then the required ones, in table order. */
	const char *sp = op->args;
	char tok[64], type;
	bool opt;
	while (proto_spec_next(&sp, tok, sizeof(tok), &type, &opt)) {
		/* given as --name VALUE already ("--changer URI") */
		if (opt || json_object_get(args, tok))
			continue;
		while (pos < argc && !argv[pos])
			pos++;
		if (type == 'S') {
			if (!json_object_get(args, tok))
				json_object_set_new(args, tok, json_array());
			for (; pos < argc; pos++)
				if (argv[pos] && list_add(op, tok, argv[pos], args) < 0)
					return -1;
			continue;
		}
		if (pos >= argc) {
			{
			char up[64];
			for (size_t k = 0; k < sizeof(up); k++)
				if (!(up[k] = (char)toupper((unsigned char)tok[k])))
					break;
			up[sizeof(up) - 1] = 0;
			fprintf(stderr, "abs-ctl: %s needs %s\n", op->name, up);
			}
			say_usage(op);
			return -1;
		}
		if (type == 'u') {	/* digits: a uid; else an identity */
			char *end;
			long long v = strtoll(argv[pos], &end, 10);
			if (*argv[pos] && !*end)
				json_object_set_new(args, tok, json_integer(v));
			else if (string_set(op, tok, argv[pos], args) < 0)
				return -1;
		} else if (type == 'i') {
			char *end;
			errno = 0;
			long long v = strtoll(argv[pos], &end, 10);
			/* Empty or past 64 bits: not job 0 or the largest id. */
			if (!*argv[pos] || *end || errno == ERANGE) {
				fprintf(stderr, "abs-ctl: %s: '%s' is not a number\n",
				    op->name, argv[pos]);
				say_usage(op);
				return -1;
			}
			json_object_set_new(args, tok, json_integer(v));
		} else if (string_set(op, tok, argv[pos], args) < 0) {
			return -1;
		}
		pos++;
	}
	for (; pos < argc; pos++)
		if (argv[pos]) {
			fprintf(stderr, "abs-ctl: %s: unexpected '%s'\n", op->name,
			    argv[pos]);
			say_usage(op);
			return -1;
		}
	return 0;
}

/* The exit code for a refusal's code. */
static int
exit_for(const char *code)
{
	if (!code)
		return EX_FAIL;
	if (strcmp(code, PROTO_E_DENIED) == 0)
		return EX_DENIED;
	if (strcmp(code, PROTO_E_NOT_FOUND) == 0 ||
	    strcmp(code, PROTO_E_NO_DRIVE) == 0)
		return EX_NOTFOUND;
	if (strcmp(code, PROTO_E_BAD_ARGS) == 0 ||
	    strcmp(code, PROTO_E_BAD_REQUEST) == 0)
		return EX_USAGE;
	return EX_FAIL;
}

/*
 * The rejected lines of a chunk: each named by its file and line number
 * (where[i] is "FILE:N" for the chunk's line i) and said on stderr.
 */
static void
merge_rejected(json_t *rejected, json_t *where)
{
	size_t i;
	json_t *r;

	json_array_foreach(rejected, i, r) {
		json_int_t n = json_integer_value(json_object_get(r, "line"));
		const char *at = json_string_value(json_array_get(where, (size_t)n));

		json_object_set_new(r, "line", json_string(at ? at : "?"));
		fprintf(stderr, "abs-ctl merge: %s: rejected, nothing of it merged: "
		    "%s\n", at ? at : "?",
		    json_string_value(json_object_get(r, "why")));
	}
}

/* The longest dump-log line merge sends. */
#define MERGE_LINE_MAX 4000

/* A merge's lines on their way: a chunk, where each came from, labels. */
struct merge_out {
	json_t *lines, *where;	/* the chunk, and "FILE:N" of each line */
	json_t *map;		/* generated label -> physical label */
	json_t *confirm;	/* "TAPE-ID LABEL" the operator confirmed */
	json_t *total;
	const char *pool;
	size_t chunk;
};

/* Send the chunk of dump-log lines; add its counts to the totals. */
static int
merge_chunk(struct merge_out *mo)
{
	json_t *args = json_pack("{s:O}", "lines", mo->lines), *rep, *res, *v;
	const char *k;
	int rc = EX_OK;

	if (mo->pool)
		json_object_set_new(args, "pool", json_string(mo->pool));
	if (json_array_size(mo->confirm))
		json_object_set_new(args, "label_map", json_incref(mo->confirm));
	rep = call("merge", args);
	json_decref(args);
	json_array_clear(mo->lines);
	mo->chunk = 0;
	if (!rep)
		return call_failed();
	if (!json_is_true(json_object_get(rep, "ok"))) {
		fprintf(stderr, "abs-ctl merge: %s\n",
		    json_string_value(json_object_get(rep, "error")));
		rc = exit_for(json_string_value(json_object_get(rep, "code")));
	} else {
		res = json_object_get(rep, "result");
		merge_rejected(json_object_get(res, "rejected"), mo->where);
		json_object_foreach(res, k, v) {
			json_t *t = json_object_get(mo->total, k);
			if (json_is_integer(v))
				json_object_set_new(mo->total, k, json_integer(
				    json_integer_value(v) + json_integer_value(t)));
			else if (json_is_array(v) && !t)
				json_object_set(mo->total, k, v);
			else if (json_is_array(v))
				json_array_extend(t, v);
		}
	}
	json_array_clear(mo->where);
	json_decref(rep);
	return rc;
}

/* Whether a label is one the catalog stores (as cat_name_valid). */
static bool
label_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || strchr("%=|", *s) ||
		    (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/*
 * --label-map FILE: "GENERATED PHYSICAL" a line ('#' comments) into map;
 * EX_OK or EX_USAGE after saying why.
 */
static int
read_label_map(const char *path, json_t *map)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, a[128], b[128];
	size_t cap = 0;
	int n = 0, rc = EX_OK;

	if (!fp) {
		fprintf(stderr, "abs-ctl merge: %s: %s\n", path, strerror(errno));
		return EX_USAGE;
	}
	while (rc == EX_OK && getline(&line, &cap, fp) > 0) {
		n++;
		line[strcspn(line, "#\n")] = '\0';
		int k = sscanf(line, "%127s %127s", a, b);
		if (k <= 0)
			continue;
		if (k != 2 || !label_ok(a) || !label_ok(b)) {
			fprintf(stderr, "abs-ctl merge: %s:%d: not 'GENERATED-LABEL "
			    "PHYSICAL-LABEL'\n", path, n);
			rc = EX_USAGE;
		} else {
			json_object_set_new(map, a, json_string(b));
		}
	}
	free(line);
	fclose(fp);
	return rc;
}

/*
 * The physical label of each tape a crippled-mode journal directory
 * labelled: from the map, else asked on the terminal; EX_USAGE when
 * neither can say.
 */
static int
confirm_labels(const char *dir, json_t *map)
{
	char path[4096], *line = NULL, label[128], id[128], state[32];
	size_t cap = 0;
	int rc = EX_OK;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/active-tapes", dir);
	if (!(fp = fopen(path, "r")))
		return errno == ENOENT ? EX_OK : EX_USAGE;
	while (rc == EX_OK && getline(&line, &cap, fp) > 0) {
		char answer[128] = "", pool[128], at[64], how[16] = "";
		if (line[0] == '#' || sscanf(line, "%127s %127s %31s %127s %63s "
		    "%15s", label, id, state, pool, at, how) < 3 ||
		    strcmp(state, "offered") == 0 || json_object_get(map, label))
			continue;
		/* Labelled with its library barcode: that is its sticker. */
		if (strcmp(how, "barcode") == 0 && label_ok(label)) {
			json_object_set_new(map, label, json_string(label));
			continue;
		}
		if (!isatty(0) || !isatty(2)) {
			fprintf(stderr, "abs-ctl merge: tape %s (ID %s) was labelled "
			    "in crippled mode: give its physical label with "
			    "--label-map FILE (lines '%s PHYSICAL'), or run on a "
			    "terminal\n", label, id, label);
			rc = EX_USAGE;
			break;
		}
		for (;;) {
			fprintf(stderr, "tape %s (ID %s, %s, written in crippled mode):"
			    " its physical label [%s]? ", label, id, state, label);
			if (!fgets(answer, sizeof(answer), stdin)) {
				rc = EX_USAGE;
				break;
			}
			answer[strcspn(answer, "\r\n")] = '\0';
			if (!answer[0])
				snprintf(answer, sizeof(answer), "%s", label);
			if (label_ok(answer))
				break;
			fprintf(stderr, "a label is 1-63 characters, no blanks, %%, ="
			    " or |\n");
		}
		if (rc == EX_OK)
			json_object_set_new(map, label, json_string(answer));
	}
	free(line);
	fclose(fp);
	return rc;
}

/*
 * A dump-log line with its label= mapped to the physical label; the
 * tape's "TAPE-ID LABEL" confirmation into confirm (once).
 */
static char *
map_line(const char *line, json_t *map, json_t *confirm)
{
	char *copy = strdup(line), *save = NULL, *tok, *out;
	const char *phys = NULL, *tape = NULL;
	size_t len = strlen(line) + 256;

	if (!copy || !(out = calloc(1, len))) {
		free(copy);
		return NULL;
	}
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ",
	    &save)) {
		if (strncmp(tok, "label=", 6) == 0 &&
		    (phys = json_string_value(json_object_get(map, tok + 6)))) {
			strcat(out, "label=");
			strcat(out, phys);
		} else {
			strcat(out, tok);
		}
		if (strncmp(tok, "tape=", 5) == 0)
			tape = tok + 5;
		strcat(out, " ");
	}
	if (*out)
		out[strlen(out) - 1] = '\0';
	if (phys && tape && strcmp(tape, "-") != 0) {
		char entry[256];
		json_t *e;
		size_t i;
		bool have = false;
		snprintf(entry, sizeof(entry), "%s %s", tape, phys);
		json_array_foreach(confirm, i, e)
			have = have || strcmp(json_string_value(e), entry) == 0;
		if (!have)
			json_array_append_new(confirm, json_string(entry));
	}
	free(copy);
	return out;
}

/*
 * A line too long to send is a rejected line like any other: counted,
 * named by FILE:LINE in the totals and on stderr (merge then exits 1).
 */
static void
merge_too_long(struct merge_out *mo, const char *path, long no, ssize_t n)
{
	json_t *rej = json_object_get(mo->total, "rejected");
	json_t *cnt = json_object_get(mo->total, "rejected_lines");
	char why[96];

	snprintf(why, sizeof(why), "a line of %zd bytes (the limit is %d)", n,
	    MERGE_LINE_MAX);
	if (!json_is_array(rej)) {
		rej = json_array();
		json_object_set_new(mo->total, "rejected", rej);
	}
	json_array_append_new(rej, json_pack("{s:o,s:s}", "line",
	    json_sprintf("%s:%ld", path, no), "why", why));
	json_object_set_new(mo->total, "rejected_lines",
	    json_integer(json_integer_value(cnt) + 1));
	fprintf(stderr, "abs-ctl merge: %s:%ld: rejected, nothing of it merged: "
	    "%s\n", path, no, why);
}

/* One file of dump-log lines, mapped, sent in chunks. */
static int
merge_file(struct merge_out *mo, const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL, *m;
	size_t cap = 0;
	ssize_t n;
	int rc = EX_OK;

	if (!fp) {
		if (errno == ENOENT && strstr(path, "/dumplog"))
			return EX_OK;	/* a journal directory with no dump yet */
		fprintf(stderr, "abs-ctl merge: %s: %s\n", path, strerror(errno));
		return EX_USAGE;
	}
	for (long no = 1; rc == EX_OK && (n = getline(&line, &cap, fp)) > 0;
	    no++) {
		line[strcspn(line, "\n")] = '\0';
		if ((size_t)n >= MERGE_LINE_MAX) {
			merge_too_long(mo, path, no, n);
			continue;
		}
		if (!(m = map_line(line, mo->map, mo->confirm))) {
			rc = EX_FAIL;
			break;
		}
		json_array_append_new(mo->lines, json_string(m));
		json_array_append_new(mo->where, json_sprintf("%s:%ld", path, no));
		mo->chunk += strlen(m) + 8;
		free(m);
		if (mo->chunk > 48 * 1024)
			rc = merge_chunk(mo);
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

/*
 * merge [--pool P] [--label-map FILE] DUMPLOG...|JOURNAL-DIR: the files
 * are read here and sent in chunks that fit a request; abs-ctld never
 * opens a path a client names. A crippled-mode journal directory gives
 * its dump log, and every tape it labelled needs its physical label
 * (--label-map, or asked on the terminal).
 */
static int
run_merge(int argc, char **argv)
{
	struct merge_out mo = {
		.lines = json_array(), .where = json_array(), .map = json_object(),
		.confirm = json_array(), .total = json_pack("{s:[]}", "conflicts"),
	};
	int rc = EX_OK, files = 0;

	for (int i = 1; i < argc && rc == EX_OK; i++) {
		if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc)
			mo.pool = argv[++i];
		else if (strcmp(argv[i], "--label-map") == 0 && i + 1 < argc)
			rc = read_label_map(argv[++i], mo.map);
	}
	for (int i = 1; i < argc && rc == EX_OK; i++) {
		struct stat st;
		char path[4096];
		if ((strcmp(argv[i], "--pool") == 0 ||
		    strcmp(argv[i], "--label-map") == 0) && i + 1 < argc) {
			i++;
			continue;
		}
		files++;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(path, sizeof(path), "%s/dumplog", argv[i]);
			if ((rc = confirm_labels(argv[i], mo.map)) == EX_OK)
				rc = merge_file(&mo, path);
		} else {
			rc = merge_file(&mo, argv[i]);
		}
	}
	if (rc == EX_OK && !files) {
		fprintf(stderr, "abs-ctl merge: no dump log named\n");
		say_usage(proto_find("merge"));
		rc = EX_USAGE;
	}
	if (rc == EX_OK && json_array_size(mo.lines))
		rc = merge_chunk(&mo);
	json_decref(mo.lines);
	json_decref(mo.where);
	json_decref(mo.map);
	json_decref(mo.confirm);
	if (rc == EX_OK) {
		if (json_out) {
			char *s = json_dumps(mo.total, JSON_COMPACT);
			printf("%s\n", s ? s : "{}");
			free(s);
		} else {
			print_human(mo.total);
		}
		/* Labels to check by hand, damaged lines to look at. */
		if (json_array_size(json_object_get(mo.total, "conflicts")) ||
		    json_array_size(json_object_get(mo.total, "rejected")))
			rc = EX_FAIL;
	}
	json_decref(mo.total);
	return rc;
}

/*
 * dump DRIVE --partition SERVER:PARTITION | --server SERVER: the rows
 * dump-partition and dump-server, written as a dump. argv is rewritten
 * in place (the option and its value become the word after DRIVE); the
 * new argc.
 */
static int
dump_listed_syntax(int argc, char **argv)
{
	if (strcmp(argv[0], "dump") != 0 || argc < 4)
		return argc;
	for (int i = 2; i + 1 < argc; i++) {
		const char *row = strcmp(argv[i], "--partition") == 0 ?
		    "dump-partition" : strcmp(argv[i], "--server") == 0 ?
		    "dump-server" : NULL;
		if (!row)
			continue;
		char *value = argv[i + 1];
		/* [dump D a.. OPT V b..] -> [row D V a.. b..] */
		memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) *
		    sizeof(*argv));
		memmove(&argv[3], &argv[2], (size_t)(argc - 4) * sizeof(*argv));
		argv[2] = value;
		argv[0] = (char *)row;
		return argc - 1;
	}
	return argc;
}

/* The drive's state and its newest "rebuild done" message in a status. */
static const char *
rebuild_state(json_t *status, const char *drive, const char **done,
    const char **level)
{
	json_t *d, *m;
	size_t i, j;

	json_array_foreach(json_object_get(status, "drives"), i, d) {
		if (strcmp(json_string_value(json_object_get(d, "drive")) ?
		    json_string_value(json_object_get(d, "drive")) : "", drive))
			continue;
		json_array_foreach(json_object_get(d, "messages"), j, m) {
			const char *t = json_string_value(json_object_get(m, "text"));
			if (t && strncmp(t, "rebuild done:", 13) == 0) {
				*done = t;
				*level = json_string_value(json_object_get(m, "level"));
			}
		}
		return json_string_value(json_object_get(d, "state"));
	}
	return NULL;
}

/* A label map as "GENERATED PHYSICAL" strings (the request's form). */
static json_t *
label_pairs(json_t *map)
{
	json_t *out = json_array(), *v;
	const char *k;
	char pair[300];

	json_object_foreach(map, k, v) {
		snprintf(pair, sizeof(pair), "%s %s", k, json_string_value(v));
		json_array_append_new(out, json_string(pair));
	}
	return out;
}

/*
 * rebuild --drive D [--library] [--label-map FILE]: start the media
 * server's scan, then wait for it to end and print its summary (exit 1 if
 * a cartridge or part was refused or damaged, or the scan stopped). The
 * label map names the sticker of each crippled-mode tape, as for merge.
 */
static int
run_rebuild(int argc, char **argv)
{
	json_t *args = json_object(), *rep, *st = NULL, *map = json_object();
	const char *drive = NULL, *done = NULL, *level = NULL, *state;
	int rc = EX_OK;

	for (int i = 1; i < argc && rc == EX_OK; i++) {
		if (strcmp(argv[i], "--drive") == 0 && i + 1 < argc)
			drive = argv[++i];
		else if (strcmp(argv[i], "--library") == 0)
			json_object_set_new(args, "library", json_integer(1));
		else if (strcmp(argv[i], "--label-map") == 0 && i + 1 < argc)
			rc = read_label_map(argv[++i], map);
		else
			drive = NULL, i = argc;
	}
	if (json_object_size(map))
		json_object_set_new(args, "label_map", label_pairs(map));
	json_decref(map);
	if (!drive || rc != EX_OK) {
		fprintf(stderr, "usage: abs-ctl rebuild --drive DRIVE [--library]"
		    " [--label-map FILE]\n");
		json_decref(args);
		return EX_USAGE;
	}
	json_object_set_new(args, "drive", json_string(drive));
	rep = call("rebuild", args);
	json_decref(args);
	if (!rep)
		return call_failed();
	if (!json_is_true(json_object_get(rep, "ok"))) {
		fprintf(stderr, "abs-ctl rebuild: %s\n",
		    json_string_value(json_object_get(rep, "error")));
		rc = exit_for(json_string_value(json_object_get(rep, "code")));
		json_decref(rep);
		return rc;
	}
	json_decref(rep);
	do {
		json_decref(st);
		st = NULL;
		usleep(200000);
		json_t *none = json_object();
		rep = call("status", none);
		json_decref(none);
		if (!rep) {
			json_decref(st);
			return call_failed();
		}
		st = json_incref(json_object_get(rep, "result"));
		json_decref(rep);
		done = level = NULL;
		state = rebuild_state(st, drive, &done, &level);
	} while (state && strcmp(state, "scanning") == 0);
	if (!done) {
		fprintf(stderr, "abs-ctl rebuild: drive %s stopped scanning without a"
		    " summary (its media server went away?)\n", drive);
		rc = EX_FAIL;
	} else {
		printf("%s\n", done);
		if (level && strcmp(level, "info") != 0)
			rc = EX_FAIL;
	}
	json_decref(st);
	return rc;
}

/* A request with args (taken); the result, or NULL (said) and *rc. */
static json_t *
call_result(const char *op, json_t *args, int *rc)
{
	json_t *rep = call(op, args), *res;

	json_decref(args);
	if (!rep) {
		*rc = call_failed();
		return NULL;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		fprintf(stderr, "abs-ctl %s: %s\n", op,
		    json_string_value(json_object_get(rep, "error")));
		*rc = exit_for(json_string_value(json_object_get(rep, "code")));
		json_decref(rep);
		return NULL;
	}
	res = json_incref(json_object_get(rep, "result"));
	json_decref(rep);
	return res;
}

/* Say each job of the run that ended since the last look. */
static void
run_progress(json_t *jobs, json_t *seen)
{
	size_t i;
	json_t *j;

	json_array_foreach(jobs, i, j) {
		const char *st = json_string_value(json_object_get(j, "state"));
		const char *det = json_string_value(json_object_get(j, "detail"));
		char key[32];
		if (!st || !strcmp(st, "queued") || !strcmp(st, "running"))
			continue;
		snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(
		    json_object_get(j, "job")));
		if (json_object_get(seen, key))
			continue;
		json_object_set_new(seen, key, json_true());
		printf("  %-30s level %lld on %s: %s%s%s\n",
		    json_string_value(json_object_get(j, "entity")),
		    (long long)json_integer_value(json_object_get(j, "level")),
		    json_string_value(json_object_get(j, "drive")), st,
		    strcmp(st, "done") && det ? " (" : "",
		    strcmp(st, "done") && det ? det : "");
		if (strcmp(st, "done") && det)
			printf(")\n");
		fflush(stdout);
	}
}

/*
 * At a terminal: a drive of the run waits at a cartridge change; ask
 * whether to start another tape (run-continue) or leave it idle
 * (run-stop). Without one nothing is asked: someone else decides.
 */
static int
run_ask(json_int_t id, json_t *live)
{
	char line[64];
	size_t i;
	json_t *d;
	int rc = EX_OK;

	if (!isatty(0) || !isatty(1))
		return EX_OK;
	json_array_foreach(json_object_get(live, "drives"), i, d) {
		if (!json_is_true(json_object_get(d, "waiting")))
			continue;
		printf("start another tape on %s? [y/N] ",
		    json_string_value(json_object_get(d, "drive")));
		fflush(stdout);
		bool yes = fgets(line, sizeof(line), stdin) &&
		    (line[0] == 'y' || line[0] == 'Y');
		json_t *r = yes ? call_result("run-continue", json_pack("{s:I,s:I}",
		    "id", id, "tapes", (json_int_t)1), &rc) : call_result("run-stop",
		    json_pack("{s:I}", "id", id), &rc);
		if (!yes && r)
			printf("the drive stays idle; the run ends after the dumps"
			    " in progress\n");
		json_decref(r);
		break;		/* one answer concerns the whole run */
	}
	return rc;
}

/*
 * run DRIVE... [--tapes N] [--until TIME]: start tonight's run, follow it
 * (each dump as it ends; at a terminal, the question at each cartridge
 * change), exit 0 if everything planned was dumped, EX_INCOMPLETE (7) if
 * some dump failed or was not started.
 */
static int
run_run(const struct proto_op *op, int argc, char **argv)
{
	json_t *args = json_object(), *res, *seen;
	const char *state = "running";
	json_int_t id;
	int rc = EX_OK;

	if (build_args(op, argc - 1, argv + 1, args) < 0) {
		json_decref(args);
		return EX_USAGE;
	}
	if (!(res = call_result("run", args, &rc)))
		return rc;
	if (json_is_null(json_object_get(res, "run"))) {	/* nothing to do */
		printf("%s\n", json_string_value(json_object_get(res, "note")));
		json_decref(res);
		return EX_OK;
	}
	id = json_integer_value(json_object_get(res, "run"));
	if (!json_out)
		printf("run %lld on %s: %lld dumps planned for the night of %s\n",
		    (long long)id, json_string_value(json_object_get(res, "drives")),
		    (long long)json_integer_value(json_object_get(res, "planned")),
		    json_string_value(json_object_get(res, "night")));
	if (!json_out && json_is_string(json_object_get(res, "note")))
		printf("%s\n", json_string_value(json_object_get(res, "note")));
	json_decref(res);
	seen = json_object();
	for (res = NULL; strcmp(state, "running") == 0; sleep(1)) {
		json_decref(res);
		if (!(res = call_result("runs", json_pack("{s:I}", "id", id), &rc)))
			break;
		state = json_string_value(json_object_get(res, "state")) ?
		    json_string_value(json_object_get(res, "state")) : "?";
		if (!json_out)
			run_progress(json_object_get(res, "jobs"), seen);
		if (strcmp(state, "running") == 0 && (rc = run_ask(id,
		    json_object_get(res, "live"))) != EX_OK)
			break;
	}
	if (res && strcmp(state, "running") != 0) {
		if (json_out) {
			char *s = json_dumps(res, JSON_COMPACT);
			printf("%s\n", s ? s : "{}");
			free(s);
		} else {
			printf("run %lld %s: %s\n", (long long)id, state,
			    json_string_value(json_object_get(res, "detail")) ?
			    json_string_value(json_object_get(res, "detail")) : "");
		}
		rc = strcmp(state, "done") == 0 ? EX_OK : EX_INCOMPLETE;
	}
	json_decref(res);
	json_decref(seen);
	fflush(stdout);
	return rc;
}

/*
 * What restore and find take, checked here as abs-ctld checks it: --date
 * a date prefix; --to a path on the media server's host, made absolute
 * from our working directory (a relative one would name a place in the
 * media server's). 0, or -1 said.
 */
static int
check_restore_args(const struct proto_op *op, json_t *args)
{
	const char *date = json_string_value(json_object_get(args, "date"));
	const char *to = json_string_value(json_object_get(args, "to"));
	char cwd[4096], *abs;

	if (json_object_get(args, "date") && (!date ||
	    !date_prefix_valid(date))) {
		fprintf(stderr, "abs-ctl %s: --date %s: a date is " DATE_FORMS
		    "\n", op->name, date ? date : "(not UTF-8)");
		return -1;
	}
	if (json_object_get(args, "to") && (!to || !*to)) {
		fprintf(stderr, "abs-ctl %s: --to needs a path\n", op->name);
		return -1;
	}
	if (to && to[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr, "abs-ctl %s: --to %s is relative and the"
			    " working directory is unknown (%s): give an absolute"
			    " path\n", op->name, to, strerror(errno));
			return -1;
		}
		if (asprintf(&abs, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "",
		    to) < 0)
			return -1;
		json_object_set_new(args, "to", json_string(abs));
		free(abs);
	}
	return 0;
}

/*
 * report --html FILE | --mime: the night's report, its cycle's history,
 * pools and errors as one web page (FILE, - for stdout; written whole or
 * not at all), or a mail carrying it and the text (for sendmail -t).
 */
static int
run_report_page(int argc, char **argv)
{
	struct rh_opts o = { .version = ABS_VERSION };
	const char *html = NULL, *subject = NULL;
	json_t *to = json_array(), *data = NULL;
	bool mime = false;
	int rc = EX_OK;
	char *end;

	o.floors = json_object();
	for (int i = 1; i < argc && rc == EX_OK; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strcmp(a, "--mime") != 0;
		if (takes && !v) {
			fprintf(stderr, "abs-ctl report: %s needs a value\n", a);
			rc = EX_USAGE;
		} else if (strcmp(a, "--html") == 0) {
			html = v;
		} else if (strcmp(a, "--mime") == 0) {
			mime = true;
		} else if (strcmp(a, "--to") == 0) {
			json_array_append_new(to, json_string(v));
		} else if (strcmp(a, "--subject") == 0) {
			subject = v;
		} else if (strcmp(a, "--night") == 0) {
			o.night = v;
		} else if (strcmp(a, "--nights") == 0) {
			long n = strtol(v, &end, 10);
			if (*end || !*v || n < 1 || n > 62) {
				fprintf(stderr, "abs-ctl report: --nights takes 1 to 62, "
				    "not '%s'\n", v);
				rc = EX_USAGE;
			}
			o.nights = (int)n;
		} else if (strcmp(a, "--floor") == 0) {
			const char *eq = strchr(v, '=');
			double mbs = strtod(eq ? eq + 1 : v, &end);
			if (*end || end == (eq ? eq + 1 : v) || !(mbs > 0 && mbs <
			    1e6) || (eq && eq == v)) {
				fprintf(stderr, "abs-ctl report: --floor takes MB/s or "
				    "DRIVE=MB/s (the drive's slowest speed-matching rate,"
				    " e.g. d0=177), not '%s'\n", v);
				rc = EX_USAGE;
			} else {
				char drive[128];
				snprintf(drive, sizeof(drive), "%.*s", eq ? (int)(eq - v) :
				    0, v);
				json_object_set_new(o.floors, eq ? drive : "*",
				    json_real(mbs));
			}
		} else {
			fprintf(stderr, "abs-ctl report: unknown option %s\n", a);
			rc = EX_USAGE;
		}
		if (takes)
			i++;
	}
	if (rc == EX_OK && !html == !mime) {
		fprintf(stderr, "abs-ctl report: %s\n", html ? "--html or --mime,"
		    " not both" : "--html FILE or --mime");
		rc = EX_USAGE;
	}
	if (rc == EX_OK && o.night && (strlen(o.night) != 10 ||
	    !date_prefix_valid(o.night))) {
		fprintf(stderr, "abs-ctl report: --night takes YYYY-MM-DD, not "
		    "'%s'\n", o.night);
		rc = EX_USAGE;
	}
	if (rc == EX_USAGE)
		fprintf(stderr, "usage: abs-ctl " REPORT_PAGE_USAGE "\n");
	if (rc == EX_OK && !(data = rh_gather(call_result, &o, &rc)) && rc ==
	    EX_OK)
		rc = EX_FAIL;
	if (data && mime) {
		if (rh_write_mime(stdout, data, to, subject) < 0 ||
		    fflush(stdout) != 0) {
			fprintf(stderr, "abs-ctl report: writing the mail: %s\n",
			    strerror(errno));
			rc = EX_FAIL;
		}
	} else if (data && strcmp(html, "-") == 0) {
		if (rh_write_html(stdout, data) < 0 || fflush(stdout) != 0) {
			fprintf(stderr, "abs-ctl report: writing the page: %s\n",
			    strerror(errno));
			rc = EX_FAIL;
		}
	} else if (data) {
		/* Beside it, then renamed: a reader never sees half a page. */
		char *tmp = NULL;
		FILE *fp = NULL;
		if (asprintf(&tmp, "%s.tmp%ld", html, (long)getpid()) < 0)
			tmp = NULL;
		if (!tmp || !(fp = fopen(tmp, "w")) || rh_write_html(fp, data) < 0 ||
		    fclose(fp) != 0 || (fp = NULL, rename(tmp, html) < 0)) {
			fprintf(stderr, "abs-ctl report: %s: %s\n", html,
			    strerror(errno));
			if (fp)
				fclose(fp);
			if (tmp)
				unlink(tmp);
			rc = EX_FAIL;
		}
		free(tmp);
	}
	json_decref(data);
	json_decref(to);
	json_decref(o.floors);
	return rc;
}

/* Whether a report command asks for the page or the mail. */
static bool
report_page_wanted(int argc, char **argv)
{
	static const char *const opts[] = { "--html", "--mime", "--to",
	    "--subject", "--nights", "--floor" };

	for (int i = 1; i < argc; i++)
		for (size_t k = 0; k < sizeof(opts) / sizeof(*opts); k++)
			if (argv[i] && strcmp(argv[i], opts[k]) == 0)
				return true;
	return false;
}

static int globals_after(int argc, char **argv);

/* One command (argv[0]) with its words; the exit code. */
static int
run_command(int argc, char **argv)
{
	const struct proto_op *op;
	json_t *args, *rep;
	int rc;

	argc = dump_listed_syntax(argc, argv);
	op = proto_find(argv[0]);

	if (!op || (op->flags & PROTO_F_INTERNAL)) {
		fprintf(stderr, "abs-ctl: unknown command '%s' (abs-ctl --help)\n",
		    argv[0]);
		return EX_USAGE;
	}
	/* The global options after the command (a batch line's too). */
	if ((argc = globals_after(argc, argv)) < 0)
		return EX_USAGE;
	if (strcmp(op->name, "merge") == 0)
		return run_merge(argc, argv);
	if (strcmp(op->name, "rebuild") == 0)
		return run_rebuild(argc, argv);
	if (strcmp(op->name, "run") == 0)
		return run_run(op, argc, argv);
	if (strcmp(op->name, "report") == 0 && report_page_wanted(argc, argv))
		return run_report_page(argc, argv);
	/* dump --wait: abs-ctl's own, no argument of the request */
	bool wait = false;
	if (strcmp(op->name, "dump") == 0)
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], "--wait") == 0) {
				wait = true;
				memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) *
				    sizeof(*argv));
				argc--;
				i--;
			}
	args = json_object();
	if (build_args(op, argc - 1, argv + 1, args) < 0 ||
	    ((strcmp(op->name, "restore") == 0 || strcmp(op->name, "find") ==
	    0) && check_restore_args(op, args) < 0)) {
		json_decref(args);
		return EX_USAGE;
	}
	/* A request abs-ctld would refuse as too long, said here. */
	char *line = json_dumps(args, JSON_COMPACT);
	size_t len = line ? strlen(line) : 0;
	free(line);
	if (len + 128 > PROTO_MAX_LINE) {
		size_t np = json_array_size(json_object_get(args, "path")) +
		    json_array_size(json_object_get(args, "path_b64"));
		fprintf(stderr, "abs-ctl %s: the request takes %zu bytes, more than"
		    " the %d a request may have", op->name, len + 128,
		    PROTO_MAX_LINE);
		if (np)
			fprintf(stderr, " (%zu paths): restore fewer at once, or a"
			    " directory that holds them", np);
		fputc('\n', stderr);
		json_decref(args);
		return EX_USAGE;
	}
	/* A job runs for hours: job-wait waits for its end without a limit
	   (unless --timeout says one). */
	if (strcmp(op->name, "job-wait") == 0 && !timeout_given &&
	    connect_daemon() == 0)
		proto_conn_set_timeout(conn, 0);
	rep = call(op->name, args);
	json_decref(args);
	if (!rep)
		return call_failed();
	if (!json_is_true(json_object_get(rep, "ok"))) {
		const char *code = json_string_value(json_object_get(rep, "code"));
		if (json_out) {
			char *s = json_dumps(rep, JSON_COMPACT);
			printf("%s\n", s ? s : "{}");
			free(s);
		}
		fprintf(stderr, "abs-ctl %s: %s\n", op->name,
		    json_string_value(json_object_get(rep, "error")));
		rc = exit_for(code);
	} else {
		json_t *res = json_object_get(rep, "result");
		if (json_out) {
			char *s = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
			printf("%s\n", s ? s : "null");
			free(s);
		} else if (strcmp(op->name, "status") == 0) {
			print_status(res);
		} else if (strcmp(op->name, "report") == 0 &&
		    json_is_string(json_object_get(res, "text"))) {
			fputs(json_string_value(json_object_get(res, "text")), stdout);
		} else if (strcmp(op->name, "types") == 0) {
			print_types(res);
		} else if (strcmp(op->name, "discover") == 0) {
			print_discover(res);
		} else if (strcmp(op->name, "find") == 0) {
			print_find(res);
		} else if (strcmp(op->name, "entity") == 0) {
			print_entity(res);
		} else if (strcmp(op->name, "inventory") == 0) {
			print_inventory(res);
		} else if (strcmp(op->name, "libraries") == 0) {
			print_libraries(res);
		} else if (strcmp(op->name, "shadows") == 0) {
			print_shadows(res);
		} else if (strcmp(op->name, "archive-list") == 0) {
			print_archives(res);
		} else if (strcmp(op->name, "archive-find") == 0) {
			print_archive_find(res);
		} else {
			print_human(res);
		}
		rc = EX_OK;
		/* discover: a command that failed is a failure (--json too) */
		if (strcmp(op->name, "discover") == 0 &&
		    json_array_size(json_object_get(res, "failed")))
			rc = EX_FAIL;
		if (wait) {
			fflush(stdout);
			rc = wait_jobs(res);
		}
		/* job-wait: a job that failed or was aborted is a failure */
		if (strcmp(op->name, "job-wait") == 0 && strcmp(json_string_value(
		    json_object_get(res, "state")) ? json_string_value(
		    json_object_get(res, "state")) : "", "done") != 0)
			rc = EX_FAIL;
	}
	json_decref(rep);
	fflush(stdout);
	return rc;
}

/*
 * dump --wait: each job of the reply waited for (job-wait, on the same
 * connection, no time limit unless --timeout) and its end printed; 0 if
 * every one is done, else EX_FAIL (or the failure to ask).
 */
static int
wait_jobs(json_t *res)
{
	json_t *j;
	size_t i;
	int rc = EX_OK;

	if (!timeout_given)
		proto_conn_set_timeout(conn, 0);
	json_array_foreach(json_object_get(res, "jobs"), i, j) {
		json_t *args = json_pack("{s:O}", "job", j);
		json_t *end = call_result("job-wait", args, &rc);
		if (!end)
			return rc;
		if (json_out) {
			char *t = json_dumps(end, JSON_COMPACT);
			printf("%s\n", t ? t : "{}");
			free(t);
		} else {
			const char *det = json_string_value(json_object_get(end,
			    "detail"));
			printf("job %lld %s%s%s\n", (long long)json_integer_value(j),
			    json_string_value(json_object_get(end, "state")),
			    det ? ": " : "", det ? det : "");
		}
		if (strcmp(json_string_value(json_object_get(end, "state")) ?
		    json_string_value(json_object_get(end, "state")) : "",
		    "done") != 0)
			rc = EX_FAIL;
		json_decref(end);
		fflush(stdout);
	}
	return rc;
}

/* Split a batch line into words; "double quotes" group. */
static int
split_words(char *line, char **argv, int max)
{
	int n = 0;

	for (char *p = line; *p && n < max;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			break;
		if (*p == '"') {
			argv[n++] = ++p;
			while (*p && *p != '"')
				p++;
		} else {
			argv[n++] = p;
			while (*p && !isspace((unsigned char)*p))
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return n;
}

/* batch FILE|-: one command per line; the worst exit code. */
static int
run_batch(const char *path)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL, *argv[128];
	size_t cap = 0;
	int worst = EX_OK, lineno = 0, n;

	if (!fp) {
		fprintf(stderr, "abs-ctl: %s: %s\n", path, strerror(errno));
		return EX_USAGE;
	}
	while (getline(&line, &cap, fp) > 0) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if ((n = split_words(line, argv, 128)) == 0)
			continue;
		int rc = run_command(n, argv);
		if (rc) {
			fprintf(stderr, "abs-ctl: batch line %d failed\n", lineno);
			if (rc == EX_NODAEMON || conn_failed) {
				worst = rc;
				break;
			}
		}
		if (rc > worst)
			worst = rc;
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	return worst;
}

/*
 * raw: lines from stdin sent as they are, each reply line printed as it
 * comes (tests). The handshake comes first, its reply not printed.
 */
static int
run_raw(void)
{
	char *line = NULL, err[PROTO_ERRLEN];
	const char *rep;
	size_t cap = 0, rlen;
	ssize_t n;
	int rc = EX_OK;

	if ((rc = connect_daemon()))
		return rc;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (n == 1 && line[0] == '\n')
			continue;	/* abs-ctld answers no empty line */
		if (proto_send_raw(conn, line, (size_t)n, err) < 0) {
			rc = EX_NODAEMON;
			break;
		}
		if (line[n - 1] != '\n')
			break;
		if (proto_read_line(conn, -1, &rep, &rlen, err) <= 0) {
			rc = EX_NODAEMON;
			break;
		}
		fwrite(rep, 1, rlen, stdout);
		fputc('\n', stdout);
	}
	free(line);
	return rc;
}

/* Progress bars, refreshed every second. */
static int
watch(int count)
{
	for (int i = 0; count <= 0 || i < count; i++) {
		json_t *args = json_object(), *rep = call("status", args), *d;
		size_t j;

		json_decref(args);
		if (!rep)
			return call_failed();
		if (!json_is_true(json_object_get(rep, "ok"))) {
			fprintf(stderr, "abs-ctl watch: %s\n",
			    json_string_value(json_object_get(rep, "error")));
			json_decref(rep);
			return EX_DENIED;
		}
		if (isatty(1))
			printf("\033[H\033[J");
		json_array_foreach(json_object_get(json_object_get(rep, "result"),
		    "drives"), j, d) {
			double mb = (double)json_integer_value(json_object_get(d,
			    "bytes")) / 1e6;
			int fill = (int)((long long)mb / 64 % 41);
			printf("%-10s %-10s %-20s [%-40.*s] %9.1f MB %6.1f MB/s %s\n",
			    json_string_value(json_object_get(d, "drive")),
			    json_string_value(json_object_get(d, "state")),
			    json_string_value(json_object_get(d, "entity")), fill,
			    "########################################", mb,
			    json_number_value(json_object_get(d, "rate_mbs")),
			    json_string_value(json_object_get(d, "wants")));
		}
		fflush(stdout);
		json_decref(rep);
		if (count <= 0 || i + 1 < count)
			sleep(1);
	}
	return EX_OK;
}

/*
 * A global option at argv[i] (--socket PATH, --json, --timeout SEC, also
 * --socket=PATH): taken (1, *used words), not one (0), or wrong (-1, said).
 */
static int
global_option(int argc, char **argv, int i, int *used)
{
	const char *a = argv[i], *val = NULL;
	long tmo;
	char *end;

	*used = 1;
	static const char *const valued[] = { "--socket", "--timeout", "--host",
	    "--cert", "--key", "--ca", "--service" };
	size_t k, n = sizeof(valued) / sizeof(valued[0]), l = 0;

	if (strcmp(a, "--json") == 0) {
		json_out = true;
		return 1;
	}
	if (strcmp(a, "--krb") == 0) {
		auth.krb = true;
		return 1;
	}
	for (k = 0; k < n; k++) {
		l = strlen(valued[k]);
		if (strncmp(a, valued[k], l) == 0 && (a[l] == '=' || !a[l]))
			break;
	}
	if (k == n)
		return 0;
	if (a[l] == '=') {
		val = a + l + 1;
	} else {
		val = i + 1 < argc ? argv[i + 1] : NULL;
		*used = 2;
	}
	if (k != 1 && (!val || !*val)) {
		fprintf(stderr, "abs-ctl: %s needs %s (%s %s, before or after "
		    "the command)\n", valued[k], k == 0 ? "a path" : "a value",
		    valued[k], k == 0 ? "PATH" :
		    k == 2 ? "HOST[:PORT]" : k == 6 ? "abs/HOST" : "FILE");
		return -1;
	}
	switch (k) {
	case 0:
		sock_path = val;
		sock_given = true;
		return 1;
	case 2:	/* the same check abs-ctld's side makes, said early */
		if (strlen(val) > 260 || strchr(val, '/')) {
			fprintf(stderr, "abs-ctl: --host takes HOST[:PORT], not "
			    "'%.100s'\n", val);
			return -1;
		}
		snprintf(host_uri, sizeof(host_uri), "tls://%s", val);
		sock_path = host_uri;
		sock_given = true;
		return 1;
	case 3: auth.cert = val; return 1;
	case 4: auth.key = val; return 1;
	case 5: auth.ca = val; return 1;
	case 6: auth.service = val; return 1;
	}
	if (!val || !*val || (tmo = strtol(val, &end, 10)) < 0 || *end ||
	    tmo > 2000000) {
		fprintf(stderr, "abs-ctl: --timeout needs seconds, 0 (no limit) to "
		    "2000000, not '%s' (--timeout SEC, before or after the "
		    "command)\n", val ? val : "");
		return -1;
	}
	timeout_s = (int)tmo;
	timeout_given = true;
	return 1;
}

/*
 * Take the global options out of the words after the command (argv[0]),
 * where the command itself has no argument of their name (discover-add
 * has its own --timeout); a command's option value that looks like one is
 * left alone. The words left; -1 after a wrong one.
 */
static int
globals_after(int argc, char **argv)
{
	const struct proto_op *op = proto_find(argv[0]);
	int out = 1, used, rc;

	if (op && (op->flags & PROTO_F_INTERNAL))
		op = NULL;
	for (int i = 1; i < argc; i += used) {
		char name[64], type;
		used = 1;
		if (strncmp(argv[i], "--", 2) != 0) {
			argv[out++] = argv[i];
			continue;
		}
		snprintf(name, sizeof(name), "%s", argv[i] + 2);
		name[strcspn(name, "=")] = '\0';
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		/* abs-ctl's own options of a command, with a value each */
		bool own = (!op && strcmp(argv[0], "watch") == 0 &&
		    strcmp(name, "count") == 0) || (op && strcmp(op->name,
		    "report") == 0 && (strcmp(name, "html") == 0 ||
		    strcmp(name, "to") == 0 || strcmp(name, "subject") == 0 ||
		    strcmp(name, "nights") == 0 || strcmp(name, "floor") == 0));
		type = 0;
		if ((op && spec_type(op, name, &type)) || own) {
			/* The command's own: it and its value, as they are. */
			bool flag = op && type == 'i' && op_flag(op, argv[i]);
			argv[out++] = argv[i];
			if (!flag && !strchr(argv[i], '=') && i + 1 < argc)
				argv[out++] = argv[++i];
			continue;
		}
		if ((rc = global_option(argc, argv, i, &used)) < 0)
			return -1;
		if (rc == 0)
			argv[out++] = argv[i];	/* the command says what is wrong */
	}
	return out;
}

/*
 * Which abs-ctld: --socket or --host as given, else ABS_CTL_SOCKET, else
 * ABS_HOST (tls://), else the default socket; and the credentials for
 * TLS (their environment variables are read by proto/).
 */
static void
pick_daemon(void)
{
	const char *h = getenv("ABS_HOST");

	if (!sock_given && getenv("ABS_CTL_SOCKET") && *getenv("ABS_CTL_SOCKET"))
		sock_path = getenv("ABS_CTL_SOCKET");
	else if (!sock_given && h && *h) {
		snprintf(host_uri, sizeof(host_uri), "tls://%.290s", h);
		sock_path = host_uri;
	}
	proto_auth_set(&auth);
}

/* Global options, then batch, raw, watch or one command. */
int
main(int argc, char **argv)
{
	int i = 1, used, rc;

	/* A daemon that closes on us is an error to report, not a death. */
	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += used) {
		used = 1;
		if ((rc = global_option(argc, argv, i, &used)) < 0)
			return EX_USAGE;
		if (rc > 0)
			continue;
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EX_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			print_version();
			return EX_OK;
		} else if (strcmp(argv[i], "--requests") == 0) {
			list_requests();
			return EX_OK;
		} else if (strcmp(argv[i], "--list-commands") == 0) {
			list_commands();
			return EX_OK;
		} else if (strcmp(argv[i], "--list-options") == 0 && i + 1 < argc) {
			return list_options(argv[i + 1]);
		} else if (strcmp(argv[i], "--list-names") == 0 && i + 1 < argc) {
			pick_daemon();
			return list_names(argv[i + 1]);
		} else {
			fprintf(stderr, "abs-ctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "abs-ctl: no command\n");
		usage(stderr);
		return EX_USAGE;
	}
	argv += i;
	if ((argc = globals_after(argc - i, argv)) < 0)
		return EX_USAGE;
	pick_daemon();
	if (strcmp(argv[0], "batch") == 0) {
		if (argc != 2) {
			fprintf(stderr, "usage: abs-ctl batch FILE|-   (one command a"
			    " line; - reads stdin)\n");
			return EX_USAGE;
		}
		return run_batch(argv[1]);
	}
	if (strcmp(argv[0], "raw") == 0) {
		if (argc != 1) {
			fprintf(stderr, "usage: abs-ctl raw   (JSON request lines on"
			    " stdin)\n");
			return EX_USAGE;
		}
		return run_raw();
	}
	if (strcmp(argv[0], "tui") == 0)
		return tui_main(sock_path, timeout_s, argc, argv);
	if (strcmp(argv[0], "watch") == 0) {
		int count = 0;
		char *end = NULL;
		if (argc == 3 && strcmp(argv[1], "--count") == 0)
			count = (int)strtol(argv[2], &end, 10);
		if (argc != 1 && (argc != 3 || !end || *end || !*argv[2] ||
		    count < 0)) {
			fprintf(stderr, "usage: abs-ctl watch [--count N]\n");
			return EX_USAGE;
		}
		return watch(count);
	}
	return run_command(argc, argv);
}
