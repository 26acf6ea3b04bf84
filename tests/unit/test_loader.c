/* Unit tests of plugin admission and lifecycle, with fixture plugins built to be broken in
 * one way each, and of migrations through the real store_sqlite plugin. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettu/services.h>

#include "config.h"
#include "hostapi.h"
#include "loader.h"
#include "migrate.h"
#include "request.h"
#include "router.h"
#include "service.h"

static char *
fixture(const char *name)
{
    static char path[1024];

    snprintf(path, sizeof(path), "%s/%s.so", NETTU_TEST_FIXTURE_DIR, name);
    return path;
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define ABI_NOW STR(NT_ABI_MAJOR) "." STR(NT_ABI_MINOR)

/* The fixtures claim major + 1 and minor + 1; the host names both versions. */
static const struct {
    const char *name, *expect1, *expect2;
} refusals[] = {
    {"fx_badmagic", "bad descriptor magic 0xdeadbeef (expected 0x4e54504c)", NULL},
    {"fx_major", "this server speaks ABI " ABI_NOW, "major versions"},
    {"fx_minor", "newer than this server's ABI " ABI_NOW, NULL},
    {"fx_short", "descriptor too short: 8 bytes", "plugin ABI " ABI_NOW},
    {"fx_noentry", "no entry symbol nt_plugin_entry", NULL},
    {"fx_missing", "plugin file not found", NULL},
};

START_TEST(test_refused)
{
    nt_plugin *p = NULL;
    char err[1024] = "";
    const char *file = fixture(refusals[_i].name);

    ck_assert_int_eq(loader_admit(file, refusals[_i].name, &p, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(err, file) != NULL, "message must name the file: %s", err);
    ck_assert_msg(strstr(err, refusals[_i].expect1) != NULL, "got: %s", err);
    if (refusals[_i].expect2 != NULL)
        ck_assert_msg(strstr(err, refusals[_i].expect2) != NULL, "got: %s", err);
    if (strcmp(refusals[_i].name, "fx_major") == 0) {
        char other[64];
        snprintf(other, sizeof(other), "built for plugin ABI %d.%d", NT_ABI_MAJOR + 1,
                 NT_ABI_MINOR);
        ck_assert_msg(strstr(err, other) != NULL, "plugin's version missing: %s", err);
    }
    if (strcmp(refusals[_i].name, "fx_minor") == 0) {
        char other[64];
        snprintf(other, sizeof(other), "built for plugin ABI %d.%d", NT_ABI_MAJOR,
                 NT_ABI_MINOR + 1);
        ck_assert_msg(strstr(err, other) != NULL, "plugin's version missing: %s", err);
    }
}
END_TEST

START_TEST(test_admitted)
{
    nt_plugin *p = NULL;
    char err[1024] = "";

    ck_assert_int_eq(loader_admit(fixture("fx_good"), "fx_good", &p, err, sizeof(err)), NT_OK);
    ck_assert_str_eq(p->desc->name, "fx_good");
    loader_plugin_free(p);
    /* The name in the descriptor must be the name it was loaded as. */
    ck_assert_int_eq(loader_admit(fixture("fx_good"), "other", &p, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "calls itself 'fx_good', expected 'other'"));
}
END_TEST

START_TEST(test_world_writable_refused)
{
    char tmpl[] = "/tmp/nettu-fx-XXXXXX", file[1200], cmd[2600], err[1024] = "";
    nt_plugin *p = NULL;

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(file, sizeof(file), "%s/fx_good.so", tmpl);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", fixture("fx_good"), file);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(chmod(file, 0666), 0);
    ck_assert_int_eq(loader_admit(file, "fx_good", &p, err, sizeof(err)), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "world-writable"));
    unlink(file);
    rmdir(tmpl);
}
END_TEST

