/* user plugin: private declarations shared by its files (state, wire object, storage of
 * user_users and its metadata side table, routes and service).
 */
#ifndef USER_H
#define USER_H

#include "ntc.h"

#include <jansson.h>
#include <nettu/plugin.h>

/* The plugin state: set by init, read-only afterwards. */
struct usr {
    nt_plugin *self;
    const nt_host_api *api;
};

/* ---- user_json.c ------------------------------------------------------------------------ */

/* The User wire object {id, metadata} of a stored row: `metadata_text` is the
 * row's JSON text (NULL or bad text read as {}). Both borrowed. New reference, or NULL when
 * out of memory. */
json_t *usr_json(const char *id, const char *metadata_text);

/* Wraps `value` (taken) as {name: value} into a new object. NULL when out of memory (value
 * is released then too). */
json_t *usr_wrap(const char *name, json_t *value);

/* ---- user_store.c: SQL over user_users and user_metadata ------------------------------ */

/* Reads the user `id` of `account` into *out (a User, new reference). NT_ENOTFOUND when
 * there is none in that account, a storage error, or NT_ENOMEM. */
int usr_store_get(const nt_host_api *api, nt_db *db, const char *account, const char *id,
                  json_t **out);

/* Inserts a user with `metadata` (an object of strings, borrowed; NULL = {}) and its side
 * table rows. Run it inside a write transaction. NT_OK, NT_ENOMEM or a storage error. */
int usr_store_insert(const nt_host_api *api, nt_db *db, const char *account, const char *id,
                     const json_t *metadata, int64_t created);

/* Replaces the metadata of a user of `account` (row and side table). Run it inside a write
 * transaction. NT_ENOTFOUND when the user is not in the account. */
int usr_store_set_metadata(const nt_host_api *api, nt_db *db, const char *account, const char *id,
                           const json_t *metadata);

/* Deletes a user of `account`; the foreign keys cascade to everything it owns.
 * NT_ENOTFOUND when the user is not in the account. */
int usr_store_delete(const nt_host_api *api, nt_db *db, const char *account, const char *id);

/* The metadata query over user_users (GET /user/meta), for ntc_meta_route. */
extern const ntc_meta_table usr_meta_table;

/* NT_OK when `id` is a user of `account`, NT_ENOTFOUND when not, or a storage error. */
int usr_store_exists(const nt_host_api *api, nt_db *db, const char *account, const char *id);

/* ---- user_routes.c / user.c --------------------------------------------------------- */

/* Registers the user routes with state `u`. NT_OK or the host's error. */
int usr_routes_add(struct usr *u);

/* Provides the "users" service named "nettu". NT_OK or the host's error. */
int usr_service_add(struct usr *u);

#endif /* USER_H */
