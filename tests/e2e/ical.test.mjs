// iCalendar export: GET /calendar/{calendarId}/ical (owner) and
// GET /user/calendar/{calendarId}/ical (admin). The exported file is read back by two
// readers, libical (ical/ical_expand.c, built as nettu-ical-expand) and Python's icalendar
// with python-dateutil and zoneinfo (ical/ical_expand.py), and their instances over a year
// that crosses DST changes are compared with the server's own expansion (the instances
// route), for every recurrence feature the API accepts. Also: the file's shape (UID, DTSTAMP,
// UTC and TZID times, VTIMEZONE, TRANSP, no metadata, CRLF, 75-octet folding), ownership
// and cross-account 404s, 401s, and the size limit.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import {
  DAY,
  HOUR,
  NettuClient,
  assertError,
  assertOk,
  config,
  rsaKeyPair,
  startServer,
  userToken,
} from "./harness.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LIBICAL_READER = process.env.NETTU_ICAL_EXPAND || path.resolve(HERE, "../../build/tests/e2e/nettu-ical-expand");
const PYTHON = process.env.NETTU_PYTHON || "python3";
const PY_READER = path.join(HERE, "ical", "ical_expand.py");

// The year compared: 2026 (Europe/Oslo changes on Mar 29 and Oct 25, America/New_York on
// Mar 8 and Nov 1).
const FROM = Date.UTC(2026, 0, 1);
const TO = Date.UTC(2027, 0, 1);

let srv;
let admin;
let accountId;
const KEY = rsaKeyPair();
let other; // account B: {admin, apiKey, accountId, key}

before(async () => {
  srv = await startServer();
  config.baseUrl = srv.baseUrl;
  admin = NettuClient({ apiKey: srv.apiKey });
  accountId = assertOk(await admin.account.me()).account.id;
  assertOk(await admin.account.setPublicSigningKey(KEY.publicKey));
  const b = assertOk(await NettuClient().account.create({ code: srv.secret }), 201);
  const bAdmin = NettuClient({ apiKey: b.secretApiKey });
  const bKey = rsaKeyPair();
  assertOk(await bAdmin.account.setPublicSigningKey(bKey.publicKey));
  other = { admin: bAdmin, apiKey: b.secretApiKey, accountId: b.account.id, key: bKey };
});

after(async () => {
  if (srv) await srv.stop();
});

/* ---- helpers ------------------------------------------------------------------------------ */

const adminHeaders = (apiKey = srv.apiKey) => ({ "x-api-key": apiKey });
const userHeaders = (userId, key = KEY, account = accountId) => ({
  authorization: `Bearer ${userToken(key.privateKey, userId)}`,
  "nettu-account": account,
});

async function newUser(client = admin) {
  return assertOk(await client.user.create(), 201).user;
}

async function newCalendar(userId, data, client = admin) {
  return assertOk(await client.calendar.create(userId, data), 201).calendar;
}

async function newEvent(userId, data, client = admin) {
  return assertOk(await client.events.create(userId, data), 201, JSON.stringify(data)).event;
}

// GET the admin export; asserts 200 and the content type; returns the text.
async function exportAdmin(calId, apiKey = srv.apiKey) {
  const res = await srv.request("GET", `/user/calendar/${calId}/ical`, { headers: adminHeaders(apiKey) });
  assert.equal(res.status, 200, `export: ${res.text}`);
  assert.equal(res.headers.get("content-type"), "text/calendar; charset=utf-8");
  return res.text;
}

// Local wall-clock time in `tz` as a UTC timestamp (ms), for event starts.
function localTs(tz, y, mo, d, h, mi = 0) {
  let guess = Date.UTC(y, mo - 1, d, h, mi);
  for (let i = 0; i < 3; i++) {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    }).formatToParts(new Date(guess));
    const get = (t) => Number(parts.find((p) => p.type === t).value);
    const shown = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"));
    guess += Date.UTC(y, mo - 1, d, h, mi) - shown;
  }
  return guess;
}

