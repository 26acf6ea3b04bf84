/* nettu-server: reads the INI file, loads and starts the plugins, serves HTTP until SIGINT
 * or SIGTERM, then shuts down in reverse order.
 */
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "health.h"
#include "hostapi.h"
#include "loader.h"
#include "log.h"
#include "migrate.h"
#include "server.h"
#include "service.h"
#include "settings.h"
#include "util.h"

#define APP_MAX_REPORTED 16

typedef struct app {
    char reported[APP_MAX_REPORTED][64]; /* service kinds already reported missing */
    int nreported;
    cfg *cfg;
    settings s;
    loader l;
    server_deps deps;
    nt_db *main_db;
    server *srv;
} app;

static void
usage(FILE *f)
{
    fprintf(f, "usage: nettu-server [-c FILE] [--check-config] [--version] [--help]\n"
               "  -c, --config FILE   the INI file (default: etc/nettu/nettu.ini of the prefix\n"
               "                      the server is installed in, else etc/nettu.ini)\n"
               "  --check-config      load and validate the config and every plugin, print\n"
               "                      what is wrong, exit non-zero on any error\n"
               "  --version           print the version\n"
               "Every key can be overridden by NETTU_<SECTION>_<KEY> in the environment.\n");
}

/* The default -c: <prefix>/etc/nettu/nettu.ini when this binary is <prefix>/bin/nettu-server
 * and that file exists (an installed server), else etc/nettu.ini (a source checkout). */
static const char *
default_config(char *buf, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (len > 0) {
        exe[len] = '\0';
        if ((slash = strrchr(exe, '/')) != NULL) {
            *slash = '\0';
            if ((slash = strrchr(exe, '/')) != NULL && strcmp(slash, "/bin") == 0) {
                *slash = '\0';
                snprintf(buf, n, "%s/etc/nettu/nettu.ini", exe);
                if (access(buf, F_OK) == 0)
                    return buf;
            }
        }
    }
    return "etc/nettu.ini";
}

/* The service kinds nettu defines, so [services] and NETTU_SERVICES_* can be checked. */
static const char *const service_kinds[] = {NT_SERVICE_STORE,
                                            NT_SERVICE_AUTHENTICATOR,
                                            NT_SERVICE_POLICY,
                                            NT_SERVICE_ACCOUNTS,
                                            NT_SERVICE_USERS,
                                            NT_SERVICE_OBSERVER,
                                            NT_SERVICE_RELOADABLE,
                                            NT_SERVICE_SCHEDULES,
                                            NT_SERVICE_CALENDARS,
                                            NT_SERVICE_EVENTS,
                                            NULL};

/* The bundled plugin that provides each kind, for hints. */
static const char *
service_hint(const char *kind)
{
    static const char *const hints[][2] = {
        {NT_SERVICE_STORE, "store_sqlite"}, {NT_SERVICE_AUTHENTICATOR, "auth_nettu or auth_jwks"},
        {NT_SERVICE_POLICY, "policy"},      {NT_SERVICE_ACCOUNTS, "account"},
        {NT_SERVICE_USERS, "user"},         {NT_SERVICE_CALENDARS, "calendar"},
        {NT_SERVICE_EVENTS, "events"},      {NT_SERVICE_SCHEDULES, "schedule"}};

    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
        if (strcmp(hints[i][0], kind) == 0)
            return hints[i][1];
    return NULL;
}

/* Checks one [services] entry: the named service must be provided. */
static void
check_service_choice(void *arg, const char *kind, const char *name, int line)
{
    cfg *c = arg;
    char cands[512];
    int n;

    if (service_lookup(kind, name, 0, NULL) != NULL)
        return;
    n = service_candidates(kind, 0, cands, sizeof(cands));
    if (n > 0)
        cfg_error(c, "%s:%d: [services] %s = %s: no loaded plugin provides %s '%s'; loaded: %s",
                  cfg_path(c), line, kind, name, kind, name, cands);
    else
        cfg_error(c, "%s:%d: [services] %s = %s: no loaded plugin provides any %s service%s%s",
                  cfg_path(c), line, kind, name, kind, service_hint(kind) != NULL ? "; load " : "",
                  service_hint(kind) != NULL ? service_hint(kind) : "");
}

