/*
 * Least privilege through libcap: which capabilities each ABS program
 * keeps, and the code that drops the rest. This table is the whole policy;
 * README.md's "Privileges" section explains each line.
 *
 *   abs-ctld                 nothing (runs as its own user: --user)
 *   abs-engine serve         dump's and restore's permitted, each effective
 *                            only during its job
 *   abs-engine dump          CAP_DAC_READ_SEARCH (read any file and
 *                            directory of a dir: or file: source),
 *                            CAP_IPC_LOCK (io_uring's registered read-ahead
 *                            buffers are pinned memory, 8 MiB and more by
 *                            default, past RLIMIT_MEMLOCK's usual 8 MiB)
 *   abs-engine restore       CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_MKNOD,
 *                            CAP_SETFCAP, CAP_LINUX_IMMUTABLE (owners,
 *                            modes, times, setgid bits, device nodes, file
 *                            capabilities and flags of what it restores),
 *                            CAP_DAC_OVERRIDE (libarchive gives a directory
 *                            its owner when it makes it and its mode only
 *                            at the end: the entries under a directory of
 *                            another user's could not be made without it;
 *                            the price: restore could read any file too)
 *   abs-engine label, list,  nothing
 *   status, verify, mounted
 *   any engine command on    + CAP_SYS_RAWIO: SG_IO on an st fd lets a
 *   st:                      process without it send only a short list of
 *                            disk and CD commands, none of READ POSITION,
 *                            READ BLOCK LIMITS, LOCATE(16), READ ATTRIBUTE;
 *                            checked at every command, so it stays
 *                            effective. sg: needs none: the sg driver
 *                            filters commands only on a read-only fd, and
 *                            the engine opens /dev/sgN read-write (Rig B,
 *                            tests/guest/kernel-tests.sh, shows both)
 *   with --cmd-user          + CAP_SETUID, CAP_SETGID permitted, never
 *                            effective: the cmd: child uses them to become
 *                            that user before exec
 *   dump and serve           + CAP_SYS_ADMIN permitted, never effective:
 *                            the cmd: child uses it to cover the media the
 *                            engine holds and every tape node in a mount
 *                            namespace of its own, in a PID namespace with
 *                            its own /proc, before exec (root's uid alone
 *                            opens root's device nodes and files)
 *   cmd: source children     nothing in any set, no_new_privs, no tape
 *
 * The bounding set is cut to what is kept (root only: it needs
 * CAP_SETPCAP), the inheritable and ambient sets are emptied, and
 * no_new_privs is set, so nothing exec'd gains a capability. A process
 * that has no capabilities (any user's own run) just loses none.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/hide.h"
#include "common/priv.h"

#define CAPBIT(c) (UINT64_C(1) << (c))

#define DUMP_CAPS (CAPBIT(CAP_DAC_READ_SEARCH) | CAPBIT(CAP_IPC_LOCK))
#define RESTORE_CAPS (CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | \
	CAPBIT(CAP_FOWNER) | CAPBIT(CAP_FSETID) | CAPBIT(CAP_MKNOD) | \
	CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_LINUX_IMMUTABLE))

static const uint64_t role_caps[] = {
	[PRIV_NONE] = 0,
	[PRIV_TAPE] = 0,
	[PRIV_DUMP] = DUMP_CAPS,
	[PRIV_RESTORE] = RESTORE_CAPS,
	[PRIV_SERVE] = DUMP_CAPS | RESTORE_CAPS,
};
/* SG_IO through the st driver beyond the kernel's "safe" commands. */
#define DEVICE_SCSI_CAPS CAPBIT(CAP_SYS_RAWIO)
/* Only for a cmd: child to change its user. */
#define SETID_CAPS (CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETGID))
/* Only for a cmd: child to hide the media in a mount namespace. */
#define HIDE_CAPS CAPBIT(CAP_SYS_ADMIN)

#define MAX_GROUPS 64

/* The user cmd: sources run as, resolved before any fork. */
static struct {
	bool set;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[MAX_GROUPS];
} cmd_user;

static bool dropped;		/* priv_engine() ran */
static uint64_t kept;		/* the engine's permitted set */
static uint64_t device_caps;	/* effective whatever the job */
static cap_t child_setid;	/* kept, with only SETUID/SETGID effective */
static cap_t child_hide;	/* kept, with only SYS_ADMIN effective */
static cap_t child_none;	/* every set empty */

