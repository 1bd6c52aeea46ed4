/* Logging to stderr or syslog; the level is checked before formatting. */
#ifndef ABS_LOG_H
#define ABS_LOG_H

#include <stdarg.h>

/* LOG_LVL_QUIET as the current level: nothing at all (the fuzzers). */
enum log_level { LOG_LVL_QUIET = -1, LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO,
	LOG_LVL_DEBUG };

extern int log_level_current;

/*
 * Program name (the stderr prefix and syslog ident), level, and where to:
 * syslog (facility daemon, with the pid) or stderr as "prog: message".
 */
void log_init(const char *progname, int level, int use_syslog);
void log_emit(int level, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_at(lvl, ...) do { \
	if ((lvl) <= log_level_current) \
		log_emit((lvl), __func__, __VA_ARGS__); \
} while (0)
#define log_err(...)	log_at(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_at(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_at(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_at(LOG_LVL_DEBUG, __VA_ARGS__)

/* Print "prog: message" and exit(1); for main() and set-up only. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
