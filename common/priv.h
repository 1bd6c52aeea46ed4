/*
 * Least privilege: the one place where every ABS program's capabilities
 * are decided (the table at the top of common/priv.c) and dropped through
 * libcap. Each program calls one function early in main(); the README's
 * "Privileges" table says the same as that table.
 */
#ifndef ABS_PRIV_H
#define ABS_PRIV_H

#include <sys/types.h>

#define PRIV_ERRLEN 256

/* What a program or an abs-engine command is about to do. */
enum priv_role {
	PRIV_NONE,	/* abs-ctld; abs-engine between jobs */
	PRIV_TAPE,	/* abs-engine label, list, status, verify, mounted */
	PRIV_DUMP,	/* abs-engine dump: read any file of a dir:/file: source */
	PRIV_RESTORE,	/* abs-engine restore: owners, modes, device nodes */
	PRIV_SERVE,	/* abs-engine serve: dump's and restore's, one per job */
};

/*
 * abs-ctld: become user (NULL: stay who we are; a user other than ourselves
 * needs root) and keep no capability at all, bounding set and ambient set
 * included, with no_new_privs. 0, or a negative errno with err set.
 */
int priv_ctld(const char *user, char *err);

/*
 * cmd: sources run as user (a name or a number); NULL or never called: as
 * the engine itself. Call before priv_engine(): as root, the engine then
 * keeps CAP_SETUID and CAP_SETGID permitted (never effective) for the
 * forked child to change to user before exec.
 */
int priv_set_cmd_user(const char *user, char *err);

/*
 * abs-engine: keep what role needs on device (a URI: st: keeps
 * CAP_SYS_RAWIO for SG_IO), nothing else: permitted, effective and
 * bounding sets cut to it, inheritable and ambient empty, no_new_privs.
 * PRIV_SERVE keeps the union permitted and makes only the device's part
 * effective until priv_engine_job(). A process without capabilities (a
 * user running the engine on a vtape of their own) passes through.
 */
int priv_engine(enum priv_role role, const char *device, char *err);

/* serve: make a job's capabilities effective (PRIV_NONE after the job). */
int priv_engine_job(enum priv_role job, char *err);

/*
 * In a forked child that runs our own code on outside input (a dir:
 * source's archiver): permitted and effective cut to role's (and the
 * device's), so serve's restore powers do not come along.
 */
int priv_engine_child(enum priv_role role, char *err);

/*
 * Before forking a cmd: source: add the host's tape nodes to what the
 * child hides (common/hide.h). The count of paths to hide, 0 when the
 * engine cannot hide anything (it was not started as root).
 */
int priv_cmd_prepare(void);

/*
 * In a forked child before exec (a cmd: source): the media the engine
 * holds and every tape node hidden in a mount namespace of its own (as
 * root), the cmd user's ids, no
 * capabilities in any set, no_new_privs. Async-signal-safe: everything it
 * needs was prepared by the calls above. 0, or -1 after writing why to fd 2.
 */
int priv_exec_child(void);

#endif
