/* Private to common/xxh3*.c: libxxhash's update, as one more variant. */
#ifndef ABS_XXH3_INT_H
#define ABS_XXH3_INT_H

#include <stddef.h>

/* Whether libxxhash's state is state_size bytes and its version the
 * header's. */
int xxh3_lib_usable(size_t state_size);
void xxh3_lib_update(void *state, const void *buf, size_t len);

#endif
