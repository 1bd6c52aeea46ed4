/* Sense decoding against canned buffers from tgt, the st driver and vtape. */
#include <dirent.h>
#include <stdlib.h>

#include "sg/tsg.h"
#include "t.h"

static const char *cat_names[] = {
	"GOOD", "NO_SENSE", "RECOVERED", "NOT_READY", "MEDIUM_ERROR",
	"HARDWARE_ERROR", "ILLEGAL_REQUEST", "UNIT_ATTENTION", "DATA_PROTECT",
	"BLANK_CHECK", "VOLUME_OVERFLOW", "ABORTED", "OTHER", "TRANSPORT",
};

/* Check one .hex case: "# expectations" line, then hex bytes. */
static void
check_case(const char *path)
{
	char exp[512], cat[32], hexline[1024];
	unsigned key, asc, ascq, fm, eom, ili, valid, ew;
	long long info;
	uint8_t sense[64];
	int n = 0;
	struct tsg_status st;
	FILE *fp = fopen(path, "r");

	CHECK(fp != NULL);
	if (!fp)
		return;
	CHECK(fgets(exp, sizeof(exp), fp) != NULL);
	CHECK(fgets(hexline, sizeof(hexline), fp) != NULL);
	fclose(fp);
	CHECK(sscanf(exp, "# cat=%31s key=%u asc=%x ascq=%x fm=%u eom=%u ili=%u "
	    "valid=%u info=%lld ew=%u", cat, &key, &asc, &ascq, &fm, &eom, &ili,
	    &valid, &info, &ew) == 10);
	for (char *p = hexline; n < 64;) {
		char *end;
		long v = strtol(p, &end, 16);
		if (end == p)
			break;
		sense[n++] = (uint8_t)v;
		p = end;
	}
	tsg_decode_sense(sense, n, 0x02, &st);
	if (strcmp(cat_names[st.cat], cat) != 0)
		fprintf(stderr, "%s: category %s, expected %s\n", path,
		    cat_names[st.cat], cat);
	CHECK(strcmp(cat_names[st.cat], cat) == 0);
	CHECK_EQ(st.key, key);
	CHECK_EQ(st.asc, asc);
	CHECK_EQ(st.ascq, ascq);
	CHECK_EQ(st.filemark, fm);
	CHECK_EQ(st.eom, eom);
	CHECK_EQ(st.ili, ili);
	CHECK_EQ(st.valid, valid);
	if (valid)
		CHECK_EQ(st.info, info);
	CHECK_EQ(tsg_is_early_warning(&st), ew);
	char buf[256];
	CHECK(tsg_status_str(&st, buf, sizeof(buf))[0] != '\0');
}

int
main(void)
{
	const char *top = getenv("ABS_TOP");
	char dir[4096], path[8192];
	struct dirent *de;
	int cases = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/data/sense", top ? top : ".");
	d = opendir(dir);
	CHECK(d != NULL);
	while (d && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".hex") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		check_case(path);
		cases++;
	}
	if (d)
		closedir(d);
	CHECK(cases >= 15);

	/* GOOD status never reads the sense buffer. */
	struct tsg_status st;
	tsg_decode_sense(NULL, 0, 0x00, &st);
	CHECK_EQ(st.cat, TSG_CAT_GOOD);
	/* A busy status without sense. */
	tsg_decode_sense(NULL, 0, 0x08, &st);
	CHECK_EQ(st.cat, TSG_CAT_OTHER);
	printf("%d sense cases\n", cases);
	T_DONE();
}