// The server's instances of an event starting in [FROM, TO), from the instances route over
// overlapping windows of at most 62 days, as "start end" strings.
async function serverInstances(ev) {
  const seen = new Set();
  const step = 60 * DAY;
  for (let ws = FROM - DAY; ws < TO; ws += step) {
    const we = ws + step + ev.duration + 1000;
    const r = assertOk(await admin.events.getInstances(ev.id, { startTs: ws, endTs: we }));
    for (const i of r.instances) if (i.startTs >= FROM && i.startTs < TO) seen.add(`${i.startTs} ${i.endTs}`);
  }
  return [...seen].sort();
}

// Runs a reader over the exported text: Map uid -> sorted "start end" strings.
function readWith(cmd, args, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nettu-ical-"));
  const file = path.join(dir, "cal.ics");
  fs.writeFileSync(file, text);
  try {
    const out = execFileSync(cmd, [...args, file, String(FROM), String(TO)], { encoding: "utf8" });
    const byUid = new Map();
    for (const line of out.split("\n")) {
      if (!line) continue;
      const [uid, s, e] = line.split(" ");
      if (!byUid.has(uid)) byUid.set(uid, []);
      byUid.get(uid).push(`${s} ${e}`);
    }
    for (const v of byUid.values()) v.sort();
    return byUid;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const readLibical = (text) => readWith(LIBICAL_READER, [], text);
const readPython = (text) => readWith(PYTHON, [PY_READER], text);
// A strict RFC 5545 reader: DTSTART is always the first instance and counts in COUNT.
const readStrict = (text) => readWith(PYTHON, [PY_READER, "--rfc-dtstart"], text);

// Unfolds an iCalendar text (RFC 5545 3.1) into its content lines.
const unfold = (text) => text.replace(/\r\n[ \t]/g, "").split("\r\n").filter((l) => l.length);

// The VEVENT blocks of an unfolded text, by UID.
function vevents(text) {
  const lines = unfold(text);
  const out = new Map();
  let cur = null;
  for (const l of lines) {
    if (l === "BEGIN:VEVENT") cur = [];
    else if (l === "END:VEVENT") {
      const uid = cur.find((x) => x.startsWith("UID:")).slice(4);
      out.set(uid, cur);
      cur = null;
    } else if (cur) cur.push(l);
  }
  return out;
}

// Asserts the RFC 5545 framing: CRLF line ends only, no line over 75 octets.
function assertFraming(text) {
  assert.ok(text.endsWith("\r\n"), "ends with CRLF");
  assert.ok(!/[^\r]\n/.test(text), "every line ends with CRLF");
  for (const line of text.split("\r\n")) {
    assert.ok(Buffer.byteLength(line, "utf8") <= 75, `line over 75 octets: ${line}`);
  }
  const lines = unfold(text);
  assert.equal(lines[0], "BEGIN:VCALENDAR");
  assert.equal(lines[lines.length - 1], "END:VCALENDAR");
  assert.ok(lines.includes("VERSION:2.0"));
  assert.ok(lines.some((l) => l.startsWith("PRODID:")));
}

// Asserts a 422 error reply (`{error: "unprocessable", message}`) whose message matches re.
function assert422(res, re) {
  assert.equal(res.status, 422, res.text);
  assert.match(String(res.headers.get("content-type")), /^application\/json\b/);
  assert.equal(res.json.error, "unprocessable");
  assert.match(res.json.message, re);
}

/* ---- the rules compared ------------------------------------------------------------------ */

// Each case: [name, zone, weekStart, start (local y, m, d, h, mi), recurrence, extra]; extra:
// exdates (local times), libical: false for local times in a DST gap or overlap, which
// libical 3.0.16 resolves against RFC 5545 3.3.5 (plugins/time/README.md).
const CASES = [
  ["daily interval 3, count 100", "Europe/Oslo", "Mon", [2026, 1, 2, 9, 30], { freq: "daily", interval: 3, count: 100 }],
  ["daily until, over both DST changes", "Europe/Oslo", "Mon", [2026, 3, 20, 7, 15],
    { freq: "daily", interval: 1, until: Date.UTC(2026, 10, 5) }],
  ["weekly Mon/Wed/Fri, interval 2", "Europe/Oslo", "Mon", [2026, 1, 5, 9, 0],
    { freq: "weekly", interval: 2, byweekday: ["Mon", "Wed", "Fri"] }],
  ["weekly interval 2, week start Sunday", "America/New_York", "Sun", [2026, 1, 4, 18, 0],
    { freq: "weekly", interval: 2, byweekday: ["Sun", "Tue"] }],
  ["weekly, week start Wednesday, count", "America/New_York", "Wed", [2026, 1, 7, 8, 0],
    { freq: "weekly", interval: 3, count: 30, byweekday: [2, 5] }],
  ["monthly last Friday", "Europe/Oslo", "Mon", [2026, 1, 30, 16, 0], { freq: "monthly", interval: 1, byweekday: ["-1Fri"] }],
  ["monthly 2nd Tuesday, until", "America/New_York", "Sun", [2026, 1, 13, 12, 0],
    { freq: "monthly", interval: 1, byweekday: ["2Tue"], until: Date.UTC(2026, 11, 31) }],
  ["monthly days 1, 15 and last", "Europe/Oslo", "Mon", [2026, 1, 1, 10, 0],
    { freq: "monthly", interval: 1, bymonthday: [1, 15, -1] }],
  ["monthly last weekday (bysetpos)", "Europe/Oslo", "Mon", [2026, 1, 30, 14, 0],
    { freq: "monthly", interval: 1, byweekday: ["Mon", "Tue", "Wed", "Thu", "Fri"], bysetpos: [-1] }],
  ["monthly interval 2, count 5", "America/New_York", "Sun", [2026, 1, 31, 9, 0],
    { freq: "monthly", interval: 2, count: 5 }],
  ["yearly byyearday", "Europe/Oslo", "Mon", [2026, 1, 1, 9, 0], { freq: "yearly", interval: 1, byyearday: [1, 88, 200, 298, -1] }],
  ["yearly bymonth on DTSTART's day", "Europe/Oslo", "Mon", [2026, 1, 15, 9, 0],
    { freq: "yearly", interval: 1, bymonth: [1, 4, 7, 10] }],
  ["yearly last Sunday of March and October (the DST days)", "Europe/Oslo", "Mon", [2026, 3, 29, 9, 30],
    { freq: "yearly", interval: 1, bymonth: [3, 10], byweekday: ["-1Sun"], count: 6 }],
  ["yearly first Sunday of November (New York's change)", "America/New_York", "Sun", [2026, 11, 1, 9, 0],
    { freq: "yearly", interval: 1, bymonth: [11], byweekday: ["1Sun"] }],
  ["yearly byweekno", "Europe/Oslo", "Mon", [2026, 3, 2, 9, 0],
    { freq: "yearly", interval: 1, byweekno: [10, 30], byweekday: ["Mon", "Thu"] }],
  ["daily with exdates around the spring change", "Europe/Oslo", "Mon", [2026, 3, 25, 9, 30],
    { freq: "daily", interval: 1, count: 12 }, { exdates: [[2026, 3, 28, 9, 30], [2026, 3, 29, 9, 30], [2026, 4, 1, 9, 30]] }],
  ["weekly with an exdate after the fall change", "America/New_York", "Sun", [2026, 10, 6, 9, 0],
    { freq: "weekly", interval: 1, byweekday: ["Tue"], count: 8 }, { exdates: [[2026, 11, 3, 9, 0]] }],
  // Starts that are not an occurrence of their rule: expansion (dateutil) does not add them,
  // strict RFC 5545 readers would; the export writes an EXDATE for DTSTART and turns COUNT
  // into UNTIL so that both kinds of reader agree.
  ["weekly Tue/Thu from a Monday, count", "Europe/Oslo", "Mon", [2026, 3, 16, 9, 0],
    { freq: "weekly", interval: 1, byweekday: ["Tue", "Thu"], count: 6 }],
  ["monthly 15th from the 5th, count, exdate", "America/New_York", "Sun", [2026, 1, 5, 9, 0],
    { freq: "monthly", interval: 1, bymonthday: [15], count: 4 }, { exdates: [[2026, 2, 15, 9, 0]] }],
  ["monthly last Friday from a Monday, until", "Europe/Oslo", "Mon", [2026, 2, 2, 17, 0],
    { freq: "monthly", interval: 1, byweekday: ["-1Fri"], until: Date.UTC(2026, 9, 31) }],
  // A UTC calendar and a backward-compatible link name.
  ["UTC calendar, daily interval 2 until", "UTC", "Mon", [2026, 1, 1, 23, 45],
    { freq: "daily", interval: 2, until: Date.UTC(2026, 11, 31) }],
  ["US/Eastern (a link name), weekly", "US/Eastern", "Sun", [2026, 1, 6, 7, 0],
    { freq: "weekly", interval: 1, byweekday: ["Tue"] }],
  // A zone name with a sign in it, written as a TZID parameter.
  ["Etc/GMT+5, weekly", "Etc/GMT+5", "Mon", [2026, 1, 5, 9, 0],
    { freq: "weekly", interval: 1, byweekday: ["Mon", "Fri"], count: 40 }],
  // Half-hour DST changes (April 5 and October 4, 2026) and a zone without DST.
  ["Australia/Lord_Howe, daily 09:00 for 60 days around April", "Australia/Lord_Howe", "Mon", [2026, 3, 10, 9, 0],
    { freq: "daily", interval: 1, count: 60 }],
  ["Asia/Kolkata, monthly second-last day", "Asia/Kolkata", "Mon", [2026, 1, 30, 20, 0],
    { freq: "monthly", interval: 1, bymonthday: [-2] }],
  // Weekly intervals from a day that is not the week start.
  ["weekly interval 2 from a Thursday", "Europe/Oslo", "Mon", [2026, 1, 8, 9, 0],
    { freq: "weekly", interval: 2, byweekday: ["Tue", "Thu"] }],
  ["weekly interval 3, week start Saturday, Wednesdays from a Monday", "Europe/Oslo", "Sat", [2026, 1, 5, 9, 0],
    { freq: "weekly", interval: 3, byweekday: ["Wed"] }, { libical: false }],
  // bysetpos in a weekly rule: libical 3.0.16 ignores it (plugins/time/README.md).
  ["weekly first of Mon/Wed/Fri (bysetpos)", "Europe/Oslo", "Mon", [2026, 1, 5, 9, 0],
    { freq: "weekly", interval: 1, byweekday: ["Mon", "Wed", "Fri"], bysetpos: [1] }, { libical: false }],
  // Local times in the spring gap (02:30 becomes 03:30) and the fall overlap (the first).
  ["daily 02:30 over the spring gap", "Europe/Oslo", "Mon", [2026, 3, 27, 2, 30],
    { freq: "daily", interval: 1, count: 5 }, { libical: false }],
  ["daily 01:30 over the fall overlap", "America/New_York", "Sun", [2026, 10, 30, 1, 30],
    { freq: "daily", interval: 1, count: 5 }, { libical: false }],
];

test("export round-trips: libical and python-dateutil read the same instances as the server's expansion", async () => {
  const user = await newUser();
  const cals = new Map();
  const calFor = async (tz, weekStart) => {
    const k = `${tz} ${weekStart}`;
    if (!cals.has(k)) cals.set(k, await newCalendar(user.id, { timezone: tz, weekStart }));
    return cals.get(k);
  };
  const events = [];
  for (const [name, tz, ws, start, recurrence, extra = {}] of CASES) {
    const cal = await calFor(tz, ws);
    const startTs = localTs(tz, ...start);
    let ev = await newEvent(user.id, { calendarId: cal.id, startTs, duration: HOUR, busy: true, recurrence });
    if (extra.exdates) {
      const exdates = extra.exdates.map((d) => localTs(tz, ...d));
      ev = assertOk(await admin.events.update(ev.id, { exdates })).event;
    }
    events.push({ name, cal, ev, libical: extra.libical !== false });
  }
  // Non-recurring events, busy and free, and one with milliseconds.
  const oslo = await calFor("Europe/Oslo", "Mon");
  for (const [name, startTs, busy] of [
    ["single busy", localTs("Europe/Oslo", 2026, 3, 29, 3, 0), true],
    ["single free", localTs("Europe/Oslo", 2026, 10, 25, 2, 30), false],
  ]) {
    const ev = await newEvent(user.id, { calendarId: oslo.id, startTs, duration: 90 * 60000, busy });
    events.push({ name, cal: oslo, ev, libical: true });
  }

  for (const cal of cals.values()) {
    const text = await exportAdmin(cal.id);
    assertFraming(text);
    const mine = events.filter((e) => e.cal.id === cal.id);
    const blocks = vevents(text);
    assert.equal(blocks.size, mine.length, "one VEVENT per event");
    const lib = readLibical(text);
    const py = readPython(text);
    const strict = readStrict(text);
    for (const { name, ev, libical } of mine) {
      const expected = await serverInstances(ev);
      assert.ok(expected.length > 0, `${name}: the server expands something`);
      if (process.env.NETTU_ICAL_DEBUG) console.log(name, expected.length, expected[0], expected[expected.length - 1]);
      if (libical) assert.deepEqual(lib.get(ev.id) || [], expected, `${name}: libical reads the server's instances`);
      assert.deepEqual(py.get(ev.id) || [], expected, `${name}: python-dateutil reads the server's instances`);
      assert.deepEqual(strict.get(ev.id) || [], expected, `${name}: a strict RFC 5545 reader gets them too`);
    }
  }
});

test("the file's shape: UID, DTSTAMP, UTC single events, TZID recurring ones, VTIMEZONE, TRANSP, no metadata", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "Europe/Oslo", weekStart: "Mon" });
  const secret = 'Top secret; "board" meeting, with \\ backslash and ünïcödé — ' + "x".repeat(400);
  const single = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: Date.UTC(2026, 5, 1, 12, 0, 0, 250),
    duration: 2 * HOUR,
    busy: true,
    metadata: { title: secret, note: "metadata-must-not-leak" },
  });
  const series = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: localTs("Europe/Oslo", 2026, 1, 5, 9, 0),
    duration: 25 * HOUR + 30 * 60000 + 5000,
    busy: false,
    recurrence: { freq: "weekly", interval: 1, byweekday: ["Mon"], count: 10 },
    metadata: { title: "metadata-must-not-leak" },
  });
  const text = await exportAdmin(cal.id);
  assertFraming(text);
  assert.ok(!text.includes("metadata-must-not-leak") && !text.includes("secret"), "metadata is not exported");
  const lines = unfold(text);
  assert.ok(lines.includes("BEGIN:VTIMEZONE") && lines.includes("TZID:Europe/Oslo"), "the calendar's VTIMEZONE");
  const ev = vevents(text);
  const a = ev.get(single.id);
  assert.ok(a.includes(`UID:${single.id}`));
  assert.ok(a.some((l) => /^DTSTAMP:\d{8}T\d{6}Z$/.test(l)), "DTSTAMP in UTC");
  assert.ok(a.includes("DTSTART:20260601T120000Z"), a.join("\n"));
  assert.ok(a.includes("DTEND:20260601T140000Z"), a.join("\n"));
  assert.ok(a.includes("TRANSP:OPAQUE"));
  assert.ok(!a.some((l) => l.startsWith("RRULE")));
  const b = ev.get(series.id);
  assert.ok(b.includes("DTSTART;TZID=Europe/Oslo:20260105T090000"), b.join("\n"));
  assert.ok(b.includes("DURATION:PT25H30M5S"), "an exact duration, never nominal days");
  assert.ok(b.includes("TRANSP:TRANSPARENT"));
  const rrule = b.find((l) => l.startsWith("RRULE:"));
  // WKST=MO is RFC 5545's default, which libical leaves out.
  assert.equal(rrule, "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=MO");
});

