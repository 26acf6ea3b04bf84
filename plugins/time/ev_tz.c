/* Time zones from the system tz database: a TZif reader (RFC 8536, version 1 to 4 files,
 * with the POSIX TZ footer that governs times after the last transition), UTC offsets,
 * RFC 5545 local-to-UTC resolution, and a process-wide cache of loaded zones.
 *
 * Offsets follow glibc's reading of the same files: before the first transition the first
 * standard-time type applies; from the last transition on, the footer's rule.
 */
#include "ev_time.h"
#include "ntc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TZ_FILE_MAX (1 << 20) /* real TZif files are a few KiB */

/* One rule of a POSIX TZ string: Jn (kind 'J'), n (kind 'D') or Mm.w.d (kind 'M'). */
typedef struct tz_rule {
    char kind;
    int a, b, c;  /* J: a = n; D: a = n; M: a = month, b = week, c = weekday (0 = Sunday) */
    int32_t time; /* local time of day of the change, seconds (may be < 0 or > 24 h) */
} tz_rule;

struct ev_tz {
    char *name;
    int64_t *trans; /* transition instants, ascending */
    int32_t *after; /* offset in force from trans[i] on */
    size_t n;
    int32_t before; /* offset before the first transition */
    int footer;     /* 0 none, 1 fixed offset (std_off), 2 daylight rules */
    int32_t std_off, dst_off;
    tz_rule start, end; /* footer == 2: to daylight time, back to standard time */
    struct ev_tz *next; /* cache chain */
};

#define TZ_SPAN_S (30 * 3600) /* more than any UTC offset */

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;
static ev_tz *tz_cache;

void
ev_tz_free(ev_tz *tz)
{
    if (tz == NULL)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->after);
    free(tz);
}

/* ---- POSIX TZ footer ------------------------------------------------------------------- */

/* Skips a zone abbreviation: "<...>" or three or more letters. NULL when malformed. */
static const char *
tz_skip_name(const char *p)
{
    const char *s = p;

    if (*p == '<') {
        p = strchr(p, '>');
        return p != NULL ? p + 1 : NULL;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* Parses [+-]hh[:mm[:ss]] with hours 0..167 into seconds. NULL when malformed. */
static const char *
tz_parse_hms(const char *p, int32_t *out)
{
    int sign = 1, part[3] = {0, 0, 0}, i = 0;

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    for (;;) {
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            part[i] = part[i] * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0)
            return NULL;
        if (++i == 3 || *p != ':')
            break;
        p++;
    }
    if (part[0] > 167 || part[1] > 59 || part[2] > 59)
        return NULL;
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return p;
}

/* Parses a non-negative decimal number into *out. NULL when there is none. */
static const char *
tz_parse_num(const char *p, int *out)
{
    int v = 0, digits = 0;

    while (*p >= '0' && *p <= '9' && digits < 4) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0)
        return NULL;
    *out = v;
    return p;
}

/* Parses one ",rule[/time]" element. NULL when malformed. */
static const char *
tz_parse_rule(const char *p, tz_rule *r)
{
    if (*p++ != ',')
        return NULL;
    memset(r, 0, sizeof(*r));
    r->time = 2 * 3600;
    if (*p == 'J') {
        r->kind = 'J';
        p = tz_parse_num(p + 1, &r->a);
        if (p == NULL || r->a < 1 || r->a > 365)
            return NULL;
    } else if (*p == 'M') {
        r->kind = 'M';
        p = tz_parse_num(p + 1, &r->a);
        if (p == NULL || *p++ != '.')
            return NULL;
        p = tz_parse_num(p, &r->b);
        if (p == NULL || *p++ != '.')
            return NULL;
        p = tz_parse_num(p, &r->c);
        if (p == NULL || r->a < 1 || r->a > 12 || r->b < 1 || r->b > 5 || r->c > 6)
            return NULL;
    } else {
        r->kind = 'D';
        p = tz_parse_num(p, &r->a);
        if (p == NULL || r->a > 365)
            return NULL;
    }
    if (*p == '/')
        p = tz_parse_hms(p + 1, &r->time);
    return p;
}

/* Reads the footer string (without its newlines) into tz. A footer that cannot be read is
 * ignored (the transition table alone is used), as glibc does. */
