/* SQL over user_users and its metadata side table user_metadata. Every function finalizes
 * its statements on every path; errors are the storage's NT_E* codes.
 */
#include "user.h"

#include <stdlib.h>

int
usr_store_get(const nt_host_api *api, nt_db *db, const char *account, const char *id, json_t **out)
{
    nt_stmt *st = NULL;
    int rc = ntc_prepare(api, db, &st,
                         "SELECT metadata FROM user_users WHERE id = $1 AND account_id = $2", "tt",
                         id, account);

    if (rc == NT_OK)
        rc = ntc_row(api, st);
    if (rc == NT_OK) {
        *out = usr_json(id, api->db_col_text(st, 0));
        rc = *out != NULL ? NT_OK : NT_ENOMEM;
    }
    api->db_finalize(st);
    return rc;
}

int
usr_store_exists(const nt_host_api *api, nt_db *db, const char *account, const char *id)
{
    nt_stmt *st = NULL;
    int rc = ntc_prepare(api, db, &st, "SELECT 1 FROM user_users WHERE id = $1 AND account_id = $2",
                         "tt", id, account);

    if (rc == NT_OK)
        rc = ntc_row(api, st);
    api->db_finalize(st);
    return rc;
}

int
usr_store_insert(const nt_host_api *api, nt_db *db, const char *account, const char *id,
                 const json_t *metadata, int64_t created)
{
    char *text = ntc_meta_dump(metadata);
    int rc = NT_ENOMEM;

    if (text != NULL)
        rc = ntc_exec(api, db,
                      "INSERT INTO user_users (id, account_id, metadata, created) "
                      "VALUES ($1, $2, $3, $4)",
                      "ttti", id, account, text, created);
    if (rc == NT_OK) /* a new user: nothing to delete (see ntc_meta_insert) */
        rc = ntc_meta_insert(api, db, "user_metadata", id, account, metadata);
    free(text);
    return rc;
}

int
usr_store_set_metadata(const nt_host_api *api, nt_db *db, const char *account, const char *id,
                       const json_t *metadata)
{
    char *text = ntc_meta_dump(metadata);
    int rc = NT_ENOMEM;

    if (text != NULL)
        rc = ntc_exec_changed(
            api, db, "UPDATE user_users SET metadata = $1 WHERE id = $2 AND account_id = $3", "ttt",
            text, id, account);
    if (rc == NT_OK)
        rc = ntc_meta_store(api, db, "user_metadata", id, account, metadata);
    free(text);
    return rc;
}

int
usr_store_delete(const nt_host_api *api, nt_db *db, const char *account, const char *id)
{
    return ntc_exec_changed(api, db, "DELETE FROM user_users WHERE id = $1 AND account_id = $2",
                            "tt", id, account);
}

/* The metadata query's row printer: columns id, metadata. */
static int
usr_meta_row(const nt_host_api *api, nt_stmt *st, void *arg, json_t **out)
{
    (void)arg;
    *out = usr_json(api->db_col_text(st, 0), api->db_col_text(st, 1));
    return *out != NULL ? NT_OK : NT_ENOMEM;
}

const ntc_meta_table usr_meta_table = {
    .table = "user_users",
    .meta_table = "user_metadata",
    .alias = "u",
    .columns = "u.id, u.metadata",
    .reply_key = "users",
    .row_json = usr_meta_row,
};
