/* Webhook URL check: an absolute http(s) URL with a host, no userinfo, at most
 * ACCT_URL_MAX bytes. The URL is stored verbatim, so only visible ASCII is taken;
 * clients percent-encode anything else. (Where the host may point is the webhooks plugin's
 * check, nt_webhooks_v1.check_url.)
 */
#include "account.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* 1 when [s, end) is a decimal port <= 65535 or empty (the default port), else 0. */
static int
url_port_valid(const char *s, const char *end)
{
    long v = 0;

    for (; s < end; s++) {
        if (!isdigit((unsigned char)*s))
            return 0;
        v = v * 10 + (*s - '0');
        if (v > 65535)
            return 0;
    }
    return 1;
}

/* 1 when [s, end) is a non-empty registered name or IPv4 address: unreserved characters,
 * sub-delimiters and percent-escapes. */
static int
url_name_valid(const char *s, const char *end)
{
    if (s == end)
        return 0;
    for (; s < end; s++) {
        if (!isalnum((unsigned char)*s) && strchr("-._~%!$&'()*+,;=", *s) == NULL)
            return 0;
    }
    return 1;
}

/* 1 when [s, end) is a non-empty bracketed IPv6 literal body (hex digits, ':' and '.'). */
static int
url_ipv6_valid(const char *s, const char *end)
{
    if (s == end)
        return 0;
    for (; s < end; s++) {
        if (!isxdigit((unsigned char)*s) && *s != ':' && *s != '.')
            return 0;
    }
    return 1;
}

/* 1 when [s, end) is the authority part: host[:port] with a non-empty host (no userinfo). */
static int
url_authority_valid(const char *s, const char *end)
{
    const char *host = s, *colon;

    if (memchr(s, '@', (size_t)(end - s)) != NULL)
        return 0;
    if (host < end && *host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL || !url_ipv6_valid(host + 1, close))
            return 0;
        if (close + 1 == end)
            return 1;
        return close[1] == ':' && url_port_valid(close + 2, end);
    }
    colon = memchr(host, ':', (size_t)(end - host));
    if (colon == NULL)
        return url_name_valid(host, end);
    return url_name_valid(host, colon) && url_port_valid(colon + 1, end);
}

int
acct_url_valid(const char *url)
{
    const char *p, *end;

    if (!acct_visible_ascii(url) || strlen(url) > ACCT_URL_MAX)
        return 0;
    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8;
    else
        return 0;
    end = p + strcspn(p, "/?#");
    return url_authority_valid(p, end);
}