static void
tz_parse_footer(ev_tz *tz, const char *s)
{
    const char *p = tz_skip_name(s);
    int32_t v;

    tz->footer = 0;
    if (p == NULL || (p = tz_parse_hms(p, &v)) == NULL)
        return;
    tz->std_off = -v;
    if (*p == '\0') {
        tz->footer = 1;
        return;
    }
    p = tz_skip_name(p);
    if (p == NULL)
        return;
    tz->dst_off = tz->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        p = tz_parse_hms(p, &v);
        if (p == NULL)
            return;
        tz->dst_off = -v;
    }
    /* A daylight name without rules would mean POSIX's implementation-defined default;
     * zic never writes one, so such a footer is ignored. */
    if (*p != ',' || (p = tz_parse_rule(p, &tz->start)) == NULL ||
        (p = tz_parse_rule(p, &tz->end)) == NULL || *p != '\0')
        return;
    tz->footer = 2;
}

/* Local seconds of the change described by r in year y. */
static int64_t
tz_rule_local(const tz_rule *r, int64_t y)
{
    int64_t jan1 = ev_days_from_civil(y, 1, 1), day;

    if (r->kind == 'J') {
        day = jan1 + r->a - 1 + (ev_is_leap(y) && r->a >= 60 ? 1 : 0);
    } else if (r->kind == 'D') {
        day = jan1 + r->a;
    } else {
        int64_t first = ev_days_from_civil(y, r->a, 1);
        int want = (r->c + 6) % 7; /* POSIX 0 = Sunday; ours 0 = Monday */
        int dim = ev_days_in_month(y, r->a);
        day = first + (want - ev_weekday(first) + 7) % 7 + (int64_t)(r->b - 1) * 7;
        while (day >= first + dim)
            day -= 7;
    }
    return day * EV_DAY_S + r->time;
}

/* The footer's changes in year y as instants: [0] to daylight time, [1] to standard. */
static void
tz_rule_year(const ev_tz *tz, int64_t y, int64_t out[2])
{
    out[0] = tz_rule_local(&tz->start, y) - tz->std_off;
    out[1] = tz_rule_local(&tz->end, y) - tz->dst_off;
}

/* The year (UTC) of instant t. */
static int64_t
tz_year_of(int64_t t)
{
    int64_t y;
    int m, d;

    ev_civil_from_days(ev_floor_div(t, EV_DAY_S), &y, &m, &d);
    return y;
}

/* The footer rule's offset at t: that of the latest change at or before t (a change to
 * daylight time wins a tie, so "all year daylight" rules stay in daylight time). */
static int32_t
tz_rule_offset(const ev_tz *tz, int64_t t)
{
    int64_t y0 = tz_year_of(t), best = INT64_MIN, ch[2];
    int32_t off = tz->std_off;

    for (int64_t y = y0 - 1; y <= y0 + 1; y++) {
        tz_rule_year(tz, y, ch);
        if (ch[1] <= t && ch[1] > best) {
            best = ch[1];
            off = tz->std_off;
        }
        if (ch[0] <= t && ch[0] >= best) {
            best = ch[0];
            off = tz->dst_off;
        }
    }
    return off;
}

/* ---- offsets and transitions ----------------------------------------------------------- */

int
ev_tz_offset(const ev_tz *tz, int64_t t)
{
    size_t lo, hi;

    if (tz->n == 0 || t < tz->trans[0])
        return tz->before;
    if (t >= tz->trans[tz->n - 1]) {
        if (tz->footer == 2)
            return tz_rule_offset(tz, t);
        if (tz->footer == 1)
            return tz->std_off;
        return tz->after[tz->n - 1];
    }
    lo = 0;
    hi = tz->n - 1; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->after[lo];
}

