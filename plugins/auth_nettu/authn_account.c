/* Admin API keys and the public-account header; messages never hold the key. */
#include "authn_account.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest API key whose account the memo of a group commit keeps (longer ones are looked up
 * every time: the memo's key holds the API key). */
#define AUTHN_MEMO_KEY_MAX 160

/* 1 when s is non-empty visible ASCII (0x21..0x7e), else 0. */
static int
account_visible(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return 0;
    }
    return 1;
}

/* The account of API key `key` (find_by_api_key), through the memo of the request's group
 * commit (ABI 1.6): the requests of one group with the same key look it up once. Exact: no
 * route of a group commit writes accounts or their keys, and the group holds the store's
 * write lock until it ends, when the host frees the memo. Only accounts found are kept; the
 * memo lives in this process's memory for the length of one group, as the request's headers
 * do. */
static int
account_of_key(const authn_accounts *a, nt_req *req, const char *key, char account[NT_UUID_BUF])
{
    const nt_host_api *api = a->api;
    char mkey[AUTHN_MEMO_KEY_MAX + 32];
    const char *kept;
    char *copy;
    int rc, memo = NT_HAS_MEMBER(api, nt_host_api, memo_put) && api->memo_get != NULL &&
                   api->memo_put != NULL && strlen(key) <= AUTHN_MEMO_KEY_MAX;

    if (memo) {
        snprintf(mkey, sizeof(mkey), "auth_nettu/apikey/%s", key);
        if ((kept = api->memo_get(req, mkey)) != NULL) {
            memcpy(account, kept, NT_UUID_BUF);
            return NT_OK;
        }
    }
    rc = a->ops->find_by_api_key(a->state, api->req_db(req), key, account);
    if (rc == NT_OK && memo && (copy = malloc(NT_UUID_BUF)) != NULL) {
        memcpy(copy, account, NT_UUID_BUF);
        if (api->memo_put(req, mkey, copy, free) != NT_OK)
            free(copy);
    }
    return rc;
}

int
authn_account_admin(const authn_accounts *a, nt_req *req)
{
    const nt_host_api *api = a->api;
    const char *key = api->req_header(req, "x-api-key");
    char account[NT_UUID_BUF];
    int rc;

    if (key == NULL)
        return api->fail(req, NT_EUNAUTH, "missing x-api-key header");
    if (!account_visible(key))
        return api->fail(req, NT_EUNAUTH, "x-api-key: expected visible ASCII characters");
    rc = account_of_key(a, req, key, account);
    if (rc == NT_ENOTFOUND)
        return api->fail(req, NT_EUNAUTH, "x-api-key: no account has this API key");
    if (rc != NT_OK)
        return rc;
    return api->req_set_principal(req, account, NULL, NULL);
}

int
authn_account_public(const authn_accounts *a, nt_req *req)
{
    const nt_host_api *api = a->api;
    const char *hdr = api->req_header(req, "nettu-account");
    char account[NT_UUID_BUF];
    int64_t version = 0;
    int rc;

    if (hdr == NULL)
        return authn_account_admin(a, req);
    if (!api->uuid_valid(hdr))
        return api->fail(req, NT_EINVAL, "nettu-account: expected an account id (UUID)");
    for (int i = 0; i <= NT_UUID_LEN; i++) /* ids are stored in lower case */
        account[i] = (char)tolower((unsigned char)hdr[i]);
    rc = a->ops->key_version(a->state, api->req_db(req), account, &version);
    if (rc == NT_ENOTFOUND)
        return api->fail(req, NT_EUNAUTH, "nettu-account: no such account");
    if (rc != NT_OK)
        return rc;
    return api->req_set_principal(req, account, NULL, NULL);
}
