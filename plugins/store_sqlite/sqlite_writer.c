/* The process's writer turn. SQLite lets one connection write at a time; a second writer
 * that finds the lock taken sleeps in SQLite's busy handler, whose back-off (1, 2, 5, 10 ...
 * up to 100 ms between looks) left writers asleep long after the lock was free: POST p99 at
 * 64 connections was 100-500 ms with a p50 of 5 ms. The connections of this process
 * therefore queue for the write lock on a mutex first (woken the moment it is given back)
 * and only then take SQLite's lock, which from then on only waits for other processes.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "sqlite_int.h"

int
sq_writer_take(nt_db *db)
{
    struct sq_shared *sh = db->cfg->shared;
    struct timespec until;
    int rc;

    if (db->holds_writer)
        return NT_OK;
    if (clock_gettime(CLOCK_REALTIME, &until) != 0)
        return sq_fail(db, SQLITE_ERROR, "begin", "the clock could not be read");
    until.tv_sec += (time_t)(db->cfg->busy_timeout_ms / 1000);
    until.tv_nsec += (long)(db->cfg->busy_timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    rc = pthread_mutex_timedlock(&sh->writer, &until);
    if (rc == ETIMEDOUT)
        return sq_fail(db, SQLITE_BUSY, "begin",
                       "another request of this server held the write lock for busy_timeout_ms");
    if (rc != 0)
        return sq_fail(db, SQLITE_ERROR, "begin", "the writer lock could not be taken");
    db->holds_writer = 1;
    return NT_OK;
}

void
sq_writer_give(nt_db *db)
{
    if (db == NULL || !db->holds_writer)
        return;
    db->holds_writer = 0;
    pthread_mutex_unlock(&db->cfg->shared->writer);
}
