/* Unit tests of event expansion: table-driven over the frequencies, BY*
 * rules, count/until/exdates, the original's worked examples, DST in Europe/Oslo and
 * America/New_York, WKST, the window filter, far-future speed and the instance cap.
 *
 * Every expected timestamp was computed outside this code base, with python-dateutil's rrule
 * over zoneinfo zones (fold=0, i.e. RFC 5545's gap/overlap rules) and checked with
 * `TZ=<zone> date -d @<seconds>`; comments give the local times. The expansion runs on
 * libical's iterator: the cases below the far-future ones are rules where libical alone
 * differs from dateutil.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rrule.h"

#define DAY 86400000LL
#define T0 1609750800000LL  /* 2021-01-04T09:00:00Z, a Monday */
#define J1 1609491600000LL  /* 2021-01-01T09:00:00Z */
#define J31 1612083600000LL /* 2021-01-31T09:00:00Z */
#define MAXE 12
/* Time limits are for optimised code; a ThreadSanitizer build (NETTU_TSAN) runs it about ten
 * times slower. */
#ifdef NETTU_TSAN
#define TIME_FACTOR 10.0
#else
#define TIME_FACTOR 1.0
#endif

struct xcase {
    const char *name;
    const char *tz;
    int wkst;
    int64_t start, duration;
    const char *rrule; /* NULL: not recurring */
    int64_t ex[3];
    size_t n_ex;
    int64_t ws, we;
    int64_t expect[MAXE];
    size_t n;
};

/* A window that holds every instance of the small count-limited cases. */
#define ALL(start) (start) - DAY, (start) + 3 * 366 * DAY

