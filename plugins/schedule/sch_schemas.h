/* The descriptions of the schedule plugin's routes (sch_schemas.c): summary, query, request and
 * reply schemas, for the OpenAPI document (ABI 1.4 nt_route members; see ntc_schema.h). */
#ifndef NETTU_SCH_SCHEMAS_H
#define NETTU_SCH_SCHEMAS_H

#include "ntc_schema.h"

extern const ntc_route_doc sch_route_docs[];
extern const size_t sch_route_docs_n;

#endif /* NETTU_SCH_SCHEMAS_H */
