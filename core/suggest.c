/* Edit distance for "did you mean" suggestions in configuration errors. */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

#define SUGGEST_MAX 64

size_t
suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];

    if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
        return SUGGEST_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 &&
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

void
cfg_suggest_init(cfg_suggest *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->dist = SUGGEST_MAX;
}

void
cfg_suggest_offer(cfg_suggest *s, const char *candidate)
{
    size_t len = strlen(s->word), limit = len / 3 > 2 ? len / 3 : 2, d;

    if (candidate == NULL || strcmp(candidate, s->word) == 0)
        return;
    d = suggest_distance(s->word, candidate);
    if (d <= limit && d < s->dist) {
        s->best = candidate;
        s->dist = d;
    }
}
