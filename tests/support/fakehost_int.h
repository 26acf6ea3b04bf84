/* Internals shared by the fake host's files (fakehost*.c); tests include fakehost.h only. */
#ifndef NETTU_FAKEHOST_INT_H
#define NETTU_FAKEHOST_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

#include "arena.h"
#include "memo.h"
#include "fakehost.h"

/* A growable list of name/value pairs (both malloc'd). */
typedef struct fh_pairs {
    struct fh_pair {
        char *name, *value;
    } * v;
    size_t n, cap;
} fh_pairs;

int fh_pairs_add(fh_pairs *l, const char *name, const char *value);
void fh_pairs_free(fh_pairs *l);

/* The database connection plugins see: the SQLite handle and the last error, kept until the
 * next failure or fh_db_clear_error (as store_sqlite keeps it). */
struct nt_db {
    fh_host *host;
    sqlite3 *sq;
    int errcode;      /* NT_E* of the last failure, NT_OK when none */
    char errmsg[512]; /* its message */
    int live;         /* statements prepared and not yet finalized */
    int bad_sql;      /* prepares that failed without an injected fault */
    char *fail_part;  /* fh_fail_prepare's SQL fragment, or NULL */
    char *next_part;  /* fh_fail_next: SQL fragment, code and the failures still to come */
    int next_code, next_times;
    int txn;                 /* a write transaction of db_begin is open */
    int aborted;             /* NT_E* of the error that ended it, until rollback (C6); NT_OK */
    fh_plugin *owner;        /* the plugin that opened it with db_open; NULL for the host's */
    struct nt_db *next_open; /* the host's list of db_open connections (open_mu) */
};

/* A plugin's configuration section: the plugin itself (the section is its name). */
struct nt_config {
    fh_plugin *p;
};

typedef struct fh_migration {
    int version;
    char *sql;
} fh_migration;

struct nt_plugin {
    fh_host *host;
    void *dl; /* NULL for an adopted descriptor */
    const nt_plugin_desc *desc;
    void *state;
    int in_init, inited, started;
    struct {
        char kind[64];
        uint32_t version;
    } needs[16]; /* service_need declarations, checked by fh_start */
    int nneeds;
    fh_migration *migs;
    int nmigs, migcap;
    struct nt_config cfg;
};

/* A captured route: the public copy and the strings it points to. */
typedef struct fh_route_rec {
    nt_route r;
    char *method, *path;
    char **perms; /* NULL-terminated copy, or NULL */
    fh_plugin *owner;
} fh_route_rec;

typedef struct fh_svc_rec {
    fh_service s;
    char *kind, *name;
    fh_plugin *owner;
} fh_svc_rec;

/* A configuration value with its "looked up" flag (for cfg_check_keys). */
typedef struct fh_cfg_rec {
    char *section, *key, *value;
    int used;
} fh_cfg_rec;

struct fh_host {
    struct nt_db db;
    char dbname[48];         /* the memdb name every connection of this host opens */
    char *plugin_dir;        /* the folder of fh_set_plugin_dir, or NULL */
    pthread_mutex_t open_mu; /* guards `opened` (db_open may run on a plugin's thread) */
    struct nt_db *opened;    /* connections of db_open not yet closed */
    fh_plugin **plugins;     /* load order */
    int nplugins, plugcap;
    fh_route_rec *routes;
    int nroutes, routecap;
    fh_svc_rec *svcs;
    int nsvcs, svccap;
    fh_cfg_rec *cfg;
    int ncfg, cfgcap;
    char *log;
    size_t loglen, logcap;
    int named_lookups;
    int in_group;    /* between fh_group_begin and fh_group_end */
    group_memo memo; /* the group's memo */
};

/* The host the context-free table members answer for (the last one made, not yet freed). */
extern fh_host *fh_current;

struct nt_req {
    fh_host *host;
    char *method;
    fh_pairs params, query, headers;
    int query_bad; /* the raw query did not parse: req_query answers NULL */
    json_t *body;  /* owned; NULL reads as {} */
    char *account, *user;
    json_t *policy; /* owned */
    int principal_calls;
    char msg[512];
    int fail_code;
    arena scratch;          /* req_alloc */
    const char *route;      /* the pattern fh_call ran (borrowed from the host's route) */
    char *text, *text_type; /* req_reply_text's body and content type */
    size_t text_len;
    /* req_check: NT_EBUDGET after this many calls (0 = never), or NT_EGONE once gone */
    long check_budget, check_calls;
    long check_calls_in_txn; /* of check_calls, those made inside a transaction */
    int gone;
    /* what fh_call saw, for fh_check_reply */
    int called, txn_left_open, stmts_left, bad_sql, db_errcode;
};

/* Appends "<level> <formatted message>\n" to the host's log. */
void fh_logv(fh_host *h, const char *level, const char *fmt, va_list ap) NT_PRINTF(3, 0);
void fh_logf(fh_host *h, const char *level, const char *fmt, ...) NT_PRINTF(3, 4);

/* Storage (fakehost_db.c): open/close the in-memory database, error bookkeeping, and the
 * db_* members of the table. */
int fh_db_open(struct nt_db *db, fh_host *h);
void fh_db_close(struct nt_db *db);
void fh_db_clear_error(struct nt_db *db);
/* Closes the db_open connections p (NULL: every plugin) left open; returns how many. */
int fh_db_close_left(fh_host *h, fh_plugin *p);
void fh_db_fill_api(nt_host_api *api);

/* Requests (fakehost_req.c): the req_*, fail and json_get_* members of the table. */
void fh_req_fill_api(nt_host_api *api);

/* Plugins and registration (fakehost_plugin.c): log, init_error, cfg_*, route_add,
 * migration_add, service_provide, service_lookup, host_db and the introspection members. */
void fh_plugin_fill_api(nt_host_api *api);
/* Drops every route and service of p. */
void fh_registry_drop(fh_host *h, fh_plugin *p);

#endif /* NETTU_FAKEHOST_INT_H */