static void
errors_to(cfg *c, char *buf, size_t n)
{
    FILE *f = fmemopen(buf, n, "w");
    FILE *saved = stderr;

    stderr = f;
    cfg_print_errors(c);
    stderr = saved;
    fclose(f);
}

START_TEST(test_init_failure_drops_registrations)
{
    cfg *c = cfg_load_string("t.ini", "[plugins]\nload = x\n");
    char *names[] = {"fx_initfail", "fx_good"};
    loader l = {0};
    char buf[2048] = "";

    ck_assert_int_eq(loader_load_all(&l, c, NETTU_TEST_FIXTURE_DIR, names, 2), NT_EINVAL);
    ck_assert_int_eq(l.n, 1); /* only fx_good */
    ck_assert_str_eq(l.plugins[0]->name, "fx_good");
    /* fx_initfail's route was dropped; fx_good's stays. */
    ck_assert_uint_eq(router_count(hostapi_router()), 1);
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "fx_initfail.so: init failed"));
    ck_assert_ptr_nonnull(strstr(buf, "fixture refuses to start"));
    loader_unload_all(&l);
    ck_assert_uint_eq(router_count(hostapi_router()), 0);
    hostapi_shutdown();
    cfg_free(c);
}
END_TEST

START_TEST(test_unknown_plugin_key)
{
    cfg *c = cfg_load_string("k.ini", "[plugins]\nload = x\n[fx_good]\ngreting = hi\n");
    char *names[] = {"fx_good"};
    loader l = {0};
    char buf[2048] = "";

    ck_assert_int_eq(loader_load_all(&l, c, NETTU_TEST_FIXTURE_DIR, names, 1), NT_EINVAL);
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "k.ini:4: [fx_good] greting: unknown key"));
    loader_unload_all(&l);
    hostapi_shutdown();
    cfg_free(c);
}
END_TEST

/* Loads store_sqlite and fx_good, runs migrations twice (the second run applies nothing),
 * and checks the fixture's table and the migrations table. */
