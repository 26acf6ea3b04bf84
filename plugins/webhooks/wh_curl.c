/* libcurl opened on first use (see wh_curl.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NODELETE */
#endif
#include "ntc.h"
#include "wh_curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#ifndef NT_LIBCURL_SONAME
#define NT_LIBCURL_SONAME "libcurl.so.4"
#endif

wh_curl_fn wh_curl;
static int wh_curl_ok;
static pthread_once_t wh_curl_once = PTHREAD_ONCE_INIT;

/* Runs once: opens libcurl for the life of the process (RTLD_NODELETE, the handle kept on
 * purpose: its global state and OpenSSL's must not be unmapped under a later user), looks
 * the functions up and initialises it. */
static void
wh_curl_open(void)
{
    static const struct {
        const char *name;
        size_t off;
    } syms[] = {
#define WH_SYM(n, m) {n, offsetof(wh_curl_fn, m)}
        WH_SYM("curl_global_init", global_init),
        WH_SYM("curl_easy_init", easy_init),
        WH_SYM("curl_easy_setopt", easy_setopt),
        WH_SYM("curl_easy_getinfo", easy_getinfo),
        WH_SYM("curl_easy_cleanup", easy_cleanup),
        WH_SYM("curl_easy_strerror", easy_strerror),
        WH_SYM("curl_multi_init", multi_init),
        WH_SYM("curl_multi_setopt", multi_setopt),
        WH_SYM("curl_multi_add_handle", multi_add_handle),
        WH_SYM("curl_multi_remove_handle", multi_remove_handle),
        WH_SYM("curl_multi_assign", multi_assign),
        WH_SYM("curl_multi_socket_action", multi_socket_action),
        WH_SYM("curl_multi_info_read", multi_info_read),
        WH_SYM("curl_multi_cleanup", multi_cleanup),
        WH_SYM("curl_slist_append", slist_append),
        WH_SYM("curl_slist_free_all", slist_free_all),
        WH_SYM("curl_url", url),
        WH_SYM("curl_url_set", url_set),
        WH_SYM("curl_url_get", url_get),
        WH_SYM("curl_url_cleanup", url_cleanup),
        WH_SYM("curl_free", free),
        WH_SYM("curl_version_info", version_info),
#undef WH_SYM
    };
    void *h = dlopen(NT_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

    if (h == NULL)
        return;
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        if (ntc_dlsym(h, syms[i].name, (char *)&wh_curl + syms[i].off) != 0)
            return;
    }
    wh_curl_ok = wh_curl.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int
wh_curl_load(void)
{
    pthread_once(&wh_curl_once, wh_curl_open);
    return wh_curl_ok;
}
