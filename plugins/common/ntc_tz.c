/* Time-zone name validation against the system tz database (TZDIR or /usr/share/zoneinfo).
 * A name is valid when it names a TZif file there; link names such as "UTC" or "US/Eastern"
 * are files (or symlinks) too, so they pass.
 */
#include "ntc.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Only the characters IANA names use; no absolute paths and no ".." components. */
static int
tz_name_shape_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 64 || name[0] == '/' || name[0] == '.' || name[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '/' || c == '_' || c == '-' || c == '+';
        if (!ok)
            return 0;
        if (c == '/' && name[i + 1] == '/')
            return 0;
    }
    return strstr(name, "..") == NULL;
}

int
ntc_tz_valid(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[512], magic[4];
    int fd, ok = 0;

    if (name == NULL || !tz_name_shape_ok(name))
        return 0;
    /* "posix/" and "right/" are alternative trees, not zone names; "posixrules" neither. */
    if (strncmp(name, "posix/", 6) == 0 || strncmp(name, "right/", 6) == 0 ||
        strcmp(name, "posixrules") == 0 || strcmp(name, "localtime") == 0)
        return 0;
    if (dir == NULL || *dir == '\0')
        dir = "/usr/share/zoneinfo";
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) && memcmp(magic, "TZif", 4) == 0)
        ok = 1;
    close(fd);
    return ok;
}
