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
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg/tsg.h"
#include "sg/tsg_int.h"
#include "sg/vtape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char lib[256];

/* nftw: remove one entry of the scratch library, children first. */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Remove the scratch library without a shell. */
static void
remove_lib(void)
{
	nftw(lib, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Every cartridge back in its slot, nothing injected, no leftovers. */
static void
reset_lib(void)
{
	static const char *const files[] = { "slot1", "slot2", "slot3",
		"portal1", "drive0/tape", "drive0/home", "drive1/tape",
		"drive1/home", "changer.conf", "move.journal" };
	char path[400];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", lib, files[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.new", lib, files[i]);
		unlink(path);
	}
	for (int s = 1; s <= 3; s++) {
		char target[32];
		snprintf(path, sizeof(path), "%s/slot%d", lib, s);
		snprintf(target, sizeof(target), "carts/Z%05d", s);
		if (symlink(target, path) < 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 16];
	struct vtape_library L = { .slots = 3, .drives = 2, .portals = 1 };
	struct vtape_changer_state cs;
	struct tsg_dev *d;
	struct tsg_status st;
	char err[160], uri[300], path[400], why[TSG_WHY_LEN];

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
		remove_lib();	/* a crashed run's, same pid */
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
	if (tsg_open_changer(uri, &d, why) < 0)
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
