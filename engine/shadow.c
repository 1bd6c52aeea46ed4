/*
 * Shadow refreshes (engine/shadow.h, docs/SHADOWS.md): what the place
 * may be, the marker that says whose shadow a directory is and which
 * dump it reflects, and the chain restore applied from that dump on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/extract.h"
#include "engine/shadow.h"
#include "engine/tape.h"

#define MARKER_TMP ENG_SHADOW_MARKER ".tmp"
#define MARKER_MAX 4096

/* Whether this host is host: its name, or either's first label when the
   other has none (a short name against a qualified one). */
static bool
host_is_me(const char *host, char *me, size_t len)
{
	size_t a, b;

	if (gethostname(me, len) < 0)
		snprintf(me, len, "?");
	me[len - 1] = '\0';
	if (strcasecmp(host, me) == 0 || strcasecmp(host, "localhost") == 0)
		return true;
	a = strcspn(host, ".");
	b = strcspn(me, ".");
	if ((host[a] == '\0' || me[b] == '\0') && a == b &&
	    strncasecmp(host, me, a) == 0)
		return true;
	return false;
}

/*
 * path made canonical: realpath of it, or of its nearest existing
 * ancestor with the rest appended (a shadow that does not exist yet).
 */
static int
canonical(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX], rest[PATH_MAX] = "", *sl;

	if (realpath(path, out))
		return 0;
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	while ((sl = strrchr(buf, '/'))) {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "/%s%s", sl + 1, rest);
		snprintf(rest, sizeof(rest), "%s", tmp);
		*sl = '\0';
		if (realpath(buf[0] ? buf : "/", out)) {
			size_t n = strlen(out);
			if (n == 1)
				n = 0;	/* "/" + rest */
			if (n + strlen(rest) + 1 > len)
				return -ENAMETOOLONG;
			memcpy(out + n, rest, strlen(rest) + 1);
			return 0;
		}
	}
	return -ENOENT;
}

/* Whether a is b or below it. */
static bool
within(const char *a, const char *b)
{
	size_t n = strlen(b);

	if (n == 1 && b[0] == '/')
		return true;
	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/*
 * The marker's entity and dump: 1, 0 when there is none, or -EBADMSG
 * (err) when the file is there but is no marker of ours.
 */
static int
marker_read(int dirfd, const char *to, char *entity, size_t elen, char *dump,
    size_t dlen, char *err)
{
	char buf[MARKER_MAX + 1], *line, *save = NULL;
	int fd = openat(dirfd, ENG_SHADOW_MARKER, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	ssize_t n;

	entity[0] = dump[0] = '\0';
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (n = read(fd, buf, MARKER_MAX)) < 0) {
		if (fd >= 0)
			close(fd);
		eng_err(err, "%s/%s is not a shadow's marker (not a regular file"
		    " that can be read)", to, ENG_SHADOW_MARKER);
		return -EBADMSG;
	}
	close(fd);
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n",
	    &save)) {
		if (strncmp(line, "entity: ", 8) == 0)
			snprintf(entity, elen, "%s", line + 8);
		else if (strncmp(line, "dump: ", 6) == 0)
			snprintf(dump, dlen, "%s", line + 6);
	}
	if (!entity[0] || !dump[0]) {
		eng_err(err, "%s/%s does not name an entity and a dump: it is not"
		    " a shadow's marker", to, ENG_SHADOW_MARKER);
		return -EBADMSG;
	}
	return 1;
}

/*
 * The marker written whole (a new file renamed over the old one) and the
 * directory synced; the root's times as they were before (the marker is
 * no part of the entity's tree).
 */
static int
marker_write(int dirfd, const char *to, const struct eng_shadow_opts *so,
    const char *dump, char *err)
{
	char buf[MARKER_MAX], now[32];
	struct stat st;
	time_t t = time(NULL);
	struct tm tm;
	int fd, n, rc = 0;

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(buf, sizeof(buf), "ABS shadow: a copy of entity %s kept"
	    " current by abs-ctld from its dumps; anything written here may be"
	    " replaced (docs/SHADOWS.md).\nentity: %s\ndump: %s\ndate: %s\n"
	    "level: %d\nrefreshed: %s\n", so->entity, so->entity, dump,
	    strcmp(dump, "-") && so->last_date ? so->last_date : "-",
	    strcmp(dump, "-") ? so->last_level : -1, now);
	if (n < 0 || n >= (int)sizeof(buf)) {
		eng_err(err, "the shadow's marker does not fit %d bytes", MARKER_MAX);
		return -ENAMETOOLONG;
	}
	if (fstat(dirfd, &st) < 0)
		rc = -errno;
	unlinkat(dirfd, MARKER_TMP, 0);
	fd = rc < 0 ? -1 : openat(dirfd, MARKER_TMP, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0644);
	if (rc == 0 && fd < 0)
		rc = -errno;
	if (rc == 0 && (write(fd, buf, (size_t)n) != n || fsync(fd) < 0))
		rc = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	if (rc == 0 && renameat(dirfd, MARKER_TMP, dirfd, ENG_SHADOW_MARKER) < 0)
		rc = -errno;
	if (rc == 0 && fsync(dirfd) < 0)
		rc = -errno;
	if (rc == 0) {
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		if (futimens(dirfd, ts) < 0)
			rc = -errno;
	}
	if (rc < 0) {
		unlinkat(dirfd, MARKER_TMP, 0);
		eng_err(err, "writing the shadow's marker %s/%s: %s", to,
		    ENG_SHADOW_MARKER, strerror(-rc));
	}
	return rc;
}

