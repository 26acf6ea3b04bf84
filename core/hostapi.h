/* The host function table handed to every plugin, and the process-wide host state behind it
 * (route table, chosen store backend, main-thread connection).
 */
#ifndef NETTU_HOSTAPI_H
#define NETTU_HOSTAPI_H

#include <nettu/plugin.h>
#include <nettu/services.h>

#include "config.h"
#include "loader.h"
#include "router.h"

/* The table (static, valid for the whole process). */
const nt_host_api *hostapi_table(void);

/* The route table plugins register into; created on first use. */
router *hostapi_router(void);

/* Sets the configuration service_lookup reads [services] choices from (borrowed). */
void hostapi_set_config(cfg *c);

/* Sets the store backend the db_* functions forward to, and the main-thread connection. */
void hostapi_set_store(const nt_store_v1 *ops, void *state, nt_db *main_db);
const nt_store_v1 *hostapi_store(void);
void *hostapi_store_state(void);

/* Sets the plugin list plugin_count/plugin_get report (borrowed). */
void hostapi_set_loader(const loader *l);

/* Sets the CPU budget of a request's work, checked by req_check ([server] request_cpu_ms). */
void hostapi_set_request_budget(int cpu_ms);

/* Frees the route table (at shutdown). */
void hostapi_shutdown(void);

#endif
