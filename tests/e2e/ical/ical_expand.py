#!/usr/bin/env python3
"""ical_expand.py: an independent reader of the iCalendar export for the e2e test
(tests/e2e/ical.test.mjs). Parses the file with Python's `icalendar`, expands each RRULE
with python-dateutil, converts local times with the IANA zone named by TZID (zoneinfo, the
system tz database, fold=0 as RFC 5545 3.3.5 reads gaps and overlaps), removes EXDATEs and
prints the instances starting in [FROM_MS, TO_MS) as lines "uid start_ms end_ms".

python-dateutil, like libical, yields only the days the rule selects. With --rfc-dtstart the
reader is strict RFC 5545 (3.8.5.3): DTSTART is always the first instance and counts towards
COUNT, even when the rule would not select it.

Usage: ical_expand.py [--rfc-dtstart] FILE FROM_MS TO_MS
"""
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Calendar

UTC = timezone.utc


def when(prop):
    """An aware datetime for a DATE-TIME property: TZID= read with zoneinfo, Z as UTC."""
    dt = prop.dt
    tzid = prop.params.get("TZID")
    if tzid is not None:
        return dt.replace(tzinfo=None).replace(tzinfo=ZoneInfo(str(tzid)))
    if dt.tzinfo is None:
        raise SystemExit("floating DATE-TIME without TZID: %r" % (prop.to_ical(),))
    return dt.astimezone(UTC)


def ms(dt):
    return int(dt.astimezone(UTC).timestamp()) * 1000


def exdates(ev):
    out = set()
    v = ev.get("EXDATE")
    if v is None:
        return out
    for lst in v if isinstance(v, list) else [v]:
        tzid = lst.params.get("TZID")
        for d in lst.dts:
            dt = d.dt
            if tzid is not None:
                dt = dt.replace(tzinfo=None).replace(tzinfo=ZoneInfo(str(tzid)))
            out.add(ms(dt))
    return out


def rfc_instances(rule, start):
    """The rule's occurrences with DTSTART always first and counted in COUNT."""
    count = rule._count
    n = 0
    first = True
    for occ in rule:
        if first:
            first = False
            if occ != start:
                yield start
                n += 1
                if count and n >= count:
                    return
        yield occ
        n += 1
        if count and n >= count:
            return
    if first:
        yield start


def main():
    args = sys.argv[1:]
    strict = args[:1] == ["--rfc-dtstart"]
    if strict:
        args = args[1:]
    path, lo, hi = args[0], int(args[1]), int(args[2])
    with open(path, "rb") as f:
        cal = Calendar.from_ical(f.read())
    for ev in cal.walk("VEVENT"):
        uid = str(ev["UID"])
        start = when(ev["DTSTART"])
        if "DURATION" in ev:
            dur = ev["DURATION"].dt
        else:
            dur = when(ev["DTEND"]) - start
        dur_ms = int(dur.total_seconds() * 1000)
        if "RRULE" not in ev:
            s = ms(start)
            if lo <= s < hi:
                print(uid, s, s + dur_ms)
            continue
        rule = rrulestr(ev["RRULE"].to_ical().decode(), dtstart=start)
        skip = exdates(ev)
        hi_dt = datetime.fromtimestamp(hi / 1000, UTC)
        for occ in rfc_instances(rule, start) if strict else rule:
            if occ.astimezone(UTC) >= hi_dt:
                break
            s = ms(occ)
            if s in skip or s < lo:
                continue
            print(uid, s, s + dur_ms)


if __name__ == "__main__":
    main()
