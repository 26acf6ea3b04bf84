/* account plugin: private declarations shared by its files (state, key helpers, PEM and URL
 * checks, storage and JSON of the account_accounts table).
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <jansson.h>
#include <nettu/plugin.h>
#include <nettu/services.h>

#define ACCT_KEY_PREFIX "sk_"
#define ACCT_KEY_RANDOM 30                 /* random characters after the prefix */
#define ACCT_KEY_LEN (3 + ACCT_KEY_RANDOM) /* "sk_" + 30 */
#define ACCT_KEY_BUF (ACCT_KEY_LEN + 1)    /* with the NUL */
#define ACCT_HASH_BUF 65                   /* hex SHA-256 and the NUL */
#define ACCT_SECRET_LEN 16                 /* generated create_account_secret */
#define ACCT_DEFAULT_KEY_MIN 16            /* characters of a configured default_api_key */
#define ACCT_URL_MAX 2048                  /* bytes of a webhook URL */

/* Fills buf with n cryptographically random bytes; NT_OK or a negative NT_E*. */
typedef int (*acct_random_fn)(void *buf, size_t n);

/* The plugin state: written by init/start on the main thread, read-only afterwards. */
struct acct {
    nt_plugin *self;
    const nt_host_api *api;
    int secret_generated; /* 1: secret was generated for this run and is logged at start */
    char *secret; /* create_account_secret, malloc'd; hashed only when compared, so OpenSSL is
                     not initialised (megabytes of memory) before a request needs it */
    const char *default_key;        /* borrowed from the config; NULL when unset */
    char default_id[NT_UUID_BUF];   /* "" when unset: a random id is used */
    const char *default_webhook;    /* borrowed from the config; NULL when unset */
    char *default_pem;              /* malloc'd valid PEM, or NULL */
    const nt_webhooks_v1 *webhooks; /* looked up in start: checks webhook targets; NULL when
                                       no webhooks plugin with check_url is loaded */
    void *webhooks_state;
};

/* One row of account_accounts to insert; every string borrowed from the caller. */
struct acct_row {
    const char *id;
    const char *api_key_hash;
    const char *public_jwt_key; /* NULL: none */
    const char *webhook_url;    /* NULL: no webhook */
    const char *webhook_key;    /* used only with webhook_url */
    int64_t created;
};

/* ---- account_keys.c: random keys and hashes (pure; no host calls) -------------------- */

/* Writes n characters drawn uniformly from [A-Za-z0-9] and a NUL into out[n + 1], using
 * rejection sampling over rnd's bytes. NT_OK, or rnd's error. */
int acct_random_alnum(acct_random_fn rnd, char *out, size_t n);

/* Writes a new secret key "sk_" + 30 alphanumerics into out. NT_OK or rnd's error. */
int acct_key_new(acct_random_fn rnd, char out[ACCT_KEY_BUF]);

/* Writes the lower-case hex SHA-256 of the NUL-terminated s into out. NT_OK or NT_ERR. */
int acct_hash_hex(const char *s, char out[ACCT_HASH_BUF]);

/* 1 when two hex hashes are equal, compared in constant time; 0 otherwise (also on NULL or
 * a length other than 64). */
int acct_hash_equal(const char *a, const char *b);

/* 1 when s is non-empty and every byte is visible ASCII (0x21..0x7e), else 0. */
int acct_visible_ascii(const char *s);

/* ---- account_pem.c: public-key checks (pure) ---------------------------------------- */

/* What acct_pem_rsa_public() wants when the text is not such a PEM block at all. */
#define ACCT_PEM_FORM                                                                              \
    "expected one PEM block holding an RSA public key (PUBLIC KEY or RSA PUBLIC KEY)"

