/* Plugin loading: dlopen, admission of the descriptor, and the lifecycle (init, start, stop,
 * fini). Also defines the host-side objects behind nt_plugin and nt_config.
 */
#ifndef NETTU_LOADER_H
#define NETTU_LOADER_H

#include <stdarg.h>
#include <stddef.h>

#include <nettu/plugin.h>

#include "config.h"

typedef struct loader_migration {
    int version;
    char *sql;
} loader_migration;

struct nt_config {
    cfg *cfg;
    const char *section; /* the plugin's name */
    nt_plugin *plugin;
};

struct nt_plugin {
    char name[65];
    char file[1024];
    void *dl;
    const nt_plugin_desc *desc;
    void *state;
    int inited, started;
    char err[1024]; /* the last init_error message */
    struct nt_config config;
    loader_migration *migs;
    size_t nmigs, migcap;
};

typedef struct loader {
    nt_plugin **plugins;
    int n;
    int failed;              /* plugins of the load list that could not be loaded or inited */
    const char *load_origin; /* where [plugins] load came from ("file:line"), for messages */
    const char *dir_origin;  /* where [plugins] dir came from; NULL when defaulted */
} loader;

#define LOADER_MAX_AVAILABLE 128

/* Fills names (malloc'd; free with loader_available_free) with the plugin names of the
 * `<name>.so` files in dir, sorted; returns how many (at most max). */
size_t loader_available(const char *dir, char **names, size_t max);
void loader_available_free(char **names, size_t n);

/* dlopen()s `file` and admits its descriptor for plugin `name`. On refusal returns NT_EINVAL
 * and writes a message naming the file and, where they matter, both ABI versions. On success
 * *out is a new plugin (free with loader_plugin_free). */
int loader_admit(const char *file, const char *name, nt_plugin **out, char *err, size_t errlen);

/* Frees a plugin that is not inited (or after fini); dlclose()s it. NULL is fine. */
void loader_plugin_free(nt_plugin *p);

/* Loads and inits every plugin of the load list from dir, in order. Errors (with file names)
 * are recorded on c. Returns NT_OK when every plugin is inited. */
int loader_load_all(loader *l, cfg *c, const char *dir, char *const *names, int n);

/* Starts every plugin in load order; stops at the first failure (with a message on stderr). */
int loader_start_all(loader *l);

/* Stops the started plugins in reverse load order. */
void loader_stop_all(loader *l);

/* Stops what is still started, finis inited plugins in reverse order, then unloads them. */
void loader_unload_all(loader *l);

/* Records an init/start error for p (called through the host table). */
void loader_set_error(nt_plugin *p, const char *fmt, va_list ap) NT_PRINTF(2, 0);

#endif
