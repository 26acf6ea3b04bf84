/* Address ranges. */
#include "cidr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

int
cidr_addr_parse(const char *text, unsigned char out[16])
{
    struct in_addr a4;

    if (inet_pton(AF_INET, text, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, text, out) == 1 ? 0 : -1;
}

/* Parses one "address[/bits]" of n bytes. */
static int
cidr_parse_one(const char *s, size_t n, cidr *c, char *err, size_t errlen)
{
    char text[64], *slash, *end;
    long bits;

    if (n == 0 || n >= sizeof(text)) {
        snprintf(err, errlen, "'%.*s' is not an address or a range", (int)(n < 60 ? n : 60), s);
        return -1;
    }
    memcpy(text, s, n);
    text[n] = '\0';
    slash = strchr(text, '/');
    if (slash != NULL)
        *slash = '\0';
    if (cidr_addr_parse(text, c->addr) != 0) {
        snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", text);
        return -1;
    }
    c->bits = 128;
    if (slash != NULL) {
        int v4 = strchr(text, ':') == NULL;
        bits = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits < 0 ||
            bits > (v4 ? 32 : 128)) {
            snprintf(err, errlen, "'%s/%s': the prefix length must be 0..%d", text, slash + 1,
                     v4 ? 32 : 128);
            return -1;
        }
        c->bits = (int)bits + (v4 ? 96 : 0);
    }
    /* Clear the host bits so matching compares whole bytes. */
    for (int i = 0; i < 16; i++) {
        int keep = c->bits - i * 8;
        if (keep <= 0)
            c->addr[i] = 0;
        else if (keep < 8)
            c->addr[i] &= (unsigned char)(0xff << (8 - keep));
    }
    return 0;
}

int
cidr_list_parse(const char *text, cidr_list *out, char *err, size_t errlen)
{
    out->n = 0;
    for (const char *p = text; *p != '\0';) {
        size_t n;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        n = strcspn(p, ", \t");
        if (out->n == CIDR_MAX) {
            snprintf(err, errlen, "more than %d ranges", CIDR_MAX);
            return -1;
        }
        if (cidr_parse_one(p, n, &out->v[out->n], err, errlen) != 0)
            return -1;
        out->n++;
        p += n;
    }
    return 0;
}

int
cidr_list_match(const cidr_list *l, const unsigned char addr[16])
{
    for (int i = 0; i < l->n; i++) {
        const cidr *c = &l->v[i];
        int full = c->bits / 8, rest = c->bits % 8;
        if (memcmp(addr, c->addr, (size_t)full) != 0)
            continue;
        if (rest != 0 && (addr[full] & (unsigned char)(0xff << (8 - rest))) != c->addr[full])
            continue;
        return 1;
    }
    return 0;
}