/* Everything under dirfd removed, nothing followed; keep: a name kept
   (the marker) at the top. 0 or -errno (err). */
static int
wipe(int dirfd, const char *keep, const char *to, char *err)
{
	int dfd = dup(dirfd), rc = 0;
	DIR *dir = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *e;

	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		eng_err(err, "emptying %s: %s", to, strerror(errno));
		return -errno;
	}
	while (rc == 0 && (errno = 0, e = readdir(dir))) {
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (keep && strcmp(e->d_name, keep) == 0))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			eng_err(err, "emptying %s: %s: %s", to, e->d_name,
			    strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub;
			/* Its own mode may forbid what root's does not. */
			fchmodat(dirfd, e->d_name, (st.st_mode & 07777) | S_IRWXU, 0);
			sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = -errno;
				eng_err(err, "emptying %s: %s: %s", to, e->d_name,
				    strerror(errno));
				break;
			}
			rc = wipe(sub, NULL, to, err);
			close(sub);
			if (rc == 0 && unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0) {
				rc = -errno;
				eng_err(err, "emptying %s: %s: %s", to, e->d_name,
				    strerror(errno));
			}
		} else if (unlinkat(dirfd, e->d_name, 0) < 0) {
			rc = -errno;
			eng_err(err, "emptying %s: %s: %s", to, e->d_name,
			    strerror(errno));
		}
	}
	if (rc == 0 && errno) {
		rc = -errno;
		eng_err(err, "emptying %s: %s", to, strerror(errno));
	}
	closedir(dir);
	return rc;
}

/* Whether the directory holds anything. */
static bool
holds_files(int dirfd)
{
	int dfd = dup(dirfd);
	DIR *dir = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *e;
	bool any = false;

	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return true;	/* unknown: never taken as empty */
	}
	while (!any && (e = readdir(dir)))
		any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(dir);
	return any;
}

