/* Fuzz target: request-target handling of the core. The input is a method selector byte and
 * a request target ("/api/v1/user/x%2Fy?key=a+b"). The target is split as the server's
 * requests are (a request line parsed by core/http_parse.c), the path is matched by
 * core/router.c against the real shape of the server's route table (the core's health routes
 * and the API paths of the plugins), and the query is decoded through the core's own req_query
 * (core/hostapi.c, core/query.c).
 *
 * Oracle: every match is checked against a brute-force matcher written here (same decoding
 * rules, literal segments beat {param} segments at the first difference), the decoded
 * values must equal the path's segments, and the raw path is matched directly as well.
 */
#include "fuzz.h"
#include "health.h"
#include "hostapi.h"
#include "http_parse.h"
#include "request.h"
#include "router.h"
#include "util.h"

/* The API paths of the built-in plugins (account, user, calendar, events, schedule, service). */
static const char *const api_routes[][2] = {
    {"POST", "/api/v1/account"},
    {"GET", "/api/v1/account"},
    {"PUT", "/api/v1/account/pubkey"},
    {"PUT", "/api/v1/account/webhook"},
    {"DELETE", "/api/v1/account/webhook"},
    {"PUT", "/api/v1/account/integration"},
    {"DELETE", "/api/v1/account/integration/{provider}"},
    {"POST", "/api/v1/user"},
    {"GET", "/api/v1/user/meta"},
    {"GET", "/api/v1/user/{userId}"},
    {"PUT", "/api/v1/user/{userId}"},
    {"DELETE", "/api/v1/user/{userId}"},
    {"GET", "/api/v1/me"},
    {"GET", "/api/v1/user/{userId}/freebusy"},
    {"POST", "/api/v1/user/{userId}/oauth"},
    {"POST", "/api/v1/me/oauth"},
    {"DELETE", "/api/v1/user/{userId}/oauth/{provider}"},
    {"DELETE", "/api/v1/me/oauth/{provider}"},
    {"POST", "/api/v1/calendar"},
    {"POST", "/api/v1/user/{userId}/calendar"},
    {"GET", "/api/v1/calendar/{calendarId}"},
    {"GET", "/api/v1/user/calendar/{calendarId}"},
    {"PUT", "/api/v1/calendar/{calendarId}"},
    {"PUT", "/api/v1/user/calendar/{calendarId}"},
    {"DELETE", "/api/v1/calendar/{calendarId}"},
    {"DELETE", "/api/v1/user/calendar/{calendarId}"},
    {"GET", "/api/v1/calendar/{calendarId}/events"},
    {"GET", "/api/v1/user/calendar/{calendarId}/events"},
    {"GET", "/api/v1/calendar/{calendarId}/ical"},
    {"GET", "/api/v1/user/calendar/{calendarId}/ical"},
    {"GET", "/api/v1/calendar/meta"},
    {"GET", "/api/v1/user/{userId}/calendar/provider/google"},
    {"GET", "/api/v1/calendar/provider/google"},
    {"GET", "/api/v1/user/{userId}/calendar/provider/outlook"},
    {"GET", "/api/v1/calendar/provider/outlook"},
    {"PUT", "/api/v1/user/{userId}/calendar/sync"},
    {"DELETE", "/api/v1/user/{userId}/calendar/sync"},
    {"POST", "/api/v1/events"},
    {"POST", "/api/v1/user/{userId}/events"},
    {"GET", "/api/v1/events/{eventId}"},
    {"GET", "/api/v1/user/events/{eventId}"},
    {"PUT", "/api/v1/events/{eventId}"},
    {"PUT", "/api/v1/user/events/{eventId}"},
    {"DELETE", "/api/v1/events/{eventId}"},
    {"DELETE", "/api/v1/user/events/{eventId}"},
    {"GET", "/api/v1/events/{eventId}/instances"},
    {"GET", "/api/v1/user/events/{eventId}/instances"},
    {"GET", "/api/v1/events/meta"},
    {"POST", "/api/v1/schedule"},
    {"POST", "/api/v1/user/{userId}/schedule"},
    {"GET", "/api/v1/schedule/{scheduleId}"},
    {"GET", "/api/v1/user/schedule/{scheduleId}"},
    {"PUT", "/api/v1/schedule/{scheduleId}"},
    {"PUT", "/api/v1/user/schedule/{scheduleId}"},
    {"DELETE", "/api/v1/schedule/{scheduleId}"},
    {"DELETE", "/api/v1/user/schedule/{scheduleId}"},
    {"GET", "/api/v1/schedule/meta"},
    {"POST", "/api/v1/service"},
    {"GET", "/api/v1/service/meta"},
    {"GET", "/api/v1/service/{serviceId}"},
    {"PUT", "/api/v1/service/{serviceId}"},
    {"DELETE", "/api/v1/service/{serviceId}"},
    {"POST", "/api/v1/service/{serviceId}/users"},
    {"PUT", "/api/v1/service/{serviceId}/users/{userId}"},
    {"DELETE", "/api/v1/service/{serviceId}/users/{userId}"},
    {"PUT", "/api/v1/service/{serviceId}/users/{userId}/busy"},
    {"DELETE", "/api/v1/service/{serviceId}/users/{userId}/busy"},
    {"GET", "/api/v1/service/{serviceId}/booking"},
    {"POST", "/api/v1/service/{serviceId}/booking-intend"},
    {"DELETE", "/api/v1/service/{serviceId}/booking-intend"},
};

