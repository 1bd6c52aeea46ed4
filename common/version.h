/*
 * The project's version: the one place it is defined. abs-ctl --version
 * and abs-engine --version print it beside the tape format version and
 * the protocol version; the man pages' footers and `make install` read it
 * from here (GNUmakefile).
 */
#ifndef ABS_VERSION_H
#define ABS_VERSION_H

#define ABS_VERSION "0.16"

/*
 * The tape format version new cartridges are written with, for the tools
 * that link no engine (abs-ctl). engine/main.c checks at build time that
 * it is engine/format.h's FMT_VERSION.
 */
#define ABS_TAPE_FORMAT 2

#endif
