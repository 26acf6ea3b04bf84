/* Webhook targets: loopback, private, link-local, multicast and other non-public
 * addresses are refused unless the operator's [webhooks] allow_private lists them. Where a
 * URL is set, its host is resolved (with a time bound) and every address checked
 * (wh_target_check); at each attempt, the sender checks the very address curl is about to
 * connect to (wh_sockaddr_allowed from curl's open-socket callback), so a DNS answer that
 * changes after the URL was set does not help.
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

/* Writes the 16-byte key of a socket address (IPv4 as IPv4-mapped IPv6) and its text.
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

int
wh_sockaddr_allowed(const struct sockaddr *sa, const cidr_list *allow, char *text, size_t cap)
{
    unsigned char key[16];

    if (wh_sockaddr_key(sa, key, text, cap) != 0) {
        snprintf(text, cap, "?");
        return 0;
    }
    return !wh_addr_private(key) || cidr_list_match(allow, key);
}

/* Reads the host (without IPv6 brackets) of url into host, after checking the URL's length,
 * scheme and userinfo. NT_OK, or NT_EINVAL with the reason in err. */
static int
wh_url_host(const char *url, char *host, size_t hostcap, char *err, size_t errlen)
{
    CURLU *u;
    char *h = NULL, *scheme = NULL, *user = NULL, *pass = NULL;
    int rc = NT_EINVAL;
    size_t n;

    if (strlen(url) > WH_URL_MAX) {
        snprintf(err, errlen, "the webhook URL is longer than %d bytes", WH_URL_MAX);
        return NT_EINVAL;
    }
    if (!wh_curl_load()) {
        snprintf(err, errlen, "libcurl cannot be loaded");
        return NT_ERR;
    }
    if ((u = curl_url()) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NT_ENOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
        snprintf(err, errlen, "the webhook URL does not parse");
        goto done;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "the webhook URL's scheme must be http or https");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        snprintf(err, errlen, "the webhook URL must not hold a user name or password");
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
    rc = NT_OK;
done:
    curl_free(h);
    curl_free(scheme);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return rc;
}

/* Checks one address of host; NT_OK or NT_EINVAL with the reason in err. */
static int
wh_check_one(const char *host, const struct sockaddr *sa, const cidr_list *allow, char *err,
             size_t errlen)
{
    char text[INET6_ADDRSTRLEN];

    if (wh_sockaddr_allowed(sa, allow, text, sizeof(text)))
        return NT_OK;
    if (strcmp(host, text) == 0)
        snprintf(err, errlen,
                 "the webhook host %s is a loopback, private, link-local, multicast or "
                 "unspecified address ([webhooks] allow_private does not list it)",
                 text);
    else
        snprintf(err, errlen,
                 "the webhook host '%s' resolves to %s, a loopback, private, link-local, "
                 "multicast or unspecified address ([webhooks] allow_private does not list it)",
                 host, text);
    return NT_EINVAL;
}

int
wh_target_check(const char *url, const cidr_list *allow, int timeout_ms, char *err, size_t errlen)
{
    struct addrinfo *res = NULL;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    char host[256];
    int rc, gai = 0, n = 0;

    if ((rc = wh_url_host(url, host, sizeof(host), err, errlen)) != NT_OK)
        return rc;
    /* An address literal needs no lookup. */
    memset(&in, 0, sizeof(in));
    memset(&in6, 0, sizeof(in6));
    if (inet_pton(AF_INET, host, &in.sin_addr) == 1) {
        in.sin_family = AF_INET;
        return wh_check_one(host, (const struct sockaddr *)&in, allow, err, errlen);
    }
    if (inet_pton(AF_INET6, host, &in6.sin6_addr) == 1) {
        in6.sin6_family = AF_INET6;
        return wh_check_one(host, (const struct sockaddr *)&in6, allow, err, errlen);
    }
    rc = wh_resolve(host, timeout_ms, NULL, &res, &gai);
    if (rc == NT_EINVAL) {
        snprintf(err, errlen, "the webhook host '%s' could not be resolved (%s)", host,
                 gai_strerror(gai));
        return NT_EINVAL;
    }
    if (rc == NT_EUNAVAIL) {
        snprintf(err, errlen, "the webhook host '%s' could not be resolved within %d ms; try again",
                 host, timeout_ms);
        return NT_EUNAVAIL;
    }
    if (rc == NT_ECONFLICT) {
        snprintf(err, errlen,
                 "another webhook host is being resolved; try again in a moment ('%s' was not "
                 "looked up)",
                 host);
        return NT_EUNAVAIL;
    }
    if (rc != NT_OK) {
        snprintf(err, errlen, "cannot resolve the webhook host '%s'", host);
        return rc;
    }
    for (const struct addrinfo *a = res; a != NULL && rc == NT_OK; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
            continue;
        rc = wh_check_one(host, a->ai_addr, allow, err, errlen);
        n++;
    }
    if (rc == NT_OK && n == 0) {
        snprintf(err, errlen, "the webhook host '%s' has no IPv4 or IPv6 address", host);
        rc = NT_EINVAL;
    }
    freeaddrinfo(res);
    return rc;
}
