/* The descriptions of the user plugin's routes (user_schemas.c): summary, query, request and reply
 * schemas, for the OpenAPI document (ABI 1.4 nt_route members; see ntc_schema.h). */
#ifndef NETTU_USER_SCHEMAS_H
#define NETTU_USER_SCHEMAS_H

#include "ntc_schema.h"

extern const ntc_route_doc usr_route_docs[];
extern const size_t usr_route_docs_n;

#endif /* NETTU_USER_SCHEMAS_H */
