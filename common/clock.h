/*
 * The time of day every date ABS records comes from. Tests set ABS_CLOCK
 * to a file holding a date (YYYY-MM-DD[THH:MM:SSZ]): the clock then reads
 * that date plus the seconds since the file was last written, so a test
 * moves every process to the next night by rewriting one file. Without
 * ABS_CLOCK (every site) it is time(2).
 */
#ifndef ABS_CLOCK_H
#define ABS_CLOCK_H

#include <time.h>

/* Seconds since the epoch, UTC, as above. */
time_t clock_now(void);
/* Whether ABS_CLOCK is set (a test's clock is in use). */
int clock_injected(void);

#endif
