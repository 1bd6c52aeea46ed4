/*
 * Crippled mode's state (control/crippled.c) on a real journal directory:
 * generated labels never repeat (across restarts, past the catalog's
 * labels, past labels only the dump log still names), the active-tapes
 * file is written whole and read back, job IDs stay above 10^9 and
 * continue after a restart, a journal line cut by a crash is skipped and
 * the next record is whole, jobs left running fail, one crippled abs-ctld
 * per directory.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "control/crippled_int.h"
#include "t.h"

static char dir[64];

/* Write text into DIR/name. */
static void
put(const char *name, const char *text, const char *mode)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, mode);
	CHECK(fp != NULL);
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* Start crippled mode on dir into c; the result. */
static int
start(struct ctld *c)
{
	char err[CAT_ERRLEN];
	int rc;

	memset(c, 0, sizeof(*c));
	rc = crip_start(c, dir, "CR", "test", err);
	if (rc < 0)
		fprintf(stderr, "crip_start: %s\n", err);
	return rc;
}

static void
test_labels_and_jobs(void)
{
	struct ctld c, c2;
	struct ctape *t;
	struct cjob *j;
	char err[PROTO_ERRLEN];
	int64_t first;

	/* The catalog (cached) has CR00002: it is never generated. */
	put("catalog-cache.json", "{\"labels\":[\"CR00002\"],\"entities\":[],"
	    "\"acl\":[{\"uid\":4242,\"role\":\"operator\"}]}", "w");
	CHECK_EQ(start(&c), 0);
	CHECK_EQ(start(&c2), -EBUSY);	/* one crippled abs-ctld per dir */
	t = crip_tape_new(c.crip, "default", "d0", err);
	CHECK(t && strcmp(t->label, "CR00001") == 0 && strlen(t->tape_id) == 32);
	t = crip_tape_new(c.crip, "default", "d0", err);
	CHECK(t && strcmp(t->label, "CR00003") == 0);
	snprintf(t->state, sizeof(t->state), "appendable");
	CHECK_EQ(crip_tapes_save(c.crip), 0);
	CHECK(crip_roles(&c, 4242) == ROLE_OPERATOR);
	CHECK(crip_roles(&c, 4343) == 0);
	j = crip_job_add(c.crip, "dump", "d0", "e1", "dir:/x", NULL, NULL, 0, 0,
	    err);
	CHECK(j && j->id > CRIP_JOB_BASE);
	first = j ? j->id : 0;
	crip_job_state(c.crip, j, "running", NULL);
	crip_free(c.crip);

	/* A crash cut the next record: it is skipped, the rest stands. */
	put("journal", "{\"rec\":\"job\",\"id\":1000000777,\"ki", "a");
	CHECK_EQ(start(&c), 0);
	j = crip_job(c.crip, first);
	CHECK(j && strcmp(j->state, "failed") == 0);	/* was running */
	CHECK(crip_tape_by_label(c.crip, "CR00003") &&
	    strcmp(crip_tape_by_label(c.crip, "CR00003")->state,
	    "appendable") == 0);
	t = crip_tape_new(c.crip, "default", "d0", err);
	CHECK(t && strcmp(t->label, "CR00004") == 0);
	j = crip_job_add(c.crip, "dump", "d0", "e2", "dir:/y", NULL, NULL, 0, 0,
	    err);
	CHECK(j && j->id == first + 1);
	crip_free(c.crip);

	/* The next record after the cut one is read back whole. */
	CHECK_EQ(start(&c), 0);
	CHECK(crip_job(c.crip, first + 1) != NULL);
	CHECK(crip_job(c.crip, 1000000777) == NULL);
	crip_free(c.crip);

	/* The active-tapes file lost its lines: the dump log still counts. */
	put("active-tapes", "# emptied\n", "w");
	put("dumplog", "part entity=e1 date=2026-01-01T00:00:00Z level=0 since=- "
	    "server=- partition=- label=CR00009 tape=00 file=1 part=1 offset=0 "
	    "bytes=1 blocks=1 block_size=1 digest_alg=- digest=- raw_bytes=0 "
	    "raw_digest=- compress=none source=- status=ok drive=- dump=aa\n", "w");
	CHECK_EQ(start(&c), 0);
	t = crip_tape_new(c.crip, "default", "d0", err);
	CHECK(t && strcmp(t->label, "CR00010") == 0);
	crip_free(c.crip);
}

int
main(void)
{
	char cmd[128];

	log_init("test_crippled", LOG_LVL_QUIET, 0);
	snprintf(dir, sizeof(dir), "/tmp/abs-crippled.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_labels_and_jobs();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		t_failed++;
	T_DONE();
}
