/* abs-engine: the per-drive media engine, direct (emergency) mode CLI. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/util.h"
#include "common/version.h"
#include "engine/archive.h"
#include "engine/chain.h"
#include "engine/changer.h"
#include "engine/changer_cmd.h"
#include "engine/compress.h"
#include "engine/engine.h"
#include "engine/format.h"
#include "engine/scan.h"
#include "engine/snap.h"
#include "engine/source.h"
#include "proto/proto.h"

/* abs-ctl, which links no engine, prints the format from common/version.h. */
_Static_assert(ABS_TAPE_FORMAT == FMT_VERSION,
    "common/version.h: ABS_TAPE_FORMAT must be engine/format.h's FMT_VERSION");

/* restore: the dump is proven, but extraction refused entries (unsafe paths). */
#define ENG_EXIT_REFUSED 3

static const char usage[] =
"usage: abs-engine COMMAND [options]\n"
"       abs-engine --version   (and the tape format and protocol versions)\n"
"  label   --device URI --label NAME [--pool P] [--block-size N] [--force]\n"
"          [--slot N]   (a library drive: load slot N's cartridge first)\n"
"  dump    --device URI --entity NAME --source dir:PATH|cmd:'ARGV'|file:PATH\n"
"          --log DUMPLOG [--level N [--base DUMPID] [--since TIME]]\n"
"          (level N > 0: the base is the log's newest complete dump at a\n"
"          lower level, since its date; --since alone: no known base)\n"
"          [--compress zstd[:L] [--compress-threads N]]   (N frames\n"
"          compressed at once; default: the online cores; 0: on the\n"
"          dump's own thread; the stream is the same for any N)\n"
"          [--direct-io auto|on|off]   (file: sources read with O_DIRECT,\n"
"          no page-cache copy; auto: unless mostly in the page cache)\n"
"          [--digest xxh128|sha256]\n"
"          [--block-size N] [--depth N] [--queue N] [--label EXPECTED]\n"
"          [--server S]\n"
"          [--partition P]\n"
"          [--autolabel PATTERN] [--verify-rate R | --no-verify] [--retries N]\n"
"          [--mount-timeout SEC] [--no-pew] [--lbp] [--cmd-user USER]\n"
"          [--snapshot ARGV] [--dump-cmd ARGV] [--incr-cmd ARGV]\n"
"          [--release ARGV] [--cmd-timeout SEC] [--date NIGHT]\n"
"          (commands around the dump, no shell; placeholders {entity}\n"
"          {date} {since} {level} {snapshot}: README, Snapshot commands)\n"
"  dump    --device URI --batch FILE --log DUMPLOG [dump options]\n"
"          [--commit-every N] [--commit-secs S]\n"
"          (FILE: one dump a line, ENTITY SOURCE; one run on one drive:\n"
"          immediate filemarks between dumps, a synchronous one at each\n"
"          commit point: every N dumps (default 1000), S seconds since the\n"
"          last (default 300; 0: none), end of cartridge, the last dump. A\n"
"          dump is in the log and printed only once a commit point covers\n"
"          it; those a failure leaves uncovered are listed: run them again)\n"
"  archive --device URI --queue DIR --done DIR [--log DUMPLOG] [--once]\n"
"          [--status FILE] [--poll SECS] [--entity NAME] [dump options]\n"
"          [--commit-every N] [--commit-secs S]   (an archive queue's\n"
"          closed and expired entries to tape, each file a dump of its own\n"
"          with its entry in the part header; each entry moves into DONE\n"
"          with its cartridges, tape files and digest once a commit point\n"
"          covers it; a missing file leaves the queue with a report in\n"
"          DONE/refused. Log: DONE/archive.dumplog by default. --once:\n"
"          stop when nothing is ready; else wait (every SECS, default 1)\n"
"          until SIGTERM. docs/QUEUE.md)\n"
"  mounted --device URI    (tell a waiting engine a cartridge is in)\n"
"  serve   --device URI --control SOCKET --drive NAME [--log JOURNAL]\n"
"          (also: abs-engine --control SOCKET --drive NAME --device URI)\n"
"          [--block-size N] [--cmd-user USER]   (media server for abs-ctld)\n"
"          [--cmd-timeout SEC]   (a type's snapshot and release commands)\n"
"          --control tls://HOST[:PORT]: abs-ctld on another host, TLS 1.3,\n"
"          with --ca FILE (the site CA) and --cert FILE --key FILE (this\n"
"          media server's certificate) or --keytab FILE [--principal P]\n"
"          (Kerberos); or ABS_CA, ABS_CERT, ABS_KEY, ABS_KEYTAB\n"
"          [--config FILE]    (its CONTROL=SOCKET line names the master;\n"
"                              read again on SIGHUP: the media server\n"
"                              moves there without stopping its job)\n"
"  list    --device URI [--json]\n"
"  scan    --device URI [--library] [--json]   (label, every part's header\n"
"          and trailer: what the catalog needs, from the tape alone)\n"
"  status  --device URI [--json]   (drive and cartridge health)\n"
"  restore --device URI --entity NAME [--date D] (--to PATH | --stdout)\n"
"          [--force]   (--to a directory that is not empty: restore over it)\n"
"          [--log DUMPLOG] [--file N] [--label EXPECTED]\n"
"          [--dump-id ID]   (with --log: that dump alone, e.g. an\n"
"          archived file: docs/QUEUE.md)\n"
"          [--extract] [--allow-refused]   (exit 3: entries refused)\n"
"          [--queue N]   (reads in flight; iscsi://, sg: 8; st: 4; vtape: 1)\n"
"          [--level-only] [--path P ...]   (with --log: the chain that\n"
"          ends at the newest dump at or before D, full first; one dump\n"
"          alone; only these paths, reading only their blocks)\n"
"  find    --entity NAME PATTERN [--date D] (--log DUMPLOG | --device URI)\n"
"          [--json]   (which versions of matching paths are in which dumps;\n"
"          with both, the drive reads indexes the log has no copy of)\n"
"  verify  --device URI [--file N]     (every part on the cartridge, or one)\n"
"  verify  --device URI --entity NAME [--date D] [--log DUMPLOG]\n"
"          (every part of one dump, on every cartridge it spans)\n"
"  changer --device CHANGER-URI [--json] inventory | info | scan |\n"
"          move FROM TO | load SLOT DRIVE | unload DRIVE [SLOT] |\n"
"          prevent | allow   (a library's robot: abs-engine changer --help)\n"
"Devices: vtape:DIR (a cartridge or a library drive, e.g. vtape:LIB/drive0),\n"
"iscsi://HOST[:PORT]/TARGET-IQN/LUN, sg:/dev/sgN, st:/dev/nstN,\n"
"null: (discards writes; benchmarks).\n"
"Libraries: with --changer CHANGER-URI (smc:sg:/dev/sgN,\n"
"smc:iscsi://HOST[:PORT]/IQN/LUN, smc:vtape:LIBDIR) the engine works that\n"
"library's robot for the drive (any command that opens it); the drive is\n"
"element N of it with --drive-element N (from 0, as mtx numbers), else the\n"
"drive whose identifier (DVCID) the changer reports equal to the device's\n"
"unit serial (none or two: refused, never guessed). vtape:LIB/driveK needs\n"
"neither. A library's barcode is the sticker label: a cartridge whose tape\n"
"label is neither its barcode nor its barcode less an LTO media suffix\n"
"(L1..L9, LT..LZ, M8) is refused and never written; a blank one is\n"
"labelled so. Cartridges whose barcode starts with --clean-prefix P\n"
"(default CLN) are cleaning cartridges: never loaded, written or labelled.\n";