static const struct xcase cases[] = {
    /* ---- frequencies, interval, count (UTC) ---- */
    {"daily count 5",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":5}",
     {0},
     0,
     ALL(T0),
     {1609750800000LL, 1609837200000LL, 1609923600000LL, 1610010000000LL, 1610096400000LL},
     5},
    {"daily interval 3",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":3,\"count\":4}",
     {0},
     0,
     ALL(T0),
     {1609750800000LL, 1610010000000LL, 1610269200000LL, 1610528400000LL},
     4},
    {"weekly on DTSTART's weekday",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":3}",
     {0},
     0,
     ALL(T0),
     {1609750800000LL, 1610355600000LL, 1610960400000LL},
     3},
    {"weekly Mon Wed Fri",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":6,\"byweekday\":[\"Mon\",\"Wed\",\"Fri\"]}",
     {0},
     0,
     ALL(T0),
     {1609750800000LL, 1609923600000LL, 1610096400000LL, 1610355600000LL, 1610528400000LL,
      1610701200000LL},
     6},
    {"weekly Mon Wed Fri as RFC codes",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":6,\"byweekday\":[\"MO\",\"WE\",\"FR\"]}",
     {0},
     0,
     ALL(T0),
     {1609750800000LL, 1609923600000LL, 1610096400000LL, 1610355600000LL, 1610528400000LL,
      1610701200000LL},
     6},
    {"weekly Mon Wed Fri as integers",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":6,\"byweekday\":[0,2,4]}",
     {0},
     0,
     ALL(T0),
     {1609750800000LL, 1609923600000LL, 1610096400000LL, 1610355600000LL, 1610528400000LL,
      1610701200000LL},
     6},
    /* ordinals mean nothing in a weekly rule: every Monday (from Wednesday 2021-01-06) */
    {"weekly 1Mon",
     "UTC",
     0,
     1609923600000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":3,\"byweekday\":[\"1Mon\"]}",
     {0},
     0,
     ALL(1609923600000LL),
     {1610355600000LL, 1610960400000LL, 1611565200000LL},
     3},
    /* monthly from the 31st skips months without one: Jan, Mar, May, Jul, Aug 31 */
    {"monthly on the 31st",
     "UTC",
     0,
     J31,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"count\":5}",
     {0},
     0,
     ALL(J31),
     {1612083600000LL, 1617181200000LL, 1622451600000LL, 1627722000000LL, 1630400400000LL},
     5},
    {"monthly bymonthday 31",
     "UTC",
     0,
     J1,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"count\":5,\"bymonthday\":[31]}",
     {0},
     0,
     ALL(J1),
     {1612083600000LL, 1617181200000LL, 1622451600000LL, 1627722000000LL, 1630400400000LL},
     5},
    /* last day of month: Jan 31, Feb 28, Mar 31, Apr 30 */
    {"monthly bymonthday -1",
     "UTC",
     0,
     J31,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"count\":4,\"bymonthday\":[-1]}",
     {0},
     0,
     ALL(J31),
     {1612083600000LL, 1614502800000LL, 1617181200000LL, 1619773200000LL},
     4},
    /* first Monday and last Friday: Jan 4, Jan 29, Feb 1, Feb 26, Mar 1, Mar 26 */
    {"monthly 1Mon -1Fri",
     "UTC",
     0,
     J1,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"count\":6,\"byweekday\":[\"1Mon\",\"-1Fri\"]}",
     {0},
     0,
     ALL(J1),
     {1609750800000LL, 1611910800000LL, 1612170000000LL, 1614330000000LL, 1614589200000LL,
      1616749200000LL},
     6},
    /* last workday of the month: Jan 29, Feb 26, Mar 31, Apr 30 */
    {"monthly bysetpos -1",
     "UTC",
     0,
     J1,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"count\":4,\"byweekday\":[\"Mon\",\"Tue\",\"Wed\","
     "\"Thu\",\"Fri\"],\"bysetpos\":[-1]}",
     {0},
     0,
     ALL(J1),
     {1611910800000LL, 1614330000000LL, 1617181200000LL, 1619773200000LL},
     4},
    /* Feb 29 every leap year: 2020, 2024, 2028 */
    {"yearly on Feb 29",
     "UTC",
     0,
     1582966800000LL,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":3}",
     {0},
     0,
     1582966800000LL - DAY,
     1582966800000LL + 9 * 366 * DAY,
     {1582966800000LL, 1709197200000LL, 1835427600000LL},
     3},
    /* last Sunday of March: 2021-03-28, 2022-03-27, 2023-03-26 */
    {"yearly March -1Sun",
     "UTC",
     0,
     J1,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":3,\"bymonth\":[\"March\"],\"byweekday\":"
     "[\"-1SU\"]}",
     {0},
     0,
     ALL(J1),
     {1616922000000LL, 1648371600000LL, 1679821200000LL},
     3},
    /* Monday of week 1: 2021-01-04, 2022-01-03, 2023-01-02 */
    {"yearly byweekno 1 Mon",
     "UTC",
     0,
     J1,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":3,\"byweekno\":[1],\"byweekday\":[0]}",
     {0},
     0,
     ALL(J1),
     {1609750800000LL, 1641200400000LL, 1672650000000LL},
     3},
    /* first and last day of the year */
    {"yearly byyearday 1 -1",
     "UTC",
     0,
     J1,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":4,\"byyearday\":[1,-1]}",
     {0},
     0,
     ALL(J1),
     {1609491600000LL, 1640941200000LL, 1641027600000LL, 1672477200000LL},
     4},
    {"yearly Jan and Jul 15th",
     "UTC",
     0,
     J1,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":4,\"bymonth\":[\"Jan\",7],\"bymonthday\":"
     "[15]}",
     {0},
     0,
     ALL(J1),
     {1610701200000LL, 1626339600000LL, 1642237200000LL, 1657875600000LL},
     4},

    /* ---- until, count and exdates ---- */
    {"until inclusive",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"until\":1610010000000}",
     {0},
     0,
     ALL(T0),
     {T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY},
     4},
    {"until one ms before",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"until\":1610009999999}",
     {0},
     0,
     ALL(T0),
     {T0, T0 + DAY, T0 + 2 * DAY},
     3},
    {"count counts before exdates",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":4}",
     {T0 + DAY},
     1,
     ALL(T0),
     {T0, T0 + 2 * DAY, T0 + 3 * DAY},
     3},
    {"exdate within the same second",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":3}",
     {T0 + DAY + 999},
     1,
     ALL(T0),
     {T0, T0 + 2 * DAY},
     2},
    {"exdate in the next second",
     "UTC",
     0,
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":3}",
     {T0 + DAY + 1000},
     1,
     ALL(T0),
     {T0, T0 + DAY, T0 + 2 * DAY},
     3},
    /* occurrences are whole seconds, the first one too */
    {"milliseconds truncated",
     "UTC",
     0,
     1521317491239LL,
     1000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":3}",
     {0},
     0,
     1521317491000LL - DAY,
     1521317491000LL + 5 * DAY,
     {1521317491000LL, 1521317491000LL + DAY, 1521317491000LL + 2 * DAY},
     3},

    /* ---- worked examples: UTC, duration 1000, start 1000, daily, count 10 ---- */
    {"daily [20, 11 days]",
     "UTC",
     0,
     1000,
     1000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":10}",
     {0},
     0,
     20,
     11 * DAY,
     {1000, 1000 + DAY, 1000 + 2 * DAY, 1000 + 3 * DAY, 1000 + 4 * DAY, 1000 + 5 * DAY,
      1000 + 6 * DAY, 1000 + 7 * DAY, 1000 + 8 * DAY, 1000 + 9 * DAY},
     10},
    {"daily [11 days, 40 days]",
     "UTC",
     0,
     1000,
     1000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":10}",
     {0},
     0,
     11 * DAY,
     40 * DAY,
     {0},
     0},
    {"daily with exdate",
     "UTC",
     0,
     1000,
     1000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":10}",
     {1000 + DAY},
     1,
     20,
     11 * DAY,
     {1000, 1000 + 2 * DAY, 1000 + 3 * DAY, 1000 + 4 * DAY, 1000 + 5 * DAY, 1000 + 6 * DAY,
      1000 + 7 * DAY, 1000 + 8 * DAY, 1000 + 9 * DAY},
     9},
    {"daily moved start",
     "UTC",
     0,
     1000 + DAY,
     1000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":10}",
     {0},
     0,
     20,
     11 * DAY,
     {1000 + DAY, 1000 + 2 * DAY, 1000 + 3 * DAY, 1000 + 4 * DAY, 1000 + 5 * DAY, 1000 + 6 * DAY,
      1000 + 7 * DAY, 1000 + 8 * DAY, 1000 + 9 * DAY, 1000 + 10 * DAY},
     10},
    /* free/busy: daily 1 h from 0, count 100, window [10, 345600000]: 0 starts before the window
     * and 345600000 ends after it */
    {"free/busy example",
     "UTC",
     0,
     0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":100}",
     {0},
     0,
     10,
     345600000,
     {86400000, 172800000, 259200000},
     3},

    /* ---- the window filter: o >= ws - 1 and o + duration <= we ---- */
    {"window start minus one",
     "UTC",
     0,
     1000,
     1000,
     "{\"freq\":\"daily\",\"interval\":1}",
     {0},
     0,
     1001,
     2000,
     {1000},
     1},
    {"window start minus two",
     "UTC",
     0,
     1000,
     1000,
     "{\"freq\":\"daily\",\"interval\":1}",
     {0},
     0,
     1002,
     DAY + 2000,
     {DAY + 1000},
     1},
    {"window end cuts a running instance",
     "UTC",
     0,
     1000,
     1000,
     "{\"freq\":\"daily\",\"interval\":1}",
     {0},
     0,
     0,
     1999,
     {0},
     0},

    /* ---- non-recurring: one instance whatever the window, unless exdated exactly ---- */
    {"single ignores the window",
     "UTC",
     0,
     5000,
     100,
     NULL,
     {0},
     0,
     1000000000000LL,
     1000000000001LL,
     {5000},
     1},
    {"single exdated", "UTC", 0, 5000, 100, NULL, {5000}, 1, 0, DAY, {0}, 0},
    {"single exdate one ms off", "UTC", 0, 5000, 100, NULL, {5001}, 1, 0, DAY, {5000}, 1},

    /* ---- WKST (RFC 5545's own example, 1997-08-05 is a Tuesday) ---- */
    /* Aug 5, 10, 19, 24 */
    {"WKST Monday",
     "UTC",
     0,
     870771600000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":2,\"count\":4,\"byweekday\":[\"Tue\",\"Sun\"]}",
     {0},
     0,
     ALL(870771600000LL),
     {870771600000LL, 871203600000LL, 871981200000LL, 872413200000LL},
     4},
    /* Aug 5, 17, 19, 31 */
    {"WKST Sunday",
     "UTC",
     6,
     870771600000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":2,\"count\":4,\"byweekday\":[\"Tue\",\"Sun\"]}",
     {0},
     0,
     ALL(870771600000LL),
     {870771600000LL, 871808400000LL, 871981200000LL, 873018000000LL},
     4},

    /* ---- DST: local time of day is kept ---- */
    /* 09:00 CET, 09:00 CET, 09:00 CEST (clocks forward on 2024-03-31) */
    {"Oslo spring forward weekly",
     "Europe/Oslo",
     0,
     1710748800000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":3}",
     {0},
     0,
     ALL(1710748800000LL),
     {1710748800000LL, 1711353600000LL, 1711954800000LL},
     3},
    /* 09:00 CEST Oct 25, 26; 09:00 CET Oct 27, 28 */
    {"Oslo fall back daily",
     "Europe/Oslo",
     0,
     1729839600000LL,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":4}",
     {0},
     0,
     ALL(1729839600000LL),
     {1729839600000LL, 1729926000000LL, 1730016000000LL, 1730102400000LL},
     4},
    /* 09:00 EST Mar 9, 09:00 EDT Mar 10, 11 */
    {"New York spring forward daily",
     "America/New_York",
     0,
     1709992800000LL,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":3}",
     {0},
     0,
     ALL(1709992800000LL),
     {1709992800000LL, 1710075600000LL, 1710162000000LL},
     3},
    /* 09:00 EDT Oct 28, 09:00 EST Nov 4 */
    {"New York fall back weekly",
     "America/New_York",
     0,
     1730120400000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":2}",
     {0},
     0,
     ALL(1730120400000LL),
     {1730120400000LL, 1730728800000LL},
     2},
    {"US/Eastern link name",
     "US/Eastern",
     0,
     1730120400000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":2}",
     {0},
     0,
     ALL(1730120400000LL),
     {1730120400000LL, 1730728800000LL},
     2},
    /* 02:30 EST Mar 8, 9; 02:30 does not exist on Mar 10 -> 03:30 EDT; 02:30 EDT Mar 11 */
    {"New York 02:30 in the gap",
     "America/New_York",
     0,
     1709883000000LL,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":4}",
     {0},
     0,
     ALL(1709883000000LL),
     {1709883000000LL, 1709969400000LL, 1710055800000LL, 1710138600000LL},
     4},
    /* 02:30 CET Mar 30; Mar 31 -> 03:30 CEST; 02:30 CEST Apr 1 */
    {"Oslo 02:30 in the gap",
     "Europe/Oslo",
     0,
     1711762200000LL,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":3}",
     {0},
     0,
     ALL(1711762200000LL),
     {1711762200000LL, 1711848600000LL, 1711931400000LL},
     3},
    /* 02:30 happens twice on Oct 27: the first one (CEST) */
    {"Oslo 02:30 in the overlap",
     "Europe/Oslo",
     0,
     1729902600000LL,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":2}",
     {0},
     0,
     ALL(1729902600000LL),
     {1729902600000LL, 1729989000000LL},
     2},
    {"New York 01:30 in the overlap",
     "America/New_York",
     0,
     1730525400000LL,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":2}",
     {0},
     0,
     ALL(1730525400000LL),
     {1730525400000LL, 1730611800000LL},
     2},

    /* ---- far future on infinite rules (Oslo, from 2020-01-01 09:00, window 2140-06-01 +62
     * days) ---- */
    /* interval 3 weeks on Mon and Thu, weeks starting on Sunday */
    {"far future weekly",
     "Europe/Oslo",
     6,
     1577865600000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":3,\"byweekday\":[\"Mon\",\"Thu\"]}",
     {0},
     0,
     5377795200000LL,
     5383152000000LL,
     {5378857200000LL, 5379116400000LL, 5380671600000LL, 5380930800000LL, 5382486000000LL,
      5382745200000LL},
     6},
    {"far future monthly last Friday",
     "Europe/Oslo",
     0,
     1577865600000LL,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"byweekday\":[\"-1Fri\"]}",
     {0},
     0,
     5377795200000LL,
     5383152000000LL,
     {5379807600000LL, 5382831600000LL},
     2},

    /* ---- rules libical 3.0.16 expands differently from dateutil (handled around it, see
     * plugins/time/README.md), dates before 1583 and after 2582, and windows of rules with
     * count that start far after DTSTART ---- */
    /* 2021-01-04 09:00, 2021-01-11 09:00, 2021-01-18 09:00 */
    {"weekly bysetpos 1",
     "UTC",
     0,
     1609750800000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":3,\"byweekday\":[\"Mon\",\"Wed\",\"Fri\"],"
     "\"bysetpos\":[1]}",
     {0},
     0,
     1609664400000LL,
     1704618000000LL,
     {1609750800000LL, 1610355600000LL, 1610960400000LL},
     3},
    /* 2021-01-06 09:00, 2021-01-11 09:00, 2021-01-18 09:00 */
    {"weekly bysetpos 1, first week from DTSTART",
     "UTC",
     0,
     1609923600000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":3,\"byweekday\":[\"Mon\",\"Wed\",\"Fri\"],"
     "\"bysetpos\":[1]}",
     {0},
     0,
     1609837200000LL,
     1704790800000LL,
     {1609923600000LL, 1610355600000LL, 1610960400000LL},
     3},
    /* 2021-01-04 09:00, 2021-02-01 09:00, 2021-03-01 09:00 */
    {"monthly Mon and 1Mon: the first Monday",
     "UTC",
     0,
     1609491600000LL,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"count\":3,\"byweekday\":[\"Mon\",\"1Mon\"]}",
     {0},
     0,
     1609405200000LL,
     1704358800000LL,
     {1609750800000LL, 1612170000000LL, 1614589200000LL},
     3},
    /* none */
    {"monthly Mon and 1Tue: nothing",
     "UTC",
     0,
     1609491600000LL,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"count\":3,\"byweekday\":[\"Mon\",\"1Tue\"]}",
     {0},
     0,
     1609405200000LL,
     1704358800000LL,
     {0},
     0},
    /* 2021-01-31 09:00, 2021-02-28 09:00, 2021-03-31 09:00, 2021-04-30 09:00 */
    {"daily bymonthday -1",
     "UTC",
     0,
     1609491600000LL,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":4,\"bymonthday\":[-1]}",
     {0},
     0,
     1609405200000LL,
     1704358800000LL,
     {1612083600000LL, 1614502800000LL, 1617181200000LL, 1619773200000LL},
     4},
    /* 2021-06-01 09:00, 2021-07-01 09:00, 2021-08-01 09:00, 2021-09-01 09:00 */
    {"yearly bymonthday 1 without bymonth",
     "UTC",
     0,
     1621242000000LL,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":4,\"bymonthday\":[1]}",
     {0},
     0,
     1621155600000LL,
     1716109200000LL,
     {1622538000000LL, 1625130000000LL, 1627808400000LL, 1630486800000LL},
     4},
    /* 2031-08-06 09:30, 2031-09-10 09:30, 2031-10-15 09:30 */
    {"weekly interval 5 from a Monday, WKST Saturday",
     "UTC",
     5,
     1943602215000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":5,\"count\":3,\"byweekday\":[\"Wed\"]}",
     {0},
     0,
     1943515815000LL,
     2038469415000LL,
     {1943775015000LL, 1946799015000LL, 1949823015000LL},
     3},
    /* 2020-05-11 09:00, 2020-05-12 09:00, 2020-05-13 09:00, 2020-05-14 09:00, 2020-05-15 09:00,
       2020-05-16 09:00, 2020-05-17 09:00, 2021-05-17 09:00 */
    {"yearly byweekno 20 without byweekday",
     "UTC",
     0,
     1577869200000LL,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":8,\"byweekno\":[20]}",
     {0},
     0,
     1577782800000LL,
     1672736400000LL,
     {1589187600000LL, 1589274000000LL, 1589360400000LL, 1589446800000LL, 1589533200000LL,
      1589619600000LL, 1589706000000LL, 1621242000000LL},
     8},
    /* 2020-12-30 09:00, 2021-12-29 09:00, 2022-12-28 09:00 */
    {"yearly byweekno -1, WKST Sunday",
     "UTC",
     6,
     1577869200000LL,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":3,\"byweekno\":[-1],\"byweekday\":[\"Wed\"]}",
     {0},
     0,
     1577782800000LL,
     1672736400000LL,
     {1609318800000LL, 1640768400000LL, 1672218000000LL},
     3},
    /* 2020-01-05 09:00, 2020-01-06 09:00, 2022-01-02 09:00, 2022-01-03 09:00 */
    {"yearly byweekno 1 interval 2, WKST Thursday",
     "UTC",
     3,
     1577869200000LL,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":2,\"count\":4,\"byweekno\":[1],\"byweekday\":[\"Mon\","
     "\"Sun\"]}",
     {0},
     0,
     1577782800000LL,
     1672736400000LL,
     {1578214800000LL, 1578301200000LL, 1641114000000LL, 1641200400000LL},
     4},
    /* 2020-04-09 09:00, 2021-04-10 09:00, 2022-04-10 09:00 */
    {"yearly byyearday 100 and bymonth 4",
     "UTC",
     0,
     1577869200000LL,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":3,\"byyearday\":[100],\"bymonth\":[4]}",
     {0},
     0,
     1577782800000LL,
     1672736400000LL,
     {1586422800000LL, 1618045200000LL, 1649581200000LL},
     3},
    /* 2020-05-18 09:00, 2021-05-17 09:00, 2022-05-16 09:00 */
    {"yearly 20th Monday limited to 1..18",
     "UTC",
     0,
     1577869200000LL,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":3,\"byweekday\":[\"20Mon\"],\"bymonthday\":[1,"
     "2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18]}",
     {0},
     0,
     1577782800000LL,
     1672736400000LL,
     {1589792400000LL, 1621242000000LL, 1652691600000LL},
     3},
    /* 1504-02-29 09:00, 1508-02-29 09:00, 1512-02-29 09:00 */
    {"Feb 29 from 1500 (Gregorian, not Julian)",
     "UTC",
     0,
     -14831737200000LL,
     3600000,
     "{\"freq\":\"yearly\",\"interval\":1,\"count\":3,\"bymonth\":[2],\"bymonthday\":[29]}",
     {0},
     0,
     -14831823600000LL,
     -14421542400000LL,
     {-14700495600000LL, -14574265200000LL, -14448034800000LL},
     3},
    /* 3000-03-28 09:00, 3000-04-25 09:00 */
    {"monthly last Friday in 3000 (past libical's 2582)",
     "Europe/Oslo",
     0,
     1577865600000LL,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"byweekday\":[\"-1Fri\"]}",
     {0},
     0,
     32508777600000LL,
     32514134400000LL,
     {32511139200000LL, 32513554800000LL},
     2},
    /* 9999-12-21 09:00, 9999-12-23 09:00, 9999-12-25 09:00, 9999-12-27 09:00, 9999-12-29 09:00,
       9999-12-31 09:00 */
    {"daily interval 2 in 9999",
     "UTC",
     0,
     1577869200000LL,
     1800000,
     "{\"freq\":\"daily\",\"interval\":2}",
     {0},
     0,
     253401264000000LL,
     253402297200000LL,
     {253401382800000LL, 253401555600000LL, 253401728400000LL, 253401901200000LL, 253402074000000LL,
      253402246800000LL},
     6},
    /* 2026-08-20 09:00, 2026-08-22 09:00, 2026-09-01 09:00, 2026-09-03 09:00, 2026-09-05 09:00,
       2026-09-15 09:00, 2026-09-17 09:00 */
    {"weekly with count far ahead",
     "America/New_York",
     6,
     1709647200000LL,
     3600000,
     "{\"freq\":\"weekly\",\"interval\":2,\"count\":200,\"byweekday\":[\"Tue\",\"Thu\",\"Sat\"]}",
     {0},
     0,
     1787184000000LL,
     1792368000000LL,
     {1787230800000LL, 1787403600000LL, 1788267600000LL, 1788440400000LL, 1788613200000LL,
      1789477200000LL, 1789650000000LL},
     7},
    /* 2026-07-26 09:00, 2026-07-29 09:00, 2026-08-01 09:00, 2026-08-04 09:00, 2026-08-07 09:00,
       2026-08-10 09:00, 2026-08-13 09:00, 2026-08-16 09:00, 2026-08-19 09:00 */
    {"daily with count far ahead",
     "Europe/Oslo",
     0,
     1709625600000LL,
     3600000,
     "{\"freq\":\"daily\",\"interval\":3,\"count\":300}",
     {0},
     0,
     1784937600000LL,
     1790121600000LL,
     {1785049200000LL, 1785308400000LL, 1785567600000LL, 1785826800000LL, 1786086000000LL,
      1786345200000LL, 1786604400000LL, 1786863600000LL, 1787122800000LL},
     9},
    /* 2044-02-29 09:00 */
    {"February 5Mon",
     "UTC",
     0,
     1609491600000LL,
     3600000,
     "{\"freq\":\"monthly\",\"interval\":1,\"count\":3,\"byweekday\":[\"5Mon\"],\"bymonth\":[2]}",
     {0},
     0,
     2337897600000LL,
     2343254400000LL,
     {2340349200000LL},
     1},
};

