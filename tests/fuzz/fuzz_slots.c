/* Fuzz target: the pure booking-slot code of the service plugin (plugins/service: svc_slots.c,
 * svc_body.c). The input is a JSON object, everything optional:
 *   {"startDate": "2030-10-10", "endDate": "2030-10-11", "timezone": "Europe/Berlin",
 *    "now": ms, "closest": min, "furthest": min, "interval": ms, "duration": ms, "all": bool,
 *    "hosts": [{"free": [[a, b], ...], "busy": [[a, b, before, after], ...]}, ...],
 *    "multiPerson": {...}, "member": {...}}
 * Free and busy times are offsets in minutes from the span's start.
 *
 * Oracle: accepted dates print back to the same day; the span is 22 to 26 hours per day; an
 * accepted multiPerson prints to JSON that parses back to the same; an accepted member body
 * keeps its values in range; a host's free time is sorted, apart, inside its adjusted span and
 * clear of every (widened) busy interval; every slot starts on the interval grid inside the
 * span, in ascending order, lists exactly the hosts free for its whole duration (all of them
 * when `all`), and every grid start where some host is free (all hosts, when `all`) is a slot.
 * FUZZ_VERBOSE=1 prints what each input reaches.
 */
#include "fuzz.h"
#include "ntc.h"
#include "svc.h"

#include <jansson.h>

#define MIN_MS 60000LL
#define MAX_HOSTS 6
#define MAX_LIST 48

/* obj[key] as an integer, or dflt. */
static int64_t
int_or(const json_t *obj, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

static void
check_dates(const json_t *in, int64_t *d0, int64_t *d1)
{
    const char *a = json_string_value(json_object_get(in, "startDate"));
    const char *b = json_string_value(json_object_get(in, "endDate"));

    *d0 = ev_days_from_civil(2030, 10, 10);
    *d1 = *d0;
    if (a != NULL && svc_date_parse(a, d0) == NT_OK) {
        int64_t y, back = -1;
        int m, d;
        char text[32];
        ev_civil_from_days(*d0, &y, &m, &d);
        FUZZ_CHECK(y >= 1970 && y <= 2100, "year %lld", (long long)y);
        snprintf(text, sizeof(text), "%lld-%d-%d", (long long)y, m, d);
        FUZZ_CHECK(svc_date_parse(text, &back) == NT_OK && back == *d0, "%s", text);
    } else {
        *d0 = ev_days_from_civil(2030, 10, 10);
    }
    if (b == NULL || svc_date_parse(b, d1) != NT_OK)
        *d1 = *d0;
    if (*d1 < *d0 || *d1 - *d0 > 100)
        *d1 = *d0;
}

static void
check_bodies(const json_t *in)
{
    const json_t *mp = json_object_get(in, "multiPerson");
    const json_t *member = json_object_get(in, "member");
    char err[200];
    svc_multi m, again;
    svc_member_body b;

    if (mp != NULL && svc_multi_parse(mp, &m, err, sizeof(err)) == NT_OK) {
        json_t *printed = svc_multi_json(&m);
        FUZZ_CHECK(printed != NULL, "multiPerson print");
        FUZZ_CHECK(svc_multi_parse(printed, &again, err, sizeof(err)) == NT_OK &&
                       again.kind == m.kind && again.group == m.group,
                   "multiPerson round trip");
        json_decref(printed);
    }
    if (member != NULL && svc_member_body_parse(member, &b, err, sizeof(err)) == NT_OK) {
        FUZZ_CHECK(!b.has_before || (b.before >= 0 && b.before <= 720), "bufferBefore");
        FUZZ_CHECK(!b.has_after || (b.after >= 0 && b.after <= 720), "bufferAfter");
        FUZZ_CHECK(!b.has_closest || b.closest >= 0, "closest");
        FUZZ_CHECK(!b.has_furthest || b.furthest >= -1, "furthest");
        FUZZ_CHECK(b.n_busy <= 100, "busy");
        svc_member_body_clear(&b);
    }
}

/* 1 when [c, c + dur] lies in one interval of l. */
static int
holds(const ev_ilist *l, int64_t c, int64_t dur)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].start <= c && c + dur <= l->v[i].end)
            return 1;
    return 0;
}

