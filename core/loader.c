/* Plugin loader. Admission checks the descriptor before anything of the plugin runs:
 * magic, ABI major (equal), ABI minor (not newer than ours), descriptor size (at least a
 * 1.0 descriptor's: a plugin of any older minor loads), name. Plugins
 * are opened RTLD_NOW | RTLD_LOCAL so they cannot see each other, and the host exports no
 * symbols to them.
 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostapi.h"
#include "log.h"
#include "router.h"
#include "service.h"
#include "suggest.h"

/* The size of a 1.0 descriptor: the smallest one this host can read. Frozen: a descriptor
 * grown in a later minor still admits every older plugin. */
#define LOADER_DESC_MIN_SIZE NT_PLUGIN_DESC_SIZE_1_0

void
loader_set_error(nt_plugin *p, const char *fmt, va_list ap)
{
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
}

/* Refuses files others could have replaced: not a regular file, or writable by everyone. */
static int
loader_check_file(const char *file, char *err, size_t errlen)
{
    struct stat st;

    if (stat(file, &st) != 0) {
        snprintf(err, errlen, "%s: plugin file not found", file);
        return NT_EINVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", file);
        return NT_EINVAL;
    }
    if (st.st_mode & S_IWOTH) {
        snprintf(err, errlen, "%s: refused: the file is world-writable", file);
        return NT_EINVAL;
    }
    return NT_OK;
}

int
loader_admit(const char *file, const char *name, nt_plugin **out, char *err, size_t errlen)
{
    typedef const nt_plugin_desc *(*entry_fn)(void);
    nt_plugin *p = NULL;
    void *dl = NULL;
    entry_fn entry;
    const nt_plugin_desc *d;
    int rc = NT_EINVAL;

    *out = NULL;
    if (loader_check_file(file, err, errlen) != NT_OK)
        goto out;
    dl = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        snprintf(err, errlen, "%s: cannot load: %s", file, dlerror());
        goto out;
    }
    *(void **)(&entry) = dlsym(dl, NT_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL) {
        snprintf(err, errlen, "%s: not a nettu plugin: no entry symbol %s", file,
                 NT_PLUGIN_ENTRY_SYMBOL);
        goto out;
    }
    d = entry();
    if (d == NULL) {
        snprintf(err, errlen, "%s: %s returned no descriptor", file, NT_PLUGIN_ENTRY_SYMBOL);
        goto out;
    }
    if (d->magic != NT_ABI_MAGIC) {
        snprintf(err, errlen, "%s: bad descriptor magic 0x%08x (expected 0x%08x)", file,
                 (unsigned)d->magic, (unsigned)NT_ABI_MAGIC);
        goto out;
    }
    if (d->abi_major != NT_ABI_MAJOR) {
        snprintf(err, errlen,
                 "%s: built for plugin ABI %u.%u, this server speaks ABI %u.%u "
                 "(major versions differ; rebuild the plugin)",
                 file, d->abi_major, d->abi_minor, NT_ABI_MAJOR, NT_ABI_MINOR);
        goto out;
    }
    if (d->abi_minor > NT_ABI_MINOR) {
        snprintf(err, errlen,
                 "%s: built for plugin ABI %u.%u, newer than this server's ABI %u.%u "
                 "(upgrade the server)",
                 file, d->abi_major, d->abi_minor, NT_ABI_MAJOR, NT_ABI_MINOR);
        goto out;
    }
    if (d->size < LOADER_DESC_MIN_SIZE) {
        snprintf(err, errlen,
                 "%s: descriptor too short: %u bytes, ABI %u.0 needs at least %zu "
                 "(plugin ABI %u.%u)",
                 file, (unsigned)d->size, NT_ABI_MAJOR, LOADER_DESC_MIN_SIZE, d->abi_major,
                 d->abi_minor);
        goto out;
    }
    if (d->name == NULL || strcmp(d->name, name) != 0) {
        snprintf(err, errlen, "%s: plugin calls itself '%s', expected '%s'", file,
                 d->name != NULL ? d->name : "(null)", name);
        goto out;
    }
    if (d->init == NULL) {
        snprintf(err, errlen, "%s: descriptor has no init function", file);
        goto out;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "%s: out of memory", file);
        rc = NT_ENOMEM;
        goto out;
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->file, sizeof(p->file), "%s", file);
    p->dl = dl;
    p->desc = d;
    *out = p;
    dl = NULL;
    rc = NT_OK;
out:
    if (dl != NULL)
        dlclose(dl);
    return rc;
}

/* Drops what a plugin registered (after a failed init, or at unload). */
static void
loader_drop_registrations(nt_plugin *p)
{
    router_remove_plugin(hostapi_router(), p);
    service_remove_plugin(p);
    for (size_t i = 0; i < p->nmigs; i++)
        free(p->migs[i].sql);
    free(p->migs);
    p->migs = NULL;
    p->nmigs = p->migcap = 0;
}

void
loader_plugin_free(nt_plugin *p)
{
    if (p == NULL)
        return;
    loader_drop_registrations(p);
    if (p->dl != NULL)
        dlclose(p->dl);
    free(p);
}

static int
loader_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
loader_available(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    if (d == NULL)
        return 0;
    while (n < max && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 3 || strcmp(e->d_name + len - 3, ".so") != 0)
            continue;
        if ((names[n] = strndup(e->d_name, len - 3)) != NULL)
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), loader_name_cmp);
    return n;
}

void
loader_available_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
}

/* Writes the absolute form of path (relative ones from the working directory) into out. */
static void
loader_abs(const char *path, char *out, size_t n)
{
    char cwd[PATH_MAX];

    if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
        snprintf(out, n, "%s", path);
    else
        snprintf(out, n, "%s/%s", cwd, path);
}

