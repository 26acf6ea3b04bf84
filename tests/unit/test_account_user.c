/* Tests of the real account.so and user.so under the shared fake host (tests/support):
 * both plugins are loaded with dlopen, get a fake nt_host_api that records routes,
 * migrations and services and serves an in-memory SQLite database, and their handlers and
 * services are called directly (account and user routes, the default account).
 */
#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>
#include <nettu/services.h>

#include "fakehost.h"

#define SECRET "open-sesame"
#define NO_SUCH "cccccccc-0000-4000-8000-000000000000"

/* ---- the fake host ----------------------------------------------------------------------- */

static fh_host *host;
static fh_plugin *acct_plugin, *user_plugin;
static const char *config[8][2]; /* the [account] section */
static const char *fail_sql;     /* db_prepare fails on SQL containing this */

/* Makes db_prepare fail on SQL containing part (NULL: never). */
static void
set_fail_sql(const char *part)
{
    fail_sql = part;
    fh_fail_prepare(host, part);
}

/* Hands the config table to the host as the [account] section. */
static void
config_push(void)
{
    fh_config_clear(host, "account");
    for (int i = 0; i < 8 && config[i][0] != NULL; i++)
        ck_assert_int_eq(fh_config_set(host, "account", config[i][0], config[i][1]), NT_OK);
}

/* dlopens <name>.so through the fake host, which checks its descriptor. */
static fh_plugin *
plugin_open(const char *name)
{
    fh_plugin *p = fh_open(host, name);

    ck_assert_msg(p != NULL, "%s", fh_log(host));
    ck_assert_uint_eq(fh_plugin_desc(p)->magic, NT_ABI_MAGIC);
    ck_assert_uint_eq(fh_plugin_desc(p)->abi_major, NT_ABI_MAJOR);
    ck_assert_str_eq(fh_plugin_desc(p)->name, name);
    return p;
}

/* ---- fixture ----------------------------------------------------------------------------- */

