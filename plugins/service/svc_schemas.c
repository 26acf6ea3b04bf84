/* What the service, booking-slot, booking and hold routes accept and answer (ABI 1.4 route
 * descriptions; see ntc_schema.h). */
#include "svc_schemas.h"

/* The schemas are laid out as JSON. */
/* clang-format off */
#define SVC_S_MULTI                                                                                \
    {"type": "object", "required": ["variant"],                                                    \
     "description": "group: seats; roundRobinAlgorithm: availability, equalDistribution",          \
     "properties": {                                                                               \
         "variant": {"type": "string", "enum": ["roundRobinAlgorithm", "collective", "group"]},    \
         "data": {"oneOf": [{"type": "string", "enum": ["availability", "equalDistribution"]},     \
                            {"type": "integer", "minimum": 0}]}}}
#define SVC_S_PLAN                                                                                 \
    {"type": "object", "required": ["variant"],                                                    \
     "properties": {"variant": {"type": "string", "enum": ["Calendar", "Schedule", "Empty"]},      \
                    "id": NTC_S_UUID}}
#define SVC_S_MEMBER_REQUIRED                                                                      \
    "userId", "serviceId", "availability", "bufferBefore", "bufferAfter", "closestBookingTime",    \
    "furthestBookingTime", "busy"
#define SVC_S_MEMBER_PROPS                                                                         \
    "userId": NTC_S_UUID, "serviceId": NTC_S_UUID, "availability": SVC_S_PLAN,                    \
    "bufferBefore": {"type": "integer", "description": "minutes"},                                \
    "bufferAfter": {"type": "integer", "description": "minutes"},                                 \
    "closestBookingTime": {"type": "integer", "description": "minutes"},                          \
    "furthestBookingTime": {"type": "integer", "nullable": true, "description": "minutes"},       \
    "availibility": SVC_S_PLAN, "buffer": {"type": "integer"},                                    \
    "busy": {"type": "array", "items": NTC_S_UUID, "description": "busy calendar ids"}
#define SVC_S_MEMBER                                                                               \
    {"type": "object", "required": [SVC_S_MEMBER_REQUIRED],                                        \
     "description": "availibility, buffer: the client's names of availability, bufferAfter",      \
     "properties": {SVC_S_MEMBER_PROPS}}
#define SVC_S_SERVICE                                                                              \
    {"type": "object", "required": ["id", "accountId", "metadata", "multiPerson", "users"],        \
     "properties": {"id": NTC_S_UUID, "accountId": NTC_S_UUID, "metadata": NTC_S_METADATA,         \
                    "multiPerson": SVC_S_MULTI,                                                    \
                    "users": {"type": "array", "items": SVC_S_MEMBER}}}
#define SVC_S_REPLY                                                                                \
    {"type": "object", "required": ["service"], "properties": {"service": SVC_S_SERVICE}}
#define SVC_S_BODY                                                                                 \
    {"type": "object",                                                                             \
     "properties": {"multiPerson": SVC_S_MULTI, "metadata": NTC_S_METADATA}}
#define SVC_S_MEMBER_FIELDS                                                                        \
    "availability": SVC_S_PLAN, "availibility": SVC_S_PLAN,                                        \
    "bufferBefore": {"type": "integer", "minimum": 0, "maximum": 720, "description": "minutes"},   \
    "bufferAfter": {"type": "integer", "minimum": 0, "maximum": 720, "description": "minutes"},    \
    "buffer": {"type": "integer", "minimum": 0, "maximum": 720,                                    \
               "description": "bufferAfter under the published client's name"},                    \
    "closestBookingTime": {"type": "integer", "minimum": 0, "description": "minutes"},            \
    "furthestBookingTime": {"type": "integer", "minimum": 0, "nullable": true,                     \
                            "description": "minutes; null removes the limit"},                     \
    "busy": {"type": "array", "maxItems": 100, "items": NTC_S_UUID,                                \
             "description": "the member's busy calendars"}
#define SVC_S_MEMBER_REPLY                                                                         \
    {"type": "object", "required": [SVC_S_MEMBER_REQUIRED, "service"],                             \
     "description": "the member, and the whole service",                                          \
     "properties": {SVC_S_MEMBER_PROPS, "service": SVC_S_SERVICE}}
#define SVC_S_BUSY_BODY                                                                            \
    {"type": "object", "required": ["busy"],                                                       \
     "properties": {"busy": {"type": "object", "required": ["provider", "id"],                     \
                             "properties": {"provider": {"type": "string",                         \
                                                         "enum": ["Nettu", "Google", "Outlook"],   \
                                                         "description": "only Nettu is served"},   \
                                            "id": NTC_S_UUID}}}}
