/* Fuzz target: the request intake of every handler of the account, user and calendar
 * plugins: the real .so files of this build on the fake host (tests/support) with its
 * in-memory SQLite store, reset to the same seeded accounts, users and calendars before each
 * input. The input is text:
 *   line 1  "METHOD /api/v1/pattern" of a registered route (anything else picks a route by
 *           a hash of the line, so every input runs a handler);
 *   line 2  the principal: 'a' or 'b' for account A or B, then '1' or '2' for one of its
 *           users (an admin without); coerced to what the route's auth class lets through;
 *   line 3  the path parameters in pattern order, separated by '/', percent-encoded as in a
 *           URL; "@0".."@7" stand for the seeded ids (accounts, users, calendars, an unknown);
 *   line 4  the raw query string (may be empty);
 *   rest    the JSON body (ignored for GET).
 * Requests the core would refuse before the handler (a non-UUID id, a bad escape, a body
 * that is not a JSON object) are skipped. FUZZ_VERBOSE=1 prints each call and its result.
 *
 * Oracle: the reply keeps the ABI (fh_check_reply: a 2xx with a JSON object, or a negative
 * NT_E* code with a message from fail(); no transaction left open, no statement left, valid
 * SQL only); no storage error and no NT_ERR come out of client data; users and calendars in
 * a reply are well formed and belong to the caller's account (and user); the metadata side
 * tables still mirror the metadata of every row.
 */
#include "fakehost.h"
#include "fuzz.h"

#define ACC_A "aaaaaaaa-0000-4000-8000-000000000001"
#define ACC_B "bbbbbbbb-0000-4000-8000-000000000002"
#define USER_A1 "aaaaaaaa-1111-4000-8000-000000000001"
#define USER_A2 "aaaaaaaa-2222-4000-8000-000000000002"
#define USER_B1 "bbbbbbbb-1111-4000-8000-000000000001"
#define CAL_A1 "aaaaaaaa-cccc-4000-8000-000000000001"
#define CAL_B1 "bbbbbbbb-cccc-4000-8000-000000000001"
#define NO_SUCH "cccccccc-0000-4000-8000-000000000000"

static const char *const seeded_ids[] = {ACC_A,   ACC_B,  USER_A1, USER_A2,
                                         USER_B1, CAL_A1, CAL_B1,  NO_SUCH};

static const char seed_sql[] =
    "BEGIN;"
    "DELETE FROM account_accounts;"
    "INSERT INTO account_accounts (id, api_key_hash, public_jwt_key, key_version, webhook_url,"
    " webhook_key, created) VALUES"
    " ('" ACC_A "', '" /* 64 hex digits */
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', NULL, 0, NULL, NULL, 1),"
    " ('" ACC_B "', '"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', NULL, 0,"
    " 'https://example.com/hook', 'sk_webhookkey', 2);"
    "INSERT INTO user_users (id, account_id, metadata, created) VALUES"
    " ('" USER_A1 "', '" ACC_A "', '{\"team\":\"red\"}', 1),"
    " ('" USER_A2 "', '" ACC_A "', '{}', 2),"
    " ('" USER_B1 "', '" ACC_B "', '{\"team\":\"red\"}', 3);"
    "INSERT INTO user_metadata (entity_id, account_id, key, value) VALUES"
    " ('" USER_A1 "', '" ACC_A "', 'team', 'red'), ('" USER_B1 "', '" ACC_B "', 'team', 'red');"
    "INSERT INTO calendar_calendars (id, user_id, account_id, timezone, week_start, metadata,"
    " created) VALUES"
    " ('" CAL_A1 "', '" USER_A1 "', '" ACC_A "', 'UTC', 0, '{\"team\":\"red\"}', 1),"
    " ('" CAL_B1 "', '" USER_B1 "', '" ACC_B "', 'Europe/Oslo', 6, '{}', 2);"
    "INSERT INTO calendar_metadata (entity_id, account_id, key, value) VALUES"
    " ('" CAL_A1 "', '" ACC_A "', 'team', 'red');"
    "COMMIT;";

static fh_host *host;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const names[] = {"account", "user", "calendar", NULL};

    (void)argc;
    (void)argv;
    if (host != NULL)
        return 0;
    host = fh_new();
    FUZZ_CHECK(host != NULL, "fh_new");
    FUZZ_CHECK(fh_config_set(host, "account", "create_account_secret", "fuzz-secret") == NT_OK,
               "config");
    FUZZ_CHECK(fh_load_all(host, names) == NT_OK, "%s", fh_log(host));
    return 0;
}