/* Resolves the service `who` needs ("the routes", "plugin calendar"), with [services]
 * applied. When there is none or several, records an error (once per kind) naming the
 * candidates and the line that fixes it, unless a plugin failed to load (the error is then a
 * consequence of that one). Returns the ops, or NULL. */
static const void *
need_service(app *a, const char *who, const char *kind, uint32_t version, void **state)
{
    const char *choice = settings_service_choice(a->cfg, kind);
    const void *ops = service_lookup(kind, choice, version, state);
    char cands[512];
    int n;

    if (ops != NULL || a->l.failed > 0)
        return ops;
    if (choice != NULL)
        return NULL; /* a wrong choice is reported by check_service_choice */
    for (int i = 0; i < a->nreported; i++)
        if (strcmp(a->reported[i], kind) == 0)
            return NULL;
    if (a->nreported < APP_MAX_REPORTED)
        snprintf(a->reported[a->nreported++], sizeof(a->reported[0]), "%s", kind);
    n = service_candidates(kind, version, cands, sizeof(cands));
    if (n > 1) {
        const char *first = strchr(cands, ' ');
        cfg_error(a->cfg,
                  "%s: [services] %s: %s need%s the %s service and %d plugins provide it: %s; "
                  "choose one with the line '%s = %.*s' under [services]",
                  cfg_path(a->cfg), kind, who, strncmp(who, "the ", 4) == 0 ? "" : "s", kind, n,
                  cands, kind, first != NULL ? (int)(first - cands) : 0, cands);
    } else {
        cfg_error(
            a->cfg,
            "%s: %s need%s the %s service (v%u or later) and no loaded plugin provides it%s%s%s",
            a->s.load_origin, who, strncmp(who, "the ", 4) == 0 ? "" : "s", kind, (unsigned)version,
            service_hint(kind) != NULL ? ": add " : "",
            service_hint(kind) != NULL ? service_hint(kind) : "",
            service_hint(kind) != NULL ? " to [plugins] load" : "");
    }
    return NULL;
}

/* Checks one need a plugin declared (service_need). */
static void
check_need(void *arg, const char *plugin, const char *kind, uint32_t version)
{
    char who[96];

    snprintf(who, sizeof(who), "plugin %s", plugin);
    need_service(arg, who, kind, version, NULL);
}

/* Collects an observer service (metrics, audit ...). */
static void
add_observer(void *arg, const void *ops, void *state)
{
    app *a = arg;
    const nt_observer_v1 *o = ops;

    if (!NT_HAS_MEMBER(o, nt_observer_v1, request_done)) {
        cfg_error(a->cfg, "%s: an observer service's ops table is too short", cfg_path(a->cfg));
        return;
    }
    if (a->deps.nobservers == SERVER_MAX_OBSERVERS) {
        cfg_error(a->cfg, "%s: more than %d observer services", cfg_path(a->cfg),
                  SERVER_MAX_OBSERVERS);
        return;
    }
    a->deps.observers[a->deps.nobservers].ops = o;
    a->deps.observers[a->deps.nobservers].state = state;
    a->deps.nobservers++;
}

/* Finds the services the host itself needs and checks the routes can be served. */
static int
resolve_services(app *a)
{
    int need_auth = 0, need_policy = 0;
    const router *r = hostapi_router();

    cfg_foreach(a->cfg, "services", check_service_choice, a->cfg);
    for (size_t i = 0; i < router_count(r); i++) {
        nt_auth_kind k = router_get(r, i)->auth;
        need_auth |= k != NT_AUTH_PUBLIC;
        need_policy |= k == NT_AUTH_USER || k == NT_AUTH_ADMIN_OR_USER;
    }
    a->deps.store =
        need_service(a, "the server", NT_SERVICE_STORE, NT_STORE_V1, &a->deps.store_state);
    if (a->deps.store != NULL && !NT_HAS_MEMBER(a->deps.store, nt_store_v1, clear_error))
        cfg_error(a->cfg, "%s: the store service's ops table is too short", cfg_path(a->cfg));
    if (need_auth)
        a->deps.auth = need_service(a, "the routes that need credentials", NT_SERVICE_AUTHENTICATOR,
                                    NT_AUTHENTICATOR_V1, &a->deps.auth_state);
    else
        a->deps.auth = service_lookup(NT_SERVICE_AUTHENTICATOR,
                                      settings_service_choice(a->cfg, NT_SERVICE_AUTHENTICATOR),
                                      NT_AUTHENTICATOR_V1, &a->deps.auth_state);
    if (need_policy)
        a->deps.policy = need_service(a, "the end-user routes", NT_SERVICE_POLICY, NT_POLICY_V1,
                                      &a->deps.policy_state);
    else
        a->deps.policy =
            service_lookup(NT_SERVICE_POLICY, settings_service_choice(a->cfg, NT_SERVICE_POLICY),
                           NT_POLICY_V1, &a->deps.policy_state);
    service_foreach_need(check_need, a);
    service_foreach(NT_SERVICE_OBSERVER, NT_OBSERVER_V1, add_observer, a);
    a->deps.router = r;
    return cfg_error_count(a->cfg) > 0 ? NT_EINVAL : NT_OK;
}

