/* The fake host's header is installed with the plugin SDK: include/nettu/fakehost.h. This
 * file keeps `#include "fakehost.h"` of the tests working. */
#include <nettu/fakehost.h>
