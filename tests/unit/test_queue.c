/* queue/: the archive queue's entry files, add, close, move and scan. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"
#include "t.h"

static char dir[] = "/tmp/abs-test-queue.XXXXXX";

static const char *
at(const char *name)
{
	static char p[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

static int
entries(const char *d)
{
	struct absq_ref *r;
	size_t n = 0;
	char err[ABSQ_ERRLEN];

	if (absq_scan(d, &r, &n, err))
		return -1;
	free(r);
	return (int)n;
}

static void
test_add_close(void)
{
	struct absq_add_opts o = { .open = true };
	struct absq_entry *e = calloc(1, sizeof(*e)), *f = calloc(1, sizeof(*f));
	char err[ABSQ_ERRLEN];

	put(at("a.dat"), "hello");
	CHECK_EQ(absq_add(at("q"), at("a.dat"), &o, e, err), 0);
	CHECK_EQ(e->state, ABSQ_OPEN);
	CHECK_EQ(e->size, 5);
	CHECK(strncmp(e->name, "a.dat.", 6) == 0);
	CHECK_EQ(entries(at("q")), 1);
	/* Not ready until closed (no expiry). */
	CHECK(!absq_ready(e, time(NULL) + 100000));
	/* Adding an open one again replaces it, keeping its place. */
	put(at("a.dat"), "hello, world");
	CHECK_EQ(absq_add(at("q"), at("a.dat"), &o, f, err), 0);
	CHECK_EQ(f->added, e->added);
	CHECK_EQ(entries(at("q")), 1);
	/* Close: the size now, a producer's checksum checked for form. */
	CHECK_EQ(absq_close(at("q"), at("a.dat"), "md5:abc", err), -EINVAL);
	CHECK(strstr(err, "neither xxh128 nor sha256") != NULL);
	CHECK_EQ(absq_close(at("q"), at("a.dat"),
	    "xxh128:0123456789abcdef0123456789abcdef", err), 0);
	CHECK_EQ(absq_entry_read(at("q"), e->name, f, err), 0);
	CHECK_EQ(f->state, ABSQ_CLOSED);
	CHECK_EQ(f->size, 12);
	CHECK(strcmp(f->sum_alg, "xxh128") == 0);
	CHECK(absq_ready(f, time(NULL)));
	/* A closed entry is not added again; closing again is no change. */
	CHECK_EQ(absq_add(at("q"), at("a.dat"), &o, NULL, err), -EEXIST);
	CHECK_EQ(absq_close(at("q"), at("a.dat"), NULL, err), 0);
	/* Refusals: no such file, a directory, a file never queued. */
	CHECK_EQ(absq_add(at("q"), at("nope"), &o, NULL, err), -ENOENT);
	CHECK_EQ(absq_add(at("q"), dir, &o, NULL, err), -EINVAL);
	put(at("b.dat"), "b");
	CHECK_EQ(absq_close(at("q"), at("b.dat"), NULL, err), -ENOENT);
	CHECK(strstr(err, "not in queue") != NULL);
	/* Expired open entries are ready. */
	o.expires = time(NULL) - 1;
	CHECK_EQ(absq_add(at("q"), at("b.dat"), &o, e, err), 0);
	CHECK(absq_ready(e, time(NULL)));
	CHECK_EQ(entries(at("q")), 2);
	free(e);
	free(f);
}

static void
test_move_and_damage(void)
{
	struct absq_entry *e = calloc(1, sizeof(*e));
	struct absq_ref *r;
	char err[ABSQ_ERRLEN];
	size_t n;

	mkdir(at("done"), 0755);
	put(at("c.dat"), "c");
	CHECK_EQ(absq_add(at("q"), at("c.dat"), &(struct absq_add_opts){ 0 }, e,
	    err), 0);
	/* A done entry must say where: without parts it is refused. */
	e->state = ABSQ_ARCHIVED;
	strcpy(e->dump_id, "0123456789abcdef0123456789abcdef");
	strcpy(e->digest_alg, "xxh128");
	strcpy(e->digest, "0123456789abcdef0123456789abcdef");
	e->bytes = 1;
	CHECK_EQ(absq_entry_write(at("q"), e, err), 0);
	CHECK(absq_entry_read(at("q"), e->name, e, err) != 0);
	CHECK(strstr(err, "parts") != NULL);
	CHECK_EQ(absq_entry_read(at("q"), "c.dat.nothere", e, err), -ENOENT);
	/* Move: gone from the queue, in done. */
	CHECK_EQ(absq_scan(at("q"), &r, &n, err), 0);
	CHECK_EQ(n, 3);
	free(r);
	char name[ABSQ_NAME_MAX];
	absq_name_for(at("c.dat"), name, sizeof(name));
	CHECK_EQ(absq_entry_move(at("q"), at("done"), name, err), 0);
	CHECK_EQ(entries(at("q")), 2);
	CHECK_EQ(entries(at("done")), 1);
	/* Damaged entries are listed (first) and refused on reading;
	   temporary files are not entries. */
	put(at("q/zz.0000000000000000.json"), "{\"abs_queue\":1,");
	put(at("q/.zz.tmp"), "x");
	CHECK_EQ(absq_scan(at("q"), &r, &n, err), 0);
	CHECK_EQ(n, 3);
	CHECK(n && strcmp(r[0].name, "zz.0000000000000000") == 0);
	free(r);
	CHECK(absq_entry_read(at("q"), "zz.0000000000000000", e, err) != 0);
	CHECK(strstr(err, "not JSON") != NULL);
	/* An entry that names another is refused. */
	put(at("q/yy.0000000000000000.json"), "{\"abs_queue\":1,\"name\":"
	    "\"other\",\"path\":\"/x\",\"state\":\"open\"}");
	CHECK(absq_entry_read(at("q"), "yy.0000000000000000", e, err) != 0);
	CHECK(strstr(err, "names another") != NULL);
	free(e);
}

