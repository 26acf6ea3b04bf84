/* What the user routes accept and answer (ABI 1.4 route descriptions; see ntc_schema.h). */
#include "user_schemas.h"

/* The schemas are laid out as JSON. */
/* clang-format off */
#define USER_S_USER                                                                                \
    {"type": "object", "required": ["id", "metadata"],                                             \
     "properties": {"id": NTC_S_UUID, "metadata": NTC_S_METADATA}}
#define USER_S_REPLY {"type": "object", "required": ["user"], "properties": {"user": USER_S_USER}}
#define USER_S_BODY {"type": "object", "properties": {"metadata": NTC_S_METADATA}}

const ntc_route_doc usr_route_docs[] = {
    {"POST", "/api/v1/user", "Create a user of the account", NULL, NTC_J(USER_S_BODY),
     NTC_J(USER_S_REPLY), 201, NULL},
    {"GET", "/api/v1/user/meta", "Users whose metadata has key = value", NTC_J(NTC_S_META_QUERY),
     NULL,
     NTC_J({"type": "object", "required": ["users"],
            "properties": {"users": {"type": "array", "items": USER_S_USER}}}),
     0, NULL},
    {"GET", "/api/v1/user/{userId}", "Get a user of the account", NULL, NULL, NTC_J(USER_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/user/{userId}", "Replace a user's metadata", NULL, NTC_J(USER_S_BODY),
     NTC_J(USER_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/user/{userId}",
     "Delete a user with its calendars, events and schedules; answers the deleted user", NULL,
     NULL, NTC_J(USER_S_REPLY), 0, NULL},
    {"GET", "/api/v1/me", "The user the token acts as", NULL, NULL, NTC_J(USER_S_REPLY), 0, NULL},
};
const size_t usr_route_docs_n = sizeof(usr_route_docs) / sizeof(usr_route_docs[0]);
/* clang-format on */
