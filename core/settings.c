/* Validation of the host sections of the INI file. */
#include "settings.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "idem.h"
#include "log.h"

static const char *const server_keys[] = {"listen",
                                          "port",
                                          "workers",
                                          "max_body_bytes",
                                          "hard_body_bytes",
                                          "max_header_bytes",
                                          "max_buffered_bytes",
                                          "max_connections",
                                          "max_connections_per_ip",
                                          "read_timeout_s",
                                          "auth_fail_limit",
                                          "auth_fail_window_s",
                                          "auth_fail_exempt",
                                          "shutdown_grace_ms",
                                          "request_cpu_ms",
                                          "group_commit_ms",
                                          "idempotency_ttl_s",
                                          "idempotency_max_reply_bytes",
                                          "idempotency_purge_s",
                                          "access_log",
                                          "log_level",
                                          NULL};
static const char *const plugins_keys[] = {"dir", "load", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

/* A plugin name: lower-case letters, digits and '_' only (it becomes a file name). */
static int
settings_plugin_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

/* Splits the comma-separated load list into s->plugins. */
static int
settings_read_load(cfg *c, settings *s)
{
    cfg_value v;
    const char *p;

    if (!cfg_lookup(c, "plugins", "load", &v)) {
        snprintf(s->load_origin, sizeof(s->load_origin), "%s", cfg_path(c));
        cfg_error(c, "%s: [plugins] load: required (a comma-separated list of plugins)",
                  cfg_path(c));
        return NT_EINVAL;
    }
    snprintf(s->load_origin, sizeof(s->load_origin), "%s", v.origin);
    for (p = v.text; *p != '\0';) {
        const char *start, *end;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        start = p;
        while (*p != '\0' && *p != ',')
            p++;
        end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (!settings_plugin_name_ok(start, (size_t)(end - start))) {
            cfg_error(c, "%s: [plugins] load: '%.*s' is not a plugin name (a-z, 0-9, _)", v.origin,
                      (int)(end - start), start);
            return NT_EINVAL;
        }
        if (end - start == 4 && strncmp(start, "core", 4) == 0) {
            /* The server records its own migrations under that name. */
            cfg_error(c, "%s: [plugins] load: 'core' is reserved for the server", v.origin);
            return NT_EINVAL;
        }
        for (int i = 0; i < s->nplugins; i++) {
            if (strlen(s->plugins[i]) == (size_t)(end - start) &&
                strncmp(s->plugins[i], start, (size_t)(end - start)) == 0) {
                cfg_error(c, "%s: [plugins] load: '%s' is listed twice", v.origin, s->plugins[i]);
                return NT_EINVAL;
            }
        }
        if (s->nplugins == SETTINGS_MAX_PLUGINS) {
            cfg_error(c, "%s: [plugins] load: more than %d plugins", v.origin,
                      SETTINGS_MAX_PLUGINS);
            return NT_EINVAL;
        }
        s->plugins[s->nplugins] = strndup(start, (size_t)(end - start));
        if (s->plugins[s->nplugins] == NULL)
            return NT_ENOMEM;
        s->nplugins++;
    }
    if (s->nplugins == 0) {
        cfg_error(c, "%s: [plugins] load: the list is empty", v.origin);
        return NT_EINVAL;
    }
    return NT_OK;
}

/* [server] auth_fail_exempt: addresses the authentication throttle leaves alone. */
static int
settings_read_exempt(cfg *c, settings *s)
{
    const char *text = "127.0.0.0/8, ::1/128";
    char err[160];
    cfg_value v;

    if (cfg_lookup(c, "server", "auth_fail_exempt", &v))
        text = v.text;
    if (cidr_list_parse(text, &s->auth_fail_exempt, err, sizeof(err)) != 0) {
        cfg_error(c,
                  "%s: [server] auth_fail_exempt: %s (expected addresses or ranges such as "
                  "10.0.0.0/8, ::1/128, separated by commas)",
                  cfg_lookup(c, "server", "auth_fail_exempt", &v) ? v.origin : cfg_path(c), err);
        return NT_EINVAL;
    }
    return NT_OK;
}

/* Resolves a host name such as localhost to its first address (IPv4 first) into out. */
static int
settings_resolve(const char *name, char *out, size_t n)
{
    struct addrinfo hints, *res = NULL, *pick = NULL;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || res == NULL)
        return NT_EINVAL;
    for (struct addrinfo *a = res; a != NULL && pick == NULL; a = a->ai_next)
        if (a->ai_family == AF_INET)
            pick = a;
    for (struct addrinfo *a = res; a != NULL && pick == NULL; a = a->ai_next)
        if (a->ai_family == AF_INET6)
            pick = a;
    if (pick == NULL || getnameinfo(pick->ai_addr, pick->ai_addrlen, out, (socklen_t)n, NULL, 0,
                                    NI_NUMERICHOST) != 0) {
        freeaddrinfo(res);
        return NT_EINVAL;
    }
    freeaddrinfo(res);
    return NT_OK;
}

