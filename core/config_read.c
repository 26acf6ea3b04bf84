/* Typed configuration readers beyond integers and booleans: enums, UUIDs, paths and
 * durations, each reporting like cfg_read_int (origin, section, key, what was expected). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suggest.h"

void
cfg_key_verror(cfg *c, const char *section, const char *key, const char *fmt, va_list ap)
{
    char msg[768];
    cfg_value v;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (cfg_lookup(c, section, key, &v))
        cfg_error(c, "%s: [%s] %s: %s", v.origin, section, key, msg);
    else
        cfg_error(c, "%s: [%s] %s: %s", cfg_path(c), section, key, msg);
}

void
cfg_key_error(cfg *c, const char *section, const char *key, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cfg_key_verror(c, section, key, fmt, ap);
    va_end(ap);
}

int
cfg_read_enum(cfg *c, const char *section, const char *key, const char *const *names, int dflt,
              int *out)
{
    char list[512];
    size_t len = 0;
    cfg_suggest sug;
    cfg_value v;
    int n = 0;

    *out = dflt;
    if (!cfg_lookup(c, section, key, &v))
        return NT_OK;
    for (n = 0; names[n] != NULL; n++) {
        if (strcasecmp(v.text, names[n]) == 0) {
            *out = n;
            return NT_OK;
        }
    }
    cfg_suggest_init(&sug, v.text);
    list[0] = '\0';
    for (int i = 0; i < n && len < sizeof(list); i++) {
        cfg_suggest_offer(&sug, names[i]);
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
                                i == 0 ? "" : (i == n - 1 ? " or " : ", "), names[i]);
    }
    cfg_error(c, "%s: [%s] %s: expected %s, got '%s'%s%s%s", v.origin, section, key, list, v.text,
              sug.best != NULL ? " (did you mean " : "", sug.best != NULL ? sug.best : "",
              sug.best != NULL ? "?)" : "");
    return NT_EINVAL;
}

int
cfg_read_uuid(cfg *c, const char *section, const char *key, int required, char *out, int *present)
{
    cfg_value v;
    size_t i;

    out[0] = '\0';
    if (present != NULL)
        *present = 0;
    if (!cfg_lookup(c, section, key, &v) || v.text[0] == '\0') {
        if (!required)
            return NT_OK;
        cfg_error(c, "%s: [%s] %s: required (a UUID such as 0b6a4fd4-1c5e-4c8e-9a57-3f2d2b1f8e01)",
                  cfg_path(c), section, key);
        return NT_EINVAL;
    }
    for (i = 0; v.text[i] != '\0' && i < NT_UUID_LEN; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? v.text[i] != '-' : !isxdigit((unsigned char)v.text[i]))
            break;
    }
    if (i != NT_UUID_LEN || v.text[i] != '\0') {
        cfg_error(c, "%s: [%s] %s: expected a UUID (8-4-4-4-12 hex digits), got '%s'", v.origin,
                  section, key, v.text);
        return NT_EINVAL;
    }
    for (i = 0; i < NT_UUID_LEN; i++)
        out[i] = (char)tolower((unsigned char)v.text[i]);
    out[NT_UUID_LEN] = '\0';
    if (present != NULL)
        *present = 1;
    return NT_OK;
}

/* Writes the absolute form of path (relative ones from the working directory) into out. */
static void
cfg_abs(const char *path, char *out, size_t n)
{
    char cwd[PATH_MAX];

    if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        snprintf(out, n, "%s", path);
    else
        snprintf(out, n, "%s/%s", cwd, path);
}