static json_t *
parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    ck_assert_msg(v != NULL, "bad test JSON '%s': %s", text, e.text);
    return v;
}

/* Expands a case; returns ev_expand's result. r must hold a rule when c->rrule is set. */
static int
run(const struct xcase *c, ev_rrule *r, size_t max, ev_ilist *out, char *err, size_t errlen)
{
    ev_series s = {.start_ts = c->start,
                   .duration = c->duration,
                   .busy = 1,
                   .exdates = c->ex,
                   .n_exdates = c->n_ex};
    ev_expand_opts o = {.tz = ev_tz_get(c->tz),
                        .wkst = c->wkst,
                        .windowed = 1,
                        .ws = c->ws,
                        .we = c->we,
                        .max_instances = max};

    ck_assert_msg(o.tz != NULL, "%s: zone %s", c->name, c->tz);
    if (c->rrule != NULL) {
        json_t *j = parse(c->rrule);
        ck_assert_msg(ev_rrule_parse(j, c->start, r, err, errlen) == 0, "%s: %s", c->name, err);
        json_decref(j);
        s.rrule = r;
    }
    return ev_expand(&s, &o, out, err, errlen);
}

START_TEST(test_cases)
{
    const struct xcase *c = &cases[_i];
    ev_rrule *r = malloc(sizeof(*r));
    ev_ilist l = {0};
    char err[256] = "";

    ck_assert_ptr_nonnull(r);
    ck_assert_msg(run(c, r, 100000, &l, err, sizeof(err)) == 0, "%s: %s", c->name, err);
    ck_assert_msg(l.n == c->n, "%s: %zu instances, expected %zu (first %lld)", c->name, l.n, c->n,
                  l.n > 0 ? (long long)l.v[0].start : 0LL);
    for (size_t i = 0; i < c->n; i++) {
        ck_assert_msg(l.v[i].start == c->expect[i], "%s: [%zu] starts %lld, expected %lld", c->name,
                      i, (long long)l.v[i].start, (long long)c->expect[i]);
        ck_assert_msg(l.v[i].end == l.v[i].start + c->duration, "%s: [%zu] end", c->name, i);
        ck_assert_int_eq(l.v[i].busy, 1);
    }
    ev_ilist_free(&l);
    free(r);
}
END_TEST

