/* Tests of the real calendar.so under a fake host: the plugin is loaded with dlopen, gets a
 * fake nt_host_api that records its routes and migrations and serves an in-memory SQLite
 * database, and its handlers are called directly (API.md A12 without A12.5).
 */
#include <check.h>
#include <dlfcn.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>

#define ACC_A "aaaaaaaa-0000-4000-8000-000000000001"
#define ACC_B "bbbbbbbb-0000-4000-8000-000000000002"
#define USER_A1 "aaaaaaaa-1111-4000-8000-000000000001"
#define USER_A2 "aaaaaaaa-2222-4000-8000-000000000002"
#define USER_B1 "bbbbbbbb-1111-4000-8000-000000000001"
#define NO_SUCH "cccccccc-0000-4000-8000-000000000000"

/* ---- the fake host ----------------------------------------------------------------------- */

struct fake_route {
    char method[8], path[96];
    nt_auth_kind auth;
    const char *perm; /* the first permission, or NULL */
    nt_handler_fn handler;
    void *state;
};

struct fake_req {
    const char *param_name, *param_value;
    const char *query[4][2];
    json_t *body;
    const char *account, *user;
    int fail_code;
    char msg[512];
};

static sqlite3 *db;
static struct fake_route routes[32];
static int nroutes;
static char *migrations[8];
static int nmigrations;
static int64_t clock_ms;
static void *dl;
static const nt_plugin_desc *desc;
static void *plugin_state;
static char fake_plugin; /* stands for the host's nt_plugin */

static void
fake_log(nt_plugin *p, nt_log_level lvl, const char *fmt, ...)
{
    (void)p;
    (void)lvl;
    (void)fmt;
}

