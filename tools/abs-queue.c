/*
 * abs-queue: the archive queue's command-line face (docs/QUEUE.md). A
 * producer adds its data files (open while it writes them, closed when
 * they are ready), the archiver (abs-engine archive) takes them to tape,
 * and scrub deletes the data files whose done entries prove them on tape.
 *
 * Exit: 0 done, 1 something refused or failed (each said on stderr),
 * 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "common/digest.h"
#include "common/safefile.h"
#include "common/util.h"
#include "common/version.h"
#include "queue/queue.h"

enum { EX_OK, EX_FAILED, EX_USAGE };

static const char *prog = "abs-queue";

static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((format(printf, 2, 3)))
seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, ABSQ_ERRLEN, fmt, ap);
	va_end(ap);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: abs-queue add QUEUE FILE... [--open] [--expires SECS|DATE]\n"
	    "                 [--checksum ALG:HEX]\n"
	    "       abs-queue close QUEUE FILE... [--checksum ALG:HEX]\n"
	    "       abs-queue list DIR [--json]\n"
	    "       abs-queue scrub QUEUE --done DIR [--verified-only] [--dry-run]\n"
	    "                 [--log DUMPLOG]\n"
	    "       abs-queue check --done DIR --device URI [--against-catalog]\n"
	    "                 [--log DUMPLOG] [--engine PATH] [FILE...]\n"
	    "       abs-queue --version | --help\n"
	    "  add: queue data files for the archiver (--open: still being\n"
	    "    written; archived once closed, or once --expires has passed)\n"
	    "  close: mark open entries ready\n"
	    "  list: the entries of a queue or a done directory, oldest first\n"
	    "  scrub: delete the data files whose done entries prove them on\n"
	    "    tape and the archiver's dump log (--log, default DONE/\n"
	    "    archive.dumplog) (--verified-only: and read back after writing,\n"
	    "    or checked)\n"
	    "  check: restore each done entry's file from tape (abs-engine\n"
	    "    restore, every block's CRC checked) and compare it with the\n"
	    "    original, or with the done entry's digest once the original is\n"
	    "    gone (--against-catalog: always the digest); FILE...: only these\n");
}

/* --expires: seconds from now, or a UTC date. */
static int
parse_expires(const char *s, time_t *out)
{
	uint64_t v;

	if (util_parse_u64(s, (uint64_t)INT32_MAX * 8, &v) == 0) {
		*out = time(NULL) + (time_t)v;
		return 0;
	}
	if (util_parse_time(s, out) == 0 && *out > 0)
		return 0;
	return -EINVAL;
}

static int
cmd_add(int argc, char **argv, bool closing)
{
	static const struct option opts[] = {
		{ "open", no_argument, NULL, 'o' },
		{ "expires", required_argument, NULL, 'e' },
		{ "checksum", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct absq_add_opts o = { 0 };
	char err[ABSQ_ERRLEN];
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (closing)
				goto usage;
			o.open = true;
			break;
		case 'e':
			if (closing)
				goto usage;
			if (parse_expires(optarg, &o.expires)) {
				say("--expires %s: neither seconds nor a UTC date "
				    "(YYYY-MM-DDTHH:MM:SSZ)", optarg);
				return EX_USAGE;
			}
			break;
		case 'c':
			o.checksum = optarg;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			goto usage;
		}
	}
	if (argc - optind < 2)
		goto usage;
	if (o.checksum && argc - optind > 2) {
		say("--checksum names one file's checksum: give one FILE");
		return EX_USAGE;
	}
	for (int i = optind + 1; i < argc; i++) {
		struct absq_entry *e = calloc(1, sizeof(*e));
		int rc;

		if (!e) {
			say("out of memory");
			return EX_FAILED;
		}
		rc = closing ? absq_close(argv[optind], argv[i], o.checksum, err) :
		    absq_add(argv[optind], argv[i], &o, e, err);
		if (rc) {
			say("%s", err);
			bad++;
		}
		free(e);
	}
	return bad ? EX_FAILED : EX_OK;
usage:
	usage(stderr);
	return EX_USAGE;
}