/* ---- input parsing ---------------------------------------------------------------------- */

/* Cuts the next line off *p; an empty line when none is left (*p is then NULL). */
static char *
next_line(char **p)
{
    static char empty[1];
    char *line = *p, *nl;

    if (line == NULL)
        return empty;
    nl = strchr(line, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = NULL;
    }
    return line;
}

/* The route named by line (exactly "METHOD pattern"), or one picked by its hash. */
static const nt_route *
pick_route(const char *line)
{
    int n = fh_route_count(host);
    unsigned h = 5381;

    for (int i = 0; i < n; i++) {
        const nt_route *r = fh_route_at(host, i);
        size_t m = strlen(r->method);
        if (strncmp(line, r->method, m) == 0 && line[m] == ' ' &&
            strcmp(line + m + 1, r->path) == 0)
            return r;
    }
    for (const char *c = line; *c != '\0'; c++)
        h = h * 33 + (unsigned char)*c;
    return fh_route_at(host, (int)(h % (unsigned)n));
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes seg in place as the router does. 0, or -1 for what the router refuses (a
 * bad escape, %00) or cannot match (an empty segment). */
static int
decode_segment(char *seg)
{
    char *w = seg;

    if (seg[0] == '@' && seg[1] >= '0' && seg[1] <= '9' && seg[2] == '\0') {
        strcpy(seg, seeded_ids[(seg[1] - '0') % 8]);
        return 0;
    }
    for (const char *p = seg; *p != '\0'; p++) {
        char c = *p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi >= 0 ? hexval(p[2]) : -1;
            if (lo < 0 || hi * 16 + lo == 0)
                return -1;
            c = (char)(hi * 16 + lo);
            p += 2;
        }
        *w++ = c;
    }
    *w = '\0';
    return seg[0] != '\0' ? 0 : -1;
}

/* Adds the pattern's {param} values from line; -1 when the core would answer 404 first. */
static int
add_params(fh_req *q, const char *pattern, char *line)
{
    char name[64], *seg = line;

    for (const char *p = strchr(pattern, '{'); p != NULL; p = strchr(p + 1, '{')) {
        size_t n = strcspn(p + 1, "}");
        char *slash, *value;

        snprintf(name, sizeof(name), "%.*s", (int)n, p + 1);
        if (seg == NULL)
            return -1;
        slash = strchr(seg, '/');
        if (slash != NULL)
            *slash = '\0';
        /* room for an "@N" id */
        value = malloc(strlen(seg) + NT_UUID_BUF);
        FUZZ_CHECK(value != NULL, "out of memory");
        strcpy(value, seg);
        seg = slash != NULL ? slash + 1 : NULL;
        if (decode_segment(value) != 0 ||
            (n >= 2 && strncmp(p + 1 + n - 2, "Id", 2) == 0 && !fh_api()->uuid_valid(value))) {
            free(value);
            return -1;
        }
        FUZZ_CHECK(fh_req_add_param(q, name, value) == NT_OK, "out of memory");
        free(value);
    }
    return 0;
}

/* Sets the principal the route's auth class lets through for the line's choice. */
static void
set_principal(fh_req *q, const nt_route *r, const char *line)
{
    int b = line[0] == 'b';
    const char *acc = b ? ACC_B : ACC_A;
    const char *user = NULL;

    if (line[0] != '\0' && (line[1] == '1' || line[1] == '2'))
        user = b ? USER_B1 : line[1] == '1' ? USER_A1 : USER_A2;
    switch (r->auth) {
    case NT_AUTH_PUBLIC:
        acc = NULL;
        user = NULL;
        break;
    case NT_AUTH_ADMIN:
    case NT_AUTH_PUBLIC_ACCOUNT:
        user = NULL;
        break;
    case NT_AUTH_USER:
        if (user == NULL)
            user = b ? USER_B1 : USER_A1;
        break;
    default:
        break;
    }
    FUZZ_CHECK(fh_req_set_principal(q, acc, user) == NT_OK, "out of memory");
}

/* ---- checks after a call ----------------------------------------------------------------- */

