/* The descriptions of the events plugin's routes (event_schemas.c): summary, query, request and
 * reply schemas, for the OpenAPI document (ABI 1.4 nt_route members; see ntc_schema.h). */
#ifndef NETTU_EVENT_SCHEMAS_H
#define NETTU_EVENT_SCHEMAS_H

#include "ntc_schema.h"

extern const ntc_route_doc ev_route_docs[];
extern const size_t ev_route_docs_n;

#endif /* NETTU_EVENT_SCHEMAS_H */