static void
setup(void)
{
    host = fh_new();
    ck_assert_ptr_nonnull(host);
    memset(config, 0, sizeof(config));
    config[0][0] = "create_account_secret";
    config[0][1] = SECRET;
    config_push();
    set_fail_sql(NULL);
    fh_clock_set(1000, 1);
    acct_plugin = plugin_open("account");
    user_plugin = plugin_open("user");
    ck_assert_int_eq(fh_init(acct_plugin), NT_OK);
    ck_assert_int_eq(fh_init(user_plugin), NT_OK);
    ck_assert_msg(fh_migrate(host) == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(fh_start(acct_plugin), NT_OK);
    ck_assert_int_eq(fh_start(user_plugin), NT_OK);
}

static void
teardown(void)
{
    /* Every statement the plugins prepared was valid SQL. */
    ck_assert_msg(strstr(fh_log(host), "fakehost: prepare failed") == NULL, "%s", fh_log(host));
    fh_free(host);
    host = NULL;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static const nt_route *
route(const char *method, const char *path)
{
    const nt_route *r = fh_route(host, method, path);

    ck_assert_msg(r != NULL, "no route %s %s", method, path);
    return r;
}

static const fh_service *
service(const char *kind)
{
    const fh_service *s = fh_service_find(host, kind, NULL);

    ck_assert_msg(s != NULL, "no service %s", kind);
    return s;
}

/* A request to make through call(). */
struct call {
    const char *method, *path;
    const char *account, *user; /* the principal */
    const char *param;          /* the {userId} of the path, or NULL */
    const char *body;           /* JSON text, NULL = {} */
    const char *query[4][2];    /* query parameters */
};

/* Calls the handler of c->method + c->path. Returns the status or code; *out gets the
 * reply and msg (512 bytes, may be NULL) the fail() message. */
static int
call(const struct call *c, json_t **out, char *msg)
{
    fh_req *q = fh_req_new(host);
    const char *bad;
    int rc;

    ck_assert_ptr_nonnull(q);
    route(c->method, c->path);
    if (c->param != NULL)
        ck_assert_int_eq(fh_req_add_param(q, "userId", c->param), NT_OK);
    ck_assert_int_eq(fh_req_set_principal(q, c->account, c->user), NT_OK);
    for (int i = 0; i < 4 && c->query[i][0] != NULL; i++)
        ck_assert_int_eq(fh_req_add_query(q, c->query[i][0], c->query[i][1]), NT_OK);
    if (c->body != NULL)
        ck_assert_msg(fh_req_set_body_text(q, c->body, strlen(c->body), JSON_ALLOW_NUL) == NT_OK,
                      "bad test body %s", c->body);
    rc = fh_call(host, q, c->method, c->path, out);
    bad = fh_check_reply(host, q, rc, *out);
    ck_assert_msg(bad == NULL, "%s %s: %s", c->method, c->path, bad);
    if (rc < 0) {
        ck_assert_msg(*out == NULL, "%s %s: a reply with an error", c->method, c->path);
        ck_assert_msg(fh_req_fail_code(q) == rc || fail_sql != NULL, "%s %s: %d without fail()",
                      c->method, c->path, rc);
    } else {
        ck_assert_msg(*out != NULL, "%s %s: no reply", c->method, c->path);
    }
    if (msg != NULL)
        snprintf(msg, 512, "%s", fh_req_msg(q));
    ck_assert_int_eq(fh_in_transaction(host), 0); /* no transaction left open */
    fh_req_free(q);
    return rc;
}

static int64_t
count(const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n;

    ck_assert_int_eq(sqlite3_prepare_v2(fh_sqlite(host), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Text of the first column of the first row of sql (malloc'd; NULL for SQL NULL). */
static char *
scalar(const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *s = NULL;

    ck_assert_int_eq(sqlite3_prepare_v2(fh_sqlite(host), sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    if (sqlite3_column_type(st, 0) != SQLITE_NULL)
        s = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return s;
}

/* Hex SHA-256 of s into out[65]. */
static void
sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;

    ck_assert_int_eq(EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Creates an account through POST /account; writes its id and key. */
static void
create_account(char id[NT_UUID_BUF], char key[64])
{
    struct call c = {
        .method = "POST", .path = "/api/v1/account", .body = "{\"code\": \"" SECRET "\"}"};
    json_t *out;

    ck_assert_int_eq(call(&c, &out, NULL), 201);
    snprintf(id, NT_UUID_BUF, "%s",
             json_string_value(json_object_get(json_object_get(out, "account"), "id")));
    snprintf(key, 64, "%s", json_string_value(json_object_get(out, "secretApiKey")));
    json_decref(out);
}

/* Creates a user of `account` with the metadata JSON text (NULL: none); writes its id. */
static void
create_user(const char *account, const char *metadata, char id[NT_UUID_BUF])
{
    char body[512];
    struct call c = {.method = "POST", .path = "/api/v1/user", .account = account, .body = body};
    json_t *out;

    snprintf(body, sizeof(body), "{\"metadata\": %s}", metadata != NULL ? metadata : "null");
    ck_assert_int_eq(call(&c, &out, NULL), 201);
    snprintf(id, NT_UUID_BUF, "%s",
             json_string_value(json_object_get(json_object_get(out, "user"), "id")));
    json_decref(out);
}

/* Checks that `got` equals the JSON text `want`. */
static void
expect_json(const json_t *got, const char *want_text)
{
    json_t *want = json_loads(want_text, 0, NULL);
    char *text = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);

    ck_assert_msg(want != NULL, "bad expected JSON %s", want_text);
    ck_assert_msg(json_equal(got, want), "got %s, want %s", text, want_text);
    free(text);
    json_decref(want);
}

/* An RSA public key as SPKI PEM ("PUBLIC KEY") and PKCS#1 PEM, and an EC key's PEM. */
static char *
key_pem(const char *kind)
{
    EVP_PKEY *k = strcmp(kind, "ec") == 0     ? EVP_EC_gen("P-256")
                  : strcmp(kind, "weak") == 0 ? EVP_RSA_gen(1024)
                                              : EVP_RSA_gen(2048);
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *copy;
    long n;

    ck_assert(k != NULL && bio != NULL);
    if (strcmp(kind, "pkcs1") == 0) {
        unsigned char *der = NULL;
        int len = i2d_PublicKey(k, &der);
        ck_assert_int_gt(PEM_write_bio(bio, "RSA PUBLIC KEY", "", der, len), 0);
        OPENSSL_free(der);
    } else if (strcmp(kind, "private") == 0) {
        ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
    } else {
        ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, k), 1);
    }
    n = BIO_get_mem_data(bio, &data);
    copy = strndup(data, (size_t)n);
    BIO_free(bio);
    EVP_PKEY_free(k);
    return copy;
}

/* Writes {"publicJwtKey": <the len bytes of pem as a JSON string>} into body. */
static void
set_key_body(char *body, size_t size, const char *pem, size_t len)
{
    json_t *str = json_stringn(pem, len);
    char *enc = json_dumps(str, JSON_ENCODE_ANY);

    ck_assert_ptr_nonnull(enc);
    snprintf(body, size, "{\"publicJwtKey\": %s}", enc);
    free(enc);
    json_decref(str);
}

/* ---- account tests ----------------------------------------------------------------------- */

START_TEST(test_registrations)
{
    static const struct {
        const char *method, *path;
        nt_auth_kind auth;
    } want[] = {
        {"POST", "/api/v1/account", NT_AUTH_PUBLIC},
        {"GET", "/api/v1/account", NT_AUTH_ADMIN},
        {"PUT", "/api/v1/account/pubkey", NT_AUTH_ADMIN},
        {"PUT", "/api/v1/account/webhook", NT_AUTH_ADMIN},
        {"DELETE", "/api/v1/account/webhook", NT_AUTH_ADMIN},
        {"POST", "/api/v1/user", NT_AUTH_ADMIN},
        {"GET", "/api/v1/user/meta", NT_AUTH_ADMIN},
        {"GET", "/api/v1/user/{userId}", NT_AUTH_ADMIN},
        {"PUT", "/api/v1/user/{userId}", NT_AUTH_ADMIN},
        {"DELETE", "/api/v1/user/{userId}", NT_AUTH_ADMIN},
        {"GET", "/api/v1/me", NT_AUTH_USER},
    };
    const fh_service *s;

    ck_assert_int_eq(fh_route_count(host), (int)(sizeof(want) / sizeof(want[0])));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const nt_route *r = route(want[i].method, want[i].path);
        ck_assert_int_eq(r->auth, want[i].auth);
        ck_assert(r->perms == NULL || r->perms[0] == NULL);
    }
    s = service(NT_SERVICE_ACCOUNTS);
    ck_assert_str_eq(s->name, "nettu");
    ck_assert_uint_eq(s->version, NT_ACCOUNTS_V1);
    ck_assert_uint_eq(((const nt_accounts_v1 *)s->ops)->size, sizeof(nt_accounts_v1));
    s = service(NT_SERVICE_USERS);
    ck_assert_str_eq(s->name, "nettu");
    ck_assert_uint_eq(s->version, NT_USERS_V1);
    ck_assert_int_eq(fh_migration_count(acct_plugin) + fh_migration_count(user_plugin), 2);
    /* A configured secret is not logged. */
    ck_assert_ptr_null(strstr(fh_log(host), SECRET));
}
END_TEST

START_TEST(test_account_create)
{
    struct call c = {.method = "POST", .path = "/api/v1/account"};
    char msg[512], hash[65], sql[256], *stored;
    const char *key;
    json_t *out;

    c.body = "{}";
    ck_assert_int_eq(call(&c, &out, msg), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "code"));
    c.body = "{\"code\": null}";
    ck_assert_int_eq(call(&c, &out, msg), NT_EINVAL);
    c.body = "{\"code\": 42}";
    ck_assert_int_eq(call(&c, &out, msg), NT_EINVAL);
    c.body = "{\"code\": \"wrong\"}";
    ck_assert_int_eq(call(&c, &out, msg), NT_EUNAUTH);
    ck_assert_ptr_nonnull(strstr(msg, "code"));
    c.body = "{\"code\": \"" SECRET "x\"}";
    ck_assert_int_eq(call(&c, &out, msg), NT_EUNAUTH);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts"), 0);

    c.body = "{\"code\": \"" SECRET "\", \"extra\": 1}";
    ck_assert_int_eq(call(&c, &out, msg), 201);
    ck_assert_int_eq(json_object_size(out), 2);
    key = json_string_value(json_object_get(out, "secretApiKey"));
    ck_assert_ptr_nonnull(key);
    ck_assert_uint_eq(strlen(key), 33);
    ck_assert_int_eq(strncmp(key, "sk_", 3), 0);
    ck_assert_uint_eq(strspn(key + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789"),
                      30);
    {
        json_t *acc = json_object_get(out, "account");
        const char *id = json_string_value(json_object_get(acc, "id"));
        char want[256];
        ck_assert(fh_api()->uuid_valid(id));
        snprintf(want, sizeof(want),
                 "{\"id\": \"%s\", \"publicJwtKey\": null, \"settings\": {\"webhook\": null}}", id);
        expect_json(acc, want);
    }
    /* Only the hash is stored. */
    sha256_hex(key, hash);
    snprintf(sql, sizeof(sql), "SELECT api_key_hash FROM account_accounts");
    stored = scalar(sql);
    ck_assert_str_eq(stored, hash);
    free(stored);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM account_accounts WHERE api_key_hash = '%s' OR id = '%s' "
             "OR webhook_key = '%s' OR public_jwt_key = '%s'",
             key, key, key, key);
    ck_assert_int_eq(count(sql), 0);
    json_decref(out);

    /* Two accounts get different ids and keys. */
    {
        char id1[NT_UUID_BUF], key1[64], id2[NT_UUID_BUF], key2[64];
        create_account(id1, key1);
        create_account(id2, key2);
        ck_assert_str_ne(id1, id2);
        ck_assert_str_ne(key1, key2);
    }
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts"), 3);
}
END_TEST

START_TEST(test_account_service)
{
    const fh_service *s = service(NT_SERVICE_ACCOUNTS);
    const nt_accounts_v1 *ops = s->ops;
    char id[NT_UUID_BUF], key[64], found[NT_UUID_BUF], other[NT_UUID_BUF], okey[64];
    char *pem = (char *)"x";
    int64_t version = -1;

    create_account(id, key);
    create_account(other, okey);
    ck_assert_int_eq(ops->find_by_api_key(s->state, fh_db(host), key, found), NT_OK);
    ck_assert_str_eq(found, id);
    ck_assert_int_eq(ops->find_by_api_key(s->state, fh_db(host), okey, found), NT_OK);
    ck_assert_str_eq(found, other);
    key[10] ^= 1;
    ck_assert_int_eq(ops->find_by_api_key(s->state, fh_db(host), key, found), NT_ENOTFOUND);
    ck_assert_int_eq(ops->find_by_api_key(s->state, fh_db(host), "", found), NT_ENOTFOUND);
    ck_assert_int_eq(ops->find_by_api_key(s->state, fh_db(host), NULL, found), NT_ENOTFOUND);

    ck_assert_int_eq(ops->key_version(s->state, fh_db(host), id, &version), NT_OK);
    ck_assert_int_eq(version, 0);
    ck_assert_int_eq(ops->public_key(s->state, fh_db(host), id, &pem, &version), NT_OK);
    ck_assert_ptr_null(pem);
    ck_assert_int_eq(version, 0);
    ck_assert_int_eq(ops->key_version(s->state, fh_db(host), NO_SUCH, &version), NT_ENOTFOUND);
    ck_assert_int_eq(ops->public_key(s->state, fh_db(host), NO_SUCH, &pem, &version), NT_ENOTFOUND);
}
END_TEST

START_TEST(test_account_get)
{
    char id[NT_UUID_BUF], key[64], want[256], msg[512];
    struct call c = {.method = "GET", .path = "/api/v1/account"};
    json_t *out;

    create_account(id, key);
    c.account = id;
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    snprintf(want, sizeof(want),
             "{\"account\": {\"id\": \"%s\", \"publicJwtKey\": null, "
             "\"settings\": {\"webhook\": null}}}",
             id);
    expect_json(out, want);
    json_decref(out);

    c.account = NO_SUCH;
    ck_assert_int_eq(call(&c, &out, msg), NT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(msg, "account"));
}
END_TEST

START_TEST(test_account_pubkey)
{
    const fh_service *s = service(NT_SERVICE_ACCOUNTS);
    const nt_accounts_v1 *ops = s->ops;
    char id[NT_UUID_BUF], key[64], msg[512], body[4096];
    char *spki = key_pem("spki"), *pkcs1 = key_pem("pkcs1"), *ec = key_pem("ec");
    char *priv = key_pem("private"), *weak = key_pem("weak"), *pem = NULL;
    struct call c = {.method = "PUT", .path = "/api/v1/account/pubkey", .body = body};
    int64_t v1, v2, v3, v4, v;
    json_t *out;

    create_account(id, key);
    c.account = id;

    /* Set an SPKI key: stored and answered verbatim. */
    set_key_body(body, sizeof(body), spki, strlen(spki));
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(out, "account"), "publicJwtKey")), spki);
    json_decref(out);
    ck_assert_int_eq(ops->public_key(s->state, fh_db(host), id, &pem, &v1), NT_OK);
    ck_assert_str_eq(pem, spki);
    free(pem);
    ck_assert_int_gt(v1, 0);
    ck_assert_int_eq(ops->key_version(s->state, fh_db(host), id, &v), NT_OK);
    ck_assert_int_eq(v, v1);

    /* Refused keys keep the old one and its version. */
    {
        const char *bad[] = {ec,
                             priv,
                             "",
                             "not a key",
                             "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                             weak};
        char nul[4096];
        size_t n = (size_t)snprintf(nul, sizeof(nul) - 2, "%s", spki);

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            set_key_body(body, sizeof(body), bad[i], strlen(bad[i]));
            ck_assert_int_eq(call(&c, &out, msg), NT_EINVAL);
            ck_assert_ptr_nonnull(strstr(msg, "publicJwtKey"));
        }
        /* The weak key's message names the rule. */
        ck_assert_ptr_nonnull(strstr(msg, "expected an RSA key of 2048 to 8192 bits with "
                                          "public exponent 65537"));
        snprintf(body, sizeof(body), "{\"publicJwtKey\": 17}");
        ck_assert_int_eq(call(&c, &out, msg), NT_EINVAL);
        /* The valid key followed by "\u0000x". */
        nul[n] = '\0';
        nul[n + 1] = 'x';
        set_key_body(body, sizeof(body), nul, n + 2);
        ck_assert_int_eq(call(&c, &out, msg), NT_EINVAL);
    }
    ck_assert_int_eq(ops->public_key(s->state, fh_db(host), id, &pem, &v), NT_OK);
    ck_assert_str_eq(pem, spki);
    ck_assert_int_eq(v, v1);
    free(pem);

    /* Remove with {} and with null: no key, version 0, stored counter moves on. */
    snprintf(body, sizeof(body), "{}");
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    ck_assert(json_is_null(json_object_get(json_object_get(out, "account"), "publicJwtKey")));
    json_decref(out);
    ck_assert_int_eq(ops->public_key(s->state, fh_db(host), id, &pem, &v), NT_OK);
    ck_assert_ptr_null(pem);
    ck_assert_int_eq(v, 0);
    v2 = count("SELECT key_version FROM account_accounts");
    ck_assert_int_gt(v2, v1);
    snprintf(body, sizeof(body), "{\"publicJwtKey\": null}");
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    json_decref(out);
    v3 = count("SELECT key_version FROM account_accounts");
    ck_assert_int_gt(v3, v2);

    /* A PKCS#1 key: a version never used before. */
    set_key_body(body, sizeof(body), pkcs1, strlen(pkcs1));
    ck_assert_int_eq(call(&c, &out, NULL), 200);
    json_decref(out);
    ck_assert_int_eq(ops->public_key(s->state, fh_db(host), id, &pem, &v4), NT_OK);
    ck_assert_str_eq(pem, pkcs1);
    free(pem);
    ck_assert_int_gt(v4, v3);
    ck_assert_int_ne(v4, v1);

    free(spki);
    free(pkcs1);
    free(ec);
    free(priv);
    free(weak);
}
END_TEST

START_TEST(test_account_webhook)
{
    char id[NT_UUID_BUF], key[64], msg[512], whkey[64];
    struct call put = {.method = "PUT", .path = "/api/v1/account/webhook"};
    struct call del = {.method = "DELETE", .path = "/api/v1/account/webhook"};
    json_t *out, *wh;

    create_account(id, key);
    put.account = del.account = id;

    put.body = "{}";
    ck_assert_int_eq(call(&put, &out, msg), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "webhookUrl"));
    put.body = "{\"webhookUrl\": 5}";
    ck_assert_int_eq(call(&put, &out, msg), NT_EINVAL);
    put.body = "{\"webhookUrl\": \"ftp://example.com\"}";
    ck_assert_int_eq(call(&put, &out, msg), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "webhookUrl"));
    put.body = "{\"webhookUrl\": \"example.com/hook\"}";
    ck_assert_int_eq(call(&put, &out, msg), NT_EINVAL);
    put.body = "{\"webhookUrl\": \"https://example.com\\u0000junk\"}";
    ck_assert_int_eq(call(&put, &out, msg), NT_EINVAL);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts WHERE webhook_url IS NULL"), 1);

    put.body = "{\"webhookUrl\": \"https://example.com/hook\"}";
    ck_assert_int_eq(call(&put, &out, NULL), 200);
    wh = json_object_get(json_object_get(json_object_get(out, "account"), "settings"), "webhook");
    ck_assert_str_eq(json_string_value(json_object_get(wh, "url")), "https://example.com/hook");
    snprintf(whkey, sizeof(whkey), "%s", json_string_value(json_object_get(wh, "key")));
    ck_assert_uint_eq(strlen(whkey), 33);
    ck_assert_int_eq(strncmp(whkey, "sk_", 3), 0);
    ck_assert_str_ne(whkey, key);
    json_decref(out);

    /* A second PUT keeps the key. */
    put.body = "{\"webhookUrl\": \"http://127.0.0.1:9000/other\"}";
    ck_assert_int_eq(call(&put, &out, NULL), 200);
    wh = json_object_get(json_object_get(json_object_get(out, "account"), "settings"), "webhook");
    ck_assert_str_eq(json_string_value(json_object_get(wh, "url")), "http://127.0.0.1:9000/other");
    ck_assert_str_eq(json_string_value(json_object_get(wh, "key")), whkey);
    json_decref(out);

    ck_assert_int_eq(call(&del, &out, NULL), 200);
    ck_assert(json_is_null(
        json_object_get(json_object_get(json_object_get(out, "account"), "settings"), "webhook")));
    json_decref(out);
    ck_assert_int_eq(call(&del, &out, NULL), 200);
    json_decref(out);

    /* After a delete the next webhook gets a new key. */
    put.body = "{\"webhookUrl\": \"https://example.com/hook\"}";
    ck_assert_int_eq(call(&put, &out, NULL), 200);
    wh = json_object_get(json_object_get(json_object_get(out, "account"), "settings"), "webhook");
    ck_assert_str_ne(json_string_value(json_object_get(wh, "key")), whkey);
    json_decref(out);

    put.account = del.account = NO_SUCH;
    ck_assert_int_eq(call(&put, &out, msg), NT_ENOTFOUND);
    ck_assert_int_eq(call(&del, &out, msg), NT_ENOTFOUND);
}
END_TEST

