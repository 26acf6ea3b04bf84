/* Free/busy: GET /user/{userId}/freebusy (API.md A11.7) and the row expansion shared with the
 * multi-user form (freebusy_multi.c). Only busy events count; their instances are merged
 * (B2).
 */
#include "ev.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char ev_sql_fb[] =
    "SELECT c.id, c.timezone, c.week_start, " EV_FB_COLS " FROM calendar_calendars c "
    "JOIN events_events e ON e.calendar_id = c.id "
    "WHERE c.user_id = $1 AND c.account_id = $2 AND e.busy = 1 AND e.start_ts <= $3 AND "
    "e.end_ts >= $4";

int
ev_fb_init(ev_fb *fb, const ev_plugin *p, nt_req *req, int64_t ws, int64_t we)
{
    memset(fb, 0, sizeof(*fb));
    fb->p = p;
    fb->req = req;
    ev_work_init(&fb->work, p, req, 0);
    fb->ws = ws;
    fb->we = we;
    fb->rrule = malloc(sizeof(*fb->rrule));
    return fb->rrule != NULL ? NT_OK : NT_ENOMEM;
}

void
ev_fb_clear(ev_fb *fb)
{
    if (fb == NULL)
        return;
    free(fb->rrule);
    memset(fb, 0, sizeof(*fb));
}

/* The zone named `name`, remembered from the previous row when it is the same. */
static int
ev_fb_zone(ev_fb *fb, const char *name)
{
    const nt_host_api *api = fb->p->api;

    if (fb->tz != NULL && strcmp(fb->tz_name, name) == 0)
        return NT_OK;
    fb->tz = ev_tz_get(name);
    if (fb->tz == NULL || strlen(name) >= sizeof(fb->tz_name)) {
        fb->tz = NULL;
        api->log(fb->p->self, NT_LOG_ERROR, "cannot load time zone '%s'", name);
        return api->fail(fb->req, NT_ERR, "the calendar's time zone '%s' cannot be loaded", name);
    }
    memcpy(fb->tz_name, name, strlen(name) + 1);
    return NT_OK;
}

int
ev_fb_row(ev_fb *fb, nt_stmt *st, int c, const char *timezone, int week_start, ev_ilist *out)
{
    const nt_host_api *api = fb->p->api;
    const char *rec = api->db_col_text(st, c + 2);
    ev_series s = {
        .start_ts = api->db_col_int64(st, c), .duration = api->db_col_int64(st, c + 1), .busy = 1};
    ev_expand_opts o = {.wkst = week_start,
                        .windowed = 1,
                        .ws = fb->ws,
                        .we = fb->we,
                        .max_instances = fb->p->max_instances,
                        .budget = &fb->work.budget};
    int64_t *exdates = NULL;
    json_t *rj = NULL;
    char err[256] = "";
    int rc = NT_ERR;

    if (ev_exdates_parse(api->db_col_text(st, c + 3), &exdates, &s.n_exdates) != 0)
        goto out;
    s.exdates = exdates;
    if (rec != NULL) {
        rj = json_loads(rec, 0, NULL);
        if (rj == NULL || ev_rrule_parse(rj, s.start_ts, fb->rrule, err, sizeof(err)) != 0)
            goto out;
        s.rrule = fb->rrule;
        rc = ev_fb_zone(fb, timezone);
        if (rc != NT_OK)
            goto out;
        o.tz = fb->tz;
    }
    rc = ev_work_map(fb->p, fb->req, ev_expand(&s, &o, out, err, sizeof(err)), err);
out:
    json_decref(rj);
    free(exdates);
    return rc;
}

/* Splits the comma-separated calendarIds into lower-case UUIDs (others are dropped, A11.7).
 * The array and strings live in request memory. NT_OK or NT_ENOMEM. */
static int
ev_fb_ids(const nt_host_api *api, nt_req *req, const char *q, char ***ids, size_t *n)
{
    size_t max = 1;

    *ids = NULL;
    *n = 0;
    if (q == NULL)
        return NT_OK;
    for (const char *c = q; *c != '\0'; c++)
        max += *c == ',';
    *ids = api->req_alloc(req, max * sizeof(**ids));
    if (*ids == NULL)
        return NT_ENOMEM;
    while (*q != '\0') {
        size_t len = strcspn(q, ",");
        if (len == NT_UUID_LEN) {
            char *id = api->req_alloc(req, NT_UUID_BUF);
            if (id == NULL)
                return NT_ENOMEM;
            for (size_t i = 0; i < len; i++)
                id[i] = (char)tolower((unsigned char)q[i]);
            id[len] = '\0';
            if (api->uuid_valid(id))
                (*ids)[(*n)++] = id;
        }
        q += len;
        if (*q == ',')
            q++;
    }
    return NT_OK;
}

static int
ev_fb_has(char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

/* Collects the busy instances of the user's calendars named in ids. */
static int
ev_fb_collect(ev_fb *fb, const char *user, char *const *ids, size_t n, ev_ilist *busy)
{
    const nt_host_api *api = fb->p->api;
    nt_stmt *st = api->db_prepare(api->req_db(fb->req), ev_sql_fb);
    int rc;

    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, user);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, api->req_account(fb->req));
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 3, fb->we);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 4, fb->ws);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        const char *cal = api->db_col_text(st, 0), *tz = api->db_col_text(st, 1);
        int64_t wkst = api->db_col_int64(st, 2);
        rc = NT_OK;
        if (cal == NULL || tz == NULL || wkst < 0 || wkst > 6)
            rc = NT_ERR;
        else if (ev_fb_has(ids, n, cal))
            rc = ev_fb_row(fb, st, 3, tz, (int)wkst, busy);
    }
    api->db_finalize(st);
    return rc;
}

int
ev_freebusy(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *user = api->req_param(req, "userId");
    ev_ilist busy = {0};
    ev_fb fb = {0};
    char **ids = NULL;
    size_t n = 0;
    int64_t ws, we;
    int rc;

    rc = ev_query_ts(api, req, "startTs", &ws);
    if (rc == NT_OK)
        rc = ev_query_ts(api, req, "endTs", &we);
    if (rc == NT_OK)
        rc = ev_check_span(api, req, ws, we);
    if (rc == NT_OK)
        rc = ev_fb_ids(api, req, api->req_query(req, "calendarIds"), &ids, &n);
    if (rc != NT_OK)
        goto out;
    rc = ev_user_in_account(api, api->req_db(req), api->req_account(req), user);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "userId: no user '%s' in this account", user);
    if (rc == NT_OK)
        rc = ev_fb_init(&fb, p, req, ws, we);
    /* No valid calendar id, or an empty window: nothing is busy (A11.7). */
    if (rc == NT_OK && n > 0 && we >= ws)
        rc = ev_fb_collect(&fb, user, ids, n, &busy);
    if (rc == NT_OK && ev_ilist_merge(&busy) != 0)
        rc = NT_ENOMEM;
    if (rc != NT_OK)
        goto out;
    *out = json_pack("{s:o,s:s}", "busy", ev_ilist_json(&busy), "userId", user);
    rc = *out != NULL ? 200 : NT_ENOMEM;
out:
    ev_fb_clear(&fb);
    ev_ilist_free(&busy);
    return rc;
}