/* Fill err with what failed and errno's text; the negative errno. */
static int
fail(char *err, const char *what)
{
	int e = errno ? errno : EPERM;

	snprintf(err, PRIV_ERRLEN, "%s: %s", what, strerror(e));
	return -e;
}

/* One flag of a capability state as a bit mask. */
static uint64_t
bits_of(cap_t c, cap_flag_t flag)
{
	uint64_t m = 0;
	cap_flag_value_t v;

	for (cap_value_t i = 0; i < 64 && i < (cap_value_t)cap_max_bits(); i++)
		if (cap_get_flag(c, i, flag, &v) == 0 && v == CAP_SET)
			m |= CAPBIT(i);
	return m;
}

/* A capability state with perm permitted and eff effective; NULL if no memory. */
static cap_t
state_of(uint64_t perm, uint64_t eff)
{
	cap_t c = cap_init();

	if (!c)
		return NULL;
	for (cap_value_t i = 0; i < 64; i++) {
		if (perm & CAPBIT(i))
			cap_set_flag(c, CAP_PERMITTED, 1, &i, CAP_SET);
		if (eff & perm & CAPBIT(i))
			cap_set_flag(c, CAP_EFFECTIVE, 1, &i, CAP_SET);
	}
	return c;
}

/* The bounding set cut to keep, if we may (CAP_SETPCAP effective). */
static int
cut_bounding(uint64_t keep, bool may, char *err)
{
	if (!may)
		return 0;
	for (cap_value_t i = 0; i < (cap_value_t)cap_max_bits(); i++) {
		if (i < 64 && (keep & CAPBIT(i)))
			continue;
		if (cap_get_bound(i) == 1 && cap_drop_bound(i) < 0)
			return fail(err, "dropping from the bounding set");
	}
	return 0;
}

/*
 * Keep perm (as far as we have it) permitted, eff of it effective, nothing
 * inheritable or ambient; the bounding set cut to perm if bound; then
 * no_new_privs. *have gets the permitted set that results.
 */
static int
apply(uint64_t perm, uint64_t eff, bool bound, uint64_t *have, char *err)
{
	cap_t cur = cap_get_proc(), want = NULL;
	cap_flag_value_t setpcap = CAP_CLEAR;
	int rc;

	if (!cur)
		return fail(err, "reading capabilities");
	perm &= bits_of(cur, CAP_PERMITTED);
	cap_get_flag(cur, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
	cap_free(cur);
	if ((rc = cut_bounding(perm, bound && setpcap == CAP_SET, err)) < 0)
		return rc;
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return fail(err, "clearing the ambient set");
	if (!(want = state_of(perm, eff)))
		return fail(err, "capability state");
	rc = cap_set_proc(want) < 0 ? fail(err, "setting capabilities") : 0;
	cap_free(want);
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = fail(err, "no_new_privs");
	if (have)
		*have = perm;
	return rc;
}

/* A user by name or number: uid, gid, name (for groups; NULL if none). */
static int
lookup(const char *user, uid_t *uid, gid_t *gid, const char **name, char *err)
{
	struct passwd *pw;
	char *end;
	unsigned long n;

	errno = 0;
	if ((pw = getpwnam(user))) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		*name = pw->pw_name;
		return 0;
	}
	n = strtoul(user, &end, 10);
	if (!*user || *end || n >= (uid_t)-1) {
		snprintf(err, PRIV_ERRLEN, "no user %s", user);
		return -ENOENT;
	}
	*uid = (uid_t)n;
	pw = getpwuid(*uid);
	*gid = pw ? pw->pw_gid : (gid_t)n;
	*name = pw ? pw->pw_name : NULL;
	return 0;
}

/* Become uid/gid with name's groups (or gid alone); root only. */
static int
become(uid_t uid, gid_t gid, const char *name, char *err)
{
	if ((name ? initgroups(name, gid) : setgroups(1, &gid)) < 0)
		return fail(err, "setting groups");
	if (setresgid(gid, gid, gid) < 0)
		return fail(err, "setting the group id");
	if (setresuid(uid, uid, uid) < 0)
		return fail(err, "setting the user id");
	return 0;
}

