/* Metadata helpers: query-string parsing for the metadata routes, the side table that
 * makes metadata searchable by (account, key, value), and the query over it that the
 * metadata routes of every domain plugin share.
 */
#include "ntc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ntc_parse_count(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return NT_EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0)
        return NT_EINVAL;
    *out = v;
    return NT_OK;
}

int
ntc_meta_query_parse(const nt_host_api *api, nt_req *r, ntc_meta_query *q)
{
    const char *skip = api->req_query(r, "skip");
    const char *limit = api->req_query(r, "limit");

    q->key = api->req_query(r, "key");
    q->value = api->req_query(r, "value");
    q->skip = 0;
    q->limit = NTC_META_LIMIT_DEFAULT;
    if (q->key == NULL)
        return api->fail(r, NT_EINVAL, "key: required query parameter is missing");
    if (q->value == NULL)
        return api->fail(r, NT_EINVAL, "value: required query parameter is missing");
    if (skip != NULL && ntc_parse_count(skip, &q->skip) != NT_OK)
        return api->fail(r, NT_EINVAL, "skip: expected an integer >= 0");
    if (limit != NULL && ntc_parse_count(limit, &q->limit) != NT_OK)
        return api->fail(r, NT_EINVAL, "limit: expected an integer >= 0");
    if (q->limit > NTC_META_LIMIT_MAX)
        return api->fail(r, NT_EINVAL, "limit: at most %d (got %lld)", NTC_META_LIMIT_MAX,
                         (long long)q->limit);
    return NT_OK;
}

int
ntc_meta_insert(const nt_host_api *api, nt_db *db, const char *table, const char *entity_id,
                const char *account_id, const json_t *metadata)
{
    char ins[256];
    const char *key;
    json_t *value;
    int rc = NT_OK;

    snprintf(ins, sizeof(ins),
             "INSERT INTO %s (entity_id, account_id, key, value) VALUES ($1, $2, $3, $4)", table);
    json_object_foreach((json_t *)metadata, key, value)
    {
        rc = ntc_exec(api, db, ins, "tttt", entity_id, account_id, key, json_string_value(value));
        if (rc != NT_OK)
            break;
    }
    return rc;
}

int
ntc_meta_store(const nt_host_api *api, nt_db *db, const char *table, const char *entity_id,
               const char *account_id, const json_t *metadata)
{
    char del[256];
    int rc;

    snprintf(del, sizeof(del), "DELETE FROM %s WHERE entity_id = $1", table);
    rc = ntc_exec(api, db, del, "t", entity_id);
    if (rc == NT_OK)
        rc = ntc_meta_insert(api, db, table, entity_id, account_id, metadata);
    return rc;
}

int
ntc_meta_find(const nt_host_api *api, nt_db *db, const char *account_id, const ntc_meta_query *q,
              const ntc_meta_table *t, json_t **out)
{
    json_t *list = json_array(), *row = NULL;
    nt_stmt *st = NULL;
    char sql[1024];
    int n, rc = list != NULL ? NT_OK : NT_ENOMEM;

    n = snprintf(sql, sizeof(sql),
                 "SELECT %s FROM %s %s JOIN %s m ON m.entity_id = %s.id "
                 "WHERE m.account_id = $1 AND m.key = $2 AND m.value = $3 AND %s.account_id = $1 "
                 "ORDER BY %s.created, %s.id LIMIT $4 OFFSET $5",
                 t->columns, t->table, t->alias, t->meta_table, t->alias, t->alias, t->alias,
                 t->alias);
    if (rc == NT_OK && (n < 0 || (size_t)n >= sizeof(sql)))
        rc = NT_ERR;
    if (rc == NT_OK)
        rc = ntc_prepare(api, db, &st, sql, "tttii", account_id, q->key, q->value, q->limit,
                         q->skip);
    while (rc == NT_OK && (rc = api->db_step(st)) == 1) {
        rc = t->row_json(api, st, t->arg, &row);
        if (rc == NT_OK && json_array_append_new(list, row) != 0)
            rc = NT_ENOMEM;
    }
    api->db_finalize(st);
    if (rc != NT_OK) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return NT_OK;
}

int
ntc_meta_route(const nt_host_api *api, nt_req *r, const ntc_meta_table *t, json_t **out)
{
    json_t *list = NULL;
    ntc_meta_query q;
    int rc;

    rc = ntc_meta_query_parse(api, r, &q);
    if (rc == NT_OK)
        rc = ntc_meta_find(api, api->req_db(r), api->req_account(r), &q, t, &list);
    if (rc != NT_OK)
        return rc;
    *out = json_pack("{s:o}", t->reply_key, list);
    return *out != NULL ? 200 : NT_ENOMEM;
}

json_t *
ntc_meta_parse(const char *text)
{
    json_t *m = text != NULL ? json_loads(text, 0, NULL) : NULL;

    if (m != NULL && !json_is_object(m)) {
        json_decref(m);
        m = NULL;
    }
    return m != NULL ? m : json_object();
}

char *
ntc_meta_dump(const json_t *metadata)
{
    if (metadata == NULL)
        return strdup("{}");
    return ntc_json_dump(metadata, 1);
}
