/* The claims of a verified end-user token: exp, nbf, iat, the optional issuer and audience
 * checks, and the user id and policy under configurable claim names; pure.
 */
#ifndef JWKS_CLAIMS_H
#define JWKS_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <nettu/plugin.h>

/* Clock skew allowed between the token issuer and this server for nbf and iat (seconds);
 * exp has none. The same as auth_nettu's JWT_LEEWAY_S. */
#define JWKS_LEEWAY_S 60

/* What the claims must hold; strings borrowed for as long as the rules are used. */
typedef struct jwks_claim_rules {
    const char *user_claim;   /* names the user id (a UUID), e.g. "nettuSchedulerUserId" */
    const char *policy_claim; /* names the policy object; absent or null = default policy */
    const char *issuer;       /* iss must equal it; NULL = not checked */
    const char *audience;     /* aud must be it or an array holding it; NULL = not checked */
    int (*uuid_valid)(const char *s); /* 1 when s is a UUID (nt_host_api.uuid_valid) */
    int64_t leeway_s;     /* clock skew allowed for nbf and iat ([auth_jwks] leeway; default
                             JWKS_LEEWAY_S) */
    int64_t exp_leeway_s; /* ... for exp ([auth_jwks] exp_leeway; default 0) */
} jwks_claim_rules;

/* The principal a token names. */
typedef struct jwks_principal {
    char user_id[NT_UUID_BUF]; /* lower case */
    int64_t exp;               /* seconds since the epoch */
    int64_t valid_from;        /* the first second the token counts: max(nbf, iat) minus
                                  the leeway (a cache must not accept it before) */
    json_t *policy;            /* owned reference, NULL for the default policy */
} jwks_principal;

/* Checks `claims` at time now_s (seconds): exp required, a non-negative JSON integer not
 * below now_s less rules->exp_leeway_s; nbf and iat, when present, non-negative integers at
 * most rules->leeway_s above now_s; iss and aud when the rules name them; the user claim a UUID
 * string; the policy claim absent, null or an object (its content is the policy service's
 * business). NT_OK fills *out (release it with jwks_principal_fini()); NT_EUNAUTH writes why the
 * token is refused into why (whylen bytes; it names the claim, never its value). claims and rules
 * are borrowed. Thread-safe. */
int jwks_claims_check(const json_t *claims, const jwks_claim_rules *rules, int64_t now_s,
                      jwks_principal *out, char *why, size_t whylen);

/* Releases the policy reference and empties *p; NULL is fine. */
void jwks_principal_fini(jwks_principal *p);

#endif /* JWKS_CLAIMS_H */
