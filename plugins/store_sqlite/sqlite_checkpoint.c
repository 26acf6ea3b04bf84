/* Background WAL checkpoints. With checkpoint_ms > 0 the request connections never
 * checkpoint themselves, so no request pays for copying the WAL into the database and its
 * fsync. Their commit hook wakes one thread (with its own connection) each time the WAL has
 * grown by SQ_CKPT_PAGES pages, and the thread also runs every checkpoint_ms: a PASSIVE
 * checkpoint, which never blocks readers or writers. Under steady writes the WAL never
 * starts over by itself (that needs a moment with every frame copied and no writer), so once
 * it passes SQ_CKPT_FORCE_PAGES the thread takes the process's write turn (sqlite_group.c:
 * the groups of request writers wait behind it) and runs a RESTART checkpoint right after a
 * PASSIVE one, so it has little left to copy: writers are held back for that short time, and
 * the WAL starts over. (Without the turn, RESTART waited for the write lock and then for
 * readers in SQLite's back-off, holding the lock: writers stalled 50-150 ms; in the turn
 * but without the catching up first, 40-50 ms, most of it the sync of the database file.)
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sqlite_int.h"

#define SQ_CKPT_PAGES 1000       /* as SQLite's own wal_autocheckpoint */
#define SQ_CKPT_FORCE_PAGES 8000 /* about 32 MiB of WAL */
#define SQ_CKPT_CATCHUP 3        /* most sync-and-copy passes before a restart */
#define SQ_CKPT_SHORT_MS 8       /* a pass this short leaves little for the restart */

struct sq_ckpt {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int kicked;
    /* The WAL's length in pages when the last kick was sent: the next kick waits for
     * SQ_CKPT_PAGES more (or for a WAL that started over). Under steady writes the WAL does
     * not start over (a checkpoint cannot pass the writers' snapshots), and kicking at every
     * commit past SQ_CKPT_PAGES ran a checkpoint, with its fsyncs, after every commit. */
    atomic_int kicked_at;
    const struct sq_cfg *cfg;
};

/* Opens the thread's connection and reads the schema, which opens the WAL. */
static sqlite3 *
sq_ckpt_open(const struct sq_cfg *c)
{
    sqlite3 *h = NULL;

    if (sqlite3_open_v2(c->path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, SQ_VFS_NAME) !=
            SQLITE_OK ||
        sqlite3_busy_handler(h, sq_busy, (void *)c) != SQLITE_OK ||
        sqlite3_exec(h, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(h); /* not writable now, say: try again next time */
        return NULL;
    }
    return h;
}

/* Writes the database file's dirty pages to disk through a descriptor of its own. A
 * checkpoint that copies every frame syncs the file before the WAL may start over, and that
 * sync had all the pages of the partial checkpoints before it to write (40-60 ms here). */
static void
sq_ckpt_presync(const struct sq_cfg *c)
{
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);

    if (fd >= 0) {
        (void)fdatasync(fd); /* an error shows again in SQLite's own sync */
        close(fd);
    }
}

/* One round: PASSIVE; then, when the WAL is too long, catch up outside the write turn (sync
 * the file, copy what came meanwhile) until a pass is short, and RESTART in the turn, which
 * has only the last few frames to copy and sync: writers wait a few milliseconds. */
static int
sq_ckpt_round(sqlite3 *h, const struct sq_cfg *c)
{
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);

    for (int i = 0; rc == SQLITE_OK && log >= SQ_CKPT_FORCE_PAGES && i < SQ_CKPT_CATCHUP; i++) {
        int64_t t0 = sq_mono_ms();
        sq_ckpt_presync(c);
        rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (sq_mono_ms() - t0 < SQ_CKPT_SHORT_MS)
            break;
    }
    if (rc == SQLITE_OK && log >= SQ_CKPT_FORCE_PAGES && sq_turn_take(c) == NT_OK) {
        rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        sq_turn_give(c);
    }
    return rc;
}

int
sq_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    const struct sq_cfg *c = arg;
    struct sq_ckpt *k = c->ckpt;

    (void)db;
    (void)name;
    if (pages >= SQ_CKPT_PAGES && k != NULL) {
        int at = atomic_load_explicit(&k->kicked_at, memory_order_relaxed);
        if (pages >= at && pages - at < SQ_CKPT_PAGES)
            return SQLITE_OK; /* kicked for this stretch of WAL already */
        atomic_store_explicit(&k->kicked_at, pages, memory_order_relaxed);
        pthread_mutex_lock(&k->mu);
        k->kicked = 1;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
    }
    return SQLITE_OK;
}

/* The thread: waits checkpoint_ms (or until told to stop), checkpoints, again. */
static void *
sq_ckpt_main(void *arg)
{
    struct sq_ckpt *k = arg;
    sqlite3 *h = NULL;
    int failed = 0;

    pthread_mutex_lock(&k->mu);
    while (!k->stop) {
        struct timespec until;
        sq_deadline(k->cfg->checkpoint_ms, &until);
        while (!k->stop && !k->kicked && pthread_cond_timedwait(&k->cv, &k->mu, &until) == 0)
            ;
        if (k->stop)
            break;
        k->kicked = 0;
        pthread_mutex_unlock(&k->mu);
        if (h == NULL)
            h = sq_ckpt_open(k->cfg);
        if (h != NULL) {
            int rc = sq_ckpt_round(h, k->cfg);
            if (rc != SQLITE_OK && rc != SQLITE_BUSY && !failed) {
                k->cfg->api->log(k->cfg->plugin, NT_LOG_WARN, "WAL checkpoint failed: %s",
                                 sqlite3_errmsg(h));
                failed = 1;
            } else if (rc == SQLITE_OK) {
                failed = 0;
            }
            if (rc != SQLITE_OK && rc != SQLITE_BUSY) { /* reopen next time */
                sqlite3_close(h);
                h = NULL;
            }
        }
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    sqlite3_close(h);
    return NULL;
}

int
sq_ckpt_start(struct sq_cfg *c)
{
    struct sq_ckpt *k;
    pthread_condattr_t ca;

    if (c->checkpoint_ms <= 0)
        return NT_OK;
    k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NT_ENOMEM;
    k->cfg = c;
    pthread_mutex_init(&k->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&k->thread, NULL, sq_ckpt_main, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        c->api->init_error(c->plugin, "cannot start the checkpoint thread");
        return NT_ERR;
    }
    (void)pthread_setname_np(k->thread, "nettu-ckpt"); /* for top -H; cosmetic */
    c->ckpt = k;
    return NT_OK;
}

void
sq_ckpt_stop(struct sq_cfg *c)
{
    struct sq_ckpt *k = c != NULL ? c->ckpt : NULL;

    if (k == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
    c->ckpt = NULL;
}