/* Re-runs both plugins' init and start against the same database with the current config.
 * Returns the account plugin's init or start result. */
static int
restart(void)
{
    int rc;

    fh_close(user_plugin);
    fh_close(acct_plugin);
    fh_log_clear(host);
    config_push();
    acct_plugin = plugin_open("account");
    user_plugin = plugin_open("user");
    /* The host applies each migration once: the second run finds them recorded. */
    rc = fh_init(acct_plugin);
    if (rc != NT_OK)
        return rc;
    ck_assert_int_eq(fh_init(user_plugin), NT_OK);
    ck_assert_msg(fh_migrate(host) == NT_OK, "%s", fh_log(host));
    return fh_start(acct_plugin);
}

START_TEST(test_default_account)
{
    const fh_service *s;
    char *spki = key_pem("spki"), escaped[4096], *w = escaped, found[NT_UUID_BUF], *pem = NULL;
    int64_t v;
    json_t *out;
    struct call get = {.method = "GET", .path = "/api/v1/account"};

    for (const char *r = spki; *r != '\0'; r++) {
        if (*r == '\n') {
            *w++ = '\\';
            *w++ = 'n';
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    config[1][0] = "default_api_key";
    config[1][1] = "sk_default_key_1";
    config[2][0] = "default_account_id";
    config[2][1] = "0B1E7C1E-5D0A-4F3E-9F40-2A5C0C4B8F11";
    config[3][0] = "default_webhook_url";
    config[3][1] = "https://example.com/default";
    config[4][0] = "default_public_key";
    config[4][1] = escaped;
    ck_assert_int_eq(restart(), NT_OK);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "created the default account"));
    ck_assert_ptr_null(strstr(fh_log(host), "sk_default_key_1"));
    s = service(NT_SERVICE_ACCOUNTS);
    ck_assert_int_eq(((const nt_accounts_v1 *)s->ops)
                         ->find_by_api_key(s->state, fh_db(host), "sk_default_key_1", found),
                     NT_OK);
    ck_assert_str_eq(found, "0b1e7c1e-5d0a-4f3e-9f40-2a5c0c4b8f11");
    ck_assert_int_eq(
        ((const nt_accounts_v1 *)s->ops)->public_key(s->state, fh_db(host), found, &pem, &v),
        NT_OK);
    ck_assert_str_eq(pem, spki);
    ck_assert_int_gt(v, 0);
    free(pem);
    get.account = found;
    ck_assert_int_eq(call(&get, &out, NULL), 200);
    expect_json(json_object_get(json_object_get(out, "account"), "settings"),
                "{\"webhook\": {\"url\": \"https://example.com/default\", \"key\": \"\"}}");
    json_decref(out);

    /* A second start finds it and creates nothing. */
    ck_assert_int_eq(restart(), NT_OK);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "already exists"));
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts"), 1);

    /* Another key with the same id: start fails with a message naming the key. */
    config[1][1] = "sk_default_key_2";
    ck_assert_int_ne(restart(), NT_OK);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "INIT_ERROR default_account_id"));
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts"), 1);

    /* A bad id is ignored with a warning; a bad key is ignored with a warning. */
    config[1][1] = "sk_default_key_3";
    config[2][1] = "not-a-uuid";
    config[4][1] = "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n";
    ck_assert_int_eq(restart(), NT_OK);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "WARN default_account_id"));
    ck_assert_ptr_nonnull(strstr(fh_log(host), "WARN default_public_key"));
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts"), 2);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts WHERE public_jwt_key IS NULL "
                           "AND key_version = 0"),
                     1);
    free(spki);
}
END_TEST

