/* store_sqlite internals: the plugin state (its [store_sqlite] settings), the connection
 * (struct nt_db) with its statement cache, and the statement (struct nt_stmt). Private to the
 * plugin's sources and its unit test.
 */
#ifndef SQLITE_INT_H
#define SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <time.h>
#include <nettu/services.h>

#define SQ_BUCKETS 64    /* hash buckets of a connection's statement cache (power of two) */
#define SQ_CACHE_MAX 128 /* cached statements per connection; the least recently used go */
#define SQ_STMT_SPILL_BYTES (112 * 1024) /* statement journals stay in memory up to this */
#define SQ_PMAP 32                       /* parameters $1..$31 are looked up in a statement's map */
#define SQ_ERRLEN 512                    /* room for the last error message of a connection */
#define SQ_DRAIN_MS 200 /* longest wait for read-only handles to close, see sqlite_handle.c */
/* The statements of a group commit, compiled once per handle (sqlite_group.c). */
enum {
    SQ_GROUP_BEGIN,
    SQ_GROUP_SAVEPOINT,
    SQ_GROUP_RELEASE,
    SQ_GROUP_ROLLBACK_TO,
    SQ_GROUP_COMMIT,
    SQ_GROUP_STMTS
};
#define SQ_WAL_LIMIT_BYTES 67108864 /* journal_size_limit: a kept -wal shrinks to this */
#define SQ_VFS_NAME "nettu"         /* the VFS of every handle (sqlite_vfs.c) */

/* What the connections of one process share (guarded by mu): the count of open handles that
 * cannot write. SQLite maps the -shm file once per process; while one such handle is open,
 * every handle opened on the same file shares its read-only mapping (sqlite_handle.c). */
struct sq_shared {
    pthread_mutex_t mu;
    pthread_cond_t drained; /* broadcast when nro drops to 0; CLOCK_MONOTONIC */
    int nro;                /* open handles with db->ro set */
    atomic_int perm_warned; /* SQ_PERM_* warnings already logged (sqlite_setup.c) */
    /* The group turn (sqlite_group.c): one group of this process holds the write lock at a
     * time, and the next waiting one gets it at once, first come first served. */
    int turn_held;
    struct sq_turn_waiter *turn_head, *turn_tail;
    pthread_cond_t turn_cv; /* CLOCK_MONOTONIC; broadcast when a turn is handed over */
    /* The group connection (sqlite_group.c): the one connection every group of the process
     * writes through, used only by the holder of the turn (which is what guards it, not mu).
     * Opened by the first group, closed with the plugin. */
    struct nt_db *writer;
};

/* The plugin state: settings read in init, read-only afterwards (shared by all threads). */
struct sq_cfg {
    const nt_host_api *api;
    nt_plugin *plugin;
    char *path;              /* database file; malloc'd */
    char *describe;          /* "sqlite <absolute path>" for the start-up log; malloc'd */
    const char *synchronous; /* "NORMAL", "FULL" or "OFF" (static) */
    long long busy_timeout_ms;
    long long cache_kib;
    char *fault_file;         /* test hook, see sqlite_fault.c; malloc'd, NULL when off */
    long long checkpoint_ms;  /* > 0: WAL checkpoints by a background thread */
    struct sq_ckpt *ckpt;     /* that thread, between start and stop */
    struct sq_shared *shared; /* malloc'd; the only part that changes after init */
};

/* One statement. Every live statement is linked in its connection's hash table; `cached`
 * ones stay there after finalize, the others are freed by it. */
struct nt_stmt {
    struct nt_db *db;
    sqlite3_stmt *st;
    char *sql; /* malloc'd copy, the cache key */
    uint32_t hash;
    int in_use;                  /* between prepare and finalize */
    int cached;                  /* counted in db->ncached; kept for reuse */
    uint64_t used;               /* db->tick at the last prepare, for LRU eviction */
    int64_t changes;             /* sqlite3_changes after the last step that finished */
    unsigned char pmap[SQ_PMAP]; /* SQLite index of $i for i < SQ_PMAP, 0 when absent */
    struct nt_stmt *next;
};

