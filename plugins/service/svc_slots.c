/* The pure part of booking slots: the query span in the query's zone, a
 * host's span narrowed by its booking-time limits, free time = availability - busy clipped to
 * it, the slot walk over several hosts, and the answer grouped by local date. No host needed:
 * the unit tests run it on hand-made lists.
 */
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_MINUTE_MS 60000LL
/* Minutes beyond this are treated as this (about 190 000 years): keeps ms arithmetic exact. */
#define SVC_MINUTES_CAP (INT64_MAX / SVC_MINUTE_MS / 4)

int
svc_date_parse(const char *s, int64_t *days)
{
    int64_t part[3] = {0, 0, 0};
    int k = 0, digits = 0;

    if (s == NULL)
        return NT_EINVAL;
    for (const char *c = s;; c++) {
        if (*c >= '0' && *c <= '9') {
            if (++digits > 6)
                return NT_EINVAL;
            part[k] = part[k] * 10 + (*c - '0');
        } else if ((*c == '-' || *c == '\0') && digits > 0) {
            if (*c == '\0')
                break;
            if (++k > 2)
                return NT_EINVAL;
            digits = 0;
        } else {
            return NT_EINVAL;
        }
    }
    if (k != 2 || part[0] < 1970 || part[0] > 2100 || part[1] < 1 || part[1] > 12 || part[2] < 1 ||
        part[2] > ev_days_in_month(part[0], (int)part[1]))
        return NT_EINVAL;
    *days = ev_days_from_civil(part[0], (int)part[1], (int)part[2]);
    return NT_OK;
}

void
svc_span(const ev_tz *tz, int64_t d0, int64_t d1, int64_t *s, int64_t *e)
{
    int64_t a = d0 * EV_DAY_S, b = (d1 + 1) * EV_DAY_S;

    if (tz != NULL) {
        a = ev_tz_local_to_utc(tz, a);
        b = ev_tz_local_to_utc(tz, b);
    }
    *s = a * 1000;
    *e = b * 1000;
}

/* now + minutes, in ms, without overflow. */
static int64_t
svc_after(int64_t now, int64_t minutes)
{
    if (minutes > SVC_MINUTES_CAP)
        minutes = SVC_MINUTES_CAP;
    return ev_sat_add(now, minutes * SVC_MINUTE_MS);
}

int
svc_adjust(int64_t now, int64_t closest, int64_t furthest, int64_t *s, int64_t *e)
{
    int64_t c = svc_after(now, closest < 0 ? 0 : closest);

    if (c > *s)
        *s = c;
    if (furthest >= 0) {
        int64_t f = svc_after(now, furthest);
        if (f < *e) {
            if (f <= *s)
                return 0;
            *e = f;
        }
    }
    return *s <= *e;
}

int
svc_busy_widen(ev_ilist *busy, const nt_interval *v, size_t n, int64_t before, int64_t after)
{
    int64_t b = (before > 0 ? before : 0) * SVC_MINUTE_MS;
    int64_t a = (after > 0 ? after : 0) * SVC_MINUTE_MS;

    for (size_t i = 0; i < n; i++)
        if (ev_ilist_push(busy, ev_sat_sub(v[i].start, b), ev_sat_add(v[i].end, a), 1) != 0)
            return -1;
    return 0;
}

int
svc_free_time(ev_ilist *avail, ev_ilist *busy, int64_t s, int64_t e)
{
    size_t k = 0;

    ev_ilist_sort(avail);
    if (ev_ilist_merge(busy) != 0 || ev_ilist_subtract(avail, busy) != 0)
        return -1;
    for (size_t i = 0; i < avail->n; i++) {
        int64_t a = avail->v[i].start > s ? avail->v[i].start : s;
        int64_t b = avail->v[i].end < e ? avail->v[i].end : e;
        if (a > b)
            continue;
        avail->v[k].start = a;
        avail->v[k].end = b;
        avail->v[k].busy = 0;
        k++;
    }
    avail->n = k;
    return 0;
}

void
svc_slots_clear(svc_slots *sl)
{
    if (sl == NULL)
        return;
    free(sl->start);
    free(sl->first);
    free(sl->host);
    memset(sl, 0, sizeof(*sl));
}

