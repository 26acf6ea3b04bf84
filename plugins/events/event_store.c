/* Storage of events (events_events, events_metadata) and the reads of other plugins' tables
 * the events need: calendar settings (calendar_calendars) and user membership (user_users).
 */
#include "ev.h"
#include "ntc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ev_sql_insert[] =
    "INSERT INTO events_events (id, calendar_id, user_id, account_id, start_ts, duration, "
    "end_ts, busy, created, updated, recurrence, exdates, reminders, service_id, metadata) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
static const char ev_sql_update[] =
    "UPDATE events_events SET start_ts = $2, duration = $3, end_ts = $4, busy = $5, "
    "updated = $6, recurrence = $7, exdates = $8, reminders = $9, service_id = $10, "
    "metadata = $11 WHERE id = $1";

/* Copies column col into a fixed buffer; -1 when NULL or too long. */
static int
ev_col_copy(const nt_host_api *api, nt_stmt *st, int col, char *dst, size_t cap)
{
    const char *v = api->db_col_text(st, col);

    if (v == NULL || strlen(v) >= cap)
        return -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int
ev_row_read(const nt_host_api *api, nt_stmt *st, int c, ev_event *e)
{
    const char *rec, *rem;
    json_t *rj = NULL;
    char err[256];
    int rc = NT_ERR;

    ev_event_clear(e);
    if (ev_col_copy(api, st, c + 0, e->id, sizeof(e->id)) != 0 ||
        ev_col_copy(api, st, c + 1, e->calendar_id, sizeof(e->calendar_id)) != 0 ||
        ev_col_copy(api, st, c + 2, e->user_id, sizeof(e->user_id)) != 0 ||
        ev_col_copy(api, st, c + 3, e->account_id, sizeof(e->account_id)) != 0)
        goto out;
    e->start_ts = api->db_col_int64(st, c + 4);
    e->duration = api->db_col_int64(st, c + 5);
    e->end_ts = api->db_col_int64(st, c + 6);
    e->busy = api->db_col_int64(st, c + 7) != 0;
    e->created = api->db_col_int64(st, c + 8);
    e->updated = api->db_col_int64(st, c + 9);
    rec = api->db_col_text(st, c + 10);
    if (rec != NULL) {
        rj = json_loads(rec, 0, NULL);
        e->rrule = malloc(sizeof(*e->rrule));
        if (e->rrule == NULL) {
            rc = NT_ENOMEM;
            goto out;
        }
        if (rj == NULL || ev_rrule_parse(rj, e->start_ts, e->rrule, err, sizeof(err)) != 0)
            goto out;
    }
    if (ev_exdates_parse(api->db_col_text(st, c + 11), &e->exdates, &e->n_exdates) != 0)
        goto out;
    rem = api->db_col_text(st, c + 12);
    e->reminders = rem != NULL ? json_loads(rem, 0, NULL) : json_array();
    if (!json_is_array(e->reminders))
        goto out;
    if (!api->db_col_is_null(st, c + 13)) {
        if (ev_col_copy(api, st, c + 13, e->service_id, sizeof(e->service_id)) != 0)
            goto out;
        e->has_service = 1;
    }
    e->metadata = ntc_meta_parse(api->db_col_text(st, c + 14));
    if (e->metadata == NULL) {
        rc = NT_ENOMEM;
        goto out;
    }
    rc = NT_OK;
out:
    json_decref(rj);
    if (rc != NT_OK)
        ev_event_clear(e);
    return rc;
}

int
ev_store_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
              const char *user_id, ev_event *e)
{
    nt_stmt *st = api->db_prepare(
        db, user_id != NULL ? "SELECT " EV_COLS " FROM events_events e WHERE e.id = $1 AND "
                              "e.account_id = $2 AND e.user_id = $3"
                            : "SELECT " EV_COLS " FROM events_events e WHERE e.id = $1 AND "
                              "e.account_id = $2");
    int rc;

    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, account_id);
    if (rc == NT_OK && user_id != NULL)
        rc = api->db_bind_text(st, 3, user_id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc == 1)
        rc = ev_row_read(api, st, 0, e);
    else if (rc == 0)
        rc = NT_ENOTFOUND;
    api->db_finalize(st);
    return rc;
}

/* The texts stored for an event's documents; every member malloc'd. */
typedef struct ev_texts {
    char *rec, *exdates, *reminders, *metadata;
} ev_texts;

static void
ev_texts_free(ev_texts *t)
{
    free(t->rec);
    free(t->exdates);
    free(t->reminders);
    free(t->metadata);
}

