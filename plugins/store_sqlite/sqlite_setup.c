/* store_sqlite handle setup: the settings every new SQLite handle gets (busy timeout, WAL
 * with kept -wal/-shm files, synchronous, foreign keys, page cache), the permissions of the
 * database files (0600) and a warning about an open directory, whether the database could be
 * written now, and a clear reason when it cannot be opened at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sqlite_int.h"

/* sqlite3_exec callback that copies the first column of the first row into arg (char[16]). */
static int
sq_first_value(void *arg, int ncol, char **vals, char **names)
{
    char *out = arg;

    if (out[0] == '\0' && ncol > 0 && vals[0] != NULL)
        snprintf(out, 16, "%s", vals[0]);
    return 0;
}

#define SQ_PERM_DIR 1   /* the directory warning was logged */
#define SQ_PERM_CHMOD 2 /* a chmod failure was logged */

/* The directory of the file at path (malloc'd; "." when path has no slash), or NULL. */
static char *sq_dirname(const char *path);

/* Logs `what` once per plugin instance: the first caller to set the bit logs. */
static int
sq_perm_first(const struct sq_cfg *c, int bit)
{
    return (atomic_fetch_or(&c->shared->perm_warned, bit) & bit) == 0;
}

/* Keeps the database private to the server's user: the database file and its -wal and -shm
 * files lose every group and other permission bit (0644 becomes 0600). Called on a writable
 * handle right after the open, before anything is written: SQLite creates a new database
 * file with 0644 less the umask, and gives -wal and -shm the mode of the database file when
 * it creates them, so from here on every file is 0600 from its first byte. A directory that
 * group or others may enter is only warned about (once): nettu creates its own directories
 * 0700 (sqlite_conn.c) and leaves the mode of one the operator made as it is. Failures
 * (another owner, a read-only file system) are logged once, never fatal. */
static void
sq_secure_files(const struct sq_cfg *c)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    size_t len = strlen(c->path) + 8;
    char *name = malloc(len), *dir = sq_dirname(c->path);
    struct stat sb;

    if (name == NULL || dir == NULL)
        goto out;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(name, len, "%s%s", c->path, suffixes[i]);
        if (stat(name, &sb) != 0 || !S_ISREG(sb.st_mode) || (sb.st_mode & 077) == 0)
            continue;
        if (chmod(name, sb.st_mode & 0700) != 0 && sq_perm_first(c, SQ_PERM_CHMOD))
            c->api->log(c->plugin, NT_LOG_WARN,
                        "%s is readable by group or others (mode %04o) and cannot be made "
                        "private: %s; chmod 600 it",
                        name, (unsigned)(sb.st_mode & 07777), strerror(errno));
    }
    if (stat(dir, &sb) == 0 && (sb.st_mode & 077) != 0 && sq_perm_first(c, SQ_PERM_DIR))
        c->api->log(c->plugin, NT_LOG_WARN,
                    "the database directory %s is open to group or others (mode %04o): the "
                    "database files are 0600, but chmod 700 %s keeps their names and sizes "
                    "private too (nettu does not change a directory it did not create)",
                    dir, (unsigned)(sb.st_mode & 07777), dir);
out:
    free(name);
    free(dir);
}

/* sqlite3_exec that waits out SQLITE_BUSY for up to timeout_ms. SQLite skips its busy
 * handler where waiting could deadlock, e.g. when this handle must upgrade its lock to switch
 * a new database to WAL while another process (starting at the same moment) is doing the
 * same: then the statement is run again after a short pause. */
static int
sq_exec_waiting(sqlite3 *h, const char *sql, int (*cb)(void *, int, char **, char **), void *arg,
                long long timeout_ms)
{
    struct timespec pause = {0, 5 * 1000000L};
    int64_t until = sq_mono_ms() + timeout_ms;
    int rc;

    while ((rc = sqlite3_exec(h, sql, cb, arg, NULL)) != SQLITE_OK && (rc & 0xff) == SQLITE_BUSY &&
           sq_mono_ms() < until)
        nanosleep(&pause, NULL);
    return rc;
}

/* How long a connection that finds the write lock taken sleeps before it looks again. */
#define SQ_BUSY_SLEEP_US 250

/* The busy handler: looks again every SQ_BUSY_SLEEP_US until busy_timeout_ms have passed
 * since the first look of this wait. SQLite's own handler backs off up to 100 ms between
 * looks and so woke 50-80 ms after a short write transaction had ended; a worker's event
 * loop stands still while it sleeps, so those sleeps were the tail latency of writes. */
int
sq_busy(void *arg, int n)
{
    static _Thread_local int64_t start_ms;
    const struct sq_cfg *c = arg;
    const struct timespec pause = {0, SQ_BUSY_SLEEP_US * 1000L};
    int64_t now = sq_mono_ms();

    if (n == 0)
        start_ms = now;
    if (now - start_ms >= (int64_t)c->busy_timeout_ms)
        return 0;
    nanosleep(&pause, NULL);
    return 1;
}

/* Applies the connection settings to the new handle h. SQLITE_OK, or an extended SQLite
 * code with a message in err. */
