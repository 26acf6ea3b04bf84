/* The Account wire object. The secret API key and its hash never appear in
 * it.
 */
#include "account.h"

json_t *
acct_json(const char *id, const char *pem, const char *webhook_url, const char *webhook_key)
{
    json_t *account = NULL, *settings = NULL, *webhook = NULL;

    webhook = webhook_url == NULL ? json_null()
                                  : json_pack("{s:s, s:s}", "url", webhook_url, "key",
                                              webhook_key != NULL ? webhook_key : "");
    settings = json_object();
    account = json_pack("{s:s, s:s?}", "id", id, "publicJwtKey", pem);
    if (webhook == NULL || settings == NULL || account == NULL)
        goto fail;
    /* json_object_set_new takes the value also when it fails. */
    if (json_object_set_new(settings, "webhook", webhook) != 0) {
        webhook = NULL;
        goto fail;
    }
    webhook = NULL;
    if (json_object_set_new(account, "settings", settings) != 0) {
        settings = NULL;
        goto fail;
    }
    return account;
fail:
    json_decref(webhook);
    json_decref(settings);
    json_decref(account);
    return NULL;
}
