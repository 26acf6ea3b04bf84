/* Fuzz target: the credentials headers of auth_nettu. The first byte selects what runs:
 *   0      bearer_token() (plugins/auth_nettu/bearer.c) on the rest as an Authorization value;
 *   1..4   the real authenticator (auth_nettu.so, with the real policy, account and user
 *          plugins on the fake host) for route class NT_AUTH_ADMIN .. NT_AUTH_PUBLIC_ACCOUNT,
 *          the rest being up to three lines: x-api-key, nettu-account, Authorization (an
 *          empty line leaves the header out).
 * "$TOKEN" in the Authorization line is replaced by a valid token of the seeded user, minted
 * at start-up, so the corpus can reach the success path. FUZZ_VERBOSE=1 prints each result.
 *
 * Oracle: bearer_token's answer lies inside the value after "bearer", trimmed and non-empty.
 * authenticate either sets one principal (an account id in lower case; a user for user
 * routes, none for admin-only routes) or fails with fail() and a message; messages and the
 * log never contain the API key or the token given.
 */
#include <ctype.h>
#include <strings.h>

#include "bearer.h"
#include "fakehost.h"
#include "fuzz.h"
#include "fuzz_jwtmint.h"

#define ACC "0b1e7c1e-5d0a-4f3e-9f40-2a5c0c4b8f11"
#define USER "6f2a1d0e-3b4c-4d5e-8f60-718293a4b5c6"
#define API_KEY "sk_fuzz_0123456789abcdefghijABCD"
#define CLAIMS                                                                                     \
    "{\"nettuSchedulerUserId\":\"" USER "\",\"iat\":19,\"exp\":5609418990073,"                     \
    "\"schedulerPolicy\":{\"allow\":[\"*\"],\"reject\":[\"DeleteCalendar\"]}}"

static fh_host *host;
static const nt_authenticator_v1 *auth;
static void *auth_state;
static char *token;

/* Writes pem with each newline as the two characters \n (the account plugin's format). */
static char *
escape_newlines(const char *pem)
{
    char *out = malloc(2 * strlen(pem) + 1), *w = out;

    FUZZ_CHECK(out != NULL, "out of memory");
    for (; *pem != '\0'; pem++) {
        if (*pem == '\n') {
            *w++ = '\\';
            *w++ = 'n';
        } else {
            *w++ = *pem;
        }
    }
    *w = '\0';
    return out;
}

/* Loads the plugins with a default account (API_KEY, the test key) and adds its user. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const names[] = {"auth_nettu", "policy", "account", "user", NULL};
    static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    const fh_service *s;
    char *pem, *escaped;

    (void)argc;
    (void)argv;
    if (host != NULL)
        return 0;
    host = fh_new();
    FUZZ_CHECK(host != NULL, "fh_new");
    pem = fuzz_key_pem();
    escaped = escape_newlines(pem);
    FUZZ_CHECK(fh_config_set(host, "auth_nettu", "token_cache_size", "0") == NT_OK &&
                   fh_config_set(host, "auth_nettu", "key_cache_size", "0") == NT_OK &&
                   fh_config_set(host, "account", "create_account_secret", "fuzz") == NT_OK &&
                   fh_config_set(host, "account", "default_api_key", API_KEY) == NT_OK &&
                   fh_config_set(host, "account", "default_account_id", ACC) == NT_OK &&
                   fh_config_set(host, "account", "default_public_key", escaped) == NT_OK,
               "config");
    fh_clock_set(1700000000000LL, 0);
    FUZZ_CHECK(fh_load_all(host, names) == NT_OK, "%s", fh_log(host));
    FUZZ_CHECK(sqlite3_exec(fh_sqlite(host),
                            "INSERT INTO user_users (id, account_id, metadata, created) "
                            "VALUES ('" USER "', '" ACC "', '{}', 1)",
                            NULL, NULL, NULL) == SQLITE_OK,
               "seeding the user");
    s = fh_service_find(host, NT_SERVICE_AUTHENTICATOR, "nettu");
    FUZZ_CHECK(s != NULL, "no authenticator");
    auth = s->ops;
    auth_state = s->state;
    token = fuzz_token(header, strlen(header), CLAIMS, strlen(CLAIMS));
    free(pem);
    free(escaped);
    return 0;
}

/* bearer_token's contract. */
static void
check_bearer(const char *value)
{
    size_t len = 99;
    const char *t = bearer_token(value, &len);
    size_t n = strlen(value);

    if (t == NULL) {
        FUZZ_CHECK(len == 0, "no token but len %zu", len);
        return;
    }
    FUZZ_CHECK(n >= 6 && strncasecmp(value, "bearer", 6) == 0, "a token without 'bearer'");
    FUZZ_CHECK(t >= value + 6 && t + len <= value + n, "the token is outside the value");
    FUZZ_CHECK(len > 0, "an empty token");
    FUZZ_CHECK(!isspace((unsigned char)t[0]) && !isspace((unsigned char)t[len - 1]),
               "the token is not trimmed");
    for (const char *p = value + 6; p < t; p++)
        FUZZ_CHECK(isspace((unsigned char)*p), "text skipped before the token");
    for (const char *p = t + len; *p != '\0'; p++)
        FUZZ_CHECK(isspace((unsigned char)*p), "text dropped after the token");
}