int
sq_setup(sqlite3 *h, const struct sq_cfg *c, char *err, size_t errlen)
{
    char sql[200], mode[16] = "";
    int rc, persist = 1, ro;

    sqlite3_extended_result_codes(h, 1);
    if (sqlite3_db_readonly(h, "main") == 0)
        sq_secure_files(c);
    if ((rc = sqlite3_busy_handler(h, sq_busy, (void *)c)) != SQLITE_OK)
        goto fail;
    /* Keep -wal and -shm when the last connection closes (the checkpoint still runs, and
     * journal_size_limit below truncates -wal to 0 bytes): SQLite can read a WAL database in
     * a read-only directory only when both files exist. */
    rc = sqlite3_file_control(h, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    if (rc != SQLITE_OK)
        goto fail;
    /* WAL lets readers run beside the one writer; it is a property of the file, so a
     * read-only file keeps whatever mode it has (and every write answers 503). */
    rc = sq_exec_waiting(h, "PRAGMA journal_mode=WAL", sq_first_value, mode, c->busy_timeout_ms);
    ro = sqlite3_db_readonly(h, "main") == 1;
    if (rc != SQLITE_OK && !(ro && (rc & 0xff) == SQLITE_READONLY))
        goto fail;
    if (rc == SQLITE_OK && strcasecmp(mode, "wal") != 0 && !ro) {
        snprintf(err, errlen, "cannot switch the database to WAL mode (it is in %s mode)", mode);
        return SQLITE_ERROR;
    }
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; PRAGMA cache_size=-%lld; "
             "PRAGMA journal_size_limit=%d",
             c->synchronous, c->cache_kib, SQ_WAL_LIMIT_BYTES);
    if ((rc = sq_exec_waiting(h, sql, NULL, NULL, c->busy_timeout_ms)) != SQLITE_OK)
        goto fail;
    if (c->checkpoint_ms > 0) /* replaces SQLite's own checkpoint-on-commit */
        sqlite3_wal_hook(h, sq_wal_hook, (void *)c);
    return SQLITE_OK;
fail:
    snprintf(err, errlen, "cannot set up the connection: %s", sqlite3_errmsg(h));
    return rc != SQLITE_OK ? sqlite3_extended_errcode(h) : SQLITE_ERROR;
}

/* The directory of the file at path (malloc'd; "." when path has no slash), or NULL. */
static char *
sq_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* 1 when the file path+suffix exists, 0 when not, -1 when out of memory. */
static int
sq_exists(const char *path, const char *suffix, char *name, size_t len)
{
    struct stat sb;

    if ((size_t)snprintf(name, len, "%s%s", path, suffix) >= len)
        return -1;
    return stat(name, &sb) == 0;
}

/* 1 when SQLite could write the database at path now: the file is writable, and so are its
 * -wal and -shm files or, for each that does not exist, the directory that must hold it.
 * 0 when not (errno from the check that failed). Never writes anything. */
int
sq_writable(const char *path)
{
    static const char *const suffixes[] = {"-wal", "-shm"};
    size_t len = strlen(path) + 8, i;
    char *name = malloc(len), *dir = sq_dirname(path);
    int ok = 0, e;

    if (name == NULL || dir == NULL || access(path, W_OK) != 0)
        goto out;
    for (i = 0; i < 2; i++) {
        if ((e = sq_exists(path, suffixes[i], name, len)) < 0)
            goto out;
        if (access(e ? name : dir, W_OK) != 0)
            goto out;
    }
    ok = 1;
out:
    e = errno;
    free(name);
    free(dir);
    errno = e;
    return ok;
}

/* 1 when the file at path is an SQLite database in WAL mode (read and write versions 2). */
static int
sq_is_wal(const char *path)
{
    unsigned char hdr[100];
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    if (f != NULL) {
        n = fread(hdr, 1, sizeof(hdr), f);
        fclose(f);
    }
    return n == sizeof(hdr) && memcmp(hdr, "SQLite format 3", 16) == 0 && hdr[18] == 2 &&
           hdr[19] == 2;
}

/* Writes to err why the database at path cannot be opened: rw_err is the read-write
 * failure, ro_err the read-only one (NULL when that was not tried). A missing database in a
 * directory that is not writable, and a WAL database there without its -wal and -shm files
 * (SQLite cannot read one without them, nor create them there), get their own reasons. */
void
sq_explain(const char *path, const char *rw_err, const char *ro_err, char *err, size_t errlen)
{
    size_t len = strlen(path) + 8;
    char *wal = malloc(len), *shm = malloc(len), *dir = sq_dirname(path);
    int has_wal, has_shm, dir_errno = 0;
    struct stat sb;

    if (wal == NULL || shm == NULL || dir == NULL)
        goto generic;
    if ((has_wal = sq_exists(path, "-wal", wal, len)) < 0 ||
        (has_shm = sq_exists(path, "-shm", shm, len)) < 0)
        goto generic;
    if (access(dir, W_OK) != 0)
        dir_errno = errno;
    if (dir_errno == 0)
        goto generic;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        snprintf(err, errlen,
                 "%s: %s: the database does not exist and its directory %s is not writable "
                 "(%s)",
                 path, rw_err, dir, strerror(dir_errno));
        goto out;
    }
    if (ro_err == NULL || !sq_is_wal(path) || (has_wal && has_shm))
        goto generic;
    snprintf(err, errlen,
             "%s: cannot open the database, not even read-only: it is in WAL mode and its "
             "directory %s is not writable (%s); SQLite cannot read a WAL database without its "
             "-wal and -shm files, and the missing %s cannot be created there. Make the "
             "directory writable for one start: nettu keeps both files after a clean stop, so "
             "later starts on a read-only directory work",
             path, dir, strerror(dir_errno),
             !has_wal && !has_shm ? "-wal and -shm files"
             : !has_wal           ? "-wal file"
                                  : "-shm file");
    goto out;
generic:
    if (ro_err != NULL)
        snprintf(err, errlen, "%s: %s; read-only: %s", path, rw_err, ro_err);
    else
        snprintf(err, errlen, "%s: %s", path, rw_err);
out:
    free(wal);
    free(shm);
    free(dir);
}