/* Every section of the file and every NETTU_* variable must name something the core or a
 * loaded plugin knows. */
static void
check_names(app *a)
{
    const char *sections[3 + SETTINGS_MAX_PLUGINS];
    int strict[3 + SETTINGS_MAX_PLUGINS];
    char *avail[LOADER_MAX_AVAILABLE];
    size_t n = 0, navail;
    cfg_value v;

    for (size_t i = 0; service_kinds[i] != NULL; i++)
        cfg_lookup(a->cfg, "services", service_kinds[i], &v); /* declares the kinds known */
    sections[n] = "server";
    strict[n++] = 1;
    sections[n] = "plugins";
    strict[n++] = 1;
    sections[n] = "services";
    strict[n++] = 1;
    for (int i = 0; i < a->s.nplugins; i++) {
        int inited = 0;
        for (int j = 0; j < a->l.n; j++)
            inited |= strcmp(a->l.plugins[j]->name, a->s.plugins[i]) == 0;
        sections[n] = a->s.plugins[i];
        strict[n++] = inited; /* the keys of a plugin that failed are not all known */
    }
    navail = loader_available(a->s.plugin_dir, avail, LOADER_MAX_AVAILABLE);
    cfg_check_sections(a->cfg, sections, n, (const char *const *)avail, navail);
    loader_available_free(avail, navail);
    cfg_check_env(a->cfg, sections, strict, n);
}

/* Reads the config and loads and inits every plugin. */
static int
app_load(app *a, const char *path)
{
    char *const *names;

    a->cfg = cfg_load(path);
    if (a->cfg == NULL)
        return NT_ENOMEM;
    if (cfg_error_count(a->cfg) > 0)
        return NT_EINVAL;
    hostapi_set_config(a->cfg);
    if (settings_read(a->cfg, &a->s) != NT_OK && a->s.nplugins == 0)
        return NT_EINVAL;
    log_setup((nt_log_level)a->s.log_level, a->s.access_log);
    hostapi_set_request_budget(a->s.request_cpu_ms);
    if (health_register(hostapi_router()) != NT_OK)
        return NT_ENOMEM;
    names = a->s.plugins;
    hostapi_set_loader(&a->l);
    a->l.load_origin = a->s.load_origin;
    a->l.dir_origin = a->s.dir_origin[0] != '\0' ? a->s.dir_origin : NULL;
    loader_load_all(&a->l, a->cfg, a->s.plugin_dir, names, a->s.nplugins);
    resolve_services(a);
    check_names(a);
    return cfg_error_count(a->cfg) > 0 ? NT_EINVAL : NT_OK;
}

/* libevent's own messages go through our log (one format, one stream). */
static void
libevent_log(int severity, const char *msg)
{
    nt_log_level lvl = severity >= EVENT_LOG_ERR    ? NT_LOG_ERROR
                       : severity >= EVENT_LOG_WARN ? NT_LOG_WARN
                                                    : NT_LOG_DEBUG;

    log_msg(lvl, "libevent", "%s", msg);
}

static volatile sig_atomic_t got_signal;

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    got_signal = (sig_atomic_t)sig;
    event_base_loopbreak(arg);
}

