/* events: lists of event instances {startTs, endTs, busy} and the merge used
 * by free/busy. Pure code, no host needed.
 */
#ifndef EV_INTERVALS_H
#define EV_INTERVALS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct ev_inst {
    int64_t start, end; /* milliseconds since the epoch */
    int busy;
} ev_inst;

/* A growable array of instances; zero-initialise it. Owns `v`. */
typedef struct ev_ilist {
    ev_inst *v;
    size_t n, cap;
} ev_ilist;

/* Appends one instance. 0, or -1 when out of memory (the list is unchanged). */
int ev_ilist_push(ev_ilist *l, int64_t start, int64_t end, int busy);

/* Frees the array and empties the list; NULL is fine. */
void ev_ilist_free(ev_ilist *l);

/* Sorts by start, then end, then busy flag. */
void ev_ilist_sort(ev_ilist *l);

/* Merge, in place: sorts, then folds instances of the same busy flag that overlap or touch
 * (a.start <= b.end && a.end >= b.start) into one spanning [min start, max end]. Each flag is
 * merged on its own, so the result is sorted by start and non-overlapping per flag. 0, or -1
 * when out of memory (the list is then only sorted). */
int ev_ilist_merge(ev_ilist *l);

/* Subtract, in place: removes from `free_l` (merged) every part covered by an interval of
 * `busy_l` (merged); a busy interval that only touches a free one at an end point does not
 * shorten it. The result is sorted, non-overlapping, busy = 0. 0, or -1 when out of
 * memory. */
int ev_ilist_subtract(ev_ilist *free_l, const ev_ilist *busy_l);

/* The instances as a JSON array of {"startTs", "endTs", "busy"}; a new reference, NULL when
 * out of memory. */
json_t *ev_ilist_json(const ev_ilist *l);

/* The same array as ev_ilist_json() as compact JSON text (what json_dumpb(JSON_COMPACT) writes
 * of it), between `head` and `tail`, without building a jansson tree: one allocation and one
 * formatted write per instance. Returns a malloc'd NUL-terminated string (the caller frees it)
 * and its length in *len, or NULL when out of memory. */
char *ev_ilist_json_text(const ev_ilist *l, const char *head, const char *tail, size_t *len);

#endif /* EV_INTERVALS_H */
