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

#include "common/crash.h"
#include "common/log.h"
#include "engine/chain.h"
#include "engine/extract.h"
#include "engine/shadow.h"
#include "engine/tape.h"

#define MARKER_TMP ENG_SHADOW_MARKER ".tmp"

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

/* Whether s's n bytes hold no control character (C0 or DEL). */
static bool
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Whether all n bytes of v are in set (v need not end in NUL). */
static bool
all_in(const char *v, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!v[i] || !strchr(set, v[i]))
			return false;
	return true;
}

/* A date as the marker writes them: "-", or digits, '-', ':', 'T', 'Z'. */
static bool
date_ok(const char *v, size_t n)
{
	return n > 0 && n < 32 && all_in(v, n, "0123456789-:TZ");
}

int
eng_shadow_marker_parse(const char *buf, size_t len,
    struct eng_shadow_marker *m, char *err)
{
	static const char head[] = "ABS shadow:";
	bool have_entity = false, have_dump = false, have_date = false;
	bool have_level = false, have_refreshed = false;
	const char *p = buf, *end = buf + len;

	memset(m, 0, sizeof(*m));
	m->level = -1;
	snprintf(m->date, sizeof(m->date), "-");
	snprintf(m->refreshed, sizeof(m->refreshed), "-");
	if (len > ENG_SHADOW_MARKER_MAX) {
		eng_err(err, "it is larger than %d bytes", ENG_SHADOW_MARKER_MAX);
		return -EBADMSG;
	}
	if (memchr(buf, '\0', len)) {
		eng_err(err, "it holds a NUL byte");
		return -EBADMSG;
	}
	if (len < sizeof(head) - 1 || memcmp(buf, head, sizeof(head) - 1) != 0) {
		eng_err(err, "it does not begin with \"%s\"", head);
		return -EBADMSG;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *v;
		size_t n = (size_t)(le - p), vn;
		bool *seen = NULL;
		char *dst = NULL;
		size_t dlen = 0;

		if (n > 8 && memcmp(p, "entity: ", 8) == 0) {
			seen = &have_entity, dst = m->entity, dlen = sizeof(m->entity);
			v = p + 8;
		} else if (n > 6 && memcmp(p, "dump: ", 6) == 0) {
			seen = &have_dump, dst = m->dump, dlen = sizeof(m->dump);
			v = p + 6;
		} else if (n > 6 && memcmp(p, "date: ", 6) == 0) {
			seen = &have_date, dst = m->date, dlen = sizeof(m->date);
			v = p + 6;
		} else if (n > 7 && memcmp(p, "level: ", 7) == 0) {
			seen = &have_level;
			v = p + 7;
		} else if (n > 11 && memcmp(p, "refreshed: ", 11) == 0) {
			seen = &have_refreshed, dst = m->refreshed,
			    dlen = sizeof(m->refreshed);
			v = p + 11;
		} else {
			p = le + (nl != NULL);	/* a line of text, or one we
						   do not know: ignored */
			continue;
		}
		vn = (size_t)(le - v);
		if (*seen) {
			eng_err(err, "it says \"%.*s\" twice", (int)(v - p - 2), p);
			return -EBADMSG;
		}
		*seen = true;
		if (!printable(v, vn) || (dst && vn >= dlen)) {
			eng_err(err, "its \"%.*s\" is too long or holds a control"
			    " character", (int)(v - p - 2), p);
			return -EBADMSG;
		}
		if (dst) {
			memcpy(dst, v, vn);
			dst[vn] = '\0';
		}
		if (dst == m->dump && strcmp(m->dump, "-") != 0 &&
		    (vn != 32 || !all_in(v, vn, "0123456789abcdefABCDEF"))) {
			eng_err(err, "its dump is neither 32 hex digits nor \"-\"");
			return -EBADMSG;
		}
		if ((dst == m->date || dst == m->refreshed) && !date_ok(v, vn)) {
			eng_err(err, "its \"%.*s\" is not a date", (int)(v - p - 2),
			    p);
			return -EBADMSG;
		}
		if (seen == &have_level) {
			if (vn == 2 && v[0] == '-' && v[1] == '1')
				m->level = -1;
			else if (vn >= 1 && vn <= 2 && all_in(v, vn, "0123456789"))
				m->level = vn == 1 ? v[0] - '0' :
				    (v[0] - '0') * 10 + v[1] - '0';
			else {
				eng_err(err, "its level is not a number from -1 to"
				    " 99");
				return -EBADMSG;
			}
		}
		p = le + (nl != NULL);
	}
	if (!have_entity || !have_dump) {
		eng_err(err, "it does not name an entity and a dump");
		return -EBADMSG;
	}
	return 0;
}

int
eng_shadow_marker_format(const struct eng_shadow_marker *m, char *buf,
    size_t len)
{
	int n;

	if (!m->entity[0] || !printable(m->entity, strlen(m->entity)))
		return -EINVAL;
	n = snprintf(buf, len, "ABS shadow: a copy of entity %s kept current by"
	    " abs-ctld from its dumps; anything written here may be replaced"
	    " (docs/SHADOWS.md).\nentity: %s\ndump: %s\ndate: %s\nlevel: %d\n"
	    "refreshed: %s\n", m->entity, m->entity, m->dump, m->date, m->level,
	    m->refreshed);
	if (n < 0 || (size_t)n >= len || n > ENG_SHADOW_MARKER_MAX)
		return -ENAMETOOLONG;
	return n;
}

/*
 * The marker read: 1 (m), 0 when there is none, or -EBADMSG (err) when
 * the file is there but is no marker of ours.
 */
