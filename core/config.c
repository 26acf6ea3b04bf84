/* INI configuration reading with inih, line tracking, environment overrides and errors. */
#include "config.h"
#include "suggest.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

typedef struct cfg_kv {
    char *key, *value;
    int line;
    int used;
} cfg_kv;

typedef struct cfg_sec {
    char *name;
    int line;
    cfg_kv *kv;
    size_t n, cap;
} cfg_sec;

struct cfg {
    char *path;
    cfg_sec *sec;
    size_t n, cap;
    char **errs;
    size_t nerr, errcap;
    int cur_line; /* the line inih is on, counted by our reader */
    char **known; /* "section\nkey" of every key looked up or declared (cfg_key_known) */
    size_t nknown, knowncap;
};

/* The original server's environment variables and the keys they stand for. */
static const struct {
    const char *env, *section, *key;
} cfg_legacy_env[] = {
    {"PORT", "server", "port"},
    {"ACCOUNT_API_KEY", "account", "default_api_key"},
    {"ACCOUNT_ID", "account", "default_account_id"},
    {"ACCOUNT_WEBHOOK_URL", "account", "default_webhook_url"},
    {"ACCOUNT_PUB_KEY", "account", "default_public_key"},
    {"CREATE_ACCOUNT_SECRET_CODE", "account", "create_account_secret"},
};

void
cfg_error(cfg *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    char **grown;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (c->nerr == c->errcap) {
        size_t cap = c->errcap ? c->errcap * 2 : 8;
        grown = realloc(c->errs, cap * sizeof(*grown));
        if (grown == NULL)
            return;
        c->errs = grown;
        c->errcap = cap;
    }
    c->errs[c->nerr] = strdup(buf);
    if (c->errs[c->nerr] != NULL)
        c->nerr++;
}

size_t
cfg_error_count(const cfg *c)
{
    return c->nerr;
}

void
cfg_print_errors(cfg *c)
{
    for (size_t i = 0; i < c->nerr; i++) {
        fprintf(stderr, "config error: %s\n", c->errs[i]);
        free(c->errs[i]);
    }
    c->nerr = 0;
}

static cfg_sec *
cfg_find_sec(const cfg *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->sec[i].name, name) == 0)
            return &c->sec[i];
    return NULL;
}

static cfg_kv *
cfg_find_kv(const cfg_sec *s, const char *key)
{
    for (size_t i = 0; s != NULL && i < s->n; i++)
        if (strcmp(s->kv[i].key, key) == 0)
            return &s->kv[i];
    return NULL;
}

static cfg_sec *
cfg_add_sec(cfg *c, const char *name, int line)
{
    cfg_sec *grown;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        grown = realloc(c->sec, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        c->sec = grown;
        c->cap = cap;
    }
    memset(&c->sec[c->n], 0, sizeof(c->sec[0]));
    c->sec[c->n].name = strdup(name);
    c->sec[c->n].line = line;
    if (c->sec[c->n].name == NULL)
        return NULL;
    return &c->sec[c->n++];
}

/* inih handler: stores one key; a repeated key or a key outside a section is an error. */
static int
cfg_on_pair(void *user, const char *section, const char *name, const char *value)
{
    cfg *c = user;
    cfg_sec *s;
    cfg_kv *grown;

    if (section == NULL || *section == '\0') {
        cfg_error(c, "%s:%d: key '%s' outside of any [section]", c->path, c->cur_line, name);
        return 1;
    }
    s = cfg_find_sec(c, section);
    if (s == NULL && (s = cfg_add_sec(c, section, c->cur_line)) == NULL)
        return 0;
    if ((grown = cfg_find_kv(s, name)) != NULL) {
        cfg_error(c,
                  "%s:%d: [%s] %s: key given twice (first on line %d); keep one of the two lines",
                  c->path, c->cur_line, section, name, grown->line);
        return 1;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        grown = realloc(s->kv, cap * sizeof(*grown));
        if (grown == NULL)
            return 0;
        s->kv = grown;
        s->cap = cap;
    }
    s->kv[s->n].key = strdup(name);
    s->kv[s->n].value = strdup(value != NULL ? value : "");
    s->kv[s->n].line = c->cur_line;
    s->kv[s->n].used = 0;
    if (s->kv[s->n].key == NULL || s->kv[s->n].value == NULL) {
        free(s->kv[s->n].key);
        free(s->kv[s->n].value);
        return 0;
    }
    s->n++;
    return 1;
}

