/* Fuzz target: schedule rules and availability (plugins/schedule: sch_rules.c, sch_body.c,
 * sch_avail.c, and plugins/time/ev_local.c under them). The input is a create/update body
 * with extra keys for the computation:
 *   {"timezone": "Europe/Oslo", "rules": [...schedule rules...], "now": ms, "window": [ws, we]}
 * where everything is optional (defaults: UTC, the default week, 2030-06-15T12:00Z, the 101
 * days from "now"). The window is kept within the service's 400 days.
 *
 * Oracle: a refused body has a message naming "timezone" or "rules"; accepted rules print
 * to JSON that parses back to the same print; normalised rules have at most 10
 * intervals each, sorted, valid and apart (next start > previous end), Date rules inside the
 * normalisation window, and normalising again changes nothing; the free time is sorted,
 * non-overlapping, inside the window, each interval within one local day (at most 27 hours:
 * a day Antarctica/Troll sets its clocks back by two hours is 26 hours long).
 * FUZZ_VERBOSE=1 prints what each input reaches.
 */
#include "fuzz.h"
#include "sch.h"

#define DAY_MS 86400000LL

/* obj[key] as an integer, or dflt. */
static int64_t
int_or(const json_t *obj, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* The normalised rules' shape. */
static void
check_normalised(const sch_rules *r, const ev_tz *tz, int64_t now_ms)
{
    int64_t today = ev_floor_div(ev_tz_utc_to_local(tz, ev_floor_div(now_ms, 1000)), EV_DAY_S);

    for (size_t i = 0; i < r->n; i++) {
        const sch_rule *x = &r->v[i];
        FUZZ_CHECK(x->n <= SCH_MAX_INTERVALS, "%zu intervals", x->n);
        if (x->kind == SCH_DATE)
            FUZZ_CHECK(x->day > today - 2 && x->day < today + 5 * 366 + 2, "date %lld kept",
                       (long long)x->day);
        for (size_t k = 0; k < x->n; k++) {
            FUZZ_CHECK(x->iv[k].start >= 0 && x->iv[k].start <= x->iv[k].end &&
                           x->iv[k].end < 24 * 60,
                       "interval %d..%d", x->iv[k].start, x->iv[k].end);
            FUZZ_CHECK(k == 0 || x->iv[k].start > x->iv[k - 1].end, "intervals not apart");
        }
    }
}

/* The free time's shape. */
static void
check_avail(const sch_rules *r, const ev_tz *tz, int64_t ws, int64_t we)
{
    nt_intervals out;
    int rc = sch_avail(r, tz, ws, we, NULL, NULL, &out);

    if (getenv("FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "avail -> %d, %zu intervals\n", rc, out.n);
    FUZZ_CHECK(rc == NT_OK, "sch_avail returned %d", rc);
    for (size_t i = 0; i < out.n; i++) {
        const nt_interval *v = &out.v[i];
        FUZZ_CHECK(v->start <= v->end && v->start >= ws && v->end <= we && v->busy == 0,
                   "interval %zu [%lld, %lld] in [%lld, %lld]", i, (long long)v->start,
                   (long long)v->end, (long long)ws, (long long)we);
        FUZZ_CHECK(v->end - v->start <= 27 * 3600000LL, "an interval of %lld ms",
                   (long long)(v->end - v->start));
        FUZZ_CHECK(i == 0 || out.v[i - 1].end <= v->start, "overlap at %zu", i);
    }
    free(out.v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *printed = NULL, *reprinted = NULL, *win;
    sch_rules again = {0};
    sch_body b = {0};
    const ev_tz *tz;
    char err[256] = "";
    int64_t now, ws, we;

    if (!json_is_object(in))
        goto out;
    if (sch_body_parse(in, 0, &b, err, sizeof(err)) != NT_OK) {
        if (getenv("FUZZ_VERBOSE") != NULL)
            fprintf(stderr, "refused: %s\n", err);
        FUZZ_CHECK(strncmp(err, "rules", 5) == 0 || strncmp(err, "timezone", 8) == 0,
                   "message '%s'", err);
        goto out;
    }
    if (!b.has_rules)
        FUZZ_CHECK(sch_rules_default(&b.rules) == NT_OK, "default rules");
    printed = sch_rules_json(&b.rules);
    FUZZ_CHECK(printed != NULL, "sch_rules_json");
    FUZZ_CHECK(sch_rules_parse(printed, &again, err, sizeof(err)) == NT_OK,
               "the printed rules are refused: %s", err);
    reprinted = sch_rules_json(&again);
    FUZZ_CHECK(json_equal(printed, reprinted), "printing is not stable");
    sch_rules_clear(&again);

    tz = ev_tz_get(b.timezone != NULL ? b.timezone : "UTC");
    FUZZ_CHECK(tz != NULL, "a valid zone does not load");
    now = int_or(in, "now", 1907755200000LL);
    if (now < 0 || now > 4102444800000LL)
        now = 1907755200000LL; /* the server's clock is in 1970..2100 */
    sch_rules_normalise(&b.rules, tz, now);
    check_normalised(&b.rules, tz, now);
    json_decref(printed);
    printed = sch_rules_json(&b.rules);
    FUZZ_CHECK(sch_rules_parse(printed, &again, err, sizeof(err)) == NT_OK, "refused: %s", err);
    sch_rules_normalise(&again, tz, now);
    json_decref(reprinted);
    reprinted = sch_rules_json(&again);
    FUZZ_CHECK(json_equal(printed, reprinted), "normalising twice changes the rules");

    win = json_object_get(in, "window");
    ws = json_is_integer(json_array_get(win, 0)) ? json_integer_value(json_array_get(win, 0)) : now;
    we = json_is_integer(json_array_get(win, 1)) ? json_integer_value(json_array_get(win, 1))
                                                 : ev_sat_add(ws, 101 * DAY_MS);
    if (ws < -62135596800000LL || ws > 253402214400000LL || we < ws ||
        we - ws > NT_SCHEDULES_MAX_WINDOW_MS || we > 253402214400000LL)
        goto out; /* the service refuses such a window */
    check_avail(&b.rules, tz, ws, we);
out:
    sch_rules_clear(&again);
    sch_body_clear(&b);
    json_decref(printed);
    json_decref(reprinted);
    json_decref(in);
    return 0;
}