/* Servers starting together on one database (store contract C3, C7): the default account's
 * look-up and insert run in one transaction that is run again after NT_ERETRY, and after a
 * unique conflict (another server created it in between) it looks again; start succeeds
 * and the account exists once. Retrying has its limit. */
START_TEST(test_default_account_concurrent_start)
{
    config[1][0] = "default_api_key";
    config[1][1] = "sk_default_race_01";
    config[2][0] = "default_account_id";
    config[2][1] = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d";
    fh_fail_next(host, "BEGIN", NT_ERETRY, 2);
    ck_assert_msg(restart() == NT_OK, "%s", fh_log(host));
    ck_assert_ptr_nonnull(strstr(fh_log(host), "trying again"));
    ck_assert_ptr_nonnull(strstr(fh_log(host), "created the default account"));
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts"), 1);

    /* The insert conflicts once, as when another server committed the account between this
     * one's look-up and insert: it looks again, and the transaction is not left open. */
    ck_assert_int_eq(
        sqlite3_exec(fh_sqlite(host), "DELETE FROM account_accounts", NULL, NULL, NULL), SQLITE_OK);
    fh_fail_next(host, "INSERT INTO account_accounts", NT_ECONFLICT, 1);
    ck_assert_msg(restart() == NT_OK, "%s", fh_log(host));
    ck_assert_int_eq(fh_in_transaction(host), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts"), 1);

    /* Retryable failures that do not stop: start fails, saying why. */
    ck_assert_int_eq(
        sqlite3_exec(fh_sqlite(host), "DELETE FROM account_accounts", NULL, NULL, NULL), SQLITE_OK);
    fh_fail_next(host, "BEGIN", NT_ERETRY, 100);
    ck_assert_int_eq(restart(), NT_ERETRY);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "INIT_ERROR default account: cannot look it up"));
    ck_assert_int_eq(count("SELECT COUNT(*) FROM account_accounts"), 0);
    fh_fail_next(host, NULL, 0, 0);
}
END_TEST