/* Entry files whose names are too long: listed, and refused saying why
   (before: passed over by the scan, never reported). */
static void
test_long_names(void)
{
	struct absq_entry *e = calloc(1, sizeof(*e));
	struct absq_ref *r;
	char err[ABSQ_ERRLEN], name[251], file[300];
	size_t n, lens[] = { ABSQ_NAME_MAX - 1, ABSQ_NAME_MAX, 250 };
	size_t found = 0;

	mkdir(at("ql"), 0755);
	for (size_t i = 0; i < 3; i++) {
		memset(name, 'a' + (int)i, lens[i]);
		name[lens[i]] = '\0';
		snprintf(file, sizeof(file), "ql/%s.json", name);
		put(at(file), "{\"abs_queue\":1}");
	}
	CHECK_EQ(absq_scan(at("ql"), &r, &n, err), 0);
	CHECK_EQ(n, 3);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(r[i].name);
		int rc = absq_entry_read(at("ql"), r[i].name, e, err);
		if (len >= ABSQ_NAME_MAX) {
			CHECK_EQ(rc, -ENAMETOOLONG);
			CHECK(strstr(err, "entry name of") != NULL);
			found++;
		} else {
			CHECK(rc != 0 && rc != -ENAMETOOLONG);
		}
	}
	CHECK_EQ(found, 2);
	free(r);
	free(e);
}

/* Swaps d (a directory) and alt (a link to another) until told to stop. */
static volatile int flipping;

static void *
flipper(void *arg)
{
	(void)arg;
	while (flipping)
		renameat2(AT_FDCWD, at("race/d"), AT_FDCWD,
		    at("race/alt"), RENAME_EXCHANGE);
	return NULL;
}

/*
 * absq_open_data checks the path (realpath) and then opens it: a
 * directory on the way swapped for a link in between must not take it to
 * another file. A race run for a bounded number of tries: every open that
 * succeeds is of the file the path names.
 */
static void
test_open_race(void)
{
	char err[ABSQ_ERRLEN], path[4096], q[4096];
	struct stat real, st, got;
	pthread_t th;
	int wrong = 0, opened = 0;

	mkdir(at("race"), 0755);
	mkdir(at("race/d"), 0755);
	mkdir(at("race/decoy"), 0755);
	put(at("race/d/f.txt"), "real");
	put(at("race/decoy/f.txt"), "decoy");
	CHECK_EQ(symlink("decoy", at("race/alt")), 0);
	CHECK_EQ(stat(at("race/d/f.txt"), &real), 0);
	snprintf(path, sizeof(path), "%s", at("race/d/f.txt"));
	snprintf(q, sizeof(q), "%s", at("q"));
	flipping = 1;
	if (pthread_create(&th, NULL, flipper, NULL) != 0) {
		CHECK(!"pthread_create");
		return;
	}
	for (int i = 0; i < 50000; i++) {
		int fd = absq_open_data(q, path, &st, err);
		if (fd < 0)
			continue;
		opened++;
		if (fstat(fd, &got) == 0 && got.st_ino != real.st_ino)
			wrong++;
		close(fd);
	}
	flipping = 0;
	pthread_join(th, NULL);
	if (wrong)
		fprintf(stderr, "absq_open_data: %d of %d opens reached the "
		    "decoy through a swapped directory\n", wrong, opened);
	CHECK_EQ(wrong, 0);
}

static void
test_parse(void)
{
	struct absq_entry *e = calloc(1, sizeof(*e));
	char err[ABSQ_ERRLEN];
	static const char *bad[] = {
		"[]",
		"{\"abs_queue\":2,\"name\":\"a\",\"path\":\"/a\",\"state\":\"open\"}",
		"{\"abs_queue\":1,\"name\":\"../a\",\"path\":\"/a\",\"state\":\"open\"}",
		"{\"abs_queue\":1,\"name\":\"a\",\"path\":\"a\",\"state\":\"open\"}",
		"{\"abs_queue\":1,\"name\":\"a\",\"path\":\"/a\",\"state\":\"gone\"}",
		"{\"abs_queue\":1,\"name\":\"a\",\"path\":\"/a\",\"state\":\"open\",\"size\":-1}",
		"{\"abs_queue\":1,\"name\":\"a\",\"path\":\"/a\",\"state\":\"open\",\"expires\":\"soon\"}",
		"{\"abs_queue\":1,\"name\":\"a\",\"path\":\"/a\",\"state\":\"open\",\"checksum\":\"xxh128:XYZ\"}",
		"{\"abs_queue\":1,\"name\":\"a\",\"name\":\"b\",\"path\":\"/a\",\"state\":\"open\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(absq_entry_parse(bad[i], strlen(bad[i]), e, err) != 0);
		CHECK(err[0] != '\0');
	}
	const char *good = "{\"abs_queue\":1,\"name\":\"a\",\"path\":\"/a\","
	    "\"state\":\"open\",\"producer_note\":\"kept unknown keys out\"}";
	CHECK_EQ(absq_entry_parse(good, strlen(good), e, err), 0);
	CHECK_EQ(e->size, -1);
	free(e);
}

int
main(void)
{
	char cmd[4200];

	if (!mkdtemp(dir))
		return 1;
	test_add_close();
	test_move_and_damage();
	test_long_names();
	test_open_race();
	test_parse();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	T_DONE();
}