/* The shadow's directory made (and those above it) if missing. */
static int
make_dirs(const char *to, char *err)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", to) >= (int)sizeof(buf)) {
		eng_err(err, "%s: the path is too long", to);
		return -ENAMETOOLONG;
	}
	for (char *p = buf + 1; ; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(buf, last ? 0700 : 0755) < 0 && errno != EEXIST) {
			int e = errno;
			eng_err(err, "making the shadow %s: %s: %s", to, buf,
			    strerror(e));
			return -e;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

/* The place checked: on this host, clear of the live source. */
static int
place_ok(const struct eng_shadow_opts *so, const char *to, char *err)
{
	char me[256], a[PATH_MAX], b[PATH_MAX];
	int rc;

	if (so->host && *so->host && !host_is_me(so->host, me, sizeof(me))) {
		eng_err(err, "the shadow of %s is on host %s; this media server"
		    " runs on %s (add the shadow with --drive naming a drive of"
		    " %s)", so->entity, so->host, me, so->host);
		return -EXDEV;
	}
	if ((rc = canonical(to, a, sizeof(a))) < 0) {
		eng_err(err, "the shadow's path %s: %s", to, strerror(-rc));
		return rc;
	}
	if (so->source && *so->source &&
	    canonical(so->source, b, sizeof(b)) == 0 &&
	    (within(a, b) || within(b, a))) {
		eng_err(err, "%s is %s the live source of %s (%s): a shadow is"
		    " never written onto its source", to, strcmp(a, b) == 0 ?
		    "" : within(a, b) ? "inside" : "above", so->entity, so->source);
		return -EPERM;
	}
	return 0;
}

int
eng_shadow_refresh(const struct eng_restore_opts *o,
    const struct eng_shadow_opts *so, struct eng_restore_result *res,
    char *err)
{
	const char *to = o->to, *last = so->nchain ? so->chain[so->nchain - 1] :
	    NULL;
	char ment[256], mdump[64];
	struct eng_restore_opts ro;
	struct stat st;
	int dirfd = -1, m, rc;
	unsigned applied = 0;
	bool incomplete;

	memset(res, 0, sizeof(*res));
	if (!last || !to || to[0] != '/') {
		eng_err(err, "a shadow refresh needs a chain and an absolute path");
		return -EINVAL;
	}
	if ((rc = place_ok(so, to, err)) < 0)
		return rc;
	if (lstat(to, &st) < 0 && errno == ENOENT) {
		/* An incremental refresh onto a shadow that is not there
		   (yet, or any more) makes it: from the full. */
		if ((rc = make_dirs(to, err)) < 0)
			return rc;
		log_info("shadow of %s: %s made", so->entity, to);
	} else if (lstat(to, &st) < 0) {
		rc = -errno;
		eng_err(err, "the shadow %s: %s", to, strerror(errno));
		return rc;
	} else if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
		eng_err(err, "the shadow %s is %s, not a directory", to,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
		return -ENOTDIR;
	}
	dirfd = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		rc = -errno;
		eng_err(err, "the shadow %s: %s", to, strerror(errno));
		return rc;
	}
	/* A restore or refresh into it now: refused, nothing touched. */
	if (flock(dirfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		eng_err(err, "the shadow %s is being written by another restore",
		    to);
		goto out;
	}
	if ((m = marker_read(dirfd, to, ment, sizeof(ment), mdump, sizeof(mdump),
	    err)) < 0) {
		rc = m;
		goto out;
	}
	if (m == 0 && holds_files(dirfd)) {
		eng_err(err, "%s holds files and is not a shadow of %s (it has no"
		    " %s): a shadow is never made over other files", to,
		    so->entity, ENG_SHADOW_MARKER);
		rc = -ENOTEMPTY;
		goto out;
	}
	if (m == 1 && strcmp(ment, so->entity) != 0) {
		eng_err(err, "%s is the shadow of entity %s, not of %s", to, ment,
		    so->entity);
		rc = -EPERM;
		goto out;
	}
	incomplete = faccessat(dirfd, ENG_EXTRACT_MARKER, F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0;
	for (size_t i = 0; m == 1 && !incomplete && i < so->nchain; i++)
		if (strcasecmp(so->chain[i], mdump) == 0)
			applied = (unsigned)i + 1;
	if (applied == so->nchain) {
		log_info("shadow of %s at %s: it reflects dump %s already",
		    so->entity, to, last);
		snprintf(res->dump_id, sizeof(res->dump_id), "%s", last);
		rc = 0;
		goto out;
	}
	if (applied == 0) {
		/*
		 * From the full: a new shadow is claimed (its marker, dump "-")
		 * before anything lands in it, so that a refresh that dies
		 * leaves a directory the next one knows as this shadow; an old
		 * one (another chain, or a refresh that died half-way) is
		 * marked so first, then emptied but for its marker.
		 */
		rc = marker_write(dirfd, to, so, "-", err);
		if (rc == 0 && m == 1) {
			log_info("shadow of %s at %s: %s; it is made again from the"
			    " full", so->entity, to, incomplete ? "a refresh of it"
			    " did not finish" : "the dump it reflects is not in the"
			    " chain (a new full)");
			rc = wipe(dirfd, ENG_SHADOW_MARKER, to, err);
		}
		if (rc < 0)
			goto out;
	} else {
		log_info("shadow of %s at %s: dump %s to %s (%zu of the chain's"
		    " %zu dumps to apply)", so->entity, to, mdump, last,
		    so->nchain - applied, so->nchain);
	}
	/* The restore takes the directory's lock itself. */
	flock(dirfd, LOCK_UN);
	ro = *o;
	ro.applied = applied;
	ro.onto_nonempty = true;
	ro.root_onto_existing = true;	/* ours: the marker says so */
	ro.level_only = false;
	ro.paths = NULL;
	ro.npaths = 0;
	if ((rc = eng_restore(&ro, res, err)) < 0)
		goto out;
	if (strcasecmp(res->dump_id, last) != 0) {
		eng_err(err, "the shadow refresh restored dump %s, not %s",
		    res->dump_id, last);
		rc = -EPROTO;
		goto out;
	}
	rc = marker_write(dirfd, to, so, last, err);
out:
	close(dirfd);
	return rc;
}

int
eng_shadow_job(const struct eng_restore_opts *o, json_t *detail,
    struct eng_restore_result *res, char *err)
{
	json_t *sh = json_object_get(detail, "shadow");
	json_t *chain = json_object_get(detail, "chain"), *d, *last;
	size_t n = json_array_size(chain), i;
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	struct eng_shadow_opts so = { .entity = o->entity };
	int rc;

	if (!ids) {
		eng_err(err, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(chain, i, d)
		ids[i] = json_string_value(json_object_get(d, "dump_uid"));
	for (i = 0; i < n; i++)
		if (!ids[i] || strlen(ids[i]) != 32) {
			free(ids);
			eng_err(err, "the shadow refresh's chain: dump %zu has no ID",
			    i);
			return -EPROTO;
		}
	last = json_array_get(chain, n ? n - 1 : 0);
	so.chain = ids;
	so.nchain = n;
	so.host = json_string_value(json_object_get(sh, "host"));
	so.source = json_string_value(json_object_get(sh, "source"));
	so.last_date = json_string_value(json_object_get(last, "started"));
	so.last_level = (int)json_integer_value(json_object_get(last, "level"));
	rc = eng_shadow_refresh(o, &so, res, err);
	free(ids);
	return rc;
}
