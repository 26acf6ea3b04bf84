/* Instance-list operations the time engine does not have: B2's subtract (free minus busy)
 * and the move of a list into the services' nt_intervals.
 */
#include "ev.h"

#include <stdlib.h>
#include <string.h>

/* Appends [start, end] (free) to the array v of *n used and *cap allocated. */
static int
ev_piece_push(ev_inst **v, size_t *n, size_t *cap, int64_t start, int64_t end)
{
    if (*n == *cap) {
        size_t grown = *cap != 0 ? *cap * 2 : 16;
        ev_inst *g = realloc(*v, grown * sizeof(*g));
        if (g == NULL)
            return -1;
        *v = g;
        *cap = grown;
    }
    (*v)[*n].start = start;
    (*v)[*n].end = end;
    (*v)[*n].busy = 0;
    (*n)++;
    return 0;
}

int
ev_ilist_subtract(ev_ilist *free_l, const ev_ilist *busy_l)
{
    ev_inst *out = NULL;
    size_t n = 0, cap = 0, j = 0, nb = busy_l != NULL ? busy_l->n : 0;

    for (size_t i = 0; i < free_l->n; i++) {
        int64_t a = free_l->v[i].start, b = free_l->v[i].end, cur = a;
        size_t k;
        int rc = 0;

        /* Busy intervals that end before this free one (or touch its start) are done. */
        while (j < nb && busy_l->v[j].end <= a)
            j++;
        /* Those that start before its end (touching its end does not count) cut it. */
        for (k = j; k < nb && busy_l->v[k].start < b && rc == 0; k++) {
            if (busy_l->v[k].start > cur)
                rc = ev_piece_push(&out, &n, &cap, cur, busy_l->v[k].start);
            if (busy_l->v[k].end > cur)
                cur = busy_l->v[k].end;
        }
        if (rc == 0 && k == j)
            rc = ev_piece_push(&out, &n, &cap, a, b); /* untouched, zero length included */
        else if (rc == 0 && cur < b)
            rc = ev_piece_push(&out, &n, &cap, cur, b);
        if (rc != 0) {
            free(out);
            return -1;
        }
    }
    free(free_l->v);
    free_l->v = out;
    free_l->n = n;
    free_l->cap = cap;
    return 0;
}

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
