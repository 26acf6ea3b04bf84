/* store_pg: the plugin entry. init reads the [store_pg] section and provides the "store"
 * service (name "pg"); it connects to nothing, so `--check-config` never opens the
 * database. Connections are opened later by the host through conn_open (pg_conn.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

/* store.describe: "postgresql host=... port=... dbname=...", made in init. */
static const char *
pg_describe(void *state)
{
    const struct pg_cfg *c = state;

    return c->describe;
}

/* store.dialect. */
static const char *
pg_dialect(void *state)
{
    (void)state;
    return "postgresql";
}

static const nt_store_v1 pg_ops = {
    .size = sizeof(nt_store_v1),
    .conn_open = pg_conn_open,
    .conn_close = pg_conn_close,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_text = pg_col_text,
    .col_int64 = pg_col_int64,
    .col_is_null = pg_col_is_null,
    .changes = pg_changes,
    .finalize = pg_finalize,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .errmsg = pg_errmsg,
    .errcode = pg_errcode,
    .begin_read = pg_begin_read,
    .end_read = pg_end_read,
    .clear_error = pg_clear_error,
    .lock_schema = pg_lock_schema,
    .describe = pg_describe,
    .begin_claim = pg_begin_claim,
    .dialect = pg_dialect,
};

/* Frees the plugin state and its strings; NULL is fine. */
static void
pg_cfg_free(void *state)
{
    struct pg_cfg *c = state;

    if (c == NULL)
        return;
    if (c->conninfo != NULL) { /* may hold a password */
        memset(c->conninfo, 0, strlen(c->conninfo));
        free(c->conninfo);
    }
    free(c->describe);
    free(c);
}

/* Appends " key=value" to buf when value is set (and has no space, quote or backslash). */
static void
pg_describe_add(char *buf, size_t len, const char *key, const char *value)
{
    size_t used = strlen(buf);

    if (value == NULL || value[0] == '\0' || strpbrk(value, " '\\") != NULL || used >= len)
        return;
    snprintf(buf + used, len - used, " %s=%s", key, value);
}

/* Reads `conninfo` (absent: libpq's defaults and PG* variables) and checks that libpq can
 * parse it, without connecting; describe gets its host, port, dbname and user (never the
 * password). Errors never quote the value. */
static int
pg_cfg_conninfo(struct pg_cfg *c, const nt_config *cfg)
{
    static const char *const shown[] = {"host", "hostaddr", "port", "dbname", "user"};
    const char *v = c->api->cfg_get(cfg, "conninfo");
    char *perr = NULL, buf[512] = "postgresql";
    PQconninfoOption *opts, *o;

    if ((c->conninfo = strdup(v != NULL ? v : "")) == NULL)
        return NT_ENOMEM;
    opts = PQconninfoParse(c->conninfo, &perr);
    if (opts == NULL) {
        char msg[256];
        size_t n;

        snprintf(msg, sizeof(msg), "%s", perr != NULL ? perr : "out of memory");
        n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
            msg[--n] = '\0';
        c->api->cfg_fail(c->plugin, cfg, "conninfo",
                         "expected a libpq connection string (key=value ... or "
                         "postgresql://...): %s",
                         msg);
        PQfreemem(perr);
        return NT_EINVAL;
    }
    for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++)
        for (o = opts; o->keyword != NULL; o++)
            if (strcmp(o->keyword, shown[k]) == 0)
                pg_describe_add(buf, sizeof(buf), o->keyword, o->val);
    PQconninfoFree(opts);
    if (strcmp(buf, "postgresql") == 0)
        snprintf(buf, sizeof(buf), "postgresql (libpq defaults)");
    c->describe = strdup(buf);
    return c->describe != NULL ? NT_OK : NT_ENOMEM;
}

/* Reads and checks the whole section into a new state (*out, freed by pg_cfg_free). */
static int
pg_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **out)
{
    static const char *const known[] = {"conninfo", "statement_timeout_ms", "lock_timeout_ms",
                                        "connect_timeout_s", NULL};
    struct pg_cfg *c = calloc(1, sizeof(*c));
    int rc = NT_ENOMEM;

    if (c == NULL)
        goto fail;
    c->api = api;
    c->plugin = p;
    if (!PQisthreadsafe()) {
        api->init_error(p, "the libpq library was built without thread support");
        rc = NT_ERR;
        goto fail;
    }
    if ((rc = api->cfg_check_keys(p, cfg, known)) != NT_OK)
        goto fail;
    if ((rc = pg_cfg_conninfo(c, cfg)) != NT_OK)
        goto fail;
    rc = api->cfg_duration(p, cfg, "statement_timeout_ms", 5000, 0, 3600000,
                           &c->statement_timeout_ms);
    if (rc != NT_OK)
        goto fail;
    rc = api->cfg_duration(p, cfg, "lock_timeout_ms", 2000, 0, 3600000, &c->lock_timeout_ms);
    if (rc != NT_OK)
        goto fail;
    /* In seconds, as libpq's connect_timeout. */
    rc = api->cfg_int(p, cfg, "connect_timeout_s", 5, 1, 600, &c->connect_timeout_s);
    if (rc != NT_OK)
        goto fail;
    rc = api->service_provide(p, NT_SERVICE_STORE, "pg", NT_STORE_V1, &pg_ops, c);
    if (rc != NT_OK) {
        api->init_error(p, "cannot provide the store service 'pg'");
        goto fail;
    }
    *out = c;
    return NT_OK;
fail:
    if (rc == NT_ENOMEM)
        api->init_error(p, "out of memory");
    pg_cfg_free(c);
    return rc;
}

static const nt_plugin_desc pg_desc = {
    NT_PLUGIN_HEADER, .name = "store_pg", .version = "0.1.0", .init = pg_init, .fini = pg_cfg_free,
};
NT_PLUGIN_DEFINE(pg_desc)