/* Every row's metadata JSON equals its rows in the side table (same account). */
static void
check_side_table(const char *table, const char *side)
{
    sqlite3 *db = fh_sqlite(host);
    sqlite3_stmt *rows = NULL, *kv = NULL;
    char sql[256];

    snprintf(sql, sizeof(sql), "SELECT id, account_id, metadata FROM %s", table);
    FUZZ_CHECK(sqlite3_prepare_v2(db, sql, -1, &rows, NULL) == SQLITE_OK, "%s", sql);
    snprintf(sql, sizeof(sql),
             "SELECT key, value, account_id FROM %s WHERE entity_id = ?1 ORDER BY key", side);
    FUZZ_CHECK(sqlite3_prepare_v2(db, sql, -1, &kv, NULL) == SQLITE_OK, "%s", sql);
    while (sqlite3_step(rows) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(rows, 0);
        const char *acc = (const char *)sqlite3_column_text(rows, 1);
        const char *text = (const char *)sqlite3_column_text(rows, 2);
        json_t *meta = json_loads(text, 0, NULL);
        size_t n = 0;

        FUZZ_CHECK(json_is_object(meta), "%s %s: metadata '%s' is no object", table, id, text);
        sqlite3_bind_text(kv, 1, id, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(kv) == SQLITE_ROW) {
            const char *k = (const char *)sqlite3_column_text(kv, 0);
            const char *v = (const char *)sqlite3_column_text(kv, 1);
            json_t *want = json_object_get(meta, k);
            FUZZ_CHECK(json_is_string(want) && strcmp(json_string_value(want), v) == 0,
                       "%s %s: side table has %s=%s, the row %s", table, id, k, v, text);
            FUZZ_CHECK(strcmp((const char *)sqlite3_column_text(kv, 2), acc) == 0,
                       "%s %s: side table of another account", table, id);
            n++;
        }
        FUZZ_CHECK(n == json_object_size(meta), "%s %s: %zu side rows for %s", table, id, n, text);
        sqlite3_reset(kv);
        json_decref(meta);
    }
    sqlite3_finalize(rows);
    sqlite3_finalize(kv);
}

/* The account owning user or calendar `id`: the seeded owner, else the row's account;
 * NULL when unknown (a row made and deleted by this call). */
static const char *
owner_of(const char *table, const char *id, char buf[NT_UUID_BUF])
{
    static const char *const owners[][2] = {
        {USER_A1, ACC_A}, {USER_A2, ACC_A}, {USER_B1, ACC_B}, {CAL_A1, ACC_A}, {CAL_B1, ACC_B}};
    sqlite3_stmt *st = NULL;
    char sql[128];
    const char *found = NULL;

    for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++)
        if (strcmp(owners[i][0], id) == 0)
            return owners[i][1];
    snprintf(sql, sizeof(sql), "SELECT account_id FROM %s WHERE id = ?1", table);
    FUZZ_CHECK(sqlite3_prepare_v2(fh_sqlite(host), sql, -1, &st, NULL) == SQLITE_OK, "%s", sql);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(buf, NT_UUID_BUF, "%s", (const char *)sqlite3_column_text(st, 0));
        found = buf;
    }
    sqlite3_finalize(st);
    return found;
}

/* A metadata object of the reply: every value a string. */
static void
check_metadata(const json_t *m, const char *what)
{
    const char *k;
    json_t *v;

    FUZZ_CHECK(json_is_object(m), "%s: metadata is no object", what);
    json_object_foreach((json_t *)m, k, v)
    {
        FUZZ_CHECK(json_is_string(v), "%s: metadata.%s is no string", what, k);
    }
}

/* A user or calendar object of a 2xx reply: well formed, and of the caller's account (and
 * for an end user, a calendar of that user). */
static void
check_entity(const json_t *e, int is_calendar, const fh_req *q)
{
    const char *table = is_calendar ? "calendar_calendars" : "user_users";
    const char *id = json_string_value(json_object_get(e, "id"));
    const char *acc = fh_req_account(q), *owner;
    char buf[NT_UUID_BUF];

    FUZZ_CHECK(id != NULL && fh_api()->uuid_valid(id), "%s without a valid id", table);
    check_metadata(json_object_get(e, "metadata"), table);
    if (is_calendar) {
        const char *uid = json_string_value(json_object_get(e, "userId"));
        const json_t *set = json_object_get(e, "settings");
        FUZZ_CHECK(uid != NULL && fh_api()->uuid_valid(uid), "calendar without userId");
        FUZZ_CHECK(json_is_string(json_object_get(set, "timezone")) &&
                       json_is_string(json_object_get(set, "weekStart")),
                   "calendar settings");
        if (fh_req_user(q) != NULL)
            FUZZ_CHECK(strcmp(uid, fh_req_user(q)) == 0, "a calendar of another user");
    } else if (fh_req_user(q) != NULL) {
        FUZZ_CHECK(strcmp(id, fh_req_user(q)) == 0, "another user answered to an end user");
    }
    owner = owner_of(table, id, buf);
    if (acc != NULL && owner != NULL)
        FUZZ_CHECK(strcmp(owner, acc) == 0, "%s %s of account %s answered to account %s", table, id,
                   owner, acc);
}