#define SVC_S_BUSY_REPLY {"type": "string", "description": "a confirmation message"}
#define SVC_S_BOOKING                                                                              \
    {"type": "object",                                                                             \
     "required": ["id", "serviceId", "startTs", "duration", "hostUserIds", "eventIds", "status",   \
                  "metadata", "created"],                                                          \
     "properties": {"id": NTC_S_UUID, "serviceId": NTC_S_UUID, "startTs": NTC_S_MS,                \
                    "duration": {"type": "integer", "description": "ms"},                          \
                    "hostUserIds": NTC_S_UUIDS, "eventIds": NTC_S_UUIDS,                           \
                    "status": {"type": "string", "enum": ["confirmed", "cancelled"]},              \
                    "metadata": NTC_S_METADATA, "created": NTC_S_MS}}
#define SVC_S_HOLD                                                                                 \
    {"type": "object",                                                                             \
     "required": ["id", "serviceId", "startTs", "duration", "hostUserIds", "expiresAt"],           \
     "properties": {"id": NTC_S_UUID, "serviceId": NTC_S_UUID, "startTs": NTC_S_MS,                \
                    "duration": {"type": "integer", "description": "ms"},                          \
                    "hostUserIds": NTC_S_UUIDS, "expiresAt": NTC_S_MS}}
#define SVC_S_BOOKING_REPLY                                                                        \
    {"type": "object", "required": ["booking"], "properties": {"booking": SVC_S_BOOKING}}
#define SVC_S_HOLD_REPLY                                                                           \
    {"type": "object", "required": ["hold"], "properties": {"hold": SVC_S_HOLD}}
#define SVC_S_SLOT_FIELDS                                                                          \
    "startTs": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 4102444800000,     \
                "description": "ms, from 1970 to 2100"},                                           \
    "duration": {"type": "integer", "minimum": 1, "maximum": 86400000, "description": "ms"},       \
    "hostUserIds": {"type": "array", "minItems": 1, "items": NTC_S_UUID,                           \
                    "description": "the members to choose from (default: all)"}

