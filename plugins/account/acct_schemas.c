/* What the account routes accept and answer (ABI 1.4 route descriptions; see ntc_schema.h). */
#include "acct_schemas.h"

/* The schemas are laid out as JSON. */
/* clang-format off */
#define ACCT_S_ACCOUNT                                                                             \
    {"type": "object", "required": ["id", "publicJwtKey", "settings"],                                             \
     "properties": {                                                                               \
         "id": NTC_S_UUID,                                                                         \
         "publicJwtKey": {"type": "string", "nullable": true, "description": "PEM"},           \
         "settings": {"type": "object", "required": ["webhook"],                                   \
                      "properties": {"webhook": {                                                  \
                          "type": "object", "nullable": true, "required": ["url", "key"],          \
                          "properties": {"url": NTC_S_STR,                                         \
                                         "key": {"type": "string",                                 \
                                                 "description": "signs the deliveries"}}}}}}}
#define ACCT_S_REPLY                                                                               \
    {"type": "object", "required": ["account"], "properties": {"account": ACCT_S_ACCOUNT}}

const ntc_route_doc acct_route_docs[] = {
    {"POST", "/api/v1/account",
     "Create an account (needs the configured account-creation secret); answers its secret API "
     "key once",
     NULL,
     NTC_J({"type": "object", "required": ["code"],
            "properties": {"code": {"type": "string",
                                    "description": "the account-creation secret"}}}),
     NTC_J({"type": "object", "required": ["secretApiKey", "account"],
            "properties": {"secretApiKey": NTC_S_STR, "account": ACCT_S_ACCOUNT}}),
     201, NULL},
    {"GET", "/api/v1/account", "The caller's account", NULL, NULL, NTC_J(ACCT_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/account/pubkey",
     "Set (or, with null, remove) the RSA public key that verifies end-user tokens", NULL,
     NTC_J({"type": "object",
            "properties": {"publicJwtKey": {
                "type": "string", "nullable": true,
                "description": "RSA public key, PEM, 2048-8192 bits, e = 65537"}}}),
     NTC_J(ACCT_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/account/webhook",
     "Set the account's webhook URL; a new signing key is made", NULL,
     NTC_J({"type": "object", "required": ["webhookUrl"],
            "properties": {"webhookUrl": {"type": "string", "maxLength": 2048,
                                          "description": "an absolute http(s) URL without user name or password; with the webhooks plugin its host must not be or resolve to a loopback, private, link-local or multicast address outside [webhooks] allow_private (400); a name is resolved within 2 s (503 beyond)"}}}),
     NTC_J(ACCT_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/account/webhook", "Remove the account's webhook", NULL, NULL,
     NTC_J(ACCT_S_REPLY), 0, NULL},
};
const size_t acct_route_docs_n = sizeof(acct_route_docs) / sizeof(acct_route_docs[0]);
/* clang-format on */
