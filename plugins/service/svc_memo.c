/* Services kept in the memo of a group commit (ABI 1.6 memo_get / memo_put): the bookings
 * and holds of one group that name the same service load it once. Exact: no route that runs
 * in a group commit writes a service, its members or their busy calendars (those routes are
 * not NT_ROUTE_GROUP_COMMIT), and the group holds the store's write lock until it ends, when
 * the host frees what the memo kept.
 */
#include "ntc.h"
#include "svc.h"

#include <stdlib.h>
#include <string.h>

/* The memo's copy (a malloc'd svc_service) is freed with it. */
static void
svc_memo_free(void *v)
{
    svc_clear(v);
    free(v);
}

int
svc_copy(const svc_service *from, svc_service *to)
{
    memset(to, 0, sizeof(*to));
    memcpy(to->id, from->id, sizeof(to->id));
    memcpy(to->account_id, from->account_id, sizeof(to->account_id));
    to->multi = from->multi;
    to->metadata = from->metadata != NULL ? json_deep_copy(from->metadata) : NULL;
    to->members = from->n > 0 ? calloc(from->n, sizeof(*to->members)) : NULL;
    if ((from->metadata != NULL && to->metadata == NULL) || (from->n > 0 && to->members == NULL)) {
        svc_clear(to);
        return NT_ENOMEM;
    }
    to->n = from->n;
    for (size_t i = 0; i < from->n; i++) {
        const svc_member *m = &from->members[i];
        to->members[i] = *m;
        to->members[i].busy = NULL;
        if (m->n_busy == 0)
            continue;
        to->members[i].busy = malloc(m->n_busy * sizeof(*m->busy));
        if (to->members[i].busy == NULL) {
            to->members[i].n_busy = 0;
            svc_clear(to);
            return NT_ENOMEM;
        }
        memcpy(to->members[i].busy, m->busy, m->n_busy * sizeof(*m->busy));
    }
    return NT_OK;
}

/* Keeps a copy of s in the request's memo under key; nothing when there is no group. */
static void
svc_memo_keep(const nt_host_api *api, nt_req *req, const char *key, const svc_service *s)
{
    svc_service *copy = malloc(sizeof(*copy));

    if (copy == NULL)
        return;
    if (svc_copy(s, copy) != NT_OK) {
        free(copy);
        return;
    }
    if (api->memo_put(req, key, copy, svc_memo_free) != NT_OK)
        svc_memo_free(copy);
}

int
svc_load_path_memo(const nt_host_api *api, nt_req *req, svc_service *s)
{
    const char *id = api->req_param(req, "serviceId"), *account = api->req_account(req);
    const svc_service *kept;
    char key[2 * NT_UUID_BUF + 16];
    int rc;

    if (!ntc_memo_on(api, req) || id == NULL || account == NULL || strlen(id) > NT_UUID_LEN ||
        strlen(account) > NT_UUID_LEN)
        return svc_load_path(api, req, s);
    if (!ntc_key(key, sizeof(key), 3, (const char *const[]){"service", account, id}))
        return svc_load_path(api, req, s);
    kept = api->memo_get(req, key);
    if (kept != NULL)
        return svc_copy(kept, s);
    rc = svc_load_path(api, req, s);
    if (rc == NT_OK)
        svc_memo_keep(api, req, key, s);
    return rc;
}