START_TEST(test_migrations)
{
    char tmpl[] = "/tmp/nettu-mig-XXXXXX", ini[2048], buf[2048] = "", err[256];
    char *names[] = {"store_sqlite", "fx_good"};
    loader l = {0}, l2 = {0};
    const nt_store_v1 *st;
    void *state;
    nt_db *db;
    nt_stmt *s;
    cfg *c;

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(ini, sizeof(ini), "[plugins]\nload = x\n[store_sqlite]\npath = %s/db.sqlite\n", tmpl);
    c = cfg_load_string("m.ini", ini);
    hostapi_set_config(c);
    /* store_sqlite lives in the plugin dir, fx_good in the fixture dir: load one by one. */
    ck_assert_int_eq(loader_load_all(&l, c, NETTU_TEST_PLUGIN_DIR, names, 1), NT_OK);
    ck_assert_int_eq(loader_load_all(&l2, c, NETTU_TEST_FIXTURE_DIR, names + 1, 1), NT_OK);
    errors_to(c, buf, sizeof(buf));
    st = service_lookup(NT_SERVICE_STORE, "sqlite", NT_STORE_V1, &state);
    ck_assert_ptr_nonnull(st);
    db = st->conn_open(state, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_int_eq(migrate_run(st, db, &l2), NT_OK);
    ck_assert_int_eq(migrate_run(st, db, &l2), NT_OK); /* idempotent */
    s = st->prepare(db, "SELECT COUNT(*) FROM fx_things");
    ck_assert_int_eq(st->step(s), 1);
    ck_assert_int_eq(st->col_int64(s, 0), 1); /* the INSERT ran once */
    st->finalize(s);
    s = st->prepare(db, "SELECT plugin, version FROM nettu_migrations ORDER BY plugin");
    ck_assert_int_eq(st->step(s), 1);
    ck_assert_str_eq(st->col_text(s, 0), "core"); /* the server's own table (idem.c) */
    ck_assert_int_eq(st->col_int64(s, 1), 1);
    ck_assert_int_eq(st->step(s), 1);
    ck_assert_str_eq(st->col_text(s, 0), "fx_good");
    ck_assert_int_eq(st->col_int64(s, 1), 1);
    ck_assert_int_eq(st->step(s), 0);
    st->finalize(s);
    st->conn_close(db);
    loader_unload_all(&l2);
    loader_unload_all(&l);
    service_clear();
    hostapi_shutdown();
    cfg_free(c);
    snprintf(ini, sizeof(ini), "rm -rf '%s'", tmpl);
    ck_assert_int_eq(system(ini), 0);
}
END_TEST

/* A migration whose SQL fails is rolled back entirely and not recorded. */
START_TEST(test_failing_migration_rolls_back)
{
    char tmpl[] = "/tmp/nettu-mig-XXXXXX", ini[2048], err[256];
    char *names[] = {"store_sqlite"};
    loader l = {0};
    const nt_store_v1 *st;
    void *state;
    nt_db *db;
    nt_stmt *s;
    cfg *c;
    nt_plugin fake;
    loader lf = {0};
    nt_plugin *arr[1];

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(ini, sizeof(ini), "[plugins]\nload = x\n[store_sqlite]\npath = %s/db.sqlite\n", tmpl);
    c = cfg_load_string("m.ini", ini);
    ck_assert_int_eq(loader_load_all(&l, c, NETTU_TEST_PLUGIN_DIR, names, 1), NT_OK);
    st = service_lookup(NT_SERVICE_STORE, "sqlite", NT_STORE_V1, &state);
    db = st->conn_open(state, err, sizeof(err));
    ck_assert_ptr_nonnull(db);
    memset(&fake, 0, sizeof(fake));
    snprintf(fake.name, sizeof(fake.name), "fake");
    loader_migration m = {1, (char *)"CREATE TABLE fake_a (x INTEGER); THIS IS NOT SQL;"};
    fake.migs = &m;
    fake.nmigs = 1;
    arr[0] = &fake;
    lf.plugins = arr;
    lf.n = 1;
    ck_assert_int_ne(migrate_run(st, db, &lf), NT_OK);
    s = st->prepare(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'fake_a'");
    ck_assert_int_eq(st->step(s), 1);
    ck_assert_int_eq(st->col_int64(s, 0), 0);
    st->finalize(s);
    s = st->prepare(db, "SELECT COUNT(*) FROM nettu_migrations WHERE plugin <> 'core'");
    ck_assert_int_eq(st->step(s), 1);
    ck_assert_int_eq(st->col_int64(s, 0), 0);
    st->finalize(s);
    st->conn_close(db);
    loader_unload_all(&l);
    service_clear();
    hostapi_shutdown();
    cfg_free(c);
    snprintf(ini, sizeof(ini), "rm -rf '%s'", tmpl);
    ck_assert_int_eq(system(ini), 0);
}
END_TEST

/* Runs GET `path` through the compiled router and the route's handler, as the server does
 * after authentication; returns the reply (the caller frees it). */
static json_t *
serve_get(const char *path)
{
    char scratch[512];
    router_result m;
    json_t *out = NULL;
    nt_req r;
    int status;

    ck_assert_int_eq(router_match(hostapi_router(), "GET", path, scratch, sizeof(scratch), &m),
                     NT_OK);
    request_init(&r, NULL, NULL);
    r.method = "GET";
    r.route = m.route;
    memcpy(r.values, m.values, sizeof(r.values));
    status = m.route->handler(&r, m.route->state, &out);
    request_fini(&r);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(out);
    return out;
}

static json_int_t
int_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    ck_assert_msg(json_is_integer(v), "no integer '%s'", key);
    return json_integer_value(v);
}

/* Plugins built against the 1.0, 1.1 and 1.2 headers (their structs as small as they were then)
 * load, migrate, start and serve on this host; their services are accepted, looked up and
 * called; and the frozen NT_*_SIZE_1_x constants are the sizes those builds really have. */
START_TEST(test_old_minors_load_and_work)
{
    char tmpl[] = "/tmp/nettu-old-XXXXXX", ini[2048], err[256], buf[2048] = "";
    char *store[] = {"store_sqlite"}, *old[] = {"fx_abi10", "fx_abi11", "fx_abi12"};
    loader ls = {0}, lo = {0};
    const nt_store_v1 *st;
    const nt_users_v1 *users;
    const nt_reloadable_v1 *rel;
    const nt_observer_v1 *obs;
    void *state, *ostate;
    json_t *j;
    nt_db *db;
    nt_stmt *s;
    cfg *c;

    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    snprintf(ini, sizeof(ini), "[plugins]\nload = x\n[store_sqlite]\npath = %s/db.sqlite\n", tmpl);
    c = cfg_load_string("o.ini", ini);
    hostapi_set_config(c);
    ck_assert_int_eq(loader_load_all(&ls, c, NETTU_TEST_PLUGIN_DIR, store, 1), NT_OK);
    ck_assert_int_eq(loader_load_all(&lo, c, NETTU_TEST_FIXTURE_DIR, old, 3), NT_OK);
    errors_to(c, buf, sizeof(buf));
    ck_assert_msg(buf[0] == '\0', "%s", buf);
    hostapi_set_loader(&lo);
    ck_assert_int_eq(lo.n, 3);
    ck_assert_uint_eq(lo.plugins[0]->desc->abi_minor, 0);
    ck_assert_uint_eq(lo.plugins[1]->desc->abi_minor, 1);
    ck_assert_uint_eq(lo.plugins[2]->desc->abi_minor, 2);
    ck_assert_uint_eq(lo.plugins[0]->desc->size, NT_PLUGIN_DESC_SIZE_1_0);

    st = service_lookup(NT_SERVICE_STORE, "sqlite", NT_STORE_V1, &state);
    ck_assert_ptr_nonnull(st);
    db = st->conn_open(state, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_int_eq(migrate_run(st, db, &lo), NT_OK);
    s = st->prepare(
        db, "SELECT (SELECT COUNT(*) FROM fx_abi10_things) + "
            "(SELECT COUNT(*) FROM fx_abi11_things) + "
            "(SELECT COUNT(*) FROM fx_abi12_things) + "
            "(SELECT COUNT(*) FROM nettu_migrations WHERE version = 1 AND plugin <> 'core')");
    ck_assert_int_eq(st->step(s), 1);
    ck_assert_int_eq(st->col_int64(s, 0), 6);
    st->finalize(s);
    ck_assert_int_eq(loader_start_all(&lo), NT_OK); /* fx_abi11 calls 1.1 members in start */
    ck_assert_int_eq(router_compile(hostapi_router()), NT_OK);

    /* 1.0: a users service of the 1.0 size, and every size as frozen. */
    users = service_lookup(NT_SERVICE_USERS, "fx_abi10", NT_USERS_V1, &ostate);
    ck_assert_ptr_nonnull(users);
    ck_assert_uint_eq(users->size, NT_USERS_V1_SIZE_1_0);
    ck_assert_int_eq(users->in_account(ostate, db, "a", "u1"), NT_OK);
    ck_assert_int_eq(users->in_account(ostate, db, "a", "u2"), NT_ENOTFOUND);
    j = serve_get("/fx_abi10/sizes/thing-1");
    ck_assert_str_eq(json_string_value(json_object_get(j, "thing")), "thing-1");
    ck_assert_int_eq(int_of(j, "minor"), 0);
    ck_assert_int_eq(int_of(j, "desc"), NT_PLUGIN_DESC_SIZE_1_0);
    ck_assert_int_eq(int_of(j, "route"), NT_ROUTE_SIZE_1_0);
    ck_assert_int_eq(int_of(j, "migration"), NT_MIGRATION_SIZE_1_0);
    ck_assert_int_eq(int_of(j, "host_api"), NT_HOST_API_SIZE_1_0);
    ck_assert_int_eq(int_of(j, "store"), NT_STORE_V1_SIZE_1_0);
    ck_assert_int_eq(int_of(j, "users"), NT_USERS_V1_SIZE_1_0);
    json_decref(j);

    /* 1.1: observer and reloadable of the 1.1 sizes; the observer is called as the server
     * calls every observer after a reply. */
    obs = service_lookup(NT_SERVICE_OBSERVER, "fx_abi11", NT_OBSERVER_V1, &ostate);
    ck_assert_ptr_nonnull(obs);
    ck_assert(NT_HAS_MEMBER(obs, nt_observer_v1, request_done));
    obs->request_done(ostate, NULL, 200, 5);
    rel = service_lookup(NT_SERVICE_RELOADABLE, "fx_abi11", NT_RELOADABLE_V1, &ostate);
    ck_assert(NT_HAS_MEMBER(rel, nt_reloadable_v1, reload));
    ck_assert_int_eq(rel->reload(ostate), NT_OK);
    j = serve_get("/fx_abi11/sizes/thing-2");
    ck_assert_str_eq(json_string_value(json_object_get(j, "thing")), "thing-2");
    ck_assert_int_eq(int_of(j, "minor"), 1);
    ck_assert_int_eq(int_of(j, "desc"), NT_PLUGIN_DESC_SIZE_1_0);
    ck_assert_int_eq(int_of(j, "route"), NT_ROUTE_SIZE_1_0);
    ck_assert_int_eq(int_of(j, "migration"), NT_MIGRATION_SIZE_1_0);
    ck_assert_int_eq(int_of(j, "host_api"), NT_HOST_API_SIZE_1_1);
    ck_assert_int_eq(int_of(j, "store"), NT_STORE_V1_SIZE_1_1);
    ck_assert_int_eq(int_of(j, "observer"), NT_OBSERVER_V1_SIZE_1_1);
    ck_assert_int_eq(int_of(j, "reloadable"), NT_RELOADABLE_V1_SIZE_1_1);
    ck_assert_int_eq(int_of(j, "route_info"), NT_ROUTE_INFO_SIZE_1_1);
    ck_assert_int_eq(int_of(j, "observed"), 1);
    ck_assert_int_eq(int_of(j, "routes_seen"), 3);
    ck_assert_int_eq(int_of(j, "plugins_seen"), 3);
    json_decref(j);
    /* 1.2: a plugin of the last minor before 1.3 loads as it is; its structs have the frozen
     * 1.2 sizes. */
    j = serve_get("/fx_abi12/sizes/thing-3");
    ck_assert_str_eq(json_string_value(json_object_get(j, "thing")), "thing-3");
    ck_assert_int_eq(int_of(j, "minor"), 2);
    ck_assert_int_eq(int_of(j, "host_api"), NT_HOST_API_SIZE_1_2);
    ck_assert_int_eq(int_of(j, "store"), NT_STORE_V1_SIZE_1_2);
    ck_assert_int_eq(int_of(j, "route_info"), NT_ROUTE_INFO_SIZE_1_1);
    json_decref(j);
    /* The table handed to old plugins is the whole current one. */
    ck_assert_uint_eq(hostapi_table()->size, sizeof(nt_host_api));
    ck_assert(NT_HAS_MEMBER(hostapi_table(), nt_host_api, req_peer));

    st->conn_close(db);
    loader_unload_all(&lo);
    loader_unload_all(&ls);
    hostapi_set_loader(NULL);
    service_clear();
    hostapi_shutdown();
    cfg_free(c);
    snprintf(ini, sizeof(ini), "rm -rf '%s'", tmpl);
    ck_assert_int_eq(system(ini), 0);
}
END_TEST

static int
dummy_handler(nt_req *req, void *state, json_t **out)
{
    (void)req;
    (void)state;
    *out = NULL;
    return 200;
}

/* Each struct a plugin hands the host is accepted from its frozen first size on and refused
 * one byte below it, naming the size; route_get fills a 1.1-sized nt_route_info. */
START_TEST(test_frozen_sizes_admit)
{
    static const nt_observer_v1 obs_ok = {.size = NT_OBSERVER_V1_SIZE_1_1};
    static const nt_observer_v1 obs_short = {.size = NT_OBSERVER_V1_SIZE_1_1 - 1};
    static const nt_store_v1 store_10 = {.size = NT_STORE_V1_SIZE_1_0};
    static const nt_store_v1 store_short = {.size = NT_STORE_V1_SIZE_1_0 - 8};
    static const struct {
        uint32_t size;
    } own_kind = {4};
    const nt_host_api *api = hostapi_table();
    nt_plugin *p = calloc(1, sizeof(*p));
    nt_route r = {.size = NT_ROUTE_SIZE_1_0,
                  .method = "GET",
                  .path = "/sz/ok",
                  .auth = NT_AUTH_PUBLIC,
                  .handler = dummy_handler};
    nt_migration m = {.size = NT_MIGRATION_SIZE_1_0, .version = 1, .sql = "SELECT 1"};
    nt_route_info ri = {.size = NT_ROUTE_INFO_SIZE_1_1};

    ck_assert_ptr_nonnull(p);
    snprintf(p->name, sizeof(p->name), "sz");
    ck_assert_int_eq(api->route_add(p, &r), NT_OK);
    r.size--;
    r.path = "/sz/short";
    ck_assert_int_eq(api->route_add(p, &r), NT_EINVAL);
    ck_assert_msg(strstr(p->err, "route struct too short") != NULL, "%s", p->err);
    ck_assert_int_eq(api->migration_add(p, &m), NT_OK);
    m.size--;
    m.version = 2;
    ck_assert_int_eq(api->migration_add(p, &m), NT_EINVAL);
    ck_assert_msg(strstr(p->err, "migration struct too short") != NULL, "%s", p->err);

    ck_assert_int_eq(api->service_provide(p, NT_SERVICE_OBSERVER, "ok", 1, &obs_ok, NULL), NT_OK);
    ck_assert_int_eq(api->service_provide(p, NT_SERVICE_OBSERVER, "short", 1, &obs_short, NULL),
                     NT_EINVAL);
    ck_assert_msg(strstr(p->err, "ops table too short") != NULL, "%s", p->err);
    ck_assert_msg(strstr(p->err, "ABI 1.1 needs") != NULL, "%s", p->err);
    ck_assert_int_eq(api->service_provide(p, NT_SERVICE_STORE, "s10", 1, &store_10, NULL), NT_OK);
    ck_assert_int_eq(api->service_provide(p, NT_SERVICE_STORE, "short", 1, &store_short, NULL),
                     NT_EINVAL);
    /* A kind the host does not know is its users' business: any non-zero size. */
    ck_assert_int_eq(api->service_provide(p, "fx_own_kind", "x", 1, &own_kind, NULL), NT_OK);
    /* Optional members past a table's size are absent. */
    ck_assert(!NT_HAS_MEMBER(&store_10, nt_store_v1, begin_read));
    ck_assert(!NT_HAS_MEMBER(&store_10, nt_store_v1, lock_schema));
    ck_assert(NT_HAS_MEMBER(&store_10, nt_store_v1, clear_error));
    ck_assert(!NT_HAS_MEMBER((const nt_store_v1 *)NULL, nt_store_v1, clear_error));

    ck_assert_uint_eq(api->route_count(), 1);
    ck_assert_int_eq(api->route_get(0, &ri), NT_OK);
    ck_assert_str_eq(ri.path, "/sz/ok");
    ri.size = NT_ROUTE_INFO_SIZE_1_1 - 1;
    ck_assert_int_eq(api->route_get(0, &ri), NT_ENOTFOUND);

    router_remove_plugin(hostapi_router(), p);
    service_remove_plugin(p);
    for (size_t i = 0; i < p->nmigs; i++)
        free(p->migs[i].sql);
    free(p->migs);
    free(p);
    hostapi_shutdown();
}
END_TEST

/* The real store's ops, for wrappers: lock_schema calls are counted. */
static const nt_store_v1 *real_store;
static int lock_calls;

static int
counting_lock_schema(nt_db *db)
{
    __atomic_add_fetch(&lock_calls, 1, __ATOMIC_SEQ_CST);
    return real_store->lock_schema(db);
}

static int
poisoned_lock_schema(nt_db *db)
{
    (void)db;
    ck_abort_msg("lock_schema past the table's size was called");
    return NT_ERR;
}

/* Loads store_sqlite on a fresh database under dir and fx_good, fx_abi10 and fx_abi11 (each
 * with one migration) into *lf. */
static cfg *
load_for_migrations(char *dir, loader *ls, loader *lf, const nt_store_v1 **st, void **state)
{
    char ini[1024], buf[2048] = "";
    char *store[] = {"store_sqlite"}, *fx[] = {"fx_good", "fx_abi10", "fx_abi11"};
    cfg *c;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(ini, sizeof(ini), "[plugins]\nload = x\n[store_sqlite]\npath = %s/db.sqlite\n", dir);
    c = cfg_load_string("m.ini", ini);
    hostapi_set_config(c);
    ck_assert_int_eq(loader_load_all(ls, c, NETTU_TEST_PLUGIN_DIR, store, 1), NT_OK);
    ck_assert_int_eq(loader_load_all(lf, c, NETTU_TEST_FIXTURE_DIR, fx, 3), NT_OK);
    errors_to(c, buf, sizeof(buf));
    ck_assert_msg(buf[0] == '\0', "%s", buf);
    *st = service_lookup(NT_SERVICE_STORE, "sqlite", NT_STORE_V1, state);
    ck_assert_ptr_nonnull(*st);
    return c;
}

static void
unload_migrations(char *dir, cfg *c, loader *ls, loader *lf)
{
    char cmd[256];

    loader_unload_all(lf);
    loader_unload_all(ls);
    service_clear();
    hostapi_shutdown();
    cfg_free(c);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The number of rows of nettu_migrations, and of distinct (plugin, version) among them. */
static int64_t
count_of(const nt_store_v1 *st, nt_db *db, const char *sql)
{
    nt_stmt *s = st->prepare(db, sql);
    int64_t n;

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(st->step(s), 1);
    n = st->col_int64(s, 0);
    st->finalize(s);
    return n;
}

/* A store of an older minor (its table ends before lock_schema, or before begin_read) runs
 * the migrations without the schema lock; a 1.2 store's lock_schema is taken for the table
 * and for every step. */
START_TEST(test_migrations_by_store_size)
{
    static const uint32_t sizes[] = {NT_STORE_V1_SIZE_1_0, NT_STORE_V1_SIZE_1_1,
                                     NT_STORE_V1_SIZE_1_2};
    char dir[] = "/tmp/nettu-mig-XXXXXX", err[256];
    loader ls = {0}, lf = {0};
    nt_store_v1 old;
    void *state;
    nt_db *db;
    cfg *c = load_for_migrations(dir, &ls, &lf, &real_store, &state);

    old = *real_store;
    old.size = sizes[_i];
    old.lock_schema =
        old.size >= NT_STORE_V1_SIZE_1_2 ? counting_lock_schema : poisoned_lock_schema;
    lock_calls = 0;
    db = old.conn_open(state, err, sizeof(err));
    ck_assert_msg(db != NULL, "%s", err);
    ck_assert_int_eq(migrate_run(&old, db, &lf), NT_OK);
    ck_assert_int_eq(count_of(&old, db, "SELECT COUNT(*) FROM nettu_migrations"), 4);
    /* 1.2: the table, the core's step, then three steps */
    ck_assert_int_eq(lock_calls, old.size >= NT_STORE_V1_SIZE_1_2 ? 5 : 0);
    ck_assert_int_eq(migrate_run(&old, db, &lf), NT_OK);
    ck_assert_int_eq(count_of(&old, db, "SELECT COUNT(*) FROM nettu_migrations"), 4);
    old.conn_close(db);
    unload_migrations(dir, c, &ls, &lf);
}
END_TEST

#define MIG_THREADS 4

struct mig_arg {
    const nt_store_v1 *st;
    void *state;
    const loader *l;
    pthread_barrier_t *go;
    int rc;
};

/* One "server" starting: its own connection, then every migration. */
static void *
mig_thread(void *arg)
{
    struct mig_arg *m = arg;
    char err[256];
    nt_db *db = m->st->conn_open(m->state, err, sizeof(err));

    pthread_barrier_wait(m->go);
    m->rc = db != NULL ? migrate_run(m->st, db, m->l) : NT_ERR;
    m->st->conn_close(db);
    return NULL;
}

/* Several connections migrating one empty database at the same moment (as servers starting
 * together do): every run succeeds and each step is applied and recorded exactly once. */
START_TEST(test_migrations_concurrent)
{
    char dir[] = "/tmp/nettu-mig-XXXXXX", err[256];
    loader ls = {0}, lf = {0};
    const nt_store_v1 *st;
    void *state;
    pthread_t th[MIG_THREADS];
    struct mig_arg args[MIG_THREADS];
    pthread_barrier_t go;
    nt_db *db;
    cfg *c = load_for_migrations(dir, &ls, &lf, &st, &state);

    ck_assert_int_eq(pthread_barrier_init(&go, NULL, MIG_THREADS), 0);
    for (int i = 0; i < MIG_THREADS; i++) {
        args[i] = (struct mig_arg){st, state, &lf, &go, NT_ERR};
        ck_assert_int_eq(pthread_create(&th[i], NULL, mig_thread, &args[i]), 0);
    }
    for (int i = 0; i < MIG_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].rc, NT_OK);
    }
    pthread_barrier_destroy(&go);
    db = st->conn_open(state, err, sizeof(err));
    ck_assert_ptr_nonnull(db);
    ck_assert_int_eq(count_of(st, db, "SELECT COUNT(*) FROM nettu_migrations"), 4);
    /* each step's INSERT ran once */
    ck_assert_int_eq(count_of(st, db, "SELECT COUNT(*) FROM fx_things"), 1);
    ck_assert_int_eq(count_of(st, db, "SELECT COUNT(*) FROM fx_abi10_things"), 1);
    ck_assert_int_eq(count_of(st, db, "SELECT COUNT(*) FROM fx_abi11_things"), 1);
    st->conn_close(db);
    unload_migrations(dir, c, &ls, &lf);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    SRunner *sr;
    int failed;

    tcase_add_loop_test(tc, test_refused, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
    tcase_add_test(tc, test_admitted);
    tcase_add_test(tc, test_world_writable_refused);
    tcase_add_test(tc, test_init_failure_drops_registrations);
    tcase_add_test(tc, test_unknown_plugin_key);
    tcase_add_test(tc, test_migrations);
    tcase_add_test(tc, test_failing_migration_rolls_back);
    tcase_add_test(tc, test_old_minors_load_and_work);
    tcase_add_test(tc, test_frozen_sizes_admit);
    tcase_add_loop_test(tc, test_migrations_by_store_size, 0, 3);
    tcase_add_test(tc, test_migrations_concurrent);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
