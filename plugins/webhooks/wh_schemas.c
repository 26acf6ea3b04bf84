/* What the webhook routes accept and answer (ABI 1.4 route descriptions; see ntc_schema.h). */
#include "wh_schemas.h"

/* The schemas are laid out as JSON. */
/* clang-format off */
#define WH_S_DELIVERY                                                                              \
    {"type": "object",                                                                             \
     "required": ["id", "type", "status", "attempts", "lastStatusCode", "lastError",               \
                  "nextAttemptAt", "created"],                                                     \
     "properties": {                                                                               \
         "id": NTC_S_UUID, "type": {"type": "string", "description": "ping, a reminder ..."},     \
         "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},                 \
         "attempts": {"type": "integer"},                                                          \
         "lastStatusCode": {"type": "integer", "nullable": true},                                  \
         "lastError": {"type": "string", "nullable": true},                                        \
         "nextAttemptAt": {"type": "integer", "format": "int64", "nullable": true,                 \
                           "description": "ms; null unless pending"},                              \
         "created": NTC_S_MS}}

const ntc_route_doc wh_route_docs[] = {
    {"POST", "/api/v1/account/webhook/test", "Queue a ping delivery to the account's webhook",
     NULL, NULL,
     NTC_J({"type": "object", "required": ["delivery"], "properties": {"delivery": WH_S_DELIVERY}}),
     201, NULL},
    {"GET", "/api/v1/account/webhook/deliveries", "The account's webhook deliveries, newest first",
     NTC_J({"type": "object",
            "properties": {"status": {"type": "string",
                                      "enum": ["pending", "delivered", "failed"]},
                           "skip": {"type": "integer", "minimum": 0, "default": 0},
                           "limit": {"type": "integer", "minimum": 0, "maximum": 100,
                                     "default": 20}}}),
     NULL,
     NTC_J({"type": "object", "required": ["deliveries"],
            "properties": {"deliveries": {"type": "array", "items": WH_S_DELIVERY}}}),
     0, NULL},
};
const size_t wh_route_docs_n = sizeof(wh_route_docs) / sizeof(wh_route_docs[0]);
/* clang-format on */
