/* Client addresses and address ranges: "127.0.0.0/8,::1/128" lists and 16-byte address keys
 * (IPv4 as IPv4-mapped IPv6, so one list serves both families). No allocation. Also compiled
 * into plugins that need it (metrics), so it depends on nothing but libc.
 */
#ifndef NETTU_CIDR_H
#define NETTU_CIDR_H

#include <stddef.h>

#define CIDR_MAX 32 /* ranges in one list */

typedef struct cidr {
    unsigned char addr[16];
    int bits; /* prefix length over the 16 bytes (an IPv4 /8 is 104) */
} cidr;

typedef struct cidr_list {
    cidr v[CIDR_MAX];
    int n;
} cidr_list;

/* Parses an IPv4 or IPv6 address ("10.0.0.1", "::1", "::ffff:10.0.0.1") into 16 bytes.
 * 0 on success, -1 otherwise. */
int cidr_addr_parse(const char *text, unsigned char out[16]);

/* Parses a comma-separated list of addresses and ranges ("10.0.0.0/8, ::1/128, 192.0.2.7";
 * spaces allowed; "" is the empty list). 0 on success; -1 with a reason in err otherwise. */
int cidr_list_parse(const char *text, cidr_list *out, char *err, size_t errlen);

/* 1 when addr (16 bytes) lies in one of the list's ranges. */
int cidr_list_match(const cidr_list *l, const unsigned char addr[16]);

#endif