test("long lines are folded at 75 octets and read back whole", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "America/New_York", weekStart: "Sun" });
  const yday = Array.from({ length: 120 }, (_, i) => 1 + 3 * i);
  const ev = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: localTs("America/New_York", 2026, 1, 1, 9, 0),
    duration: HOUR,
    busy: true,
    recurrence: { freq: "yearly", interval: 1, byyearday: yday },
  });
  // 40 exdates on occurrences (local 09:00 on days 1 + 6k) and 5 that remove nothing (08:00).
  const exdates = [];
  for (let k = 0; k < 40; k++) exdates.push(localTs("America/New_York", 2026, 1, 1 + 6 * k, 9, 0));
  for (let k = 0; k < 5; k++) exdates.push(localTs("America/New_York", 2026, 1, 4 + 30 * k, 8, 0));
  assertOk(await admin.events.update(ev.id, { exdates }));
  const text = await exportAdmin(cal.id);
  assertFraming(text);
  const raw = text.split("\r\n");
  assert.ok(raw.some((l) => l.startsWith(" ")), "some lines are folded");
  const rrule = vevents(text).get(ev.id).find((l) => l.startsWith("RRULE:"));
  assert.equal(rrule, `RRULE:FREQ=YEARLY;BYYEARDAY=${yday.join(",")};WKST=SU`);
  assert.equal(vevents(text).get(ev.id).filter((l) => l.startsWith("EXDATE;TZID=America/New_York:")).length, 45);
  const expected = await serverInstances(ev);
  assert.deepEqual(readLibical(text).get(ev.id), expected, "libical");
  assert.deepEqual(readPython(text).get(ev.id), expected, "python-dateutil");
});