enum { O_DEVICE = 256, O_LABEL, O_POOL, O_BS, O_FORCE, O_ENTITY, O_SOURCE,
	O_LOG, O_LEVEL, O_SINCE, O_COMPRESS, O_DEPTH, O_SERVER, O_PARTITION,
	O_JSON, O_DATE, O_TO, O_STDOUT, O_FILE, O_QUIET, O_VERBOSE, O_DIGEST,
	O_AUTOLABEL, O_VRATE, O_NOVERIFY, O_RETRIES, O_MTIMEOUT, O_NOPEW, O_LBP, O_QUEUE, O_CONTROL, O_DRIVE,
	O_CONFIG, O_CMDUSER, O_EXTRACT, O_ALLOW_REFUSED, O_LIBRARY, O_SNAPSHOT,
	O_RELEASE, O_DUMPCMD, O_INCRCMD, O_CMDTIMEOUT, O_LEVELONLY, O_PATH,
	O_BASE, O_CHANGER, O_DRIVE_ELEMENT, O_CLEAN_PREFIX,
	O_COMPRESS_THREADS, O_DIRECT_IO,
	O_SLOT,		/* label --slot */
	O_BATCH, O_COMMIT_EVERY, O_COMMIT_SECS,
	O_DONE, O_STATUS, O_ONCE, O_POLL,	/* archive */
	O_CERT, O_KEY, O_CA, O_KEYTAB, O_PRINCIPAL,	/* serve over TLS */
	O_DUMP_ID,	/* restore --dump-id */
};

static struct proto_auth tls_auth;	/* --cert --key --ca --keytab */