START_TEST(test_config_errors)
{
    /* A default key that is not visible ASCII. */
    config[1][0] = "default_api_key";
    config[1][1] = "sk key";
    ck_assert_int_eq(restart(), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "INIT_ERROR default_api_key"));

    /* A default key shorter than 16 characters. */
    config[1][1] = "sk_0123456789ab";
    ck_assert_int_eq(restart(), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "INIT_ERROR default_api_key (ACCOUNT_API_KEY): "
                                               "must have at least 16 characters (it has 15)"));
    ck_assert_ptr_null(strstr(fh_log(host), "sk_0123456789ab"));

    /* A weak RSA default public key stops the start (an unparsable one is only logged). */
    {
        char *weak = key_pem("weak"), escaped[4096], *w = escaped;
        for (const char *r = weak; *r != '\0'; r++) {
            if (*r == '\n') {
                *w++ = '\\';
                *w++ = 'n';
            } else {
                *w++ = *r;
            }
        }
        *w = '\0';
        config[1][1] = "sk_0123456789abc";
        config[2][0] = "default_public_key";
        config[2][1] = escaped;
        ck_assert_int_eq(restart(), NT_EINVAL);
        ck_assert_ptr_nonnull(strstr(fh_log(host),
                                     "INIT_ERROR default_public_key (ACCOUNT_PUB_KEY): the RSA "
                                     "modulus must have 2048 to 8192 bits; expected an RSA key of "
                                     "2048 to 8192 bits with public exponent 65537"));
        free(weak);
    }

    /* A bad default webhook URL. */
    config[1][1] = "sk_key_0123456789";
    config[2][0] = "default_webhook_url";
    config[2][1] = "not a url";
    ck_assert_int_eq(restart(), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "INIT_ERROR default_webhook_url"));

    /* An unknown key. */
    config[2][0] = "webhook";
    config[2][1] = "x";
    ck_assert_int_eq(restart(), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(fh_log(host), "webhook: unknown key"));

    /* No secret: a random one is generated and logged once at INFO. */
    memset(config, 0, sizeof(config));
    ck_assert_int_eq(restart(), NT_OK);
    {
        const char *line = strstr(fh_log(host), "INFO create_account_secret");
        const char *is;
        char code[64], body[128];
        struct call c = {.method = "POST", .path = "/api/v1/account", .body = body};
        json_t *out;
        size_t n;

        ck_assert_ptr_nonnull(line);
        is = strstr(line, "this run: ");
        ck_assert_ptr_nonnull(is);
        n = strcspn(is + 10, "\n");
        ck_assert_uint_eq(n, 16);
        snprintf(code, sizeof(code), "%.*s", (int)n, is + 10);
        ck_assert_uint_eq(strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789"),
                          16);
        snprintf(body, sizeof(body), "{\"code\": \"%s\"}", code);
        ck_assert_int_eq(call(&c, &out, NULL), 201);
        json_decref(out);
        snprintf(body, sizeof(body), "{\"code\": \"" SECRET "\"}");
        ck_assert_int_eq(call(&c, &out, NULL), NT_EUNAUTH);
    }
}
END_TEST

