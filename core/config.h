/* INI configuration: the parsed file (via inih), environment overrides, and error
 * collection. Every value carries its line so errors can name it.
 *
 * Lookups apply overrides in this order: NETTU_<SECTION>_<KEY> (upper case, other characters
 * as '_'), then the original server's variables (PORT, ACCOUNT_API_KEY, ...), then the file.
 */
#ifndef NETTU_CONFIG_H
#define NETTU_CONFIG_H

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

#endif
