/*
 * Dates as restore and find take them (--date): a whole-field prefix of a
 * UTC time YYYY-MM-DDTHH:MM:SSZ, compared with dump dates by its text. The
 * same rule abs-engine applies (engine/chain.c eng_chain_date_valid), for
 * abs-ctl and abs-ctld.
 */
#ifndef ABS_COMMON_DATE_H
#define ABS_COMMON_DATE_H

#include <stdbool.h>

/* Whether date is 2026, 2026-11, 2026-11-29, 2026-11-29T11,
   2026-11-29T11:00, 2026-11-29T11:00:00 or 2026-11-29T11:00:00Z with its
   fields in range. */
bool date_prefix_valid(const char *date);
#define DATE_FORMS "YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDTHH, " \
	"YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SSZ (UTC)"

#endif