test("owner route: the end user's own calendar; others' calendars and other accounts are 404", async () => {
  const alice = await newUser();
  const bob = await newUser();
  const cal = await newCalendar(alice.id, { timezone: "UTC" });
  await newEvent(alice.id, { calendarId: cal.id, startTs: Date.UTC(2026, 0, 1), duration: HOUR });

  const own = await srv.request("GET", `/calendar/${cal.id}/ical`, { headers: userHeaders(alice.id) });
  assert.equal(own.status, 200, own.text);
  assert.equal(own.headers.get("content-type"), "text/calendar; charset=utf-8");
  assert.equal(own.text, await exportAdmin(cal.id), "the owner and the admin get the same file");

  assertError(await srv.request("GET", `/calendar/${cal.id}/ical`, { headers: userHeaders(bob.id) }), 404, "another user");
  assertError(
    await srv.request("GET", `/calendar/${crypto.randomUUID()}/ical`, { headers: userHeaders(alice.id) }),
    404,
    "unknown calendar",
  );
  assertError(await srv.request("GET", `/calendar/not-a-uuid/ical`, { headers: userHeaders(alice.id) }), 404, "not a UUID");

  // Account B: its admin and its users do not see account A's calendar.
  assertError(
    await srv.request("GET", `/user/calendar/${cal.id}/ical`, { headers: adminHeaders(other.apiKey) }),
    404,
    "admin of another account",
  );
  const carol = await newUser(other.admin);
  assertError(
    await srv.request("GET", `/calendar/${cal.id}/ical`, { headers: userHeaders(carol.id, other.key, other.accountId) }),
    404,
    "user of another account",
  );
  // A token of account A's user presented to account B fails authentication.
  assertError(
    await srv.request("GET", `/calendar/${cal.id}/ical`, { headers: userHeaders(alice.id, KEY, other.accountId) }),
    401,
    "token for the wrong account",
  );
  // And B's own calendar exports for B's admin.
  const bCal = await newCalendar(carol.id, { timezone: "UTC" }, other.admin);
  const bText = await exportAdmin(bCal.id, other.apiKey);
  assert.ok(!bText.includes("BEGIN:VEVENT"), "an empty calendar has no VEVENT");
});