static const struct option longopts[] = {
	{ "device", required_argument, NULL, O_DEVICE },
	{ "label", required_argument, NULL, O_LABEL },
	{ "pool", required_argument, NULL, O_POOL },
	{ "block-size", required_argument, NULL, O_BS },
	{ "force", no_argument, NULL, O_FORCE },
	{ "slot", required_argument, NULL, O_SLOT },
	{ "entity", required_argument, NULL, O_ENTITY },
	{ "source", required_argument, NULL, O_SOURCE },
	{ "log", required_argument, NULL, O_LOG },
	{ "level", required_argument, NULL, O_LEVEL },
	{ "since", required_argument, NULL, O_SINCE },
	{ "base", required_argument, NULL, O_BASE },
	{ "compress", required_argument, NULL, O_COMPRESS },
	{ "compress-threads", required_argument, NULL, O_COMPRESS_THREADS },
	{ "direct-io", required_argument, NULL, O_DIRECT_IO },
	{ "digest", required_argument, NULL, O_DIGEST },
	{ "autolabel", required_argument, NULL, O_AUTOLABEL },
	{ "verify-rate", required_argument, NULL, O_VRATE },
	{ "no-verify", no_argument, NULL, O_NOVERIFY },
	{ "retries", required_argument, NULL, O_RETRIES },
	{ "mount-timeout", required_argument, NULL, O_MTIMEOUT },
	{ "no-pew", no_argument, NULL, O_NOPEW },
	{ "lbp", no_argument, NULL, O_LBP },
	{ "depth", required_argument, NULL, O_DEPTH },
	{ "queue", required_argument, NULL, O_QUEUE },
	{ "control", required_argument, NULL, O_CONTROL },
	{ "drive", required_argument, NULL, O_DRIVE },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "cmd-user", required_argument, NULL, O_CMDUSER },
	{ "server", required_argument, NULL, O_SERVER },
	{ "partition", required_argument, NULL, O_PARTITION },
	{ "json", no_argument, NULL, O_JSON },
	{ "library", no_argument, NULL, O_LIBRARY },
	{ "date", required_argument, NULL, O_DATE },
	{ "to", required_argument, NULL, O_TO },
	{ "stdout", no_argument, NULL, O_STDOUT },
	{ "file", required_argument, NULL, O_FILE },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ "extract", no_argument, NULL, O_EXTRACT },
	{ "allow-refused", no_argument, NULL, O_ALLOW_REFUSED },
	{ "snapshot", required_argument, NULL, O_SNAPSHOT },
	{ "release", required_argument, NULL, O_RELEASE },
	{ "dump-cmd", required_argument, NULL, O_DUMPCMD },
	{ "incr-cmd", required_argument, NULL, O_INCRCMD },
	{ "cmd-timeout", required_argument, NULL, O_CMDTIMEOUT },
	{ "level-only", no_argument, NULL, O_LEVELONLY },
	{ "path", required_argument, NULL, O_PATH },
	{ "changer", required_argument, NULL, O_CHANGER },
	{ "drive-element", required_argument, NULL, O_DRIVE_ELEMENT },
	{ "clean-prefix", required_argument, NULL, O_CLEAN_PREFIX },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "commit-every", required_argument, NULL, O_COMMIT_EVERY },
	{ "commit-secs", required_argument, NULL, O_COMMIT_SECS },
	{ "done", required_argument, NULL, O_DONE },
	{ "status", required_argument, NULL, O_STATUS },
	{ "once", no_argument, NULL, O_ONCE },
	{ "poll", required_argument, NULL, O_POLL },
	{ "cert", required_argument, NULL, O_CERT },
	{ "key", required_argument, NULL, O_KEY },
	{ "ca", required_argument, NULL, O_CA },
	{ "keytab", required_argument, NULL, O_KEYTAB },
	{ "principal", required_argument, NULL, O_PRINCIPAL },
	{ "dump-id", required_argument, NULL, O_DUMP_ID },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char *device, *label, *pool, *entity, *source, *log, *since;
	const char *base;
	const char *compress, *server, *partition, *date, *to, *digest;
	const char *autolabel;
	const char *snapshot, *release, *dump_cmd, *incr_cmd;
	uint64_t cmd_timeout;
	double verify_rate;
	uint64_t retries, mount_timeout;
	bool no_pew, lbp;
	uint64_t bs, level, depth, queue, compress_threads;
	int direct_io;
	const char *control, *drive, *config, *cmd_user;
	int64_t file;
	bool force, json, to_stdout, quiet, library;
	bool extract, allow_refused;
	bool level_only;
	const char **paths;	/* --path, in order */
	size_t npaths;
	const char *pattern;	/* find's PATTERN */
	const char *changer, *clean_prefix;	/* the drive's library */
	int64_t drive_element;	/* -1: by the drive's serial */
	unsigned slot;		/* label --slot N: load it first; 0: none */
	const char *batch;	/* dump: ENTITY SOURCE lines, one run */
	uint64_t commit_every, commit_secs;
	bool commit_every_set;
	/* archive: the queue and done directories, the status file */
	const char *queue_dir, *done, *status;
	bool once;
	uint64_t poll;
	const char *dump_id;	/* restore --dump-id */
};

/* The options that take a number; false if c is none of them. */
static bool
parse_number(int c, const char *arg, struct args *a)
{
	uint64_t v;
	char *end;

	switch (c) {
	case O_VRATE:
		a->verify_rate = strtod(arg, &end);
		if (*end || a->verify_rate < 0 || a->verify_rate > 1)
			die("--verify-rate takes a fraction from 0 to 1");
		return true;
	case O_RETRIES:
		if (util_parse_u64(arg, 10, &a->retries) < 0)
			die("--retries takes 0..10");
		return true;
	case O_MTIMEOUT:
		if (util_parse_u64(arg, 7 * 86400, &a->mount_timeout) < 0)
			die("--mount-timeout takes seconds");
		return true;
	case O_CMDTIMEOUT:
		if (util_parse_u64(arg, 7 * 86400, &a->cmd_timeout) < 0 ||
		    !a->cmd_timeout)
			die("--cmd-timeout takes seconds (1 to 604800)");
		return true;
	case O_BS:
		if (util_parse_size(arg, &a->bs) < 0 || a->bs > UINT32_MAX)
			die("--block-size: bad size %s", arg);
		return true;
	case O_LEVEL:
		if (util_parse_u64(arg, 9, &a->level) < 0)
			die("--level takes 0..9");
		return true;
	case O_DEPTH:
		if (util_parse_u64(arg, 256, &a->depth) < 0 || !a->depth)
			die("--depth takes 1..256");
		return true;
	case O_QUEUE:
		if (util_parse_u64(arg, 32, &a->queue) < 0 || !a->queue)
			die("--queue takes 1..32");
		return true;
	case O_DIRECT_IO:
		if ((a->direct_io = eng_direct_parse(arg)) < 0)
			die("--direct-io takes auto, on or off");
		return true;
	case O_COMPRESS_THREADS:
		if (util_parse_u64(arg, ENG_COMPRESS_MAX_THREADS,
		    &a->compress_threads) < 0)
			die("--compress-threads takes 0..%d (0: on the dump's "
			    "own thread)", ENG_COMPRESS_MAX_THREADS);
		if (!a->compress_threads)
			a->compress_threads = ENG_COMPRESS_INLINE;
		return true;
	case O_COMMIT_EVERY:
		if (util_parse_u64(arg, 1000000, &a->commit_every) < 0 ||
		    !a->commit_every)
			die("--commit-every takes 1..1000000 dumps");
		return true;
	case O_COMMIT_SECS:
		if (util_parse_u64(arg, 86400, &a->commit_secs) < 0)
			die("--commit-secs takes 0..86400 seconds (0: no time bound)");
		return true;
	case O_FILE:
		if (util_parse_u64(arg, INT32_MAX, &v) < 0)
			die("--file takes a tape file number");
		a->file = (int64_t)v;
		return true;
	case O_SLOT:
		if (util_parse_u64(arg, 65535, &v) < 0 || !v)
			die("--slot takes a slot number (1, 2, ...)");
		a->slot = (unsigned)v;
		return true;
	case O_DRIVE_ELEMENT:
		if (util_parse_u64(arg, 65535, &v) < 0)
			die("--drive-element takes a drive number (0, 1, ...)");
		a->drive_element = (int64_t)v;
		return true;
	}
	return false;
}