/* Why the file at path can neither be read (it exists) nor created, or NULL (writes into why). */
static const char *
cfg_path_creatable(const char *path, char *why, size_t n)
{
    char dir[PATH_MAX];
    struct stat st;
    char *slash;

    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return snprintf(why, n, "is a directory, not a file"), why;
        /* A read-only database is served (reads answer, writes 503): readable suffices. */
        if (access(path, R_OK) != 0)
            return snprintf(why, n, "cannot be read: %s", strerror(errno)), why;
        return NULL;
    }
    if (errno != ENOENT && errno != ENOTDIR)
        return snprintf(why, n, "%s", strerror(errno)), why;
    snprintf(dir, sizeof(dir), "%s", path);
    for (;;) {
        slash = strrchr(dir, '/');
        if (slash == NULL)
            snprintf(dir, sizeof(dir), ".");
        else if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
        if (stat(dir, &st) == 0)
            break;
        if (errno != ENOENT && errno != ENOTDIR)
            return snprintf(why, n, "directory %s: %s", dir, strerror(errno)), why;
        if (slash == NULL || slash == dir)
            return snprintf(why, n, "no existing directory on its path"), why;
    }
    if (!S_ISDIR(st.st_mode))
        return snprintf(why, n, "%s is not a directory, so nothing can be created under it", dir),
               why;
    if (access(dir, W_OK | X_OK) != 0)
        return snprintf(why, n, "directory %s is not writable by this user: %s", dir,
                        strerror(errno)),
               why;
    return NULL;
}

int
cfg_read_path(cfg *c, const char *section, const char *key, const char *dflt, int flags,
              const char **out)
{
    char abs[PATH_MAX + 64], why[PATH_MAX + 160];
    const char *bad = NULL, *origin;
    struct stat st;
    cfg_value v;
    int given = cfg_lookup(c, section, key, &v);

    *out = given ? v.text : dflt;
    origin = given ? v.origin : cfg_path(c);
    if (*out == NULL || (*out)[0] == '\0') {
        *out = NULL;
        if (!(flags & NT_CFG_PATH_REQUIRED))
            return NT_OK;
        cfg_error(c, "%s: [%s] %s: required (a path)", origin, section, key);
        return NT_EINVAL;
    }
    cfg_abs(*out, abs, sizeof(abs));
    if (flags & (NT_CFG_PATH_FILE | NT_CFG_PATH_DIR)) {
        if (stat(*out, &st) != 0)
            bad = strerror(errno);
        else if ((flags & NT_CFG_PATH_FILE) && !S_ISREG(st.st_mode))
            bad = "not a regular file";
        else if ((flags & NT_CFG_PATH_DIR) && !S_ISDIR(st.st_mode))
            bad = "not a directory";
        else if ((flags & NT_CFG_PATH_FILE) && access(*out, R_OK) != 0)
            bad = "not readable by this user";
    } else if (flags & NT_CFG_PATH_CREATE) {
        bad = cfg_path_creatable(*out, why, sizeof(why));
    }
    if (bad == NULL)
        return NT_OK;
    cfg_error(c, "%s: [%s] %s: %s: %s (expected %s)", origin, section, key, abs, bad,
              (flags & NT_CFG_PATH_FILE)  ? "a readable file"
              : (flags & NT_CFG_PATH_DIR) ? "a directory"
                                          : "a file this user can read or create");
    return NT_EINVAL;
}

int
cfg_read_duration(cfg *c, const char *section, const char *key, long long dflt_ms, long long min_ms,
                  long long max_ms, long long *out)
{
    static const struct {
        const char *unit;
        long long ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"", 1}};
    cfg_value v;
    char *end = NULL;
    long long n;

    *out = dflt_ms;
    if (!cfg_lookup(c, section, key, &v))
        return NT_OK;
    errno = 0;
    n = strtoll(v.text, &end, 10);
    if (errno == 0 && end != v.text && n >= 0 && isdigit((unsigned char)v.text[0])) {
        while (*end == ' ')
            end++;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strcmp(end, units[i].unit) != 0)
                continue;
            if (n > LLONG_MAX / units[i].ms)
                break;
            n *= units[i].ms;
            if (n < min_ms || n > max_ms)
                break;
            *out = n;
            return NT_OK;
        }
    }
    cfg_error(c,
              "%s: [%s] %s: expected a duration from %lld ms to %lld ms (a number with ms, s, m, "
              "h or d, e.g. 30s; a bare number is milliseconds), got '%s'",
              v.origin, section, key, min_ms, max_ms, v.text);
    return NT_EINVAL;
}
