/* The host's own settings: the [server], [plugins] and [services] sections, validated. */
#ifndef NETTU_SETTINGS_H
#define NETTU_SETTINGS_H

#include "cidr.h"
#include "config.h"

#define SETTINGS_MAX_PLUGINS 64

typedef struct settings {
    char listen[64];
    int port;
    int workers;                  /* resolved: "auto" = number of online CPUs */
    long long max_body_bytes;     /* answered 413 (JSON) above this, before it is read */
    long long hard_body_bytes;    /* accepted for old files; no effect */
    long long max_header_bytes;   /* request line and headers; more is 431 */
    long long max_buffered_bytes; /* request bytes held across all connections */
    long long max_connections;    /* open connections, counted from accept; 0 = unlimited */
    int max_connections_per_ip;   /* 0 = unlimited */
    int read_timeout_s;           /* a whole request must arrive within this of its first
                                     byte; also the idle keep-alive time */
    int auth_fail_limit;          /* failed authentications per address and window; 0 = off */
    int auth_fail_window_s;
    cidr_list auth_fail_exempt; /* addresses never throttled */
    int shutdown_grace_ms;
    int request_cpu_ms;    /* CPU budget of one request's work (req_check) */
    int group_commit_ms;   /* longest wait of a reply for its group commit (group.h); 0 = off */
    int idempotency_ttl_s; /* how long Idempotency-Key replies are kept */
    long long idempotency_max_reply_bytes; /* larger replies are recorded as not kept */
    int idempotency_purge_s;               /* seconds between purges of expired records */
    int access_log;
    int log_level;
    char listen_name[256]; /* listen as written (a host name such as localhost) */
    char plugin_dir[512];
    char dir_origin[320];                /* where [plugins] dir came from; "" when defaulted */
    char load_origin[320];               /* where [plugins] load came from */
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
