/* Metadata helpers: query-string parsing for the metadata routes, and the side table that
 * makes metadata searchable by (account, key, value).
 */
#include "ntc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a non-negative decimal integer with nothing around it. */
static int
meta_parse_count(const char *s, int64_t *out)
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
    q->limit = 20;
    if (q->key == NULL)
        return api->fail(r, NT_EINVAL, "key: required query parameter is missing");
    if (q->value == NULL)
        return api->fail(r, NT_EINVAL, "value: required query parameter is missing");
    if (skip != NULL && meta_parse_count(skip, &q->skip) != NT_OK)
        return api->fail(r, NT_EINVAL, "skip: expected an integer >= 0");
    if (limit != NULL && meta_parse_count(limit, &q->limit) != NT_OK)
        return api->fail(r, NT_EINVAL, "limit: expected an integer >= 0");
    return NT_OK;
}

int
ntc_meta_store(const nt_host_api *api, nt_db *db, const char *table, const char *entity_id,
               const char *account_id, const json_t *metadata)
{
    char sql[256];
    nt_stmt *st = NULL;
    const char *key;
    json_t *value;
    int rc;

    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE entity_id = $1", table);
    st = api->db_prepare(db, sql);
    if (st == NULL)
        return NT_ERR;
    rc = api->db_bind_text(st, 1, entity_id);
    if (rc == NT_OK)
        rc = api->db_step(st);
    api->db_finalize(st);
    if (rc < 0)
        return rc;
    if (metadata == NULL || json_object_size(metadata) == 0)
        return NT_OK;

    snprintf(sql, sizeof(sql),
             "INSERT INTO %s (entity_id, account_id, key, value) VALUES ($1, $2, $3, $4)", table);
    json_object_foreach((json_t *)metadata, key, value)
    {
        st = api->db_prepare(db, sql);
        if (st == NULL)
            return NT_ERR;
        rc = api->db_bind_text(st, 1, entity_id);
        if (rc == NT_OK)
            rc = api->db_bind_text(st, 2, account_id);
        if (rc == NT_OK)
            rc = api->db_bind_text(st, 3, key);
        if (rc == NT_OK)
            rc = api->db_bind_text(st, 4, json_string_value(value));
        if (rc == NT_OK)
            rc = api->db_step(st);
        api->db_finalize(st);
        if (rc < 0)
            return rc;
    }
    return NT_OK;
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
    return json_dumps(metadata, JSON_COMPACT | JSON_SORT_KEYS);
}
