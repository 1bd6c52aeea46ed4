/*
 * libFuzzer: a vtape library's own input. The first byte picks what the
 * rest is: library.conf text, changer.conf text (both parsed strictly,
 * refusing bad values), or a changer.conf put in a real library followed
 * by CDB records sent to its SMC target (vtape:LIBDIR), which must answer
 * anything with data or sense and never crash.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg/tsg.h"
#include "sg/vtape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char lib[256];
static const char *const files[] = { "slot1", "slot2", "slot3", "portal1",
	"drive0/tape", "drive0/home", "drive1/tape", "drive1/home",
	"changer.conf", "move.journal", ".changer.lock", "drive0/.lock",
	"drive1/.lock", "library.conf" };

/* Remove the scratch library without a shell. */
static void
remove_lib(void)
{
	char path[400];
	const char *carts[] = { "Z00001", "Z00002" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", lib, files[i]);
		unlink(path);
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/carts/%s/cart.conf", lib, carts[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/carts/%s/.lock", lib, carts[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/carts/%s", lib, carts[i]);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/carts", lib);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/drive0", lib);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/drive1", lib);
	rmdir(path);
	rmdir(lib);
}

/* Every cartridge back in its slot, nothing injected. */
static void
reset_lib(void)
{
	char path[400];

	for (size_t i = 0; i < 9; i++) {
		snprintf(path, sizeof(path), "%s/%s", lib, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/slot1", lib);
	if (symlink("carts/Z00001", path) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/slot2", lib);
	if (symlink("carts/Z00002", path) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 16];
	struct vtape_library L = { .slots = 3, .drives = 2, .portals = 1 };
	struct vtape_changer_state cs;
	struct tsg_dev *d;
	struct tsg_status st;
	char err[160], uri[300], path[400];

	if (!size)
		return 0;
	if (data[0] % 3 == 0) {
		vtape_library_parse((const char *)data + 1, size - 1, &L, err,
		    sizeof(err));
		return 0;
	}
	if (data[0] % 3 == 1) {
		vtape_changer_parse((const char *)data + 1, size - 1, &L, &cs, err,
		    sizeof(err));
		return 0;
	}
	if (!lib[0]) {
		struct vtape_library nl = { .slots = 3, .drives = 2, .portals = 1,
		    .capacity = 1 << 20, .early_warning = 1 << 18, .prefix = "Z",
		    .serial = "VLFUZZ" };
		snprintf(lib, sizeof(lib), "%s/abs-fuzz-vsmc-%d",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
		    (int)getpid());
		remove_lib();
		if (vtape_library_new(lib, &nl) < 0)
			abort();
		atexit(remove_lib);
	}
	reset_lib();
	/* Then: a changer.conf of data[1] bytes, and CDB records. */
	data++;
	size--;
	if (size) {
		size_t n = data[0] < size - 1 ? data[0] : size - 1;
		snprintf(path, sizeof(path), "%s/changer.conf", lib);
		FILE *fp = fopen(path, "w");
		if (fp) {
			fwrite(data + 1, 1, n, fp);
			fclose(fp);
		}
		data += 1 + n;
		size -= 1 + n;
	}
	snprintf(uri, sizeof(uri), "vtape:%s", lib);
	if (tsg_open(uri, &d) < 0)
		return 0;
	/* Each record: cdb length (6/10/12/16), alloc (2 bytes), cdb bytes. */
	while (size >= 3) {
		static const int lens[] = { 6, 10, 12, 16 };
		int cdblen = lens[data[0] % 4];
		size_t len = (size_t)data[1] << 8 | data[2];
		uint8_t cdb[16];
		data += 3;
		size -= 3;
		if (size < (size_t)cdblen)
			break;
		memcpy(cdb, data, (size_t)cdblen);
		data += cdblen;
		size -= (size_t)cdblen;
		tsg_exec(d, cdb, cdblen, len ? TSG_DIR_FROM_DEV : TSG_DIR_NONE,
		    len ? buf : NULL, len, &st);
	}
	tsg_free(d);
	return 0;
}
