/* The fake host's requests: building them, the req_* / fail / json_get_* members of the
 * table (with the core's semantics and messages), calling a handler and checking its reply.
 */
#include "fakehost_int.h"
#include "arena.h"
#include "jsonfield.h"
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- pair lists -------------------------------------------------------------------------- */

int
fh_pairs_add(fh_pairs *l, const char *name, const char *value)
{
    char *n, *v;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        struct fh_pair *grown = realloc(l->v, cap * sizeof(*grown));
        if (grown == NULL)
            return NT_ENOMEM;
        l->v = grown;
        l->cap = cap;
    }
    n = strdup(name);
    v = strdup(value != NULL ? value : "");
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return NT_ENOMEM;
    }
    l->v[l->n].name = n;
    l->v[l->n++].value = v;
    return NT_OK;
}

void
fh_pairs_free(fh_pairs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* The value of the first pair called `name` (case-insensitive when nocase), or NULL. */
static const char *
fh_pairs_get(const fh_pairs *l, const char *name, int nocase)
{
    for (size_t i = 0; name != NULL && i < l->n; i++)
        if ((nocase ? strcasecmp(l->v[i].name, name) : strcmp(l->v[i].name, name)) == 0)
            return l->v[i].value;
    return NULL;
}

/* ---- building a request ------------------------------------------------------------------ */

fh_req *
fh_req_new(fh_host *h)
{
    fh_req *r = calloc(1, sizeof(*r));

    if (r != NULL)
        r->host = h;
    return r;
}

void
fh_req_free(fh_req *r)
{
    if (r == NULL)
        return;
    free(r->method);
    fh_pairs_free(&r->params);
    fh_pairs_free(&r->query);
    fh_pairs_free(&r->headers);
    json_decref(r->body);
    free(r->account);
    free(r->user);
    json_decref(r->policy);
    free(r->text);
    free(r->text_type);
    arena_free(&r->scratch);
    free(r);
}

int
fh_req_set_method(fh_req *r, const char *method)
{
    char *copy = strdup(method);

    if (copy == NULL)
        return NT_ENOMEM;
    free(r->method);
    r->method = copy;
    return NT_OK;
}

int
fh_req_add_param(fh_req *r, const char *name, const char *value)
{
    return fh_pairs_add(&r->params, name, value);
}

int
fh_req_add_query(fh_req *r, const char *name, const char *value)
{
    return fh_pairs_add(&r->query, name, value);
}

int
fh_req_add_header(fh_req *r, const char *name, const char *value)
{
    return fh_pairs_add(&r->headers, name, value);
}

int
fh_req_parse_query(fh_req *r, const char *raw)
{
    arena a = {0};
    query_pair *q;
    size_t n;
    int rc = query_decode(raw, &a, &q, &n);

    if (rc == NT_EINVAL)
        r->query_bad = 1;
    for (size_t i = 0; rc == NT_OK && i < n; i++)
        rc = fh_pairs_add(&r->query, q[i].name, q[i].value);
    arena_free(&a);
    return rc;
}

void
fh_req_set_body(fh_req *r, json_t *body)
{
    json_decref(r->body);
    r->body = body;
}

int
fh_req_set_body_text(fh_req *r, const char *text, size_t len, size_t flags)
{
    json_t *v;

    fh_req_set_body(r, NULL);
    if (len == 0)
        return NT_OK;
    v = json_loadb(text, len, flags, NULL);
    if (v == NULL || !json_is_object(v)) {
        json_decref(v);
        return NT_EINVAL;
    }
    r->body = v;
    return NT_OK;
}

/* Replaces *dst by a copy of src (NULL clears). */
static int
fh_set_str(char **dst, const char *src)
{
    char *copy = NULL;

    if (src != NULL && (copy = strdup(src)) == NULL)
        return NT_ENOMEM;
    free(*dst);
    *dst = copy;
    return NT_OK;
}

int
fh_req_set_principal(fh_req *r, const char *account, const char *user)
{
    if (fh_set_str(&r->account, account) != NT_OK || fh_set_str(&r->user, user) != NT_OK)
        return NT_ENOMEM;
    return NT_OK;
}

const char *
fh_req_account(const fh_req *r)
{
    return r->account;
}

const char *
fh_req_user(const fh_req *r)
{
    return r->user;
}

json_t *
fh_req_policy(const fh_req *r)
{
    return r->policy;
}

const char *
fh_req_msg(const fh_req *r)
{
    return r->msg;
}

int
fh_req_fail_code(const fh_req *r)
{
    return r->fail_code;
}

int
fh_req_principal_calls(const fh_req *r)
{
    return r->principal_calls;
}

const char *
fh_req_reply_text(const fh_req *r, const char **type, size_t *len)
{
    if (r->text == NULL)
        return NULL;
    if (type != NULL)
        *type = r->text_type;
    if (len != NULL)
        *len = r->text_len;
    return r->text;
}

/* ---- request members of the table -------------------------------------------------------- */

static const char *
fh_api_req_method(nt_req *r)
{
    return r->method;
}

static const char *
fh_api_req_param(nt_req *r, const char *name)
{
    return fh_pairs_get(&r->params, name, 0);
}

static const char *
fh_api_req_query(nt_req *r, const char *name)
{
    return r->query_bad ? NULL : fh_pairs_get(&r->query, name, 0);
}

static const char *
fh_api_req_header(nt_req *r, const char *name)
{
    return fh_pairs_get(&r->headers, name, 1);
}

static json_t *
fh_api_req_body(nt_req *r)
{
    if (r->body == NULL)
        r->body = json_object();
    return r->body;
}

static const char *
fh_api_req_route(nt_req *r)
{
    return r->route;
}

/* As the core: a non-empty content type without control characters (under 128 bytes). */
static int
fh_api_req_reply_text(nt_req *r, const char *content_type, const char *body, size_t len)
{
    size_t n = content_type != NULL ? strlen(content_type) : 0;
    char *type, *copy;

    if (n == 0 || n >= 128 || body == NULL)
        return NT_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)content_type[i] < 0x20 || content_type[i] == 0x7f)
            return NT_EINVAL;
    type = strdup(content_type);
    copy = malloc(len + 1);
    if (type == NULL || copy == NULL) {
        free(type);
        free(copy);
        return NT_ENOMEM;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    free(r->text);
    free(r->text_type);
    r->text = copy;
    r->text_type = type;
    r->text_len = len;
    return NT_OK;
}