static double
now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* An infinite daily rule queried 120 years after its start: 62 instances, fast. */
START_TEST(test_far_future_daily)
{
    const struct xcase c = {"far future daily",
                            "Europe/Oslo",
                            0,
                            1577865600000LL, /* 2020-01-01 09:00 CET */
                            3600000,
                            "{\"freq\":\"daily\",\"interval\":1}",
                            {0},
                            0,
                            5377795200000LL, /* 2140-06-01T00:00:00Z */
                            5383152000000LL, /* + 62 days */
                            {0},
                            0};
    ev_rrule *r = malloc(sizeof(*r));
    ev_ilist l = {0};
    char err[256] = "";
    double t0;

    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(ev_tz_get(c.tz)); /* load the zone outside the timing */
    /* and libical's (and ICU's) one-time set-up of the process, which the sanitizer build
     * makes slow: the first expansion of each forked test pays it */
    ck_assert_int_eq(run(&c, r, 100000, &l, err, sizeof(err)), 0);
    ev_ilist_free(&l);
    t0 = now_ms();
    ck_assert_int_eq(run(&c, r, 100000, &l, err, sizeof(err)), 0);
    ck_assert_msg(now_ms() - t0 < 50.0 * TIME_FACTOR, "took %.1f ms", now_ms() - t0);
    ck_assert_uint_eq(l.n, 62);
    ck_assert_int_eq(l.v[0].start, 5377820400000LL);  /* 2140-06-01 09:00 CEST */
    ck_assert_int_eq(l.v[61].start, 5383090800000LL); /* 2140-08-01 09:00 CEST */
    ev_ilist_free(&l);
    free(r);
}
END_TEST