/* Methods the server sees; the last ones never match a route. */
static const char *const methods[] = {"GET",   "POST",    "PUT",  "DELETE",
                                      "PATCH", "OPTIONS", "HEAD", "get"};

/* Query names the handlers read. */
static const char *const query_names[] = {"key",      "value",   "skip",          "limit",
                                          "startTs",  "endTs",   "timestamp",     "duration",
                                          "interval", "userIds", "minAccessRole", ""};

static router *table;

static int
dummy_handler(nt_req *req, void *state, json_t **out)
{
    (void)req;
    (void)state;
    *out = NULL;
    return 200;
}

/* Builds the route table once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];

    (void)argc;
    (void)argv;
    if (table != NULL)
        return 0;
    table = router_new();
    FUZZ_CHECK(table != NULL, "out of memory");
    FUZZ_CHECK(health_register(table) == NT_OK, "health routes");
    for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
        nt_route r = {.size = sizeof(nt_route),
                      .method = api_routes[i][0],
                      .path = api_routes[i][1],
                      .auth = NT_AUTH_ADMIN,
                      .perms = NULL,
                      .handler = dummy_handler,
                      .state = NULL};
        FUZZ_CHECK(router_add(table, NULL, &r, err, sizeof(err)) == NT_OK, "%s", err);
    }
    FUZZ_CHECK(router_compile(table) == NT_OK, "compile");
    return 0;
}

/* ---- the reference matcher -------------------------------------------------------------- */

#define REF_MAX_SEGS 32 /* ROUTER_MAX_SEGS */

static int
ref_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Splits `path` at '/' into malloc'd segments (decoded when `decode`). Returns the count,
 * or -1 when it cannot match: no leading '/', more than 32 segments, a bad escape or %00. */
static int
ref_split(const char *path, int decode, char **segs)
{
    int n = 0;

    if (path[0] != '/')
        return -1;
    for (const char *p = path; *p == '/';) {
        size_t o = 0;
        char *seg;
        p++;
        if (n == REF_MAX_SEGS)
            goto fail;
        seg = malloc(strlen(p) + 1);
        FUZZ_CHECK(seg != NULL, "out of memory");
        segs[n++] = seg;
        for (; *p != '\0' && *p != '/'; p++) {
            char c = *p;
            if (decode && c == '%') {
                int hi = ref_hex(p[1]), lo = hi >= 0 ? ref_hex(p[2]) : -1;
                if (lo < 0 || hi * 16 + lo == 0)
                    goto fail;
                c = (char)(hi * 16 + lo);
                p += 2;
            }
            seg[o++] = c;
        }
        seg[o] = '\0';
    }
    return n;
fail:
    while (n > 0)
        free(segs[--n]);
    return -1;
}

static void
ref_free(char **segs, int n)
{
    for (int i = 0; i < n; i++)
        free(segs[i]);
}

/* Compares two matching patterns: < 0 when a wins (a literal where b has a {param} at the
 * first segment where they differ in kind). */
static int
ref_prefer(char **a, char **b, int n)
{
    for (int i = 0; i < n; i++) {
        int la = a[i][0] != '{', lb = b[i][0] != '{';
        if (la != lb)
            return la ? -1 : 1;
    }
    return 0;
}

/* The route the server must pick for method and the decoded segments, or NULL. */
static const route_entry *
ref_match(const char *method, char **segs, int nsegs)
{
    const route_entry *best = NULL;
    char *best_pat[REF_MAX_SEGS];
    int best_n = 0;

    for (size_t i = 0; i < router_count(table); i++) {
        const route_entry *e = router_get(table, i);
        char *pat[REF_MAX_SEGS];
        int np = ref_split(e->path, 0, pat), ok = np == nsegs && strcmp(e->method, method) == 0;

        for (int k = 0; ok && k < np; k++) {
            if (pat[k][0] == '{')
                ok = segs[k][0] != '\0';
            else
                ok = strcmp(pat[k], segs[k]) == 0;
        }
        if (ok && (best == NULL || ref_prefer(pat, best_pat, np) < 0)) {
            ref_free(best_pat, best_n);
            memcpy(best_pat, pat, sizeof(pat[0]) * (size_t)np);
            best_n = np;
            best = e;
        } else {
            ref_free(pat, np);
        }
    }
    ref_free(best_pat, best_n);
    return best;
}

