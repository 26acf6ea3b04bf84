/* Reading time zones from the system tz database: TZif files (RFC 8536, versions 1 to 4) and
 * the POSIX TZ footer that governs times after the last transition. The result is immutable.
 */
#include "ev_tz_impl.h"
#include "ntc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