/* Builds host h's free time from the input and checks it. */
static void
host_free(const json_t *host, int64_t s, int64_t e, int64_t now, int64_t closest, int64_t furthest,
          ev_ilist *out)
{
    const json_t *free_j = json_object_get(host, "free"), *busy_j = json_object_get(host, "busy");
    ev_ilist busy = {0}, widened = {0};
    int64_t as = s, ae = e;
    size_t i;
    json_t *v;

    memset(out, 0, sizeof(*out));
    json_array_foreach(free_j, i, v)
    {
        int64_t a = json_integer_value(json_array_get(v, 0)) % (200LL * 24 * 60);
        int64_t b = json_integer_value(json_array_get(v, 1)) % (200LL * 24 * 60);
        if (i >= MAX_LIST)
            break;
        if (a <= b)
            FUZZ_CHECK(ev_ilist_push(out, s + a * MIN_MS, s + b * MIN_MS, 0) == 0, "oom");
    }
    /* Availability arrives sorted and apart (the services make it so). */
    FUZZ_CHECK(ev_ilist_merge(out) == 0, "oom");
    json_array_foreach(busy_j, i, v)
    {
        nt_interval one = {s + (json_integer_value(json_array_get(v, 0)) % 300000) * MIN_MS,
                           s + (json_integer_value(json_array_get(v, 1)) % 300000) * MIN_MS, 1};
        int64_t before = json_integer_value(json_array_get(v, 2)) % 721;
        int64_t after = json_integer_value(json_array_get(v, 3)) % 721;
        if (i >= MAX_LIST)
            break;
        if (one.start > one.end)
            continue;
        FUZZ_CHECK(svc_busy_widen(&busy, &one, 1, before, after) == 0, "oom");
        FUZZ_CHECK(svc_busy_widen(&widened, &one, 1, before, after) == 0, "oom");
    }
    if (!svc_adjust(now, closest, furthest, &as, &ae)) {
        ev_ilist_free(out);
        ev_ilist_free(&busy);
        ev_ilist_free(&widened);
        return;
    }
    FUZZ_CHECK(svc_free_time(out, &busy, as, ae) == 0, "oom");
    for (i = 0; i < out->n; i++) {
        FUZZ_CHECK(out->v[i].start <= out->v[i].end, "free interval reversed");
        FUZZ_CHECK(out->v[i].start >= as && out->v[i].end <= ae, "free time outside the span");
        FUZZ_CHECK(i == 0 || out->v[i].start >= out->v[i - 1].end, "free time overlaps");
        for (size_t k = 0; k < widened.n; k++)
            FUZZ_CHECK(out->v[i].end <= widened.v[k].start || out->v[i].start >= widened.v[k].end,
                       "free time inside a busy interval");
    }
    ev_ilist_free(&busy);
    ev_ilist_free(&widened);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    json_t *in = json_loads(text, 0, NULL);
    const json_t *hosts;
    const char *tzname;
    const ev_tz *tz = NULL;
    ev_ilist lists[MAX_HOSTS];
    const char *names[MAX_HOSTS] = {"h0", "h1", "h2", "h3", "h4", "h5"};
    int64_t d0, d1, s, e, interval, duration, now;
    size_t n = 0;
    int all;
    svc_slots sl;

    free(text);
    if (!json_is_object(in)) {
        json_decref(in);
        return 0;
    }
    check_bodies(in);
    check_dates(in, &d0, &d1);
    tzname = json_string_value(json_object_get(in, "timezone"));
    if (tzname != NULL && ntc_tz_valid(tzname))
        tz = ev_tz_get(tzname);
    svc_span(tz, d0, d1, &s, &e);
    FUZZ_CHECK(e - s >= (d1 - d0 + 1) * 22 * 3600000LL && e - s <= (d1 - d0 + 1) * 26 * 3600000LL,
               "span of %lld ms for %lld days", (long long)(e - s), (long long)(d1 - d0 + 1));
    interval = int_or(in, "interval", 15 * MIN_MS);
    if (interval < 300000 || interval > 7200000)
        interval = 15 * MIN_MS;
    duration = int_or(in, "duration", 60 * MIN_MS) % (3LL * 86400000);
    now = int_or(in, "now", s - 86400000) % (4102444800000LL);
    all = json_is_true(json_object_get(in, "all"));
    hosts = json_object_get(in, "hosts");
    for (n = 0; n < json_array_size(hosts) && n < MAX_HOSTS; n++)
        host_free(json_array_get(hosts, n), s, e, now, int_or(in, "closest", 0) % 10000000,
                  int_or(in, "furthest", -1) % 10000000, &lists[n]);
    FUZZ_CHECK(svc_slots_walk(lists, n, s, e, interval, duration, all, NULL, NULL, &sl) == 0,
               "walk failed");
    for (size_t i = 0; i < sl.n; i++) {
        size_t listed = sl.first[i + 1] - sl.first[i];
        FUZZ_CHECK(sl.start[i] >= s && sl.start[i] + duration <= e, "slot outside the span");
        FUZZ_CHECK((sl.start[i] - s) % interval == 0, "slot off the grid");
        FUZZ_CHECK(i == 0 || sl.start[i] > sl.start[i - 1], "slots not ascending");
        FUZZ_CHECK(listed > 0 && (!all || listed == n), "slot hosts");
        for (size_t h = 0, k = sl.first[i]; h < n; h++) {
            int in_slot = k < sl.first[i + 1] && sl.host[k] == h;
            FUZZ_CHECK(in_slot == holds(&lists[h], sl.start[i], duration), "host %zu at slot %zu",
                       h, i);
            k += in_slot;
        }
    }
    /* Every grid start where a host (every host, with all) is free is a slot. */
    if (duration >= 1 && n > 0) {
        size_t j = 0;
        for (int64_t c = s; c + duration <= e; c += interval) {
            size_t free_n = 0;
            for (size_t h = 0; h < n; h++)
                free_n += (size_t)holds(&lists[h], c, duration);
            if (free_n > 0 && (!all || free_n == n)) {
                FUZZ_CHECK(j < sl.n && sl.start[j] == c, "missing slot at %lld", (long long)c);
                j++;
            }
        }
        FUZZ_CHECK(j == sl.n, "extra slots");
    }
    if (getenv("FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "fuzz_slots: %zu hosts, %zu slots\n", n, sl.n);
    {
        json_t *out = svc_slots_json(&sl, names, tz, duration);
        FUZZ_CHECK(out != NULL, "answer");
        json_decref(out);
    }
    svc_slots_clear(&sl);
    for (size_t h = 0; h < n; h++)
        ev_ilist_free(&lists[h]);
    json_decref(in);
    return 0;
}
