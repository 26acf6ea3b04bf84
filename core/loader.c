/* Plugin loader. Admission checks the descriptor before anything of the plugin runs:
 * magic, ABI major (equal), ABI minor (not newer than ours), descriptor size (at least a
 * 1.0 descriptor's: a plugin of any older minor loads), name. Plugins
 * are opened RTLD_NOW | RTLD_LOCAL so they cannot see each other, and the host exports no
 * symbols to them.
 */
#include "loader.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hostapi.h"
#include "log.h"
#include "router.h"
#include "service.h"

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

/* The plugin directory must not be writable by everyone: anyone could drop a .so there. */
static int
loader_check_dir(cfg *c, const char *dir)
{
    struct stat st;

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cfg_error(c, "%s: plugin directory not found", dir);
        return NT_EINVAL;
    }
    if (st.st_mode & S_IWOTH) {
        cfg_error(c, "%s: refused: the plugin directory is world-writable", dir);
        return NT_EINVAL;
    }
    return NT_OK;
}

int
loader_load_all(loader *l, cfg *c, const char *dir, char *const *names, int n)
{
    char file[1024], err[1200];
    int rc = NT_OK;

    if (loader_check_dir(c, dir) != NT_OK)
        return NT_EINVAL;

    l->plugins = calloc((size_t)n, sizeof(*l->plugins));
    l->n = 0;
    if (l->plugins == NULL)
        return NT_ENOMEM;
    for (int i = 0; i < n; i++) {
        nt_plugin *p = NULL;
        size_t nerr;
        int r;

        snprintf(file, sizeof(file), "%s/%s.so", dir, names[i]);
        if (loader_admit(file, names[i], &p, err, sizeof(err)) != NT_OK) {
            cfg_error(c, "%s", err);
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
                cfg_error(c, "%s: init failed (%d): %s", file, r,
                          p->err[0] != '\0' ? p->err : "no reason given");
            loader_plugin_free(p);
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