/* ---- user tests -------------------------------------------------------------------------- */

START_TEST(test_user_create_get)
{
    char acc[NT_UUID_BUF], key[64], other[NT_UUID_BUF], okey[64], uid[NT_UUID_BUF];
    char msg[512], want[256];
    struct call c = {.method = "POST", .path = "/api/v1/user"};
    struct call g = {.method = "GET", .path = "/api/v1/user/{userId}"};
    json_t *out;

    create_account(acc, key);
    create_account(other, okey);
    c.account = acc;

    c.body = "{}";
    ck_assert_int_eq(call(&c, &out, NULL), 201);
    ck_assert(fh_api()->uuid_valid(
        json_string_value(json_object_get(json_object_get(out, "user"), "id"))));
    expect_json(json_object_get(json_object_get(out, "user"), "metadata"), "{}");
    json_decref(out);

    c.body = "{\"metadata\": {\"team\": \"red\", \"n\": \"1\"}}";
    ck_assert_int_eq(call(&c, &out, NULL), 201);
    snprintf(uid, sizeof(uid), "%s",
             json_string_value(json_object_get(json_object_get(out, "user"), "id")));
    snprintf(want, sizeof(want),
             "{\"user\": {\"id\": \"%s\", \"metadata\": "
             "{\"team\": \"red\", \"n\": \"1\"}}}",
             uid);
    expect_json(out, want);
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_metadata"), 2);

    c.body = "{\"metadata\": {\"team\": 1}}";
    ck_assert_int_eq(call(&c, &out, msg), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "metadata"));
    c.body = "{\"metadata\": [\"a\"]}";
    ck_assert_int_eq(call(&c, &out, msg), NT_EINVAL);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_users"), 2);

    g.account = acc;
    g.param = uid;
    ck_assert_int_eq(call(&g, &out, NULL), 200);
    expect_json(out, want);
    json_decref(out);
    g.account = other;
    ck_assert_int_eq(call(&g, &out, msg), NT_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(msg, "userId"));
    g.account = acc;
    g.param = NO_SUCH;
    ck_assert_int_eq(call(&g, &out, msg), NT_ENOTFOUND);
}
END_TEST