/* Parse the options every subcommand shares; exits on bad input. */
static void
parse_args(int argc, char **argv, struct args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->file = -1;
	a->drive_element = -1;
	a->verify_rate = 0.01;
	a->retries = 1;
	a->mount_timeout = 3600;
	a->commit_every = 1000;
	a->commit_secs = 300;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_DEVICE: a->device = optarg; break;
		case O_LABEL: a->label = optarg; break;
		case O_POOL: a->pool = optarg; break;
		case O_FORCE: a->force = true; break;
		case O_ENTITY: a->entity = optarg; break;
		case O_SOURCE: a->source = optarg; break;
		case O_LOG: a->log = optarg; break;
		case O_SINCE: a->since = optarg; break;
		case O_BASE: a->base = optarg; break;
		case O_COMPRESS: a->compress = optarg; break;
		case O_DIGEST: a->digest = optarg; break;
		case O_AUTOLABEL: a->autolabel = optarg; break;
		case O_NOVERIFY: a->verify_rate = -1; break;
		case O_NOPEW: a->no_pew = true; break;
		case O_LBP: a->lbp = true; break;
		case O_SERVER: a->server = optarg; break;
		case O_PARTITION: a->partition = optarg; break;
		case O_JSON: a->json = true; break;
		case O_LIBRARY: a->library = true; break;
		case O_DATE: a->date = optarg; break;
		case O_TO: a->to = optarg; break;
		case O_STDOUT: a->to_stdout = true; break;
		case O_QUIET: a->quiet = true; break;
		case O_VERBOSE: log_level_current = LOG_LVL_DEBUG; break;
		case O_CONTROL: a->control = optarg; break;
		case O_DRIVE: a->drive = optarg; break;
		case O_CONFIG: a->config = optarg; break;
		case O_CMDUSER: a->cmd_user = optarg; break;
		case O_EXTRACT: a->extract = true; break;
		case O_ALLOW_REFUSED: a->allow_refused = true; break;
		case O_LEVELONLY: a->level_only = true; break;
		case O_PATH: {
			const char **np = realloc(a->paths, (a->npaths + 1) *
			    sizeof(*np));
			if (!np)
				die("out of memory");
			a->paths = np;
			a->paths[a->npaths++] = optarg;
			break;
		}
		case O_SNAPSHOT: a->snapshot = optarg; break;
		case O_RELEASE: a->release = optarg; break;
		case O_DUMPCMD: a->dump_cmd = optarg; break;
		case O_CHANGER: a->changer = optarg; break;
		case O_CLEAN_PREFIX: a->clean_prefix = optarg; break;
		case O_BATCH: a->batch = optarg; break;
		case O_INCRCMD: a->incr_cmd = optarg; break;
		case O_DONE: a->done = optarg; break;
		case O_STATUS: a->status = optarg; break;
		case O_ONCE: a->once = true; break;
		case O_DUMP_ID: a->dump_id = optarg; break;
		case O_POLL:
			if (util_parse_u64(optarg, 3600, &a->poll) < 0 || !a->poll)
				die("--poll takes 1..3600 seconds");
			break;
		/* --control tls://HOST:PORT: how the media server proves who
		   it is (proto/tls.h; ABS_CERT, ABS_KEY, ABS_CA otherwise) */
		case O_CERT: tls_auth.cert = optarg; proto_auth_set(&tls_auth); break;
		case O_KEY: tls_auth.key = optarg; proto_auth_set(&tls_auth); break;
		case O_CA: tls_auth.ca = optarg; proto_auth_set(&tls_auth); break;
		case O_KEYTAB:
			tls_auth.keytab = optarg;
			proto_auth_set(&tls_auth);
			break;
		case O_PRINCIPAL:
			tls_auth.principal = optarg;
			proto_auth_set(&tls_auth);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			/* archive --queue DIR: the archive queue, not the
			   writes in flight. */
			if (c == O_QUEUE && strcmp(argv[1], "archive") == 0) {
				a->queue_dir = optarg;
				break;
			}
			if (c == O_COMMIT_EVERY)
				a->commit_every_set = true;
			if (parse_number(c, optarg, a))
				break;
			fputs(usage, stderr);
			exit(2);
		}
	}
	/* find takes one PATTERN. */
	if (optind < argc && strcmp(argv[1], "find") == 0)
		a->pattern = argv[optind++];
	if (optind < argc)
		die("unexpected argument %s", argv[optind]);
	/* find reads the log's index copies; the drive only for the others. */
	if (!a->device && strcmp(argv[1], "find") != 0)
		die("--device URI is required");
}

/* Human-readable rate. */
static double
mbps(uint64_t bytes, double secs)
{
	return secs > 0 ? bytes / secs / 1e6 : 0;
}

/* One of the --snapshot/--release/... lines as an argv (NULL: none). */
static char **
cmd_argv(const char *opt, const char *line)
{
	char **argv = NULL;

	if (line && eng_split_argv(line, &argv) < 0)
		die("--%s: an empty or badly quoted command", opt);
	return argv;
}

