/* Compiles the public headers alone (C11, -Wpedantic): they must need nothing else. */
#include <nettu/plugin.h>
#include <nettu/services.h>

int abi_only_marker(void);

int
abi_only_marker(void)
{
    return (int)sizeof(nt_host_api) + (int)sizeof(nt_plugin_desc) + NT_ABI_MAJOR;
}