/* One connection, used by one thread at a time. Its SQLite handle `db` may be NULL between
 * uses: a handle that cannot write is closed whenever the connection is idle and opened
 * again at the next use (sqlite_handle.c). */
struct nt_db {
    const struct sq_cfg *cfg;
    sqlite3 *db; /* NULL while closed */
    struct nt_stmt *buckets[SQ_BUCKETS];
    int ncached;
    int nbusy; /* statements between prepare and finalize */
    uint64_t tick;
    int ro;              /* the open handle cannot write; counted in cfg->shared->nro */
    int ro_logged;       /* the last state logged: 1 read-only, 0 writable */
    int drain_timed_out; /* drain_at_ms holds the time of a drain wait that timed out */
    int64_t drain_at_ms; /* monotonic time of that wait */
    int errcode;         /* NT_E* of the last failure, NT_OK after clear_error */
    char errmsg[SQ_ERRLEN];
    int read_txn;     /* a read transaction of begin_read is open */
    int write_txn;    /* a write transaction of begin is open */
    int aborted;      /* NT_E* of the error that ended the last transaction, until rollback
                         (store contract C6); NT_OK when none */
    int aborted_read; /* that transaction was a read transaction (end_read ends it) */
    int group;        /* group commit mode (group_open .. group_close; sqlite_group.c) */
    int group_txn;    /* the group's write transaction is open */
    int group_sp;     /* a request's savepoint inside it is open (between begin and commit) */
    int group_lost;   /* NT_E* of an error that rolled the whole group back, else NT_OK */
    /* While this connection's group is open: the group connection (sq_shared.writer), which
     * then serves every call made on this one (sq_at). NULL otherwise. */
    struct nt_db *fwd;
    sqlite3_stmt *group_stmt[SQ_GROUP_STMTS]; /* the group's statements (sqlite_group.c) */
    int batching;        /* the group connection: cache_spill off and its WAL batching (set
                            by sq_group_open once the WAL is open; 0 on a new handle) */
    int fault;           /* injected fault (sqlite primary code, or SQ_FAULT_COMMIT) or 0 */
    int fault_checked;   /* fault_at holds a valid time */
    int64_t fault_at_ms; /* monotonic time of the last look at the fault file */
};

/* sqlite_handle.c: the SQLite handle of a connection: opening (read-write, else read-only),
 * closing, and the read-only life cycle. */
int sq_handle_open(nt_db *db, char *err, size_t errlen);
void sq_handle_close(nt_db *db);
int sq_use(nt_db *db);
void sq_idle(nt_db *db);
void sq_mark_ro(nt_db *db);
int sq_shared_init(struct sq_cfg *c);
void sq_shared_free(struct sq_cfg *c);

/* sqlite_setup.c: the settings of a new handle and the reasons an open failed. */
int sq_setup(sqlite3 *h, const struct sq_cfg *c, char *err, size_t errlen);
/* The busy handler of every handle (arg is the sq_cfg): looks again every 250 us. */
int sq_busy(void *arg, int n);
int sq_writable(const char *path);
void sq_explain(const char *path, const char *rw_err, const char *ro_err, char *err, size_t errlen);

/* sqlite_vfs.c: registers SQ_VFS_NAME (the default VFS, with a WAL frame's header and page
 * written in one write) once per process. SQLITE_OK or SQLite's error. */
int sq_vfs_init(void);
/* Marks the open WAL file of h to collect a commit's frames and write them together. Only for
 * a handle with PRAGMA cache_spill=OFF (see sqlite_vfs.c). 1 when marked, 0 when h has no
 * WAL file of this VFS open (yet). */
int sq_vfs_batch_wal(sqlite3 *h);
/* The same for a WAL file opened through SQ_VFS_NAME (0 for any other file). */
int sq_vfs_batch_file(sqlite3_file *f);

