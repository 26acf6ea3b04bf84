/* "Did you mean": picks, among candidate names, the one closest to a misspelt word. */
#ifndef NETTU_SUGGEST_H
#define NETTU_SUGGEST_H

#include <stddef.h>

/* The search state: the word, the best candidate so far (borrowed from the caller) and its
 * distance. */
typedef struct cfg_suggest {
    const char *word;
    const char *best;
    size_t dist;
} cfg_suggest;

void cfg_suggest_init(cfg_suggest *s, const char *word);

/* Offers one candidate: kept when it is close enough to the word (an edit distance, letter
 * case ignored, of at most 2, or a third of the word's length for long words) and closer than
 * the best so far. The candidate must outlive the search. */
void cfg_suggest_offer(cfg_suggest *s, const char *candidate);

/* The edit distance (insertions, deletions, substitutions, adjacent swaps) of a and b,
 * letter case ignored; capped at 64. */
size_t suggest_distance(const char *a, const char *b);

#endif
