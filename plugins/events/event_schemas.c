/* What the event, free/busy and iCalendar routes accept and answer (ABI 1.4 route
 * descriptions; see ntc_schema.h). */
#include "event_schemas.h"

/* The schemas are laid out as JSON. */
/* clang-format off */
#define EV_S_INTS {"type": "array", "nullable": true, "items": {"type": "integer"}}
#define EV_S_RULE_OUT                                                                              \
    {"type": "object", "nullable": true,                                                           \
     "required": ["freq", "interval", "count", "until", "bysetpos", "byweekday", "bymonthday",     \
                  "bymonth", "byyearday", "byweekno"],                                             \
     "properties": {                                                                               \
         "freq": {"type": "string", "enum": ["yearly", "monthly", "weekly", "daily"]},             \
         "interval": {"type": "integer", "minimum": 1, "maximum": 65535},                          \
         "count": {"type": "integer", "nullable": true, "minimum": 1, "maximum": 739},             \
         "until": {"type": "integer", "format": "int64", "nullable": true},                        \
         "bysetpos": EV_S_INTS,                                                                    \
         "byweekday": {"type": "array", "nullable": true,                                          \
                       "items": {"type": "string", "description": "Mon, 1Sun, -1Fri"}},            \
         "bymonthday": EV_S_INTS, "bymonth": EV_S_INTS, "byyearday": EV_S_INTS,                    \
         "byweekno": EV_S_INTS}}
#define EV_S_RULE_IN                                                                               \
    {"type": "object", "nullable": true, "required": ["freq", "interval"],                                  \
     "description": "an RFC 5545 rule evaluated as python-dateutil does; null removes it",        \
     "properties": {                                                                               \
         "freq": {"type": "string", "description": "yearly, monthly, weekly or daily, any case"},  \
         "interval": {"type": "integer", "minimum": 1, "maximum": 65535},                          \
         "count": {"type": "integer", "minimum": 1, "maximum": 739},                               \
         "until": {"type": "integer", "format": "int64",                                           \
                   "description": "ms, at most startTs + 732 days"},                               \
         "bysetpos": {"type": "array", "items": {"type": "integer"}},                              \
         "byweekday": {"type": "array",                                                            \
                       "items": {"oneOf": [{"type": "string", "description": "Mon, 1Mon, MO"},     \
                                           {"type": "integer", "minimum": 0, "maximum": 6}]}},     \
         "bymonthday": {"type": "array", "items": {"type": "integer"}},                            \
         "bymonth": {"type": "array", "items": {"oneOf": [{"type": "integer"}, NTC_S_STR]}},       \
         "byyearday": {"type": "array", "items": {"type": "integer"}},                             \
         "byweekno": {"type": "array", "items": {"type": "integer"}}}}
#define EV_S_REMINDERS                                                                             \
    {"type": "array",                                                                              \
     "items": {"type": "object", "required": ["delta", "identifier"],                             \
               "properties": {"delta": {"type": "integer", "description":                          \
                                        "minutes relative to the start (negative: before)"},       \
                              "identifier": NTC_S_STR}}}
#define EV_S_EVENT                                                                                 \
    {"type": "object",                                                                             \
     "required": ["id", "calendarId", "userId", "startTs", "duration", "busy", "created",          \
                  "updated", "recurrence", "exdates", "reminders", "metadata", "serviceId",        \
                  "reminder"],                                                                     \
     "properties": {                                                                               \
         "id": NTC_S_UUID, "calendarId": NTC_S_UUID, "userId": NTC_S_UUID, "startTs": NTC_S_MS,    \
         "duration": {"type": "integer", "format": "int64", "description": "ms"},                  \
         "busy": NTC_S_BOOL, "created": NTC_S_MS, "updated": NTC_S_MS,                             \
         "recurrence": EV_S_RULE_OUT, "exdates": {"type": "array", "items": NTC_S_MS},             \
         "reminders": EV_S_REMINDERS, "metadata": NTC_S_METADATA,                                  \
         "serviceId": {"type": "string", "format": "uuid", "nullable": true},                      \
         "reminder": {"type": "object", "nullable": true,                                          \
                      "properties": {"minutesBefore": {"type": "integer"}}}}}
#define EV_S_REPLY {"type": "object", "required": ["event"], "properties": {"event": EV_S_EVENT}}
#define EV_S_BODY_FIELDS                                                                           \
    "startTs": NTC_S_MS,                                                                           \
    "duration": {"type": "integer", "minimum": 0, "maximum": 315619200000, "description": "ms"},   \
    "busy": NTC_S_BOOL, "recurrence": EV_S_RULE_IN, "reminders": EV_S_REMINDERS,                   \
    "reminder": {"type": "object", "nullable": true,                                               \
                 "properties": {"minutesBefore": {"type": "integer"}},                             \
                 "description": "the published client's single reminder"},                         \
    "serviceId": {"type": "string", "format": "uuid", "nullable": true},                           \
    "metadata": NTC_S_METADATA
#define EV_S_CREATE                                                                                \
    {"type": "object", "required": ["calendarId", "startTs", "duration"],                          \
     "properties": {"calendarId": NTC_S_UUID, EV_S_BODY_FIELDS}}
#define EV_S_UPDATE                                                                                \
    {"type": "object", "description": "absent fields keep their value",                           \
     "properties": {EV_S_BODY_FIELDS, "exdates": {"type": "array", "items": NTC_S_MS}}}