static void
fake_init_error(nt_plugin *p, const char *fmt, ...)
{
    va_list ap;

    (void)p;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int
fake_cfg_check_keys(nt_plugin *p, const nt_config *c, const char *const *known)
{
    return NT_OK;
}

static int
fake_route_add(nt_plugin *p, const nt_route *r)
{
    struct fake_route *f = &routes[nroutes++];

    ck_assert_int_le(nroutes, 32);
    ck_assert_uint_eq(r->size, sizeof(nt_route));
    snprintf(f->method, sizeof(f->method), "%s", r->method);
    snprintf(f->path, sizeof(f->path), "%s", r->path);
    f->auth = r->auth;
    f->perm = r->perms != NULL ? r->perms[0] : NULL;
    f->handler = r->handler;
    f->state = r->state;
    return NT_OK;
}

static int
fake_migration_add(nt_plugin *p, const nt_migration *m)
{
    ck_assert_int_eq(m->version, nmigrations + 1);
    migrations[nmigrations++] = strdup(m->sql);
    return NT_OK;
}

static const char *
fake_req_param(nt_req *r, const char *name)
{
    struct fake_req *q = (struct fake_req *)r;

    return q->param_name != NULL && strcmp(q->param_name, name) == 0 ? q->param_value : NULL;
}

static const char *
fake_req_query(nt_req *r, const char *name)
{
    struct fake_req *q = (struct fake_req *)r;

    for (int i = 0; i < 4 && q->query[i][0] != NULL; i++)
        if (strcmp(q->query[i][0], name) == 0)
            return q->query[i][1];
    return NULL;
}

static json_t *
fake_req_body(nt_req *r)
{
    return ((struct fake_req *)r)->body;
}

static nt_db *
fake_req_db(nt_req *r)
{
    return (nt_db *)db;
}

static const char *
fake_req_account(nt_req *r)
{
    return ((struct fake_req *)r)->account;
}

static const char *
fake_req_user(nt_req *r)
{
    return ((struct fake_req *)r)->user;
}

static int
fake_fail(nt_req *r, int code, const char *fmt, ...)
{
    struct fake_req *q = (struct fake_req *)r;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(q->msg, sizeof(q->msg), fmt, ap);
    va_end(ap);
    q->fail_code = code;
    return code;
}

/* $N parameters become ?N, which SQLite binds by number. */
static nt_stmt *
fake_db_prepare(nt_db *d, const char *sql)
{
    char buf[2048];
    sqlite3_stmt *st = NULL;
    size_t n = strlen(sql);

    ck_assert_uint_lt(n, sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = sql[i] == '$' ? '?' : sql[i];
    if (sqlite3_prepare_v2((sqlite3 *)d, buf, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return (nt_stmt *)st;
}

static int
fake_rc(int rc)
{
    return rc == SQLITE_OK ? NT_OK : rc == SQLITE_CONSTRAINT ? NT_ECONFLICT : NT_ERR;
}

static int
fake_bind_text(nt_stmt *s, int i, const char *v)
{
    return fake_rc(sqlite3_bind_text((sqlite3_stmt *)s, i, v, -1, SQLITE_TRANSIENT));
}

static int
fake_bind_int64(nt_stmt *s, int i, int64_t v)
{
    return fake_rc(sqlite3_bind_int64((sqlite3_stmt *)s, i, v));
}

static int
fake_bind_null(nt_stmt *s, int i)
{
    return fake_rc(sqlite3_bind_null((sqlite3_stmt *)s, i));
}

static int
fake_step(nt_stmt *s)
{
    int rc = sqlite3_step((sqlite3_stmt *)s);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return (rc & 0xff) == SQLITE_CONSTRAINT ? NT_ECONFLICT : NT_ERR;
}

static const char *
fake_col_text(nt_stmt *s, int col)
{
    return (const char *)sqlite3_column_text((sqlite3_stmt *)s, col);
}

static int64_t
fake_col_int64(nt_stmt *s, int col)
{
    return sqlite3_column_int64((sqlite3_stmt *)s, col);
}

static int
fake_col_is_null(nt_stmt *s, int col)
{
    return sqlite3_column_type((sqlite3_stmt *)s, col) == SQLITE_NULL;
}

static void
fake_finalize(nt_stmt *s)
{
    sqlite3_finalize((sqlite3_stmt *)s);
}

static int
fake_exec(nt_db *d, const char *sql)
{
    return fake_rc(sqlite3_exec((sqlite3 *)d, sql, NULL, NULL, NULL));
}

static int
fake_begin(nt_db *d)
{
    return fake_exec(d, "BEGIN IMMEDIATE");
}

static int
fake_commit(nt_db *d)
{
    return fake_exec(d, "COMMIT");
}

static int
fake_rollback(nt_db *d)
{
    return sqlite3_get_autocommit((sqlite3 *)d) ? NT_OK : fake_exec(d, "ROLLBACK");
}

static const char *
fake_errmsg(nt_db *d)
{
    return sqlite3_errmsg((sqlite3 *)d);
}

static int
fake_uuid_new(char out[NT_UUID_BUF])
{
    unsigned char b[16];

    sqlite3_randomness(sizeof(b), b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, NT_UUID_BUF,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return NT_OK;
}

static int64_t
fake_now_ms(void)
{
    return ++clock_ms;
}

static int
fake_json_get_metadata(nt_req *r, const json_t *obj, const char *key, int required, json_t **out,
                       int *present)
{
    json_t *v = json_object_get(obj, key), *item;
    const char *k;

    if (present != NULL)
        *present = 0;
    if (v == NULL || json_is_null(v))
        return required ? fake_fail(r, NT_EINVAL, "%s: required", key) : NT_OK;
    if (!json_is_object(v))
        return fake_fail(r, NT_EINVAL, "%s: expected an object of strings", key);
    json_object_foreach(v, k, item)
    {
        if (!json_is_string(item))
            return fake_fail(r, NT_EINVAL, "%s.%s: expected a string", key, k);
    }
    *out = v;
    if (present != NULL)
        *present = 1;
    return NT_OK;
}

static const nt_host_api fake_api = {
    .size = sizeof(nt_host_api),
    .abi_major = NT_ABI_MAJOR,
    .abi_minor = NT_ABI_MINOR,
    .log = fake_log,
    .init_error = fake_init_error,
    .cfg_check_keys = fake_cfg_check_keys,
    .route_add = fake_route_add,
    .migration_add = fake_migration_add,
    .req_param = fake_req_param,
    .req_query = fake_req_query,
    .req_body = fake_req_body,
    .req_db = fake_req_db,
    .req_account = fake_req_account,
    .req_user = fake_req_user,
    .fail = fake_fail,
    .db_prepare = fake_db_prepare,
    .db_bind_text = fake_bind_text,
    .db_bind_int64 = fake_bind_int64,
    .db_bind_null = fake_bind_null,
    .db_step = fake_step,
    .db_col_text = fake_col_text,
    .db_col_int64 = fake_col_int64,
    .db_col_is_null = fake_col_is_null,
    .db_finalize = fake_finalize,
    .db_exec = fake_exec,
    .db_begin = fake_begin,
    .db_commit = fake_commit,
    .db_rollback = fake_rollback,
    .db_errmsg = fake_errmsg,
    .uuid_new = fake_uuid_new,
    .now_ms = fake_now_ms,
    .json_get_metadata = fake_json_get_metadata,
};

/* ---- fixture ----------------------------------------------------------------------------- */

static void
setup(void)
{
    const nt_plugin_desc *(*entry)(void);
    char path[512];

    snprintf(path, sizeof(path), "%s/calendar.so", NETTU_TEST_PLUGIN_DIR);
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(dl != NULL, "dlopen %s: %s", path, dlerror());
    *(void **)&entry = dlsym(dl, NT_PLUGIN_ENTRY_SYMBOL);
    ck_assert(entry != NULL);
    desc = entry();
    ck_assert_uint_eq(desc->magic, NT_ABI_MAGIC);
    ck_assert_str_eq(desc->name, "calendar");

    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(db,
                     "PRAGMA foreign_keys = ON;"
                     "CREATE TABLE account_accounts (id TEXT PRIMARY KEY);"
                     "CREATE TABLE user_users (id TEXT PRIMARY KEY, account_id TEXT NOT NULL "
                     " REFERENCES account_accounts(id) ON DELETE CASCADE,"
                     " metadata TEXT NOT NULL, created BIGINT NOT NULL);"
                     "INSERT INTO account_accounts VALUES ('" ACC_A "'), ('" ACC_B "');"
                     "INSERT INTO user_users VALUES ('" USER_A1 "', '" ACC_A "', '{}', 1),"
                     " ('" USER_A2 "', '" ACC_A "', '{}', 2), ('" USER_B1 "', '" ACC_B
                     "', '{}', 3);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    nroutes = nmigrations = 0;
    clock_ms = 1000;
    ck_assert_int_eq(desc->init((nt_plugin *)&fake_plugin, &fake_api, NULL, &plugin_state), NT_OK);
    for (int i = 0; i < nmigrations; i++)
        ck_assert_int_eq(sqlite3_exec(db, migrations[i], NULL, NULL, NULL), SQLITE_OK);
}

static void
teardown(void)
{
    if (desc != NULL && desc->fini != NULL)
        desc->fini(plugin_state);
    for (int i = 0; i < nmigrations; i++)
        free(migrations[i]);
    nmigrations = 0;
    sqlite3_close(db);
    db = NULL;
    if (dl != NULL)
        dlclose(dl);
    dl = NULL;
    desc = NULL;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static const struct fake_route *
route(const char *method, const char *path)
{
    for (int i = 0; i < nroutes; i++)
        if (strcmp(routes[i].method, method) == 0 && strcmp(routes[i].path, path) == 0)
            return &routes[i];
    ck_abort_msg("no route %s %s", method, path);
    return NULL;
}

/* Calls the handler of method+path as `user` (NULL = admin) of `account`, with an optional
 * path parameter and JSON body text. Returns the status or code; *out gets the reply. */
static int
call(const char *method, const char *path, const char *account, const char *user,
     const char *param_name, const char *param_value, const char *body, json_t **out, char *msg)
{
    const struct fake_route *r = route(method, path);
    struct fake_req q = {0};
    int rc;

    q.param_name = param_name;
    q.param_value = param_value;
    q.account = account;
    q.user = user;
    q.body = body != NULL ? json_loads(body, 0, NULL) : json_object();
    ck_assert(q.body != NULL);
    *out = NULL;
    rc = r->handler((nt_req *)&q, r->state, out);
    json_decref(q.body);
    if (rc < 0) {
        ck_assert_msg(*out == NULL, "%s %s: a reply with an error", method, path);
        ck_assert_msg(q.fail_code == rc, "%s %s: %d without fail()", method, path, rc);
    }
    if (msg != NULL)
        snprintf(msg, 512, "%s", q.msg);
    ck_assert_int_eq(sqlite3_get_autocommit(db), 1); /* no transaction left open */
    return rc;
}

/* Creates a calendar as admin of ACC_A for `user`; returns its id (malloc'd). */
static char *
create_admin(const char *user, const char *body)
{
    json_t *out;
    char *id;
    int rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", user, body, &out,
                  NULL);

    ck_assert_int_eq(rc, 201);
    id = strdup(json_string_value(json_object_get(json_object_get(out, "calendar"), "id")));
    json_decref(out);
    return id;
}

static int64_t
count(const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n;

    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Checks that *out is {"calendar": C} and that C equals the expected JSON text, id aside. */
static void
expect_calendar(json_t *out, const char *id, const char *want_text)
{
    json_t *cal = json_object_get(out, "calendar");
    json_t *want = json_loads(want_text, 0, NULL);

    ck_assert(want != NULL);
    ck_assert_int_eq(json_object_size(out), 1);
    ck_assert(cal != NULL);
    if (id != NULL)
        ck_assert_str_eq(json_string_value(json_object_get(cal, "id")), id);
    json_object_set(want, "id", json_object_get(cal, "id"));
    ck_assert_msg(json_equal(cal, want), "got %s", json_dumps(cal, JSON_SORT_KEYS | JSON_COMPACT));
    json_decref(want);
}

/* ---- tests ------------------------------------------------------------------------------- */

START_TEST(test_routes)
{
    static const struct {
        const char *method, *path;
        nt_auth_kind auth;
        const char *perm;
    } want[] = {
        {"POST", "/api/v1/calendar", NT_AUTH_USER, "CreateCalendar"},
        {"POST", "/api/v1/user/{userId}/calendar", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, NULL},
        {"GET", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL},
        {"PUT", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, "UpdateCalendar"},
        {"PUT", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL},
        {"DELETE", "/api/v1/calendar/{calendarId}", NT_AUTH_USER, "DeleteCalendar"},
        {"DELETE", "/api/v1/user/calendar/{calendarId}", NT_AUTH_ADMIN, NULL},
        {"GET", "/api/v1/calendar/meta", NT_AUTH_ADMIN, NULL},
    };

    ck_assert_int_eq(nroutes, (int)(sizeof(want) / sizeof(want[0])));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct fake_route *r = route(want[i].method, want[i].path);
        ck_assert_int_eq(r->auth, want[i].auth);
        if (want[i].perm == NULL)
            ck_assert(r->perm == NULL);
        else
            ck_assert_str_eq(r->perm, want[i].perm);
    }
    ck_assert_int_eq(nmigrations, 1);
}
END_TEST

START_TEST(test_create)
{
    json_t *out;
    char msg[512];
    int rc;

    /* admin, for a user of the account; weekStart as a number */
    rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", USER_A1,
              "{\"timezone\":\"Europe/Oslo\",\"weekStart\":3,\"metadata\":{\"team\":\"red\"}}",
              &out, NULL);
    ck_assert_int_eq(rc, 201);
    expect_calendar(out, NULL,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Thu\","
                    "\"timezone\":\"Europe/Oslo\"},\"metadata\":{\"team\":\"red\"}}");
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata WHERE key = 'team' AND "
                           "value = 'red' AND account_id = '" ACC_A "'"),
                     1);

    /* end user, for itself; weekStart as a long name; metadata defaults to {} */
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A2, NULL, NULL,
              "{\"timezone\":\"UTC\",\"weekStart\":\"sunday\"}", &out, NULL);
    ck_assert_int_eq(rc, 201);
    expect_calendar(out, NULL,
                    "{\"userId\":\"" USER_A2 "\",\"settings\":{\"weekStart\":\"Sun\","
                    "\"timezone\":\"UTC\"},\"metadata\":{}}");
    json_decref(out);

    /* default weekStart */
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A2, NULL, NULL, "{\"timezone\":\"UTC\"}",
              &out, NULL);
    ck_assert_int_eq(rc, 201);
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(out, "calendar"), "settings"), "weekStart")),
        "Mon");
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 3);

    /* a user of another account, or no user at all: 404 */
    rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", USER_B1,
              "{\"timezone\":\"UTC\"}", &out, msg);
    ck_assert_int_eq(rc, NT_ENOTFOUND);
    ck_assert_msg(strncmp(msg, "userId:", 7) == 0, "%s", msg);
    rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", NO_SUCH,
              "{\"timezone\":\"UTC\"}", &out, NULL);
    ck_assert_int_eq(rc, NT_ENOTFOUND);

    /* bad bodies: 400 and nothing stored */
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A1, NULL, NULL,
              "{\"timezone\":\"Mars/Olympus\"}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    ck_assert_str_eq(msg, "timezone: unknown IANA time zone 'Mars/Olympus'");
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A1, NULL, NULL, "{}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    ck_assert_str_eq(msg, "timezone: required");
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A1, NULL, NULL,
              "{\"timezone\":\"UTC\",\"weekStart\":7}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    rc = call("POST", "/api/v1/calendar", ACC_A, USER_A1, NULL, NULL,
              "{\"timezone\":\"UTC\",\"weekStart\":\"Mo\"}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    rc = call("POST", "/api/v1/user/{userId}/calendar", ACC_A, NULL, "userId", USER_A1,
              "{\"timezone\":\"UTC\",\"metadata\":{\"a\":1}}", &out, msg);
    ck_assert_int_eq(rc, NT_EINVAL);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 3);
}
END_TEST