/* abs-ctld: user's ids (from root) and no capability in any set. */
int
priv_ctld(const char *user, char *err)
{
	const char *name;
	uid_t uid;
	gid_t gid;
	int rc;

	if (user) {
		if ((rc = lookup(user, &uid, &gid, &name, err)) < 0)
			return rc;
		if (uid != geteuid() && geteuid() != 0) {
			snprintf(err, PRIV_ERRLEN, "--user %s: abs-ctld runs as "
			    "uid %u, and only root can become another user",
			    user, (unsigned)geteuid());
			return -EPERM;
		}
		if (uid != geteuid()) {
			/* The bounding set first: that needs CAP_SETPCAP. */
			cap_t cur = cap_get_proc();
			cap_flag_value_t v = CAP_CLEAR;
			if (cur)
				cap_get_flag(cur, CAP_SETPCAP, CAP_EFFECTIVE, &v);
			cap_free(cur);
			if ((rc = cut_bounding(0, v == CAP_SET, err)) < 0 ||
			    (rc = become(uid, gid, name, err)) < 0)
				return rc;
		}
	}
	return apply(0, 0, true, NULL, err);
}

/* Resolve the cmd: sources' user now: the child may not look it up. */
int
priv_set_cmd_user(const char *user, char *err)
{
	const char *name;
	uid_t uid;
	gid_t gid;
	int rc, n = MAX_GROUPS;

	cmd_user.set = false;
	if (!user)
		return 0;
	if ((rc = lookup(user, &uid, &gid, &name, err)) < 0)
		return rc;
	if (uid == geteuid() && (gid == getegid() || geteuid() != 0))
		return 0;	/* ourselves already */
	if (geteuid() != 0) {
		snprintf(err, PRIV_ERRLEN, "--cmd-user %s: only root can run "
		    "commands as another user", user);
		return -EPERM;
	}
	if (name) {
		if (getgrouplist(name, gid, cmd_user.groups, &n) < 0) {
			snprintf(err, PRIV_ERRLEN, "--cmd-user %s: in more than "
			    "%d groups", user, MAX_GROUPS);
			return -E2BIG;
		}
	} else {
		cmd_user.groups[0] = gid;
		n = 1;
	}
	cmd_user.set = true;
	cmd_user.uid = uid;
	cmd_user.gid = gid;
	cmd_user.ngroups = n;
	return 0;
}

/* Does this device URI send SG_IO through the st driver (st:)? */
static bool
scsi_passthrough(const char *device)
{
	return device && strncmp(device, "st:", 3) == 0;
}

/* abs-engine: keep role's and device's capabilities, nothing else. */
int
priv_engine(enum priv_role role, const char *device, char *err)
{
	uint64_t need = role_caps[role], perm;
	int rc;

	device_caps = scsi_passthrough(device) ? DEVICE_SCSI_CAPS : 0;
	need |= device_caps;
	perm = need | (cmd_user.set ? SETID_CAPS : 0) |
	    (role == PRIV_DUMP || role == PRIV_SERVE ? HIDE_CAPS : 0);
	if ((rc = apply(perm, role == PRIV_SERVE ? device_caps : need, true,
	    &kept, err)) < 0)
		return rc;
	/* What a cmd: child will need, made now: it may not malloc. */
	cap_free(child_setid);
	cap_free(child_hide);
	cap_free(child_none);
	child_setid = state_of(kept, SETID_CAPS);
	child_hide = state_of(kept, HIDE_CAPS & kept);
	child_none = cap_init();
	if (!child_setid || !child_hide || !child_none)
		return fail(err, "capability state");
	dropped = true;
	return 0;
}

/* serve: job's capabilities effective, the rest only permitted. */
int
priv_engine_job(enum priv_role job, char *err)
{
	cap_t want = state_of(kept, (role_caps[job] | device_caps) & kept);
	int rc;

	if (!want)
		return fail(err, "capability state");
	rc = cap_set_proc(want) < 0 ? fail(err, "setting capabilities") : 0;
	cap_free(want);
	return rc;
}