/* NT_OK when pem (len bytes, no NUL inside) is exactly one PEM block holding an RSA public
 * key, "PUBLIC KEY" (SubjectPublicKeyInfo, rsaEncryption) or "RSA PUBLIC KEY" (PKCS#1),
 * with nothing but white space around it, and the key passes ntc_rsa_key_check() (2048 to
 * 8192 bits, exponent 65537, a sound modulus). NT_EINVAL otherwise, with *why a static
 * message: ACCT_PEM_FORM for text that is no such block, else the strength rule broken.
 * NT_ENOMEM when out of memory. Thread-safe; leaves the OpenSSL error queue empty. */
int acct_pem_rsa_public(const char *pem, size_t len, const char **why);

/* Returns a malloc'd copy of s with every two-character sequence backslash-n turned into a
 * newline (the caller frees it), or NULL when out of memory. */
char *acct_pem_unescape(const char *s);

/* ---- account_url.c: webhook URL check (pure) ---------------------------------------- */

/* 1 when url is an absolute http or https URL (scheme in any case) with a non-empty host,
 * no userinfo and an optional decimal port <= 65535, made of visible ASCII only, at most
 * ACCT_URL_MAX bytes; else 0. */
int acct_url_valid(const char *url);

/* ---- account_json.c ----------------------------------------------------------------- */

/* The Account wire object of the given fields (borrowed; NULL pem means no
 * key, NULL webhook_url no webhook). Returns a new reference, or NULL when out of memory. */
json_t *acct_json(const char *id, const char *pem, const char *webhook_url,
                  const char *webhook_key);

/* ---- account_store.c: SQL over account_accounts ------------------------------------- */

/* Reads the account `id` and sets *out to its wire object (new reference). NT_ENOTFOUND,
 * a storage error, or NT_ENOMEM. */
int acct_store_load(const nt_host_api *api, nt_db *db, const char *id, json_t **out);

/* Inserts a row. NT_OK, NT_ECONFLICT when the id or the key hash is taken, or another
 * storage error. */
int acct_store_insert(const nt_host_api *api, nt_db *db, const struct acct_row *row);

/* Finds the account whose stored key hash equals `hash` (compared again in constant time
 * after the indexed lookup) and writes its id. NT_OK, NT_ENOTFOUND or a storage error. */
int acct_store_find_hash(const nt_host_api *api, nt_db *db, const char *hash, char id[NT_UUID_BUF]);

/* Sets (pem non-NULL) or removes (pem NULL) the public key and moves key_version on.
 * NT_ENOTFOUND when there is no such account. */
int acct_store_set_pubkey(const nt_host_api *api, nt_db *db, const char *id, const char *pem);

/* Sets the webhook URL; a new webhook gets `key`, an existing one keeps its key.
 * NT_ENOTFOUND when there is no such account. */
int acct_store_set_webhook(const nt_host_api *api, nt_db *db, const char *id, const char *url,
                           const char *key);

/* Removes the webhook (no error when there is none). NT_ENOTFOUND without the account. */
int acct_store_clear_webhook(const nt_host_api *api, nt_db *db, const char *id);

/* Reads the public key (malloc'd into *pem, NULL when none; pem may be NULL to skip it) and
 * the key version (0 while there is no key). NT_ENOTFOUND, a storage error or NT_ENOMEM. */
int acct_store_pubkey(const nt_host_api *api, nt_db *db, const char *id, char **pem,
                      int64_t *version);

/* Reads the webhook URL and key (both malloc'd into *url and *key, both NULL when there is
 * no webhook). NT_ENOTFOUND, a storage error or NT_ENOMEM (then both are NULL). */
int acct_store_webhook(const nt_host_api *api, nt_db *db, const char *id, char **url, char **key);

/* ---- account_routes.c / account_service.c / account_default.c ----------------------- */

/* Registers the five account routes with state `a`. NT_OK or the host's error. */
int acct_routes_add(struct acct *a);

/* Provides the "accounts" service named "nettu". NT_OK or the host's error. */
int acct_service_add(struct acct *a);

/* Creates the default account of the configuration when its key has no account yet.
 * Main thread, during start. NT_OK, or an error already reported through init_error. */
int acct_default_ensure(struct acct *a);

#endif /* ACCOUNT_H */
