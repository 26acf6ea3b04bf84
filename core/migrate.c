/* Migration runner. The check for an applied step happens inside the write transaction, so
 * two servers starting on one database at once apply each step exactly once.
 */
#include "migrate.h"

#include "log.h"
#include "util.h"

static const char migrate_table_sql[] =
    "CREATE TABLE IF NOT EXISTS nettu_migrations ("
    " plugin TEXT NOT NULL, version INTEGER NOT NULL, applied BIGINT NOT NULL,"
    " PRIMARY KEY (plugin, version))";

/* 1 when (plugin, version) is recorded, 0 when not, < 0 on error. */
static int
migrate_applied(const nt_store_v1 *st, nt_db *db, const char *plugin, int version)
{
    nt_stmt *s = st->prepare(db, "SELECT 1 FROM nettu_migrations WHERE plugin = $1 AND "
                                 "version = $2");
    int rc;

    if (s == NULL)
        return st->errcode(db) < 0 ? st->errcode(db) : NT_ERR;
    rc = st->bind_text(s, 1, plugin);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 2, version);
    if (rc == NT_OK)
        rc = st->step(s);
    st->finalize(s);
    return rc;
}

static int
migrate_record(const nt_store_v1 *st, nt_db *db, const char *plugin, int version)
{
    nt_stmt *s = st->prepare(db, "INSERT INTO nettu_migrations (plugin, version, applied) "
                                 "VALUES ($1, $2, $3)");
    int rc;

    if (s == NULL)
        return st->errcode(db) < 0 ? st->errcode(db) : NT_ERR;
    rc = st->bind_text(s, 1, plugin);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 2, version);
    if (rc == NT_OK)
        rc = st->bind_int64(s, 3, util_now_ms());
    if (rc == NT_OK)
        rc = st->step(s);
    st->finalize(s);
    return rc < 0 ? rc : NT_OK;
}

/* Applies one step if it is pending. */
static int
migrate_step(const nt_store_v1 *st, nt_db *db, const nt_plugin *p, const loader_migration *m)
{
    int rc = st->begin(db);

    if (rc != NT_OK)
        goto fail;
    rc = migrate_applied(st, db, p->name, m->version);
    if (rc < 0)
        goto fail;
    if (rc == 0) {
        if ((rc = st->exec(db, m->sql)) != NT_OK)
            goto fail;
        if ((rc = migrate_record(st, db, p->name, m->version)) != NT_OK)
            goto fail;
        log_msg(NT_LOG_INFO, p->name, "applied migration %d", m->version);
    }
    rc = st->commit(db);
    if (rc != NT_OK)
        goto fail;
    return NT_OK;
fail:
    log_msg(NT_LOG_ERROR, p->name, "migration %d failed: %s", m->version, st->errmsg(db));
    st->rollback(db);
    return rc < 0 ? rc : NT_ERR;
}

int
migrate_run(const nt_store_v1 *st, nt_db *db, const loader *l)
{
    int rc = st->exec(db, migrate_table_sql);

    if (rc != NT_OK) {
        log_msg(NT_LOG_ERROR, NULL, "cannot create the migrations table: %s", st->errmsg(db));
        return rc;
    }
    for (int i = 0; i < l->n; i++) {
        const nt_plugin *p = l->plugins[i];
        for (size_t k = 0; k < p->nmigs; k++)
            if ((rc = migrate_step(st, db, p, &p->migs[k])) != NT_OK)
                return rc;
    }
    return NT_OK;
}
