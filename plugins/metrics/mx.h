/* metrics plugin internals: the lock-free counter table (mx_table.c), its Prometheus text
 * rendering (mx_text.c), a growable text buffer (mx_buf.c) and the route handlers
 * (mx_routes.c). Only metrics.c talks to the host's introspection functions.
 */
#ifndef NETTU_MX_H
#define NETTU_MX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <nettu/plugin.h>

#include "cidr.h" /* core/cidr.c, compiled into the plugin */

#define MX_NBUCKETS 16             /* finite latency buckets; one more slot counts the rest */
#define MX_NCODES 10               /* status codes counted under their own value */
#define MX_NSTATUS (MX_NCODES + 6) /* plus "1xx".."5xx" for other codes and "other" */
#define MX_NMETHODS 8              /* GET POST PUT DELETE PATCH HEAD OPTIONS OTHER */
#define MX_NCAUSES 7               /* storage error causes, see mx_cause_index() */
#define MX_UNMATCHED "unmatched"   /* the route label of requests no route matched */

/* Label texts of the fixed dimensions, indexed like the counters. */
extern const int64_t mx_bucket_us[MX_NBUCKETS];
extern const char *const mx_bucket_le[MX_NBUCKETS];
extern const char *const mx_status_label[MX_NSTATUS];
extern const char *const mx_method_label[MX_NMETHODS];
extern const char *const mx_cause_label[MX_NCAUSES];

/* A route or a plugin as reported by the host; strings borrowed until the plugins unload. */
typedef struct mx_route_def {
    const char *method, *path;
} mx_route_def;

typedef struct mx_plugin_def {
    const char *name, *version;
} mx_plugin_def;

/* The counters of one (route, method) pair. Aligned to a cache line so workers counting
 * different routes do not share one. */
typedef struct mx_series {
    _Alignas(64) atomic_uint_fast64_t status[MX_NSTATUS];
    atomic_uint_fast64_t bucket[MX_NBUCKETS + 1]; /* not cumulative; the last is > 10 s */
    atomic_uint_fast64_t sum_us;
    const char *route;  /* route template (borrowed) or MX_UNMATCHED */
    const char *method; /* method label */
} mx_series;

typedef struct mx_slot {
    const char *key; /* a route template pointer as req_route() returns it; NULL = empty */
    size_t idx;      /* its series */
} mx_slot;

/* Every counter of the plugin. Built once at start; afterwards only atomics change, so
 * workers never lock. */
typedef struct mx_table {
    size_t nroutes;    /* series 0..nroutes-1: routes; then MX_NMETHODS unmatched ones */
    mx_series *series; /* aligned_alloc'd */
    mx_slot *slots;    /* open addressing on the template pointer */
    size_t mask;       /* slot count - 1 (a power of two) */
    mx_plugin_def *plugins;
    size_t nplugins;
    atomic_int_fast64_t in_flight;
    atomic_uint_fast64_t storage[2][MX_NCAUSES]; /* [0]: status 500, [1]: status 503 */
} mx_table;

/* A growable text buffer. After an allocation failure `failed` is set and further writes
 * are dropped; data is malloc'd (NUL-terminated when len > 0) and freed by mx_buf_free. */
typedef struct mx_buf {
    char *data;
    size_t len, cap;
    int failed;
} mx_buf;

void mx_buf_put(mx_buf *b, const char *s, size_t n);
void mx_buf_printf(mx_buf *b, const char *fmt, ...) NT_PRINTF(2, 3);
/* Appends v escaped as a Prometheus label value (backslash, double quote, newline). */
void mx_buf_label(mx_buf *b, const char *v);
void mx_buf_free(mx_buf *b);

/* Builds the table for `nroutes` routes and `nplugins` plugins (both arrays copied, their
 * strings borrowed). Returns NULL when out of memory. Main thread. */
mx_table *mx_table_new(const mx_route_def *routes, size_t nroutes, const mx_plugin_def *plugins,
                       size_t nplugins);
/* Frees the table; NULL is fine. */
void mx_table_free(mx_table *t);
/* A request arrived: one more in flight. Any thread. */
void mx_table_begin(mx_table *t);
/* A request was answered: counts it under its route template (NULL: unmatched), method and
 * status, adds its latency, and for a 503, or a 500 with a storage message, counts a
 * storage error by the cause read from `storage_msg` ("" or NULL: none). Any thread. */
void mx_table_end(mx_table *t, const char *route, const char *method, int status, int64_t micros,
                  const char *storage_msg);

/* Index helpers of the fixed dimensions. */
size_t mx_method_index(const char *method);
size_t mx_status_index(int status);
size_t mx_cause_index(const char *msg);

/* Writes every metric of t in the Prometheus text format 0.0.4. NT_OK or NT_ENOMEM. */
int mx_text_render(mx_table *t, mx_buf *b);

/* The plugin's state, shared by the handlers and the observer. */
typedef struct mx_plugin {
    nt_plugin *self;
    const nt_host_api *api;
    mx_table *table; /* from start on */
    cidr_list allow; /* [metrics] allow: the client addresses GET /metrics answers */
} mx_plugin;

/* The default of [metrics] allow: loopback only. */
#define MX_ALLOW_DEFAULT "127.0.0.0/8, ::1/128"

/* Route handlers (mx_routes.c); state is the mx_plugin. */
int mx_route_metrics(nt_req *req, void *state, struct json_t **out);
int mx_route_ready(nt_req *req, void *state, struct json_t **out);
int mx_route_live(nt_req *req, void *state, struct json_t **out);

#define MX_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif /* NETTU_MX_H */
