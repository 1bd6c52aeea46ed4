/*
 * What a cmd: source must not reach: the media the engine holds (a vtape
 * drive's and cartridge's directories, a tape device node) and every tape
 * device node on the host. The device layer adds what it opens; a cmd:
 * child covers each one in a mount namespace of its own before exec
 * (common/priv.c). No libcap here, so that every program linking sg/ can.
 */
#ifndef ABS_HIDE_H
#define ABS_HIDE_H

#include <stdbool.h>

#define HIDE_MAX 256

/* Add path (made absolute and resolved) once; false if it cannot be. */
bool hide_add(const char *path);

/* Add the host's tape device nodes under /dev (sg, st, nst, sch, bsg). */
void hide_add_tape_nodes(void);

/* How many paths, and the i-th with whether it is a directory. */
int hide_count(void);
const char *hide_path(int i, bool *is_dir);

#endif