static int
ev_texts_make(const ev_event *e, ev_texts *t)
{
    json_t *rec = e->rrule != NULL ? ev_rrule_json(e->rrule) : NULL;

    memset(t, 0, sizeof(*t));
    if (e->rrule != NULL) {
        t->rec = rec != NULL ? json_dumps(rec, JSON_COMPACT) : NULL;
        json_decref(rec);
        if (t->rec == NULL)
            return NT_ENOMEM;
    }
    t->exdates = ev_exdates_dump(e->exdates, e->n_exdates);
    t->reminders = e->reminders != NULL ? json_dumps(e->reminders, JSON_COMPACT) : strdup("[]");
    t->metadata = ntc_meta_dump(e->metadata);
    if (t->exdates == NULL || t->reminders == NULL || t->metadata == NULL)
        return NT_ENOMEM;
    return NT_OK;
}

int
ev_store_insert(const nt_host_api *api, nt_db *db, const ev_event *e)
{
    nt_stmt *st = NULL;
    ev_texts t;
    int rc = ev_texts_make(e, &t);

    if (rc != NT_OK)
        goto out;
    st = api->db_prepare(db, ev_sql_insert);
    if (st == NULL) {
        rc = NT_ERR;
        goto out;
    }
    rc = api->db_bind_text(st, 1, e->id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, e->calendar_id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 3, e->user_id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 4, e->account_id);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 5, e->start_ts);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 6, e->duration);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 7, e->end_ts);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 8, e->busy);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 9, e->created);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 10, e->updated);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 11, t.rec);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 12, t.exdates);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 13, t.reminders);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 14, e->has_service ? e->service_id : NULL);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 15, t.metadata);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc > 0)
        rc = NT_OK;
out:
    api->db_finalize(st);
    ev_texts_free(&t);
    return rc;
}

int
ev_store_update(const nt_host_api *api, nt_db *db, const ev_event *e)
{
    nt_stmt *st = NULL;
    ev_texts t;
    int rc = ev_texts_make(e, &t);

    if (rc != NT_OK)
        goto out;
    st = api->db_prepare(db, ev_sql_update);
    if (st == NULL) {
        rc = NT_ERR;
        goto out;
    }
    rc = api->db_bind_text(st, 1, e->id);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 2, e->start_ts);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 3, e->duration);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 4, e->end_ts);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 5, e->busy);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 6, e->updated);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 7, t.rec);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 8, t.exdates);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 9, t.reminders);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 10, e->has_service ? e->service_id : NULL);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 11, t.metadata);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc > 0)
        rc = NT_OK;
out:
    api->db_finalize(st);
    ev_texts_free(&t);
    return rc;
}

int
ev_store_delete(const nt_host_api *api, nt_db *db, const char *id)
{
    nt_stmt *st = api->db_prepare(db, "DELETE FROM events_events WHERE id = $1");
    int rc;

    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc > 0)
        rc = NT_OK;
    api->db_finalize(st);
    return rc;
}

void
ev_cal_clear(ev_cal *c)
{
    if (c == NULL)
        return;
    json_decref(c->metadata);
    memset(c, 0, sizeof(*c));
}

int
ev_cal_load(const nt_host_api *api, nt_db *db, const char *id, const char *account_id,
            const char *user_id, ev_cal *c)
{
    nt_stmt *st = api->db_prepare(
        db, user_id != NULL ? "SELECT id, user_id, timezone, week_start, metadata FROM "
                              "calendar_calendars WHERE id = $1 AND account_id = $2 AND "
                              "user_id = $3"
                            : "SELECT id, user_id, timezone, week_start, metadata FROM "
                              "calendar_calendars WHERE id = $1 AND account_id = $2");
    int64_t ws;
    int rc;

    ev_cal_clear(c);
    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, account_id);
    if (rc == NT_OK && user_id != NULL)
        rc = api->db_bind_text(st, 3, user_id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc == 0) {
        rc = NT_ENOTFOUND;
    } else if (rc == 1) {
        ws = api->db_col_int64(st, 3);
        rc = NT_ERR;
        if (ev_col_copy(api, st, 0, c->id, sizeof(c->id)) == 0 &&
            ev_col_copy(api, st, 1, c->user_id, sizeof(c->user_id)) == 0 &&
            ev_col_copy(api, st, 2, c->timezone, sizeof(c->timezone)) == 0 && ws >= 0 && ws <= 6) {
            c->week_start = (int)ws;
            c->metadata = ntc_meta_parse(api->db_col_text(st, 4));
            rc = c->metadata != NULL ? NT_OK : NT_ENOMEM;
        }
    }
    api->db_finalize(st);
    return rc;
}

int
ev_user_in_account(const nt_host_api *api, nt_db *db, const char *account_id, const char *user_id)
{
    nt_stmt *st =
        api->db_prepare(db, "SELECT id FROM user_users WHERE id = $1 AND account_id = $2");
    int rc;

    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, user_id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, account_id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    api->db_finalize(st);
    if (rc == 1)
        return NT_OK;
    return rc == 0 ? NT_ENOTFOUND : rc;
}