static void *
fh_api_req_alloc(nt_req *r, size_t n)
{
    return arena_alloc(&r->scratch, n);
}

static nt_db *
fh_api_req_db(nt_req *r)
{
    return r->host != NULL ? &r->host->db : NULL;
}

/* As the core: the account is required and both ids must fit its buffers (64 bytes). */
static int
fh_api_req_set_principal(nt_req *r, const char *account_id, const char *user_id, json_t *policy)
{
    int rc = NT_EINVAL;

    r->principal_calls++;
    if (account_id == NULL || strlen(account_id) >= 64 ||
        (user_id != NULL && strlen(user_id) >= 64))
        goto out;
    if ((rc = fh_req_set_principal(r, account_id, user_id)) != NT_OK)
        goto out;
    json_decref(r->policy);
    r->policy = policy;
    policy = NULL;
out:
    json_decref(policy);
    return rc;
}

static const char *
fh_api_req_account(nt_req *r)
{
    return r->account;
}

static const char *
fh_api_req_user(nt_req *r)
{
    return r->user;
}

static json_t *
fh_api_req_policy(nt_req *r)
{
    return r->policy;
}

static int fh_api_fail(nt_req *r, int code, const char *fmt, ...) NT_PRINTF(3, 4);
static int
fh_api_fail(nt_req *r, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->fail_code = code;
    return code;
}

/* ---- JSON field readers: the core's own code (core/jsonfield.c) -------------------------- */

static int
fh_api_json_get_int(nt_req *r, const json_t *obj, const char *key, int required, int64_t *out,
                    int *present)
{
    return jsonfield_int(fh_api_fail, r, obj, key, required, out, present);
}

static int
fh_api_json_get_str(nt_req *r, const json_t *obj, const char *key, int required, const char **out,
                    int *present)
{
    return jsonfield_str(fh_api_fail, r, obj, key, required, out, present);
}

static int
fh_api_json_get_bool(nt_req *r, const json_t *obj, const char *key, int required, int *out,
                     int *present)
{
    return jsonfield_bool(fh_api_fail, r, obj, key, required, out, present);
}

static int
fh_api_json_get_metadata(nt_req *r, const json_t *obj, const char *key, int required, json_t **out,
                         int *present)
{
    return jsonfield_metadata(fh_api_fail, r, obj, key, required, out, present);
}

static const char *
fh_api_req_peer(nt_req *r)
{
    (void)r;
    return "127.0.0.1";
}

void
fh_req_set_budget(fh_req *r, long calls, int gone)
{
    r->check_budget = calls;
    r->gone = gone;
}

long
fh_req_check_calls(const fh_req *r)
{
    return r->check_calls;
}

long
fh_req_check_calls_in_txn(const fh_req *r)
{
    return r->check_calls_in_txn;
}

static int
fh_api_req_check(nt_req *r)
{
    r->check_calls++;
    if (fh_in_transaction(r->host))
        r->check_calls_in_txn++;
    if (r->gone)
        return NT_EGONE;
    if (r->check_budget > 0 && r->check_calls > r->check_budget)
        return fh_api_fail(r, NT_EBUDGET, "fakehost: the request's budget of %ld checks is used up",
                           r->check_budget);
    return NT_OK;
}

