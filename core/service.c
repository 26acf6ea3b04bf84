/* The service registry: a small array, searched linearly (a few entries, start-up only). */
#include "service.h"

#include <stdlib.h>
#include <string.h>

typedef struct service {
    nt_plugin *owner;
    char *kind, *name;
    uint32_t version;
    const void *ops;
    void *state;
} service;

static service *svc;
static size_t nsvc, capsvc;

int
service_provide(nt_plugin *p, const char *kind, const char *name, uint32_t version, const void *ops,
                void *state)
{
    service *grown;

    if (kind == NULL || name == NULL || ops == NULL || *(const uint32_t *)ops == 0)
        return NT_EINVAL;
    for (size_t i = 0; i < nsvc; i++)
        if (strcmp(svc[i].kind, kind) == 0 && strcmp(svc[i].name, name) == 0)
            return NT_ECONFLICT;
    if (nsvc == capsvc) {
        size_t cap = capsvc ? capsvc * 2 : 16;
        grown = realloc(svc, cap * sizeof(*grown));
        if (grown == NULL)
            return NT_ENOMEM;
        svc = grown;
        capsvc = cap;
    }
    svc[nsvc].kind = strdup(kind);
    svc[nsvc].name = strdup(name);
    if (svc[nsvc].kind == NULL || svc[nsvc].name == NULL) {
        free(svc[nsvc].kind);
        free(svc[nsvc].name);
        return NT_ENOMEM;
    }
    svc[nsvc].owner = p;
    svc[nsvc].version = version;
    svc[nsvc].ops = ops;
    svc[nsvc].state = state;
    nsvc++;
    return NT_OK;
}

const void *
service_lookup(const char *kind, const char *name, uint32_t version, void **state)
{
    const service *found = NULL;

    for (size_t i = 0; i < nsvc; i++) {
        if (strcmp(svc[i].kind, kind) != 0 || svc[i].version < version)
            continue;
        if (name != NULL && strcmp(svc[i].name, name) != 0)
            continue;
        if (found != NULL)
            return NULL; /* ambiguous without a name */
        found = &svc[i];
    }
    if (found == NULL)
        return NULL;
    if (state != NULL)
        *state = found->state;
    return found->ops;
}

void
service_foreach(const char *kind, uint32_t version,
                void (*fn)(void *arg, const void *ops, void *state), void *arg)
{
    for (size_t i = 0; i < nsvc; i++)
        if (strcmp(svc[i].kind, kind) == 0 && svc[i].version >= version)
            fn(arg, svc[i].ops, svc[i].state);
}

int
service_count(const char *kind)
{
    int n = 0;

    for (size_t i = 0; i < nsvc; i++)
        n += strcmp(svc[i].kind, kind) == 0;
    return n;
}

void
service_remove_plugin(nt_plugin *p)
{
    size_t j = 0;

    for (size_t i = 0; i < nsvc; i++) {
        if (svc[i].owner == p) {
            free(svc[i].kind);
            free(svc[i].name);
            continue;
        }
        svc[j++] = svc[i];
    }
    nsvc = j;
}

void
service_clear(void)
{
    for (size_t i = 0; i < nsvc; i++) {
        free(svc[i].kind);
        free(svc[i].name);
    }
    free(svc);
    svc = NULL;
    nsvc = capsvc = 0;
}
