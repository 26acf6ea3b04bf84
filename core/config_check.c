/* Checks of what the file and the environment name against what the server knows: every
 * section must belong to the core or a loaded plugin, every NETTU_<SECTION>_<KEY> variable
 * must name a known key. Nothing is silently ignored. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "suggest.h"

extern char **environ;

typedef struct sec_check {
    cfg *c;
    const char *const *known, *const *available;
    size_t nknown, navailable;
} sec_check;

static int
in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static void
check_one_section(void *arg, const char *section, int line)
{
    sec_check *k = arg;
    cfg_suggest sug;

    if (in_list(section, k->known, k->nknown))
        return;
    if (in_list(section, k->available, k->navailable)) {
        cfg_error(k->c,
                  "%s:%d: [%s]: the section of plugin '%s', which is not loaded: add %s to "
                  "[plugins] load, or remove the section",
                  cfg_path(k->c), line, section, section, section);
        return;
    }
    cfg_suggest_init(&sug, section);
    for (size_t i = 0; i < k->nknown; i++)
        cfg_suggest_offer(&sug, k->known[i]);
    for (size_t i = 0; i < k->navailable; i++)
        cfg_suggest_offer(&sug, k->available[i]);
    if (sug.best != NULL)
        cfg_error(k->c, "%s:%d: [%s]: unknown section (did you mean [%s]?)", cfg_path(k->c), line,
                  section, sug.best);
    else
        cfg_error(k->c,
                  "%s:%d: [%s]: unknown section: neither the core's ([server], [plugins], "
                  "[services]) nor a loaded plugin's; correct the name or remove the section",
                  cfg_path(k->c), line, section);
}

void
cfg_check_sections(cfg *c, const char *const *known, size_t nknown, const char *const *available,
                   size_t navailable)
{
    sec_check k = {c, known, available, nknown, navailable};

    cfg_foreach_section(c, check_one_section, &k);
}

/* Writes the environment form of name (upper case, other characters as '_'). */
static void
env_form(const char *name, char *out, size_t n)
{
    size_t i;

    for (i = 0; name[i] != '\0' && i + 1 < n; i++)
        out[i] = isalnum((unsigned char)name[i]) ? (char)toupper((unsigned char)name[i]) : '_';
    out[i] = '\0';
}

typedef struct env_key {
    const char *want; /* the key part of the variable, upper case */
    const char *match, *best;
    char best_env[256];
    size_t best_dist;
} env_key;

/* cfg_foreach_known callback: finds the known key whose environment form is the variable's,
 * or the closest one. */
static void
env_key_one(void *arg, const char *key)
{
    env_key *k = arg;
    char form[256];
    size_t d;

    env_form(key, form, sizeof(form));
    if (strcmp(form, k->want) == 0) {
        k->match = key;
        return;
    }
    d = suggest_distance(form, k->want);
    if (d < k->best_dist && d <= (strlen(k->want) / 3 > 2 ? strlen(k->want) / 3 : 2)) {
        k->best = key;
        k->best_dist = d;
        snprintf(k->best_env, sizeof(k->best_env), "%s", form);
    }
}

void
cfg_check_env(cfg *c, const char *const *sections, const int *strict, size_t n)
{
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        const char *var = *e, *eq = strchr(var, '=');
        char name[256], form[128], prefix[160];
        size_t best = n, best_len = 0;
        env_key k;

        if (strncmp(var, "NETTU_", 6) != 0 || eq == NULL || (size_t)(eq - var) >= sizeof(name))
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(eq - var), var);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            env_form(sections[i], form, sizeof(form));
            len = (size_t)snprintf(prefix, sizeof(prefix), "NETTU_%s_", form);
            if (strncmp(name, prefix, len) == 0 && name[len] != '\0' && len > best_len) {
                best = i;
                best_len = len;
            }
        }
        if (best == n) {
            log_msg(
                NT_LOG_WARN, NULL,
                "environment %s: names no section of this configuration (NETTU_<SECTION>_<KEY>); "
                "ignored",
                name);
            continue;
        }
        if (!strict[best])
            continue;
        memset(&k, 0, sizeof(k));
        k.want = name + best_len;
        k.best_dist = (size_t)-1;
        cfg_foreach_known(c, sections[best], env_key_one, &k);
        if (k.match != NULL)
            continue;
        if (k.best != NULL)
            cfg_error(c, "environment %s: [%s] has no such key (did you mean %.*s%s, [%s] %s?)",
                      name, sections[best], (int)best_len, name, k.best_env, sections[best],
                      k.best);
        else
            cfg_error(c, "environment %s: [%s] has no such key; unset the variable", name,
                      sections[best]);
    }
}
