/*
 * libxxhash's own XXH3-128 update on a state xxh3.c made: the same
 * header, so the same layout, when the library is the header's version.
 */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "common/xxh3_int.h"

int
xxh3_lib_usable(size_t state_size)
{
	return state_size == sizeof(XXH3_state_t) &&
	    XXH_versionNumber() == XXH_VERSION_NUMBER;
}

void
xxh3_lib_update(void *state, const void *buf, size_t len)
{
	XXH3_128bits_update(state, buf, len);
}
