/*
 * The control protocol's codec, shared by abs-ctld (control/), abs-ctl
 * (tools/) and the media server (engine/served.c). It uses only common/
 * and jansson; it holds no handler and never opens the catalog.
 *
 * Wire format: newline-delimited JSON over a Unix socket.
 *   Request:  {"op": NAME, "args": {...}, "id": N}       (id: an integer)
 *   Reply:    {"id": N, "ok": true, "result": ...}
 *             {"id": N, "ok": false, "error": "text", "code": PROTO_E_...}
 *   Pushed events to a media server: {"event": NAME, ...} (no "id").
 *
 * Every request is one row of proto/requests.def: its name, the roles that
 * may call it, flags, its argument spec, the usage line and help abs-ctl
 * prints. abs-ctld expands the same rows with its handlers
 * (control/handlers.c), so a row without a handler does not compile.
 *
 * Version handshake: a client's first request is "hello" with its
 * PROTO_VERSION (and a media server also sends it in engine-register);
 * abs-ctld refuses another version with code PROTO_E_VERSION, and the
 * client checks the version in hello's reply. Requests without a version
 * (clients older than the handshake) are still accepted as version 1.
 *
 * Errors: functions return 0 (or a count) or a negative errno-style code
 * and fill the caller's err buffer of PROTO_ERRLEN bytes.
 */
#ifndef ABS_PROTO_H
#define ABS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

/* Bump when a request, an argument or a reply changes incompatibly. */
#define PROTO_VERSION 1

#define PROTO_MAX_LINE (64 * 1024)	/* longer requests are refused */
#define PROTO_MAX_REPLY (8u << 20)	/* longest reply a client reads */
#define PROTO_ERRLEN 256

/*
 * Error codes: the "code" of a refusal, as it is on the wire. abs-ctl maps
 * them to its exit codes (denied 4, not-found and no-drive 5, bad-* 2).
 */
#define PROTO_E_BAD_REQUEST "bad-request"	/* not JSON, no op, unknown op */
#define PROTO_E_BAD_ARGS "bad-args"		/* arguments refused */
#define PROTO_E_TOO_LONG "too-long"		/* over PROTO_MAX_LINE */
#define PROTO_E_DENIED "denied"			/* the caller lacks the role */
#define PROTO_E_VERSION "version"		/* protocol versions differ */
#define PROTO_E_NOT_FOUND "not-found"
#define PROTO_E_NO_DRIVE "no-drive"
#define PROTO_E_NO_TAPE "no-tape"
#define PROTO_E_EXISTS "exists"
#define PROTO_E_BUSY "busy"
#define PROTO_E_POOL_FULL "pool-full"
#define PROTO_E_INCOMPLETE "incomplete"
#define PROTO_E_NOT_REGISTERED "not-registered"
#define PROTO_E_NOT_WAITING "not-waiting"
#define PROTO_E_BROKEN_CHAIN "broken-chain"	/* a base missing, expired,
						   incomplete or on a bad tape */
#define PROTO_E_BAD_INDEX "bad-index"		/* an index that does not
						   decode */
#define PROTO_E_CATALOG "catalog"		/* the database failed */
#define PROTO_E_INTERNAL "internal"

enum proto_role {
	ROLE_NONE = 0,
	ROLE_OPERATOR = 1 << 0,
	ROLE_RETRIEVAL = 1 << 1,
	ROLE_EXCEPTION = 1 << 2,
	ROLE_ADMIN = 1 << 3,
	ROLE_ENGINE = 1 << 4,	/* a media server (abs-engine serve) */
	/* any person's role; a media server's is not among them */
	ROLE_ANY = ROLE_OPERATOR | ROLE_RETRIEVAL | ROLE_EXCEPTION | ROLE_ADMIN,
	ROLE_ALL = ROLE_ANY | ROLE_ENGINE,
};

enum proto_flag {
	/* spoken by media servers only: no abs-ctl command, no usage line */
	PROTO_F_INTERNAL = 1 << 0,
	/* any peer may send it, with or without a role (the handshake) */
	PROTO_F_OPEN = 1 << 1,
};

