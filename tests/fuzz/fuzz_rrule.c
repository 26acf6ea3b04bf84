/* Fuzz target: the recurrence rules of the time engine (plugins/time: rrule_parse.c,
 * rrule_expand.c, rrule_period.c, budget.c and the time zone code under them). The input is a
 * JSON object:
 *   {"recurrence": {...a rule...}, "startTs": ms, "duration": ms, "timezone": "Europe/Oslo",
 *    "weekStart": 0..6, "window": [ws, we], "exdates": [ms, ...], "stopAfter": n}
 * where everything but "recurrence" is optional (defaults: 2023-11-14T22:13:20Z, one hour,
 * UTC, Monday, the 62 days from startTs, none, never). Any 64-bit duration and window are
 * taken (the routes refuse some, but older servers stored them: the engine must not
 * overflow); a window longer than the API's 62 days is skipped. "stopAfter" makes the
 * budget's hook answer "budget" (n even) or "gone" (n odd) from its (n / 2)-th call on.
 *
 * Oracle: a refused rule has a message naming "recurrence"; an accepted rule prints
 * to JSON that parses back to a rule printing the same; its expansion is sorted, inside the
 * window, never before DTSTART, never after until, never on an exdate, at most count long,
 * and the same as the full expansion cut to the window (windows of rules with count start
 * after counting without libical); ev_end_ts agrees with a full expansion; ev_starts_on_rule
 * (the iCalendar export's question: is the start an occurrence?) agrees with an expansion at
 * the start; a stopped expansion answers the code of its stop. FUZZ_VERBOSE=1 prints what each
 * input reaches.
 */
#include "fuzz.h"
#include "rrule.h"

#define MAX_WINDOW 5356800000LL /* 62 days, the longest instance window */
#define MAX_INSTANCES 2000
/* The full expansion used as a reference is skipped beyond REF_STEPS steps or REF_CPU_US of
 * CPU (libical's scans between rare candidates cost time but no steps: a rule that runs to
 * 9999 on February 29th falling on a Monday). */
#define REF_STEPS 4000
#define REF_CPU_US 30000

static long stop_after = -1, hook_calls;

/* The budget hook of "stopAfter". */
static int
hook(void *arg)
{
    (void)arg;
    if (stop_after < 0 || ++hook_calls <= stop_after / 2)
        return EV_GO;
    return stop_after % 2 == 0 ? EV_STOP_BUDGET : EV_STOP_GONE;
}