/* The shape of a 2xx reply and the account its users and calendars belong to. */
static void
check_reply_body(const json_t *out, const fh_req *q)
{
    const json_t *v;
    size_t i;

    if ((v = json_object_get(out, "user")) != NULL)
        check_entity(v, 0, q);
    if ((v = json_object_get(out, "calendar")) != NULL)
        check_entity(v, 1, q);
    if ((v = json_object_get(out, "users")) != NULL) {
        FUZZ_CHECK(json_is_array(v), "users is no array");
        for (i = 0; i < json_array_size(v); i++)
            check_entity(json_array_get(v, i), 0, q);
    }
    if ((v = json_object_get(out, "calendars")) != NULL) {
        FUZZ_CHECK(json_is_array(v), "calendars is no array");
        for (i = 0; i < json_array_size(v); i++)
            check_entity(json_array_get(v, i), 1, q);
    }
    if ((v = json_object_get(out, "account")) != NULL) {
        const char *id = json_string_value(json_object_get(v, "id"));
        FUZZ_CHECK(id != NULL && fh_api()->uuid_valid(id), "account without a valid id");
        FUZZ_CHECK(fh_req_account(q) == NULL || strcmp(id, fh_req_account(q)) == 0,
                   "another account answered");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size), *p = text, *routeline, *who, *params, *query;
    const nt_route *r;
    const char *bad;
    json_t *out = NULL;
    fh_req *q;
    int rc;

    LLVMFuzzerInitialize(NULL, NULL);
    FUZZ_CHECK(sqlite3_exec(fh_sqlite(host), seed_sql, NULL, NULL, NULL) == SQLITE_OK,
               "seeding: %s", sqlite3_errmsg(fh_sqlite(host)));
    fh_clock_set(1700000000000LL, 1);
    routeline = next_line(&p);
    who = next_line(&p);
    params = next_line(&p);
    query = next_line(&p);
    r = pick_route(routeline);
    q = fh_req_new(host);
    FUZZ_CHECK(q != NULL, "out of memory");
    if (add_params(q, r->path, params) != 0)
        goto out;
    if (query[0] != '\0' && fh_req_parse_query(q, query) == NT_ENOMEM)
        goto out;
    if (strcmp(r->method, "GET") != 0 && p != NULL &&
        fh_req_set_body_text(q, p, size - (size_t)(p - text), FH_CORE_JSON_FLAGS) != NT_OK)
        goto out; /* the core answers 400 */
    set_principal(q, r, who);
    rc = fh_call(host, q, r->method, r->path, &out);
    if (getenv("FUZZ_VERBOSE") != NULL) /* to see what a corpus file reaches */
        fprintf(stderr, "%s %s -> %d %s\n", r->method, r->path, rc, fh_req_msg(q));
    bad = fh_check_reply(host, q, rc, out);
    FUZZ_CHECK(bad == NULL, "%s %s: %s (result %d, message '%s')", r->method, r->path, bad, rc,
               fh_req_msg(q));
    FUZZ_CHECK(rc >= 0 || fh_req_fail_code(q) != 0, "%s %s: storage error %d: %s", r->method,
               r->path, rc, fh_api()->db_errmsg(fh_db(host)));
    FUZZ_CHECK(rc != NT_ERR, "%s %s: internal error for client data: %s", r->method, r->path,
               fh_req_msg(q));
    FUZZ_CHECK(rc < 0 || out == NULL || json_is_object(out), "%s %s: a reply that is no object",
               r->method, r->path);
    if (rc >= 0 && out != NULL)
        check_reply_body(out, q);
    check_side_table("user_users", "user_metadata");
    check_side_table("calendar_calendars", "calendar_metadata");
out:
    json_decref(out);
    fh_req_free(q);
    free(text);
    return 0;
}
