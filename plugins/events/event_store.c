/* Storage of events: the plugin's own tables events_events and events_metadata. Calendars
 * and users are read through their services (event_peers.c).
 */
#include "ev.h"
#include "ntc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ev_sql_insert[] =
    "INSERT INTO events_events (id, calendar_id, user_id, account_id, start_ts, duration, "
    "end_ts, busy, created, updated, recurrence, exdates, reminders, service_id, metadata, "
    "span_class) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
static const char ev_sql_update[] =
    "UPDATE events_events SET start_ts = $2, duration = $3, end_ts = $4, busy = $5, "
    "updated = $6, recurrence = $7, exdates = $8, reminders = $9, service_id = $10, "
    "metadata = $11, span_class = $12 WHERE id = $1";

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
    nt_stmt *st = NULL;
    int rc;

    if (user_id != NULL)
        rc = ntc_prepare(api, db, &st,
                         "SELECT " EV_COLS " FROM events_events e WHERE e.id = $1 AND "
                         "e.account_id = $2 AND e.user_id = $3",
                         "ttt", id, account_id, user_id);
    else
        rc = ntc_prepare(api, db, &st,
                         "SELECT " EV_COLS " FROM events_events e WHERE e.id = $1 AND "
                         "e.account_id = $2",
                         "tt", id, account_id);
    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK)
        rc = ev_row_read(api, st, 0, e);
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
        t->rec = rec != NULL ? ntc_json_dump(rec, 0) : NULL;
        json_decref(rec);
        if (t->rec == NULL)
            return NT_ENOMEM;
    }
    t->exdates = ev_exdates_dump(e->exdates, e->n_exdates);
    t->reminders = e->reminders != NULL ? ntc_json_dump(e->reminders, 0) : strdup("[]");
    t->metadata = ntc_meta_dump(e->metadata);
    if (t->exdates == NULL || t->reminders == NULL || t->metadata == NULL)
        return NT_ENOMEM;
    return NT_OK;
}

int
ev_span_class(int64_t start_ts, int64_t end_ts)
{
    static const int64_t bounds[] = {EV_SPAN_B0, EV_SPAN_B1, EV_SPAN_B2, EV_SPAN_B3, EV_SPAN_B4};
    int64_t span = end_ts - start_ts;
    int k = 0;

    while (k < 5 && span > bounds[k])
        k++;
    return k;
}

int
ev_store_insert(const nt_host_api *api, nt_db *db, const ev_event *e)
{
    ev_texts t;
    int rc = ev_texts_make(e, &t);

    if (rc == NT_OK)
        rc = ntc_exec(api, db, ev_sql_insert, "ttttiiidiittttti", e->id, e->calendar_id, e->user_id,
                      e->account_id, e->start_ts, e->duration, e->end_ts, e->busy, e->created,
                      e->updated, t.rec, t.exdates, t.reminders,
                      e->has_service ? e->service_id : NULL, t.metadata,
                      (int64_t)ev_span_class(e->start_ts, e->end_ts));
    ev_texts_free(&t);
    return rc;
}

int
ev_store_update(const nt_host_api *api, nt_db *db, const ev_event *e)
{
    ev_texts t;
    int rc = ev_texts_make(e, &t);

    if (rc == NT_OK)
        rc = ntc_exec(api, db, ev_sql_update, "tiiidittttti", e->id, e->start_ts, e->duration,
                      e->end_ts, e->busy, e->updated, t.rec, t.exdates, t.reminders,
                      e->has_service ? e->service_id : NULL, t.metadata,
                      (int64_t)ev_span_class(e->start_ts, e->end_ts));
    ev_texts_free(&t);
    return rc;
}

int
ev_store_delete(const nt_host_api *api, nt_db *db, const char *id)
{
    return ntc_exec(api, db, "DELETE FROM events_events WHERE id = $1", "t", id);
}
