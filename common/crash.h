/* Fault injection for the crash campaigns (tests/integration/crash_*.sh):
 * named crash points, inert unless the environment arms them. */
#ifndef ABS_CRASH_H
#define ABS_CRASH_H

/*
 * Mark a crash point. With ABS_CRASH_AT=POINT:N in the environment, the Nth
 * time this process reaches POINT (or any point, for POINT "*") it kills
 * itself with SIGKILL, as kill -9 would: no exit handlers, no flushing.
 * With ABS_CRASH_AT=POINT:N:stop it stops itself there instead (SIGSTOP)
 * and goes on at SIGCONT: a test changes files under it meanwhile.
 * With ABS_CRASH_TRACE=FILE, each point reached appends its name to FILE.
 * Without either variable a call costs one branch. Points are documented
 * in README.md (crash campaigns, ABS_CRASH_AT).
 */
void abs_crash_point(const char *point);

#endif