test("authentication: 401 without or with bad credentials; the admin route needs the API key", async () => {
  const alice = await newUser();
  const cal = await newCalendar(alice.id, { timezone: "UTC" });
  assertError(await srv.request("GET", `/calendar/${cal.id}/ical`), 401, "no credentials");
  assertError(await srv.request("GET", `/user/calendar/${cal.id}/ical`), 401, "admin route without a key");
  assertError(
    await srv.request("GET", `/user/calendar/${cal.id}/ical`, { headers: adminHeaders("sk_" + "x".repeat(30)) }),
    401,
    "wrong API key",
  );
  assertError(
    await srv.request("GET", `/user/calendar/${cal.id}/ical`, { headers: userHeaders(alice.id) }),
    401,
    "end-user token on the admin route",
  );
  const forged = rsaKeyPair();
  assertError(
    await srv.request("GET", `/calendar/${cal.id}/ical`, { headers: userHeaders(alice.id, forged) }),
    401,
    "token signed with another key",
  );
});

test("concurrent exports (both workers, zones loaded for the first time) give the same files", async () => {
  const user = await newUser();
  const zones = ["Australia/Lord_Howe", "America/St_Johns", "Asia/Kolkata"];
  const cals = [];
  for (const tz of zones) {
    const cal = await newCalendar(user.id, { timezone: tz, weekStart: "Tue" });
    for (let i = 0; i < 5; i++) {
      await newEvent(user.id, {
        calendarId: cal.id,
        startTs: localTs(tz, 2026, 2, 2 + i, 9 + i),
        duration: HOUR,
        busy: i % 2 === 0,
        recurrence: { freq: "weekly", interval: 1 + i, byweekday: ["Mon", "Thu"], count: 10 + i },
      });
    }
    cals.push(cal);
  }
  const get = (cal) =>
    srv.request("GET", `/user/calendar/${cal.id}/ical`, { headers: adminHeaders() }).then((r) => {
      assert.equal(r.status, 200, r.text);
      return r.text;
    });
  const first = await Promise.all(cals.flatMap((c) => [get(c), get(c), get(c)]));
  for (let i = 0; i < cals.length; i++) {
    const want = await get(cals[i]);
    for (let k = 0; k < 3; k++) assert.equal(first[i * 3 + k], want, `${zones[i]}: same file`);
    assert.ok(unfold(want).includes(`TZID:${zones[i]}`));
    assert.equal(vevents(want).size, 5);
  }
});