START_TEST(test_get_scope)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\"}");
    json_t *out;

    ck_assert_int_eq(call("GET", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          NULL, &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{}}");
    json_decref(out);
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     200);
    json_decref(out);
    /* another user of the account, another account, an unknown id: 404 */
    ck_assert_int_eq(call("GET", "/api/v1/calendar/{calendarId}", ACC_A, USER_A2, "calendarId", id,
                          NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", "/api/v1/calendar/{calendarId}", ACC_B, USER_B1, "calendarId", id,
                          NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_B, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          NO_SUCH, NULL, &out, NULL),
                     NT_ENOTFOUND);
    free(id);
}
END_TEST

START_TEST(test_update)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");
    json_t *out;
    char msg[512];

    /* flat form of the end-user client */
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          "{\"timezone\":\"Europe/Berlin\",\"weekStart\":6}", &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Sun\","
                    "\"timezone\":\"Europe/Berlin\"},\"metadata\":{\"k\":\"v\"}}");
    json_decref(out);

    /* nested form of the admin client; metadata replaces */
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id,
                          "{\"settings\":{\"timezone\":\"Asia/Tokyo\",\"weekStart\":\"Tue\"},"
                          "\"metadata\":{\"x\":\"y\"}}",
                          &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Tue\","
                    "\"timezone\":\"Asia/Tokyo\"},\"metadata\":{\"x\":\"y\"}}");
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata"), 1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata WHERE key = 'x'"), 1);

    /* both: settings wins; no settings change and no metadata: nothing changes */
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id,
                          "{\"settings\":{\"weekStart\":0},\"weekStart\":4,"
                          "\"timezone\":\"UTC\"}",
                          &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{\"x\":\"y\"}}");
    json_decref(out);
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          "{}", &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{\"x\":\"y\"}}");
    json_decref(out);

    /* any 400 changes nothing, even when other fields were fine */
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          "{\"timezone\":\"Mars/Olympus\",\"weekStart\":3}", &out, msg),
                     NT_EINVAL);
    ck_assert_str_eq(msg, "timezone: unknown IANA time zone 'Mars/Olympus'");
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId", id,
                          "{\"timezone\":\"GMT\",\"metadata\":{\"n\":2}}", &out, msg),
                     NT_EINVAL);
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, "{\"settings\":{\"weekStart\":7}}", &out, msg),
                     NT_EINVAL);
    ck_assert_msg(strncmp(msg, "settings.weekStart:", 19) == 0, "%s", msg);
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, "{\"settings\":5}", &out, msg),
                     NT_EINVAL);
    /* a bad body of a calendar that is not the caller's is still a 400 (body first) */
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A2, "calendarId", id,
                          "{\"weekStart\":\"Mo\"}", &out, msg),
                     NT_EINVAL);
    ck_assert_int_eq(call("GET", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{\"x\":\"y\"}}");
    json_decref(out);

    /* not owned: 404 */
    ck_assert_int_eq(call("PUT", "/api/v1/calendar/{calendarId}", ACC_A, USER_A2, "calendarId", id,
                          "{\"timezone\":\"GMT\"}", &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("PUT", "/api/v1/user/calendar/{calendarId}", ACC_B, NULL, "calendarId",
                          id, "{\"timezone\":\"GMT\"}", &out, NULL),
                     NT_ENOTFOUND);
    free(id);
}
END_TEST

START_TEST(test_delete)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");
    char *id2 = create_admin(USER_A1, "{\"timezone\":\"UTC\"}");
    json_t *out;

    ck_assert_int_eq(call("DELETE", "/api/v1/calendar/{calendarId}", ACC_A, USER_A2, "calendarId",
                          id, NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("DELETE", "/api/v1/user/calendar/{calendarId}", ACC_B, NULL, "calendarId",
                          id, NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(call("DELETE", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId",
                          id, NULL, &out, NULL),
                     200);
    expect_calendar(out, id,
                    "{\"userId\":\"" USER_A1 "\",\"settings\":{\"weekStart\":\"Mon\","
                    "\"timezone\":\"UTC\"},\"metadata\":{\"k\":\"v\"}}");
    json_decref(out);
    ck_assert_int_eq(call("DELETE", "/api/v1/calendar/{calendarId}", ACC_A, USER_A1, "calendarId",
                          id, NULL, &out, NULL),
                     NT_ENOTFOUND);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata"), 0);
    ck_assert_int_eq(call("DELETE", "/api/v1/user/calendar/{calendarId}", ACC_A, NULL, "calendarId",
                          id2, NULL, &out, NULL),
                     200);
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 0);
    free(id);
    free(id2);
}
END_TEST

START_TEST(test_user_cascade)
{
    char *id = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"k\":\"v\"}}");

    ck_assert_int_eq(
        sqlite3_exec(db, "DELETE FROM user_users WHERE id = '" USER_A1 "'", NULL, NULL, NULL),
        SQLITE_OK);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_calendars"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM calendar_metadata"), 0);
    free(id);
}
END_TEST

