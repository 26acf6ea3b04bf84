/* Calendars and users through the memo of a group commit (ABI 1.6 memo_get / memo_put): the
 * event writes and bookings of one group that name the same calendar or user read it once.
 * Exact: no route that runs in a group commit writes calendars or users (the calendar and
 * user plugins have no such routes), and the group holds the store's write lock until it
 * ends, when the host frees what the memo kept. Only what was found is kept; a request
 * outside a group, or on a host before ABI 1.6, reads through every time.
 */
#include "ev.h"
#include "ntc.h"

#include <stdlib.h>
#include <string.h>

/* Kept for a user found in an account: any non-NULL value says so. */
static char ev_memo_user_found;

/* The key "events/<kind>/<a>/<b>/<c>" (b, c may be NULL: "-"); 0 when a is NULL or an id is
 * too long. */
static int
ev_memo_key(char *key, size_t cap, const char *kind, const char *a, const char *b, const char *c)
{
    const char *const parts[] = {"events", kind, a, b, c};

    return a != NULL && ntc_key(key, cap, 5, parts);
}

int
ev_cal_load_memo(const ev_plugin *p, nt_req *req, nt_db *db, const char *id, const char *account_id,
                 const char *user_id, ev_cal *c)
{
    const nt_host_api *api = p->api;
    char key[3 * NT_UUID_BUF + 32];
    const ev_cal *kept;
    ev_cal *copy;
    int rc;

    if (!ntc_memo_on(api, req) || id == NULL ||
        !ev_memo_key(key, sizeof(key), "cal", account_id, user_id, id))
        return ev_cal_load(p, db, id, account_id, user_id, c);
    if ((kept = api->memo_get(req, key)) != NULL) {
        *c = *kept;
        return NT_OK;
    }
    rc = ev_cal_load(p, db, id, account_id, user_id, c);
    if (rc == NT_OK && (copy = malloc(sizeof(*copy))) != NULL) {
        *copy = *c;
        if (api->memo_put(req, key, copy, free) != NT_OK)
            free(copy);
    }
    return rc;
}

int
ev_user_in_account_memo(const ev_plugin *p, nt_req *req, nt_db *db, const char *account_id,
                        const char *user_id)
{
    const nt_host_api *api = p->api;
    char key[3 * NT_UUID_BUF + 32];
    int rc;

    if (!ntc_memo_on(api, req) || user_id == NULL ||
        !ev_memo_key(key, sizeof(key), "user", account_id, user_id, NULL))
        return ev_user_in_account(p, db, account_id, user_id);
    if (api->memo_get(req, key) != NULL)
        return NT_OK;
    rc = ev_user_in_account(p, db, account_id, user_id);
    if (rc == NT_OK)
        api->memo_put(req, key, &ev_memo_user_found, NULL);
    return rc;
}

int
ev_user_cals_memo(const ev_plugin *p, nt_req *req, nt_db *db, const char *account_id,
                  const char *user_id, ev_cal **out, size_t *n_out)
{
    const nt_host_api *api = p->api;
    char key[3 * NT_UUID_BUF + 32];
    int memo = ntc_memo_on(api, req) && user_id != NULL &&
               ev_memo_key(key, sizeof(key), "ucals", account_id, user_id, NULL),
        rc;

    *out = NULL;
    *n_out = 0;
    if (memo && (rc = ntc_memo_get_array(api, req, key, sizeof(**out), (void **)out, n_out)) != 0)
        return rc > 0 ? NT_OK : NT_ENOMEM;
    rc = p->calendars->list_by_users(p->calendars_state, db, account_id, &user_id, 1, out, n_out);
    if (rc == NT_OK && memo)
        ntc_memo_keep_array(api, req, key, *out, *n_out, sizeof(**out));
    return rc;
}