static void
fmt_t(time_t t, char *buf, size_t len)
{
	if (t)
		util_fmt_time(t, buf, len);
	else
		snprintf(buf, len, "-");
}

static int
cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct absq_entry *e;
	struct absq_ref *refs;
	char err[ABSQ_ERRLEN];
	bool json = false;
	size_t n;
	int c, bad = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			usage(stdout);
			return EX_OK;
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return EX_USAGE;
	}
	if (absq_scan(argv[optind], &refs, &n, err)) {
		say("%s", err);
		return EX_FAILED;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		free(refs);
		say("out of memory");
		return EX_FAILED;
	}
	if (!json)
		printf("%-8s %12s %-20s %-20s %-8s %s\n", "STATE", "SIZE", "ADDED",
		    "EXPIRES", "TAPE", "PATH");
	for (size_t i = 0; i < n; i++) {
		char added[32], exp[32], size[32];

		if (absq_entry_read(argv[optind], refs[i].name, e, err)) {
			say("damaged entry: %s", err);
			bad++;
			continue;
		}
		if (json) {
			char *s = absq_entry_json(e);
			if (s)
				printf("%s\n", s);
			free(s);
			continue;
		}
		fmt_t(e->added, added, sizeof(added));
		fmt_t(e->expires, exp, sizeof(exp));
		if (e->size >= 0)
			snprintf(size, sizeof(size), "%lld", (long long)e->size);
		else
			snprintf(size, sizeof(size), "-");
		printf("%-8s %12s %-20s %-20s %-8s %s\n", absq_state_name(e->state),
		    size, added, exp, e->nparts ? e->parts[0].label : "-",
		    e->path);
	}
	free(e);
	free(refs);
	return bad ? EX_FAILED : EX_OK;
}

/*
 * Whether the archiver's dump log (its record of what is on tape) holds
 * e's dump: its bytes and digest, and every part where e puts it. A done
 * entry alone is no proof: whoever may write the done directory can make
 * one. 0, or -1 with the reason in err.
 */
static int
log_proves(const char *log, const struct absq_entry *e, char *err)
{
	struct cat_dl_rec *p = calloc(ABSQ_MAX_PARTS, sizeof(*p)), dump;
	unsigned n = 0;
	int rc;

	if (!p) {
		seterr(err, "out of memory");
		return -1;
	}
	rc = cat_dl_find_dump(log, e->dump_id, &dump, p, ABSQ_MAX_PARTS, &n);
	if (rc < 0)
		seterr(err, "%s: dump log %s: %s (--log DUMPLOG: the archiver's)",
		    e->path, log, strerror(-rc));
	else if (rc == 0 || n == 0)
		seterr(err, "%s: the dump log %s has no dump %s: its done entry "
		    "proves nothing", e->path, log, e->dump_id);
	else if (n != e->nparts || strcmp(dump.digest_alg, e->digest_alg) ||
	    strcmp(dump.raw_digest, e->digest) || dump.raw_bytes != e->bytes)
		seterr(err, "%s: the dump log %s says dump %s is %u part(s), %llu "
		    "bytes of %s:%s; the done entry says %u, %llu of %s:%s",
		    e->path, log, e->dump_id, n, (unsigned long long)dump.raw_bytes,
		    dump.digest_alg, dump.raw_digest, e->nparts,
		    (unsigned long long)e->bytes, e->digest_alg, e->digest);
	else {
		rc = 0;
		for (unsigned i = 0; i < n; i++) {
			const struct absq_part *q = &e->parts[i];
			if (strcmp(p[i].label, q->label) || strcmp(p[i].tape_id,
			    q->tape_id) || p[i].file != q->file ||
			    p[i].offset != q->offset || p[i].bytes != q->bytes) {
				seterr(err, "%s: part %u is not where the dump log %s "
				    "puts it", e->path, i + 1, log);
				rc = -1;
				break;
			}
		}
		free(p);
		return rc;
	}
	free(p);
	return -1;
}

/*
 * Delete the file fd is open on, by its path: through its directory,
 * opened and checked to be the one the path names, and only if the name
 * there is still the file that was read (nothing swapped in meanwhile).
 */
