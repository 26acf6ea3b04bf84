/* Migration runner. Every step runs in its own write transaction that first takes the
 * store's schema lock (store contract C8, when the store has lock_schema) and then checks
 * whether the step is recorded, so servers starting together on one database apply each
 * step exactly once, one after the other. A transaction that fails retryably (NT_ERETRY:
 * another instance held the lock too long, a serialization failure) is run again a few
 * times before start-up gives up.
 */
#include "migrate.h"

#include <time.h>

#include "idem.h"
#include "log.h"
#include "util.h"

#define MIGRATE_TRIES 5       /* runs of one transaction that failed with NT_ERETRY */
#define MIGRATE_BACKOFF_MS 50 /* first pause between them; doubles each time */

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

/* Begins a write transaction and takes the schema lock when the store has one. */
static int
migrate_begin(const nt_store_v1 *st, nt_db *db)
{
    int rc = st->begin(db);

    if (rc == NT_OK && NT_HAS_MEMBER(st, nt_store_v1, lock_schema) && st->lock_schema != NULL)
        rc = st->lock_schema(db);
    return rc;
}

/* Creates the migrations table (under the schema lock). */
static int
migrate_table(const nt_store_v1 *st, nt_db *db)
{
    int rc = migrate_begin(st, db);

    if (rc == NT_OK)
        rc = st->exec(db, migrate_table_sql);
    if (rc == NT_OK)
        rc = st->commit(db);
    if (rc != NT_OK)
        st->rollback(db);
    return rc;
}

/* Applies one step of `owner` ("core" or a plugin's name) if it is pending. *applied is set
 * to 1 when this call applied it. */
static int
migrate_step(const nt_store_v1 *st, nt_db *db, const char *owner, int version, const char *sql,
             int *applied)
{
    int rc = migrate_begin(st, db);

    *applied = 0;
    if (rc != NT_OK)
        goto fail;
    rc = migrate_applied(st, db, owner, version);
    if (rc < 0)
        goto fail;
    if (rc == 0) {
        if ((rc = st->exec(db, sql)) != NT_OK)
            goto fail;
        if ((rc = migrate_record(st, db, owner, version)) != NT_OK)
            goto fail;
    }
    *applied = rc == 0;
    if ((rc = st->commit(db)) != NT_OK)
        goto fail;
    return NT_OK;
fail:
    *applied = 0;
    st->rollback(db);
    return rc < 0 ? rc : NT_ERR;
}

/* Sleeps ms milliseconds. */
static void
migrate_pause(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Applies one step, running its transaction again (with a growing pause) while it fails
 * retryably. NT_OK or the code of the last try, logged. */
static int
migrate_one(const nt_store_v1 *st, nt_db *db, const char *owner, int version, const char *sql)
{
    int rc = NT_ERETRY, applied = 0;

    for (int t = 0, pause = MIGRATE_BACKOFF_MS; t < MIGRATE_TRIES && rc == NT_ERETRY;
         t++, pause *= 2) {
        if (t > 0) {
            log_msg(NT_LOG_WARN, owner, "migration %d: %s; trying again", version, st->errmsg(db));
            migrate_pause(pause);
        }
        rc = migrate_step(st, db, owner, version, sql, &applied);
    }
    if (rc != NT_OK) {
        log_msg(NT_LOG_ERROR, owner, "migration %d failed: %s", version, st->errmsg(db));
        return rc;
    }
    if (applied)
        log_msg(NT_LOG_INFO, owner, "applied migration %d", version);
    return NT_OK;
}

int
migrate_run(const nt_store_v1 *st, nt_db *db, const loader *l)
{
    int rc = NT_ERETRY;

    for (int t = 0, pause = MIGRATE_BACKOFF_MS; t < MIGRATE_TRIES && rc == NT_ERETRY;
         t++, pause *= 2) {
        if (t > 0)
            migrate_pause(pause);
        rc = migrate_table(st, db);
    }
    if (rc != NT_OK) {
        log_msg(NT_LOG_ERROR, NULL, "cannot create the migrations table: %s", st->errmsg(db));
        return rc;
    }
    /* The core's own tables first (the Idempotency-Key records), then every plugin's. */
    for (size_t k = 0; k < idem_nmigrations; k++)
        if ((rc = migrate_one(st, db, "core", idem_migrations[k].version,
                              idem_migrations[k].sql)) != NT_OK)
            return rc;
    for (int i = 0; i < l->n; i++) {
        const nt_plugin *p = l->plugins[i];
        for (size_t k = 0; k < p->nmigs; k++)
            if ((rc = migrate_one(st, db, p->name, p->migs[k].version, p->migs[k].sql)) != NT_OK)
                return rc;
    }
    return NT_OK;
}