/* A forked child of ours: only role's capabilities, permitted too. */
int
priv_engine_child(enum priv_role role, char *err)
{
	uint64_t keep = (role_caps[role] | device_caps) & kept;
	cap_t want;
	int rc;

	if (!dropped)
		return 0;	/* not the engine (a unit test): as we are */
	if (!(want = state_of(keep, keep)))
		return fail(err, "capability state");
	rc = cap_set_proc(want) < 0 ? fail(err, "setting capabilities") : 0;
	cap_free(want);
	return rc;
}

/* write(2) a fixed message in a forked child; -1. */
static int
child_fail(const char *msg)
{
	static const char pre[] = "abs-engine: cmd: source: cannot ";
	ssize_t w;

	w = write(2, pre, sizeof(pre) - 1);
	w = write(2, msg, strlen(msg));
	(void)w;
	return -1;
}

int
priv_cmd_prepare(void)
{
	if (!(kept & HIDE_CAPS))
		return 0;
	hide_add_tape_nodes();
	return hide_count();
}

/* Is p under a directory that is hidden too (so hidden already)? */
static bool
under_hidden(const char *p)
{
	bool is_dir;
	const char *q;

	for (int i = 0; (q = hide_path(i, &is_dir)); i++) {
		size_t n = strlen(q);
		if (is_dir && strncmp(p, q, n) == 0 && p[n] == '/')
			return true;
	}
	return false;
}

/*
 * The first child of a hiding cmd: source: relays the source's end to the
 * engine (whose child it is) and dies with the engine, taking the source
 * with it. It keeps no descriptor but stderr and no capability.
 */
static void __attribute__((noreturn))
relay(pid_t pid)
{
	int st, sig;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(0);
	close(1);
#ifdef SYS_close_range
	syscall(SYS_close_range, 3u, ~0u, 0u);
#endif
	if (child_none)
		cap_set_proc(child_none);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(126);
	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));
	sig = WTERMSIG(st);
	signal(sig, SIG_DFL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

/*
 * In a mount namespace of the child's own, an empty unreadable tmpfs over
 * each held medium's directory and /dev/null over each tape node: the
 * source sees no tape, whatever uid it runs as. Another process's
 * /proc/PID/root or fd/ would lead around the covers, so the source also
 * runs as the first process of a PID namespace of its own, with a /proc
 * that shows only it and its children. Returns in the source's process.
 */
static int
hide_media(void)
{
	bool is_dir;
	const char *p;
	pid_t pid;

	if (!(kept & HIDE_CAPS) || !child_hide || hide_count() == 0)
		return 0;
	if (cap_set_proc(child_hide) < 0)
		return child_fail("raise CAP_SYS_ADMIN to hide the tapes\n");
	if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return child_fail("make the namespaces that hide the tapes\n");
	for (int i = 0; (p = hide_path(i, &is_dir)); i++) {
		if (under_hidden(p))
			continue;	/* under a cover already: unreachable */
		int r = is_dir ? mount("abs-hidden", p, "tmpfs", MS_RDONLY |
		    MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000") :
		    mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (r < 0 && errno != ENOENT)
			return child_fail("hide a tape or tape device\n");
	}
	if ((pid = fork()) < 0)
		return child_fail("fork into the PID namespace\n");
	if (pid > 0)
		relay(pid);
	/* The relay dies with the engine; the source dies with the relay. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) < 0)
		return child_fail("mount a /proc of its own\n");
	return 0;
}

/*
 * A cmd: child before exec: the tapes hidden, the cmd user, no
 * capabilities, no_new_privs.
 */
int
priv_exec_child(void)
{
	if (!child_none && !(child_none = cap_init()))
		return child_fail("drop capabilities (no memory)\n");
	if (hide_media() < 0)
		return -1;
	if (cmd_user.set) {
		if (child_setid && cap_set_proc(child_setid) < 0)
			return child_fail("raise CAP_SETUID to change user\n");
		if (setgroups((size_t)cmd_user.ngroups, cmd_user.groups) < 0 ||
		    setresgid(cmd_user.gid, cmd_user.gid, cmd_user.gid) < 0 ||
		    setresuid(cmd_user.uid, cmd_user.uid, cmd_user.uid) < 0)
			return child_fail("become the --cmd-user\n");
	}
	if (cap_set_proc(child_none) < 0)
		return child_fail("drop capabilities\n");
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return child_fail("clear the ambient set\n");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return child_fail("set no_new_privs\n");
	return 0;
}