const ntc_route_doc svc_route_docs[] = {
    {"POST", "/api/v1/service", "Create a service", NULL, NTC_J(SVC_S_BODY), NTC_J(SVC_S_REPLY),
     201, NULL},
    {"GET", "/api/v1/service/meta", "Services whose metadata has key = value",
     NTC_J(NTC_S_META_QUERY), NULL,
     NTC_J({"type": "object", "required": ["services"],
            "properties": {"services": {"type": "array", "items": SVC_S_SERVICE}}}),
     0, NULL},
    {"GET", "/api/v1/service/{serviceId}",
     "Get a service with its members (the fields at the top level and under service)", NULL,
     NULL,
     NTC_J({"type": "object", "required": ["id", "accountId", "metadata", "multiPerson", "users",
                                           "service"],
            "properties": {"id": NTC_S_UUID, "accountId": NTC_S_UUID, "metadata": NTC_S_METADATA,
                           "multiPerson": SVC_S_MULTI,
                           "users": {"type": "array", "items": SVC_S_MEMBER},
                           "service": SVC_S_SERVICE}}),
     0, NULL},
    {"PUT", "/api/v1/service/{serviceId}", "Update a service's multiPerson and metadata", NULL,
     NTC_J(SVC_S_BODY), NTC_J(SVC_S_REPLY), 0, NULL},
    {"DELETE", "/api/v1/service/{serviceId}",
     "Delete a service with its members and its events; answers the deleted service", NULL, NULL,
     NTC_J(SVC_S_REPLY), 0, NULL},
    {"POST", "/api/v1/service/{serviceId}/users", "Add a user of the account as a member", NULL,
     NTC_J({"type": "object", "required": ["userId"],
            "properties": {"userId": NTC_S_UUID, SVC_S_MEMBER_FIELDS}}),
     NTC_J(SVC_S_MEMBER_REPLY), 0, NULL},
    {"PUT", "/api/v1/service/{serviceId}/users/{userId}",
     "Update a member (absent fields keep their value)", NULL,
     NTC_J({"type": "object", "properties": {SVC_S_MEMBER_FIELDS}}), NTC_J(SVC_S_MEMBER_REPLY), 0,
     NULL},
    {"DELETE", "/api/v1/service/{serviceId}/users/{userId}",
     "Remove a member; answers the service", NULL, NULL, NTC_J(SVC_S_REPLY), 0, NULL},
    {"PUT", "/api/v1/service/{serviceId}/users/{userId}/busy",
     "Register one of the member's calendars as busy", NULL, NTC_J(SVC_S_BUSY_BODY),
     NTC_J(SVC_S_BUSY_REPLY), 0, NULL},
    {"DELETE", "/api/v1/service/{serviceId}/users/{userId}/busy",
     "Unregister one of the member's busy calendars", NULL, NTC_J(SVC_S_BUSY_BODY),
     NTC_J(SVC_S_BUSY_REPLY), 0, NULL},
    {"GET", "/api/v1/service/{serviceId}/booking",
     "The bookable slots of a service between two dates (public)",
     NTC_J({"type": "object", "required": ["startDate", "endDate", "interval", "duration"],
            "properties": {
                "startDate": {"type": "string", "description": "Y-M-D, 1970 to 2100"},
                "endDate": {"type": "string", "description": "Y-M-D, at most 101 days on"},
                "interval": {"type": "integer", "minimum": 300000, "maximum": 7200000,
                             "description": "ms between slot starts"},
                "duration": {"type": "integer", "description": "ms"},
                "timezone": {"type": "string", "description": "the dates' IANA zone (UTC)"},
                "ianaTz": {"type": "string", "description": "timezone's other name"},
                "hostUserIds": {"type": "string",
                                "description": "comma-separated member ids (default: all)"}}}),
     NULL,
     NTC_J({"type": "object", "required": ["dates"],
            "properties": {"dates": {"type": "array", "items": {
                "type": "object", "required": ["date", "slots"],
                "properties": {"date": {"type": "string", "description": "Y-M-D"},
                               "slots": {"type": "array", "items": {
                                   "type": "object", "required": ["start", "duration", "userIds"],
                                   "properties": {"start": NTC_S_MS,
                                                  "duration": {"type": "integer"},
                                                  "userIds": NTC_S_UUIDS}}}}}}}}),
     0, NULL},
    {"POST", "/api/v1/service/{serviceId}/booking-intend",
     "Pick the hosts of a slot (and reserve a group seat)", NULL,
     NTC_J({"type": "object", "required": ["timestamp", "duration", "interval"],
            "properties": {"timestamp": NTC_S_MS, "duration": {"type": "integer"},
                           "interval": {"type": "integer", "minimum": 300000,
                                        "maximum": 7200000},
                           "hostUserIds": NTC_S_UUIDS}}),
     NTC_J({"type": "object", "required": ["selectedHosts", "createEventForHosts"],
            "properties": {"selectedHosts": {"type": "array", "items": {
                               "type": "object", "properties": {"id": NTC_S_UUID,
                                                                "metadata": NTC_S_METADATA}}},
                           "createEventForHosts": NTC_S_BOOL}}),
     0, NULL},
    {"DELETE", "/api/v1/service/{serviceId}/booking-intend",
     "Give a reserved group seat back",
     NTC_J({"type": "object", "required": ["timestamp"],
            "properties": {"timestamp": NTC_S_MS}}),
     NULL, NTC_J(NTC_S_MESSAGE), 0, NULL},
    {"POST", "/api/v1/service/{serviceId}/bookings",
     "Book a slot atomically: hosts chosen, their events created", NULL,
     NTC_J({"type": "object", "required": ["startTs", "duration"],
            "properties": {SVC_S_SLOT_FIELDS,
                           "holdId": {"type": "string", "format": "uuid",
                                      "description": "a hold of this slot to book"},
                           "metadata": NTC_S_METADATA}}),
     NTC_J(SVC_S_BOOKING_REPLY), 201, NULL},
    {"GET", "/api/v1/service/{serviceId}/bookings",
     "The bookings of a service starting in a window (at most 101 days)",
     NTC_J({"type": "object", "required": ["startTs", "endTs"],
            "properties": {"startTs": NTC_S_MS, "endTs": NTC_S_MS}}),
     NULL,
     NTC_J({"type": "object", "required": ["bookings"],
            "properties": {"bookings": {"type": "array", "items": SVC_S_BOOKING}}}),
     0, NULL},
    {"GET", "/api/v1/service/{serviceId}/bookings/{bookingId}", "Get a booking", NULL, NULL,
     NTC_J(SVC_S_BOOKING_REPLY), 0, NULL},
    {"DELETE", "/api/v1/service/{serviceId}/bookings/{bookingId}",
     "Cancel a booking (its events are deleted); answers the cancelled booking", NULL, NULL,
     NTC_J(SVC_S_BOOKING_REPLY), 0, NULL},
    {"POST", "/api/v1/service/{serviceId}/holds",
     "Hold a slot for a while: it counts as busy until booked or expired", NULL,
     NTC_J({"type": "object", "required": ["startTs", "duration"],
            "properties": {SVC_S_SLOT_FIELDS,
                           "ttlSeconds": {"type": "integer", "minimum": 10, "maximum": 3600}}}),
     NTC_J(SVC_S_HOLD_REPLY), 201, NULL},
    {"DELETE", "/api/v1/service/{serviceId}/holds/{holdId}",
     "Release a hold; answers the released hold", NULL, NULL, NTC_J(SVC_S_HOLD_REPLY), 0, NULL},
};
const size_t svc_route_docs_n = sizeof(svc_route_docs) / sizeof(svc_route_docs[0]);
/* clang-format on */
