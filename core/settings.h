/* The host's own settings: the [server], [plugins] and [services] sections, validated. */
#ifndef NETTU_SETTINGS_H
#define NETTU_SETTINGS_H

#include "config.h"

#define SETTINGS_MAX_PLUGINS 64

typedef struct settings {
    char listen[64];
    int port;
    int workers;               /* resolved: "auto" = number of online CPUs */
    long long max_body_bytes;  /* answered 413 (JSON) above this */
    long long hard_body_bytes; /* libevent drops the request above this (its own 413) */
    long long max_header_bytes;
    long long max_connections; /* 0 = unlimited */
    int read_timeout_s;        /* a request must arrive within this; also idle keep-alive */
    int shutdown_grace_ms;
    int request_cpu_ms; /* CPU budget of one request's work (req_check) */
    int access_log;
    int log_level;
    char plugin_dir[512];
    char *plugins[SETTINGS_MAX_PLUGINS]; /* names in load order, malloc'd */
    int nplugins;
} settings;

/* Reads and validates the host sections; errors are recorded on c. Returns NT_OK or
 * NT_EINVAL. Free with settings_fini. */
int settings_read(cfg *c, settings *s);
void settings_fini(settings *s);

/* The name [services] chooses for a service kind, or NULL. Borrowed from c. */
const char *settings_service_choice(cfg *c, const char *kind);

#endif