/* Records a [section] header line as soon as it is read, so a section is known (with its own
 * line) even when it holds no key. inih takes the text between '[' and ']' as the name. */
static void
cfg_note_section(cfg *c, const char *line)
{
    const char *start = line, *end;
    char name[256];

    while (*start == ' ' || *start == '\t')
        start++;
    if (*start != '[' || (end = strchr(start + 1, ']')) == NULL ||
        (size_t)(end - start - 1) >= sizeof(name))
        return;
    snprintf(name, sizeof(name), "%.*s", (int)(end - start - 1), start + 1);
    if (cfg_find_sec(c, name) == NULL)
        cfg_add_sec(c, name, c->cur_line);
}

typedef struct cfg_reader {
    cfg *c;
    const char *text; /* in-memory source, or NULL */
    FILE *f;
    int too_long; /* first line that did not fit, 0 when none */
    int max;      /* the longest line inih accepts */
} cfg_reader;

/* inih reader: returns one line and counts lines, so handlers know where they are. A line
 * longer than inih's buffer is an error instead of being silently split. */
static char *
cfg_read_line(char *str, int num, void *stream)
{
    cfg_reader *r = stream;
    size_t n = 0;
    int ch;

    if (r->f == NULL && (r->text == NULL || *r->text == '\0'))
        return NULL;
    r->c->cur_line++;
    r->max = num - 2;
    for (;;) {
        ch = r->f != NULL ? fgetc(r->f) : (*r->text != '\0' ? (unsigned char)*r->text++ : EOF);
        if (ch == EOF) {
            if (n == 0 && r->f != NULL)
                return NULL;
            break;
        }
        if (n + 1 < (size_t)num)
            str[n++] = (char)ch;
        else if (ch != '\n')
            r->too_long = r->too_long ? r->too_long : r->c->cur_line;
        if (ch == '\n')
            break;
    }
    str[n] = '\0';
    cfg_note_section(r->c, str);
    return str;
}

static cfg *
cfg_parse(const char *name, FILE *f, const char *text)
{
    cfg *c = calloc(1, sizeof(*c));
    cfg_reader r = {.c = NULL, .text = text, .f = f, .too_long = 0, .max = 0};
    int rc;

    if (c == NULL)
        return NULL;
    c->path = strdup(name);
    if (c->path == NULL) {
        free(c);
        return NULL;
    }
    r.c = c;
    ini_allow_multiline = false;
    ini_use_stack = false;
    ini_max_line = 4096;
    rc = ini_parse_stream(cfg_read_line, &r, cfg_on_pair, c);
    if (rc > 0)
        cfg_error(c, "%s:%d: syntax error (expected [section] or key = value)", c->path, rc);
    else if (rc < 0)
        cfg_error(c, "%s: out of memory while parsing", c->path);
    if (r.too_long)
        cfg_error(c, "%s:%d: line too long (at most %d characters)", c->path, r.too_long, r.max);
    return c;
}

cfg *
cfg_load(const char *path)
{
    FILE *f = fopen(path, "r");
    cfg *c;

    if (f == NULL) {
        c = cfg_parse(path, NULL, "");
        if (c != NULL)
            cfg_error(c, "%s: cannot open: %s", path, strerror(errno));
        return c;
    }
    c = cfg_parse(path, f, NULL);
    fclose(f);
    return c;
}