test("a rule libical cannot hold (interval over 32767) is 422 naming the event", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "Europe/Oslo" });
  const ev = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: Date.UTC(2026, 0, 1, 8),
    duration: HOUR,
    recurrence: { freq: "daily", interval: 40000 },
  });
  const res = await srv.request("GET", `/user/calendar/${cal.id}/ical`, { headers: adminHeaders() });
  assert422(res, new RegExp(`${ev.id}.*interval`));
  assertOk(await admin.events.update(ev.id, { recurrence: { freq: "daily", interval: 30000 } }));
  const text = await exportAdmin(cal.id);
  assert.ok(unfold(text).includes("RRULE:FREQ=DAILY;INTERVAL=30000"), text);
});

test("events without instances are left out; a deleted calendar is 404", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "Europe/Oslo" });
  const gone = await newEvent(user.id, { calendarId: cal.id, startTs: Date.UTC(2026, 0, 1), duration: HOUR });
  assertOk(await admin.events.update(gone.id, { exdates: [Date.UTC(2026, 0, 1)] }));
  const all = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: Date.UTC(2026, 0, 1, 8),
    duration: HOUR,
    recurrence: { freq: "daily", interval: 1, count: 2 },
  });
  assertOk(await admin.events.update(all.id, { exdates: [Date.UTC(2026, 0, 1, 8), Date.UTC(2026, 0, 2, 8)] }));
  const kept = await newEvent(user.id, { calendarId: cal.id, startTs: Date.UTC(2026, 0, 3), duration: HOUR });
  const text = await exportAdmin(cal.id);
  const ev = vevents(text);
  assert.deepEqual([...ev.keys()], [kept.id]);
  assertOk(await admin.calendar.remove(cal.id));
  assertError(await srv.request("GET", `/user/calendar/${cal.id}/ical`, { headers: adminHeaders() }), 404, "deleted");
});