#define EV_S_WITH_INSTANCES                                                                        \
    {"type": "object", "required": ["event", "instances"],                                         \
     "properties": {"event": EV_S_EVENT,                                                           \
                    "instances": {"type": "array", "items": NTC_S_INSTANCE}}}
#define EV_S_CAL_EVENTS                                                                            \
    {"type": "object", "required": ["calendar", "events"],                                         \
     "properties": {"calendar": {"type": "object", "description": "the calendar object"},          \
                    "events": {"type": "array", "items": EV_S_WITH_INSTANCES}}}
#define EV_S_ICAL {"type": "string", "description": "an RFC 5545 VCALENDAR, one VEVENT per event"}

const ntc_route_doc ev_route_docs[] = {
    {"POST", "/api/v1/events", "Create an event in one of the token user's calendars", NULL,
     NTC_J(EV_S_CREATE), NTC_J(EV_S_REPLY), 201, NULL},
    {"POST", "/api/v1/user/{userId}/events", "Create an event in a user's calendar", NULL,
     NTC_J(EV_S_CREATE), NTC_J(EV_S_REPLY), 201, NULL},
    {"GET", "/api/v1/events/meta", "Events whose metadata has key = value",
     NTC_J(NTC_S_META_QUERY), NULL,
     NTC_J({"type": "object", "required": ["events"],
            "properties": {"events": {"type": "array", "items": EV_S_EVENT}}}),
     0, NULL},
    {"GET", "/api/v1/events/{eventId}", "Get one of the token user's events", NULL, NULL,
     NTC_J(EV_S_REPLY), 0, NULL},
    {"GET", "/api/v1/user/events/{eventId}", "Get an event of the account", NULL, NULL,
     NTC_J(EV_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/events/{eventId}", "Update one of the token user's events", NULL,
     NTC_J(EV_S_UPDATE), NTC_J(EV_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/user/events/{eventId}", "Update an event of the account", NULL,
     NTC_J(EV_S_UPDATE), NTC_J(EV_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/events/{eventId}",
     "Delete one of the token user's events; answers the deleted event", NULL, NULL,
     NTC_J(EV_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/user/events/{eventId}",
     "Delete an event of the account; answers the deleted event", NULL, NULL, NTC_J(EV_S_REPLY),
     0, NULL},
    {"GET", "/api/v1/events/{eventId}/instances",
     "The instances of one of the token user's events in a window", NTC_J(NTC_S_WINDOW_QUERY),
     NULL, NTC_J(EV_S_WITH_INSTANCES), 0, NULL},
    {"GET", "/api/v1/user/events/{eventId}/instances",
     "The instances of an event of the account in a window", NTC_J(NTC_S_WINDOW_QUERY), NULL,
     NTC_J(EV_S_WITH_INSTANCES), 0, NULL},
    {"GET", "/api/v1/calendar/{calendarId}/events",
     "The events of one of the token user's calendars in a window (at most 62 days), with "
     "their instances",
     NTC_J(NTC_S_WINDOW_QUERY), NULL, NTC_J(EV_S_CAL_EVENTS), 0, NULL},
    {"GET", "/api/v1/user/calendar/{calendarId}/events",
     "The events of a calendar in a window (at most 62 days), with their instances",
     NTC_J(NTC_S_WINDOW_QUERY), NULL, NTC_J(EV_S_CAL_EVENTS), 0, NULL},
    {"GET", "/api/v1/calendar/{calendarId}/ical",
     "One of the token user's calendars as an iCalendar file", NULL, NULL, NTC_J(EV_S_ICAL), 0,
     "text/calendar"},
    {"GET", "/api/v1/user/calendar/{calendarId}/ical", "A calendar as an iCalendar file", NULL,
     NULL, NTC_J(EV_S_ICAL), 0, "text/calendar"},
    {"GET", "/api/v1/user/{userId}/freebusy",
     "The busy instances of a user's listed calendars in a window (at most 62 days)",
     NTC_J({"type": "object", "required": ["startTs", "endTs"],
            "properties": {"startTs": NTC_S_MS, "endTs": NTC_S_MS,
                           "calendarIds": {"type": "string",
                                           "description": "comma-separated; none: nothing busy"}}}),
     NULL,
     NTC_J({"type": "object", "required": ["busy", "userId"],
            "properties": {"busy": {"type": "array", "items": NTC_S_INSTANCE},
                           "userId": NTC_S_UUID}}),
     0, NULL},
    {"POST", "/api/v1/user/freebusy",
     "The busy instances of up to 100 users in a window (at most 62 days), by user id", NULL,
     NTC_J({"type": "object", "required": ["userIds"],
            "description": "the window as startTs/endTs (ms) or startTime/endTime (ISO 8601 UTC)",
            "properties": {"userIds": {"type": "array", "minItems": 1, "maxItems": 100,
                                       "items": NTC_S_UUID},
                           "startTs": NTC_S_MS, "endTs": NTC_S_MS,
                           "startTime": {"type": "string", "format": "date-time"},
                           "endTime": {"type": "string", "format": "date-time"},
                           "calendarIds": {"type": "array", "maxItems": 1000,
                                           "items": NTC_S_UUID}}}),
     NTC_J({"type": "object", "description": "one entry per user id",
            "additionalProperties": {"type": "array", "items": NTC_S_INSTANCE}}),
     0, NULL},
};
const size_t ev_route_docs_n = sizeof(ev_route_docs) / sizeof(ev_route_docs[0]);
/* clang-format on */
