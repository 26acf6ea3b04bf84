/* Reminder generation: the pending reminders of an event, in the plugin's own
 * tables events_reminders (one row per occurrence x reminder) and events_reminder_jobs (per
 * event: the version of its reminders and the follow-up date of a recurring event). The plan
 * is computed before the write transaction (it expands the rule, charged to the request's
 * budget); ev_rem_replace writes it inside the caller's transaction.
 */
#include "ev.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

/* The first window of a recurring event's expansion; it grows fourfold until it holds more
 * than EV_REM_OCCURRENCES future occurrences or reaches the engine's end of time. */
#define EV_REM_FIRST_WINDOW 86400000LL

void
ev_rem_plan_clear(ev_rem_plan *pl)
{
    if (pl == NULL)
        return;
    free(pl->v);
    memset(pl, 0, sizeof(*pl));
}

/* Appends one reminder; 0 or -1 when out of memory. */
static int
ev_rem_push(ev_rem_plan *pl, int64_t at, const char *identifier)
{
    if (pl->n == pl->cap) {
        size_t cap = pl->cap != 0 ? pl->cap * 2 : 16;
        ev_rem *v = realloc(pl->v, cap * sizeof(*v));

        if (v == NULL)
            return -1;
        pl->v = v;
        pl->cap = cap;
    }
    pl->v[pl->n].at = at;
    pl->v[pl->n].identifier = identifier;
    pl->n++;
    return 0;
}

/* The largest reminder delta in ms (0 when none is positive): how far before now an
 * occurrence may start and still have a reminder ahead. */
static int64_t
ev_rem_max_after(const json_t *reminders)
{
    int64_t m = 0;
    size_t i;
    json_t *r;

    json_array_foreach(reminders, i, r)
    {
        int64_t d = json_integer_value(json_object_get(r, "delta")) * 60000;

        if (d > m)
            m = d;
    }
    return m;
}

/* Expands a recurring e from lo on through windows growing fourfold until more than
 * EV_REM_OCCURRENCES occurrences start at or after now (or the end of time is reached).
 * A window that would produce more than [events] max_instances ends the growth with the
 * previous window's list. An engine result (0, -2, EV_EXPAND_*; err set) with *out set. */
static int
ev_rem_occurrences(const ev_plugin *p, ev_budget *budget, const ev_event *e, const ev_tz *tz,
                   int wkst, int64_t lo, int64_t now, ev_ilist *out, char *err, size_t errlen)
{
    ev_series s = ev_event_series(e);
    ev_expand_opts o = {.tz = tz,
                        .wkst = wkst,
                        .windowed = 1,
                        .ws = lo,
                        .max_instances = p->max_instances,
                        .budget = budget};
    int64_t span = EV_REM_FIRST_WINDOW;

    for (;;) {
        ev_ilist l = {0};
        size_t future = 0;
        int rc;

        o.we = now + span > EV_TS_MAX - e->duration ? EV_TS_MAX : now + span + e->duration;
        rc = ev_expand(&s, &o, &l, err, errlen);
        if (rc == -1) {
            /* More than max_instances in this window: keep the previous, smaller one. */
            ev_ilist_free(&l);
            return 0;
        }
        if (rc != 0) {
            ev_ilist_free(&l);
            return rc;
        }
        for (size_t i = 0; i < l.n; i++)
            future += l.v[i].start >= now;
        ev_ilist_free(out);
        *out = l;
        if (future > EV_REM_OCCURRENCES || o.we >= EV_TS_MAX)
            return 0;
        span = span > EV_TS_MAX / 4 ? EV_TS_MAX : span * 4;
    }
}

/* The plan of e at now (see ev_rem_plan_make) charged to budget; tz is needed for a recurring
 * e. An engine result: 0, -1 (err set), -2, EV_EXPAND_ELIMIT, _EBUDGET, _EGONE. */
static int
ev_rem_compute(const ev_plugin *p, ev_budget *budget, const ev_event *e, const ev_tz *tz, int wkst,
               int64_t now, ev_rem_plan *pl, char *err, size_t errlen)
{
    ev_ilist occ = {0};
    size_t future = 0, i, j;
    json_t *r;
    int rc = 0;

    ev_rem_plan_clear(pl);
    if (e->reminders == NULL || json_array_size(e->reminders) == 0)
        return 0;
    if (e->rrule == NULL) {
        ev_series s = ev_event_series(e);
        ev_expand_opts o = {.wkst = wkst, .max_instances = 1, .budget = budget};

        rc = ev_expand(&s, &o, &occ, err, errlen);
    } else {
        int64_t lo = now - ev_rem_max_after(e->reminders);

        rc = ev_rem_occurrences(p, budget, e, tz, wkst, lo < EV_TS_MIN ? EV_TS_MIN : lo, now, &occ,
                                err, errlen);
    }
    for (i = 0; rc == 0 && i < occ.n; i++) {
        int64_t o = occ.v[i].start;

        if (o >= now && future++ == EV_REM_OCCURRENCES) {
            /* More remain: the follow-up job replaces the reminders from the 91st on. */
            pl->has_followup = 1;
            pl->followup_at = occ.v[i - EV_REM_OCCURRENCES + EV_REM_FOLLOWUP_AT].start;
            break;
        }
        json_array_foreach(e->reminders, j, r)
        {
            int64_t at = o + json_integer_value(json_object_get(r, "delta")) * 60000;

            if (at > now + EV_REM_MIN_AHEAD_MS &&
                ev_rem_push(pl, at, json_string_value(json_object_get(r, "identifier"))) != 0) {
                rc = -2;
                break;
            }
        }
    }
    ev_ilist_free(&occ);
    if (rc != 0)
        ev_rem_plan_clear(pl);
    return rc;
}

