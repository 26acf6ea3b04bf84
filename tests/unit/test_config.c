/* Unit tests of the INI reader and the host settings: valid files, each kind of error with
 * its line, environment overrides. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "settings.h"

/* Collects every error message of c into one string (for assertions). */
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

static const char good_ini[] = "[server]\n"
                               "listen = 127.0.0.1\n"
                               "port = 5123   ; inline comment\n"
                               "workers = 3\n"
                               "[plugins]\n"
                               "dir = some/dir\n"
                               "load = store_sqlite, auth_nettu ,policy\n"
                               "[services]\n"
                               "authenticator = nettu\n";

START_TEST(test_valid_file)
{
    cfg *c = cfg_load_string("good.ini", good_ini);
    settings s;
    cfg_value v;

    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(settings_read(c, &s), NT_OK);
    ck_assert_uint_eq(cfg_error_count(c), 0);
    ck_assert_int_eq(s.port, 5123);
    ck_assert_int_eq(s.workers, 3);
    ck_assert_str_eq(s.plugin_dir, "some/dir");
    ck_assert_int_eq(s.nplugins, 3);
    ck_assert_str_eq(s.plugins[1], "auth_nettu");
    ck_assert_str_eq(s.plugins[2], "policy");
    ck_assert_int_eq(s.max_body_bytes, 2 * 1024 * 1024);
    ck_assert_int_eq(cfg_lookup(c, "services", "authenticator", &v), 1);
    ck_assert_str_eq(v.text, "nettu");
    ck_assert_int_eq(v.line, 9);
    ck_assert_str_eq(settings_service_choice(c, "authenticator"), "nettu");
    ck_assert_ptr_null(settings_service_choice(c, "store"));
    settings_fini(&s);
    cfg_free(c);
}
END_TEST

/* Each bad input and the text its error must contain (file:line and the key). */
static const struct {
    const char *ini, *expect;
} bad_cases[] = {
    {"[server]\nprot = 5000\n[plugins]\nload = a\n", "bad.ini:2: [server] prot: unknown key"},
    {"[server]\nport = http\n[plugins]\nload = a\n",
     "bad.ini:2: [server] port: expected an integer from 1 to 65535, got 'http'"},
    {"[server]\nport = 70000\n[plugins]\nload = a\n", "bad.ini:2: [server] port"},
    {"[server]\nworkers = none\n[plugins]\nload = a\n", "bad.ini:2: [server] workers"},
    {"[server]\nlisten = localhost:80\n[plugins]\nload = a\n", "bad.ini:2: [server] listen"},
    {"[server]\naccess_log = maybe\n[plugins]\nload = a\n", "bad.ini:2: [server] access_log"},
    {"[server]\nlog_level = loud\n[plugins]\nload = a\n", "bad.ini:2: [server] log_level"},
    {"[plugins]\nload = a, ../evil\n", "bad.ini:2: [plugins] load: '../evil' is not a plugin"},
    {"[plugins]\nload = a, a\n", "'a' is listed twice"},
    {"[plugins]\nload = \n", "[plugins] load: the list is empty"},
    {"[plugins]\ndir = x\n", "[plugins] load: required"},
    {"[plugins]\nload = a\nload = b\n", "bad.ini:3: [plugins] load: key given twice"},
    {"[plugins]\nload = a\nthis line has no equals\n", "bad.ini:3: syntax error"},
    {"[plugins]\nload = a\nlod = b\n", "bad.ini:3: [plugins] lod: unknown key"},
    {"top = 1\n[plugins]\nload = a\n", "bad.ini:1: key 'top' outside of any [section]"},
};

START_TEST(test_bad_files)
{
    cfg *c = cfg_load_string("bad.ini", bad_cases[_i].ini);
    settings s;
    char buf[4096] = "";

    ck_assert_ptr_nonnull(c);
    ck_assert_int_ne(settings_read(c, &s), NT_OK);
    errors_to(c, buf, sizeof(buf));
    ck_assert_msg(strstr(buf, bad_cases[_i].expect) != NULL, "case %d: got '%s', want '%s'", _i,
                  buf, bad_cases[_i].expect);
    settings_fini(&s);
    cfg_free(c);
}
END_TEST

