/* The move of an instance list into the services' nt_intervals (the subtract lives in the
 * time engine, plugins/time/intervals.c, shared with the service plugin).
 */
#include "ev.h"

#include <stdlib.h>
#include <string.h>

int
ev_ilist_export(ev_ilist *l, nt_intervals *out)
{
    nt_interval *v = NULL;

    if (l->n > 0) {
        v = malloc(l->n * sizeof(*v));
        if (v == NULL)
            return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        v[i].start = l->v[i].start;
        v[i].end = l->v[i].end;
        v[i].busy = l->v[i].busy;
    }
    out->v = v;
    out->n = out->cap = l->n;
    ev_ilist_free(l);
    return 0;
}
