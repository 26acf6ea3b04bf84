/* metrics: the counter table. Built at start from the host's route list; request_done then
 * finds a request's series by the route template pointer in a small open-addressing hash
 * and bumps C11 atomics, so the hot path takes no lock and allocates nothing. Labels come
 * from fixed lists (route templates, methods, status codes) and stay bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "mx.h"

const int64_t mx_bucket_us[MX_NBUCKETS] = {100,     250,     500,     1000,    2500,   5000,
                                           10000,   25000,   50000,   100000,  250000, 500000,
                                           1000000, 2500000, 5000000, 10000000};
const char *const mx_bucket_le[MX_NBUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10"};

static const int mx_codes[MX_NCODES] = {200, 201, 204, 400, 401, 404, 409, 413, 500, 503};
const char *const mx_status_label[MX_NSTATUS] = {"200", "201", "204", "400",  "401", "404",
                                                 "409", "413", "500", "503",  "1xx", "2xx",
                                                 "3xx", "4xx", "5xx", "other"};
const char *const mx_method_label[MX_NMETHODS] = {"GET",   "POST", "PUT",     "DELETE",
                                                  "PATCH", "HEAD", "OPTIONS", "OTHER"};
const char *const mx_cause_label[MX_NCAUSES] = {"readonly", "full",     "locked", "io",
                                                "corrupt",  "cantopen", "other"};

/* The slot a template pointer hashes to first (Fibonacci hashing of the address). */
static size_t
mx_hash(const mx_table *t, const char *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15);

    return (size_t)(h >> 32) & t->mask;
}

/* Index of a method name in mx_method_label; unknown names are OTHER. */
size_t
mx_method_index(const char *method)
{
    if (method != NULL)
        for (size_t i = 0; i + 1 < MX_NMETHODS; i++)
            if (strcmp(method, mx_method_label[i]) == 0)
                return i;
    return MX_NMETHODS - 1;
}

/* Index of a status in mx_status_label: its own slot, else its class, else "other". */
size_t
mx_status_index(int status)
{
    for (size_t i = 0; i < MX_NCODES; i++)
        if (mx_codes[i] == status)
            return i;
    if (status >= 100 && status <= 599)
        return MX_NCODES + (size_t)(status / 100 - 1);
    return MX_NSTATUS - 1;
}

/* The cause of a storage error message, as an index in mx_cause_label. The store writes
 * "<what>: <cause> (<detail>)" with fixed cause texts (store_sqlite/sqlite_error.c); the
 * words below also cover the usual SQLite and PostgreSQL details. */
size_t
mx_cause_index(const char *msg)
{
    static const struct {
        const char *word;
        size_t cause;
    } words[] = {
        {"read-only", 0},      {"readonly", 0},       {"full", 1},
        {"no space", 1},       {"lock", 2},           {"i/o", 3},
        {"corrupt", 4},        {"not a database", 4}, {"cannot open", 5},
        {"unable to open", 5},
    };

    if (msg != NULL)
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (strcasestr(msg, words[i].word) != NULL)
                return words[i].cause;
    return MX_NCAUSES - 1;
}

/* Adds key -> idx; the first of equal keys wins. */
static void
mx_slot_add(mx_table *t, const char *key, size_t idx)
{
    size_t i = mx_hash(t, key);

    while (t->slots[i].key != NULL) {
        if (t->slots[i].key == key)
            return;
        i = (i + 1) & t->mask;
    }
    t->slots[i].key = key;
    t->slots[i].idx = idx;
}

/* The series of a request: its route by template pointer, else (a host that hands out
 * copies) by text and method, else the unmatched series of its method. */
static mx_series *
mx_find(mx_table *t, const char *route, const char *method)
{
    size_t i;

    if (route != NULL) {
        for (i = mx_hash(t, route); t->slots[i].key != NULL; i = (i + 1) & t->mask)
            if (t->slots[i].key == route)
                return &t->series[t->slots[i].idx];
        for (i = 0; i < t->nroutes; i++)
            if (strcmp(t->series[i].route, route) == 0 && method != NULL &&
                strcmp(t->series[i].method, method) == 0)
                return &t->series[i];
    }
    return &t->series[t->nroutes + mx_method_index(method)];
}

/* Builds the table; see mx.h. The series array is cache-line aligned. */
mx_table *
mx_table_new(const mx_route_def *routes, size_t nroutes, const mx_plugin_def *plugins,
             size_t nplugins)
{
    mx_table *t = calloc(1, sizeof(*t));
    size_t nseries = nroutes + MX_NMETHODS, nslots = 16;

    if (t == NULL)
        return NULL;
    while (nslots < 2 * nroutes)
        nslots *= 2;
    t->nroutes = nroutes;
    t->mask = nslots - 1;
    t->series = aligned_alloc(_Alignof(mx_series), nseries * sizeof(mx_series));
    t->slots = calloc(nslots, sizeof(mx_slot));
    t->plugins = calloc(nplugins != 0 ? nplugins : 1, sizeof(mx_plugin_def));
    if (t->series == NULL || t->slots == NULL || t->plugins == NULL)
        goto fail;
    memset(t->series, 0, nseries * sizeof(mx_series));
    for (size_t i = 0; i < nseries; i++) {
        mx_series *s = &t->series[i];
        for (size_t k = 0; k < MX_NSTATUS; k++)
            atomic_init(&s->status[k], 0);
        for (size_t k = 0; k <= MX_NBUCKETS; k++)
            atomic_init(&s->bucket[k], 0);
        atomic_init(&s->sum_us, 0);
        if (i < nroutes) {
            s->route = routes[i].path;
            s->method = routes[i].method;
            mx_slot_add(t, routes[i].path, i);
        } else {
            s->route = MX_UNMATCHED;
            s->method = mx_method_label[i - nroutes];
        }
    }
    if (nplugins != 0)
        memcpy(t->plugins, plugins, nplugins * sizeof(mx_plugin_def));
    t->nplugins = nplugins;
    atomic_init(&t->in_flight, 0);
    for (size_t k = 0; k < MX_NCAUSES; k++) {
        atomic_init(&t->storage[0][k], 0);
        atomic_init(&t->storage[1][k], 0);
    }
    return t;
fail:
    mx_table_free(t);
    return NULL;
}

/* Frees the table; NULL is fine. */
void
mx_table_free(mx_table *t)
{
    if (t == NULL)
        return;
    free(t->series);
    free(t->slots);
    free(t->plugins);
    free(t);
}

/* One more request in flight. */
void
mx_table_begin(mx_table *t)
{
    if (t != NULL)
        atomic_fetch_add_explicit(&t->in_flight, 1, memory_order_relaxed);
}

/* Counts one answered request; see mx.h. Relaxed atomics: counters need no ordering. */
void
mx_table_end(mx_table *t, const char *route, const char *method, int status, int64_t micros,
             const char *storage_msg)
{
    mx_series *s;
    size_t b = 0;
    int has_msg = storage_msg != NULL && storage_msg[0] != '\0';

    if (t == NULL)
        return;
    atomic_fetch_sub_explicit(&t->in_flight, 1, memory_order_relaxed);
    s = mx_find(t, route, method);
    if (micros < 0)
        micros = 0;
    while (b < MX_NBUCKETS && micros > mx_bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&s->status[mx_status_index(status)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->sum_us, (uint_fast64_t)micros, memory_order_relaxed);
    if (status == 503 || (status == 500 && has_msg))
        atomic_fetch_add_explicit(&t->storage[status == 503][mx_cause_index(storage_msg)], 1,
                                  memory_order_relaxed);
}
