/* metrics: renders the counter table in the Prometheus text exposition format 0.0.4. Each
 * family is written whole (HELP, TYPE, then its samples); series nothing was counted for are
 * left out. A scrape reads atomics one by one while workers keep counting, so a histogram's
 * +Inf bucket and _count are computed from the same bucket reads to stay consistent.
 */
#include <inttypes.h>

#include "mx.h"

/* Writes `{route="...",method="..."` (no closing brace) for series s. */
static void
mx_text_series_labels(mx_buf *b, const mx_series *s)
{
    mx_buf_put(b, "{route=\"", 8);
    mx_buf_label(b, s->route);
    mx_buf_put(b, "\",method=\"", 10);
    mx_buf_label(b, s->method);
    mx_buf_put(b, "\"", 1);
}

/* nettu_http_requests_total{route,method,status}. */
static void
mx_text_requests(mx_table *t, mx_buf *b)
{
    mx_buf_printf(b, "# HELP nettu_http_requests_total HTTP requests answered, by route "
                     "template, method and status.\n"
                     "# TYPE nettu_http_requests_total counter\n");
    for (size_t i = 0; i < t->nroutes + MX_NMETHODS; i++) {
        mx_series *s = &t->series[i];
        for (size_t k = 0; k < MX_NSTATUS; k++) {
            uint64_t v = atomic_load_explicit(&s->status[k], memory_order_relaxed);
            if (v == 0)
                continue;
            mx_buf_put(b, "nettu_http_requests_total", 25);
            mx_text_series_labels(b, s);
            mx_buf_printf(b, ",status=\"%s\"} %" PRIu64 "\n", mx_status_label[k], v);
        }
    }
}

/* nettu_http_request_duration_seconds{route,method} histogram. */
static void
mx_text_durations(mx_table *t, mx_buf *b)
{
    static const char name[] = "nettu_http_request_duration_seconds";

    mx_buf_printf(b,
                  "# HELP %s Time from a request's arrival to its queued reply.\n"
                  "# TYPE %s histogram\n",
                  name, name);
    for (size_t i = 0; i < t->nroutes + MX_NMETHODS; i++) {
        mx_series *s = &t->series[i];
        uint64_t counts[MX_NBUCKETS + 1], total = 0, sum;

        for (size_t k = 0; k <= MX_NBUCKETS; k++) {
            counts[k] = atomic_load_explicit(&s->bucket[k], memory_order_relaxed);
            total += counts[k];
        }
        if (total == 0)
            continue;
        sum = atomic_load_explicit(&s->sum_us, memory_order_relaxed);
        total = 0;
        for (size_t k = 0; k <= MX_NBUCKETS; k++) {
            total += counts[k];
            mx_buf_printf(b, "%s_bucket", name);
            mx_text_series_labels(b, s);
            mx_buf_printf(b, ",le=\"%s\"} %" PRIu64 "\n",
                          k < MX_NBUCKETS ? mx_bucket_le[k] : "+Inf", total);
        }
        mx_buf_printf(b, "%s_sum", name);
        mx_text_series_labels(b, s);
        mx_buf_printf(b, "} %" PRIu64 ".%06" PRIu64 "\n", sum / 1000000, sum % 1000000);
        mx_buf_printf(b, "%s_count", name);
        mx_text_series_labels(b, s);
        mx_buf_printf(b, "} %" PRIu64 "\n", total);
    }
}

/* nettu_http_requests_in_flight, nettu_storage_errors_total and nettu_plugin_info. */
static void
mx_text_rest(mx_table *t, mx_buf *b)
{
    int64_t in_flight = atomic_load_explicit(&t->in_flight, memory_order_relaxed);

    mx_buf_printf(b,
                  "# HELP nettu_http_requests_in_flight Requests being served now.\n"
                  "# TYPE nettu_http_requests_in_flight gauge\n"
                  "nettu_http_requests_in_flight %" PRId64 "\n",
                  in_flight > 0 ? in_flight : 0);
    mx_buf_printf(b, "# HELP nettu_storage_errors_total Replies failed by storage: status 503 "
                     "(unavailable) or 500 with a storage error, by cause.\n"
                     "# TYPE nettu_storage_errors_total counter\n");
    for (int st = 0; st < 2; st++) {
        for (size_t k = 0; k < MX_NCAUSES; k++) {
            uint64_t v = atomic_load_explicit(&t->storage[st][k], memory_order_relaxed);
            if (v != 0)
                mx_buf_printf(
                    b, "nettu_storage_errors_total{status=\"%s\",cause=\"%s\"} %" PRIu64 "\n",
                    st ? "503" : "500", mx_cause_label[k], v);
        }
    }
    mx_buf_printf(b, "# HELP nettu_plugin_info A loaded plugin and its version.\n"
                     "# TYPE nettu_plugin_info gauge\n");
    for (size_t i = 0; i < t->nplugins; i++) {
        mx_buf_put(b, "nettu_plugin_info{name=\"", 24);
        mx_buf_label(b, t->plugins[i].name != NULL ? t->plugins[i].name : "");
        mx_buf_put(b, "\",version=\"", 11);
        mx_buf_label(b, t->plugins[i].version != NULL ? t->plugins[i].version : "");
        mx_buf_put(b, "\"} 1\n", 5);
    }
}

/* Renders every family of t into b. NT_OK, or NT_ENOMEM when b could not grow. */
int
mx_text_render(mx_table *t, mx_buf *b)
{
    if (t == NULL)
        return NT_ERR;
    mx_text_requests(t, b);
    mx_text_durations(t, b);
    mx_text_rest(t, b);
    return b->failed ? NT_ENOMEM : NT_OK;
}