int
ev_rem_plan_make(const ev_plugin *p, nt_req *req, const ev_event *e, const ev_cal *cal,
                 ev_rem_plan *pl)
{
    const ev_tz *tz = NULL;
    char err[256] = "";
    ev_work w;

    ev_rem_plan_clear(pl);
    if (e->rrule != NULL && e->reminders != NULL && json_array_size(e->reminders) > 0 &&
        (tz = ev_tz_get(cal->timezone)) == NULL)
        return p->api->fail(req, NT_ERR, "the calendar's time zone '%s' cannot be loaded",
                            cal->timezone);
    ev_work_init(&w, p, req, 0);
    return ev_work_map(p, req,
                       ev_rem_compute(p, &w.budget, e, tz, cal->week_start, p->api->now_ms(), pl,
                                      err, sizeof(err)),
                       err);
}

int
ev_rem_plan_bg(const ev_plugin *p, const ev_event *e, const ev_cal *cal, int64_t now,
               ev_rem_plan *pl)
{
    const ev_tz *tz = NULL;
    ev_budget b;
    char err[256] = "";
    int rc;

    ev_rem_plan_clear(pl);
    if (e->rrule != NULL && (tz = ev_tz_get(cal->timezone)) == NULL)
        return NT_ERR;
    ev_budget_init(&b, 0, p->rule_cpu_us, NULL, NULL);
    rc = ev_rem_compute(p, &b, e, tz, cal->week_start, now, pl, err, sizeof(err));
    return rc == 0 ? NT_OK : rc == -2 ? NT_ENOMEM : NT_ERR;
}

/* Inserts the reminders of `pl` with `version`, and the event's job row: plain INSERT when
 * `fresh` (an event created in this transaction has none), an upsert otherwise. */
static int
ev_rem_write(const nt_host_api *api, nt_db *db, const ev_event *e, const ev_rem_plan *pl,
             int64_t version, int fresh)
{
    static const char upsert[] = " ON CONFLICT (event_id) DO UPDATE SET version = "
                                 "excluded.version, next_at = excluded.next_at";
    char sql[256];
    int rc = NT_OK;

    for (size_t i = 0; rc == NT_OK && i < pl->n; i++)
        rc = ntc_exec(api, db,
                      "INSERT INTO events_reminders (event_id, account_id, remind_at, identifier, "
                      "version) VALUES ($1, $2, $3, $4, $5)",
                      "ttiti", e->id, e->account_id, pl->v[i].at, pl->v[i].identifier, version);
    if (rc != NT_OK)
        return rc;
    snprintf(sql, sizeof(sql),
             "INSERT INTO events_reminder_jobs (event_id, account_id, version, next_at) "
             "VALUES ($1, $2, $3, %s)%s",
             pl->has_followup ? "$4" : "NULL", fresh ? "" : upsert);
    if (pl->has_followup)
        return ntc_exec(api, db, sql, "ttii", e->id, e->account_id, version, pl->followup_at);
    return ntc_exec(api, db, sql, "tti", e->id, e->account_id, version);
}

int
ev_rem_insert_new(const nt_host_api *api, nt_db *db, const ev_event *e, const ev_rem_plan *pl)
{
    /* Nothing to remind and nothing to follow up: no job row. A missing row reads as
     * version 0 (ev_rem_replace), and no follow-up can be racing for an event that has
     * none, so the row is first written by the event's first change. This saves most new
     * events three b-tree writes (the table, its key and next_at). */
    if (pl->n == 0 && !pl->has_followup)
        return NT_OK;
    return ev_rem_write(api, db, e, pl, 1, 1);
}

int
ev_rem_replace(const nt_host_api *api, nt_db *db, const ev_event *e, const ev_rem_plan *pl,
               int64_t expect_version)
{
    nt_stmt *st = NULL;
    int64_t version = 0;
    int rc;

    rc = ntc_prepare(api, db, &st, "SELECT version FROM events_reminder_jobs WHERE event_id = $1",
                     "t", e->id);
    if (rc == NT_OK) {
        rc = ntc_row(api, st);
        if (rc == NT_OK)
            version = api->db_col_int64(st, 0);
        else if (rc == NT_ENOTFOUND)
            rc = NT_OK;
    }
    api->db_finalize(st);
    if (rc != NT_OK)
        return rc;
    if (expect_version >= 0 && version != expect_version)
        return EV_CHANGED; /* replaced since the caller read it: never resurrect older ones */
    rc = ntc_exec(api, db, "DELETE FROM events_reminders WHERE event_id = $1", "t", e->id);
    if (rc == NT_OK)
        rc = ev_rem_write(api, db, e, pl, version + 1, 0);
    return rc;
}