static int
unlink_same(const char *path, int fd, char *err)
{
	char dir[PATH_MAX], link[64], there[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat was, now;
	ssize_t n;
	int dfd, rc = -1;

	if (!slash || (size_t)(slash - path) >= sizeof(dir)) {
		seterr(err, "%s: path too long", path);
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (!dir[0])
		strcpy(dir, "/");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		seterr(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	n = readlink(link, there, sizeof(there) - 1);
	if (n >= 0)
		there[n] = '\0';
	if (n < 0 || strcmp(there, dir) != 0) {
		seterr(err, "%s: its directory changed while it was read", path);
		goto out;
	}
	if (fstat(fd, &was) < 0 || fstatat(dfd, slash + 1, &now,
	    AT_SYMLINK_NOFOLLOW) < 0 || was.st_dev != now.st_dev ||
	    was.st_ino != now.st_ino) {
		seterr(err, "%s: replaced while it was read", path);
		goto out;
	}
	if (unlinkat(dfd, slash + 1, 0) < 0) {
		seterr(err, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(dfd);
	return rc;
}

/*
 * Whether the data file is the one on tape: the done entry is the one
 * the archiver makes for that path, the dump log proves its dump, the
 * file (by its own path, readable by the queue's owner) has that digest
 * now, and no queue entry names it again (a newer version waiting).
 */
static bool
scrub_one(const char *queue, const char *done, const char *log,
    struct absq_entry *e, bool verified_only, bool dry, char *err)
{
	struct absq_entry *q = malloc(sizeof(*q));
	char hex[65], name[ABSQ_NAME_MAX], why[ABSQ_ERRLEN];
	uint64_t size = 0;
	struct stat st;
	bool ok = false;
	int fd = -1;

	if (!q) {
		seterr(err, "out of memory");
		return false;
	}
	if (verified_only && !e->verified && !e->checked) {
		seterr(err, "%s: not proven by a read-back (archived "
		    "without verification, never checked): run abs-queue check",
		    e->path);
		goto out;
	}
	absq_name_for(e->path, name, sizeof(name));
	if (strcmp(name, e->name) != 0) {
		seterr(err, "%s: done entry %s is not the one the archiver makes "
		    "for this path (%s)", e->path, e->name, name);
		goto out;
	}
	if (absq_entry_read(queue, e->name, q, NULL) == 0) {
		seterr(err, "%s: queued again (%s): the file on "
		    "disk may be newer than the one on tape", e->path,
		    absq_state_name(q->state));
		goto out;
	}
	if (log_proves(log, e, err) < 0)
		goto out;
	if ((fd = absq_open_data(queue, e->path, &st, why)) < 0) {
		seterr(err, "%s", fd == -ENOENT ? "" : why);
		if (fd == -ENOENT)
			seterr(err, "%s: gone already", e->path);
		goto out;
	}
	if (absq_fd_digest(fd, e->digest_alg, hex, &size, why)) {
		seterr(err, "%s: %s", e->path, why);
		goto out;
	}
	if (size != e->bytes || strcmp(hex, e->digest) != 0) {
		seterr(err, "%s: changed since it was archived "
		    "(%llu bytes, %s %s; on tape %llu bytes, %s)", e->path,
		    (unsigned long long)size, e->digest_alg, hex,
		    (unsigned long long)e->bytes, e->digest);
		goto out;
	}
	if (dry) {
		ok = true;
		goto out;
	}
	if (unlink_same(e->path, fd, err) < 0)
		goto out;
	e->scrubbed = time(NULL);
	ok = absq_entry_write(done, e, err) == 0;
out:
	if (fd >= 0)
		close(fd);
	free(q);
	return ok;
}

static int
cmd_scrub(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "done", required_argument, NULL, 'd' },
		{ "verified-only", no_argument, NULL, 'v' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "log", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *done = NULL, *queue, *logarg = NULL;
	char log[PATH_MAX];
	bool verified_only = false, dry = false;
	struct absq_entry *e;
	struct absq_ref *refs;
	char err[ABSQ_ERRLEN];
	size_t n, deleted = 0, gone = 0, refused = 0;
	int c, lk;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': done = optarg; break;
		case 'v': verified_only = true; break;
		case 'n': dry = true; break;
		case 'l': logarg = optarg; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (argc - optind != 1 || !done) {
		usage(stderr);
		return EX_USAGE;
	}
	queue = argv[optind];
	/* The archiver's own default (abs-engine archive --log). */
	if ((size_t)snprintf(log, sizeof(log), "%s", logarg ? logarg : "") >=
	    sizeof(log) || (!logarg && (size_t)snprintf(log, sizeof(log),
	    "%s/archive.dumplog", done) >= sizeof(log))) {
		say("--log: path too long");
		return EX_USAGE;
	}
	if (absq_scan(done, &refs, &n, err)) {
		say("%s", err);
		return EX_FAILED;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		say("out of memory");
		free(refs);
		return EX_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		if (absq_entry_read(done, refs[i].name, e, err)) {
			say("refused: damaged done entry: %s", err);
			refused++;
			continue;
		}
		if (e->state != ABSQ_ARCHIVED) {
			say("refused: %s: done entry %s is %s, not archived",
			    e->path, e->name, absq_state_name(e->state));
			refused++;
			continue;
		}
		if (e->scrubbed) {
			gone++;
			continue;
		}
		/* The queue's lock, a file at a time: no producer re-adds a
		   file while it goes, and none waits for the whole scrub. */
		lk = absq_lock(queue, err);
		if (lk < 0) {
			say("%s", err);
			refused++;
			break;
		}
		bool gone_ok = scrub_one(queue, done, log, e, verified_only, dry,
		    err);
		absq_unlock(lk);
		if (gone_ok) {
			printf("%s %s (on %s file %llu)\n", dry ? "would delete" :
			    "deleted", e->path, e->parts[0].label,
			    (unsigned long long)e->parts[0].file);
			deleted++;
		} else {
			say("refused: %s", err);
			refused++;
		}
	}
	free(e);
	free(refs);
	printf("scrub: %zu %s, %zu scrubbed before, %zu refused\n", deleted,
	    dry ? "to delete" : "deleted", gone, refused);
	return refused ? EX_FAILED : EX_OK;
}

/* abs-engine beside this program, else the one on PATH. */
static void
engine_path(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(out, len, "%s/abs-engine", self) < len &&
			    access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, len, "abs-engine");
}

/*
 * Restore one done entry's file through abs-engine and compare it: with
 * the original (if it is there and wanted) byte for byte, and always with
 * the done entry's digest and size. true if it is the same.
 */
static bool
check_one(const char *engine, const char *device, const char *log,
    const struct absq_entry *e, bool against_catalog, const char **how,
    char *err)
{
	int pfd[2], orig = -1, status = 0;
	uint8_t *buf = malloc(1 << 20), *obuf = malloc(1 << 20);
	struct digest *d = NULL;
	uint64_t total = 0;
	char hex[DIGEST_HEX_LEN];
	bool same = false, differs = false;
	pid_t pid = -1;
	ssize_t got;

	*how = "the done entry's digest";
	if (!buf || !obuf || pipe2(pfd, O_CLOEXEC) < 0) {
		seterr(err, "%s", strerror(errno));
		goto out;
	}
	/* Never a FIFO or a link put in the original's place. */
	if (!against_catalog && (orig = sf_open_regular(e->path, true)) >= 0)
		*how = "the original and the done entry's digest";
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		execlp(engine, engine, "restore", "--device", device, "--entity",
		    e->entity[0] ? e->entity : "archive", "--log", log,
		    "--dump-id", e->dump_id, "--stdout", "--quiet", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		seterr(err, "fork: %s", strerror(errno));
		goto out;
	}
	d = digest_new((enum digest_alg)digest_alg_from_name(e->digest_alg));
	while (d && (got = read(pfd[0], buf, 1 << 20)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		digest_update(d, buf, (size_t)got);
		if (orig >= 0 && !differs &&
		    (util_read_full(orig, obuf, (size_t)got) != got ||
		    memcmp(buf, obuf, (size_t)got) != 0))
			differs = true;
		total += (uint64_t)got;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!d) {
		seterr(err, "digest %s unknown", e->digest_alg);
		goto out;
	}
	digest_final_hex(d, hex);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		seterr(err, "%s: abs-engine restore of dump %s failed (exit %d; "
		    "its message is above)", e->path, e->dump_id,
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	else if (total != e->bytes || strcmp(hex, e->digest) != 0)
		seterr(err, "%s: tape holds %llu bytes, %s %s; the done entry says "
		    "%llu bytes, %s", e->path, (unsigned long long)total,
		    e->digest_alg, hex, (unsigned long long)e->bytes, e->digest);
	else if (orig >= 0 && (differs || read(orig, obuf, 1) != 0))
		seterr(err, "%s: the original on disk differs from the file on tape "
		    "(changed since it was archived?)", e->path);
	else
		same = true;
out:
	digest_free(d);
	if (orig >= 0)
		close(orig);
	free(buf);
	free(obuf);
	return same;
}

static int
cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "done", required_argument, NULL, 'd' },
		{ "device", required_argument, NULL, 'D' },
		{ "log", required_argument, NULL, 'l' },
		{ "engine", required_argument, NULL, 'e' },
		{ "against-catalog", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *done = NULL, *device = NULL, *log = NULL;
	char engine[PATH_MAX] = "", logbuf[PATH_MAX], err[ABSQ_ERRLEN];
	bool against = false;
	struct absq_entry *e;
	struct absq_ref *refs;
	size_t n, ok = 0, bad = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': done = optarg; break;
		case 'D': device = optarg; break;
		case 'l': log = optarg; break;
		case 'e': snprintf(engine, sizeof(engine), "%s", optarg); break;
		case 'c': against = true; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (!done || !device) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!engine[0])
		engine_path(engine, sizeof(engine));
	if (!log) {
		snprintf(logbuf, sizeof(logbuf), "%s/archive.dumplog", done);
		log = logbuf;
	}
	if (absq_scan(done, &refs, &n, err)) {
		say("%s", err);
		return EX_FAILED;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		free(refs);
		return EX_FAILED;
	}
	for (size_t i = 0; i < n; i++) {
		const char *how;
		bool wanted = optind >= argc;

		if (absq_entry_read(done, refs[i].name, e, err)) {
			say("damaged done entry: %s", err);
			bad++;
			continue;
		}
		if (e->state != ABSQ_ARCHIVED)
			continue;
		for (int k = optind; k < argc && !wanted; k++) {
			char *r = realpath(argv[k], NULL);
			wanted = strcmp(r ? r : argv[k], e->path) == 0;
			free(r);
		}
		if (!wanted)
			continue;
		if (!check_one(engine, device, log, e, against, &how, err)) {
			say("MISMATCH %s", err);
			bad++;
			continue;
		}
		e->checked = time(NULL);
		if (absq_entry_write(done, e, err)) {
			say("%s", err);
			bad++;
			continue;
		}
		printf("checked %s: %llu bytes on %s file %llu, the same as %s\n",
		    e->path, (unsigned long long)e->bytes, e->parts[0].label,
		    (unsigned long long)e->parts[0].file, how);
		ok++;
	}
	free(e);
	free(refs);
	printf("check: %zu the same, %zu not\n", ok, bad);
	return bad ? EX_FAILED : EX_OK;
}

int
main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return EX_OK;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("abs-queue %s (queue entry format %d)\n", ABS_VERSION,
		    ABSQ_VERSION);
		return EX_OK;
	}
	argc--;
	argv++;
	if (strcmp(cmd, "add") == 0)
		return cmd_add(argc, argv, false);
	if (strcmp(cmd, "close") == 0)
		return cmd_add(argc, argv, true);
	if (strcmp(cmd, "list") == 0)
		return cmd_list(argc, argv);
	if (strcmp(cmd, "scrub") == 0)
		return cmd_scrub(argc, argv);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc, argv);
	say("unknown command %s", cmd);
	usage(stderr);
	return EX_USAGE;
}
