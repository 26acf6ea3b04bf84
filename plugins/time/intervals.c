/* Instance lists, the merge (sort by start, fold same-flag instances that overlap or touch)
 * and the subtract (free minus busy) that free/busy uses.
 */
#include "intervals.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
ev_ilist_push(ev_ilist *l, int64_t start, int64_t end, int busy)
{
    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 16;
        ev_inst *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].start = start;
    l->v[l->n].end = end;
    l->v[l->n].busy = busy != 0;
    l->n++;
    return 0;
}

void
ev_ilist_free(ev_ilist *l)
{
    if (l == NULL)
        return;
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int
inst_cmp(const void *pa, const void *pb)
{
    const ev_inst *a = pa, *b = pb;

    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return a->busy - b->busy;
}

void
ev_ilist_sort(ev_ilist *l)
{
    size_t i = 1;

    /* Rows come from an index on start_ts, so the list is often in order already: one pass
     * finds out, where qsort (glibc's merge sort) would still compare n log n / 2 times. */
    while (i < l->n && inst_cmp(&l->v[i - 1], &l->v[i]) <= 0)
        i++;
    if (i < l->n)
        qsort(l->v, l->n, sizeof(*l->v), inst_cmp);
}

/* Folds the sorted instances of flag `busy` from src into dst (appending). */
static void
merge_flag(const ev_ilist *src, int busy, ev_inst *dst, size_t *n)
{
    size_t first = *n;

    for (size_t i = 0; i < src->n; i++) {
        const ev_inst *b = &src->v[i];
        ev_inst *a = *n > first ? &dst[*n - 1] : NULL;
        if (b->busy != busy)
            continue;
        if (a != NULL && a->start <= b->end && a->end >= b->start) {
            if (b->start < a->start)
                a->start = b->start;
            if (b->end > a->end)
                a->end = b->end;
            continue;
        }
        dst[(*n)++] = *b;
    }
}

int
ev_ilist_merge(ev_ilist *l)
{
    ev_inst *out;
    size_t n = 0, n_busy;

    ev_ilist_sort(l);
    if (l->n < 2)
        return 0;
    out = malloc(l->n * sizeof(*out));
    if (out == NULL)
        return -1;
    merge_flag(l, 1, out, &n);
    n_busy = n;
    merge_flag(l, 0, out, &n);
    free(l->v);
    l->v = out;
    l->cap = l->n;
    l->n = n;
    /* Each flag's part is sorted; with both flags present they interleave. */
    if (n_busy > 0 && n_busy < n)
        ev_ilist_sort(l);
    return 0;
}

json_t *
ev_ilist_json(const ev_ilist *l)
{
    json_t *arr = json_array();

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        json_t *o = json_pack("{s:I,s:I,s:b}", "startTs", (json_int_t)l->v[i].start, "endTs",
                              (json_int_t)l->v[i].end, "busy", l->v[i].busy);
        if (json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The longest instance: two 20-character integers, the keys, "false" and the comma. */
#define EV_INST_TEXT_MAX 96

/* Writes v in decimal at p (what "%lld" writes, INT64_MIN included), two digits per
 * division; returns the end. */
static char *
ev_put_i64(char *p, int64_t v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "93949596979899";
    char tmp[20], *t = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t k;

    while (u >= 100) {
        const char *d = &pairs[(u % 100) * 2];
        u /= 100;
        *--t = d[1];
        *--t = d[0];
    }
    if (u >= 10) {
        *--t = pairs[u * 2 + 1];
        *--t = pairs[u * 2];
    } else {
        *--t = (char)('0' + u);
    }
    if (v < 0)
        *p++ = '-';
    k = (size_t)(tmp + sizeof(tmp) - t);
    memcpy(p, t, k);
    return p + k;
}

/* Copies the n bytes of a string literal at p; returns the end. */
#define EV_PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

char *
ev_ilist_json_text(const ev_ilist *l, const char *head, const char *tail, size_t *len)
{
    size_t hn = strlen(head), tn = strlen(tail), cap;
    char *out, *p;

    if (l->n > (SIZE_MAX - hn - tn - 3) / EV_INST_TEXT_MAX)
        return NULL;
    cap = hn + tn + 3 + l->n * EV_INST_TEXT_MAX;
    if ((out = malloc(cap)) == NULL)
        return NULL;
    memcpy(out, head, hn);
    p = out + hn;
    *p++ = '[';
    /* Each instance is at most EV_INST_TEXT_MAX bytes, so the buffer cannot overflow. */
    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            *p++ = ',';
        p = EV_PUT_LIT(p, "{\"startTs\":");
        p = ev_put_i64(p, l->v[i].start);
        p = EV_PUT_LIT(p, ",\"endTs\":");
        p = ev_put_i64(p, l->v[i].end);
        if (l->v[i].busy)
            p = EV_PUT_LIT(p, ",\"busy\":true}");
        else
            p = EV_PUT_LIT(p, ",\"busy\":false}");
    }
    *p++ = ']';
    memcpy(p, tail, tn + 1);
    *len = (size_t)(p - out) + tn;
    return out;
}

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