START_TEST(test_long_line)
{
    char ini[6000];
    char buf[2048] = "";
    cfg *c;

    strcpy(ini, "[plugins]\nload = a\n[x]\nkey = ");
    memset(ini + strlen(ini), 'v', 5000);
    ini[sizeof(ini) - 1] = '\0';
    strcpy(ini + 5030, "\n");
    c = cfg_load_string("long.ini", ini);
    ck_assert_uint_gt(cfg_error_count(c), 0);
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "long.ini:4: line too long"));
    cfg_free(c);
}
END_TEST

START_TEST(test_missing_file)
{
    cfg *c = cfg_load("/nonexistent/nettu.ini");
    char buf[1024] = "";

    ck_assert_uint_eq(cfg_error_count(c), 1);
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "/nonexistent/nettu.ini: cannot open"));
    cfg_free(c);
}
END_TEST

START_TEST(test_env_override)
{
    cfg *c = cfg_load_string("env.ini", good_ini);
    settings s;
    cfg_value v;
    char buf[1024] = "";

    setenv("NETTU_SERVER_PORT", "6001", 1);
    setenv("NETTU_STORE_SQLITE_PATH", "/tmp/x.db", 1);
    ck_assert_int_eq(settings_read(c, &s), NT_OK);
    ck_assert_int_eq(s.port, 6001);
    ck_assert_int_eq(cfg_lookup(c, "store_sqlite", "path", &v), 1);
    ck_assert_str_eq(v.text, "/tmp/x.db");
    ck_assert_str_eq(v.origin, "environment NETTU_STORE_SQLITE_PATH");
    settings_fini(&s);
    cfg_free(c);

    /* An env value is validated and its origin named. */
    setenv("NETTU_SERVER_PORT", "abc", 1);
    c = cfg_load_string("env.ini", good_ini);
    ck_assert_int_ne(settings_read(c, &s), NT_OK);
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "environment NETTU_SERVER_PORT: [server] port"));
    settings_fini(&s);
    cfg_free(c);
    unsetenv("NETTU_SERVER_PORT");
    unsetenv("NETTU_STORE_SQLITE_PATH");
}
END_TEST

START_TEST(test_legacy_env)
{
    cfg *c;
    settings s;
    cfg_value v;

    setenv("PORT", "7007", 1);
    setenv("ACCOUNT_API_KEY", "sk_legacy", 1);
    c = cfg_load_string("legacy.ini", good_ini);
    ck_assert_int_eq(settings_read(c, &s), NT_OK);
    ck_assert_int_eq(s.port, 7007);
    ck_assert_int_eq(cfg_lookup(c, "account", "default_api_key", &v), 1);
    ck_assert_str_eq(v.text, "sk_legacy");
    settings_fini(&s);
    cfg_free(c);

    /* An unparsable PORT is an error naming the variable (the original fell back to 5000,
     * silently). */
    setenv("PORT", "not-a-port", 1);
    c = cfg_load_string("legacy.ini", good_ini);
    ck_assert_int_eq(settings_read(c, &s), NT_EINVAL);
    {
        char buf[2048];
        errors_to(c, buf, sizeof(buf));
        ck_assert_ptr_nonnull(strstr(buf, "environment PORT: [server] port: expected an integer "
                                          "from 1 to 65535, got 'not-a-port'"));
    }
    settings_fini(&s);
    cfg_free(c);

    /* NETTU_ variables win over the original's. */
    setenv("NETTU_SERVER_PORT", "6002", 1);
    c = cfg_load_string("legacy.ini", good_ini);
    ck_assert_int_eq(settings_read(c, &s), NT_OK);
    ck_assert_int_eq(s.port, 6002);
    settings_fini(&s);
    cfg_free(c);
    unsetenv("NETTU_SERVER_PORT");
    unsetenv("PORT");
    unsetenv("ACCOUNT_API_KEY");
}
END_TEST

