/*
 * The nightly report as a web page: the night's JSON report, the history
 * of the cycle around it (one report request a night), the pools and
 * their tapes, the errors per day; drawn as inline SVG and tables. Every
 * string that comes from the catalog goes through rh_escape(); the page
 * has no script and loads nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/base64.h"
#include "tools/report_html.h"

/* The longest history a page draws (nights). */
#define RH_MAX_NIGHTS 62

/* ---- gathering ---- */

/* YYYY-MM-DD plus days (negative: back), into out[11]; -1 if not a date. */
static int
day_add(const char *day, int days, char *out)
{
	struct tm tm = { 0 };
	time_t t;

	if (!day || strlen(day) != 10 || !strptime(day, "%Y-%m-%d", &tm))
		return -1;
	tm.tm_hour = 12;
	t = timegm(&tm) + (time_t)days * 86400;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
	return 0;
}

/* An integer field (0 if absent). */
static long long
nf(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* A string field ("" if absent). */
static const char *
sf(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* The night's totals and per-drive sums from one JSON report. */
static json_t *
night_of(json_t *rep, const char *night, json_t *drives)
{
	long long full = 0, incr = 0, nfull = 0, nincr = 0;
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(rep, "dumped"), i, d) {
		long long b = nf(d, "bytes");
		double secs = json_number_value(json_object_get(d, "seconds"));
		const char *drive = sf(d, "drive");
		if (nf(d, "level") == 0)
			full += b, nfull++;
		else
			incr += b, nincr++;
		if (!*drive || !(secs > 0))
			continue;	/* a rate only from dumps that were timed */
		json_t *dr = json_object_get(drives, drive), *n;
		if (!dr) {
			dr = json_object();
			json_object_set_new(drives, drive, dr);
		}
		if (!(n = json_object_get(dr, night))) {
			n = json_pack("{s:I,s:f,s:I}", "bytes", (json_int_t)0,
			    "seconds", 0.0, "dumps", (json_int_t)0);
			json_object_set_new(dr, night, n);
		}
		json_object_set_new(n, "bytes", json_integer(nf(n, "bytes") + b));
		json_object_set_new(n, "seconds", json_real(json_number_value(
		    json_object_get(n, "seconds")) + secs));
		json_object_set_new(n, "dumps", json_integer(nf(n, "dumps") + 1));
	}
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:b}", "night", night,
	    "full_bytes", (json_int_t)full, "incr_bytes", (json_int_t)incr,
	    "full_dumps", (json_int_t)nfull, "incr_dumps", (json_int_t)nincr,
	    "failed", (json_int_t)json_array_size(json_object_get(rep, "failed")),
	    "ran", json_array_size(json_object_get(rep, "runs")) > 0);
}

/* The longest full cycle of the types (days), at least 7 (7 unknown). */
static int
cycle_nights(rh_call_fn *call)
{
	int rc = 0;
	json_t *types = call("types", json_object(), &rc), *t;
	int n = 7;
	size_t i;

	json_array_foreach(types, i, t)
		if (nf(t, "full_every_days") > n)
			n = (int)nf(t, "full_every_days");
	json_decref(types);
	return n;
}

json_t *
rh_gather(rh_call_fn *call, const struct rh_opts *o, int *rc)
{
	json_t *rep, *out, *nights, *drives, *v;
	char day[11], from[11];
	const char *night;
	int n = o->nights;

	rep = call("report", o->night ? json_pack("{s:s}", "night", o->night) :
	    json_object(), rc);
	if (!rep)
		return NULL;
	night = sf(rep, "night");
	if (n <= 0)
		n = cycle_nights(call);
	if (n > RH_MAX_NIGHTS)
		n = RH_MAX_NIGHTS;
	if (day_add(night, -(n - 1), from) < 0) {
		fprintf(stderr, "abs-ctl report: the report's night '%s' is not a"
		    " date\n", night);
		json_decref(rep);
		*rc = 1;
		return NULL;
	}
	out = json_pack("{s:O,s:s,s:s,s:i,s:s}", "report", rep, "night", night,
	    "from", from, "nights_n", n, "version", o->version ? o->version :
	    "");
	nights = json_array();
	drives = json_object();
	json_object_set_new(out, "nights", nights);
	json_object_set_new(out, "drives", drives);
	/* Oldest first; the night itself from the report already read. */
	for (int k = n - 1; k >= 0; k--) {
		json_t *r = rep;
		day_add(night, -k, day);
		if (k > 0 && !(r = call("report", json_pack("{s:s}", "night", day),
		    rc)))
			goto fail;
		json_array_append_new(nights, night_of(r, day, drives));
		if (r != rep)
			json_decref(r);
	}
	if (!(v = call("pools", json_object(), rc)))
		goto fail;
	json_object_set_new(out, "pools", v);
	if (!(v = call("tapes", json_object(), rc)))
		goto fail;
	json_object_set_new(out, "tapes", v);
	if (!(v = call("errors", json_pack("{s:s}", "since", from), rc)))
		goto fail;
	json_object_del(v, "events");	/* the page counts them per day */
	json_object_set_new(out, "errors", v);
	json_object_set(out, "floors", o->floors ? o->floors : json_object());
	json_decref(rep);
	return out;
fail:
	json_decref(rep);
	json_decref(out);
	return NULL;
}

