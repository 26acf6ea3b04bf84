/* What the calendar routes accept and answer (ABI 1.4 route descriptions; see ntc_schema.h). */
#include "cal_schemas.h"

/* The schemas are laid out as JSON. */
/* clang-format off */
#define CAL_S_WEEKDAY_IN                                                                           \
    {"oneOf": [{"type": "string", "description": "Mon .. Sun, short or long, any case"},           \
               {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 = Monday"}]}
#define CAL_S_TZ {"type": "string", "description": "an IANA time-zone name"}
#define CAL_S_CALENDAR                                                                             \
    {"type": "object", "required": ["id", "userId", "settings", "metadata"],                       \
     "properties": {                                                                               \
         "id": NTC_S_UUID, "userId": NTC_S_UUID,                                                   \
         "settings": {"type": "object", "required": ["weekStart", "timezone"],                     \
                      "properties": {"weekStart": {"type": "string",                               \
                                                   "enum": ["Mon", "Tue", "Wed", "Thu", "Fri",     \
                                                            "Sat", "Sun"]},                        \
                                     "timezone": CAL_S_TZ}},                                       \
         "metadata": NTC_S_METADATA}}
#define CAL_S_REPLY                                                                                \
    {"type": "object", "required": ["calendar"], "properties": {"calendar": CAL_S_CALENDAR}}
#define CAL_S_CREATE                                                                               \
    {"type": "object", "required": ["timezone"],                                                   \
     "properties": {"timezone": CAL_S_TZ, "weekStart": CAL_S_WEEKDAY_IN,                           \
                    "metadata": NTC_S_METADATA}}
#define CAL_S_UPDATE                                                                               \
    {"type": "object",                                                                             \
     "description": "settings nested (the original) or flat; absent fields keep their value",     \
     "properties": {"settings": {"type": "object",                                                 \
                                 "properties": {"timezone": CAL_S_TZ,                              \
                                                "weekStart": CAL_S_WEEKDAY_IN}},                   \
                    "timezone": CAL_S_TZ, "weekStart": CAL_S_WEEKDAY_IN,                           \
                    "metadata": NTC_S_METADATA}}

const ntc_route_doc cal_route_docs[] = {
    {"POST", "/api/v1/calendar", "Create a calendar for the token's user", NULL,
     NTC_J(CAL_S_CREATE), NTC_J(CAL_S_REPLY), 201, NULL},
    {"POST", "/api/v1/user/{userId}/calendar", "Create a calendar for a user", NULL,
     NTC_J(CAL_S_CREATE), NTC_J(CAL_S_REPLY), 201, NULL},
    {"GET", "/api/v1/calendar/meta", "Calendars whose metadata has key = value",
     NTC_J(NTC_S_META_QUERY), NULL,
     NTC_J({"type": "object", "required": ["calendars"],
            "properties": {"calendars": {"type": "array", "items": CAL_S_CALENDAR}}}),
     0, NULL},
    {"GET", "/api/v1/calendar/{calendarId}", "Get one of the token user's calendars", NULL, NULL,
     NTC_J(CAL_S_REPLY), 0, NULL},
    {"GET", "/api/v1/user/calendar/{calendarId}", "Get a calendar of the account", NULL, NULL,
     NTC_J(CAL_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/calendar/{calendarId}", "Update one of the token user's calendars", NULL,
     NTC_J(CAL_S_UPDATE), NTC_J(CAL_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/user/calendar/{calendarId}", "Update a calendar of the account", NULL,
     NTC_J(CAL_S_UPDATE), NTC_J(CAL_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/calendar/{calendarId}",
     "Delete one of the token user's calendars with its events; answers the deleted calendar",
     NULL, NULL, NTC_J(CAL_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/user/calendar/{calendarId}",
     "Delete a calendar of the account with its events; answers the deleted calendar", NULL, NULL,
     NTC_J(CAL_S_REPLY), 0, NULL},
};
const size_t cal_route_docs_n = sizeof(cal_route_docs) / sizeof(cal_route_docs[0]);
/* clang-format on */