/* dump with a type's commands around it, as a media server runs them. */
static int
dump_with_cmds(const struct args *a, struct eng_dump_opts *o,
    struct eng_dump_result *r, char *err)
{
	struct eng_snap sn = { 0 };
	char day[32], name[128], id[32];
	int rc;

	util_fmt_time(clock_now(), day, sizeof(day));
	day[10] = '\0';
	snprintf(id, sizeof(id), "d%d", (int)getpid());
	eng_snap_name(a->date ? a->date : day, id, name, sizeof(name));
	sn.snapshot = cmd_argv("snapshot", a->snapshot);
	sn.release = cmd_argv("release", a->release);
	sn.dump = cmd_argv("dump-cmd", a->dump_cmd);
	sn.incr = cmd_argv("incr-cmd", a->incr_cmd);
	sn.v = (struct eng_snap_vars){ .entity = a->entity, .date = a->date ?
	    a->date : day, .since = a->since, .level = (int)a->level,
	    .snapshot = name };
	sn.timeout = (unsigned)a->cmd_timeout;
	rc = eng_snap_dump(o, &sn, r, err);
	eng_free_argv(sn.snapshot);
	eng_free_argv(sn.release);
	eng_free_argv(sn.dump);
	eng_free_argv(sn.incr);
	return rc;
}

/* A run's dumps as commit points cover them. */
struct batch {
	unsigned committed, lost;
	bool quiet;
};

static void
batch_committed(void *ctx, const struct cat_dl_rec *r)
{
	struct batch *b = ctx;

	b->committed++;
	if (!b->quiet)
		printf("dumped %s: %llu bytes (%llu stored), tape %s file %llu, "
		    "dump %s, %s\n", r->entity, (unsigned long long)r->raw_bytes,
		    (unsigned long long)r->bytes, r->label,
		    (unsigned long long)r->file, r->dump_id, r->status);
}

static void
batch_lost(void *ctx, const struct cat_dl_rec *r)
{
	struct batch *b = ctx;

	b->lost++;
	fprintf(stderr, "abs-engine: dump %s of %s was written but no "
	    "commit point covers it: not in the dump log, dump it again\n",
	    r->dump_id, r->entity);
}

/*
 * dump --batch FILE: several dumps in one run on one drive, sharing
 * commit points (engine.h, struct eng_commit). A dump that fails is
 * reported and the run goes on; exit 1 if any failed or was lost.
 */
static int
cmd_dump_batch(const struct args *a, struct eng_dump_opts *o, char *err)
{
	struct batch b = { .quiet = a->quiet };
	struct eng_commit c = { .every = (unsigned)a->commit_every,
	    .secs = (double)a->commit_secs, .on_commit = batch_committed,
	    .on_lost = batch_lost, .ctx = &b };
	char **ent = NULL, **src = NULL, *line = NULL;
	size_t n = 0, cap = 0, len = 0;
	unsigned failed = 0;
	FILE *fp = fopen(a->batch, "r");
	int rc = 0;

	if (!fp)
		die("--batch %s: %s", a->batch, strerror(errno));
	for (unsigned ln = 1; getline(&line, &len, fp) > 0; ln++) {
		char *p = line, *e;
		p[strcspn(p, "\n")] = '\0';
		p += strspn(p, " \t");
		if (!*p || *p == '#')
			continue;
		e = p + strcspn(p, " \t");
		if (!*e)
			die("--batch %s line %u: ENTITY SOURCE expected", a->batch, ln);
		*e++ = '\0';
		e += strspn(e, " \t");
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			ent = realloc(ent, cap * sizeof(*ent));
			src = realloc(src, cap * sizeof(*src));
			if (!ent || !src)
				die("out of memory");
		}
		ent[n] = strdup(p);
		src[n] = strdup(e);
		if (!ent[n] || !src[n])
			die("out of memory");
		n++;
	}
	free(line);
	fclose(fp);
	if (!n)
		die("--batch %s holds no dumps", a->batch);
	o->commit = &c;
	for (size_t i = 0; i < n; i++) {
		struct eng_dump_result r;
		char e2[ENG_ERRLEN] = "";
		o->entity = ent[i];
		o->source = src[i];
		c.final = i + 1 == n;
		if (eng_dump(o, &r, e2) < 0) {
			failed++;
			fprintf(stderr, "abs-engine: dump of %s: %s\n", ent[i], e2);
		}
	}
	if (eng_commit_end(&c, o, err) < 0 && !b.lost)
		failed++;
	if (!a->quiet)
		printf("batch: %zu dumps, %u committed, %u failed, %u lost; "
		    "%llu synchronous filemarks (commit points), %llu immediate\n",
		    n, b.committed, failed, b.lost, (unsigned long long)c.syncs,
		    (unsigned long long)c.immediate);
	for (size_t i = 0; i < n; i++) {
		free(ent[i]);
		free(src[i]);
	}
	free(ent);
	free(src);
	if (failed || b.lost) {
		snprintf(err, ENG_ERRLEN, "%u of %zu dumps failed or were not "
		    "committed", failed + b.lost, n);
		rc = -EIO;
	}
	return rc;
}