/* obj[key] as an integer, or dflt. */
static int64_t
int_or(const json_t *obj, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* The windowed instances l against the full expansion cut to the window. */
static void
check_against_full(const ev_series *s, const ev_expand_opts *o, const ev_ilist *l)
{
    ev_expand_opts all = *o;
    ev_budget b;
    ev_ilist full = {0};
    char err[256];
    size_t m = 0;

    if (s->rrule->count == 0 && !s->rrule->has_until)
        return; /* no full expansion of an infinite rule */
    ev_budget_init(&b, REF_STEPS, REF_CPU_US, NULL, NULL);
    all.windowed = 0;
    all.max_instances = 100000;
    all.budget = &b;
    if (ev_expand(s, &all, &full, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < full.n; i++) {
            if (full.v[i].start < ev_sat_add(o->ws, -1) || full.v[i].end > o->we)
                continue;
            FUZZ_CHECK(m < l->n && l->v[m].start == full.v[i].start,
                       "the window misses the instance at %lld", (long long)full.v[i].start);
            m++;
        }
        FUZZ_CHECK(m == l->n, "the window has %zu instances, the full expansion %zu", l->n, m);
    }
    ev_ilist_free(&full);
}

/* Expands with the window and checks every instance. */
static void
check_expansion(const ev_rrule *r, const ev_series *s, const ev_expand_opts *o)
{
    ev_ilist l = {0};
    char err[256] = "";
    ev_budget b;
    ev_expand_opts ob = *o;
    int rc;
    int64_t dtstart = ev_floor_div(s->start_ts, 1000) * 1000;

    ev_budget_init(&b, REF_STEPS, REF_CPU_US, hook, NULL);
    hook_calls = 0;
    ob.budget = &b;
    rc = ev_expand(s, &ob, &l, err, sizeof(err));
    if (getenv("FUZZ_VERBOSE") != NULL) /* to see what a corpus file reaches */
        fprintf(stderr, "expand -> %d, %zu instances %s\n", rc, l.n, err);
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2 || rc == EV_EXPAND_ELIMIT ||
                   rc == EV_EXPAND_EBUDGET || rc == EV_EXPAND_EGONE,
               "ev_expand returned %d", rc);
    FUZZ_CHECK(rc != EV_EXPAND_EBUDGET || (stop_after >= 0 && stop_after % 2 == 0),
               "a budget stop nobody asked for");
    FUZZ_CHECK(rc != EV_EXPAND_EGONE || (stop_after >= 0 && stop_after % 2 == 1),
               "a gone stop nobody asked for");
    FUZZ_CHECK(rc == 0 || err[0] != '\0', "a failure without a message");
    if (rc == 0) {
        FUZZ_CHECK(l.n <= o->max_instances, "%zu instances over the limit", l.n);
        if (r->count > 0)
            FUZZ_CHECK(l.n <= (size_t)r->count, "%zu instances for count %d", l.n, r->count);
        for (size_t i = 0; i < l.n; i++) {
            const ev_inst *in = &l.v[i];
            FUZZ_CHECK(i == 0 || l.v[i - 1].start < in->start, "instances out of order at %zu", i);
            FUZZ_CHECK(in->start >= dtstart, "an instance before DTSTART");
            FUZZ_CHECK(in->end == ev_sat_add(in->start, s->duration), "instance length");
            FUZZ_CHECK(in->start >= o->ws - 1 && in->end <= o->we, "an instance outside the "
                                                                   "window");
            FUZZ_CHECK(!r->has_until || in->start <= r->until, "an instance after until");
            for (size_t k = 0; k < s->n_exdates; k++)
                FUZZ_CHECK(ev_floor_div(s->exdates[k], 1000) != ev_floor_div(in->start, 1000),
                           "an exdated instance");
        }
        check_against_full(s, o, &l);
    }
    ev_ilist_free(&l);
}

/* ev_end_ts against an unwindowed expansion of a bounded rule. */
static void
check_end(const ev_rrule *r, const ev_series *s, const ev_expand_opts *o)
{
    ev_expand_opts all = *o;
    ev_ilist l = {0};
    ev_budget b;
    char err[256];
    int64_t end = -1;
    int rc;

    ev_budget_init(&b, REF_STEPS, REF_CPU_US, NULL, NULL);
    rc = ev_end_ts(s, o->tz, o->wkst, MAX_INSTANCES, &b, &end, err, sizeof(err));
    if (r->count == 0 && !r->has_until) {
        FUZZ_CHECK(rc == 0 && end == EV_END_FOREVER, "an unbounded rule ends at %lld",
                   (long long)end);
        return;
    }
    all.windowed = 0;
    all.max_instances = MAX_INSTANCES;
    all.budget = &b;
    ev_budget_init(&b, REF_STEPS, REF_CPU_US, NULL, NULL);
    if (ev_expand(s, &all, &l, err, sizeof(err)) == 0 && rc == 0)
        FUZZ_CHECK(end == (l.n > 0 ? l.v[l.n - 1].end : 0), "ev_end_ts %lld", (long long)end);
    ev_ilist_free(&l);
}

/* ev_starts_on_rule against the expansion of the window holding only the start's second
 * (exdates aside). */