/* ---- the target ------------------------------------------------------------------------- */

/* Matches path like the server's pipeline and checks the result against the reference. */
static void
check_match(const char *method, const char *path)
{
    size_t scratchlen = strlen(path) + ROUTER_MAX_SEGS + 1;
    char *scratch = malloc(scratchlen), *segs[REF_MAX_SEGS];
    router_result m;
    const route_entry *want;
    int rc, n, param = 0;

    FUZZ_CHECK(scratch != NULL, "out of memory");
    rc = router_match(table, method, path, scratch, scratchlen, &m);
    n = ref_split(path, 1, segs);
    want = n >= 0 ? ref_match(method, segs, n) : NULL;
    FUZZ_CHECK((rc == NT_OK) == (want != NULL), "%s %s: router %d, reference %s", method, path, rc,
               want != NULL ? want->path : "(none)");
    if (rc == NT_OK) {
        char *pat[REF_MAX_SEGS];
        int np = ref_split(m.route->path, 0, pat);
        FUZZ_CHECK(m.route == want, "%s %s: router chose %s, reference %s", method, path,
                   m.route->path, want->path);
        FUZZ_CHECK(np == n, "segment count");
        for (int k = 0; k < np; k++) {
            if (pat[k][0] != '{')
                continue;
            FUZZ_CHECK(param < m.route->nparams, "too many values");
            FUZZ_CHECK(m.values[param] >= scratch && m.values[param] < scratch + scratchlen,
                       "a value outside the scratch");
            FUZZ_CHECK(strcmp(m.values[param], segs[k]) == 0, "{%s} is '%s', want '%s'",
                       m.route->params[param], m.values[param], segs[k]);
            /* what the pipeline does next: ids must be UUIDs */
            (void)util_uuid_valid(m.values[param]);
            param++;
        }
        FUZZ_CHECK(param == m.route->nparams, "%d values for %d params", param, m.route->nparams);
        ref_free(pat, np);
    }
    if (n >= 0)
        ref_free(segs, n);
    free(scratch);
}

/* Reads query parameters through the core's req_query, as a handler would. */
static void
check_query(const char *query)
{
    const nt_host_api *api = hostapi_table();
    nt_req r;
    char first[64] = "";

    request_init(&r, NULL, NULL);
    r.query_raw = query;
    if (query != NULL) {
        size_t n = strcspn(query, "=&");
        snprintf(first, sizeof(first), "%.*s", (int)(n < sizeof(first) ? n : sizeof(first) - 1),
                 query);
    }
    for (size_t i = 0; i < sizeof(query_names) / sizeof(query_names[0]); i++) {
        const char *name = query_names[i][0] != '\0' ? query_names[i] : first;
        const char *v1 = api->req_query(&r, name), *v2 = api->req_query(&r, name);
        FUZZ_CHECK(v1 == v2, "req_query is not stable for '%s'", name);
        if (v1 != NULL)
            (void)strlen(v1);
    }
    request_fini(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *method, *path;
    char *target, *raw, *line;
    size_t n, scanned = 0;
    http_head h;

    if (size < 1)
        return 0;
    LLVMFuzzerInitialize(NULL, NULL);
    method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
    target = fuzz_text(data + 1, size - 1);
    /* The path and query as the server's parser gives them. */
    n = strlen(target) + 64;
    line = malloc(n);
    FUZZ_CHECK(line != NULL, "out of memory");
    n = (size_t)snprintf(line, n, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    if (http_parse_head(line, n, n, &scanned, &h) == HTTP_PARSE_DONE) {
        path = http_head_path(&h, line);
        if (strlen(path) + ROUTER_MAX_SEGS + 1 <= 8192)
            check_match(method, path);
        check_query(h.query != HTTP_NONE ? line + h.query : NULL);
    }
    free(line);
    /* The raw text up to '?' as a path, whatever the parser thinks of it. */
    raw = strdup(target);
    FUZZ_CHECK(raw != NULL, "out of memory");
    raw[strcspn(raw, "?#")] = '\0';
    check_match(method, raw);
    free(raw);
    free(target);
    return 0;
}
