/* The service registry: a small array, searched linearly (a few entries, start-up only). */
#include "service.h"

#include "loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct service {
    nt_plugin *owner;
    char *kind, *name;
    uint32_t version;
    const void *ops;
    void *state;
} service;

typedef struct need {
    nt_plugin *owner;
    char *kind;
    uint32_t version;
} need;

static service *svc;
static size_t nsvc, capsvc;
static need *needs;
static size_t nneeds, capneeds;

int
service_need(nt_plugin *p, const char *kind, uint32_t version)
{
    need *grown;

    if (kind == NULL || *kind == '\0')
        return NT_EINVAL;
    if (nneeds == capneeds) {
        size_t cap = capneeds ? capneeds * 2 : 16;
        grown = realloc(needs, cap * sizeof(*grown));
        if (grown == NULL)
            return NT_ENOMEM;
        needs = grown;
        capneeds = cap;
    }
    needs[nneeds].kind = strdup(kind);
    if (needs[nneeds].kind == NULL)
        return NT_ENOMEM;
    needs[nneeds].owner = p;
    needs[nneeds].version = version;
    nneeds++;
    return NT_OK;
}

void
service_foreach_need(void (*fn)(void *arg, const char *plugin, const char *kind, uint32_t version),
                     void *arg)
{
    for (size_t i = 0; i < nneeds; i++)
        fn(arg, needs[i].owner != NULL ? needs[i].owner->name : "core", needs[i].kind,
           needs[i].version);
}

int
service_candidates(const char *kind, uint32_t version, char *buf, size_t n)
{
    size_t len = 0;
    int count = 0;

    if (n > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < nsvc; i++) {
        if (strcmp(svc[i].kind, kind) != 0 || svc[i].version < version)
            continue;
        if (len < n)
            len +=
                (size_t)snprintf(buf + len, n - len, "%s%s (plugin %s)", count ? ", " : "",
                                 svc[i].name, svc[i].owner != NULL ? svc[i].owner->name : "core");
        count++;
    }
    return count;
}

void
service_describe_all(char *buf, size_t n)
{
    size_t len = 0;

    if (n > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < nsvc && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s %s (%s)", i ? ", " : "", svc[i].kind,
                                svc[i].name, svc[i].owner != NULL ? svc[i].owner->name : "core");
}

/* Drops the needs p declared. */
static void
service_drop_needs(nt_plugin *p)
{
    size_t j = 0;

    for (size_t i = 0; i < nneeds; i++) {
        if (p == NULL || needs[i].owner == p) {
            free(needs[i].kind);
            continue;
        }
        needs[j++] = needs[i];
    }
    nneeds = j;
    if (p == NULL) {
        free(needs);
        needs = NULL;
        capneeds = 0;
    }
}

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

    if (p != NULL)
        service_drop_needs(p);
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
    service_drop_needs(NULL);
}
