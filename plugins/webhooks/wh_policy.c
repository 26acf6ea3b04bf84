/* The retry schedule and the signature of webhooks (README). Pure functions (OpenSSL only).
 */
#include "wh.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <stdio.h>
#include <string.h>

int64_t
wh_backoff_units(int64_t attempts)
{
    static const int64_t gaps[] = {10, 30, 120, 600, 1800, 3600};
    const int64_t n = (int64_t)(sizeof(gaps) / sizeof(gaps[0]));

    if (attempts < 1)
        return gaps[0];
    return attempts <= n ? gaps[attempts - 1] : gaps[n - 1];
}

int64_t
wh_next_attempt(int64_t attempts, int64_t first, int64_t now, int64_t unit_ms)
{
    int64_t next = now + wh_backoff_units(attempts) * unit_ms;

    if (next > first + (int64_t)WH_WINDOW_UNITS * unit_ms)
        return -1;
    return next;
}

int
wh_signature(const char *key, int64_t t, const char *body, size_t len, char *out, size_t cap)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    char head[32];
    int hn = snprintf(head, sizeof(head), "%lld.", (long long)t);
    EVP_MAC *mac_alg = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t outl = 0;
    int rc = NT_ERR, n;

    if (hn <= 0 || (size_t)hn >= sizeof(head) || key == NULL)
        return NT_ERR;
    mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac_alg == NULL || (ctx = EVP_MAC_CTX_new(mac_alg)) == NULL)
        goto done;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key), params) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)head, (size_t)hn) != 1 ||
        EVP_MAC_update(ctx, (const unsigned char *)body, len) != 1 ||
        EVP_MAC_final(ctx, mac, &outl, sizeof(mac)) != 1 || outl != 32)
        goto done;
    n = snprintf(out, cap, "t=%lld,v1=", (long long)t);
    if (n <= 0 || (size_t)n + 2 * outl + 1 > cap)
        goto done;
    for (size_t i = 0; i < outl; i++)
        snprintf(out + n + 2 * i, 3, "%02x", mac[i]);
    rc = NT_OK;
done:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac_alg);
    return rc;
}
