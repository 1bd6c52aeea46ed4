/* Helpers: sizes, times, escaping, CRC32C, argv splitting, hidden paths. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/crc32c.h"
#include "common/date.h"
#include "common/digest.h"
#include "common/hide.h"
#include "common/util.h"
#include "engine/source.h"
#include "t.h"

int
main(void)
{
	uint64_t v;
	time_t t;
	char buf[256];
	char **argv;

	/* --date of restore and find (abs-ctl, abs-ctld): date prefixes only
	   (hostile13 H2: zzz, yesterday, "" or a zone offset were taken). */
	{
		static const char *const good[] = { "2026", "2026-11",
		    "2026-11-29", "2026-11-29T11", "2026-11-29T11:40",
		    "2026-11-29T11:40:05", "2026-11-29T11:40:05Z",
		    "2026-12-31T23:59:60Z" };
		static const char *const bad[] = { "", "zzz", "yesterday", "202",
		    "2026-1", "2026-13", "2026-00", "2026-11-32", "2026-11-00",
		    "2026-11-29 11:00", "2026-11-29T24", "2026-11-29T11:60",
		    "2026-11-29T11:40:61", "2026-11-29T11:40:00+01:00",
		    "2026-11-29T11:40:00z", "2026-11-29T", "2026-11-29T11:4",
		    "+026-11-29", "2026-11-29T11:40:05Z ", "\xff\xfe" };
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
			CHECK(date_prefix_valid(good[i]));
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(!date_prefix_valid(bad[i]));
		CHECK(!date_prefix_valid(NULL));
	}
	CHECK(util_parse_size("64K", &v) == 0 && v == 65536);
	CHECK(util_parse_size("1M", &v) == 0 && v == 1048576);
	CHECK(util_parse_size("2GiB", &v) == 0 && v == 2ULL << 30);
	CHECK(util_parse_size("512", &v) == 0 && v == 512);
	CHECK(util_parse_size("", &v) == -EINVAL);
	CHECK(util_parse_size("1X", &v) == -EINVAL);
	CHECK(util_parse_size("-1", &v) == -EINVAL);
	CHECK(util_parse_size("99999999999999999999", &v) == -EINVAL);
	CHECK(util_parse_size("20000000000T", &v) == -EINVAL);
	CHECK(util_parse_u64("17", 20, &v) == 0 && v == 17);
	CHECK(util_parse_u64("21", 20, &v) == -EINVAL);

	CHECK(util_parse_time("2026-11-22T03:50:00Z", &t) == 0);
	util_fmt_time(t, buf, sizeof(buf));
	CHECK(strcmp(buf, "2026-11-22T03:50:00Z") == 0);
	CHECK(util_parse_time("2026-11-22", &t) == 0);
	CHECK(util_parse_time("yesterday", &t) == -EINVAL);

	util_kv_escape("a b=c%d\n\xc3\xa9", buf, sizeof(buf));
	CHECK(strcmp(buf, "a%20b%3Dc%25d%0A\xc3\xa9") == 0);
	CHECK(util_kv_unescape(buf) == 0);
	CHECK(strcmp(buf, "a b=c%d\n\xc3\xa9") == 0);
	char bad[] = "x%zz";
	CHECK(util_kv_unescape(bad) == -EINVAL);
	char nul[] = "x%00";
	CHECK(util_kv_unescape(nul) == -EINVAL);

	/* The standard CRC32C check value, hardware and table alike. */
	CHECK_EQ(crc32c(0, "123456789", 9), 0xe3069283u);
	CHECK_EQ(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);

	struct digest *d = digest_new(DIGEST_SHA256);
	char hex[DIGEST_HEX_LEN];
	digest_update(d, "abc", 3);
	digest_final_hex(d, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad") == 0);
	digest_free(d);
	/* XXH3-128 in the form xxh128sum prints ("abc"). */
	d = digest_new(DIGEST_XXH128);
	digest_update(d, "ab", 2);
	digest_update(d, "c", 1);
	digest_final_hex(d, hex);
	CHECK(strcmp(hex, "06b05ab6733a618578af5f94892f3950") == 0);
	digest_free(d);
	CHECK(digest_alg_from_name("md5") == -1);
	CHECK(digest_alg_from_name("sha256") == DIGEST_SHA256);
	digest_free(NULL);

	CHECK(eng_split_argv("vos dump -id 'user.a b' -f \"x\\\"y\" z\\ w", &argv) == 0);
	CHECK(argv && strcmp(argv[0], "vos") == 0);
	CHECK(argv && strcmp(argv[3], "user.a b") == 0);
	CHECK(argv && strcmp(argv[5], "x\"y") == 0);
	CHECK(argv && strcmp(argv[6], "z w") == 0 && argv[7] == NULL);
	eng_free_argv(argv);
	CHECK(eng_split_argv("'unterminated", &argv) == -EINVAL);
	CHECK(eng_split_argv("   ", &argv) == -EINVAL);

	/* What cmd: sources may not see: resolved, once, dirs and nodes only. */
	char dir[] = "/tmp/abs-hide.XXXXXX", sub[64], rel[80];
	bool is_dir;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sub, sizeof(sub), "%s/carts", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(rel, sizeof(rel), "%s/carts/../carts/", dir);
	CHECK(hide_add(sub) && hide_add(rel) && hide_count() == 1);
	CHECK(strcmp(hide_path(0, &is_dir), sub) == 0 && is_dir);
	CHECK(hide_add("/dev/null") && hide_count() == 2);
	CHECK(hide_path(1, &is_dir) != NULL && !is_dir);
	/* Never the root, never a regular file. */
	CHECK(!hide_add("/") && !hide_add("/etc/hostname"));
	CHECK(!hide_add("/nonexistent/abs") && hide_count() == 2);
	CHECK(hide_path(2, NULL) == NULL && hide_path(-1, NULL) == NULL);
	/* A long-lived media server: the oldest goes when the list is full. */
	for (int i = 0; i < HIDE_MAX + 3; i++) {
		char c[96];
		snprintf(c, sizeof(c), "%s/c%d", sub, i);
		CHECK(mkdir(c, 0700) == 0 && hide_add(c));
	}
	CHECK(hide_count() == HIDE_MAX);
	snprintf(rel, sizeof(rel), "%s/c%d", sub, HIDE_MAX + 2);
	CHECK(strcmp(hide_path(HIDE_MAX - 1, NULL), rel) == 0);
	snprintf(rel, sizeof(rel), "rm -rf %s", dir);
	CHECK(system(rel) == 0);
	T_DONE();
}