/* Unknown keys and sections get "did you mean"; a repeated key names its first line. */
START_TEST(test_suggestions)
{
    static const char ini[] = "[server]\n"
                              "prot = 5000\n"
                              "[plugins]\n"
                              "load = store_sqlite\n"
                              "load = user\n"
                              "[store_sqllite]\n"
                              "path = x.db\n"
                              "[user]\n"
                              "x = 1\n";
    const char *known[] = {"server", "plugins", "services", "store_sqlite"};
    const char *avail[] = {"store_sqlite", "user"};
    cfg *c = cfg_load_string("t.ini", ini);
    char buf[4096];
    settings s;

    settings_read(c, &s);
    cfg_check_sections(c, known, 4, avail, 2);
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "t.ini:2: [server] prot: unknown key (did you mean port?)"));
    ck_assert_ptr_nonnull(
        strstr(buf, "t.ini:5: [plugins] load: key given twice (first on line 4)"));
    ck_assert_msg(
        strstr(buf, "t.ini:6: [store_sqllite]: unknown section (did you mean [store_sqlite]?)"),
        "%s", buf);
    ck_assert_ptr_nonnull(strstr(buf, "t.ini:8: [user]: the section of plugin 'user', which is "
                                      "not loaded"));
    settings_fini(&s);
    cfg_free(c);
}
END_TEST

/* NETTU_<SECTION>_<KEY>: an unknown key of a known section is an error with "did you mean". */
START_TEST(test_env_keys)
{
    const char *sections[] = {"server", "store_sqlite"};
    const int strict[] = {1, 1};
    cfg *c = cfg_load_string("e.ini", "[store_sqlite]\npath = a.db\n");
    char buf[2048];
    cfg_value v;

    cfg_report_unknown(c, "store_sqlite", (const char *const[]){"path", "synchronous", NULL});
    cfg_lookup(c, "server", "port", &v);
    setenv("NETTU_STORE_SQLITE_SYNCHRONUS", "full", 1);
    setenv("NETTU_SERVER_PORT", "5001", 1);
    cfg_check_env(c, sections, strict, 2);
    unsetenv("NETTU_STORE_SQLITE_SYNCHRONUS");
    unsetenv("NETTU_SERVER_PORT");
    ck_assert_uint_eq(cfg_error_count(c), 1);
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "environment NETTU_STORE_SQLITE_SYNCHRONUS: [store_sqlite] "
                                      "has no such key (did you mean "
                                      "NETTU_STORE_SQLITE_SYNCHRONOUS"));
    cfg_free(c);
}
END_TEST