/* Asks one reloadable service to reload. */
static void
reload_one(void *arg, const void *ops, void *state)
{
    const nt_reloadable_v1 *r = ops;
    int *failed = arg;

    if (NT_HAS_MEMBER(r, nt_reloadable_v1, reload) && r->reload != NULL &&
        r->reload(state) != NT_OK)
        (*failed)++;
}

/* SIGHUP: every reloadable service reloads (JWKS files ...); serving goes on. */
static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
    int failed = 0;

    (void)sig;
    (void)what;
    (void)arg;
    service_foreach(NT_SERVICE_RELOADABLE, NT_RELOADABLE_V1, reload_one, &failed);
    log_msg(failed ? NT_LOG_WARN : NT_LOG_INFO, NULL, "SIGHUP: reloaded (%d failed)", failed);
}

/* SIGINT, SIGTERM and SIGHUP: blocked from before the workers start (they inherit the mask,
 * so only the main thread takes them) until wait_for_signal handles them; one that arrives
 * in between waits instead of killing the server. */
static int
signals_mask(int how)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return pthread_sigmask(how, &set, NULL) == 0 ? NT_OK : NT_ERR;
}

/* Waits for SIGINT or SIGTERM on the main thread. */
static int
wait_for_signal(void)
{
    struct event_base *base = event_base_new();
    struct event *ei = NULL, *et = NULL, *eh = NULL;
    int rc = NT_ERR;

    if (base == NULL)
        goto out;
    ei = evsignal_new(base, SIGINT, on_signal, base);
    et = evsignal_new(base, SIGTERM, on_signal, base);
    eh = evsignal_new(base, SIGHUP, on_sighup, NULL);
    if (ei == NULL || et == NULL || eh == NULL || evsignal_add(ei, NULL) != 0 ||
        evsignal_add(et, NULL) != 0 || evsignal_add(eh, NULL) != 0 ||
        signals_mask(SIG_UNBLOCK) != NT_OK)
        goto out;
    event_base_dispatch(base);
    rc = NT_OK;
out:
    if (ei != NULL)
        event_free(ei);
    if (et != NULL)
        event_free(et);
    if (eh != NULL)
        event_free(eh);
    if (base != NULL)
        event_base_free(base);
    return rc;
}

/* What an operator needs to know the server runs as configured, at every log level: version,
 * configuration file, plugins, services, storage and address. Never a secret. */
static void
log_start_summary(app *a)
{
    char buf[2048], abs[PATH_MAX];
    size_t len = 0;
    const char *where = NULL;

    log_always("nettu %s (plugin ABI %d.%d), configuration %s", NETTU_VERSION, NT_ABI_MAJOR,
               NT_ABI_MINOR, realpath(cfg_path(a->cfg), abs) != NULL ? abs : cfg_path(a->cfg));
    buf[0] = '\0';
    for (int i = 0; i < a->l.n && len < sizeof(buf); i++)
        len += (size_t)snprintf(
            buf + len, sizeof(buf) - len, "%s%s %s", i ? ", " : "", a->l.plugins[i]->name,
            a->l.plugins[i]->desc->version != NULL ? a->l.plugins[i]->desc->version
                                                   : "(no version)");
    log_always("plugins from %s: %s",
               realpath(a->s.plugin_dir, abs) != NULL ? abs : a->s.plugin_dir, buf);
    service_describe_all(buf, sizeof(buf));
    log_always("services: %s", buf);
    if (NT_HAS_MEMBER(a->deps.store, nt_store_v1, describe) && a->deps.store->describe != NULL)
        where = a->deps.store->describe(a->deps.store_state);
    log_always("storage: %s", where != NULL ? where : "(the store does not say where)");
    log_always("listening on http://%s%s%s:%d/ (listen = %s) with %d workers",
               strchr(a->s.listen, ':') != NULL ? "[" : "", a->s.listen,
               strchr(a->s.listen, ':') != NULL ? "]" : "", server_port(a->srv), a->s.listen_name,
               a->s.workers);
}

