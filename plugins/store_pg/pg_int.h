/* store_pg internals: the plugin state (its [store_pg] settings), the connection (struct
 * nt_db) with its cache of prepared statements, and the statement (struct nt_stmt). Private
 * to the plugin's sources and its unit test.
 */
#ifndef PG_INT_H
#define PG_INT_H

#include <libpq-fe.h>
#include <stdint.h>
#include <nettu/services.h>

#define PG_BUCKETS 64           /* hash buckets of a connection's statement cache */
#define PG_CACHE_MAX 256        /* prepared statements kept per connection */
#define PG_ERRLEN 512           /* room for the last error message of a connection */
#define PG_BACKOFF_MIN_MS 250   /* first pause after a failed reconnection */
#define PG_BACKOFF_MAX_MS 10000 /* longest pause between reconnection attempts */
/* The key of the schema lock (store contract C8): one advisory lock per database. */
#define PG_SCHEMA_LOCK_KEY 0x6e65747475LL /* "nettu" */
#define PG_SCHEMA_LOCK_WAIT_MS 120000     /* how long lock_schema waits for another instance */

/* The plugin state: settings read in init, read-only afterwards (shared by all threads). */
struct pg_cfg {
    const nt_host_api *api;
    nt_plugin *plugin;
    char *conninfo; /* the libpq connection string; malloc'd; never logged */
    char *describe; /* "postgresql host=... port=... dbname=..."; malloc'd */
    long long statement_timeout_ms;
    long long lock_timeout_ms;
    long long connect_timeout_s;
};

/* One statement. Cached statements stay in their connection's hash table after finalize
 * (the server keeps them prepared as `name`); uncached ones are freed by finalize. */
struct nt_stmt {
    struct nt_db *db;
    char *sql;     /* malloc'd copy, the cache key */
    char name[24]; /* the server-side prepared statement, "nt<N>" */
    uint64_t gen;  /* db->gen when it was prepared: valid only on that server session */
    uint32_t hash;
    int nparams;     /* the highest $n in the SQL */
    char **vals;     /* nparams bound values (malloc'd text, NULL for SQL NULL) */
    char *present;   /* nparams flags: $i is in the SQL */
    int in_use;      /* between prepare and finalize */
    int cached;      /* counted in db->ncached */
    uint64_t used;   /* db->tick at the last prepare, for LRU eviction */
    PGresult *res;   /* the result of the execution, rows read one by one by step */
    int row;         /* the row step returned last (-1 before the first) */
    int executed;    /* res holds this execution's result */
    int64_t changes; /* rows changed by the last execution that finished */
    struct nt_stmt *next;
};

/* One connection, used by one thread at a time. `conn` is NULL after the server session was
 * lost; the next use opens a new one (after a backoff when opening failed). */
struct nt_db {
    const struct pg_cfg *cfg;
    PGconn *conn;
    uint64_t gen; /* counts server sessions: statements prepared on an older one are stale */
    struct nt_stmt *buckets[PG_BUCKETS];
    int ncached;
    uint64_t tick;
    uint64_t names; /* prepared statement names handed out */
    int errcode;    /* NT_E* of the last failure, NT_OK after clear_error */
    char errmsg[PG_ERRLEN];
    int read_txn;        /* a read transaction of begin_read is open */
    int write_txn;       /* a write transaction of begin is open */
    int txn_used;        /* a statement ran inside the open transaction */
    int schema_lock;     /* the session holds the schema lock (lock_schema) */
    int aborted;         /* NT_E* that ended the last transaction, until rollback (C6) */
    int aborted_read;    /* that transaction was a read transaction */
    int64_t retry_at_ms; /* monotonic time before which no reconnection is tried */
    int backoff_ms;      /* the pause after the next failed reconnection */
};

/* pg_conn.c: connections, the server session, scripts and transactions. */
nt_db *pg_conn_open(void *state, char *err, size_t errlen);
void pg_conn_close(nt_db *db);
int pg_use(nt_db *db);
void pg_lost(nt_db *db);
int pg_exec(nt_db *db, const char *sql);
int pg_begin(nt_db *db);
int pg_begin_claim(nt_db *db);
int pg_begin_read(nt_db *db);
int pg_end_read(nt_db *db);
int pg_commit(nt_db *db);
int pg_rollback(nt_db *db);
int pg_lock_schema(nt_db *db);
/* Store contract C6: a statement failed with `code` inside a transaction: it is rolled back
 * and the connection refuses what follows until rollback. Returns code. */
int pg_stmt_failed(nt_db *db, int code);
/* The code of the error that ended the transaction (refusing the call), or NT_OK. */
int pg_refused(nt_db *db);
int64_t pg_mono_ms(void);

/* pg_stmt.c: the statement cache, binding, stepping and reading columns. */
nt_stmt *pg_prepare(nt_db *db, const char *sql);
void pg_finalize(nt_stmt *s);
void pg_cache_clear(nt_db *db);
int pg_bind_text(nt_stmt *s, int i, const char *v);
int pg_bind_int64(nt_stmt *s, int i, int64_t v);
int pg_bind_null(nt_stmt *s, int i);
int pg_step(nt_stmt *s);
const char *pg_col_text(nt_stmt *s, int col);
int64_t pg_col_int64(nt_stmt *s, int col);
int pg_col_is_null(nt_stmt *s, int col);
int64_t pg_changes(nt_stmt *s);
int pg_scan_params(const char *sql, char *present);

/* pg_error.c: SQLSTATEs to NT_E* codes and the connection's last error. */
int pg_code(const char *sqlstate);
int pg_fail(nt_db *db, int code, const char *what, const char *detail);
int pg_fail_res(nt_db *db, const PGresult *res, const char *what);
const char *pg_errmsg(nt_db *db);
int pg_errcode(nt_db *db);
void pg_clear_error(nt_db *db);

#endif /* PG_INT_H */