START_TEST(test_user_create_rolls_back)
{
    char acc[NT_UUID_BUF], key[64];
    struct call c = {
        .method = "POST", .path = "/api/v1/user", .body = "{\"metadata\": {\"a\": \"b\"}}"};
    json_t *out;

    create_account(acc, key);
    c.account = acc;
    set_fail_sql("INSERT INTO user_metadata");
    ck_assert_int_lt(call(&c, &out, NULL), 0);
    set_fail_sql(NULL);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_users"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_metadata"), 0);
}
END_TEST

START_TEST(test_user_update)
{
    char acc[NT_UUID_BUF], key[64], other[NT_UUID_BUF], okey[64], uid[NT_UUID_BUF];
    char msg[512], want[256], sql[256];
    struct call u = {.method = "PUT", .path = "/api/v1/user/{userId}"};
    json_t *out;

    create_account(acc, key);
    create_account(other, okey);
    create_user(acc, "{\"team\": \"red\", \"x\": \"y\"}", uid);
    u.account = acc;
    u.param = uid;

    /* Absent metadata: unchanged. */
    u.body = "{}";
    ck_assert_int_eq(call(&u, &out, NULL), 200);
    snprintf(want, sizeof(want),
             "{\"user\": {\"id\": \"%s\", \"metadata\": {\"team\": \"red\", \"x\": \"y\"}}}", uid);
    expect_json(out, want);
    json_decref(out);

    /* Present metadata: replaced, not merged; the side table follows. */
    u.body = "{\"metadata\": {\"team\": \"blue\"}}";
    ck_assert_int_eq(call(&u, &out, NULL), 200);
    snprintf(want, sizeof(want), "{\"user\": {\"id\": \"%s\", \"metadata\": {\"team\": \"blue\"}}}",
             uid);
    expect_json(out, want);
    json_decref(out);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM user_metadata WHERE entity_id = '%s' AND key = 'team' AND "
             "value = 'blue'",
             uid);
    ck_assert_int_eq(count(sql), 1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_metadata"), 1);

    /* Bad metadata: 400, unchanged. */
    u.body = "{\"metadata\": {\"team\": true}}";
    ck_assert_int_eq(call(&u, &out, msg), NT_EINVAL);

    /* Foreign or unknown user: 409 (quirk), unchanged. */
    u.body = "{\"metadata\": {\"team\": \"green\"}}";
    u.account = other;
    ck_assert_int_eq(call(&u, &out, msg), NT_ECONFLICT);
    ck_assert_ptr_nonnull(strstr(msg, "userId"));
    u.body = "{}";
    ck_assert_int_eq(call(&u, &out, msg), NT_ECONFLICT);
    u.account = acc;
    u.param = NO_SUCH;
    ck_assert_int_eq(call(&u, &out, msg), NT_ECONFLICT);
    u.body = "{\"metadata\": {\"team\": \"green\"}}";
    ck_assert_int_eq(call(&u, &out, msg), NT_ECONFLICT);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_metadata WHERE value = 'green'"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_users WHERE metadata LIKE '%green%'"), 0);

    /* A failure half-way changes nothing. */
    u.param = uid;
    set_fail_sql("INSERT INTO user_metadata");
    ck_assert_int_lt(call(&u, &out, NULL), 0);
    set_fail_sql(NULL);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_users WHERE metadata LIKE '%blue%'"), 1);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_metadata WHERE value = 'blue'"), 1);
}
END_TEST