cfg *
cfg_load_string(const char *name, const char *text)
{
    return cfg_parse(name, NULL, text);
}

void
cfg_free(cfg *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->sec[i].n; j++) {
            free(c->sec[i].kv[j].key);
            free(c->sec[i].kv[j].value);
        }
        free(c->sec[i].kv);
        free(c->sec[i].name);
    }
    for (size_t i = 0; i < c->nerr; i++)
        free(c->errs[i]);
    free(c->errs);
    for (size_t i = 0; i < c->nknown; i++)
        free(c->known[i]);
    free(c->known);
    free(c->sec);
    free(c->path);
    free(c);
}

const char *
cfg_path(const cfg *c)
{
    return c->path;
}

int
cfg_has_section(const cfg *c, const char *section)
{
    return cfg_find_sec(c, section) != NULL;
}

/* Builds NETTU_<SECTION>_<KEY>: upper case, anything not alphanumeric as '_'. */
static void
cfg_env_name(const char *section, const char *key, char *out, size_t n)
{
    size_t len = (size_t)snprintf(out, n, "NETTU_%s_%s", section, key);

    for (size_t i = 0; i < len && i < n; i++) {
        unsigned char ch = (unsigned char)out[i];
        out[i] = isalnum(ch) ? (char)toupper(ch) : '_';
    }
}

/* The index of "section\nkey" in c->known, or -1. */
static long
cfg_known_find(const cfg *c, const char *section, const char *key)
{
    size_t sl = strlen(section);

    for (size_t i = 0; i < c->nknown; i++)
        if (strncmp(c->known[i], section, sl) == 0 && c->known[i][sl] == '\n' &&
            strcmp(c->known[i] + sl + 1, key) == 0)
            return (long)i;
    return -1;
}

/* Remembers that `section` has a key `key` (looked up or declared). Out of memory only
 * weakens later checks, so it is not an error. */
static void
cfg_known_add(cfg *c, const char *section, const char *key)
{
    char **grown, *entry;
    size_t n;

    if (cfg_known_find(c, section, key) >= 0)
        return;
    if (c->nknown == c->knowncap) {
        size_t cap = c->knowncap ? c->knowncap * 2 : 64;
        grown = realloc(c->known, cap * sizeof(*grown));
        if (grown == NULL)
            return;
        c->known = grown;
        c->knowncap = cap;
    }
    n = strlen(section) + strlen(key) + 2;
    entry = malloc(n);
    if (entry == NULL)
        return;
    snprintf(entry, n, "%s\n%s", section, key);
    c->known[c->nknown++] = entry;
}

int
cfg_key_known(const cfg *c, const char *section, const char *key)
{
    return cfg_known_find(c, section, key) >= 0;
}

void
cfg_foreach_known(const cfg *c, const char *section, void (*fn)(void *arg, const char *key),
                  void *arg)
{
    size_t sl = strlen(section);

    for (size_t i = 0; i < c->nknown; i++)
        if (strncmp(c->known[i], section, sl) == 0 && c->known[i][sl] == '\n')
            fn(arg, c->known[i] + sl + 1);
}

int
cfg_lookup(cfg *c, const char *section, const char *key, cfg_value *v)
{
    char env[256];
    const char *e;
    cfg_kv *kv = cfg_find_kv(cfg_find_sec(c, section), key);

    if (kv != NULL)
        kv->used = 1;
    cfg_known_add(c, section, key);
    cfg_env_name(section, key, env, sizeof(env));
    e = getenv(env);
    if (e != NULL) {
        v->text = e;
        v->line = 0;
        snprintf(v->origin, sizeof(v->origin), "environment %s", env);
        return 1;
    }
    for (size_t i = 0; i < sizeof(cfg_legacy_env) / sizeof(cfg_legacy_env[0]); i++) {
        if (strcmp(cfg_legacy_env[i].section, section) != 0 ||
            strcmp(cfg_legacy_env[i].key, key) != 0)
            continue;
        e = getenv(cfg_legacy_env[i].env);
        if (e == NULL)
            break;
        v->text = e;
        v->line = 0;
        snprintf(v->origin, sizeof(v->origin), "environment %s", cfg_legacy_env[i].env);
        return 1;
    }
    if (kv == NULL)
        return 0;
    v->text = kv->value;
    v->line = kv->line;
    snprintf(v->origin, sizeof(v->origin), "%s:%d", c->path, kv->line);
    return 1;
}

