/* Admin API keys and the public-account header; messages never hold the key. */
#include "authn_account.h"

#include <ctype.h>

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
    rc = a->ops->find_by_api_key(a->state, api->req_db(req), key, account);
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
