/* The descriptions of the webhooks plugin's routes (wh_schemas.c): summary, request and reply
 * schemas, for the OpenAPI document (ABI 1.4 nt_route members; see ntc_schema.h). */
#ifndef NETTU_WH_SCHEMAS_H
#define NETTU_WH_SCHEMAS_H

#include "ntc_schema.h"

extern const ntc_route_doc wh_route_docs[];
extern const size_t wh_route_docs_n;

#endif /* NETTU_WH_SCHEMAS_H */