/* One id per row of proto/requests.def, in its order. */
enum proto_req {
#define REQ(id, name, roles, flags, args, usage, help) PROTO_REQ_##id,
#include "proto/requests.def"
#undef REQ
	PROTO_NREQ
};

/*
 * Argument spec: space-separated NAME:TYPE, TYPE one of s (string),
 * i (integer), S (array of strings), o (object, media servers only),
 * u (a uid, or an identity "krb:PRINCIPAL" / "cert:SUBJECT": an integer
 * or a string; abs-ctl sends a word of digits as an integer);
 * a trailing ? makes it optional. abs-ctl takes the required ones as
 * positional words in spec order (an S takes the rest) and the optional
 * ones as --name VALUE (an underscore is written as a dash).
 */
struct proto_op {
	const char *name;
	enum proto_req id;
	unsigned roles;		/* any of these may call it; admin always */
	unsigned flags;		/* enum proto_flag */
	const char *args;
	const char *usage;	/* for abs-ctl: "dump DRIVE ENTITY..." */
	const char *help;
};

extern const struct proto_op proto_ops[PROTO_NREQ];
extern const size_t proto_nops;

const struct proto_op *proto_find(const char *name);
/*
 * Walk an argument spec: from *p, the next argument's name (into name),
 * type letter and whether it is optional; false at the end.
 */
bool proto_spec_next(const char **p, char *name, size_t len, char *type,
    bool *optional);
/* Check a row's spec and usage line agree and are well formed; 0 or -1. */
int proto_op_check(const struct proto_op *op, char *err);
/* A role's bit from its ACL name, or -1. */
int proto_role_from_name(const char *name);
/* The ACL name of one role bit, "?" for none. */
const char *proto_role_name(unsigned role);
/* "operator or retrieval", "any role", "engine": who may send a row. */
void proto_roles_text(unsigned roles, char *buf, size_t len);
/* Check args against the op's spec; unknown or ill-typed ones refused. */
int proto_check_args(const struct proto_op *op, json_t *args, char *err);
/*
 * Parse one request line: 0 and *op, *args (borrowed from *req, which the
 * caller frees), *id; -1 with err set. The arguments are checked apart
 * (proto_check_args), after the caller's role is.
 */
int proto_parse_request(const char *line, size_t len, json_t **req,
    const struct proto_op **op, json_t **args, json_int_t *id, char *err);
/*
 * A peer's protocol version against ours: 0 if they agree, -EPROTO with
 * "protocol version mismatch: PEER speaks version N, SELF speaks version M".
 */
int proto_version_check(json_int_t peer_version, const char *peer,
    const char *self, char *err);
/* The version check of a request's args, if it carries "version". */
int proto_check_request_version(const struct proto_op *op, json_t *args,
    char *err);

/*
 * Framing: a line buffer fed by read(2). Lines longer than max are
 * reported once (PROTO_LINE_TOO_LONG) and skipped up to their newline.
 */
struct proto_lbuf {
	char *buf;
	size_t start, len, cap, scan, max;
	bool discard;		/* inside a line too long, until its newline */
};
enum { PROTO_LINE_NONE, PROTO_LINE, PROTO_LINE_TOO_LONG };

void proto_lbuf_init(struct proto_lbuf *b, size_t max);
void proto_lbuf_free(struct proto_lbuf *b);
/* One read(2) from fd: bytes read, 0 at end of file, -errno. */
ssize_t proto_lbuf_read(struct proto_lbuf *b, int fd);
/*
 * The next buffered line without its newline: PROTO_LINE with *line and
 * *len (valid until the next read), PROTO_LINE_TOO_LONG, or PROTO_LINE_NONE.
 */
int proto_lbuf_next(struct proto_lbuf *b, const char **line, size_t *len);

/* A client's connection to abs-ctld (opaque). */
struct proto_conn;

/*
 * Credentials for tls:// connections (proto/tls.h), set once by a
 * program's flags; a NULL field falls back to the environment: ABS_CERT,
 * ABS_KEY (default: the certificate's file), ABS_CA. Without a
 * certificate the client authenticates with Kerberos (keytab, principal,
 * service "abs/HOST" by default).
 */