START_TEST(test_user_meta_query)
{
    char acc[NT_UUID_BUF], key[64], other[NT_UUID_BUF], okey[64];
    char ids[5][NT_UUID_BUF], oid[NT_UUID_BUF], msg[512];
    struct call q = {.method = "GET", .path = "/api/v1/user/meta"};
    json_t *out, *users;

    create_account(acc, key);
    create_account(other, okey);
    for (int i = 0; i < 5; i++)
        create_user(acc, i % 2 == 0 ? "{\"team\": \"red\", \"k\": \"v\"}" : "{\"team\": \"blue\"}",
                    ids[i]);
    create_user(other, "{\"team\": \"red\"}", oid);
    q.account = acc;

    q.query[0][0] = "key";
    q.query[0][1] = "team";
    q.query[1][0] = "value";
    q.query[1][1] = "red";
    ck_assert_int_eq(call(&q, &out, NULL), 200);
    users = json_object_get(out, "users");
    ck_assert_int_eq(json_object_size(out), 1);
    ck_assert_uint_eq(json_array_size(users), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(users, 0), "id")), ids[0]);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(users, 1), "id")), ids[2]);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(users, 2), "id")), ids[4]);
    expect_json(json_object_get(json_array_get(users, 0), "metadata"),
                "{\"team\": \"red\", \"k\": \"v\"}");
    json_decref(out);

    q.query[2][0] = "skip";
    q.query[2][1] = "1";
    q.query[3][0] = "limit";
    q.query[3][1] = "1";
    ck_assert_int_eq(call(&q, &out, NULL), 200);
    users = json_object_get(out, "users");
    ck_assert_uint_eq(json_array_size(users), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(users, 0), "id")), ids[2]);
    json_decref(out);

    q.query[3][1] = "0";
    ck_assert_int_eq(call(&q, &out, NULL), 200);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "users")), 0);
    json_decref(out);

    q.query[1][1] = "green";
    q.query[3][1] = "20";
    ck_assert_int_eq(call(&q, &out, NULL), 200);
    ck_assert_uint_eq(json_array_size(json_object_get(out, "users")), 0);
    json_decref(out);

    q.query[2][1] = "undefined";
    ck_assert_int_eq(call(&q, &out, msg), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "skip"));
    memset(q.query, 0, sizeof(q.query));
    q.query[0][0] = "value";
    q.query[0][1] = "red";
    ck_assert_int_eq(call(&q, &out, msg), NT_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "key"));
}
END_TEST

START_TEST(test_user_delete_and_me)
{
    char acc[NT_UUID_BUF], key[64], other[NT_UUID_BUF], okey[64], uid[NT_UUID_BUF];
    char msg[512], want[256];
    struct call d = {.method = "DELETE", .path = "/api/v1/user/{userId}"};
    struct call me = {.method = "GET", .path = "/api/v1/me"};
    const fh_service *s = service(NT_SERVICE_USERS);
    const nt_users_v1 *ops = s->ops;
    json_t *out;

    create_account(acc, key);
    create_account(other, okey);
    create_user(acc, "{\"a\": \"b\"}", uid);
    snprintf(want, sizeof(want), "{\"user\": {\"id\": \"%s\", \"metadata\": {\"a\": \"b\"}}}", uid);

    me.account = acc;
    me.user = uid;
    ck_assert_int_eq(call(&me, &out, NULL), 200);
    expect_json(out, want);
    json_decref(out);
    ck_assert_int_eq(ops->in_account(s->state, fh_db(host), acc, uid), NT_OK);
    ck_assert_int_eq(ops->in_account(s->state, fh_db(host), other, uid), NT_ENOTFOUND);
    ck_assert_int_eq(ops->in_account(s->state, fh_db(host), acc, NO_SUCH), NT_ENOTFOUND);

    d.account = other;
    d.param = uid;
    ck_assert_int_eq(call(&d, &out, msg), NT_ENOTFOUND);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_users"), 1);

    d.account = acc;
    ck_assert_int_eq(call(&d, &out, NULL), 200);
    expect_json(out, want);
    json_decref(out);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_users"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_metadata"), 0);
    ck_assert_int_eq(call(&d, &out, msg), NT_ENOTFOUND);
    ck_assert_int_eq(call(&me, &out, msg), NT_ENOTFOUND);
    ck_assert_int_eq(ops->in_account(s->state, fh_db(host), acc, uid), NT_ENOTFOUND);

    /* Deleting an account row cascades to its users and their metadata. */
    create_user(acc, "{\"a\": \"b\"}", uid);
    ck_assert_int_eq(
        sqlite3_exec(fh_sqlite(host), "DELETE FROM account_accounts", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_users"), 0);
    ck_assert_int_eq(count("SELECT COUNT(*) FROM user_metadata"), 0);
}
END_TEST

static Suite *
account_user_suite(void)
{
    Suite *s = suite_create("account_user");
    TCase *acct = tcase_create("account");
    TCase *user = tcase_create("user");

    tcase_add_checked_fixture(acct, setup, teardown);
    tcase_add_test(acct, test_registrations);
    tcase_add_test(acct, test_account_create);
    tcase_add_test(acct, test_account_service);
    tcase_add_test(acct, test_account_get);
    tcase_add_test(acct, test_account_pubkey);
    tcase_add_test(acct, test_account_webhook);
    tcase_add_test(acct, test_default_account);
    tcase_add_test(acct, test_default_account_concurrent_start);
    tcase_add_test(acct, test_config_errors);
    suite_add_tcase(s, acct);

    tcase_add_checked_fixture(user, setup, teardown);
    tcase_add_test(user, test_user_create_get);
    tcase_add_test(user, test_user_create_rolls_back);
    tcase_add_test(user, test_user_update);
    tcase_add_test(user, test_user_meta_query);
    tcase_add_test(user, test_user_delete_and_me);
    suite_add_tcase(s, user);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(account_user_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