/* Replaces the first "$TOKEN" in line by the minted token; malloc'd. */
static char *
with_token(const char *line)
{
    const char *at = strstr(line, "$TOKEN");
    char *out;

    if (at == NULL)
        return strdup(line);
    out = malloc(strlen(line) + strlen(token) + 1);
    FUZZ_CHECK(out != NULL, "out of memory");
    sprintf(out, "%.*s%s%s", (int)(at - line), line, token, at + 6);
    return out;
}

/* 1 when secret occurs in text. Only secrets that cannot be a piece of a fixed message are
 * looked for: at least 16 characters without white space. */
static int
leaks(const char *text, const char *secret, size_t len)
{
    char *copy;
    int found;

    if (secret == NULL || len < 16)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)secret[i]))
            return 0;
    copy = fuzz_text((const uint8_t *)secret, len);
    found = strstr(text, copy) != NULL;
    free(copy);
    return found;
}

static void
check_authenticate(nt_auth_kind need, char *rest)
{
    char *lines[3] = {NULL, NULL, NULL}, *p = rest, *authz = NULL;
    const char *tok = NULL;
    fh_req *q = fh_req_new(host);
    static const char *const names[] = {"x-api-key", "nettu-account", "Authorization"};
    size_t toklen = 0;
    int rc;

    FUZZ_CHECK(q != NULL, "out of memory");
    for (int i = 0; i < 3 && p != NULL; i++) {
        char *nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        lines[i] = *p != '\0' ? p : NULL;
        p = nl != NULL ? nl + 1 : NULL;
    }
    if (lines[2] != NULL) {
        authz = with_token(lines[2]);
        FUZZ_CHECK(authz != NULL, "out of memory");
        lines[2] = authz;
        tok = bearer_token(authz, &toklen);
    }
    for (int i = 0; i < 3; i++)
        if (lines[i] != NULL)
            FUZZ_CHECK(fh_req_add_header(q, names[i], lines[i]) == NT_OK, "out of memory");
    fh_log_clear(host);
    rc = auth->authenticate(auth_state, q, need);
    if (getenv("FUZZ_VERBOSE") != NULL) /* to see what a corpus file reaches */
        fprintf(stderr, "need %d -> %d %s (%s %s)\n", (int)need, rc, fh_req_msg(q),
                fh_req_account(q) != NULL ? fh_req_account(q) : "-",
                fh_req_user(q) != NULL ? fh_req_user(q) : "-");
    if (rc == NT_OK) {
        const char *acc = fh_req_account(q), *user = fh_req_user(q);
        FUZZ_CHECK(fh_req_principal_calls(q) == 1, "%d principals", fh_req_principal_calls(q));
        FUZZ_CHECK(acc != NULL && fh_api()->uuid_valid(acc), "account '%s'", acc ? acc : "");
        for (const char *c = acc; *c != '\0'; c++)
            FUZZ_CHECK(!isupper((unsigned char)*c), "an account id not in lower case");
        if (need == NT_AUTH_USER)
            FUZZ_CHECK(user != NULL && strcmp(user, USER) == 0, "a user route without the user");
        if (need == NT_AUTH_ADMIN || need == NT_AUTH_PUBLIC_ACCOUNT)
            FUZZ_CHECK(user == NULL, "an admin route with a user");
    } else {
        FUZZ_CHECK(fh_req_principal_calls(q) == 0, "a principal on failure");
        FUZZ_CHECK(rc == NT_EUNAUTH || rc == NT_EINVAL, "authenticate returned %d (%s)", rc,
                   fh_req_msg(q));
        FUZZ_CHECK(fh_req_fail_code(q) == rc && fh_req_msg(q)[0] != '\0',
                   "a refusal without a message");
        FUZZ_CHECK(rc == NT_EUNAUTH || need == NT_AUTH_PUBLIC_ACCOUNT,
                   "NT_EINVAL outside public-account routes");
    }
    if (lines[0] != NULL)
        FUZZ_CHECK(!leaks(fh_req_msg(q), lines[0], strlen(lines[0])) &&
                       !leaks(fh_log(host), lines[0], strlen(lines[0])),
                   "the API key was echoed");
    FUZZ_CHECK(!leaks(fh_req_msg(q), tok, toklen) && !leaks(fh_log(host), tok, toklen),
               "the token was echoed");
    fh_req_free(q);
    free(authz);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *rest;
    int mode;

    if (size < 1)
        return 0;
    LLVMFuzzerInitialize(NULL, NULL);
    mode = data[0] % 5;
    rest = fuzz_text(data + 1, size - 1);
    if (mode == 0)
        check_bearer(rest);
    else
        check_authenticate((nt_auth_kind)mode, rest);
    free(rest);
    return 0;
}