/* dump: one entity onto tape, and what it cost. */
static int
cmd_dump(const struct args *a, char *err)
{
	struct eng_dump_opts o = {
		.device = a->device, .entity = a->entity, .source = a->source,
		.expect_label = a->label, .log = a->log, .server = a->server,
		.partition = a->partition, .since = a->since,
		.base = a->base,
		.level = (int)a->level, .compress = a->compress,
		.compress_threads = (unsigned)a->compress_threads,
		.direct_io = a->direct_io,
		.digest = a->digest, .autolabel = a->autolabel,
		.pool = a->pool,
		.verify_rate = a->verify_rate, .retries = (unsigned)a->retries,
		.mount_timeout = (unsigned)a->mount_timeout, .no_pew = a->no_pew,
		.lbp = a->lbp,
		.block_size = (uint32_t)a->bs, .depth = (unsigned)a->depth,
		.queue = (unsigned)a->queue,
		.quiet = a->quiet,
	};
	struct eng_dump_result r;
	int rc;

	if (a->batch) {
		if (a->entity || a->source || a->snapshot || a->release ||
		    a->dump_cmd || a->incr_cmd || a->base)
			die("--batch names each dump's entity and source: no "
			    "--entity, --source, --base or commands beside it");
		return cmd_dump_batch(a, &o, err);
	}
	if (!a->entity || (!a->source && !a->dump_cmd && !(a->incr_cmd &&
	    a->level > 0)))
		die("dump needs --entity NAME and --source SPEC (or --dump-cmd)");
	if (a->base && a->level == 0)
		die("--base names the dump a level 1..9 dump is relative to: "
		    "give --level N");
	if (a->snapshot || a->release || a->dump_cmd || a->incr_cmd)
		rc = dump_with_cmds(a, &o, &r, err);
	else
		rc = eng_dump(&o, &r, err);
	if (rc < 0 || a->quiet)
		return rc;
	printf("dumped %s: %llu bytes (%llu on tape, %u part%s on %s) in "
	    "%.2f s, %.1f MB/s; tape %s file %llu; dump %s; %s %s\n",
	    a->entity, (unsigned long long)r.raw_bytes,
	    (unsigned long long)r.bytes, r.parts, r.parts == 1 ? "" : "s",
	    r.labels, r.seconds, mbps(r.raw_bytes, r.seconds), r.label,
	    (unsigned long long)r.file, r.dump_id, r.digest_alg,
	    r.raw_digest);
	printf("spot verify: %llu blocks re-read, %llu verified in the "
	    "drive, %llu bad, %.3f s; cartridge hand-overs: %u in "
	    "%.3f s (without mounts)%s\n",
	    (unsigned long long)r.verify_checked,
	    (unsigned long long)r.drive_verified,
	    (unsigned long long)r.verify_bad, r.verify_seconds,
	    r.handovers, r.handover_seconds,
	    r.no_trailer ? "; parts cut at physical end: see dump log" : "");
	if (r.base[0] || r.index_bytes)
		printf("base %s; file index: %llu bytes at raw %llu, stored "
		    "%llu%s%s\n", r.base[0] ? r.base : "none",
		    (unsigned long long)r.index_bytes,
		    (unsigned long long)r.index_raw,
		    (unsigned long long)r.index_stored,
		    r.index_path[0] ? ", copy " : "", r.index_path);
	return rc;
}

/* archive: SIGTERM and SIGINT stop it after the file being written. */
static volatile sig_atomic_t archive_stop;

static void
archive_signal(int sig)
{
	(void)sig;
	archive_stop = 1;
}

static bool
archive_stopped(void *ctx)
{
	(void)ctx;
	return archive_stop != 0;
}

/* archive: an archive queue's files to tape (docs/QUEUE.md). */
static int
cmd_archive(const struct args *a, char *err)
{
	struct eng_archive_opts o = {
		.queue = a->queue_dir, .done = a->done, .status = a->status,
		.once = a->once, .poll = (double)a->poll,
		.commit_every = a->commit_every_set ? (unsigned)a->commit_every :
		    0,
		.commit_secs = (double)a->commit_secs,
		.stop = archive_stopped,
		.dump = {
			.device = a->device, .entity = a->entity,
			.expect_label = a->label, .log = a->log,
			.server = a->server, .partition = a->partition,
			.digest = a->digest, .autolabel = a->autolabel,
			.pool = a->pool, .verify_rate = a->verify_rate,
			.retries = (unsigned)a->retries,
			.mount_timeout = (unsigned)a->mount_timeout,
			.no_pew = a->no_pew, .lbp = a->lbp,
			.block_size = (uint32_t)a->bs,
			.depth = (unsigned)a->depth, .quiet = true,
		},
	};
	struct eng_archive_result r;
	struct sigaction sa = { .sa_handler = archive_signal };
	int rc;

	if (!a->queue_dir || !a->done)
		die("archive needs --queue DIR and --done DIR");
	if (a->source || a->batch || a->compress || a->level || a->since)
		die("archive writes each queued file as it is: no --source, "
		    "--batch, --compress, --level or --since");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = eng_archive(&o, &r, err);
	if (!a->quiet)
		printf("archive: %llu archived (%llu bytes), %llu refused, %llu "
		    "failed; %llu commit points; %.2f s\n",
		    (unsigned long long)r.archived, (unsigned long long)r.bytes,
		    (unsigned long long)r.refused, (unsigned long long)r.failed,
		    (unsigned long long)r.commits, r.seconds);
	return rc;
}

/* serve: a media server for abs-ctld, its journal by default in the run dir. */
static int
cmd_serve(struct args *a, char *err)
{
	char journal[PATH_MAX + 64];

	if ((!a->control && !a->config) || !a->drive)
		die("serve needs --control SOCKET (or --config FILE) and --drive "
		    "NAME");
	if (!a->log) {
		const char *dir = getenv("ABS_RUN_DIR");
		if (!dir) {
			dir = "/var/lib/abs-engine";	/* abs-ctld's is its own */
			mkdir(dir, 0750);	/* as the engine's unit makes it */
		}
		if ((size_t)snprintf(journal, sizeof(journal), "%s/journal-%s.log",
		    dir, a->drive) >= sizeof(journal))
			die("journal path %s/journal-%s.log is too long", dir,
			    a->drive);
		a->log = journal;
	}
	return eng_serve(a->control, a->config, a->drive, a->device, a->log,
	    (uint32_t)a->bs, (unsigned)a->cmd_timeout, err);
}

