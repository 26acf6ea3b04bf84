/* store_sqlite fault injection, a TEST HOOK for hardening tests. When the key `fault_file`
 * names a file and that file exists, its first word chooses a storage failure that every
 * step() of a write statement then reports instead of running: `full` (disk is full),
 * `readonly` (database is read-only) or `locked` (database is locked), all NT_EUNAVAIL;
 * `commit` lets statements inside transactions run but fails every commit of a write
 * transaction, every group_close and every write outside a transaction (its own commit) as
 * `full` would (the transaction is rolled back).
 * Other content means no fault. Each connection looks at the file at most once per second,
 * so creating or removing it takes effect within a second. Leave fault_file unset in
 * production.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sqlite_int.h"

/* Monotonic milliseconds. */
int64_t
sq_mono_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sq_deadline(long long ms, struct timespec *out)
{
    clock_gettime(CLOCK_MONOTONIC, out);
    out->tv_sec += (time_t)(ms / 1000);
    out->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
}

/* Reads the fault named in `path`: an SQLite primary code, or 0 for none. */
static int
sq_fault_read(const char *path)
{
    char buf[32];
    struct stat sb;
    FILE *f = NULL;
    size_t n, i;
    int fault = 0;

    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        goto out;
    if ((f = fopen(path, "r")) == NULL)
        goto out;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    for (i = 0; i < n && !isspace((unsigned char)buf[i]); i++)
        ;
    buf[i] = '\0';
    if (strcmp(buf, "full") == 0)
        fault = SQLITE_FULL;
    else if (strcmp(buf, "readonly") == 0)
        fault = SQLITE_READONLY;
    else if (strcmp(buf, "locked") == 0)
        fault = SQLITE_BUSY;
    else if (strcmp(buf, "commit") == 0)
        fault = SQ_FAULT_COMMIT;
out:
    if (f != NULL)
        fclose(f);
    return fault;
}

/* The fault to inject on db now (an SQLite primary code, or SQ_FAULT_COMMIT) or 0. Looks at the
 * file again when the last look is a second old or more. */
int
sq_fault(nt_db *db)
{
    int64_t now;

    if (db->cfg->fault_file == NULL)
        return 0;
    now = sq_mono_ms();
    if (!db->fault_checked || now - db->fault_at_ms >= 1000) {
        db->fault = sq_fault_read(db->cfg->fault_file);
        db->fault_at_ms = now;
        db->fault_checked = 1;
    }
    return db->fault;
}
