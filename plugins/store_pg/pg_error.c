/* store_pg errors: the one table that maps SQLSTATEs to NT_E* codes (the store contract's C5,
 * services.h), and the last error of a connection (code and message) until clear_error.
 */
#include <stdio.h>
#include <string.h>

#include "pg_int.h"

/* SQLSTATEs and what they mean to plugins: a full code is looked up first, then its class
 * (the first two characters, written "XX..."); anything else is NT_ERR (syntax errors,
 * missing tables: bugs, not the client's or the database's fault).
 *
 * Retryable (NT_ERETRY): the transaction was rolled back by the server and running it again
 * may succeed. Unavailable (NT_EUNAVAIL, 503): the database cannot do it now (gone, read-only,
 * full, a lock or the statement took longer than the configured timeout). */
static const struct {
    const char *state;
    int nt;
} pg_errors[] = {
    {"23505", NT_ECONFLICT}, /* unique_violation */
    {"23...", NT_EINVAL},    /* foreign key, not null, check, exclusion */
    {"22...", NT_EINVAL},    /* data exception: invalid text, out of range, ... */
    {"40001", NT_ERETRY},    /* serialization_failure */
    {"40P01", NT_ERETRY},    /* deadlock_detected */
    {"08...", NT_EUNAVAIL},  /* connection exception */
    {"25006", NT_EUNAVAIL},  /* read_only_sql_transaction (a standby, or read-only mode) */
    {"55P03", NT_EUNAVAIL},  /* lock_not_available: lock_timeout_ms passed */
    {"57014", NT_EUNAVAIL},  /* query_canceled: statement_timeout_ms passed */
    {"57P01", NT_EUNAVAIL},  /* admin_shutdown (also pg_terminate_backend) */
    {"57P02", NT_EUNAVAIL},  /* crash_shutdown */
    {"57P03", NT_EUNAVAIL},  /* cannot_connect_now (starting up, shutting down) */
    {"53200", NT_ENOMEM},    /* out_of_memory */
    {"53...", NT_EUNAVAIL},  /* insufficient resources: disk full, too many connections */
    {"58...", NT_EUNAVAIL},  /* system error: I/O */
};

/* The NT_E* code of a SQLSTATE (NULL or empty: NT_ERR). */
int
pg_code(const char *state)
{
    size_t n = sizeof(pg_errors) / sizeof(pg_errors[0]), i;

    if (state == NULL || strlen(state) != 5)
        return NT_ERR;
    for (i = 0; i < n; i++)
        if (strcmp(pg_errors[i].state, state) == 0)
            return pg_errors[i].nt;
    for (i = 0; i < n; i++)
        if (strcmp(pg_errors[i].state + 2, "...") == 0 &&
            strncmp(pg_errors[i].state, state, 2) == 0)
            return pg_errors[i].nt;
    return NT_ERR;
}

/* Records code and "what: detail" as the connection's last error; returns code. */
int
pg_fail(nt_db *db, int code, const char *what, const char *detail)
{
    if (db == NULL)
        return code;
    db->errcode = code;
    snprintf(db->errmsg, sizeof(db->errmsg), "%s%s%s", what != NULL ? what : "",
             detail != NULL && what != NULL ? ": " : "", detail != NULL ? detail : "");
    return code;
}

/* 1 when the SQLSTATE says the server session is over (the connection must be opened again). */
static int
pg_state_lost(const char *state)
{
    return state != NULL && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
                             strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0);
}

/* Records the failure of a command whose result is res (NULL when libpq gave none): its
 * SQLSTATE mapped through the table, its primary message (no DETAIL: that may quote
 * values) and the SQLSTATE. A lost server session is NT_EUNAVAIL and drops the connection
 * (pg_lost): the next use opens a new one. Returns the NT_E* code. */
int
pg_fail_res(nt_db *db, const PGresult *res, const char *what)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char detail[PG_ERRLEN];
    size_t len;
    int code = pg_code(state);
    int lost = pg_state_lost(state) || db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK;

    if (msg == NULL)
        msg = db->conn != NULL ? PQerrorMessage(db->conn) : "";
    if (msg == NULL || msg[0] == '\0')
        msg = res == NULL ? "out of memory or connection lost" : "error";
    snprintf(detail, sizeof(detail), "%s", msg);
    len = strlen(detail);
    while (len > 0 && (detail[len - 1] == '\n' || detail[len - 1] == ' '))
        detail[--len] = '\0';
    if (state != NULL && len + 20 < sizeof(detail))
        snprintf(detail + len, sizeof(detail) - len, " (SQLSTATE %s)", state);
    if (lost) {
        code = NT_EUNAVAIL;
        if (strstr(detail, "connection") == NULL && len + 40 < sizeof(detail))
            snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
                     "; connection to the database lost");
    }
    pg_fail(db, code, what, detail);
    if (lost)
        pg_lost(db);
    return code;
}

const char *
pg_errmsg(nt_db *db)
{
    if (db == NULL)
        return "no connection";
    return db->errmsg;
}

int
pg_errcode(nt_db *db)
{
    return db != NULL ? db->errcode : NT_ERR;
}

/* Forgets the last error; also ends the refusal of a transaction an error ended (C6). */
void
pg_clear_error(nt_db *db)
{
    if (db == NULL)
        return;
    db->errcode = NT_OK;
    db->errmsg[0] = '\0';
    db->aborted = NT_OK;
}