static int
settings_read_server(cfg *c, settings *s)
{
    cfg_value v;
    long long n, min_buffered;
    int rc = NT_OK, ncpu;
    struct in_addr a4;
    struct in6_addr a6;

    snprintf(s->listen, sizeof(s->listen), "127.0.0.1");
    snprintf(s->listen_name, sizeof(s->listen_name), "127.0.0.1");
    if (cfg_lookup(c, "server", "listen", &v)) {
        snprintf(s->listen_name, sizeof(s->listen_name), "%s", v.text);
        if (inet_pton(AF_INET, v.text, &a4) == 1 || inet_pton(AF_INET6, v.text, &a6) == 1) {
            snprintf(s->listen, sizeof(s->listen), "%s", v.text);
        } else if (v.text[0] == '\0' ||
                   settings_resolve(v.text, s->listen, sizeof(s->listen)) != NT_OK) {
            cfg_error(c,
                      "%s: [server] listen: expected an IPv4 or IPv6 address or a host name "
                      "that resolves (e.g. 127.0.0.1, ::1, 0.0.0.0, localhost), got '%s'",
                      v.origin, v.text);
            rc = NT_EINVAL;
        }
    }
    if (cfg_read_int(c, "server", "port", 5000, 1, 65535, &n) == NT_OK)
        s->port = (int)n;
    else
        rc = NT_EINVAL;
    ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    s->workers = ncpu > 0 ? ncpu : 1;
    if (cfg_lookup(c, "server", "workers", &v) && strcmp(v.text, "auto") != 0) {
        if (cfg_read_int(c, "server", "workers", 1, 1, 256, &n) == NT_OK)
            s->workers = (int)n;
        else
            rc = NT_EINVAL;
    }
    if (cfg_read_int(c, "server", "max_body_bytes", 2 * 1024 * 1024, 1024, 1LL << 30, &n) == NT_OK)
        s->max_body_bytes = n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "hard_body_bytes", 4 * s->max_body_bytes, s->max_body_bytes,
                     1LL << 32, &n) == NT_OK)
        s->hard_body_bytes = n;
    else
        rc = NT_EINVAL;
    if (cfg_lookup(c, "server", "hard_body_bytes", &v))
        log_msg(NT_LOG_WARN, NULL,
                "%s: [server] hard_body_bytes no longer has an effect: bodies over "
                "max_body_bytes are refused before they are read",
                v.origin);
    if (cfg_read_int(c, "server", "max_header_bytes", 16384, 1024, 1 << 20, &n) == NT_OK)
        s->max_header_bytes = n;
    else
        rc = NT_EINVAL;
    /* At least one request of the largest size must fit. */
    min_buffered = s->max_body_bytes + s->max_header_bytes;
    if (cfg_read_int(c, "server", "max_buffered_bytes",
                     min_buffered > (64LL << 20) ? min_buffered : 64LL << 20, min_buffered,
                     1LL << 40, &n) == NT_OK)
        s->max_buffered_bytes = n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "max_connections", 4096, 0, 1000000, &n) == NT_OK)
        s->max_connections = n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "max_connections_per_ip", 0, 0, 1000000, &n) == NT_OK)
        s->max_connections_per_ip = (int)n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "auth_fail_limit", 20, 0, 1000000, &n) == NT_OK)
        s->auth_fail_limit = (int)n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "auth_fail_window_s", 60, 1, 86400, &n) == NT_OK)
        s->auth_fail_window_s = (int)n;
    else
        rc = NT_EINVAL;
    if (settings_read_exempt(c, s) != NT_OK)
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "read_timeout_s", 30, 1, 3600, &n) == NT_OK)
        s->read_timeout_s = (int)n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "shutdown_grace_ms", 2000, 0, 60000, &n) == NT_OK)
        s->shutdown_grace_ms = (int)n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "request_cpu_ms", 100, 1, 600000, &n) == NT_OK)
        s->request_cpu_ms = (int)n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "group_commit_ms", 4, 0, 1000, &n) == NT_OK)
        s->group_commit_ms = (int)n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "idempotency_ttl_s", IDEM_TTL_DEFAULT_S, 1, 30 * 86400, &n) ==
        NT_OK)
        s->idempotency_ttl_s = (int)n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "idempotency_max_reply_bytes", IDEM_MAX_REPLY_DEFAULT, 0,
                     64LL << 20, &n) == NT_OK)
        s->idempotency_max_reply_bytes = n;
    else
        rc = NT_EINVAL;
    if (cfg_read_int(c, "server", "idempotency_purge_s", IDEM_PURGE_DEFAULT_S, 1, 86400, &n) ==
        NT_OK)
        s->idempotency_purge_s = (int)n;
    else
        rc = NT_EINVAL;
    if (cfg_read_bool(c, "server", "access_log", 1, &s->access_log) != NT_OK)
        rc = NT_EINVAL;
    if (cfg_read_enum(c, "server", "log_level", log_levels, NT_LOG_INFO, &s->log_level) != NT_OK)
        rc = NT_EINVAL;
    cfg_report_unknown(c, "server", server_keys);
    return rc;
}

int
settings_read(cfg *c, settings *s)
{
    cfg_value v;
    int rc;

    memset(s, 0, sizeof(*s));
    rc = settings_read_server(c, s);
    snprintf(s->plugin_dir, sizeof(s->plugin_dir), "build/plugins");
    if (cfg_lookup(c, "plugins", "dir", &v)) {
        if (strlen(v.text) == 0 || strlen(v.text) >= sizeof(s->plugin_dir)) {
            cfg_error(c, "%s: [plugins] dir: expected a directory path", v.origin);
            rc = NT_EINVAL;
        } else {
            snprintf(s->plugin_dir, sizeof(s->plugin_dir), "%s", v.text);
            snprintf(s->dir_origin, sizeof(s->dir_origin), "%s", v.origin);
        }
    }
    if (settings_read_load(c, s) != NT_OK)
        rc = NT_EINVAL;
    cfg_report_unknown(c, "plugins", plugins_keys);
    return cfg_error_count(c) > 0 ? NT_EINVAL : rc;
}

void
settings_fini(settings *s)
{
    for (int i = 0; i < s->nplugins; i++)
        free(s->plugins[i]);
    s->nplugins = 0;
}

const char *
settings_service_choice(cfg *c, const char *kind)
{
    cfg_value v;

    return cfg_lookup(c, "services", kind, &v) ? v.text : NULL;
}
