/* metrics: the routes GET /metrics (Prometheus text), GET /api/v1/health/live and
 * GET /api/v1/health/ready (a read and a rolled-back write on the worker's connection).
 */
#include <jansson.h>

#include "mx.h"

/* GET /metrics: the text exposition, answered through req_reply_text (checked at init), to
 * clients in [metrics] allow; others get the 404 of a path that does not exist. */
int
mx_route_metrics(nt_req *req, void *state, json_t **out)
{
    mx_plugin *m = state;
    const nt_host_api *api = m->api;
    const char *peer = api->req_peer(req);
    unsigned char addr[16];
    mx_buf b = {0};
    int rc;

    (void)out;
    if (peer == NULL || cidr_addr_parse(peer, addr) != 0 || !cidr_list_match(&m->allow, addr))
        return api->fail(req, NT_ENOTFOUND, "no route for GET /metrics");
    if ((rc = mx_text_render(m->table, &b)) != NT_OK) {
        rc = api->fail(req, rc, "metrics: cannot render the exposition (code %d)", rc);
        goto out;
    }
    if ((rc = api->req_reply_text(req, MX_CONTENT_TYPE, b.data != NULL ? b.data : "", b.len)) !=
        NT_OK) {
        rc = api->fail(req, rc, "metrics: cannot queue the reply (code %d)", rc);
        goto out;
    }
    rc = 200;
out:
    mx_buf_free(&b);
    return rc;
}

/* GET /api/v1/health/live: the process serves requests. */
int
mx_route_live(nt_req *req, void *state, json_t **out)
{
    (void)req;
    (void)state;
    *out = json_pack("{s:s}", "status", "live");
    return *out != NULL ? 200 : NT_ENOMEM;
}

/* Runs `SELECT 1`. NT_OK or the failing code (the message stays on db). */
static int
mx_probe_read(const nt_host_api *api, nt_db *db)
{
    nt_stmt *st = api->db_prepare(db, "SELECT 1");
    int rc = st != NULL ? api->db_step(st) : NT_ERR;

    api->db_finalize(st);
    return rc == 1 ? NT_OK : rc < 0 ? rc : NT_ERR;
}

/* Opens a write transaction and updates the probe row (metrics_probe, made by the
 * migration); the caller rolls it back, so no data changes. This takes the write lock and
 * runs a real write statement, so a locked, read-only or full database fails here. */
static int
mx_probe_write(const nt_host_api *api, nt_db *db)
{
    nt_stmt *st = api->db_prepare(db, "UPDATE metrics_probe SET n = n + 1 WHERE id = 1");
    int rc = st != NULL ? api->db_step(st) : NT_ERR;

    api->db_finalize(st);
    return rc == 0 ? NT_OK : rc < 0 ? rc : NT_ERR;
}

/* GET /api/v1/health/ready: 200 {"status":"ready"} when the worker's storage connection can
 * read and write; otherwise 503 {"error":"unavailable","message":"storage: ..."}. */
int
mx_route_ready(nt_req *req, void *state, json_t **out)
{
    mx_plugin *m = state;
    const nt_host_api *api = m->api;
    nt_db *db = api->req_db(req);
    const char *msg;
    int rc, began = 0;

    if (db == NULL) {
        rc = api->fail(req, NT_EUNAVAIL, "storage: no connection on this worker");
        goto out;
    }
    if ((rc = mx_probe_read(api, db)) != NT_OK)
        goto fail;
    if ((rc = api->db_begin(db)) != NT_OK)
        goto fail;
    began = 1;
    if ((rc = mx_probe_write(api, db)) != NT_OK)
        goto fail;
    *out = json_pack("{s:s}", "status", "ready");
    rc = *out != NULL ? 200 : NT_ENOMEM;
    goto out;
fail:
    msg = api->db_errmsg(db);
    rc = api->fail(req, NT_EUNAVAIL, "storage: %s",
                   msg != NULL && msg[0] != '\0' ? msg : "the probe failed");
out:
    if (began && api->db_rollback(db) != NT_OK)
        api->log(m->self, NT_LOG_WARN, "health/ready: rollback failed: %s", api->db_errmsg(db));
    return rc;
}
