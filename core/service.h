/* Named services: (kind, name, version) -> ops table + state, provided by plugins at init and
 * looked up from start on. Registration happens on the main thread before workers start;
 * afterwards the table is read-only.
 */
#ifndef NETTU_SERVICE_H
#define NETTU_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include <nettu/plugin.h>

/* Registers a service; ops and state are kept by pointer, strings copied. NT_ECONFLICT when
 * (kind, name) is taken, NT_EINVAL when ops is NULL or its size field is 0. */
int service_provide(nt_plugin *p, const char *kind, const char *name, uint32_t version,
                    const void *ops, void *state);

/* Finds a service of `kind` with at least `version`. name NULL: the only one of that kind
 * (NULL when there are several or none). Returns ops and sets *state. */
const void *service_lookup(const char *kind, const char *name, uint32_t version, void **state);

/* Calls fn for every service of `kind` with at least `version`, in registration order. */
void service_foreach(const char *kind, uint32_t version,
                     void (*fn)(void *arg, const void *ops, void *state), void *arg);

/* Counts the services of a kind. */
int service_count(const char *kind);

/* Records that plugin p needs a service of `kind` with at least `version` (checked by
 * service_check_needs). NT_EINVAL for a NULL kind, NT_ENOMEM. */
int service_need(nt_plugin *p, const char *kind, uint32_t version);

/* Writes the services of `kind` with at least `version` as "name (plugin), ..." into buf;
 * returns how many there are. */
int service_candidates(const char *kind, uint32_t version, char *buf, size_t n);

/* Calls fn for every declared need whose plugin is still loaded: plugin name, kind,
 * version. */
void service_foreach_need(void (*fn)(void *arg, const char *plugin, const char *kind,
                                     uint32_t version),
                          void *arg);

/* Writes every service as "kind name (plugin)", comma-separated, into buf. */
void service_describe_all(char *buf, size_t n);

/* Drops every service p provided. */
void service_remove_plugin(nt_plugin *p);

/* Drops every service (at shutdown). */
void service_clear(void);

#endif
