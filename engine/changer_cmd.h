/*
 * Private to engine/: `abs-engine changer`, the operator's (and abs-ctld's
 * robot worker's) way to a library's robot through the changer API: what
 * mtx does, for every changer URI (smc:sg:, smc:iscsi://, smc:vtape:,
 * vtape:), with human tables or JSON.
 */
#ifndef ABS_ENGINE_CHANGER_CMD_H
#define ABS_ENGINE_CHANGER_CMD_H

/* Exit statuses beyond 0 (done) and 1 (the changer refused). */
#define ENG_CHANGER_USAGE 2
#define ENG_CHANGER_UNREACHABLE 3

extern const char eng_changer_usage[];

/* argv[0] is "changer"; the process's exit status. */
int eng_changer_cmd(int argc, char **argv);

#endif