/* Appends host h to the slot being built. */
static int
svc_slots_add_host(svc_slots *sl, size_t h)
{
    if (sl->n_host == sl->cap_host) {
        size_t cap = sl->cap_host != 0 ? sl->cap_host * 2 : 64;
        size_t *v = realloc(sl->host, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        sl->host = v;
        sl->cap_host = cap;
    }
    sl->host[sl->n_host++] = h;
    return 0;
}

/* Closes a slot at `start` holding the hosts added since its first entry. */
static int
svc_slots_add(svc_slots *sl, int64_t start)
{
    if (sl->n + 1 >= sl->cap) {
        size_t cap = sl->cap != 0 ? sl->cap * 2 : 64;
        int64_t *st = realloc(sl->start, cap * sizeof(*st));
        size_t *fi;
        if (st == NULL)
            return -1;
        sl->start = st;
        fi = realloc(sl->first, (cap + 1) * sizeof(*fi));
        if (fi == NULL)
            return -1;
        sl->first = fi;
        sl->cap = cap;
    }
    sl->start[sl->n] = start;
    sl->n++;
    sl->first[sl->n] = sl->n_host;
    return 0;
}

int
svc_slots_walk(const ev_ilist *lists, size_t n_hosts, int64_t s, int64_t e, int64_t interval,
               int64_t duration, int all, int (*check)(void *), void *ctx, svc_slots *out)
{
    size_t *pos = NULL;
    int64_t steps = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (duration < 1 || interval < 1 || n_hosts == 0 || s > e || duration > e - s)
        return 0;
    pos = calloc(n_hosts, sizeof(*pos));
    out->first = calloc(1, sizeof(*out->first));
    if (pos == NULL || out->first == NULL) {
        rc = -1;
        goto out;
    }
    for (int64_t c = s; c <= e - duration; c += interval) {
        size_t mark = out->n_host, n_free = 0;
        if (check != NULL && ++steps % 4096 == 0 && (rc = check(ctx)) != 0)
            goto out;
        for (size_t h = 0; h < n_hosts; h++) {
            const ev_ilist *l = &lists[h];
            /* Intervals ending before c + duration cannot hold this or a later cursor. */
            while (pos[h] < l->n && l->v[pos[h]].end < c + duration)
                pos[h]++;
            if (pos[h] < l->n && l->v[pos[h]].start <= c) {
                n_free++;
                if (svc_slots_add_host(out, h) != 0) {
                    rc = -1;
                    goto out;
                }
            }
        }
        if (n_free == 0 || (all && n_free < n_hosts)) {
            out->n_host = mark;
            continue;
        }
        if (svc_slots_add(out, c) != 0) {
            rc = -1;
            goto out;
        }
    }
out:
    free(pos);
    if (rc != 0)
        svc_slots_clear(out);
    return rc;
}

/* One slot's JSON object. */
static json_t *
svc_slot_json(const svc_slots *sl, size_t i, const char *const *user_ids, int64_t duration)
{
    json_t *ids = json_array();
    int rc = ids == NULL;

    for (size_t k = sl->first[i]; rc == 0 && k < sl->first[i + 1]; k++)
        rc |= json_array_append_new(ids, json_string(user_ids[sl->host[k]]));
    if (rc != 0) {
        json_decref(ids);
        return NULL;
    }
    return json_pack("{s:I,s:I,s:o}", "start", (json_int_t)sl->start[i], "duration",
                     (json_int_t)duration, "userIds", ids);
}

json_t *
svc_slots_json(const svc_slots *sl, const char *const *user_ids, const ev_tz *tz, int64_t duration)
{
    json_t *dates = json_array(), *slots = NULL;
    int64_t day = 0;
    int rc = dates == NULL;

    for (size_t i = 0; rc == 0 && i < sl->n; i++) {
        int64_t sec = ev_floor_div(sl->start[i], 1000);
        int64_t d = ev_floor_div(tz != NULL ? ev_tz_utc_to_local(tz, sec) : sec, EV_DAY_S);
        if (slots == NULL || d != day) {
            int64_t y;
            int m, dd;
            char text[32];
            ev_civil_from_days(d, &y, &m, &dd);
            snprintf(text, sizeof(text), "%lld-%d-%d", (long long)y, m, dd);
            slots = json_array();
            rc |=
                json_array_append_new(dates, json_pack("{s:s,s:o}", "date", text, "slots", slots));
            day = d;
        }
        rc |= json_array_append_new(slots, svc_slot_json(sl, i, user_ids, duration));
    }
    if (rc != 0) {
        json_decref(dates);
        return NULL;
    }
    return json_pack("{s:o}", "dates", dates);
}