/* More instances than the cap: an error, never a silently cut list. */
START_TEST(test_cap)
{
    const struct xcase c = {
        "cap", "UTC",         0,   T0, 1000, "{\"freq\":\"daily\",\"interval\":1}", {0}, 0,
        T0,    T0 + 62 * DAY, {0}, 0};
    ev_rrule *r = malloc(sizeof(*r));
    ev_ilist l = {0};
    char err[256] = "";

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(run(&c, r, 10, &l, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "recurrence: the expansion exceeds the limit of 10 instances");
    ev_ilist_free(&l);
    ck_assert_int_eq(run(&c, r, 63, &l, err, sizeof(err)), 0);
    ck_assert_uint_eq(l.n, 62);
    ev_ilist_free(&l);
    free(r);
}
END_TEST

/* A thread's work: expands every case three times, counting wrong results in *arg. */
static void *
expand_all(void *arg)
{
    size_t *bad = arg;
    ev_rrule *r = malloc(sizeof(*r));

    for (int round = 0; r != NULL && round < 3; round++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            const struct xcase *c = &cases[i];
            ev_ilist l = {0};
            char err[256] = "";
            json_error_t e;
            json_t *j = c->rrule != NULL ? json_loads(c->rrule, 0, &e) : NULL;
            ev_series s = {.start_ts = c->start,
                           .duration = c->duration,
                           .busy = 1,
                           .exdates = c->ex,
                           .n_exdates = c->n_ex};
            ev_expand_opts o = {.tz = ev_tz_get(c->tz),
                                .wkst = c->wkst,
                                .windowed = 1,
                                .ws = c->ws,
                                .we = c->we,
                                .max_instances = 100000};
            int ok = o.tz != NULL;
            if (ok && j != NULL) {
                ok = ev_rrule_parse(j, c->start, r, err, sizeof(err)) == 0;
                s.rrule = r;
            }
            ok = ok && ev_expand(&s, &o, &l, err, sizeof(err)) == 0 && l.n == c->n;
            for (size_t k = 0; ok && k < c->n; k++)
                ok = l.v[k].start == c->expect[k];
            *bad += !ok;
            json_decref(j);
            ev_ilist_free(&l);
        }
    }
    if (r == NULL)
        (*bad)++;
    free(r);
    return NULL;
}

