/* libcurl, opened at the first delivery instead of linked: linking it maps libcurl and the
 * 26 libraries under it (GnuTLS, Kerberos, LDAP, ...) into every server at start, about
 * 7 MiB of resident memory, twice an idle server, whether or not a webhook is ever sent.
 * The functions used are looked up once (wh_curl_load) and called through wh_curl_fn under
 * their own names (the macros below).
 */
#ifndef WH_CURL_H
#define WH_CURL_H

#define CURL_DISABLE_TYPECHECK /* the names below are macros of ours, not curl's checks */
#include <curl/curl.h>

typedef struct wh_curl_fn {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
    void (*url_cleanup)(CURLU *);
    void (*free)(void *);
    curl_version_info_data *(*version_info)(CURLversion);
} wh_curl_fn;

/* The table, filled by wh_curl_load (read it only after that returned 1). */
extern wh_curl_fn wh_curl;

/* Opens libcurl and runs curl_global_init, once per process (thread-safe); later calls
 * return the first one's result: 1 when every function was found and initialised, else 0.
 * The library stays loaded for the life of the process (its global state is not undone). */
int wh_curl_load(void);

/* curl.h defines these four as function-like macros (to check the argument count). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#undef curl_share_setopt

#define curl_global_init wh_curl.global_init
#define curl_easy_init wh_curl.easy_init
#define curl_easy_setopt wh_curl.easy_setopt
#define curl_easy_getinfo wh_curl.easy_getinfo
#define curl_easy_cleanup wh_curl.easy_cleanup
#define curl_easy_strerror wh_curl.easy_strerror
#define curl_multi_init wh_curl.multi_init
#define curl_multi_setopt wh_curl.multi_setopt
#define curl_multi_add_handle wh_curl.multi_add_handle
#define curl_multi_remove_handle wh_curl.multi_remove_handle
#define curl_multi_assign wh_curl.multi_assign
#define curl_multi_socket_action wh_curl.multi_socket_action
#define curl_multi_info_read wh_curl.multi_info_read
#define curl_multi_cleanup wh_curl.multi_cleanup
#define curl_slist_append wh_curl.slist_append
#define curl_slist_free_all wh_curl.slist_free_all
#define curl_url wh_curl.url
#define curl_url_set wh_curl.url_set
#define curl_url_get wh_curl.url_get
#define curl_url_cleanup wh_curl.url_cleanup
#define curl_free wh_curl.free
#define curl_version_info wh_curl.version_info

#endif