/* restore: one dump back, to a path or stdout. */
static int
cmd_restore(const struct args *a, char *err)
{
	struct eng_restore_opts o = {
		.device = a->device, .entity = a->entity, .date = a->date,
		.log = a->log, .to = a->to, .to_stdout = a->to_stdout,
		.expect_label = a->label, .file = a->file,
		.mount_timeout = (unsigned)a->mount_timeout,
		.extract = a->extract, .allow_refused = a->allow_refused,
		/* The caller's own restore: root may take an existing dir over. */
		.root_onto_existing = getuid() == 0,
		.onto_nonempty = a->force,
		.level_only = a->level_only, .paths = a->paths,
		.npaths = a->npaths, .queue = (unsigned)a->queue,
		.dump_id = a->dump_id,
	};
	struct eng_restore_result r;
	int rc;

	if (!a->entity && a->file < 0)
		die("restore needs --entity NAME (or --file N)");
	if (a->to && a->to_stdout)
		die("--to and --stdout exclude each other");
	if (a->dump_id && (!a->log || a->file >= 0 || a->date || a->npaths ||
	    strlen(a->dump_id) != 32 ||
	    strspn(a->dump_id, "0123456789abcdef") != 32))
		die("--dump-id takes a dump ID (32 hex digits) with --log, "
		    "without --file, --date or --path: that dump alone");
	/* A date is compared by its text: anything but a date prefix would
	   silently pick another dump (hostile13 H2). */
	if (a->date && !eng_chain_date_valid(a->date))
		die("--date takes " ENG_DATE_FORMS);
	rc = eng_restore(&o, &r, err);
	if (rc == -EPERM && r.refused) {
		fprintf(stderr, "abs-engine restore: %s\n", err);
		return ENG_EXIT_REFUSED;
	}
	if (rc == 0 && !a->quiet) {
		char tree[200] = "";
		int n = 0;
		if (r.entries || r.refused)
			n = snprintf(tree, sizeof(tree), "; %llu entries restored, "
			    "%llu refused", (unsigned long long)r.entries,
			    (unsigned long long)r.refused);
		if (r.log_proven && n >= 0 && (size_t)n < sizeof(tree))
			snprintf(tree + n, sizeof(tree) - (size_t)n, "; %u part%s "
			    "without a trailer proven by the dump log's digest",
			    r.log_proven, r.log_proven == 1 ? "" : "s");
		if (a->npaths)
			fprintf(stdout, "restored %zu path%s of %s (dump %s): %llu "
			    "entries from %u dump%s; blocks read %llu, bytes read "
			    "%llu; spans %llu blocks; header/trailer blocks %llu; "
			    "positionings %llu, %.2f s\n", a->npaths,
			    a->npaths == 1 ? "" : "s", a->entity, r.dump_id,
			    (unsigned long long)r.entries, r.dumps,
			    r.dumps == 1 ? "" : "s", (unsigned long long)r.blocks,
			    (unsigned long long)r.read_bytes,
			    (unsigned long long)r.span_blocks,
			    (unsigned long long)r.meta_blocks,
			    (unsigned long long)r.positionings, r.seconds);
		else
			fprintf(a->to_stdout ? stderr : stdout,
			    "restored %s from tape file %llu (%u part%s%s%u dump%s): "
			    "%llu bytes (%llu on tape, %llu blocks, all checksums "
			    "good%s) in %.2f s, %.1f MB/s; blocks read %llu, bytes "
			    "read %llu, header/trailer blocks %llu\n",
			    a->entity ? a->entity : "dump",
			    (unsigned long long)r.file, r.parts,
			    r.parts == 1 ? "" : "s", ", ", r.dumps ? r.dumps : 1,
			    r.dumps > 1 ? "s of a chain" : "",
			    (unsigned long long)r.raw_bytes,
			    (unsigned long long)r.bytes, (unsigned long long)r.blocks,
			    tree, r.seconds, mbps(r.raw_bytes, r.seconds),
			    (unsigned long long)r.blocks,
			    (unsigned long long)r.read_bytes,
			    (unsigned long long)r.meta_blocks);
	}
	return rc;
}

/* find: the versions of matching paths in the entity's dumps. */
static int
cmd_find(const struct args *a, char *err)
{
	struct eng_restore_opts o = {
		.device = a->device, .entity = a->entity, .date = a->date,
		.log = a->log, .mount_timeout = (unsigned)a->mount_timeout,
	};
	uint64_t n;
	int rc;

	if (!a->entity || !a->pattern)
		die("find needs --entity NAME and a PATTERN");
	if (a->date && !eng_chain_date_valid(a->date))
		die("--date takes " ENG_DATE_FORMS);
	rc = eng_find_cmd(&o, a->pattern, a->json, stdout, &n, err);
	if (rc == 0 && !a->json)
		printf("%llu match%s\n", (unsigned long long)n, n == 1 ? "" : "es");
	return rc;
}