/* The workers are threads: expansions (libical iterators, ev_tz zones) run concurrently. */
START_TEST(test_threads)
{
    pthread_t t[4];
    size_t bad[4] = {0};

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, expand_all, &bad[i]), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_msg(bad[i] == 0, "thread %d: %zu wrong expansions", i, bad[i]);
    }
}
END_TEST

/* Rules that can never match end at once: no occurrence, endTs 0. libical alone would scan
 * years up to 20000 for some of them (the 6th Monday took 0.7 s). */
START_TEST(test_never)
{
    static const char *const rules[] = {
        "{\"freq\":\"monthly\",\"interval\":1,\"count\":5,\"byweekday\":[\"6Mon\"]}",
        "{\"freq\":\"monthly\",\"interval\":1,\"count\":5,\"bymonth\":[2],\"bymonthday\":[30]}",
        "{\"freq\":\"yearly\",\"interval\":1,\"count\":5,\"bymonth\":[4],\"bymonthday\":[31]}",
        "{\"freq\":\"daily\",\"interval\":1,\"count\":5,\"bymonth\":[2],\"bymonthday\":[-30]}",
        "{\"freq\":\"daily\",\"interval\":7,\"count\":5,\"byweekday\":[\"Tue\"]}",
        "{\"freq\":\"weekly\",\"interval\":1,\"count\":5,\"byweekday\":[\"Mon\",\"Tue\"],"
        "\"bysetpos\":[3]}",
        "{\"freq\":\"monthly\",\"interval\":1,\"count\":5,\"byweekday\":[\"Mon\",\"1Tue\"]}",
        "{\"freq\":\"monthly\",\"interval\":1,\"count\":5,\"byweekday\":[\"1Mon\"],"
        "\"bymonthday\":[15]}",
        "{\"freq\":\"yearly\",\"interval\":1,\"count\":5,\"byyearday\":[1],\"bymonth\":[2]}",
        "{\"freq\":\"monthly\",\"interval\":12,\"count\":5,\"bymonthday\":[30]}",
        "{\"freq\":\"yearly\",\"interval\":4,\"count\":5,\"bymonth\":[2],\"bymonthday\":[29]}",
    };
    ev_rrule *r = malloc(sizeof(*r));
    char err[256] = "";

    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(ev_tz_get("UTC"));
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        json_t *j = parse(rules[i]);
        /* 2021-02-01 09:00 UTC: February, so interval 12 stays in February; 2021 is not a
         * leap year, nor are 2025, 2029... */
        ev_series s = {.start_ts = 1612170000000LL, .duration = 1000, .rrule = r};
        int64_t end = -1;
        double t0;
        ck_assert_msg(ev_rrule_parse(j, s.start_ts, r, err, sizeof(err)) == 0, "%s: %s", rules[i],
                      err);
        json_decref(j);
        t0 = now_ms();
        ck_assert_msg(ev_end_ts(&s, ev_tz_get("UTC"), 0, 100000, NULL, &end, err, sizeof(err)) == 0,
                      "%s: %s", rules[i], err);
        ck_assert_msg(now_ms() - t0 < 100.0 * TIME_FACTOR, "%s took %.1f ms", rules[i],
                      now_ms() - t0);
        ck_assert_msg(end == 0, "%s: endTs %lld", rules[i], (long long)end);
    }
    free(r);
}
END_TEST

