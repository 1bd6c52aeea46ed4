/*
 * The nightly report as one self-contained web page (abs-ctl report
 * --html FILE) and as a mail that carries it (--mime): inline SVG charts,
 * no JavaScript, nothing fetched. Built from the replies of requests
 * abs-ctl sends anyway (report, types, pools, tapes, errors), so the page
 * cannot say other numbers than the JSON report.
 */
#ifndef ABS_TOOLS_REPORT_HTML_H
#define ABS_TOOLS_REPORT_HTML_H

#include <stdio.h>
#include <jansson.h>

/*
 * A request with args (taken): its result, or NULL after saying why, with
 * *rc the exit code (abs-ctl's call_result).
 */
typedef json_t *rh_call_fn(const char *op, json_t *args, int *rc);

struct rh_opts {
	const char *night;	/* YYYY-MM-DD; NULL: the newest run's */
	int nights;		/* the history's length; 0: the longest cycle */
	json_t *floors;		/* drive -> MB/s its speed matching goes down
				   to; "*": every other drive (may be NULL) */
	const char *version;	/* the program's, for the footer */
};

/*
 * Everything the page shows: {"report": the JSON report, "nights": [...],
 * "drives": {...}, "pools", "tapes", "errors", ...}; NULL and *rc.
 */
json_t *rh_gather(rh_call_fn *call, const struct rh_opts *o, int *rc);

/* The page. 0, or -1 (a write error: errno). */
int rh_write_html(FILE *fp, json_t *data);

/*
 * A mail (RFC 5322 and MIME) for sendmail -t: To the addresses (a JSON
 * array of strings; none: no To line), the subject, a multipart/alternative
 * of the report's text and the page. 0, or -1 (errno).
 */
int rh_write_mime(FILE *fp, json_t *data, json_t *to, const char *subject);

/* s with & < > " ' as entities, control bytes as U+FFFD. */
void rh_escape(FILE *fp, const char *s);

#endif
