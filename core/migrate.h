/* Schema migrations: each plugin's steps, applied once each, in load order and ascending
 * version, each in its own write transaction, recorded in the nettu_migrations table.
 */
#ifndef NETTU_MIGRATE_H
#define NETTU_MIGRATE_H

#include <nettu/services.h>

#include "loader.h"

/* Applies the pending migrations of every plugin of l on db. NT_OK, or the failing step's
 * code after logging which plugin and version failed and why. */
int migrate_run(const nt_store_v1 *st, nt_db *db, const loader *l);

#endif