/* ---- the round-robin statistic: a host's newest event of a service -------------------------
 * Unlike calendars and users, events are written by the group's own requests, so what the
 * memo keeps of them is kept exact by those writes: a new event of a service raises the
 * kept newest time of its (account, service, user) to its own creation time (the only way a
 * new row changes a maximum), and every update or deletion of an event in the group
 * invalidates all kept values at once (a generation number they carry; cheaper than finding
 * which ones it touched). A request that fails or runs again leaves nothing behind: the host
 * empties the memo then (ABI 1.6). */

/* The generation every kept statistic must carry to be valid ("events/rrgen"). */
typedef struct ev_memo_gen {
    int64_t gen;
} ev_memo_gen;

/* A kept statistic ("events/rrlast/<account>/<service>/<user>"). */
typedef struct ev_memo_last {
    int64_t gen;
    int64_t last; /* INT64_MIN: the host has no event of the service */
} ev_memo_last;

#define EV_MEMO_GEN_KEY "events/rrgen"

/* The kept statistic of the triple when it is valid, else NULL. */
static ev_memo_last *
ev_memo_last_find(const ev_plugin *p, nt_req *req, const char *account, const char *service,
                  const char *user, char *key, size_t cap)
{
    const nt_host_api *api = p->api;
    const ev_memo_gen *g;
    ev_memo_last *l;

    if (!ntc_memo_on(api, req) || service == NULL || user == NULL ||
        !ev_memo_key(key, cap, "rrlast", account, service, user))
        return NULL;
    g = api->memo_get(req, EV_MEMO_GEN_KEY);
    l = g != NULL ? api->memo_get(req, key) : NULL;
    return l != NULL && l->gen == g->gen ? l : NULL;
}

int
ev_memo_last_get(const ev_plugin *p, nt_req *req, const char *account, const char *service,
                 const char *user, int64_t *last)
{
    char key[3 * NT_UUID_BUF + 32];
    const ev_memo_last *l = ev_memo_last_find(p, req, account, service, user, key, sizeof(key));

    if (l == NULL)
        return 0;
    *last = l->last;
    return 1;
}

void
ev_memo_last_keep(const ev_plugin *p, nt_req *req, const char *account, const char *service,
                  const char *user, int64_t last)
{
    const nt_host_api *api = p->api;
    char key[3 * NT_UUID_BUF + 32];
    ev_memo_gen *g;
    ev_memo_last *l;

    if (!ntc_memo_on(api, req) || service == NULL || user == NULL ||
        !ev_memo_key(key, sizeof(key), "rrlast", account, service, user))
        return;
    /* the generation first: a statistic is never kept without it */
    if ((g = api->memo_get(req, EV_MEMO_GEN_KEY)) == NULL) {
        if ((g = calloc(1, sizeof(*g))) == NULL)
            return;
        if (api->memo_put(req, EV_MEMO_GEN_KEY, g, free) != NT_OK) {
            free(g);
            return;
        }
    }
    if ((l = api->memo_get(req, key)) != NULL) { /* one of an older generation */
        l->gen = g->gen;
        l->last = last;
        return;
    }
    if ((l = malloc(sizeof(*l))) == NULL)
        return;
    l->gen = g->gen;
    l->last = last;
    if (api->memo_put(req, key, l, free) != NT_OK)
        free(l);
}

void
ev_memo_last_created(const ev_plugin *p, nt_req *req, const char *account, const char *service,
                     const char *user, int64_t created)
{
    char key[3 * NT_UUID_BUF + 32];
    ev_memo_last *l = ev_memo_last_find(p, req, account, service, user, key, sizeof(key));

    if (l != NULL && created > l->last)
        l->last = created;
}

void
ev_memo_events_changed(const ev_plugin *p, nt_req *req)
{
    const nt_host_api *api = p->api;
    ev_memo_gen *g;

    if (ntc_memo_on(api, req) && (g = api->memo_get(req, EV_MEMO_GEN_KEY)) != NULL)
        g->gen++;
}