void
cfg_foreach(cfg *c, const char *section,
            void (*fn)(void *arg, const char *key, const char *value, int line), void *arg)
{
    cfg_sec *s = cfg_find_sec(c, section);

    for (size_t i = 0; s != NULL && i < s->n; i++)
        fn(arg, s->kv[i].key, s->kv[i].value, s->kv[i].line);
}

void
cfg_foreach_section(cfg *c, void (*fn)(void *arg, const char *section, int line), void *arg)
{
    for (size_t i = 0; i < c->n; i++)
        fn(arg, c->sec[i].name, c->sec[i].line);
}

/* cfg_foreach_known callback: keeps the key closest to sug->word. */
static void
cfg_suggest_one(void *arg, const char *key)
{
    cfg_suggest_offer(arg, key);
}

int
cfg_report_unknown(cfg *c, const char *section, const char *const *known)
{
    cfg_sec *s = cfg_find_sec(c, section);
    int unknown = 0;

    for (size_t k = 0; known != NULL && known[k] != NULL; k++)
        cfg_known_add(c, section, known[k]);
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        cfg_suggest sug;
        int ok = s->kv[i].used;
        for (size_t k = 0; !ok && known != NULL && known[k] != NULL; k++)
            ok = strcmp(known[k], s->kv[i].key) == 0;
        if (ok) {
            s->kv[i].used = 1;
            continue;
        }
        cfg_suggest_init(&sug, s->kv[i].key);
        cfg_foreach_known(c, section, cfg_suggest_one, &sug);
        if (sug.best != NULL)
            cfg_error(c, "%s:%d: [%s] %s: unknown key (did you mean %s?)", c->path, s->kv[i].line,
                      section, s->kv[i].key, sug.best);
        else
            cfg_error(c, "%s:%d: [%s] %s: unknown key (remove the line or correct the name)",
                      c->path, s->kv[i].line, section, s->kv[i].key);
        s->kv[i].used = 1; /* report once */
        unknown++;
    }
    return unknown;
}

int
cfg_read_int(cfg *c, const char *section, const char *key, long long dflt, long long min,
             long long max, long long *out)
{
    cfg_value v;
    char *end = NULL;
    long long n;

    *out = dflt;
    if (!cfg_lookup(c, section, key, &v))
        return NT_OK;
    errno = 0;
    n = strtoll(v.text, &end, 10);
    if (errno != 0 || end == v.text || *end != '\0' || n < min || n > max) {
        cfg_error(c, "%s: [%s] %s: expected an integer from %lld to %lld, got '%s'", v.origin,
                  section, key, min, max, v.text);
        return NT_EINVAL;
    }
    *out = n;
    return NT_OK;
}

int
cfg_read_bool(cfg *c, const char *section, const char *key, int dflt, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    cfg_value v;

    *out = dflt;
    if (!cfg_lookup(c, section, key, &v))
        return NT_OK;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v.text, yes[i]) == 0) {
            *out = 1;
            return NT_OK;
        }
        if (strcasecmp(v.text, no[i]) == 0) {
            *out = 0;
            return NT_OK;
        }
    }
    cfg_error(c, "%s: [%s] %s: expected on/off (true/false, yes/no, 1/0), got '%s'", v.origin,
              section, key, v.text);
    return NT_EINVAL;
}
