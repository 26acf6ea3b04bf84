/* store_sqlite: the plugin entry. init reads the [store_sqlite] section and provides the
 * "store" service (name "sqlite"); it opens nothing, so `--check-config` never touches the
 * disk. Connections are opened later by the host through conn_open (sqlite_conn.c).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sqlite_int.h"

/* store.describe: "sqlite <absolute path> (synchronous=...)", made in init. */
static const char *
sq_describe(void *state)
{
    const struct sq_cfg *c = state;

    return c->describe;
}

/* store.dialect. */
static const char *
sq_dialect(void *state)
{
    (void)state;
    return "sqlite";
}

static const nt_store_v1 sq_ops = {
    .size = sizeof(nt_store_v1),
    .conn_open = sq_conn_open,
    .conn_close = sq_conn_close,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_text = sq_col_text,
    .col_int64 = sq_col_int64,
    .col_is_null = sq_col_is_null,
    .changes = sq_changes,
    .finalize = sq_finalize,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .errmsg = sq_errmsg,
    .errcode = sq_errcode,
    .begin_read = sq_begin_read,
    .end_read = sq_end_read,
    .clear_error = sq_clear_error,
    .lock_schema = sq_lock_schema,
    .describe = sq_describe,
    .begin_claim = sq_begin, /* the write lock serializes claimers */
    .dialect = sq_dialect,
    .group_open = sq_group_open,
    .group_close = sq_group_close,
    .group_pending = sq_group_pending,
};

/* Frees the plugin state and its strings; NULL is fine. */
static void
sq_cfg_free(void *state)
{
    struct sq_cfg *c = state;

    if (c == NULL)
        return;
    sq_group_writer_close(c);
    sq_shared_free(c);
    free(c->path);
    free(c->describe);
    free(c->fault_file);
    free(c);
}

/* Reads `path`: default var/nettu.db. Every worker opens its own connection to the same
 * database, so a private in-memory database (":memory:", "" or a URI) cannot work. */
