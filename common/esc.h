/*
 * Text from outside (file names from a dumped tree, fields read off a tape,
 * a daemon's words) made safe for a terminal and a log: every byte that
 * could drive a terminal (C0 controls, DEL, C1 controls as bytes or as
 * UTF-8, bytes that are not UTF-8) becomes \xNN; valid UTF-8 stays as it
 * is. A user's file named "\e]2;...\a" must not retitle or clear the root
 * operator's terminal (hostile15 H4).
 */
#ifndef ABS_ESC_H
#define ABS_ESC_H

#include <stddef.h>

/* Also '\\' as "\\\\", so that an escaped name reads back unambiguously. */
#define ESC_BACKSLASH 1

/*
 * in (NUL-terminated) escaped into out (outlen > 0 bytes, always
 * NUL-terminated; cut short at a whole character or escape when it does
 * not fit). Without ESC_BACKSLASH, escaping twice changes nothing (log
 * lines built from escaped names). Returns out.
 */
char *esc_text(const char *in, char *out, size_t outlen, int flags);
/* A name to print: esc_text with ESC_BACKSLASH. */
char *esc_name(const char *in, char *out, size_t outlen);
/* Whether s would come out of esc_text (flags 0) unchanged. */
int esc_clean(const char *s);

#endif
