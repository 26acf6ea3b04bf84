/* The fake host object: lifecycle, the table, the log, configuration, clock and helpers. */
#include "fakehost_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

fh_host *fh_current;
static nt_host_api fh_table;
static int fh_table_ready;
static int64_t fh_clock_ms, fh_clock_step;

/* ---- helpers of the table (no context) --------------------------------------------------- */

/* Fills buf with n bytes from getrandom(2). */
static int
fh_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return NT_ERR;
        }
        p += got;
        n -= (size_t)got;
    }
    return NT_OK;
}

/* Writes a random version-4 UUID into out. */
static int
fh_uuid_new(char out[NT_UUID_BUF])
{
    unsigned char b[16];

    if (fh_random_bytes(b, sizeof(b)) != NT_OK)
        return NT_ERR;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, NT_UUID_BUF,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return NT_OK;
}

/* 1 when s is an 8-4-4-4-12 hex UUID (any case). */
static int
fh_uuid_valid(const char *s)
{
    if (s == NULL)
        return 0;
    for (int i = 0; i < NT_UUID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return s[NT_UUID_LEN] == '\0';
}

/* The fake clock of fh_clock_set, or the wall clock. */
static int64_t
fh_now_ms(void)
{
    struct timespec ts;

    if (fh_clock_ms != 0 || fh_clock_step != 0) {
        fh_clock_ms += fh_clock_step;
        return fh_clock_ms;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fh_clock_set(int64_t ms, int64_t step)
{
    fh_clock_ms = ms;
    fh_clock_step = step;
}

const nt_host_api *
fh_api(void)
{
    if (!fh_table_ready) {
        memset(&fh_table, 0, sizeof(fh_table));
        fh_table.size = sizeof(nt_host_api);
        fh_table.abi_major = NT_ABI_MAJOR;
        fh_table.abi_minor = NT_ABI_MINOR;
        fh_plugin_fill_api(&fh_table);
        fh_req_fill_api(&fh_table);
        fh_db_fill_api(&fh_table);
        fh_table.uuid_new = fh_uuid_new;
        fh_table.uuid_valid = fh_uuid_valid;
        fh_table.random_bytes = fh_random_bytes;
        fh_table.now_ms = fh_now_ms;
        fh_table_ready = 1;
    }
    return &fh_table;
}

/* ---- the host ---------------------------------------------------------------------------- */

fh_host *
fh_new(void)
{
    fh_host *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    fh_api();
    if (pthread_mutex_init(&h->open_mu, NULL) != 0) {
        free(h);
        return NULL;
    }
    if (fh_db_open(&h->db, h) != NT_OK) {
        pthread_mutex_destroy(&h->open_mu);
        free(h);
        return NULL;
    }
    fh_current = h;
    return h;
}

void
fh_free(fh_host *h)
{
    if (h == NULL)
        return;
    while (h->nplugins > 0)
        fh_close(h->plugins[h->nplugins - 1]);
    free(h->plugins);
    for (int i = 0; i < h->nroutes; i++) {
        for (int k = 0; h->routes[i].perms != NULL && h->routes[i].perms[k] != NULL; k++)
            free(h->routes[i].perms[k]);
        free(h->routes[i].perms);
        free(h->routes[i].method);
        free(h->routes[i].path);
    }
    free(h->routes);
    for (int i = 0; i < h->nsvcs; i++) {
        free(h->svcs[i].kind);
        free(h->svcs[i].name);
    }
    free(h->svcs);
    fh_config_clear(h, NULL);
    free(h->cfg);
    free(h->log);
    free(h->plugin_dir);
    fh_db_close_left(h, NULL);
    pthread_mutex_destroy(&h->open_mu);
    fh_db_close(&h->db);
    memo_clear(&h->memo);
    if (fh_current == h)
        fh_current = NULL;
    free(h);
}

nt_db *
fh_db(fh_host *h)
{
    return &h->db;
}

sqlite3 *
fh_sqlite(fh_host *h)
{
    return h->db.sq;
}

int
fh_in_transaction(fh_host *h)
{
    return sqlite3_get_autocommit(h->db.sq) == 0;
}

void
fh_fail_prepare(fh_host *h, const char *part)
{
    free(h->db.fail_part);
    h->db.fail_part = part != NULL ? strdup(part) : NULL;
}

int
fh_set_plugin_dir(fh_host *h, const char *dir)
{
    char *copy = NULL;

    if (dir != NULL && (copy = strdup(dir)) == NULL)
        return NT_ENOMEM;
    free(h->plugin_dir);
    h->plugin_dir = copy;
    return NT_OK;
}

void
fh_fail_next(fh_host *h, const char *part, int code, int times)
{
    free(h->db.next_part);
    h->db.next_part = part != NULL && times > 0 ? strdup(part) : NULL;
    h->db.next_code = code;
    h->db.next_times = h->db.next_part != NULL ? times : 0;
}

int
fh_named_lookups(const fh_host *h)
{
    return h->named_lookups;
}

/* ---- the log ----------------------------------------------------------------------------- */

void
fh_logv(fh_host *h, const char *level, const char *fmt, va_list ap)
{
    char line[2048];
    size_t n;
    int len;

    len = snprintf(line, sizeof(line), "%s ", level);
    if (len < 0)
        return;
    vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
    n = strlen(line);
    if (h->loglen + n + 2 > h->logcap) {
        size_t cap = h->logcap ? h->logcap : 4096;
        char *grown;
        while (h->loglen + n + 2 > cap)
            cap *= 2;
        grown = realloc(h->log, cap);
        if (grown == NULL)
            return;
        h->log = grown;
        h->logcap = cap;
    }
    memcpy(h->log + h->loglen, line, n);
    h->loglen += n;
    h->log[h->loglen++] = '\n';
    h->log[h->loglen] = '\0';
}

void
fh_logf(fh_host *h, const char *level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fh_logv(h, level, fmt, ap);
    va_end(ap);
}

const char *
fh_log(const fh_host *h)
{
    return h->log != NULL ? h->log : "";
}

void
fh_log_clear(fh_host *h)
{
    h->loglen = 0;
    if (h->log != NULL)
        h->log[0] = '\0';
}

/* ---- configuration ----------------------------------------------------------------------- */

int
fh_config_set(fh_host *h, const char *section, const char *key, const char *value)
{
    fh_cfg_rec *rec = NULL;
    char *copy;

    for (int i = 0; i < h->ncfg; i++)
        if (strcmp(h->cfg[i].section, section) == 0 && strcmp(h->cfg[i].key, key) == 0)
            rec = &h->cfg[i];
    if (value == NULL) {
        if (rec != NULL) {
            free(rec->section);
            free(rec->key);
            free(rec->value);
            *rec = h->cfg[--h->ncfg];
        }
        return NT_OK;
    }
    if ((copy = strdup(value)) == NULL)
        return NT_ENOMEM;
    if (rec != NULL) {
        free(rec->value);
        rec->value = copy;
        return NT_OK;
    }
    if (h->ncfg == h->cfgcap) {
        int cap = h->cfgcap ? h->cfgcap * 2 : 16;
        fh_cfg_rec *grown = realloc(h->cfg, (size_t)cap * sizeof(*grown));
        if (grown == NULL) {
            free(copy);
            return NT_ENOMEM;
        }
        h->cfg = grown;
        h->cfgcap = cap;
    }
    rec = &h->cfg[h->ncfg];
    rec->section = strdup(section);
    rec->key = strdup(key);
    rec->value = copy;
    rec->used = 0;
    if (rec->section == NULL || rec->key == NULL) {
        free(rec->section);
        free(rec->key);
        free(copy);
        return NT_ENOMEM;
    }
    h->ncfg++;
    return NT_OK;
}

void
fh_config_clear(fh_host *h, const char *section)
{
    int j = 0;

    for (int i = 0; i < h->ncfg; i++) {
        if (section == NULL || strcmp(h->cfg[i].section, section) == 0) {
            free(h->cfg[i].section);
            free(h->cfg[i].key);
            free(h->cfg[i].value);
            continue;
        }
        h->cfg[j++] = h->cfg[i];
    }
    h->ncfg = j;
}