/* verify: one dump on every cartridge it spans, or a cartridge's parts. */
static int
cmd_verify(const struct args *a, char *err)
{
	struct eng_restore_opts o = {
		.device = a->device, .entity = a->entity, .date = a->date,
		.log = a->log, .file = a->file, .verify_only = true,
		.mount_timeout = (unsigned)a->mount_timeout,
		.queue = (unsigned)a->queue,
	};
	struct eng_restore_result r;
	int rc;

	if (!a->entity)
		return eng_verify(a->device, a->file, stdout, err);
	rc = eng_restore(&o, &r, err);
	if (rc == 0 && r.log_proven)
		printf("verified %s: %u part%s, %llu blocks, %llu bytes on tape, "
		    "every digest good; %u part%s without a trailer (cut at the "
		    "end of tape) proven by the dump log's digest, not block by "
		    "block, %.2f s\n", a->entity, r.parts, r.parts == 1 ? "" : "s",
		    (unsigned long long)r.blocks, (unsigned long long)r.bytes,
		    r.log_proven, r.log_proven == 1 ? "" : "s", r.seconds);
	else if (rc == 0)
		printf("verified %s: %u part%s, %llu blocks, %llu bytes on tape, "
		    "every block CRC and every digest good, %.2f s\n",
		    a->entity, r.parts, r.parts == 1 ? "" : "s",
		    (unsigned long long)r.blocks, (unsigned long long)r.bytes,
		    r.seconds);
	return rc;
}

/*
 * The engine's one privilege drop (the policy is common/priv.c): what cmd
 * needs on its device and nothing else, before any device or file opens.
 */
static void
drop_privileges(const char *cmd, const struct args *a)
{
	enum priv_role role = PRIV_TAPE;
	char err[PRIV_ERRLEN];

	if (strcmp(cmd, "dump") == 0 || strcmp(cmd, "archive") == 0)
		role = PRIV_DUMP;
	else if (strcmp(cmd, "restore") == 0)
		role = PRIV_RESTORE;
	else if (strcmp(cmd, "serve") == 0)
		role = PRIV_SERVE;
	if (priv_set_cmd_user(a->cmd_user, err) < 0 ||
	    priv_engine(role, a->device, err) < 0)
		die("%s", err);
}

/*
 * --changer/--drive-element/--clean-prefix: the library of the drive, for
 * every command that opens it. The drive is found (or checked) in the
 * changer now: a wrong configuration stops here, not mid-dump.
 */
static void
configure_library(const char *cmd, const struct args *a)
{
	struct eng_library l = { .changer = a->changer,
	    .element = (int)a->drive_element, .clean_prefix = a->clean_prefix };
	char err[ENG_ERRLEN];

	if (!a->changer && a->drive_element >= 0)
		die("--drive-element N says which drive of --changer URI the "
		    "device is: give --changer too");
	if (!a->changer && !a->clean_prefix)
		return;
	if (a->changer && strcmp(cmd, "mounted") == 0)
		die("mounted takes no --changer");
	if (a->changer && !a->device)
		die("--changer needs the drive: --device URI");
	if (a->changer && eng_library_find_drive(a->changer, a->device,
	    &l.element, err) < 0)
		die("%s", err);
	if (eng_library_set(&l, err) < 0)
		die("%s", err);
	if (a->changer)
		log_info("%s is drive %d of changer %s", a->device, l.element,
		    a->changer);
}

/* Run cmd; *known is false for an unknown one. */
static int
run_command(const char *cmd, struct args *a, char *err, bool *known)
{
	*known = true;
	if (strcmp(cmd, "label") == 0) {
		struct eng_label_opts o = { a->device, a->label, a->pool,
		    (uint32_t)a->bs, a->force, a->slot };
		if (!a->label)
			die("label needs --label NAME");
		return eng_label(&o, err);
	}
	if (strcmp(cmd, "dump") == 0)
		return cmd_dump(a, err);
	if (strcmp(cmd, "archive") == 0)
		return cmd_archive(a, err);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(a, err);
	if (strcmp(cmd, "list") == 0)
		return eng_list(a->device, a->json, stdout, err);
	if (strcmp(cmd, "scan") == 0)
		return eng_scan(a->device, a->library, a->json, stdout, err);
	if (strcmp(cmd, "restore") == 0)
		return cmd_restore(a, err);
	if (strcmp(cmd, "status") == 0)
		return eng_status(a->device, a->json, stdout, err);
	if (strcmp(cmd, "mounted") == 0)
		return eng_mounted(a->device, err);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(a, err);
	if (strcmp(cmd, "find") == 0)
		return cmd_find(a, err);
	*known = false;
	return -EINVAL;
}

int
main(int argc, char **argv)
{
	char err[ENG_ERRLEN] = "";
	char **nargv = NULL;
	struct args a;
	const char *cmd;
	bool known;
	int rc;

	log_init("abs-engine", LOG_LVL_WARN, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("abs-engine %s\ntape format version %d\nprotocol version %d\n",
		    ABS_VERSION, FMT_VERSION, PROTO_VERSION);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	/* Its own arguments (element names, no dump options). */
	if (strcmp(cmd, "changer") == 0)
		return eng_changer_cmd(argc - 1, argv + 1);
	if (cmd[0] == '-') {
		/* abs-engine --control SOCKET --drive NAME --device URI: serve. */
		nargv = calloc((size_t)argc + 2, sizeof(*nargv));
		if (!nargv)
			die("out of memory");
		nargv[0] = argv[0];
		nargv[1] = (char *)"serve";
		memcpy(nargv + 2, argv + 1, (size_t)(argc - 1) * sizeof(*nargv));
		cmd = "serve";
		parse_args(argc + 1, nargv, &a);
	} else {
		parse_args(argc, argv, &a);
	}
	drop_privileges(cmd, &a);
	configure_library(cmd, &a);
	rc = run_command(cmd, &a, err, &known);
	free(nargv);
	free(a.paths);
	if (!known) {
		fprintf(stderr, "abs-engine: unknown command %s\n%s", cmd, usage);
		return 2;
	}
	if (rc < 0) {
		fflush(stdout);
		fprintf(stderr, "abs-engine %s: %s\n", cmd,
		    err[0] ? err : strerror(-rc));
		return 1;
	}
	return rc > 0 ? rc : 0;	/* a distinct exit status (ENG_EXIT_*) */
}