/* ---- the memo of a group commit --------------------------------------------------------- */

static void *
fh_api_memo_get(nt_req *r, const char *key)
{
    return r->host != NULL && r->host->in_group ? memo_get(&r->host->memo, key) : NULL;
}

static int
fh_api_memo_put(nt_req *r, const char *key, void *value, void (*free_fn)(void *value))
{
    if (key == NULL || value == NULL)
        return NT_ERR;
    if (r->host == NULL || !r->host->in_group)
        return NT_EUNAVAIL;
    return memo_put(&r->host->memo, key, value, free_fn);
}

void
fh_group_begin(fh_host *h)
{
    if (h != NULL)
        h->in_group = 1;
}

void
fh_group_end(fh_host *h)
{
    if (h == NULL)
        return;
    h->in_group = 0;
    memo_clear(&h->memo);
}

size_t
fh_memo_count(const fh_host *h)
{
    return h != NULL ? h->memo.n : 0;
}

void
fh_req_fill_api(nt_host_api *api)
{
    api->req_method = fh_api_req_method;
    api->req_param = fh_api_req_param;
    api->req_query = fh_api_req_query;
    api->req_header = fh_api_req_header;
    api->req_body = fh_api_req_body;
    api->req_alloc = fh_api_req_alloc;
    api->req_db = fh_api_req_db;
    api->req_set_principal = fh_api_req_set_principal;
    api->req_account = fh_api_req_account;
    api->req_user = fh_api_req_user;
    api->req_policy = fh_api_req_policy;
    api->fail = fh_api_fail;
    api->json_get_int = fh_api_json_get_int;
    api->json_get_str = fh_api_json_get_str;
    api->json_get_bool = fh_api_json_get_bool;
    api->json_get_metadata = fh_api_json_get_metadata;
    api->req_route = fh_api_req_route;
    api->req_reply_text = fh_api_req_reply_text;
    api->req_check = fh_api_req_check;
    api->req_peer = fh_api_req_peer;
    api->memo_get = fh_api_memo_get;
    api->memo_put = fh_api_memo_put;
}

/* ---- calling a handler ------------------------------------------------------------------- */

int
fh_call(fh_host *h, fh_req *r, const char *method, const char *path, json_t **out)
{
    const nt_route *rt = fh_route(h, method, path);
    int live, bad, rc;

    *out = NULL;
    r->host = h;
    r->msg[0] = '\0';
    r->fail_code = 0;
    r->called = 1;
    if (rt == NULL) {
        snprintf(r->msg, sizeof(r->msg), "fakehost: no route %s %s", method, path);
        r->fail_code = NT_ENOTFOUND;
        return NT_ENOTFOUND;
    }
    if (fh_req_set_method(r, method) != NT_OK)
        return NT_ENOMEM;
    r->route = rt->path;
    fh_db_clear_error(&h->db);
    live = h->db.live;
    bad = h->db.bad_sql;
    rc = rt->handler(r, rt->state, out);
    if (h->in_group && (rc < 200 || rc > 299))
        memo_clear(&h->memo); /* as the core does: a failed request's writes are undone */
    r->txn_left_open = fh_in_transaction(h);
    r->stmts_left = h->db.live - live;
    r->bad_sql = h->db.bad_sql - bad;
    r->db_errcode = h->db.errcode;
    if (r->txn_left_open)
        sqlite3_exec(h->db.sq, "ROLLBACK", NULL, NULL, NULL); /* as the core does */
    h->db.txn = 0;
    return rc;
}

const char *
fh_check_reply(fh_host *h, const fh_req *r, int rc, const json_t *out)
{
    (void)h;
    if (!r->called)
        return "the request was never called";
    if (r->txn_left_open)
        return "a transaction was left open";
    if (r->stmts_left != 0)
        return "a statement was not finalized";
    if (r->bad_sql != 0)
        return "a statement failed to prepare (bad SQL)";
    if (rc >= 200 && rc <= 299)
        return NULL;
    if (rc >= 0 || rc < NT_EGONE)
        return "the result is neither a 2xx status nor an NT_E* code";
    if (out != NULL)
        return "an error came with a reply body";
    if (rc == NT_EGONE)
        return NULL; /* the client has gone: nothing is sent, no message is needed */
    if (r->fail_code == rc && r->msg[0] != '\0')
        return NULL;
    if (r->fail_code == 0 && r->db_errcode != NT_OK)
        return NULL; /* the core answers with the storage error */
    if (r->fail_code != 0)
        return "the code differs from the one given to fail(), or the message is empty";
    return "an error without fail() and without a storage error";
}
