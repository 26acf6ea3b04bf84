/* Compact statements: binding $1..$n from a format string, and the prepare-bind-step-finalize
 * sequences every store repeats (API in ntc.h, "statements").
 */
#include "ntc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The highest $n in sql, outside quoted literals and identifiers; 0 when none. Jumps from one
 * '$' or quote to the next with strpbrk/strchr, since every prepare runs it over the whole text. */
static int
sql_max_param(const char *sql)
{
    int max = 0;

    for (const char *s = strpbrk(sql, "$'\""); s != NULL; s = strpbrk(s, "$'\"")) {
        if (*s != '$') { /* a quoted literal or identifier: skip to its closing quote */
            s = strchr(s + 1, *s);
            if (s == NULL)
                break;
            s++;
            continue;
        }
        int n = 0;
        while (s[1] >= '0' && s[1] <= '9' && n < 100000)
            n = n * 10 + (*++s - '0');
        if (n > max)
            max = n;
        s++;
    }
    return max;
}

/* Binds the parameters of fmt from ap, starting at $1. */
static int
bindv(const nt_host_api *api, nt_stmt *st, const char *fmt, va_list ap)
{
    int rc = NT_OK;

    if (st == NULL || fmt == NULL)
        return NT_ERR;
    for (int i = 0; fmt[i] != '\0' && rc == NT_OK; i++) {
        switch (fmt[i]) {
        case 't':
            rc = api->db_bind_text(st, i + 1, va_arg(ap, const char *));
            break;
        case 'i':
            rc = api->db_bind_int64(st, i + 1, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = api->db_bind_int64(st, i + 1, va_arg(ap, int));
            break;
        case 'n':
            rc = api->db_bind_null(st, i + 1);
            break;
        default:
            rc = NT_ERR; /* a format letter this helper does not know */
        }
    }
    return rc;
}

int
ntc_bind(const nt_host_api *api, nt_stmt *st, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = bindv(api, st, fmt, ap);
    va_end(ap);
    return rc;
}

/* Prepares sql on db after checking fmt against it, and binds from ap. */
static int
preparev(const nt_host_api *api, nt_db *db, nt_stmt **out, const char *sql, const char *fmt,
         va_list ap)
{
    int rc;

    *out = NULL;
    if (sql == NULL || fmt == NULL || sql_max_param(sql) != (int)strlen(fmt))
        return NT_ERR;
    *out = api->db_prepare(db, sql);
    if (*out == NULL)
        return NT_ERR;
    rc = bindv(api, *out, fmt, ap);
    if (rc != NT_OK) {
        api->db_finalize(*out);
        *out = NULL;
    }
    return rc;
}

int
ntc_prepare(const nt_host_api *api, nt_db *db, nt_stmt **out, const char *sql, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = preparev(api, db, out, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int
ntc_row(const nt_host_api *api, nt_stmt *st)
{
    int rc = api->db_step(st);

    if (rc == 1)
        return NT_OK;
    return rc == 0 ? NT_ENOTFOUND : rc;
}

/* Runs a statement that returns no rows; with must_change, NT_ENOTFOUND when it changed
 * none. */
static int
exec_v(const nt_host_api *api, nt_db *db, int must_change, const char *sql, const char *fmt,
       va_list ap)
{
    nt_stmt *st = NULL;
    int rc = preparev(api, db, &st, sql, fmt, ap);

    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc >= 0)
        rc = must_change && api->db_changes(st) == 0 ? NT_ENOTFOUND : NT_OK;
    api->db_finalize(st);
    return rc;
}

int
ntc_exec(const nt_host_api *api, nt_db *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = exec_v(api, db, 0, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int
ntc_exec_changed(const nt_host_api *api, nt_db *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = exec_v(api, db, 1, sql, fmt, ap);
    va_end(ap);
    return rc;
}

int
ntc_tx_end(const nt_host_api *api, nt_db *db, int rc)
{
    if (rc == NT_OK)
        return api->db_commit(db);
    api->db_rollback(db);
    return rc;
}

int
ntc_begin_claim(const nt_host_api *api, nt_db *db)
{
    if (NT_HAS_MEMBER(api, nt_host_api, db_begin_claim) && api->db_begin_claim != NULL)
        return api->db_begin_claim(db);
    return api->db_begin(db);
}

int
ntc_skip_locked(const nt_host_api *api)
{
    const char *d = NULL;

    if (NT_HAS_MEMBER(api, nt_host_api, db_dialect) && api->db_dialect != NULL)
        d = api->db_dialect();
    return d != NULL && strcmp(d, "postgresql") == 0;
}

int
ntc_in_slots(size_t n)
{
    static const int sizes[] = {1, 2, 4, 8, 16, 32, 64, NTC_IN_MAX};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if ((size_t)sizes[i] >= n)
            return sizes[i];
    return NTC_IN_MAX;
}

int
ntc_in_sql(char *buf, size_t cap, const char *head, int first, int slots, const char *tail)
{
    int off = snprintf(buf, cap, "%s", head);

    for (int i = 0; i < slots && off >= 0 && (size_t)off < cap; i++)
        off += snprintf(buf + off, cap - (size_t)off, i == 0 ? "$%d" : ", $%d", first + i);
    if (off >= 0 && (size_t)off < cap)
        off += snprintf(buf + off, cap - (size_t)off, "%s", tail);
    return off >= 0 && (size_t)off < cap ? NT_OK : NT_ERR;
}
