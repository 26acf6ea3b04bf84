/* Logging to stderr. Lines are formatted into one buffer and written with one write(2) so
 * lines from different worker threads never interleave.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static nt_log_level log_level = NT_LOG_INFO;
static int log_access_on = 1;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void
log_setup(nt_log_level level, int access_log)
{
    log_level = level;
    log_access_on = access_log;
}

int
log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    for (int i = 0; i < 4; i++)
        if (s != NULL && strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Formats the UTC time as 2026-01-02T03:04:05.678Z into buf. */
static size_t
log_stamp(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    size_t len;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    len += (size_t)snprintf(buf + len, n - len, ".%03ldZ", ts.tv_nsec / 1000000);
    return len;
}

/* Writes the whole buffer, retrying on short writes. */
static void
log_write(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

/* Writes one line labelled with lvl's name (no level check). */
static void log_line(nt_log_level lvl, const char *who, const char *fmt, va_list ap)
    NT_PRINTF(3, 0);
static void
log_line(nt_log_level lvl, const char *who, const char *fmt, va_list ap)
{
    char line[2048];
    size_t len;
    int n;

    len = log_stamp(line, sizeof(line));
    if (who != NULL)
        n = snprintf(line + len, sizeof(line) - len, " %s [%s] ", level_names[lvl], who);
    else
        n = snprintf(line + len, sizeof(line) - len, " %s ", level_names[lvl]);
    if (n > 0)
        len += (size_t)n;
    n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
    if (n > 0)
        len += (size_t)n < sizeof(line) - len - 1 ? (size_t)n : sizeof(line) - len - 2;
    line[len++] = '\n';
    log_write(line, len);
}

void
log_vmsg(nt_log_level lvl, const char *who, const char *fmt, va_list ap)
{
    if (lvl <= log_level)
        log_line(lvl, who, fmt, ap);
}

void
log_always(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(NT_LOG_INFO, NULL, fmt, ap);
    va_end(ap);
}

void
log_msg(nt_log_level lvl, const char *who, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(lvl, who, fmt, ap);
    va_end(ap);
}

/* Appends s to line[*len..cap) with every byte outside printable ASCII (and '\\') written
 * as \xNN, at most max bytes of s; "..." when cut. */
static void
log_escaped(char *line, size_t *len, size_t cap, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = *len, i;

    for (i = 0; i < max && s[i] != '\0' && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            line[o++] = '\\';
            line[o++] = 'x';
            line[o++] = hex[c >> 4];
            line[o++] = hex[c & 15];
        } else {
            line[o++] = (char)c;
        }
    }
    if (s[i] != '\0' && o + 3 < cap) {
        memcpy(line + o, "...", 3);
        o += 3;
    }
    *len = o;
}

void
log_access(const char *method, const char *path, int status, int64_t micros)
{
    char line[1200];
    size_t len;
    int n;

    if (!log_access_on)
        return;
    len = log_stamp(line, sizeof(line));
    memcpy(line + len, " ACCESS ", 8);
    len += 8;
    log_escaped(line, &len, sizeof(line) - 64, method, 24);
    line[len++] = ' ';
    log_escaped(line, &len, sizeof(line) - 64, path, 700);
    n = snprintf(line + len, sizeof(line) - len - 1, " %d %lldus", status, (long long)micros);
    if (n > 0)
        len += (size_t)n < sizeof(line) - len - 1 ? (size_t)n : sizeof(line) - len - 2;
    line[len++] = '\n';
    log_write(line, len);
}