static void
check_starts_on(const ev_series *s, const ev_expand_opts *o)
{
    ev_series one = *s;
    ev_expand_opts at = *o;
    ev_ilist l = {0};
    ev_budget b;
    char err[256];
    int on = -1, rc;

    one.exdates = NULL;
    one.n_exdates = 0;
    one.duration = 0;
    at.ws = at.we = ev_floor_div(s->start_ts, 1000) * 1000;
    at.max_instances = MAX_INSTANCES;
    at.budget = &b;
    ev_budget_init(&b, REF_STEPS, REF_CPU_US, NULL, NULL);
    rc = ev_starts_on_rule(&one, o->tz, o->wkst, &b, &on, err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(rc == EV_EXPAND_ELIMIT, "ev_starts_on_rule returned %d: %s", rc, err);
        return;
    }
    ev_budget_init(&b, REF_STEPS, REF_CPU_US, NULL, NULL);
    if (ev_expand(&one, &at, &l, err, sizeof(err)) == 0)
        FUZZ_CHECK(on == (l.n > 0 && l.v[0].start == at.ws), "ev_starts_on_rule says %d", on);
    ev_ilist_free(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ev_rrule r, again;
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *printed = NULL, *reprinted = NULL, *ex, *win;
    int64_t exdates[16];
    char err[256] = "";
    ev_series s = {0};
    ev_expand_opts o = {0};
    const char *tzname;

    if (!json_is_object(in))
        goto out;
    s.start_ts = int_or(in, "startTs", 1700000000000LL);
    s.duration = int_or(in, "duration", 3600000);
    stop_after = int_or(in, "stopAfter", -1);
    if (ev_rrule_parse(json_object_get(in, "recurrence"), s.start_ts, &r, err, sizeof(err)) != 0) {
        if (getenv("FUZZ_VERBOSE") != NULL)
            fprintf(stderr, "refused: %s\n", err);
        FUZZ_CHECK(strncmp(err, "recurrence", 10) == 0, "message '%s'", err);
        goto out;
    }
    printed = ev_rrule_json(&r);
    FUZZ_CHECK(printed != NULL, "ev_rrule_json");
    FUZZ_CHECK(ev_rrule_parse(printed, s.start_ts, &again, err, sizeof(err)) == 0,
               "the printed rule is refused: %s", err);
    reprinted = ev_rrule_json(&again);
    FUZZ_CHECK(json_equal(printed, reprinted), "printing is not stable");

    tzname = json_string_value(json_object_get(in, "timezone"));
    o.tz = ev_tz_get(tzname != NULL ? tzname : "UTC");
    if (o.tz == NULL)
        goto out; /* the calendar routes refuse an unknown zone */
    o.wkst = (int)((uint64_t)int_or(in, "weekStart", 0) % 7);
    o.windowed = 1;
    win = json_object_get(in, "window");
    o.ws = json_is_integer(json_array_get(win, 0)) ? json_integer_value(json_array_get(win, 0))
                                                   : s.start_ts;
    o.we = json_is_integer(json_array_get(win, 1)) ? json_integer_value(json_array_get(win, 1))
                                                   : ev_sat_add(o.ws, MAX_WINDOW);
    if (o.we < o.ws || ev_sat_sub(o.we, o.ws) > MAX_WINDOW)
        goto out; /* the API refuses such a timespan */
    o.max_instances = MAX_INSTANCES;
    ex = json_object_get(in, "exdates");
    for (size_t i = 0; i < json_array_size(ex) && s.n_exdates < 16; i++)
        if (json_is_integer(json_array_get(ex, i)))
            exdates[s.n_exdates++] = json_integer_value(json_array_get(ex, i));
    s.exdates = exdates;
    s.busy = 1;
    s.rrule = &r;
    check_expansion(&r, &s, &o);
    check_end(&r, &s, &o);
    check_starts_on(&s, &o);
out:
    json_decref(printed);
    json_decref(reprinted);
    json_decref(in);
    return 0;
}
