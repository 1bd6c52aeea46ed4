/* Private to engine/: dump sources as file descriptors. */
#ifndef ABS_ENGINE_SOURCE_H
#define ABS_ENGINE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct eng_source {
	int fd;
	pid_t pid;		/* child producing the stream, or 0 */
	char kind[8];		/* dir, cmd, file */
	char path[1024];	/* directory, file, or the command line */
	/*
	 * The same stream can be had again (for a re-dump after a bad
	 * cartridge): a tree is walked again, a command run again, a regular
	 * file or a block device read again; a pipe, a FIFO or a terminal
	 * (file:/dev/stdin from a pipe) cannot be rewound.
	 */
	bool again;
	bool changed;		/* a dir: source's files changed while read */
	int idx_fd;		/* a dir: the walker's file index (memfd), or -1 */
	int status;		/* eng_source_close's answer once reaped */
	bool direct;		/* a file: source opened for O_DIRECT reads */
	char direct_why[80];	/* why not, when not */
};

/* O_DIRECT for file: sources (a regular file or a block device). */
enum eng_direct {
	ENG_DIRECT_AUTO,	/* unless the file is mostly in the page cache */
	ENG_DIRECT_ON,		/* wherever the file system allows it */
	ENG_DIRECT_OFF,		/* through the page cache, as cmd: and dir: */
};

/* Parse "auto", "on" or "off" (NULL: auto): the policy, or -1. */
int eng_direct_parse(const char *spec);

/* A dir: source's archiver exit status: whole, but files changed. */
#define ENG_SOURCE_CHANGED 3

/* Start a source from "dir:PATH", "cmd:ARGV" or "file:PATH"; err: ENG_ERRLEN. */
int eng_source_open(const char *spec, time_t since, struct eng_source *s,
    char *err);
/*
 * Start a file: source from fd, a file the caller opened (and keeps: a
 * duplicate is read, from offset 0); spec names it. err: ENG_ERRLEN.
 */
int eng_source_open_fd(const char *spec, int fd, struct eng_source *s,
    char *err);
/*
 * Read an open file: source with O_DIRECT where how and the file system
 * allow it (s->direct; else s->direct_why says why not). The ring then
 * reads into its buffers without a page-cache copy and falls back to the
 * page cache by itself at an unaligned tail or a refused read. 0 always:
 * direct I/O is a way to read, never a reason to fail.
 */
int eng_source_direct(struct eng_source *s, enum eng_direct how);
/* Close the fd and reap the child: 0 if it succeeded (again: the same
   answer, err untouched). */
int eng_source_close(struct eng_source *s, char *err);
/*
 * A dir: source's file index, once closed (the walker has exited): the
 * encoded index (catalog/fileindex.h, no frames) in a malloc'd *out, or
 * *len 0 if the walker wrote none. 0 or -errno.
 */
int eng_source_index(struct eng_source *s, uint8_t **out, size_t *len);
/* What eng_source_close leaves (the index's descriptor). */
void eng_source_free(struct eng_source *s);
/* Split a command line into argv (quotes and backslashes, no shell). */
int eng_split_argv(const char *line, char ***argv);
void eng_free_argv(char **argv);
/*
 * Write a pax archive of dir (files changed at or after since) to fd, and
 * with idxfd >= 0 its file index after it to idxfd (every entry of the
 * tree, in the archive or not; raw offsets into what fd got): 0, the
 * number of files that changed while they were read, or a negative errno.
 */
int eng_archive_dir(const char *dir, time_t since, int fd, int idxfd);

#endif