/* ---- writing ---- */

void
rh_escape(FILE *fp, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '&')
			fputs("&amp;", fp);
		else if (c == '<')
			fputs("&lt;", fp);
		else if (c == '>')
			fputs("&gt;", fp);
		else if (c == '"')
			fputs("&quot;", fp);
		else if (c == '\'')
			fputs("&#39;", fp);
		else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			fputs("&#xfffd;", fp);
		else
			fputc(c, fp);
	}
}

/* Bytes for people: 1.2 GB (decimal units, as drives are sold). */
static const char *
human(double b, char *buf, size_t len)
{
	static const char *const u[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	int i = 0;

	while ((b >= 1000 || b <= -1000) && i < 5)
		b /= 1000, i++;
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", b, u[i]);
	return buf;
}

/* A round axis top at or above v (1, 2, 5 times a power of ten). */
static double
nice_top(double v)
{
	double p = 1;

	if (!(v > 0) || v > 1e300)
		return 1;
	while (p * 10 <= v)
		p *= 10;
	while (p > v)
		p /= 10;
	return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

/* Chart geometry: the plot area inside the SVG. */
#define CW 1000
#define CH 260
#define PL 80		/* left margin: the axis labels */
#define PR 20
#define PT 20
#define PB 50

/* The y axis: four grid lines with labels (bytes or a unit after). */
static void
y_axis(FILE *fp, double top, bool bytes, const char *unit)
{
	char b[32];

	for (int g = 0; g <= 4; g++) {
		double v = top * g / 4;
		int y = CH - PB - (CH - PT - PB) * g / 4;
		fprintf(fp, "<line x1='%d' y1='%d' x2='%d' y2='%d' class='grid'/>",
		    PL, y, CW - PR, y);
		if (bytes)
			human(v, b, sizeof(b));
		else
			snprintf(b, sizeof(b), "%g%s", v, unit);
		fprintf(fp, "<text x='%d' y='%d' class='yl'>%s</text>\n", PL - 6,
		    y + 4, b);
	}
}

/* A night's label under its slot (MM-DD; every k-th when crowded). */
static void
x_label(FILE *fp, const char *night, int i, int n, double x)
{
	int every = n > 31 ? 4 : n > 15 ? 2 : 1;

	if (i % every && i != n - 1)
		return;
	fprintf(fp, "<text x='%.1f' y='%d' class='xl'>", x, CH - PB + 16);
	rh_escape(fp, strlen(night) == 10 ? night + 5 : night);
	fputs("</text>", fp);
}

/* Bytes per night, full and incremental stacked, and their mean. */
static void
chart_nights(FILE *fp, json_t *nights)
{
	size_t n = json_array_size(nights), i;
	double top = 0, sum = 0, slot, bw;
	json_t *v;
	char b1[32], b2[32];

	json_array_foreach(nights, i, v) {
		double t = (double)(nf(v, "full_bytes") + nf(v, "incr_bytes"));
		sum += t;
		if (t > top)
			top = t;
	}
	top = nice_top(top);
	slot = (double)(CW - PL - PR) / (double)(n ? n : 1);
	bw = slot * 0.7;
	fprintf(fp, "<svg class='chart' viewBox='0 0 %d %d' role='img' "
	    "aria-label='bytes per night, full and incremental'>\n", CW, CH);
	y_axis(fp, top, true, "");
	json_array_foreach(nights, i, v) {
		double full = (double)nf(v, "full_bytes");
		double incr = (double)nf(v, "incr_bytes");
		double x = PL + slot * (double)i + (slot - bw) / 2;
		double hf = (CH - PT - PB) * full / top;
		double hi = (CH - PT - PB) * incr / top;
		double y0 = CH - PB;
		fprintf(fp, "<g><title>");
		rh_escape(fp, sf(v, "night"));
		fprintf(fp, ": full %s (%lld dumps), incremental %s (%lld dumps)"
		    "</title>", human(full, b1, sizeof(b1)), nf(v, "full_dumps"),
		    human(incr, b2, sizeof(b2)), nf(v, "incr_dumps"));
		fprintf(fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
		    "class='full'/>", x, y0 - hf, bw, hf);
		fprintf(fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
		    "class='incr'/>", x, y0 - hf - hi, bw, hi);
		if (!json_is_true(json_object_get(v, "ran")))
			fprintf(fp, "<text x='%.1f' y='%d' class='none'>no run</text>",
			    x + bw / 2, CH - PB - 4);
		fputs("</g>", fp);
		x_label(fp, sf(v, "night"), (int)i, (int)n, x + bw / 2);
		fputc('\n', fp);
	}
	if (n && sum > 0) {
		double y = CH - PB - (CH - PT - PB) * (sum / (double)n) / top;
		fprintf(fp, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' class='mean'/>"
		    "<text x='%d' y='%.1f' class='ml'>mean %s</text>\n", PL, y,
		    CW - PR, y, CW - PR, y - 4, human(sum / (double)n, b1,
		    sizeof(b1)));
	}
	fputs("<rect x='90' y='4' width='10' height='10' class='full'/>"
	    "<text x='104' y='13'>full (level 0)</text>"
	    "<rect x='200' y='4' width='10' height='10' class='incr'/>"
	    "<text x='214' y='13'>incremental</text></svg>\n", fp);
}

/* A drive's floor in MB/s: its own, else "*", else 0 (none given). */
static double
floor_of(json_t *floors, const char *drive)
{
	json_t *f = json_object_get(floors, drive);

	if (!f)
		f = json_object_get(floors, "*");
	return json_number_value(f);
}

/* Each drive's MB/s per night against its speed-matching floor. */
static void
chart_drives(FILE *fp, json_t *data)
{
	json_t *drives = json_object_get(data, "drives"), *nights =
	    json_object_get(data, "nights"), *floors = json_object_get(data,
	    "floors"), *dr, *v;
	size_t n = json_array_size(nights), nd = json_object_size(drives), i;
	const char *name;
	double top = 0, slot, bw;
	int k = 0;

	if (!nd) {
		fputs("<p class='empty'>No dump of the cycle was timed.</p>\n", fp);
		return;
	}
	json_object_foreach(drives, name, dr) {
		const char *night;
		json_object_foreach(dr, night, v) {
			double s = json_number_value(json_object_get(v, "seconds"));
			double r = s > 0 ? (double)nf(v, "bytes") / 1e6 / s : 0;
			if (r > top)
				top = r;
		}
		if (floor_of(floors, name) > top)
			top = floor_of(floors, name);
	}
	top = nice_top(top);
	slot = (double)(CW - PL - PR) / (double)(n ? n : 1);
	bw = slot * 0.8 / (double)nd;
	fprintf(fp, "<svg class='chart' viewBox='0 0 %d %d' role='img' "
	    "aria-label='throughput per drive and night'>\n", CW, CH);
	y_axis(fp, top, false, " MB/s");
	json_object_foreach(drives, name, dr) {
		double fl = floor_of(floors, name);
		json_array_foreach(nights, i, v) {
			const char *night = sf(v, "night");
			json_t *dn = json_object_get(dr, night);
			double s = json_number_value(json_object_get(dn, "seconds"));
			double r = s > 0 ? (double)nf(dn, "bytes") / 1e6 / s : 0;
			double x = PL + slot * (double)i + slot * 0.1 + bw * k;
			double h = (CH - PT - PB) * r / top;
			if (!(s > 0))
				continue;	/* no dump of that night was timed */
			fprintf(fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f'"
			    " class='d%d%s'><title>", x, CH - PB - h, bw, h, k % 6,
			    fl > 0 && r < fl ? " slow" : "");
			rh_escape(fp, name);
			fputs(" ", fp);
			rh_escape(fp, night);
			fprintf(fp, ": %.2f MB/s over %lld timed dumps%s</title>"
			    "</rect>", r, nf(dn, "dumps"), fl > 0 && r < fl ?
			    ", under the drive's speed-matching floor" : "");
		}
		if (fl > 0) {
			double y = CH - PB - (CH - PT - PB) * fl / top;
			fprintf(fp, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' "
			    "class='floor d%d'/><text x='%d' y='%.1f' class='ml'>",
			    PL, y, CW - PR, y, k % 6, CW - PR, y - 4);
			rh_escape(fp, name);
			fprintf(fp, " floor %g MB/s</text>\n", fl);
		}
		fprintf(fp, "<rect x='%d' y='4' width='10' height='10' class='d%d'/>"
		    "<text x='%d' y='13'>", 90 + 140 * k, k % 6, 104 + 140 * k);
		rh_escape(fp, name);
		fputs("</text>\n", fp);
		k++;
	}
	json_array_foreach(nights, i, v)
		x_label(fp, sf(v, "night"), (int)i, (int)n, PL + slot * (double)i +
		    slot / 2);
	fputs("</svg>\n", fp);
}

/* Tape states as the pool chart stacks them, and the rest. */
static const char *const states[] = { "full", "appendable", "blank",
    "no-new-writes", "out-of-service" };
#define NSTATES 5

/* Per pool: its tapes by state against its min and max. */
static void
chart_pools(FILE *fp, json_t *data)
{
	json_t *pools = json_object_get(data, "pools"), *tapes =
	    json_object_get(data, "tapes"), *p, *t;
	size_t np = json_array_size(pools), i, j;
	double top = 1;
	int rowh = 34, h = PT + (int)np * rowh + 56;

	json_array_foreach(pools, i, p) {
		double m = (double)nf(p, "tapes");
		if ((double)nf(p, "max_tapes") > m)
			m = (double)nf(p, "max_tapes");
		if ((double)nf(p, "min_tapes") > m)
			m = (double)nf(p, "min_tapes");
		if (m > top)
			top = m;
	}
	top = nice_top(top);
	fprintf(fp, "<svg class='chart' viewBox='0 0 %d %d' role='img' "
	    "aria-label='tapes per pool against minimum and maximum'>\n", CW, h);
	for (int g = 0; g <= 4; g++) {
		double x = PL + 60 + (CW - PL - 60 - PR) * g / 4.0;
		fprintf(fp, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' class='grid'/>"
		    "<text x='%.1f' y='%d' class='xl'>%g</text>\n", x, PT, x,
		    h - 46, x, h - 32, top * g / 4);
	}
	json_array_foreach(pools, i, p) {
		const char *pool = sf(p, "name");
		int y = PT + (int)i * rowh + 6;
		double x = PL + 60, scale = (CW - PL - 60 - PR) / top;
		long long cnt[NSTATES + 1] = { 0 }, bytes = 0;
		json_array_foreach(tapes, j, t) {
			int s;
			if (strcmp(sf(t, "pool"), pool) || !strcmp(sf(t, "state"),
			    "destroyed"))
				continue;
			for (s = 0; s < NSTATES && strcmp(states[s], sf(t, "state"));
			    s++)
				;
			cnt[s]++;
			bytes += nf(t, "bytes");
		}
		fprintf(fp, "<text x='%d' y='%d' class='yl'>", PL + 54, y + 17);
		rh_escape(fp, pool);
		fputs("</text>", fp);
		for (int s = 0; s <= NSTATES; s++) {
			char b[32];
			if (!cnt[s])
				continue;
			fprintf(fp, "<rect x='%.1f' y='%d' width='%.1f' height='22' "
			    "class='s%d'><title>", x, y, scale * (double)cnt[s], s);
			rh_escape(fp, pool);
			fprintf(fp, ": %lld %s (%s written in the pool)</title></rect>",
			    cnt[s], s < NSTATES ? states[s] : "other",
			    human((double)bytes, b, sizeof(b)));
			x += scale * (double)cnt[s];
		}
		if (nf(p, "min_tapes") > 0) {
			double mx = PL + 60 + scale * (double)nf(p, "min_tapes");
			fprintf(fp, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' "
			    "class='min'/><text x='%.1f' y='%d' class='tick'>min %lld"
			    "</text>", mx, y - 3, mx, y + 25, mx, y - 5,
			    nf(p, "min_tapes"));
		}
		if (nf(p, "max_tapes") > 0) {
			double mx = PL + 60 + scale * (double)nf(p, "max_tapes");
			fprintf(fp, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' "
			    "class='max'/><text x='%.1f' y='%d' class='tick'>max %lld"
			    "</text>", mx, y - 3, mx, y + 25, mx, y - 5,
			    nf(p, "max_tapes"));
		}
		fputc('\n', fp);
	}
	for (int s = 0; s <= NSTATES; s++)
		fprintf(fp, "<rect x='%d' y='%d' width='10' height='10' class='s%d'/>"
		    "<text x='%d' y='%d'>%s</text>", PL + 60 + 140 * s, h - 14, s,
		    PL + 74 + 140 * s, h - 5, s < NSTATES ? states[s] : "other");
	fputs("</svg>\n", fp);
}

/*
 * Errors per day of a drive or tape (rows) over the cycle (columns): a
 * shaded cell with its count.
 */
static void
chart_errors(FILE *fp, json_t *data, const char *list, const char *key,
    const char *what)
{
	json_t *rows = json_object_get(json_object_get(data, "errors"), list);
	json_t *nights = json_object_get(data, "nights"), *names = json_array();
	json_t *e, *v, *nm;
	size_t n = json_array_size(nights), i, j;
	long long most = 1;
	double cw;
	int rowh = 22, h;

	json_array_foreach(rows, i, e) {
		bool have = false;
		json_array_foreach(names, j, nm)
			have = have || strcmp(json_string_value(nm), sf(e, key)) == 0;
		if (!have)
			json_array_append_new(names, json_string(sf(e, key)));
		if (nf(e, "errors") > most)
			most = nf(e, "errors");
	}
	if (!json_array_size(names)) {
		fprintf(fp, "<p class='empty'>No error on any %s in the cycle.</p>\n",
		    what);
		json_decref(names);
		return;
	}
	h = PT + (int)json_array_size(names) * rowh + 30;
	cw = (double)(CW - PL - PR) / (double)(n ? n : 1);
	fprintf(fp, "<svg class='chart' viewBox='0 0 %d %d' role='img' "
	    "aria-label='errors per %s and day'>\n", CW, h, what);
	json_array_foreach(names, j, nm) {
		const char *name = json_string_value(nm);
		int y = PT + (int)j * rowh;
		fprintf(fp, "<text x='%d' y='%d' class='yl'>", PL - 6, y + 15);
		rh_escape(fp, name);
		fputs("</text>", fp);
		json_array_foreach(nights, i, v) {
			long long cnt = 0;
			size_t k;
			json_array_foreach(rows, k, e)
				if (!strcmp(sf(e, key), name) && !strcmp(sf(e, "day"),
				    sf(v, "night")))
					cnt += nf(e, "errors");
			fprintf(fp, "<rect x='%.1f' y='%d' width='%.1f' height='%d' "
			    "class='cell' fill-opacity='%.2f'><title>", PL + cw *
			    (double)i + 1, y, cw - 2, rowh - 2, cnt ? 0.25 + 0.75 *
			    (double)cnt / (double)most : 0.0);
			rh_escape(fp, name);
			fputs(" ", fp);
			rh_escape(fp, sf(v, "night"));
			fprintf(fp, ": %lld errors</title></rect>", cnt);
			if (cnt)
				fprintf(fp, "<text x='%.1f' y='%d' class='cnt%s'>%lld"
				    "</text>", PL + cw * (double)i + cw / 2, y + 15,
				    0.25 + 0.75 * (double)cnt / (double)most > 0.6 ? " on" :
				    "", cnt);
		}
		fputc('\n', fp);
	}
	json_array_foreach(nights, i, v) {
		fprintf(fp, "<text x='%.1f' y='%d' class='xl'>", PL + cw *
		    (double)i + cw / 2, h - 10);
		rh_escape(fp, (int)i % (n > 31 ? 4 : n > 15 ? 2 : 1) &&
		    i + 1 != n ? "" : strlen(sf(v, "night")) == 10 ?
		    sf(v, "night") + 5 : "");
		fputs("</text>", fp);
	}
	fputs("</svg>\n", fp);
	json_decref(names);
}

/*
 * A table of rows (objects) with the columns given: "key" or "key|Title";
 * numbers right-aligned, strings escaped, null "-". id names it (tests).
 */
static void
table(FILE *fp, const char *id, const char *title, json_t *rows,
    const char *const *cols)
{
	json_t *r;
	size_t i;

	fprintf(fp, "<h3>%s (%zu)</h3>\n", title, json_array_size(rows));
	if (!json_array_size(rows))
		return;
	fprintf(fp, "<table id='%s'><tr>", id);
	for (const char *const *c = cols; *c; c++) {
		const char *bar = strchr(*c, '|');
		fputs("<th>", fp);
		rh_escape(fp, bar ? bar + 1 : *c);
		fputs("</th>", fp);
	}
	fputs("</tr>\n", fp);
	json_array_foreach(rows, i, r) {
		fputs("<tr>", fp);
		for (const char *const *c = cols; *c; c++) {
			char key[64];
			snprintf(key, sizeof(key), "%.*s", (int)strcspn(*c, "|"), *c);
			json_t *v = json_object_get(r, key);
			if (json_is_integer(v))
				fprintf(fp, "<td class='n'>%lld</td>",
				    (long long)json_integer_value(v));
			else if (json_is_real(v))
				fprintf(fp, "<td class='n'>%.2f</td>", json_real_value(v));
			else if (json_is_boolean(v))
				fprintf(fp, "<td>%s</td>", json_is_true(v) ? "yes" : "no");
			else if (json_is_string(v)) {
				fputs("<td>", fp);
				rh_escape(fp, json_string_value(v));
				fputs("</td>", fp);
			} else
				fputs("<td>-</td>", fp);
		}
		fputs("</tr>\n", fp);
	}
	fputs("</table>\n", fp);
}

/* A summary box: a count and what it counts; warn when it is not 0. */
static void
box(FILE *fp, long long n, const char *what, bool warn)
{
	fprintf(fp, "<div class='box%s'><b>%lld</b>%s</div>", warn && n ?
	    " warn" : "", n, what);
}

static const char style[] =
"body{font:14px/1.4 sans-serif;margin:24px;color:#222;background:#fff}"
"h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}"
"h3{font-size:15px;margin:18px 0 6px}"
"table{border-collapse:collapse;margin:4px 0 12px}"
"td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
"td.n{text-align:right;font-variant-numeric:tabular-nums}"
"th{background:#eef}"
".boxes{display:flex;flex-wrap:wrap;gap:8px}"
".box{border:1px solid #99a;border-radius:4px;padding:6px 12px;min-width:90px}"
".box b{display:block;font-size:22px}.box.warn{background:#fdd;border-color:#c33}"
"svg.chart{width:100%;max-width:1000px;height:auto;display:block;margin:8px 0}"
"svg text{font:12px sans-serif;fill:#222}"
"svg .yl{text-anchor:end}svg .xl{text-anchor:middle}svg .ml{text-anchor:end}"
"svg .tick{text-anchor:middle;font-size:10px}"
"svg .none{text-anchor:middle;font-size:10px;fill:#999}"
"svg .cnt{text-anchor:middle;font-size:11px}svg .cnt.on{fill:#fff}"
"svg .grid{stroke:#ddd}svg .mean{stroke:#444;stroke-dasharray:6 4}"
"svg .full{fill:#2b5797}svg .incr{fill:#8fb3e6}"
"svg .floor{stroke-width:2;stroke-dasharray:8 4}"
"svg .d0{fill:#2b5797;stroke:#2b5797}svg .d1{fill:#e37222;stroke:#e37222}"
"svg .d2{fill:#3a9d23;stroke:#3a9d23}svg .d3{fill:#8e44ad;stroke:#8e44ad}"
"svg .d4{fill:#b8860b;stroke:#b8860b}svg .d5{fill:#16a085;stroke:#16a085}"
"svg line.floor{fill:none}svg rect.slow{stroke:#c00;stroke-width:2}"
"svg .s0{fill:#2b5797}svg .s1{fill:#8fb3e6}svg .s2{fill:#cfe0f5}"
"svg .s3{fill:#e3a857}svg .s4{fill:#c0392b}svg .s5{fill:#999}"
"svg .min{stroke:#c00;stroke-width:2}svg .max{stroke:#222;stroke-width:2}"
"svg .cell{fill:#c0392b;stroke:#eee}"
".empty{color:#666}footer{margin-top:30px;color:#666;font-size:12px}";

int
rh_write_html(FILE *fp, json_t *data)
{
	json_t *r = json_object_get(data, "report"), *nights =
	    json_object_get(data, "nights"), *v;
	const char *night = sf(data, "night");
	long long low = 0;
	size_t i;

	json_array_foreach(json_object_get(r, "pools"), i, v)
		low += json_is_true(json_object_get(v, "low"));
	fputs("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>\n"
	    "<meta name='viewport' content='width=device-width'>\n<title>ABS "
	    "nightly report for ", fp);
	rh_escape(fp, night);
	fprintf(fp, "</title>\n<style>%s</style></head><body>\n", style);
	fputs("<h1>ABS nightly report for <span id='night'>", fp);
	rh_escape(fp, night);
	fputs("</span></h1>\n", fp);
	json_array_foreach(json_object_get(r, "runs"), i, v) {
		fprintf(fp, "<p class='run'>run %lld on ", nf(v, "id"));
		rh_escape(fp, sf(v, "drives"));
		fputs(": ", fp);
		rh_escape(fp, sf(v, "state"));
		fputs(" (", fp);
		rh_escape(fp, sf(v, "detail"));
		fputs(")</p>\n", fp);
	}
	if (!json_array_size(json_object_get(r, "runs")))
		fputs("<p class='run'>No run that night.</p>\n", fp);
	fputs("<div class='boxes'>", fp);
	box(fp, (long long)json_array_size(json_object_get(r, "dumped")), "dumped",
	    false);
	box(fp, (long long)json_array_size(json_object_get(r, "failed")), "failed",
	    true);
	box(fp, (long long)json_array_size(json_object_get(r, "not_started")),
	    "not started", true);
	box(fp, (long long)json_array_size(json_object_get(r, "overdue")),
	    "overdue", true);
	box(fp, (long long)json_array_size(json_object_get(r, "broken_chains")),
	    "broken chains", true);
	box(fp, (long long)json_array_size(json_object_get(r, "vanished")),
	    "vanished", true);
	box(fp, (long long)json_array_size(json_object_get(r, "tapes")),
	    "tapes written", false);
	box(fp, (long long)json_array_size(json_object_get(r, "errors")),
	    "errors", true);
	box(fp, low, "pools below minimum", true);
	fputs("</div>\n", fp);

	fputs("<h2>Bytes per night, ", fp);
	rh_escape(fp, sf(data, "from"));
	fputs(" to ", fp);
	rh_escape(fp, night);
	fputs(": the planner's balance</h2>\n<p>Fulls and incrementals of the"
	    " nightly runs; an even cycle spreads the fulls over its nights.</p>\n",
	    fp);
	chart_nights(fp, nights);
	fputs("<details><summary>the numbers</summary>\n", fp);
	table(fp, "nights", "nights", nights, (const char *const[]){ "night",
	    "full_bytes|full bytes", "full_dumps|fulls", "incr_bytes|incremental"
	    " bytes", "incr_dumps|incrementals", "failed", NULL });
	fputs("</details>\n", fp);

	fputs("<h2>Throughput per drive</h2>\n<p>Bytes over the seconds of the"
	    " night's dumps on each drive; a dashed line is the drive's"
	    " speed-matching floor (abs-ctl report --floor): below it the drive"
	    " stops and repositions (shoe-shining).</p>\n", fp);
	chart_drives(fp, data);

	fputs("<h2>Tapes per pool</h2>\n<p>The pool's tapes by state against"
	    " its minimum (red) and maximum (black).</p>\n", fp);
	chart_pools(fp, data);
	table(fp, "pools", "pools", json_object_get(data, "pools"),
	    (const char *const[]){ "name|pool", "tapes", "writable", "min_tapes|"
	    "minimum", "max_tapes|maximum", "keep_fulls|keep fulls", "keep_days|"
	    "keep days", NULL });

	fputs("<h2>Errors over time</h2>\n<h3>per drive</h3>\n", fp);
	chart_errors(fp, data, "per_drive", "drive", "drive");
	fputs("<h3>per tape</h3>\n", fp);
	chart_errors(fp, data, "per_tape", "label", "tape");
	fputs("<details><summary>the numbers</summary>\n", fp);
	table(fp, "errors_per_drive", "errors per drive and day", json_object_get(
	    json_object_get(data, "errors"), "per_drive"), (const char *const[]){
	    "drive", "day", "errors", NULL });
	table(fp, "errors_per_tape", "errors per tape and day", json_object_get(
	    json_object_get(data, "errors"), "per_tape"), (const char *const[]){
	    "label|tape", "day", "errors", NULL });
	fputs("</details>\n", fp);

	fputs("<h2>The night</h2>\n", fp);
	table(fp, "dumped", "dumped", json_object_get(r, "dumped"),
	    (const char *const[]){ "entity", "level", "bytes", "seconds",
	    "rate_mbs|MB/s", "drive", "tapes", "attempt", "dump", NULL });
	table(fp, "failed", "failed", json_object_get(r, "failed"),
	    (const char *const[]){ "entity", "level", "drive", "attempt", "why",
	    NULL });
	table(fp, "retries", "retried", json_object_get(r, "retries"),
	    (const char *const[]){ "entity", "attempts", "result", NULL });
	table(fp, "overdue", "overdue", json_object_get(r, "overdue"),
	    (const char *const[]){ "entity", "level", "bytes", "reason", NULL });
	table(fp, "skipped", "skipped (window, limit, capacity)",
	    json_object_get(r, "skipped"), (const char *const[]){ "entity",
	    "level", "bytes", "reason", NULL });
	table(fp, "not_started", "planned, not started", json_object_get(r,
	    "not_started"), (const char *const[]){ "entity", "level", "bytes",
	    "drive", "reason", NULL });
	table(fp, "broken_chains", "broken chains (a full is planned)",
	    json_object_get(r, "broken_chains"), (const char *const[]){ "entity",
	    "dump", "why", NULL });
	table(fp, "new", "new entities", json_object_get(r, "new"),
	    (const char *const[]){ "entity", "at", NULL });
	table(fp, "vanished", "vanished entities", json_object_get(r,
	    "vanished"), (const char *const[]){ "entity", "at", NULL });
	table(fp, "tapes", "tapes written", json_object_get(r, "tapes"),
	    (const char *const[]){ "label", "pool", "state", "files", "bytes",
	    "offsite|to go offsite", NULL });
	table(fp, "errors", "errors", json_object_get(r, "errors"),
	    (const char *const[]){ "drive", "label|tape", "kind", "count", NULL });
	if (json_array_size(json_object_get(r, "in_portals")))
		table(fp, "in_portals", "cartridges in library portals",
		    json_object_get(r, "in_portals"), (const char *const[]){
		    "barcode", "label", "library", "portal", NULL });
	if (json_array_size(json_object_get(r, "cleaning_expended")))
		table(fp, "cleaning_expended", "expended cleaning cartridges",
		    json_object_get(r, "cleaning_expended"), (const char *const[]){
		    "barcode", "library", "uses", NULL });
	table(fp, "report_pools", "pools tonight", json_object_get(r, "pools"),
	    (const char *const[]){ "pool", "writable", "tapes", "min_tapes|"
	    "minimum", "low|below minimum", NULL });
	fputs("<footer>abs-ctl ", fp);
	rh_escape(fp, sf(data, "version"));
	fputs(" &middot; the same report as text: abs-ctl report --night ", fp);
	rh_escape(fp, night);
	fputs("; as JSON: --json</footer>\n</body></html>\n", fp);
	return ferror(fp) ? -1 : 0;
}

/* Bytes as base64 in lines of 76 (RFC 2045). */
static void
b64_lines(FILE *fp, const char *s, size_t n)
{
	char out[B64_ENCLEN(57) + 1];

	for (size_t off = 0; off < n; off += 57) {
		size_t k = n - off < 57 ? n - off : 57;
		b64_encode((const uint8_t *)s + off, k, out);
		fprintf(fp, "%s\r\n", out);
	}
}

/* A header's value without line breaks (they would start new headers). */
static void
header_value(FILE *fp, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\r' || *s == '\n' ? ' ' : *s, fp);
}

int
rh_write_mime(FILE *fp, json_t *data, json_t *to, const char *subject)
{
	json_t *r = json_object_get(data, "report"), *a;
	const char *text = sf(r, "text");
	char *html = NULL, boundary[64];
	size_t hlen = 0, i;
	FILE *mem = open_memstream(&html, &hlen);
	unsigned long long salt = (unsigned long long)time(NULL) ^
	    ((unsigned long long)getpid() << 20);

	if (!mem)
		return -1;
	if (rh_write_html(mem, data) < 0 || fclose(mem) != 0) {
		free(html);
		return -1;
	}
	/* Base64 never holds "=_", so the boundary cannot occur in a part. */
	snprintf(boundary, sizeof(boundary), "=_abs-report-%llx", salt);
	if (json_array_size(to)) {
		fputs("To: ", fp);
		json_array_foreach(to, i, a) {
			fputs(i ? ", " : "", fp);
			header_value(fp, json_string_value(a));
		}
		fputs("\r\n", fp);
	}
	fputs("Subject: ", fp);
	if (subject)
		header_value(fp, subject);
	else {
		fputs("ABS nightly report for ", fp);
		header_value(fp, sf(data, "night"));
	}
	fprintf(fp, "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/"
	    "alternative; boundary=\"%s\"\r\n\r\nThe ABS nightly report, as text"
	    " and as a web page.\r\n", boundary);
	fprintf(fp, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", boundary);
	b64_lines(fp, text, strlen(text));
	fprintf(fp, "--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", boundary);
	b64_lines(fp, html, hlen);
	fprintf(fp, "--%s--\r\n", boundary);
	free(html);
	return ferror(fp) ? -1 : 0;
}
