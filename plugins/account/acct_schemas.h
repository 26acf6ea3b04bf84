/* The descriptions of the account plugin's routes (acct_schemas.c): summary, request and reply
 * schemas, for the OpenAPI document (ABI 1.4 nt_route members; see ntc_schema.h). */
#ifndef NETTU_ACCT_SCHEMAS_H
#define NETTU_ACCT_SCHEMAS_H

#include "ntc_schema.h"

extern const ntc_route_doc acct_route_docs[];
extern const size_t acct_route_docs_n;

#endif /* NETTU_ACCT_SCHEMAS_H */
