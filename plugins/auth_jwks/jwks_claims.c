/* Claim checks with the configured names. Messages name claims, never their values. */
#include "jwks_claims.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void
jwks_principal_fini(jwks_principal *p)
{
    if (p == NULL)
        return;
    json_decref(p->policy);
    memset(p, 0, sizeof(*p));
}

/* Reads claims[name] as a non-negative JSON integer into *out. NT_ENOTFOUND when absent or
 * null; NT_EUNAUTH (message in why) for any other value. */
static int
claims_time(const json_t *claims, const char *name, int64_t *out, char *why, size_t whylen)
{
    const json_t *v = json_object_get(claims, name);

    if (v == NULL || json_is_null(v))
        return NT_ENOTFOUND;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(why, whylen, "token %s: expected a non-negative integer", name);
        return NT_EUNAUTH;
    }
    *out = (int64_t)json_integer_value(v);
    return NT_OK;
}

/* exp (required), nbf and iat (optional) against now_s, with the rules' clock skew for nbf
 * and iat, and for exp; *valid_from becomes the first second the token counts. */
static int
claims_times(const json_t *claims, const jwks_claim_rules *rules, int64_t now_s, int64_t *exp,
             int64_t *valid_from, char *why, size_t whylen)
{
    int64_t nbf = 0, iat = 0;
    int rc = claims_time(claims, "exp", exp, why, whylen);

    if (rc == NT_ENOTFOUND)
        snprintf(why, whylen, "token exp: required");
    if (rc != NT_OK)
        return NT_EUNAUTH;
    if (claims_time(claims, "nbf", &nbf, why, whylen) == NT_EUNAUTH ||
        claims_time(claims, "iat", &iat, why, whylen) == NT_EUNAUTH)
        return NT_EUNAUTH;
    /* exp, nbf, iat and now_s are >= 0 and the leeways small (at most 10 min):
     * subtracting them cannot overflow (adding could). */
    if (*exp < now_s - rules->exp_leeway_s) {
        snprintf(why, whylen, "token expired%s",
                 rules->exp_leeway_s > 0 ? " (beyond [auth_jwks] exp_leeway)" : "");
        return NT_EUNAUTH;
    }
    if (nbf - rules->leeway_s > now_s) {
        snprintf(why, whylen, "token nbf: not valid yet");
        return NT_EUNAUTH;
    }
    if (iat - rules->leeway_s > now_s) {
        snprintf(why, whylen, "token iat: issued in the future");
        return NT_EUNAUTH;
    }
    *valid_from = (nbf > iat ? nbf : iat) - rules->leeway_s;
    return NT_OK;
}

/* 1 when claims.aud is `audience` or an array holding it. */
static int
claims_aud_has(const json_t *aud, const char *audience)
{
    const json_t *v;
    size_t i;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), audience) == 0;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), audience) == 0)
            return 1;
    }
    return 0;
}

/* The configured iss and aud checks. */
static int
claims_issuer_audience(const json_t *claims, const jwks_claim_rules *rules, char *why,
                       size_t whylen)
{
    const json_t *iss = json_object_get(claims, "iss");

    if (rules->issuer != NULL &&
        (!json_is_string(iss) || strcmp(json_string_value(iss), rules->issuer) != 0)) {
        snprintf(why, whylen, "token iss: not the configured issuer");
        return NT_EUNAUTH;
    }
    if (rules->audience != NULL &&
        !claims_aud_has(json_object_get(claims, "aud"), rules->audience)) {
        snprintf(why, whylen, "token aud: does not name the configured audience");
        return NT_EUNAUTH;
    }
    return NT_OK;
}

int
jwks_claims_check(const json_t *claims, const jwks_claim_rules *rules, int64_t now_s,
                  jwks_principal *out, char *why, size_t whylen)
{
    const json_t *uid, *pol;
    const char *s;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = claims_times(claims, rules, now_s, &out->exp, &out->valid_from, why, whylen);
    if (rc != NT_OK)
        goto out;
    rc = claims_issuer_audience(claims, rules, why, whylen);
    if (rc != NT_OK)
        goto out;
    rc = NT_EUNAUTH;
    uid = json_object_get(claims, rules->user_claim);
    if (uid == NULL || json_is_null(uid)) {
        snprintf(why, whylen, "token %s: required", rules->user_claim);
        goto out;
    }
    s = json_string_value(uid);
    if (s == NULL || json_string_length(uid) != NT_UUID_LEN || !rules->uuid_valid(s)) {
        snprintf(why, whylen, "token %s: expected a user id (UUID)", rules->user_claim);
        goto out;
    }
    for (int i = 0; i < NT_UUID_LEN; i++)
        out->user_id[i] = (char)tolower((unsigned char)s[i]);
    pol = json_object_get(claims, rules->policy_claim);
    if (pol != NULL && !json_is_null(pol)) {
        if (!json_is_object(pol)) {
            snprintf(why, whylen, "token %s: expected an object", rules->policy_claim);
            goto out;
        }
        out->policy = json_incref((json_t *)pol);
    }
    rc = NT_OK;
out:
    if (rc != NT_OK)
        jwks_principal_fini(out);
    return rc;
}
