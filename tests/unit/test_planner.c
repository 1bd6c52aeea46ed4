/* The planner (planner/plan.h): small cases. */
#include <string.h>

#include "planner/plan.h"
#include "t.h"

/* A new entity gets a full; one with a fresh full an incremental. */
static void
test_basic(void)
{
	struct plan_drive dr[1] = { { "d0", 100e6 } };
	struct plan_entity en[2];
	struct plan_input in;
	struct plan_out out;
	char err[PLAN_ERRLEN];

	memset(en, 0, sizeof(en));
	memset(&in, 0, sizeof(in));
	en[0].name = "new";
	en[0].server = -1;
	en[0].full_days = 7;
	en[0].incr_days = 1;
	en[0].max_level = 1;
	en[0].type_estimate = 1000000;
	en[1] = en[0];
	en[1].name = "old";
	in.now = 1000000000;
	in.end = in.now + 8 * 3600;
	en[1].last[0].date = in.now - 2 * 86400;
	en[1].last[0].bytes = 5000000;
	in.drives = dr;
	in.ndrives = 1;
	in.entities = en;
	in.nentities = 2;
	CHECK_EQ(plan_night(&in, &out, err), 0);
	CHECK_EQ(out.items[0].level, 0);
	CHECK_EQ(out.items[0].reason, PLAN_NEW);
	CHECK_EQ(out.items[1].level, 1);
	CHECK_EQ(out.items[1].base_level, 0);
	CHECK(!strcmp(plan_reason_name(out.items[1].reason), "not-due"));
	plan_out_free(&out);
	plan_out_free(&out);
}

int
main(void)
{
	test_basic();
	T_DONE();
}
