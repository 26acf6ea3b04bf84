/* The descriptions of the calendar plugin's routes (cal_schemas.c): summary, query, request and
 * reply schemas, for the OpenAPI document (ABI 1.4 nt_route members; see ntc_schema.h). */
#ifndef NETTU_CAL_SCHEMAS_H
#define NETTU_CAL_SCHEMAS_H

#include "ntc_schema.h"

extern const ntc_route_doc cal_route_docs[];
extern const size_t cal_route_docs_n;

#endif /* NETTU_CAL_SCHEMAS_H */
