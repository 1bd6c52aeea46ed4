/* Dump log lines: round trip, escaping, malformed input, the field check. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/dumplog.h"
#include "t.h"

int
main(void)
{
	struct cat_dl_rec r = { .type = CAT_DL_DUMP,
	    .dump_id = "00112233445566778899aabbccddeeff",
	    .entity = "user.a b=c", .date = "2026-11-22T03:50:00Z",
	    .since = "-", .level = 0, .server = "afs1", .partition = "/vicepa",
	    .label = "A00001", .tape_id = "abcd", .file = 3, .part = 1,
	    .bytes = 123, .blocks = 1, .block_size = 1048576, .raw_bytes = 456,
	    .compress = "zstd", .source_kind = "cmd", .status = "complete" }, r2;
	char line[8192];

	memset(r.digest, 'e', 64);
	memset(r.raw_digest, 'f', 64);
	CHECK(cat_dl_format(&r, line, sizeof(line)) > 0);
	CHECK(strncmp(line, "dump entity=user.a%20b%3Dc ", 27) == 0);
	CHECK(strchr(line, '\n') == line + strlen(line) - 1);
	CHECK(cat_dl_parse(line, &r2) == 0);
	CHECK(r2.type == CAT_DL_DUMP && strcmp(r2.entity, r.entity) == 0);
	CHECK(r2.file == 3 && r2.raw_bytes == 456 && r2.block_size == 1048576);
	CHECK(strcmp(r2.status, "complete") == 0);
	CHECK(strcmp(r2.digest, r.digest) == 0);

	/* A full line: the cartridge reached early warning. */
	r.type = CAT_DL_FULL;
	snprintf(r.status, sizeof(r.status), "full");
	CHECK(cat_dl_format(&r, line, sizeof(line)) > 0);
	CHECK(strncmp(line, "full entity=", 12) == 0);
	CHECK(cat_dl_parse(line, &r2) == 0);
	CHECK(r2.type == CAT_DL_FULL && strcmp(r2.tape_id, "abcd") == 0);
	r.type = CAT_DL_DUMP;
	snprintf(r.status, sizeof(r.status), "complete");

	CHECK(cat_dl_parse("", &r2) == -ENOMSG);
	CHECK(cat_dl_parse("# comment", &r2) == -ENOMSG);
	CHECK(cat_dl_parse("dump entity", &r2) == -EINVAL);
	CHECK(cat_dl_parse("dump entity=x file=abc label=A dump=1", &r2) == -EINVAL);
	CHECK(cat_dl_parse("dump entity=x%zz label=A dump=1", &r2) == -EINVAL);
	CHECK(cat_dl_parse("part entity=x label=A", &r2) == -EINVAL);
	CHECK(cat_dl_parse("part entity=x label=A dump=1 unknown=ok", &r2) == 0);

	/* The keys added later round-trip; a line without them still parses. */
	r.job = 42;
	snprintf(r.written, sizeof(r.written), "2026-11-22T04:00:00Z");
	CHECK(cat_dl_format(&r, line, sizeof(line)) > 0);
	CHECK(strstr(line, " written=2026-11-22T04:00:00Z job=42 dump=") != NULL);
	CHECK(cat_dl_parse(line, &r2) == 0);
	CHECK(r2.job == 42 && strcmp(r2.written, r.written) == 0);
	CHECK(cat_dl_parse("part entity=x label=A dump=1 date=2026-01-01T00:00:00Z",
	    &r2) == 0);
	CHECK(r2.job == 0 && r2.written[0] == '\0');
	/* site= (whose job ID it is) round-trips; none is "-", read as "". */
	snprintf(r.site, sizeof(r.site), "00000000000000aa");
	CHECK(cat_dl_format(&r, line, sizeof(line)) > 0);
	CHECK(strstr(line, " site=00000000000000aa written=") != NULL);
	CHECK(cat_dl_parse(line, &r2) == 0);
	CHECK(strcmp(r2.site, "00000000000000aa") == 0 && r2.job == 42);
	r.site[0] = '\0';
	CHECK(cat_dl_format(&r, line, sizeof(line)) > 0);
	CHECK(strstr(line, " site=- ") != NULL);
	CHECK(cat_dl_parse(line, &r2) == 0 && r2.site[0] == '\0');
	/* An aborted line. */
	r.type = CAT_DL_ABORTED;
	CHECK(cat_dl_format(&r, line, sizeof(line)) > 0);
	CHECK(strncmp(line, "aborted entity=", 15) == 0);
	CHECK(cat_dl_parse(line, &r2) == 0 && r2.type == CAT_DL_ABORTED);
	r.type = CAT_DL_DUMP;

	/* The check: this record's entity has a blank, its tape ID is short. */
	char why[256];
	CHECK(cat_dl_check(&r, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "entity=") != NULL);
	snprintf(r.entity, sizeof(r.entity), "user.a");
	CHECK(cat_dl_check(&r, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "tape=abcd") != NULL);
	snprintf(r.tape_id, sizeof(r.tape_id), "%032x", 7);
	snprintf(r.digest_alg, sizeof(r.digest_alg), "sha256");
	CHECK(cat_dl_check(&r, why, sizeof(why)) == 0);
	r.raw_bytes = r.bytes;		/* uncompressed: raw is stored */
	snprintf(r.compress, sizeof(r.compress), "none");
	CHECK(cat_dl_check(&r, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "uncompressed") != NULL);
	memcpy(r.raw_digest, r.digest, sizeof(r.digest));
	CHECK(cat_dl_check(&r, why, sizeof(why)) == 0);
	r.part = 3;			/* 3 parts cannot hold 123 bytes */
	CHECK(cat_dl_check(&r, why, sizeof(why)) == -EINVAL);
	r.part = 1;
	/* A site names a job's master: not without a job, not a bad name. */
	snprintf(r.site, sizeof(r.site), "a|b");
	CHECK(cat_dl_check(&r, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "site=") != NULL);
	snprintf(r.site, sizeof(r.site), "00000000000000aa");
	CHECK(cat_dl_check(&r, why, sizeof(why)) == 0);
	r.job = 0;
	CHECK(cat_dl_check(&r, why, sizeof(why)) == -EINVAL);
	r.job = 42;
	/* An aborted line says aborted. */
	r.type = CAT_DL_ABORTED;
	snprintf(r.status, sizeof(r.status), "aborted");
	CHECK(cat_dl_check(&r, why, sizeof(why)) == 0);
	snprintf(r.status, sizeof(r.status), "complete");
	CHECK(cat_dl_check(&r, why, sizeof(why)) == -EINVAL);
	r.site[0] = '\0';
	r.type = CAT_DL_ERROR;
	snprintf(r.status, sizeof(r.status), "medium error");
	CHECK(cat_dl_check(&r, why, sizeof(why)) == -EINVAL);
	r.type = CAT_DL_BAD;
	CHECK(cat_dl_check(&r, why, sizeof(why)) == 0);
	r.type = CAT_DL_DUMP;
	snprintf(r.status, sizeof(r.status), "complete");
	snprintf(r.entity, sizeof(r.entity), "user.a b=c");

	char path[] = "/tmp/abs-dumplog-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	CHECK(cat_dl_append(path, &r) == 0);
	CHECK(cat_dl_append(path, &r) == 0);
	FILE *fp = fopen(path, "r");
	int n = 0;
	while (fp && fgets(line, sizeof(line), fp))
		n += cat_dl_parse(line, &r2) == 0;
	if (fp)
		fclose(fp);
	CHECK_EQ(n, 2);
	/*
	 * An aborted dump: the line repeats its last part line (by dump ID,
	 * or by job), says aborted; nothing for a dump without parts.
	 */
	r.type = CAT_DL_PART;
	snprintf(r.status, sizeof(r.status), "ok");
	r.job = 1000000007;
	r.part = 1;
	CHECK(cat_dl_append(path, &r) == 0);
	r.part = 2;
	snprintf(r.label, sizeof(r.label), "A00002");
	CHECK(cat_dl_append(path, &r) == 0);
	CHECK_EQ(cat_dl_append_aborted(path, "ffeeddccbbaa99887766554433221100",
	    0), 0);
	CHECK_EQ(cat_dl_append_aborted(path, NULL, 1000000008), 0);
	CHECK_EQ(cat_dl_append_aborted(path, r.dump_id, 0), 1);
	CHECK_EQ(cat_dl_append_aborted(path, NULL, 1000000007), 1);
	fp = fopen(path, "r");
	n = 0;
	while (fp && fgets(line, sizeof(line), fp))
		if (cat_dl_parse(line, &r2) == 0 && r2.type == CAT_DL_ABORTED) {
			n++;
			CHECK(r2.part == 2 && strcmp(r2.label, "A00002") == 0 &&
			    strcmp(r2.status, "aborted") == 0 && r2.written[0]);
		}
	if (fp)
		fclose(fp);
	CHECK_EQ(n, 2);
	unlink(path);
	CHECK_EQ(cat_dl_append_aborted(path, r.dump_id, 0), 0);	/* no log */
	CHECK(cat_dl_append("/nonexistent-dir/x.log", &r) < 0);
	T_DONE();
}