/* sqlite_conn.c: connections, scripts and transactions. */
nt_db *sq_conn_open(void *state, char *err, size_t errlen);
void sq_conn_close(nt_db *db);
int sq_exec(nt_db *db, const char *sql);
int sq_begin(nt_db *db);

/* sqlite_checkpoint.c: the background checkpoint thread (plugin start and stop). */
struct sq_ckpt;
int sq_ckpt_start(struct sq_cfg *c);
void sq_ckpt_stop(struct sq_cfg *c);
/* The commit hook of request connections (sqlite3_wal_hook; arg is the sq_cfg). */
int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int pages);

int sq_begin_read(nt_db *db);
int sq_end_read(nt_db *db);
int sq_commit(nt_db *db);
int sq_rollback(nt_db *db);
int sq_lock_schema(nt_db *db);
/* Store contract C6: a statement that failed with `code` inside a transaction rolls the
 * transaction back and refuses what follows until rollback. Returns code. */
int sq_stmt_failed(nt_db *db, int code);
/* The code of the error that ended the transaction (refusing the call), or NT_OK. */
int sq_refused(nt_db *db);

/* sqlite_cache.c: the per-connection statement cache. */
nt_stmt *sq_prepare(nt_db *db, const char *sql);
void sq_finalize(nt_stmt *s);
void sq_cache_clear(nt_db *db);

/* sqlite_stmt.c: binding, stepping and reading columns. */
int sq_bind_text(nt_stmt *s, int i, const char *v);
int sq_bind_int64(nt_stmt *s, int i, int64_t v);
int sq_bind_null(nt_stmt *s, int i);
int sq_step(nt_stmt *s);
const char *sq_col_text(nt_stmt *s, int col);
int64_t sq_col_int64(nt_stmt *s, int col);
int sq_col_is_null(nt_stmt *s, int col);
int64_t sq_changes(nt_stmt *s);

/* sqlite_group.c: group commit (store group_open, group_close, group_pending) and the
 * savepoints that stand in for write transactions inside a group. */
int sq_group_open(nt_db *db);
int sq_group_close(nt_db *db);
int sq_group_pending(nt_db *db);
int sq_group_begin(nt_db *db);
int sq_group_release(nt_db *db);
void sq_group_undo(nt_db *db);
void sq_group_check_lost(nt_db *db, int code);
void sq_group_abandon(nt_db *db);
void sq_group_writer_close(struct sq_cfg *c);

/* The connection that serves a call made on db: the group connection while db's group is
 * open (sqlite_group.c), else db itself. NULL stays NULL. */
static inline nt_db *
sq_at(nt_db *db)
{
    return db != NULL && db->fwd != NULL ? db->fwd : db;
}
/* Finalizes the group's statements of db's handle (before the handle closes). */
void sq_group_stmts_free(nt_db *db);
/* The process's write turn (FIFO), for groups and the checkpoint thread. */
int sq_turn_take(const struct sq_cfg *c);
void sq_turn_give(const struct sq_cfg *c);

/* sqlite_error.c: SQLite result codes to NT_E* codes and the connection's last error. */
int sq_code(int ext);
int sq_fail(nt_db *db, int ext, const char *what, const char *detail);
int sq_fail_db(nt_db *db, const char *what);
const char *sq_errmsg(nt_db *db);
int sq_errcode(nt_db *db);
void sq_clear_error(nt_db *db);

/* sqlite_fault.c: the fault_file test hook, and the monotonic clock. */
int sq_fault(nt_db *db);
/* The fault file's word `commit`: every commit of a write transaction (and group_close)
 * fails as if the disk were full, while statements run. */
#define SQ_FAULT_COMMIT (-1)
int64_t sq_mono_ms(void);
/* The CLOCK_MONOTONIC time ms milliseconds from now, for pthread_cond_timedwait on a
 * condition variable set to that clock. */
void sq_deadline(long long ms, struct timespec *out);

#endif /* SQLITE_INT_H */
