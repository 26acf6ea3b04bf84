/* SQL over user_users and its metadata side table user_metadata. Every function finalizes
 * its statements on every path; errors are the storage's NT_E* codes.
 */
#include "user.h"

#include <stdlib.h>

int
usr_store_get(const nt_host_api *api, nt_db *db, const char *account, const char *id, json_t **out)
{
    nt_stmt *st =
        api->db_prepare(db, "SELECT metadata FROM user_users WHERE id = $1 AND account_id = $2");
    int rc = st != NULL ? NT_OK : NT_ERR;

    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, account);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc == 0) {
        rc = NT_ENOTFOUND;
    } else if (rc == 1) {
        *out = usr_json(id, api->db_col_text(st, 0));
        rc = *out != NULL ? NT_OK : NT_ENOMEM;
    }
    api->db_finalize(st);
    return rc;
}

int
usr_store_exists(const nt_host_api *api, nt_db *db, const char *account, const char *id)
{
    nt_stmt *st = api->db_prepare(db, "SELECT 1 FROM user_users WHERE id = $1 AND account_id = $2");
    int rc = st != NULL ? NT_OK : NT_ERR;

    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, account);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc >= 0)
        rc = rc == 1 ? NT_OK : NT_ENOTFOUND;
    api->db_finalize(st);
    return rc;
}

int
usr_store_insert(const nt_host_api *api, nt_db *db, const char *account, const char *id,
                 const json_t *metadata, int64_t created)
{
    char *text = ntc_meta_dump(metadata);
    nt_stmt *st = NULL;
    int rc = NT_ENOMEM;

    if (text == NULL)
        goto out;
    st = api->db_prepare(db, "INSERT INTO user_users (id, account_id, metadata, created) "
                             "VALUES ($1, $2, $3, $4)");
    rc = st != NULL ? NT_OK : NT_ERR;
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, account);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 3, text);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 4, created);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc >= 0)
        rc = ntc_meta_store(api, db, "user_metadata", id, account, metadata);
out:
    api->db_finalize(st);
    free(text);
    return rc;
}

int
usr_store_set_metadata(const nt_host_api *api, nt_db *db, const char *account, const char *id,
                       const json_t *metadata)
{
    char *text = ntc_meta_dump(metadata);
    nt_stmt *st = NULL;
    int rc = NT_ENOMEM;

    if (text == NULL)
        goto out;
    st = api->db_prepare(db,
                         "UPDATE user_users SET metadata = $1 WHERE id = $2 AND account_id = $3");
    rc = st != NULL ? NT_OK : NT_ERR;
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, text);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 3, account);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc >= 0)
        rc = api->db_changes(st) > 0 ? NT_OK : NT_ENOTFOUND;
    if (rc == NT_OK)
        rc = ntc_meta_store(api, db, "user_metadata", id, account, metadata);
out:
    api->db_finalize(st);
    free(text);
    return rc;
}

int
usr_store_delete(const nt_host_api *api, nt_db *db, const char *account, const char *id)
{
    nt_stmt *st = api->db_prepare(db, "DELETE FROM user_users WHERE id = $1 AND account_id = $2");
    int rc = st != NULL ? NT_OK : NT_ERR;

    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, id);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, account);
    if (rc == NT_OK)
        rc = api->db_step(st);
    if (rc >= 0)
        rc = api->db_changes(st) > 0 ? NT_OK : NT_ENOTFOUND;
    api->db_finalize(st);
    return rc;
}

int
usr_store_query(const nt_host_api *api, nt_db *db, const char *account, const ntc_meta_query *q,
                json_t **out)
{
    nt_stmt *st = api->db_prepare(
        db, "SELECT u.id, u.metadata FROM user_users u "
            "JOIN user_metadata m ON m.entity_id = u.id "
            "WHERE m.account_id = $1 AND m.key = $2 AND m.value = $3 AND u.account_id = $1 "
            "ORDER BY u.created, u.id LIMIT $4 OFFSET $5");
    json_t *users = json_array();
    int rc = st != NULL ? NT_OK : NT_ERR;

    if (users == NULL)
        rc = NT_ENOMEM;
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 1, account);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 2, q->key);
    if (rc == NT_OK)
        rc = api->db_bind_text(st, 3, q->value);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 4, q->limit);
    if (rc == NT_OK)
        rc = api->db_bind_int64(st, 5, q->skip);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        json_t *user = usr_json(api->db_col_text(st, 0), api->db_col_text(st, 1));
        rc = user != NULL && json_array_append_new(users, user) == 0 ? NT_OK : NT_ENOMEM;
    }
    api->db_finalize(st);
    if (rc < 0) {
        json_decref(users);
        return rc;
    }
    *out = users;
    return NT_OK;
}
