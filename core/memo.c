/* The memo of a group commit (see memo.h). */
#include "memo.h"

#include <stdlib.h>
#include <string.h>

#include <nettu/plugin.h>

/* FNV-1a of key: most lookups are told apart by it without comparing the keys. */
static uint64_t
memo_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;

    for (const unsigned char *c = (const unsigned char *)key; *c != '\0'; c++)
        h = (h ^ *c) * 1099511628211ULL;
    return h;
}

/* The entry of key (hash h), or NULL. */
static memo_entry *
memo_find(const group_memo *m, const char *key, uint64_t h)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].hash == h && strcmp(m->v[i].key, key) == 0)
            return (memo_entry *)&m->v[i];
    return NULL;
}

void *
memo_get(const group_memo *m, const char *key)
{
    const memo_entry *e;

    if (m == NULL || key == NULL || m->n == 0)
        return NULL;
    e = memo_find(m, key, memo_hash(key));
    return e != NULL ? e->value : NULL;
}

int
memo_put(group_memo *m, const char *key, void *value, void (*free_fn)(void *value))
{
    uint64_t h;
    char *copy;

    if (m == NULL || key == NULL || value == NULL)
        return NT_ERR;
    h = memo_hash(key);
    if (memo_find(m, key, h) != NULL)
        return NT_ECONFLICT;
    if (m->n == MEMO_MAX)
        return NT_EUNAVAIL;
    copy = strdup(key);
    if (copy == NULL)
        return NT_ENOMEM;
    m->v[m->n].hash = h;
    m->v[m->n].key = copy;
    m->v[m->n].value = value;
    m->v[m->n].free_fn = free_fn;
    m->n++;
    return NT_OK;
}

void
memo_clear(group_memo *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].free_fn != NULL)
            m->v[i].free_fn(m->v[i].value);
        free(m->v[i].key);
    }
    m->n = 0;
}