/* The typed readers: enum, UUID, duration and path, each naming file, line and key. */
START_TEST(test_typed_readers)
{
    static const char ini[] = "[p]\n"
                              "level = Debug\n"
                              "bad = fats\n"
                              "id = 0B6A4FD4-1C5E-4C8E-9A57-3F2D2B1F8E01\n"
                              "badid = 12\n"
                              "d1 = 30s\n"
                              "d2 = 250\n"
                              "d3 = 5 weeks\n"
                              "f = /nonexistent/file\n"
                              "db = /etc/passwd/x.db\n";
    const char *names[] = {"error", "info", "debug", NULL};
    const char *speeds[] = {"fast", "slow", NULL};
    cfg *c = cfg_load_string("r.ini", ini);
    char id[NT_UUID_BUF], buf[4096];
    const char *path;
    long long ms;
    int i, present;

    ck_assert_int_eq(cfg_read_enum(c, "p", "level", names, 0, &i), NT_OK);
    ck_assert_int_eq(i, 2);
    ck_assert_int_eq(cfg_read_enum(c, "p", "bad", speeds, 0, &i), NT_EINVAL);
    ck_assert_int_eq(cfg_read_uuid(c, "p", "id", 1, id, &present), NT_OK);
    ck_assert_str_eq(id, "0b6a4fd4-1c5e-4c8e-9a57-3f2d2b1f8e01");
    ck_assert_int_eq(cfg_read_uuid(c, "p", "badid", 1, id, &present), NT_EINVAL);
    ck_assert_int_eq(cfg_read_uuid(c, "p", "none", 1, id, &present), NT_EINVAL);
    ck_assert_int_eq(cfg_read_duration(c, "p", "d1", 0, 0, 3600000, &ms), NT_OK);
    ck_assert_int_eq(ms, 30000);
    ck_assert_int_eq(cfg_read_duration(c, "p", "d2", 0, 0, 3600000, &ms), NT_OK);
    ck_assert_int_eq(ms, 250);
    ck_assert_int_eq(cfg_read_duration(c, "p", "d3", 0, 0, 3600000, &ms), NT_EINVAL);
    ck_assert_int_eq(cfg_read_path(c, "p", "f", NULL, NT_CFG_PATH_FILE, &path), NT_EINVAL);
    ck_assert_int_eq(cfg_read_path(c, "p", "db", NULL, NT_CFG_PATH_CREATE, &path), NT_EINVAL);
    ck_assert_int_eq(cfg_read_path(c, "p", "absent", "/tmp", NT_CFG_PATH_DIR, &path), NT_OK);
    ck_assert_str_eq(path, "/tmp");
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "r.ini:3: [p] bad: expected fast or slow, got 'fats' (did "
                                      "you mean fast?)"));
    ck_assert_ptr_nonnull(strstr(buf, "r.ini:5: [p] badid: expected a UUID"));
    ck_assert_ptr_nonnull(strstr(buf, "r.ini: [p] none: required"));
    ck_assert_ptr_nonnull(strstr(buf, "r.ini:8: [p] d3: expected a duration"));
    ck_assert_ptr_nonnull(strstr(buf, "r.ini:9: [p] f: /nonexistent/file: No such file"));
    ck_assert_ptr_nonnull(strstr(buf, "r.ini:10: [p] db: /etc/passwd/x.db: /etc/passwd is not a "
                                      "directory"));
    cfg_free(c);
}
END_TEST

/* listen accepts a host name that resolves (localhost), and names the key when not. */
START_TEST(test_listen_name)
{
    cfg *c = cfg_load_string("l.ini", "[server]\nlisten = localhost\n[plugins]\nload = a\n");
    settings s;

    ck_assert_int_eq(settings_read(c, &s), NT_OK);
    ck_assert(strcmp(s.listen, "127.0.0.1") == 0 || strcmp(s.listen, "::1") == 0);
    settings_fini(&s);
    cfg_free(c);
}
END_TEST

START_TEST(test_unknown_plugin_keys)
{
    static const char ini[] = "[plugins]\nload = a\n[calendar]\npage_max = 5\npagemax = 6\n";
    static const char *const known[] = {"page_max", NULL};
    cfg *c = cfg_load_string("p.ini", ini);
    long long n = 0;
    char buf[1024] = "";

    ck_assert_int_eq(cfg_read_int(c, "calendar", "page_max", 1, 0, 10, &n), NT_OK);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(cfg_report_unknown(c, "calendar", known), 1);
    ck_assert_int_eq(cfg_report_unknown(c, "calendar", known), 0); /* reported once */
    errors_to(c, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "p.ini:5: [calendar] pagemax: unknown key"));
    cfg_free(c);
}
END_TEST

static Suite *
config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_add_test(tc, test_valid_file);
    tcase_add_loop_test(tc, test_bad_files, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, test_long_line);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_env_override);
    tcase_add_test(tc, test_legacy_env);
    tcase_add_test(tc, test_unknown_plugin_keys);
    tcase_add_test(tc, test_suggestions);
    tcase_add_test(tc, test_env_keys);
    tcase_add_test(tc, test_typed_readers);
    tcase_add_test(tc, test_listen_name);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
