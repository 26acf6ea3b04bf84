/* INI configuration: the parsed file (via inih), environment overrides, and error
 * collection. Every value carries its line so errors can name it.
 *
 * Lookups apply overrides in this order: NETTU_<SECTION>_<KEY> (upper case, other characters
 * as '_'), then the original server's variables (PORT, ACCOUNT_API_KEY, ...), then the file.
 */
#ifndef NETTU_CONFIG_H
#define NETTU_CONFIG_H

#include <stdarg.h>
#include <stddef.h>

#include <nettu/plugin.h>

typedef struct cfg cfg;

/* A looked-up value: text (borrowed from the cfg or the environment until cfg_free), the
 * file line (0 when it came from the environment) and a description of its origin for
 * messages ("etc/nettu.ini:12" or "environment NETTU_SERVER_PORT"). */
typedef struct cfg_value {
    const char *text;
    int line;
    char origin[320];
} cfg_value;

/* Parses the file. Returns a cfg (free with cfg_free) also when the file has syntax errors;
 * those are recorded as errors (cfg_error_count). NULL only when out of memory. */
cfg *cfg_load(const char *path);

/* Parses INI text held in memory (for tests); `name` is used in messages. */
cfg *cfg_load_string(const char *name, const char *text);

void cfg_free(cfg *c);

/* The file path as given. Borrowed. */
const char *cfg_path(const cfg *c);

/* Looks `key` of `section` up with overrides applied and marks it used. Returns 1 and fills
 * v when found, 0 when absent. */
int cfg_lookup(cfg *c, const char *section, const char *key, cfg_value *v);

/* Records an error; messages are printed by cfg_print_errors. */
void cfg_error(cfg *c, const char *fmt, ...) NT_PRINTF(2, 3);
size_t cfg_error_count(const cfg *c);
/* Prints every recorded error to stderr, one per line, and clears the list. */
void cfg_print_errors(cfg *c);

/* 1 when the file has a section of that name. */
int cfg_has_section(const cfg *c, const char *section);

/* Calls fn for every key of `section` in file order (borrowed strings). */
void cfg_foreach(cfg *c, const char *section,
                 void (*fn)(void *arg, const char *key, const char *value, int line), void *arg);

/* Calls fn for every section name in file order. */
void cfg_foreach_section(cfg *c, void (*fn)(void *arg, const char *section, int line), void *arg);

/* Records an error for every key of `section` that was never looked up and is not in the
 * NULL-terminated `known` list (NULL = none known). Marks the reported keys so they are
 * reported once. Returns the number of unknown keys. */
int cfg_report_unknown(cfg *c, const char *section, const char *const *known);

/* Typed readers with error recording. Each returns NT_OK (absent gives dflt) or NT_EINVAL
 * after recording "origin: [section] key: expected ..., got '...'". */
int cfg_read_int(cfg *c, const char *section, const char *key, long long dflt, long long min,
                 long long max, long long *out);
int cfg_read_bool(cfg *c, const char *section, const char *key, int dflt, int *out);
/* One of the NULL-terminated `names` (letter case ignored): *out is its index; absent gives
 * dflt. The error lists the names and suggests the closest. */
int cfg_read_enum(cfg *c, const char *section, const char *key, const char *const *names, int dflt,
                  int *out);
/* A UUID, written lower case into out (NT_UUID_BUF bytes); *present says whether the key was
 * given (present may be NULL). Absent and required: an error "required". */
int cfg_read_uuid(cfg *c, const char *section, const char *key, int required, char *out,
                  int *present);
/* A path (NT_CFG_PATH_* flags): *out is the value (borrowed) or dflt when absent. The error
 * names the absolute path that was looked at and why it cannot be used. */
int cfg_read_path(cfg *c, const char *section, const char *key, const char *dflt, int flags,
                  const char **out);
/* A duration in milliseconds: a number with the unit ms, s, m, h or d ("250ms", "30s",
 * "5m"); a bare number is milliseconds. Must lie in [min_ms, max_ms]. */
int cfg_read_duration(cfg *c, const char *section, const char *key, long long dflt_ms,
                      long long min_ms, long long max_ms, long long *out);
/* Records "origin: [section] key: <message>" where origin is the key's file and line (or
 * its environment variable; the file alone when the key is absent). */
void cfg_key_error(cfg *c, const char *section, const char *key, const char *fmt, ...)
    NT_PRINTF(4, 5);
void cfg_key_verror(cfg *c, const char *section, const char *key, const char *fmt, va_list ap)
    NT_PRINTF(4, 0);

/* 1 when `key` of `section` was looked up or declared known (cfg_report_unknown's list). */
int cfg_key_known(const cfg *c, const char *section, const char *key);
/* Calls fn for every key of `section` looked up or declared so far (borrowed). */
void cfg_foreach_known(const cfg *c, const char *section, void (*fn)(void *arg, const char *key),
                       void *arg);

/* Records an error for every section of the file that is not in `known` (core sections and
 * the plugins of the load list), with "did you mean" among `known`; a section of a plugin
 * in `available` (present in the plugin directory) but not loaded says so. */
void cfg_check_sections(cfg *c, const char *const *known, size_t nknown,
                        const char *const *available, size_t navailable);

/* Checks every NETTU_<SECTION>_<KEY> variable of the environment. One naming a section of
 * `strict` (whose keys are all known by now: cfg_key_known) but an unknown key is an error,
 * as the same typo in the file would be, with "did you mean"; one naming no section of
 * `sections` is logged as a warning. */
void cfg_check_env(cfg *c, const char *const *sections, const int *strict, size_t n);

#endif
