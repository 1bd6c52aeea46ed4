/*
 * The file index codec (catalog/fileindex.h). Placeholder bodies while the
 * codec is written (issue 13): every call fails with -ENOSYS.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/fileindex.h"

int fidx_builder_new(struct fidx_builder **out) { *out = NULL; return -ENOSYS; }
int fidx_builder_add(struct fidx_builder *b, const struct fidx_entry *e)
{ (void)b; (void)e; return -ENOSYS; }
int fidx_builder_frame(struct fidx_builder *b, uint64_t raw, uint64_t stored)
{ (void)b; (void)raw; (void)stored; return -ENOSYS; }
int fidx_builder_encode(struct fidx_builder *b, uint64_t archive_bytes,
    uint8_t **out, size_t *len)
{ (void)b; (void)archive_bytes; *out = NULL; *len = 0; return -ENOSYS; }
void fidx_builder_free(struct fidx_builder *b) { (void)b; }
int fidx_decode(const uint8_t *buf, size_t len, struct fidx *x, char *why,
    size_t whylen)
{ (void)buf; (void)len; memset(x, 0, sizeof(*x)); snprintf(why, whylen, "not built yet"); return -ENOSYS; }
int fidx_encoded_len(const uint8_t *head, size_t len, uint64_t *total)
{ (void)head; (void)len; *total = 0; return -ENOSYS; }
void fidx_free(struct fidx *x) { (void)x; }
const struct fidx_entry *fidx_lookup(const struct fidx *x, const char *path)
{ (void)x; (void)path; return NULL; }
void fidx_subtree(const struct fidx *x, const char *path, uint64_t *lo,
    uint64_t *hi) { (void)x; (void)path; *lo = *hi = 0; }
const struct fidx_frame *fidx_frame_at(const struct fidx *x, uint64_t raw)
{ (void)x; (void)raw; return NULL; }
bool fidx_match(const char *pattern, const char *path)
{ return fnmatch(pattern, path, 0) == 0; }