/* The stop line: how the requests in flight at shutdown ended. */
static void
log_stop_summary(app *a)
{
    int busy = 0, cut = 0;

    if (a->srv == NULL)
        return;
    server_stop_counts(a->srv, &busy, &cut);
    log_always("stopped: %d connections had a request in flight at shutdown; %d finished, %d "
               "were closed unfinished when shutdown_grace_ms was over",
               busy, busy - cut, cut);
}

/* Opens storage, migrates, starts plugins and serves until a signal. */
static int
app_run(app *a)
{
    char err[512] = "";
    int rc;

    a->main_db = a->deps.store->conn_open(a->deps.store_state, err, sizeof(err));
    if (a->main_db == NULL) {
        log_msg(NT_LOG_ERROR, NULL, "cannot open storage: %s", err);
        return NT_EUNAVAIL;
    }
    hostapi_set_store(a->deps.store, a->deps.store_state, a->main_db);
    if ((rc = signals_mask(SIG_BLOCK)) != NT_OK)
        return rc;
    if ((rc = migrate_run(a->deps.store, a->main_db, &a->l)) != NT_OK)
        return rc;
    if ((rc = loader_start_all(&a->l)) != NT_OK)
        return rc;
    if ((rc = router_compile(hostapi_router())) != NT_OK)
        return rc;
    a->srv = server_new(&a->s, &a->deps);
    if (a->srv == NULL)
        return NT_ERR;
    if ((rc = server_start(a->srv)) != NT_OK)
        return rc;
    log_start_summary(a);
    rc = wait_for_signal();
    log_always("%s: shutting down (up to [server] shutdown_grace_ms = %d ms for requests in "
               "flight)",
               got_signal == SIGTERM  ? "SIGTERM"
               : got_signal == SIGINT ? "SIGINT"
                                      : "signal",
               a->s.shutdown_grace_ms);
    return rc;
}

static void
app_shutdown(app *a)
{
    server_stop(a->srv);
    log_stop_summary(a);
    loader_stop_all(&a->l);
    server_free(a->srv);
    a->srv = NULL;
    if (a->main_db != NULL)
        a->deps.store->conn_close(a->main_db);
    a->main_db = NULL;
    loader_unload_all(&a->l);
    service_clear();
    hostapi_shutdown();
    settings_fini(&a->s);
    cfg_free(a->cfg);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"check-config", no_argument, NULL, 'k'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char dflt[PATH_MAX + 32];
    const char *path = default_config(dflt, sizeof(dflt));
    int check = 0, opt, rc;
    app a;

    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'k':
            check = 1;
            break;
        case 'V':
            printf("nettu-server %s (plugin ABI %d.%d)\n", NETTU_VERSION, NT_ABI_MAJOR,
                   NT_ABI_MINOR);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nettu-server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    memset(&a, 0, sizeof(a));
    /* Buffers of 128 KiB and more (request bodies, large replies) get their own mappings,
     * returned to the system when freed: glibc would otherwise raise this threshold after
     * the first large free and keep a burst's memory in the heap for good. Not lower:
     * SQLite's statement journal of every savepoint (group commit) takes a 68 KiB chunk, and
     * mapping and unmapping one per request cost a TLB flush on every core each time (18% of
     * the CPU of event writes). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    /* Setting the threshold above also fixes the trim threshold at 128 KiB: every free
     * that left that much at the top of a worker's heap gave it back, and the next request
     * faulted it in again (sysmalloc and madvise were 15-25% of a booking's CPU). Keep up to
     * 4 MiB; the worker's once-a-second malloc_trim still returns memory after a burst. */
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
    signal(SIGPIPE, SIG_IGN);
    event_set_log_callback(libevent_log);
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "nettu-server: libevent has no pthreads support\n");
        return 1;
    }
    rc = app_load(&a, path);
    if (a.cfg != NULL && cfg_error_count(a.cfg) > 0) {
        cfg_print_errors(a.cfg);
        rc = NT_EINVAL;
    }
    if (check) {
        if (rc == NT_OK)
            printf("%s: OK (%d plugins, %zu routes)\n", path, a.l.n,
                   router_count(hostapi_router()));
        app_shutdown(&a);
        return rc == NT_OK ? 0 : 1;
    }
    if (rc == NT_OK)
        rc = app_run(&a);
    app_shutdown(&a);
    return rc == NT_OK ? 0 : 1;
}
