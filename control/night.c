/*
 * The nightly run: the plan, runs on drives, the nightly report.
 */
#include "control/handlers_int.h"

json_t *
h_plan(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "plan: not built yet");
}

json_t *
h_run(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "run: not built yet");
}

json_t *
h_runs(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "runs: not built yet");
}

json_t *
h_run_continue(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "run-continue: not built yet");
}

json_t *
h_run_stop(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "run-stop: not built yet");
}

json_t *
h_report(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "report: not built yet");
}
