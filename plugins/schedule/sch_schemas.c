/* What the schedule routes accept and answer (ABI 1.4 route descriptions; see ntc_schema.h). */
#include "sch_schemas.h"

/* The schemas are laid out as JSON. */
/* clang-format off */
#define SCH_S_TIME                                                                                 \
    {"type": "object", "required": ["hours", "minutes"],                                           \
     "properties": {"hours": {"type": "integer", "minimum": 0, "maximum": 23},                     \
                    "minutes": {"type": "integer", "minimum": 0, "maximum": 59}}}
#define SCH_S_RULE(value)                                                                          \
    {"type": "object", "required": ["variant", "intervals"],                                       \
     "properties": {                                                                               \
         "variant": {"type": "object", "required": ["type", "value"],                              \
                     "properties": {"type": {"type": "string", "enum": ["WDay", "Date"]},          \
                                    "value": value}},                                              \
         "intervals": {"type": "array", "maxItems": 10,                                            \
                       "items": {"type": "object", "required": ["start", "end"],                   \
                                 "properties": {"start": SCH_S_TIME, "end": SCH_S_TIME}}}}}
#define SCH_S_VALUE_OUT {"type": "string", "description": "Mon .. Sun, or a date Y-M-D"}
#define SCH_S_VALUE_IN                                                                             \
    {"oneOf": [{"type": "string", "description": "a weekday name, or a date Y-M-D"},               \
               {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 = Monday"}]}
#define SCH_S_SCHEDULE                                                                             \
    {"type": "object", "required": ["id", "userId", "timezone", "rules", "metadata"],             \
     "properties": {"id": NTC_S_UUID, "userId": NTC_S_UUID, "timezone": NTC_S_STR,                 \
                    "rules": {"type": "array", "items": SCH_S_RULE(SCH_S_VALUE_OUT)},              \
                    "metadata": NTC_S_METADATA}}
#define SCH_S_REPLY                                                                                \
    {"type": "object", "required": ["schedule"], "properties": {"schedule": SCH_S_SCHEDULE}}
#define SCH_S_FIELDS                                                                               \
    "timezone": {"type": "string", "description": "an IANA time-zone name"},                      \
    "rules": {"type": "array", "items": SCH_S_RULE(SCH_S_VALUE_IN),                                \
              "description": "without rules a new schedule gets the default week"},                \
    "metadata": NTC_S_METADATA
#define SCH_S_CREATE {"type": "object", "required": ["timezone"], "properties": {SCH_S_FIELDS}}
#define SCH_S_UPDATE                                                                               \
    {"type": "object", "description": "absent fields keep their value",                           \
     "properties": {SCH_S_FIELDS}}

const ntc_route_doc sch_route_docs[] = {
    {"POST", "/api/v1/schedule", "Create a schedule for the token's user", NULL,
     NTC_J(SCH_S_CREATE), NTC_J(SCH_S_REPLY), 201, NULL},
    {"POST", "/api/v1/user/{userId}/schedule", "Create a schedule for a user", NULL,
     NTC_J(SCH_S_CREATE), NTC_J(SCH_S_REPLY), 201, NULL},
    {"GET", "/api/v1/schedule/meta", "Schedules whose metadata has key = value",
     NTC_J(NTC_S_META_QUERY), NULL,
     NTC_J({"type": "object", "required": ["schedules"],
            "properties": {"schedules": {"type": "array", "items": SCH_S_SCHEDULE}}}),
     0, NULL},
    {"GET", "/api/v1/schedule/{scheduleId}", "Get one of the token user's schedules", NULL, NULL,
     NTC_J(SCH_S_REPLY), 0, NULL},
    {"GET", "/api/v1/user/schedule/{scheduleId}", "Get a schedule of the account", NULL, NULL,
     NTC_J(SCH_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/schedule/{scheduleId}", "Update one of the token user's schedules", NULL,
     NTC_J(SCH_S_UPDATE), NTC_J(SCH_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/user/schedule/{scheduleId}", "Update a schedule of the account", NULL,
     NTC_J(SCH_S_UPDATE), NTC_J(SCH_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/schedule/{scheduleId}",
     "Delete one of the token user's schedules; answers the deleted schedule", NULL, NULL,
     NTC_J(SCH_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/user/schedule/{scheduleId}",
     "Delete a schedule of the account; answers the deleted schedule", NULL, NULL,
     NTC_J(SCH_S_REPLY), 0, NULL},
};
const size_t sch_route_docs_n = sizeof(sch_route_docs) / sizeof(sch_route_docs[0]);
/* clang-format on */
