/* Dates as restore and find take them (common/date.h). */
#include <ctype.h>
#include <string.h>

#include "common/date.h"

bool
date_prefix_valid(const char *date)
{
	static const char form[] = "0000-00-00T00:00:00Z";
	/* Each field's range, from its start; the day is checked loosely
	   (a prefix compares by its text, no calendar needed). */
	static const struct { unsigned at, lo, hi; } f[] = {
		{ 5, 1, 12 }, { 8, 1, 31 }, { 11, 0, 23 }, { 14, 0, 59 },
		{ 17, 0, 60 },
	};
	size_t n = date ? strlen(date) : 0;

	/* Whole fields only: YYYY, YYYY-MM, ... up to the full time. */
	if (n != 4 && n != 7 && n != 10 && n != 13 && n != 16 && n != 19 &&
	    n != 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (form[i] == '0' ? !isdigit((unsigned char)date[i]) :
		    date[i] != form[i])
			return false;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		unsigned v;
		if (f[i].at + 2 > n)
			break;
		v = (unsigned)(date[f[i].at] - '0') * 10 +
		    (unsigned)(date[f[i].at + 1] - '0');
		if (v < f[i].lo || v > f[i].hi)
			return false;
	}
	return true;
}