/* The plugin directory must exist and not be writable by everyone: anyone could drop a .so
 * there. */
static int
loader_check_dir(loader *l, cfg *c, const char *dir)
{
    const char *origin = l->dir_origin != NULL ? l->dir_origin : cfg_path(c);
    char abs[PATH_MAX + 64];
    struct stat st;

    loader_abs(dir, abs, sizeof(abs));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cfg_error(c,
                  "%s: [plugins] dir%s: %s is not a directory; set dir to the folder that holds "
                  "the plugins' .so files (relative paths start at the working directory; the "
                  "build puts them in build/plugins, an install in <prefix>/lib/nettu/plugins)",
                  origin, l->dir_origin != NULL ? "" : " (default build/plugins)", abs);
        return NT_EINVAL;
    }
    if (st.st_mode & S_IWOTH) {
        cfg_error(c, "%s: [plugins] dir: %s: refused: the plugin directory is world-writable",
                  origin, abs);
        return NT_EINVAL;
    }
    return NT_OK;
}

/* Records why plugin `name` has no file in dir: the absolute path tried, the plugins there
 * and the closest name. */
static void
loader_report_missing(loader *l, cfg *c, const char *dir, const char *name)
{
    char *avail[LOADER_MAX_AVAILABLE], list[2048], abs[PATH_MAX + 64];
    size_t n = loader_available(dir, avail, LOADER_MAX_AVAILABLE), len = 0;
    cfg_suggest sug;

    loader_abs(dir, abs, sizeof(abs));
    cfg_suggest_init(&sug, name);
    list[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        cfg_suggest_offer(&sug, avail[i]);
        if (len < sizeof(list))
            len +=
                (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", avail[i]);
    }
    cfg_error(c,
              "%s: [plugins] load: plugin '%s': %s/%s.so does not exist%s%s%s; plugins in %s: %s",
              l->load_origin != NULL ? l->load_origin : cfg_path(c), name, abs, name,
              sug.best != NULL ? " (did you mean " : "", sug.best != NULL ? sug.best : "",
              sug.best != NULL ? "?)" : "", abs, n > 0 ? list : "none");
    loader_available_free(avail, n);
}

int
loader_load_all(loader *l, cfg *c, const char *dir, char *const *names, int n)
{
    char file[1024], err[1200];
    int rc = NT_OK;

    l->failed = 0;
    if (loader_check_dir(l, c, dir) != NT_OK) {
        l->failed = n;
        return NT_EINVAL;
    }

    l->plugins = calloc((size_t)n, sizeof(*l->plugins));
    l->n = 0;
    if (l->plugins == NULL)
        return NT_ENOMEM;
    for (int i = 0; i < n; i++) {
        nt_plugin *p = NULL;
        size_t nerr;
        int r;

        snprintf(file, sizeof(file), "%s/%s.so", dir, names[i]);
        if (access(file, F_OK) != 0) {
            loader_report_missing(l, c, dir, names[i]);
            l->failed++;
            rc = NT_EINVAL;
            continue;
        }
        if (loader_admit(file, names[i], &p, err, sizeof(err)) != NT_OK) {
            cfg_error(c, "%s", err);
            l->failed++;
            rc = NT_EINVAL;
            continue;
        }
        p->config.cfg = c;
        p->config.section = p->name;
        p->config.plugin = p;
        nerr = cfg_error_count(c);
        r = p->desc->init(p, hostapi_table(), &p->config, &p->state);
        if (r != NT_OK) {
            /* A config error recorded during init already says what is wrong. */
            if (p->err[0] != '\0' || cfg_error_count(c) == nerr)
                cfg_error(c, "%s: plugin %s, %s: init failed (%d): %s",
                          l->load_origin != NULL ? l->load_origin : cfg_path(c), p->name, file, r,
                          p->err[0] != '\0' ? p->err : "no reason given");
            loader_plugin_free(p);
            l->failed++;
            rc = NT_EINVAL;
            continue;
        }
        p->inited = 1;
        /* Keys the plugin neither read nor declared are typos: refuse them. */
        if (cfg_report_unknown(c, p->name, NULL) > 0)
            rc = NT_EINVAL;
        l->plugins[l->n++] = p;
    }
    return rc;
}

int
loader_start_all(loader *l)
{
    for (int i = 0; i < l->n; i++) {
        nt_plugin *p = l->plugins[i];
        int rc;

        if (p->desc->start == NULL) {
            p->started = 1;
            continue;
        }
        p->err[0] = '\0';
        rc = p->desc->start(p->state);
        if (rc != NT_OK) {
            log_msg(NT_LOG_ERROR, NULL, "%s: start failed (%d): %s", p->file, rc,
                    p->err[0] != '\0' ? p->err : "no reason given");
            return rc;
        }
        p->started = 1;
    }
    return NT_OK;
}

void
loader_stop_all(loader *l)
{
    for (int i = l->n - 1; i >= 0; i--) {
        nt_plugin *p = l->plugins[i];
        if (p->started && p->desc->stop != NULL)
            p->desc->stop(p->state);
        p->started = 0;
    }
}

void
loader_unload_all(loader *l)
{
    loader_stop_all(l);
    for (int i = l->n - 1; i >= 0; i--) {
        nt_plugin *p = l->plugins[i];
        if (p->inited && p->desc->fini != NULL)
            p->desc->fini(p->state);
        p->inited = 0;
        loader_plugin_free(p);
    }
    free(l->plugins);
    l->plugins = NULL;
    l->n = 0;
}
