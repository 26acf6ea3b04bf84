/* Webhook targets: the host of a webhook URL is resolved at each attempt and every
 * address it resolves to is checked; loopback, private, link-local, multicast and other
 * non-public ranges are refused unless the operator's [webhooks] allow_private lists them.
 * The attempt then connects to the address that was checked (curl's resolve pin), so a DNS
 * answer that changes between the check and the connection does not help.
 */
#include "wh.h"
#include "wh_curl.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Ranges that are not public unicast: "this network", RFC 1918, shared (CGNAT), loopback,
 * link-local, IETF protocol assignments, benchmarking, multicast, reserved and broadcast;
 * IPv6 unspecified, loopback, unique-local, link-local, multicast, and NAT64 (which would
 * reach any IPv4 address). */
static const char wh_private_ranges[] =
    "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, "
    "192.0.0.0/24, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/4, 240.0.0.0/4, "
    "::/128, ::1/128, fc00::/7, fe80::/10, ff00::/8, 64:ff9b::/96";

static cidr_list wh_private;
static int wh_private_ok;
static pthread_once_t wh_private_once = PTHREAD_ONCE_INIT;

static void
wh_private_parse(void)
{
    char err[64];

    wh_private_ok = cidr_list_parse(wh_private_ranges, &wh_private, err, sizeof(err)) == 0;
}

int
wh_addr_private(const unsigned char addr[16])
{
    pthread_once(&wh_private_once, wh_private_parse);
    /* A list that failed to parse refuses everything rather than nothing. */
    return !wh_private_ok || cidr_list_match(&wh_private, addr);
}

/* Writes the 16-byte key of a resolved address (IPv4 as IPv4-mapped IPv6) and its text.
 * 0, or -1 for another family. */
static int
wh_sockaddr_key(const struct sockaddr *sa, unsigned char key[16], char *text, size_t cap)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
        return inet_ntop(AF_INET, &in->sin_addr, text, (socklen_t)cap) != NULL ? 0 : -1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(key, &in6->sin6_addr, 16);
        return inet_ntop(AF_INET6, &in6->sin6_addr, text, (socklen_t)cap) != NULL ? 0 : -1;
    }
    return -1;
}

/* Reads host (without IPv6 brackets) and port (the scheme's default when absent) of url. */
static int
wh_url_host(const char *url, char *host, size_t hostcap, long *port, char *err, size_t errlen)
{
    CURLU *u;
    char *h = NULL, *p = NULL;
    int rc = NT_EINVAL;
    size_t n;

    if (!wh_curl_load()) {
        snprintf(err, errlen, "libcurl cannot be loaded");
        return NT_ERR;
    }
    if ((u = curl_url()) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NT_ENOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "the webhook URL does not parse");
        goto done;
    }
    n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h[n - 1] = '\0';
        memmove(h, h + 1, n - 1);
        n -= 2;
    }
    if (n == 0 || n >= hostcap) {
        snprintf(err, errlen, "the webhook URL's host is empty or too long");
        goto done;
    }
    memcpy(host, h, n + 1);
    *port = strtol(p, NULL, 10);
    rc = NT_OK;
done:
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

int
wh_target_check(const char *url, const cidr_list *allow, char *pin, size_t pincap, char *err,
                size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char host[256], text[INET6_ADDRSTRLEN], first[INET6_ADDRSTRLEN + 2] = "";
    unsigned char key[16];
    long port = 0;
    int rc, n;

    if ((rc = wh_url_host(url, host, sizeof(host), &port, err, errlen)) != NT_OK)
        return rc;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((n = getaddrinfo(host, NULL, &hints, &res)) != 0) {
        snprintf(err, errlen, "the webhook host '%s' does not resolve (%s)", host, gai_strerror(n));
        return NT_EINVAL;
    }
    rc = NT_EINVAL;
    snprintf(err, errlen, "the webhook host '%s' has no IPv4 or IPv6 address", host);
    for (const struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        if (wh_sockaddr_key(a->ai_addr, key, text, sizeof(text)) != 0)
            continue;
        if (wh_addr_private(key) && !cidr_list_match(allow, key)) {
            snprintf(err, errlen,
                     "the webhook host '%s' resolves to %s, a loopback, private, link-local or "
                     "multicast address ([webhooks] allow_private does not list it)",
                     host, text);
            rc = NT_EINVAL;
            goto done;
        }
        if (first[0] == '\0')
            snprintf(first, sizeof(first), a->ai_family == AF_INET6 ? "[%s]" : "%s", text);
        rc = NT_OK;
    }
    if (rc == NT_OK && (inet_pton(AF_INET, host, key) == 1 || inet_pton(AF_INET6, host, key) == 1))
        pin[0] = '\0'; /* an address literal: curl resolves nothing */
    else if (rc == NT_OK) {
        n = snprintf(pin, pincap, "%s:%ld:%s", host, port, first);
        if (n <= 0 || (size_t)n >= pincap) {
            snprintf(err, errlen, "the webhook host is too long");
            rc = NT_EINVAL;
        }
    }
done:
    freeaddrinfo(res);
    return rc;
}
