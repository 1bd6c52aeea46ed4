/* Logging: one place that decides where messages go. */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "common/esc.h"
#include "common/log.h"

int log_level_current = LOG_LVL_WARN;
static const char *log_prog = "abs";
static int log_syslog;

/* Set the program name, the level and the destination. */
void
log_init(const char *progname, int level, int use_syslog)
{
	log_prog = progname;
	log_level_current = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID, LOG_DAEMON);
}

/*
 * Format and send one message; callers check the level first. Messages
 * carry outside text (file names, tape fields): controls in it are
 * escaped here, once for every message (common/esc.h).
 */
void
log_emit(int level, const char *func, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char raw[2048], buf[4 * sizeof(raw)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	esc_text(raw, buf, sizeof(buf), 0);
	if (log_syslog)
		syslog(prio[level], "%s", buf);
	else if (level == LOG_LVL_DEBUG)
		fprintf(stderr, "%s: %s: %s\n", log_prog, func, buf);
	else
		fprintf(stderr, "%s: %s\n", log_prog, buf);
}

/* Report a fatal set-up error and exit. */
void
die(const char *fmt, ...)
{
	char raw[2048], buf[4 * sizeof(raw)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", log_prog, esc_text(raw, buf, sizeof(buf),
	    0));
	exit(1);
}
