/* The descriptions of the service plugin's routes (svc_schemas.c): summary, query, request and
 * reply schemas, for the OpenAPI document (ABI 1.4 nt_route members; see ntc_schema.h). */
#ifndef NETTU_SVC_SCHEMAS_H
#define NETTU_SVC_SCHEMAS_H

#include "ntc_schema.h"

extern const ntc_route_doc svc_route_docs[];
extern const size_t svc_route_docs_n;

#endif /* NETTU_SVC_SCHEMAS_H */
