/* Logging: one line per event on stderr, with a level and an optional source name.
 * Thread-safe (each line is one write). Secrets must never be passed in.
 */
#ifndef NETTU_LOG_H
#define NETTU_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include <nettu/plugin.h>

/* Sets the most verbose level written and whether access lines are written. */
void log_setup(nt_log_level level, int access_log);

/* Parses "error", "warn", "info" or "debug"; -1 when unknown. */
int log_level_parse(const char *s);

/* Writes "<time> <LEVEL> [who] message". who may be NULL. */
void log_msg(nt_log_level lvl, const char *who, const char *fmt, ...) NT_PRINTF(3, 4);
void log_vmsg(nt_log_level lvl, const char *who, const char *fmt, va_list ap) NT_PRINTF(3, 0);

/* Writes an INFO line whatever the level: what an operator needs at every level (the
 * start-up summary, the stop line). */
void log_always(const char *fmt, ...) NT_PRINTF(1, 2);

/* Writes one access line: method, path (no query string), status and microseconds. Bytes
 * outside printable ASCII in method and path are written as \xNN (and '\' as \x5c), so a
 * request cannot forge log lines or send terminal escapes. */
void log_access(const char *method, const char *path, int status, int64_t micros);

#endif
