/* Fuzz target: the INI configuration reader (core/config.c through inih) and the validation
 * of the host's own sections (core/settings.c), as the server runs them on its config file.
 * The input is the file's text.
 *
 * Oracle: a failed settings_read has recorded at least one error; a successful one left no
 * error and gives settings inside their documented ranges; every key read back through
 * cfg_lookup is the value cfg_foreach reported.
 */
#include <ctype.h>

#include "config.h"
#include "fuzz.h"
#include "settings.h"

/* What cfg_foreach reports: checks every key can be looked up again. */
struct walk {
    cfg *c;
    const char *section;
    int keys;
};

static void
on_key(void *arg, const char *key, const char *value, int line)
{
    struct walk *w = arg;
    cfg_value v;

    FUZZ_CHECK(key != NULL && value != NULL, "a NULL key or value");
    FUZZ_CHECK(line >= 1, "line %d", line);
    w->keys++;
    /* An environment override may win; without one the file's value comes back. */
    if (cfg_lookup(w->c, w->section, key, &v) && v.line != 0)
        FUZZ_CHECK(strcmp(v.text, value) == 0, "[%s] %s: '%s' then '%s'", w->section, key, value,
                   v.text);
}

static void
on_section(void *arg, const char *section, int line)
{
    struct walk w = {.c = arg, .section = section, .keys = 0};
    long long n;
    int b;

    FUZZ_CHECK(section != NULL && line >= 1, "section line %d", line);
    cfg_foreach(w.c, section, on_key, &w);
    (void)cfg_read_int(w.c, section, "port", 0, 1, 65535, &n);
    (void)cfg_read_bool(w.c, section, "access_log", 0, &b);
    cfg_report_unknown(w.c, section, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    cfg *c = cfg_load_string("fuzz.ini", text);
    settings s;
    int rc;

    FUZZ_CHECK(c != NULL, "cfg_load_string returned NULL");
    rc = settings_read(c, &s);
    if (rc == NT_OK) {
        FUZZ_CHECK(cfg_error_count(c) == 0, "NT_OK with %zu errors", cfg_error_count(c));
        FUZZ_CHECK(s.port >= 1 && s.port <= 65535, "port %d", s.port);
        FUZZ_CHECK(s.workers >= 1 && s.workers <= 4096, "workers %d", s.workers);
        FUZZ_CHECK(s.nplugins >= 1 && s.nplugins <= SETTINGS_MAX_PLUGINS, "%d plugins", s.nplugins);
        FUZZ_CHECK(s.max_body_bytes >= 1024 && s.hard_body_bytes >= s.max_body_bytes,
                   "body limits");
        FUZZ_CHECK(s.plugin_dir[0] != '\0', "empty plugin dir");
        for (int i = 0; i < s.nplugins; i++) {
            FUZZ_CHECK(s.plugins[i][0] != '\0', "an empty plugin name");
            for (const char *p = s.plugins[i]; *p != '\0'; p++)
                FUZZ_CHECK(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_',
                           "plugin name '%s'", s.plugins[i]);
        }
    } else {
        FUZZ_CHECK(rc == NT_EINVAL || rc == NT_ENOMEM, "settings_read returned %d", rc);
        FUZZ_CHECK(rc == NT_ENOMEM || cfg_error_count(c) > 0, "NT_EINVAL without an error");
    }
    settings_fini(&s);
    (void)settings_service_choice(c, "authenticator");
    (void)cfg_has_section(c, "plugins");
    cfg_foreach_section(c, on_section, c);
    cfg_free(c);
    free(text);
    return 0;
}