static int
marker_read(int dirfd, const char *to, struct eng_shadow_marker *m,
    char *err)
{
	char buf[ENG_SHADOW_MARKER_MAX + 1], why[ENG_ERRLEN];
	int fd = openat(dirfd, ENG_SHADOW_MARKER, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	size_t got = 0;
	ssize_t n = 0;

	memset(m, 0, sizeof(*m));
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		while (got < sizeof(buf) && (n = read(fd, buf + got,
		    sizeof(buf) - got)) > 0)
			got += (size_t)n;
	if (fd < 0 || n < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		eng_err(err, "%s/%s is not a shadow's marker (not a regular file"
		    " that can be read)", to, ENG_SHADOW_MARKER);
		return -EBADMSG;
	}
	close(fd);
	if (eng_shadow_marker_parse(buf, got, m, why) < 0) {
		eng_err(err, "%s/%s is not a shadow's marker: %s", to,
		    ENG_SHADOW_MARKER, why);
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
	char buf[ENG_SHADOW_MARKER_MAX + 1];
	struct eng_shadow_marker m = { .level = -1 };
	struct stat st;
	time_t t = time(NULL);
	struct tm tm;
	int fd, n, rc = 0;
	bool none = strcmp(dump, "-") == 0;

	gmtime_r(&t, &tm);
	strftime(m.refreshed, sizeof(m.refreshed), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(m.entity, sizeof(m.entity), "%s", so->entity);
	snprintf(m.dump, sizeof(m.dump), "%s", dump);
	snprintf(m.date, sizeof(m.date), "%s", !none && so->last_date &&
	    date_ok(so->last_date, strlen(so->last_date)) ? so->last_date : "-");
	if (!none && so->last_level >= 0 && so->last_level <= 99)
		m.level = so->last_level;
	if (strlen(so->entity) >= sizeof(m.entity) ||
	    (n = eng_shadow_marker_format(&m, buf, sizeof(buf))) < 0) {
		eng_err(err, "the shadow's marker cannot name entity %s (too long"
		    " or a control character in its name)", so->entity);
		return -EINVAL;
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
	if (rc == 0)
		abs_crash_point(none ? "shadow-claim" : "shadow-marker");
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

void (*eng_shadow_empty_hook)(int dirfd, const char *name);

int
eng_shadow_empty(int dirfd, const char *keep, const char *to, char *err)
{
	int dfd = dup(dirfd), rc = 0;
	DIR *dir = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *e;

	if (!dir) {
		rc = -errno;
		if (dfd >= 0)
			close(dfd);
		eng_err(err, "emptying %s: %s", to, strerror(-rc));
		return rc;
	}
	while (rc == 0 && (errno = 0, e = readdir(dir))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (keep && strcmp(e->d_name, keep) == 0))
			continue;
		if (eng_shadow_empty_hook)
			eng_shadow_empty_hook(dirfd, e->d_name);
		abs_crash_point("shadow-empty");
		/* Looked at without following it, removed likewise: a link
		   goes, what it points to stays. */
		if ((rc = eng_chain_rm_tree(dirfd, e->d_name)) < 0)
			eng_err(err, "emptying %s: %s: %s", to, e->d_name,
			    rc == -ELOOP || rc == -ENOTDIR ? "it was swapped for"
			    " a symbolic link or a file while being removed" :
			    rc == -ESTALE ? "it moved while being removed" :
			    strerror(-rc));
	}
	if (rc == 0 && errno) {
		rc = -errno;
		eng_err(err, "emptying %s: %s", to, strerror(errno));
	}
	closedir(dir);
	return rc;
}

/* Whether the directory holds anything (a marker's new file that a
   killed refresh left aside: it is ours and replaced anyway). */
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
		any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, MARKER_TMP) != 0;
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
	struct eng_shadow_marker mk;
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
	if ((m = marker_read(dirfd, to, &mk, err)) < 0) {
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
	if (m == 1 && strcmp(mk.entity, so->entity) != 0) {
		eng_err(err, "%s is the shadow of entity %s, not of %s", to,
		    mk.entity, so->entity);
		rc = -EPERM;
		goto out;
	}
	incomplete = faccessat(dirfd, ENG_EXTRACT_MARKER, F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0;
	for (size_t i = 0; m == 1 && !incomplete && i < so->nchain; i++)
		if (strcasecmp(so->chain[i], mk.dump) == 0)
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
			rc = eng_shadow_empty(dirfd, ENG_SHADOW_MARKER, to, err);
		}
		if (rc < 0)
			goto out;
	} else {
		log_info("shadow of %s at %s: dump %s to %s (%zu of the chain's"
		    " %zu dumps to apply)", so->entity, to, mk.dump, last,
		    so->nchain - applied, so->nchain);
		/* The tree is about to be neither that dump nor the last: the
		   marker says so before the first change (a refresh killed
		   after the restore's end and before the last marker would
		   leave a marker naming a dump the tree no longer is). */
		if ((rc = marker_write(dirfd, to, so, "-", err)) < 0)
			goto out;
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
	rc = eng_restore(&ro, res, err);
	if (rc == -ESTALE && applied > 0) {
		/* Changed by hand since the last refresh: made again. */
		log_warn("shadow of %s at %s: %s; it is made again from the full",
		    so->entity, to, err);
		err[0] = '\0';
		if (flock(dirfd, LOCK_EX | LOCK_NB) < 0) {
			eng_err(err, "the shadow %s is being written by another"
			    " restore", to);
			rc = -EBUSY;
			goto out;
		}
		if ((rc = eng_shadow_empty(dirfd, ENG_SHADOW_MARKER, to, err)) < 0)
			goto out;
		flock(dirfd, LOCK_UN);
		memset(res, 0, sizeof(*res));
		ro.applied = 0;
		rc = eng_restore(&ro, res, err);
	}
	if (rc < 0)
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
