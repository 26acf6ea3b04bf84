/* Free/busy: GET /user/{userId}/freebusy and the row expansion shared with the
 * multi-user form (freebusy_multi.c) and the calendar sets (event_set.c). Only busy events
 * count; their instances are merged.
 */
#include "ev.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    ev_series s = {.start_ts = api->db_col_int64(st, c),
                   .duration = api->db_col_int64(st, c + 1),
                   .busy = api->db_col_int64(st, c + 4) != 0};
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

/* Splits the comma-separated calendarIds into lower-case UUIDs (others dropped, as the original).
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

/* Answers {"busy": [...], "userId": user} (the bytes json_dumpb would write of it), written
 * directly: a month of a busy user is hundreds of instances, and building and dumping a
 * jansson tree of them was over half of the request's CPU. 200, or an error code. */
static int
ev_fb_reply(const nt_host_api *api, nt_req *req, const ev_ilist *busy, const char *user)
{
    json_t *uid = json_string(user);
    char *tail = NULL, *text = NULL, *quoted;
    size_t len = 0;
    int rc = NT_ENOMEM;

    quoted = uid != NULL ? json_dumps(uid, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (quoted != NULL && (tail = malloc(strlen(quoted) + 12)) != NULL) {
        sprintf(tail, ",\"userId\":%s}", quoted);
        text = ev_ilist_json_text(busy, "{\"busy\":", tail, &len);
    }
    if (text != NULL) {
        rc = api->req_reply_text(req, "application/json", text, len);
        if (rc == NT_OK)
            rc = 200;
    }
    free(text);
    free(tail);
    free(quoted);
    json_decref(uid);
    return rc;
}

int
ev_freebusy(nt_req *req, void *state, json_t **out)
{
    const ev_plugin *p = state;
    const nt_host_api *api = p->api;
    const char *user = api->req_param(req, "userId");
    ev_ilist busy = {0};
    char **ids = NULL;
    size_t n = 0;
    int64_t ws, we;
    int rc;

    rc = ev_query_window(api, req, 1, &ws, &we);
    if (rc == NT_OK)
        rc = ev_fb_ids(api, req, api->req_query(req, "calendarIds"), &ids, &n);
    if (rc != NT_OK)
        goto out;
    rc = ev_user_in_account(p, api->req_db(req), api->req_account(req), user);
    if (rc == NT_ENOTFOUND)
        rc = api->fail(req, rc, "userId: no user '%s' in this account", user);
    /* No valid calendar id, or an empty window: nothing is busy. Only the user's
     * own calendars count. */
    if (rc == NT_OK)
        rc = ev_set_freebusy(p, req, api->req_account(req), user, (const char *const *)ids, n, ws,
                             we, &busy, NULL);
    if (rc != NT_OK)
        goto out;
    if (NT_HAS_MEMBER(api, nt_host_api, req_reply_text) && api->req_reply_text != NULL) {
        rc = ev_fb_reply(api, req, &busy, user);
    } else { /* a host of ABI 1.0 */
        *out = json_pack("{s:o,s:s}", "busy", ev_ilist_json(&busy), "userId", user);
        rc = *out != NULL ? 200 : NT_ENOMEM;
    }
out:
    ev_ilist_free(&busy);
    return rc;
}
