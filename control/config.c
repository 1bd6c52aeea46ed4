/*
 * The nightly run's configuration requests: servers and subnets, entity
 * and type rules, forbidden windows, discovery commands.
 */
#include "control/handlers_int.h"

json_t *
h_server_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "server-add: not built yet");
}

json_t *
h_server_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "server-set: not built yet");
}

json_t *
h_subnet_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "subnet-set: not built yet");
}

json_t *
h_servers(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "servers: not built yet");
}

json_t *
h_entity_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "entity-set: not built yet");
}

json_t *
h_type_set(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "type-set: not built yet");
}

json_t *
h_types(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "types: not built yet");
}

json_t *
h_window_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "window-add: not built yet");
}

json_t *
h_window_remove(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "window-remove: not built yet");
}

json_t *
h_windows(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "windows: not built yet");
}

json_t *
h_discover_add(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "discover-add: not built yet");
}

json_t *
h_discover_remove(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "discover-remove: not built yet");
}

json_t *
h_discover(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "discover: not built yet");
}

json_t *
h_discoveries(struct ctld *c, struct client *cl, json_t *a, const char **code,
    char *err)
{
	(void)c; (void)cl; (void)a;
	FAIL(PROTO_E_INTERNAL, "discoveries: not built yet");
}