test("limits: more events than [events] ical_max_events, or more work than the request budget, is 422", async () => {
  const small = await startServer({ ini: { events: { ical_max_events: 3 } } });
  try {
    const h = { "x-api-key": small.apiKey };
    const u = (await small.request("POST", "/user", { headers: h, body: {} })).json.user;
    const c = (await small.request("POST", `/user/${u.id}/calendar`, { headers: h, body: { timezone: "UTC" } })).json
      .calendar;
    const add = (i) =>
      small.request("POST", `/user/${u.id}/events`, {
        headers: h,
        body: { calendarId: c.id, startTs: Date.UTC(2026, 0, 1 + i), duration: HOUR },
      });
    for (let i = 0; i < 3; i++) assert.equal((await add(i)).status, 201);
    const ok = await small.request("GET", `/user/calendar/${c.id}/ical`, { headers: h });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.text.match(/^BEGIN:VEVENT\r$/gm).length, 3);
    assert.equal((await add(3)).status, 201);
    const over = await small.request("GET", `/user/calendar/${c.id}/ical`, { headers: h });
    assert422(over, /ical_max_events/);
  } finally {
    await small.stop();
  }

  // A 1 ms CPU budget: 600 recurring events take more than that to export (about 15 us each
  // on a fast machine), and the export stops with the budget's 422 instead of going on.
  const tight = await startServer({ ini: { server: { request_cpu_ms: 1 } } });
  try {
    const h = { "x-api-key": tight.apiKey };
    const u = (await tight.request("POST", "/user", { headers: h, body: {} })).json.user;
    const c = (
      await tight.request("POST", `/user/${u.id}/calendar`, { headers: h, body: { timezone: "Europe/Oslo" } })
    ).json.calendar;
    for (let i = 0; i < 600; i += 50) {
      const batch = [];
      for (let j = i; j < i + 50; j++) {
        batch.push(
          tight.request("POST", `/user/${u.id}/events`, {
            headers: h,
            body: {
              calendarId: c.id,
              startTs: Date.UTC(2026, 0, 1 + (j % 200), 8),
              duration: HOUR,
              recurrence: { freq: "weekly", interval: 1, byweekday: ["Tue", "Thu"], count: 20 },
            },
          }),
        );
      }
      for (const r of await Promise.all(batch)) assert.equal(r.status, 201, r.text);
    }
    const res = await tight.request("GET", `/user/calendar/${c.id}/ical`, { headers: h });
    assert422(res, /request_cpu_ms/);
  } finally {
    await tight.stop();
  }
});