static int
sq_cfg_path(struct sq_cfg *c, const nt_config *cfg)
{
    const char *v = c->api->cfg_get(cfg, "path");

    if (v != NULL && (v[0] == '\0' || strcmp(v, ":memory:") == 0 || strncmp(v, "file:", 5) == 0)) {
        c->api->cfg_fail(c->plugin, cfg, "path",
                         "expected a database file name, got '%s' (in-memory databases and URIs "
                         "are not supported: every worker must open the same database)",
                         v);
        return NT_EINVAL;
    }
    /* The file, or the directory it will be made in, must be usable by this user: checked
     * without opening or creating anything, so --check-config tells. */
    if (c->api->cfg_path(c->plugin, cfg, "path", "var/nettu.db", NT_CFG_PATH_CREATE, &v) != NT_OK)
        return NT_EINVAL;
    c->path = strdup(v);
    if (c->path == NULL)
        return NT_ENOMEM;
    {
        char cwd[PATH_MAX];
        size_t n = strlen(v) + sizeof(cwd) + 16;

        if (v[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
            cwd[0] = '\0';
        if ((c->describe = malloc(n)) == NULL)
            return NT_ENOMEM;
        snprintf(c->describe, n, "sqlite %s%s%s", cwd, cwd[0] != '\0' ? "/" : "", v);
    }
    return NT_OK;
}

/* Reads `synchronous`. In WAL mode, NORMAL syncs only at checkpoints: a process crash loses
 * nothing, but a power loss or OS crash may lose the last committed transactions (the
 * database stays consistent). FULL also syncs the WAL at every commit and survives both, at
 * the price of one fsync per write transaction. OFF never syncs: a power loss may corrupt
 * the database; for throwaway data only. */
static int
sq_cfg_sync(struct sq_cfg *c, const nt_config *cfg)
{
    static const char *const names[] = {"normal", "full", "off", NULL};
    static const char *const pragmas[] = {"NORMAL", "FULL", "OFF"};
    int i = 0;

    if (c->api->cfg_enum(c->plugin, cfg, "synchronous", names, 0, &i) != NT_OK)
        return NT_EINVAL;
    c->synchronous = pragmas[i];
    return NT_OK;
}

/* Reads `fault_file`, a test hook (sqlite_fault.c); empty or absent means off. */
static int
sq_cfg_fault(struct sq_cfg *c, const nt_config *cfg)
{
    const char *v = c->api->cfg_get(cfg, "fault_file");

    if (v == NULL || v[0] == '\0')
        return NT_OK;
    c->fault_file = strdup(v);
    return c->fault_file != NULL ? NT_OK : NT_ENOMEM;
}

/* Reads and checks the whole section into a new state (*out, freed by sq_cfg_free). */
static int
sq_init(nt_plugin *p, const nt_host_api *api, const nt_config *cfg, void **out)
{
    static const char *const known[] = {
        "path", "synchronous", "busy_timeout_ms", "cache_kib", "fault_file", "checkpoint_ms", NULL};
    struct sq_cfg *c = calloc(1, sizeof(*c));
    int rc = NT_ENOMEM;

    if (c == NULL)
        goto fail;
    c->api = api;
    c->plugin = p;
    if (sqlite3_threadsafe() == 0) {
        api->init_error(p, "the SQLite library was built without thread support");
        rc = NT_ERR;
        goto fail;
    }
    /* A request's savepoint (group commit) keeps its statement journal in memory up to this
     * size; past SQLite's default of 64 KiB it went to a temporary file (open, writes, unlink)
     * at nearly every booking. Possible only before SQLite is first used in the process;
     * otherwise the default stays: slower writes, not an error. */
    if (sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, SQ_STMT_SPILL_BYTES) != SQLITE_OK)
        api->log(p, NT_LOG_DEBUG,
                 "SQLite was in use before the store started: statement journals keep "
                 "SQLite's default spill size (64 KiB)");
    /* SQLite's memory statistics (nothing here reads them) take a process-wide mutex on
     * every allocation: about 390 lock rounds per booking, shared by all workers. */
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        api->log(p, NT_LOG_DEBUG,
                 "SQLite was in use before the store started: its memory statistics stay on");
    if (sq_vfs_init() != SQLITE_OK) { /* after sqlite3_config: it initializes SQLite */
        api->init_error(p, "cannot register the SQLite VFS '%s'", SQ_VFS_NAME);
        rc = NT_ERR;
        goto fail;
    }
    if ((rc = api->cfg_check_keys(p, cfg, known)) != NT_OK)
        goto fail;
    if ((rc = sq_cfg_path(c, cfg)) != NT_OK || (rc = sq_cfg_sync(c, cfg)) != NT_OK)
        goto fail;
    rc = api->cfg_int(p, cfg, "busy_timeout_ms", 5000, 0, 600000, &c->busy_timeout_ms);
    if (rc != NT_OK)
        goto fail;
    if ((rc = api->cfg_int(p, cfg, "cache_kib", 2048, 64, 1048576, &c->cache_kib)) != NT_OK)
        goto fail;
    if ((rc = sq_cfg_fault(c, cfg)) != NT_OK)
        goto fail;
    rc = api->cfg_int(p, cfg, "checkpoint_ms", 1000, 0, 3600000, &c->checkpoint_ms);
    if (rc != NT_OK)
        goto fail;
    if ((rc = sq_shared_init(c)) != NT_OK) {
        if (rc != NT_ENOMEM)
            api->init_error(p, "cannot set up the lock shared by the connections");
        goto fail;
    }
    rc = api->service_provide(p, NT_SERVICE_STORE, "sqlite", NT_STORE_V1, &sq_ops, c);
    if (rc != NT_OK) {
        api->init_error(p, "cannot provide the store service 'sqlite'");
        goto fail;
    }
    *out = c;
    return NT_OK;
fail:
    if (rc == NT_ENOMEM)
        api->init_error(p, "out of memory");
    sq_cfg_free(c);
    return rc;
}

/* Starts the background checkpoints (after the migrations). */
static int
sq_start(void *state)
{
    return sq_ckpt_start(state);
}

static void
sq_stop(void *state)
{
    sq_ckpt_stop(state);
}

static const nt_plugin_desc sq_desc = {
    NT_PLUGIN_HEADER,  .name = "store_sqlite", .version = "0.1.0",  .init = sq_init,
    .start = sq_start, .stop = sq_stop,        .fini = sq_cfg_free,
};
NT_PLUGIN_DEFINE(sq_desc)
