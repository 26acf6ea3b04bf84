/* Looking functions up in a library opened at its first use (libical, libcurl).
 */
#include "ntc.h"

#include <dlfcn.h>
#include <string.h>

int
ntc_dlsym(void *h, const char *name, void *fn)
{
    void *p = dlsym(h, name);

    if (p == NULL)
        return -1;
    memcpy(fn, &p, sizeof(p)); /* ISO C has no object-to-function pointer conversion */
    return 0;
}