struct proto_auth {
	const char *cert, *key, *ca;
	const char *keytab, *principal, *service;
	bool krb;		/* Kerberos even if a certificate is given */
};
void proto_auth_set(const struct proto_auth *a);

/*
 * Connect to abs-ctld: PATH (or unix:PATH), its Unix socket, or
 * tls://HOST[:PORT] (IPv6 in brackets; port 4747 by default), TCP with
 * TLS 1.3 and authentication (proto/tls.h), bridged to a socketpair so
 * everything below works alike. While it is not there yet (ENOENT,
 * ECONNREFUSED: the daemon is starting) retry for up to wait_ms; 0 tries
 * once. 0 and *out, or a negative errno with err "cannot reach abs-ctld at
 * PATH: reason" (over TLS also: the certificate refused, the
 * authentication refused, each said).
 */
int proto_connect(const char *path, unsigned wait_ms, struct proto_conn **out,
    char *err);
void proto_conn_free(struct proto_conn *pc);
/* The identity abs-ctld granted a tls:// connection ("" for a socket). */
const char *proto_conn_identity(const struct proto_conn *pc);
/* Whether the daemon has closed the connection. */
bool proto_conn_eof(const struct proto_conn *pc);
/*
 * How long proto_call (and proto_hello) waits for a daemon to read a
 * request and answer it, in ms (0 or less: forever, the default). A call
 * that runs out gives the connection up (proto_conn_eof) and returns
 * -ETIMEDOUT with err saying abs-ctld did not answer: a daemon that
 * accepts but never answers (stopped, hung) cannot hang its client.
 */
void proto_conn_set_timeout(struct proto_conn *pc, int timeout_ms);
/* Send bytes as they are (one or more whole lines). */
int proto_send_raw(struct proto_conn *pc, const char *buf, size_t len,
    char *err);
/* Send a request {"op","args","id"} (args borrowed); its id in *id. */
int proto_send(struct proto_conn *pc, const char *op, json_t *args,
    json_int_t *id, char *err);
/*
 * The next line from abs-ctld, waiting up to timeout_ms (-1: forever):
 * 1 and *line, *len (valid until the next call), 0 if none came in time,
 * -ECONNRESET at end of file, -EMSGSIZE for a line over PROTO_MAX_REPLY
 * (the connection is then given up: proto_conn_eof), other negative errno.
 */
int proto_read_line(struct proto_conn *pc, int timeout_ms, const char **line,
    size_t *len, char *err);
/*
 * The next message, a JSON object; as proto_read_line, and -EPROTO for a
 * line that is not one (the peer is not abs-ctld: the connection is given
 * up, so no caller waits for a reply that cannot come).
 */
int proto_recv(struct proto_conn *pc, int timeout_ms, json_t **msg, char *err);
/* A message that is not the awaited reply (a pushed event). */
typedef void proto_event_fn(void *ctx, json_t *msg);
/*
 * Send a request and wait for its reply (the whole reply object, ok or
 * not, into *reply): the one with its id, or a refusal with id 0 (the
 * daemon could not read the request, or refused the connection); other
 * messages met on the way go to on_event (may be NULL). A connection that
 * breaks as the request is sent still yields the refusal abs-ctld wrote
 * before closing, if any. 0, or a negative errno with err set (the
 * connection is lost): -ETIMEDOUT when the timeout ran out.
 */
int proto_call(struct proto_conn *pc, const char *op, json_t *args,
    proto_event_fn *on_event, void *ctx, json_t **reply, char *err);
/*
 * The handshake: hello with PROTO_VERSION and our name; the daemon's
 * version is checked too. 0; -EPROTO with err naming both versions (or
 * saying the daemon predates the handshake); another negative errno if the
 * connection is lost. Events met on the way go to on_event.
 */
int proto_hello(struct proto_conn *pc, const char *self,
    proto_event_fn *on_event, void *ctx, char *err);
/* The site ID abs-ctld's hello reply named ("" if none or no hello yet). */
const char *proto_conn_site(const struct proto_conn *pc);
/* A reply's parts: whether it is ok, its error text and code. */
bool proto_reply_ok(json_t *reply);
const char *proto_reply_error(json_t *reply);
const char *proto_reply_code(json_t *reply);

#endif