/* Runs GET /calendar/meta as admin of `account` with the given query; returns the status. */
static int
meta(const char *account, const char *key, const char *value, const char *skip, const char *limit,
     json_t **out, char *msg)
{
    const struct fake_route *r = route("GET", "/api/v1/calendar/meta");
    struct fake_req q = {0};
    int i = 0, rc;

    const char *pairs[4][2] = {{"key", key}, {"value", value}, {"skip", skip}, {"limit", limit}};

    for (int k = 0; k < 4; k++) {
        if (pairs[k][1] != NULL) {
            q.query[i][0] = pairs[k][0];
            q.query[i++][1] = pairs[k][1];
        }
    }
    q.account = account;
    q.body = json_object();
    *out = NULL;
    rc = r->handler((nt_req *)&q, r->state, out);
    json_decref(q.body);
    if (msg != NULL)
        snprintf(msg, 512, "%s", q.msg);
    return rc;
}

START_TEST(test_meta)
{
    char *ids[3];
    json_t *out, *list;
    char msg[512];

    ids[0] = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\"}}");
    ids[1] =
        create_admin(USER_A2, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\",\"x\":\"1\"}}");
    ids[2] = create_admin(USER_A1, "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"blue\"}}");
    ck_assert_int_eq(call("POST", "/api/v1/calendar", ACC_B, USER_B1, NULL, NULL,
                          "{\"timezone\":\"UTC\",\"metadata\":{\"team\":\"red\"}}", &out, NULL),
                     201);
    json_decref(out);

    ck_assert_int_eq(meta(ACC_A, "team", "red", NULL, NULL, &out, NULL), 200);
    list = json_object_get(out, "calendars");
    ck_assert_int_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), ids[0]);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), ids[1]);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(list, 1), "metadata"), "x")),
                     "1");
    json_decref(out);

    ck_assert_int_eq(meta(ACC_A, "team", "red", "1", "5", &out, NULL), 200);
    list = json_object_get(out, "calendars");
    ck_assert_int_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), ids[1]);
    json_decref(out);
    ck_assert_int_eq(meta(ACC_A, "team", "red", "0", "1", &out, NULL), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "calendars")), 1);
    json_decref(out);
    ck_assert_int_eq(meta(ACC_A, "team", "green", NULL, NULL, &out, NULL), 200);
    ck_assert_int_eq(json_array_size(json_object_get(out, "calendars")), 0);
    json_decref(out);

    ck_assert_int_eq(meta(ACC_A, NULL, "red", NULL, NULL, &out, msg), NT_EINVAL);
    ck_assert(out == NULL);
    ck_assert_int_eq(meta(ACC_A, "team", "red", "undefined", NULL, &out, msg), NT_EINVAL);
    ck_assert(out == NULL);
    for (int i = 0; i < 3; i++)
        free(ids[i]);
}
END_TEST

static Suite *
calendar_plugin_suite(void)
{
    Suite *s = suite_create("calendar_plugin");
    TCase *tc = tcase_create("handlers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_routes);
    tcase_add_test(tc, test_create);
    tcase_add_test(tc, test_get_scope);
    tcase_add_test(tc, test_update);
    tcase_add_test(tc, test_delete);
    tcase_add_test(tc, test_user_cascade);
    tcase_add_test(tc, test_meta);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(calendar_plugin_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