/* The first transition instant after t into *next; 0 when there is none, else 1. */
static int
tz_next_change(const ev_tz *tz, int64_t t, int64_t *next)
{
    if (tz->n == 0)
        return 0;
    if (t < tz->trans[tz->n - 1]) {
        size_t lo = 0, hi = tz->n - 1;
        if (t < tz->trans[0]) {
            *next = tz->trans[0];
            return 1;
        }
        while (hi - lo > 1) { /* trans[lo] <= t < trans[hi] */
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        *next = tz->trans[hi];
        return 1;
    }
    if (tz->footer != 2)
        return 0;
    {
        int64_t y0 = tz_year_of(t), best = INT64_MAX, ch[2];
        for (int64_t y = y0 - 1; y <= y0 + 2; y++) {
            tz_rule_year(tz, y, ch);
            for (int i = 0; i < 2; i++)
                if (ch[i] > t && ch[i] < best)
                    best = ch[i];
        }
        *next = best;
        return best != INT64_MAX;
    }
}

int64_t
ev_tz_local_to_utc(const ev_tz *tz, int64_t local)
{
    /* Walk the pieces of constant offset from well before the answer; in each piece the
     * only candidate is local - offset. The first piece that holds its candidate gives the
     * first occurrence; a candidate that falls before its piece's start means the local
     * time was skipped, and is then read with the previous piece's offset. */
    int64_t seg = ev_sat_add(local, -TZ_SPAN_S), end = ev_sat_add(local, TZ_SPAN_S);
    int32_t off = ev_tz_offset(tz, seg), prev = off;

    for (int i = 0; i < 64; i++) {
        int64_t next = INT64_MAX, cand = local - off;
        if (!tz_next_change(tz, seg, &next))
            next = INT64_MAX;
        if (i > 0 && cand < seg)
            return local - prev;
        if (cand < next || next > end)
            return cand;
        prev = off;
        seg = next;
        off = ev_tz_offset(tz, seg);
    }
    return local - off;
}

/* The last transition at or before t into *prev (INT64_MIN when none is known). */
static int64_t
tz_prev_change(const ev_tz *tz, int64_t t)
{
    if (tz->n == 0 || t < tz->trans[0])
        return INT64_MIN;
    if (t >= tz->trans[tz->n - 1] && tz->footer == 2) {
        int64_t y0 = tz_year_of(t), best = tz->trans[tz->n - 1], ch[2];
        for (int64_t y = y0 - 2; y <= y0 + 1; y++) {
            tz_rule_year(tz, y, ch);
            for (int i = 0; i < 2; i++)
                if (ch[i] <= t && ch[i] > best)
                    best = ch[i];
        }
        return best;
    }
    if (t >= tz->trans[tz->n - 1])
        return tz->trans[tz->n - 1];
    {
        size_t lo = 0, hi = tz->n - 1; /* trans[lo] <= t < trans[hi] */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->trans[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        return tz->trans[lo];
    }
}

int64_t
ev_tz_local_to_utc_span(const ev_tz *tz, int64_t local, ev_tz_span *span)
{
    int64_t lo = ev_sat_add(local, -TZ_SPAN_S), hi = ev_sat_add(local, TZ_SPAN_S), next;

    /* Every candidate instant lies within TZ_SPAN_S of local: when that whole range has one
     * offset there is neither gap nor overlap. */
    if (span->valid && lo >= span->lo && hi < span->hi)
        return local - span->off;
    span->valid = 0;
    span->lo = tz_prev_change(tz, lo);
    span->off = ev_tz_offset(tz, lo);
    if (!tz_next_change(tz, lo, &next))
        next = INT64_MAX;
    span->hi = next;
    span->valid = 1;
    if (hi < span->hi)
        return local - span->off;
    return ev_tz_local_to_utc(tz, local);
}

int64_t
ev_tz_utc_to_local(const ev_tz *tz, int64_t utc)
{
    return ev_sat_add(utc, ev_tz_offset(tz, utc));
}

/* ---- TZif files ------------------------------------------------------------------------ */

static uint32_t
tz_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
tz_be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

/* Reads the whole file into a malloc'd buffer. NT-style: 0 or -1. */
static int
tz_read_file(const char *path, unsigned char **buf, size_t *len)
{
    unsigned char *b = NULL;
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

    if (fd < 0)
        return -1;
    b = malloc(TZ_FILE_MAX);
    if (b == NULL)
        goto out;
    for (;;) {
        ssize_t r = read(fd, b + n, TZ_FILE_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == TZ_FILE_MAX)
            goto out;
    }
    *buf = b;
    *len = n;
    b = NULL;
    rc = 0;
out:
    free(b);
    close(fd);
    return rc;
}

/* The six counts of a TZif header. */
typedef struct tz_head {
    uint32_t isut, isstd, leap, time, type, chars;
} tz_head;

static int
tz_head_read(const unsigned char *p, size_t avail, tz_head *h)
{
    if (avail < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    h->isut = tz_be32(p + 20);
    h->isstd = tz_be32(p + 24);
    h->leap = tz_be32(p + 28);
    h->time = tz_be32(p + 32);
    h->type = tz_be32(p + 36);
    h->chars = tz_be32(p + 40);
    if (h->type == 0 || h->type > 256 || h->time > 100000 || h->chars > 100000 ||
        h->leap > 100000 || h->isut > 256 || h->isstd > 256)
        return -1;
    return 0;
}

/* The size of a data block with `tsize`-byte times. */
static size_t
tz_block_size(const tz_head *h, size_t tsize)
{
    return (size_t)h->time * tsize + h->time + (size_t)h->type * 6 + h->chars +
           (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

/* Fills tz from the data block at p (times of tsize bytes). 0 or -1. */
static int
tz_block_read(ev_tz *tz, const tz_head *h, const unsigned char *p, size_t tsize)
{
    const unsigned char *idx = p + (size_t)h->time * tsize;
    const unsigned char *types = idx + h->time;
    uint32_t first_std = h->type;

    tz->n = h->time;
    if (tz->n > 0) {
        tz->trans = malloc(tz->n * sizeof(*tz->trans));
        tz->after = malloc(tz->n * sizeof(*tz->after));
        if (tz->trans == NULL || tz->after == NULL)
            return -1;
    }
    for (size_t i = 0; i < tz->n; i++) {
        unsigned ti = idx[i];
        if (ti >= h->type)
            return -1;
        tz->trans[i] = tsize == 8 ? tz_be64(p + i * 8) : (int32_t)tz_be32(p + i * 4);
        tz->after[i] = (int32_t)tz_be32(types + ti * 6);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return -1;
    }
    for (uint32_t i = 0; i < h->type && first_std == h->type; i++)
        if (types[i * 6 + 4] == 0)
            first_std = i;
    tz->before = (int32_t)tz_be32(types + (first_std == h->type ? 0 : first_std) * 6);
    return 0;
}

/* Parses a TZif image into tz. 0 or -1. */
static int
tz_parse(ev_tz *tz, const unsigned char *b, size_t len)
{
    tz_head h;
    size_t size1, pos;
    char footer[128];

    if (tz_head_read(b, len, &h) != 0)
        return -1;
    size1 = tz_block_size(&h, 4);
    if (b[4] == 0) /* version 1: 32-bit data only */
        return len >= 44 + size1 ? tz_block_read(tz, &h, b + 44, 4) : -1;
    pos = 44 + size1;
    if (pos > len || tz_head_read(b + pos, len - pos, &h) != 0)
        return -1;
    pos += 44;
    if (len - pos < tz_block_size(&h, 8))
        return -1;
    if (tz_block_read(tz, &h, b + pos, 8) != 0)
        return -1;
    pos += tz_block_size(&h, 8);
    /* Footer: "\n<TZ string>\n". */
    if (pos < len && b[pos] == '\n') {
        size_t n = 0;
        pos++;
        while (pos + n < len && b[pos + n] != '\n' && n < sizeof(footer) - 1)
            n++;
        if (pos + n < len && b[pos + n] == '\n') {
            memcpy(footer, b + pos, n);
            footer[n] = '\0';
            tz_parse_footer(tz, footer);
        }
    }
    return 0;
}

ev_tz *
ev_tz_load(const char *name)
{
    const char *dir = getenv("TZDIR");
    unsigned char *buf = NULL;
    size_t len = 0;
    char path[512];
    ev_tz *tz = NULL;

    if (!ntc_tz_valid(name))
        return NULL;
    if (dir == NULL || *dir == '\0')
        dir = "/usr/share/zoneinfo";
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return NULL;
    if (tz_read_file(path, &buf, &len) != 0)
        return NULL;
    tz = calloc(1, sizeof(*tz));
    if (tz == NULL || (tz->name = strdup(name)) == NULL || tz_parse(tz, buf, len) != 0) {
        ev_tz_free(tz);
        tz = NULL;
    }
    free(buf);
    return tz;
}

const ev_tz *
ev_tz_get(const char *name)
{
    ev_tz *tz;

    if (name == NULL)
        return NULL;
    pthread_mutex_lock(&tz_lock);
    for (tz = tz_cache; tz != NULL; tz = tz->next)
        if (strcmp(tz->name, name) == 0)
            break;
    if (tz == NULL) {
        tz = ev_tz_load(name);
        if (tz != NULL) {
            tz->next = tz_cache;
            tz_cache = tz;
        }
    }
    pthread_mutex_unlock(&tz_lock);
    return tz;
}

void
ev_tz_cache_clear(void)
{
    pthread_mutex_lock(&tz_lock);
    while (tz_cache != NULL) {
        ev_tz *next = tz_cache->next;
        ev_tz_free(tz_cache);
        tz_cache = next;
    }
    pthread_mutex_unlock(&tz_lock);
}