struct end_case {
    const char *name;
    int64_t start, duration;
    const char *rrule;
    int64_t ex[2];
    size_t n_ex;
    int64_t end;
};

static const struct end_case end_cases[] = {
    {"single", 1000, 500, NULL, {0}, 0, 1500},
    {"infinite", T0, 3600000, "{\"freq\":\"weekly\",\"interval\":1}", {0}, 0, EV_END_FOREVER},
    {"count",
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":4}",
     {0},
     0,
     T0 + 3 * DAY + 3600000},
    {"count, last exdated",
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":4}",
     {T0 + 3 * DAY},
     1,
     T0 + 2 * DAY + 3600000},
    {"count, all exdated",
     T0,
     3600000,
     "{\"freq\":\"daily\",\"interval\":1,\"count\":1}",
     {T0},
     1,
     0},
    {"until",
     T0,
     10,
     "{\"freq\":\"daily\",\"interval\":1,\"until\":1609923600000}",
     {0},
     0,
     T0 + 2 * DAY + 10},
    {"count 739 weekly",
     T0,
     0,
     "{\"freq\":\"weekly\",\"interval\":1,\"count\":739}",
     {0},
     0,
     T0 + 738 * 7 * DAY},
};

START_TEST(test_end_ts)
{
    const struct end_case *c = &end_cases[_i];
    ev_rrule *r = malloc(sizeof(*r));
    ev_series s = {
        .start_ts = c->start, .duration = c->duration, .exdates = c->ex, .n_exdates = c->n_ex};
    char err[256] = "";
    int64_t end = -1;

    ck_assert_ptr_nonnull(r);
    if (c->rrule != NULL) {
        json_t *j = parse(c->rrule);
        ck_assert_int_eq(ev_rrule_parse(j, c->start, r, err, sizeof(err)), 0);
        json_decref(j);
        s.rrule = r;
    }
    ck_assert_msg(ev_end_ts(&s, ev_tz_get("UTC"), 0, 100000, NULL, &end, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_msg(end == c->end, "%s: %lld, expected %lld", c->name, (long long)end,
                  (long long)c->end);
    free(r);
}
END_TEST

/* ev_starts_on_rule() (from the rule's filter, no libical) agrees with the expansion itself:
 * for every recurring case, started on each of 21 days at 3 times of day, the start is an
 * occurrence iff the windowed expansion at the start returns it. */
START_TEST(test_starts_on_rule)
{
    ev_rrule *r = malloc(sizeof(*r));
    size_t checked = 0, on_count = 0;

    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct xcase *c = &cases[i];
        const ev_tz *tz = ev_tz_get(c->tz);

        if (c->rrule == NULL)
            continue;
        for (int k = 0; k < 21 * 3; k++) {
            int64_t start = c->start + (k / 3) * DAY + (k % 3) * 7 * 3600000LL + 123;
            int64_t s0 = ev_floor_div(start, 1000) * 1000;
            ev_series s = {.start_ts = start, .duration = c->duration, .busy = 1};
            ev_expand_opts o = {.tz = tz,
                                .wkst = c->wkst,
                                .windowed = 1,
                                .ws = s0,
                                .we = s0 + c->duration,
                                .max_instances = 100000};
            json_t *j = parse(c->rrule);
            ev_ilist l = {0};
            char err[256] = "";
            int ok = ev_rrule_parse(j, start, r, err, sizeof(err)) == 0, on = -1, expect;

            json_decref(j);
            if (!ok)
                continue; /* e.g. an until now before the start */
            s.rrule = r;
            ck_assert_msg(ev_expand(&s, &o, &l, err, sizeof(err)) == 0, "%s: %s", c->name, err);
            expect = l.n > 0 && l.v[0].start == s0;
            ck_assert_int_eq(ev_starts_on_rule(&s, tz, c->wkst, NULL, &on, err, sizeof(err)), 0);
            ck_assert_msg(on == expect, "%s from %lld: starts_on_rule %d, expansion %d", c->name,
                          (long long)start, on, expect);
            checked++;
            on_count += (size_t)on;
            ev_ilist_free(&l);
        }
    }
    /* Both answers occur often enough for the comparison to mean something. */
    ck_assert_msg(checked > 1000 && on_count > 200 && checked - on_count > 200,
                  "%zu starts checked, %zu on their rule", checked, on_count);
    free(r);
}
END_TEST

/* Opens libical before a test times anything: it is opened at the first expansion (not
 * linked), and each test runs in a process of its own. */
static void
warm_libical(void)
{
    ck_assert_ptr_nonnull(ev_libical_open());
}

static Suite *
expand_suite(void)
{
    Suite *s = suite_create("expand");
    TCase *tc = tcase_create("cases");

    tcase_add_checked_fixture(tc, warm_libical, NULL);

    tcase_add_loop_test(tc, test_cases, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, test_far_future_daily);
    tcase_add_test(tc, test_cap);
    tcase_add_test(tc, test_never);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_starts_on_rule);
    tcase_add_loop_test(tc, test_end_ts, 0, sizeof(end_cases) / sizeof(end_cases[0]));
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(expand_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ev_tz_cache_clear();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
