/* GET /api/v1/: answers 200 {"message": ...} without looking at any credentials. */
#include "health.h"

#include <jansson.h>

static int
health_get(nt_req *req, void *state, json_t **out)
{
    (void)req;
    (void)state;
    *out = json_pack("{s:s}", "message", "Ok! nettu scheduler is up");
    return *out != NULL ? 200 : NT_ENOMEM;
}

int
health_register(router *r)
{
    static const char *const paths[] = {"/api/v1/", "/api/v1"};
    char err[256];

    for (int i = 0; i < 2; i++) {
        nt_route rt = {.size = sizeof(nt_route),
                       .method = "GET",
                       .path = paths[i],
                       .auth = NT_AUTH_PUBLIC,
                       .perms = NULL,
                       .handler = health_get,
                       .state = NULL,
                       .summary = "Health: the server is up",
                       .response_schema = "{\"type\": \"object\", \"required\": [\"message\"], "
                                          "\"properties\": {\"message\": {\"type\": \"string\"}}}"};
        int rc = router_add(r, NULL, &rt, err, sizeof(err));
        if (rc != NT_OK)
            return rc;
    }
    return NT_OK;
}
