// Calendar events, their expansion, calendar events in a window,
// free/busy (one user and the multi-user POST /user/freebusy), event permissions and
// deletion cascades, through the published client where it has a call.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, test } from "node:test";
import {
  DAY,
  HOUR,
  NettuClient,
  NettuUserClient,
  Permissions,
  UUID_RE,
  assertError,
  assertOk,
  config,
  rsaKeyPair,
  startServer,
  userToken,
} from "./harness.mjs";

let srv;
let admin;
let accountId;
const KEY = rsaKeyPair();
let other; // account B: {admin, apiKey, accountId}

const ALL = { allow: [Permissions.All] };
const LIMIT = 62 * DAY; // longest instance window

before(async () => {
  srv = await startServer();
  config.baseUrl = srv.baseUrl;
  admin = NettuClient({ apiKey: srv.apiKey });
  accountId = assertOk(await admin.account.me()).account.id;
  assertOk(await admin.account.setPublicSigningKey(KEY.publicKey));
  const b = assertOk(await NettuClient().account.create({ code: srv.secret }), 201);
  other = { admin: NettuClient({ apiKey: b.secretApiKey }), apiKey: b.secretApiKey, accountId: b.account.id };
});

after(async () => {
  if (srv) await srv.stop();
});

/* ---- helpers ------------------------------------------------------------------------------ */

async function newUser() {
  return assertOk(await admin.user.create(), 201).user;
}

async function newCalendar(userId, data = { timezone: "UTC" }) {
  return assertOk(await admin.calendar.create(userId, data), 201).calendar;
}

// A user with one UTC calendar: {user, cal}.
async function userWithCalendar(data) {
  const user = await newUser();
  return { user, cal: await newCalendar(user.id, data) };
}

async function newEvent(userId, data) {
  return assertOk(await admin.events.create(userId, data), 201).event;
}

function asUser(userId, policy) {
  return NettuUserClient({ token: userToken(KEY.privateKey, userId, policy), nettuAccount: accountId });
}

// The instances of an event in a window, through the admin client.
async function instances(eventId, startTs, endTs) {
  return assertOk(await admin.events.getInstances(eventId, { startTs, endTs })).instances;
}

const daily = (count, extra = {}) => ({ freq: "daily", interval: 1, count, ...extra });

// The full recurrence object the server prints for `rule` (all ten keys present).
const printed = (rule) => ({
  freq: null,
  interval: null,
  count: null,
  until: null,
  bysetpos: null,
  byweekday: null,
  bymonthday: null,
  bymonth: null,
  byyearday: null,
  byweekno: null,
  ...rule,
});

const inst = (startTs, duration, busy = false) => ({ startTs, endTs: startTs + duration, busy });

/* ---- create event --------------------------------------------------------------------------- */

test("admin events.create answers 201 {event} with every field printed", async () => {
  const { user, cal } = await userWithCalendar();
  const t0 = Date.now();
  const res = await admin.events.create(user.id, {
    calendarId: cal.id,
    startTs: 1893974400000,
    duration: HOUR,
    busy: true,
    metadata: { title: "Stand-up" },
  });
  const { event } = assertOk(res, 201);
  assert.match(event.id, UUID_RE);
  assert.deepEqual(
    { ...event, id: null, created: null, updated: null },
    {
      id: null,
      calendarId: cal.id,
      userId: user.id,
      startTs: 1893974400000,
      duration: HOUR,
      busy: true,
      created: null,
      updated: null,
      recurrence: null,
      exdates: [],
      reminders: [],
      metadata: { title: "Stand-up" },
      serviceId: null,
      reminder: null,
    },
  );
  assert.equal(event.created, event.updated);
  assert.ok(event.created >= t0 - 1000 && event.created <= Date.now() + 1000, "created is the server clock");
});

test("events.create defaults busy to false and metadata to {}", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: 1000 });
  assert.equal(event.busy, false);
  assert.deepEqual(event.metadata, {});
});

test("events.create accepts and ignores isService", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: 1000, isService: true });
  assert.equal(event.serviceId, null);
});

test("events.create validates required fields and types (400)", async () => {
  const { user, cal } = await userWithCalendar();
  const ok = { calendarId: cal.id, startTs: 0, duration: 1000 };
  const bad = [
    { ...ok, startTs: undefined },
    { ...ok, duration: undefined },
    { ...ok, calendarId: undefined },
    { ...ok, calendarId: "not-a-uuid" },
    { ...ok, startTs: "0" },
    { ...ok, startTs: 1.5 },
    { ...ok, duration: "1000" },
    { ...ok, busy: "yes" },
    { ...ok, metadata: { n: 1 } },
  ];
  for (const data of bad) assertError(await admin.events.create(user.id, data), 400, JSON.stringify(data));
});

test("events.create for an unknown user or a calendar not of that user answers 404", async () => {
  const { user, cal } = await userWithCalendar();
  const stranger = await userWithCalendar();
  assertError(
    await admin.events.create(crypto.randomUUID(), { calendarId: cal.id, startTs: 0, duration: 1 }),
    404,
  );
  assertError(
    await admin.events.create(user.id, { calendarId: crypto.randomUUID(), startTs: 0, duration: 1 }),
    404,
  );
  assertError(
    await admin.events.create(user.id, { calendarId: stranger.cal.id, startTs: 0, duration: 1 }),
    404,
  );
});

test("recurrence is printed with all ten keys and weekday numbers as names", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: HOUR,
    recurrence: { freq: "weekly", interval: 1, count: 10, byweekday: [0, 2] },
  });
  assert.deepEqual(
    event.recurrence,
    printed({ freq: "weekly", interval: 1, count: 10, byweekday: ["Mon", "Wed"] }),
  );
});

test("recurrence accepts weekday tokens with ordinals, RFC codes and month names", async () => {
  const { user, cal } = await userWithCalendar();
  const monthly = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: HOUR,
    recurrence: { freq: "monthly", interval: 1, count: 5, byweekday: ["1MO", "-1fri", "+2Tue"] },
  });
  assert.deepEqual(monthly.recurrence.byweekday, ["1Mon", "-1Fri", "2Tue"]);
  const yearly = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: HOUR,
    recurrence: { freq: "yearly", interval: 1, count: 4, bymonth: ["January", 3, "dec"], bymonthday: [1] },
  });
  assert.deepEqual(yearly.recurrence.bymonth, [1, 3, 12]);
  const echo = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: HOUR,
    recurrence: printed({ freq: "daily", interval: 2, count: 3 }),
  });
  assert.deepEqual(echo.recurrence, printed({ freq: "daily", interval: 2, count: 3 }), "null keys accepted");
});

test("an invalid recurrence answers 400", async () => {
  const { user, cal } = await userWithCalendar();
  const start = 1_000_000;
  const bad = [
    { freq: "hourly", interval: 1 },
    { interval: 1, count: 2 },
    { freq: "daily", interval: 0, count: 2 },
    { freq: "daily", interval: 1, count: 0 },
    { freq: "daily", interval: 1, count: 740 },
    { freq: "daily", interval: 1, until: start - 1 },
    { freq: "daily", interval: 1, until: start + 63_244_800_001 },
    { freq: "daily", interval: 1, count: 2, bysetpos: [1] },
    { freq: "weekly", interval: 1, count: 2, byweekday: [7] },
    { freq: "monthly", interval: 1, count: 2, byweekday: ["0Mon"] },
    { freq: "daily", interval: 1, count: "2" },
  ];
  for (const recurrence of bad) {
    const res = await admin.events.create(user.id, {
      calendarId: cal.id,
      startTs: start,
      duration: 1000,
      recurrence,
    });
    assertError(res, 400, JSON.stringify(recurrence));
  }
  for (const edge of [daily(739), { freq: "daily", interval: 1, until: start + 63_244_800_000 }]) {
    const res = await admin.events.create(user.id, {
      calendarId: cal.id,
      startTs: start,
      duration: 1000,
      recurrence: edge,
    });
    assertOk(res, 201, `limits are inclusive: ${JSON.stringify(edge)}`);
  }
});

test("(SHOULD) out-of-range by* values answer 400", async () => {
  const { user, cal } = await userWithCalendar();
  const bad = [
    { freq: "yearly", interval: 1, count: 2, bymonth: [13] },
    { freq: "monthly", interval: 1, count: 2, bymonthday: [32] },
    { freq: "yearly", interval: 1, count: 2, byyearday: [367] },
    { freq: "yearly", interval: 1, count: 2, byweekno: [54] },
    { freq: "monthly", interval: 1, count: 2, bymonthday: [1], bysetpos: [367] },
  ];
  for (const recurrence of bad) {
    const res = await admin.events.create(user.id, {
      calendarId: cal.id,
      startTs: 0,
      duration: 1000,
      recurrence,
    });
    assertError(res, 400, JSON.stringify(recurrence));
  }
});

test("reminder {minutesBefore} maps to reminders [{delta: -m, identifier: 'reminder'}]", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: 1000,
    reminder: { minutesBefore: 15 },
  });
  assert.deepEqual(event.reminders, [{ delta: -15, identifier: "reminder" }]);
  assert.deepEqual(event.reminder, { minutesBefore: 15 });
});

test("reminder view is -delta of the first reminder with delta <= 0", async () => {
  const { user, cal } = await userWithCalendar();
  const reminders = [
    { delta: 10, identifier: "after" },
    { delta: -30, identifier: "email" },
    { delta: -5, identifier: "push" },
  ];
  const event = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: 1000, reminders });
  assert.deepEqual(event.reminders, reminders);
  assert.deepEqual(event.reminder, { minutesBefore: 30 });
  const after = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: 1000,
    reminders: [reminders[0]],
  });
  assert.equal(after.reminder, null);
});

test("invalid reminders answer 400", async () => {
  const { user, cal } = await userWithCalendar();
  const base = { calendarId: cal.id, startTs: 0, duration: 1000 };
  const bad = [
    { reminders: [{ delta: 535_681, identifier: "x" }] },
    { reminders: [{ delta: -535_681, identifier: "x" }] },
    { reminders: [{ delta: -15 }] },
    { reminders: [{ identifier: "x" }] },
    { reminders: "x" },
    { reminder: { minutesBefore: 1441 } },
    { reminder: { minutesBefore: -1 } },
  ];
  for (const extra of bad)
    assertError(await admin.events.create(user.id, { ...base, ...extra }), 400, JSON.stringify(extra));
  const edge = {
    reminders: [
      { delta: 535_680, identifier: "a" },
      { delta: -535_680, identifier: "b" },
    ],
  };
  assertOk(await admin.events.create(user.id, { ...base, ...edge }), 201, "reminder limits are inclusive");
});

/* ---- get and delete event -------------------------------------------------------------------- */

test("events.findById answers 200 {event}; unknown 404", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 5,
    duration: 10,
    metadata: { a: "b" },
  });
  assert.deepEqual(assertOk(await admin.events.findById(event.id)).event, event);
  assertError(await admin.events.findById(crypto.randomUUID()), 404);
});

test("events.remove answers 200 with the event, then 404", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, { calendarId: cal.id, startTs: 5, duration: 10 });
  assert.deepEqual(assertOk(await admin.events.remove(event.id)).event, event);
  assertError(await admin.events.findById(event.id), 404);
  assertError(await admin.events.remove(event.id), 404);
});

test("account B's admin cannot see or touch account A's events (404)", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, { calendarId: cal.id, startTs: 5, duration: 10 });
  assertError(await other.admin.events.findById(event.id), 404);
  assertError(await other.admin.events.update(event.id, { busy: true }), 404);
  assertError(await other.admin.events.remove(event.id), 404);
  assertError(await other.admin.events.getInstances(event.id, { startTs: 0, endTs: DAY }), 404);
  assertError(await other.admin.events.create(user.id, { calendarId: cal.id, startTs: 0, duration: 1 }), 404);
  assert.deepEqual(assertOk(await admin.events.findById(event.id)).event, event);
});

/* ---- update event --------------------------------------------------------------------------- */

test("events.update changes only the fields sent and bumps updated", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: daily(10),
    reminders: [{ delta: -5, identifier: "r" }],
    metadata: { a: "1" },
  });
  const { event: upd } = assertOk(await admin.events.update(event.id, { busy: true }));
  assert.deepEqual({ ...upd, updated: 0 }, { ...event, busy: true, updated: 0 });
  assert.ok(upd.updated >= event.updated);
  assert.deepEqual(assertOk(await admin.events.findById(event.id)).event, upd);
});

test("update without recurrence keeps it; null removes it; an object sets it", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: daily(10),
  });
  const kept = assertOk(await admin.events.update(event.id, { exdates: [1000 + DAY] })).event;
  assert.deepEqual(kept.recurrence, printed(daily(10)), "absent keeps");
  const kept2 = assertOk(await admin.events.update(event.id, { metadata: { x: "y" }, busy: false })).event;
  assert.deepEqual(
    kept2.recurrence,
    printed(daily(10)),
    "absent keeps (published client sends changed fields only)",
  );
  const removed = assertOk(await admin.events.update(event.id, { recurrence: null })).event;
  assert.equal(removed.recurrence, null, "null removes");
  assert.deepEqual(await instances(event.id, 0, 11 * DAY), [inst(1000, 1000)], "single event again");
  const set = assertOk(
    await admin.events.update(event.id, { recurrence: { freq: "weekly", interval: 2, count: 3 } }),
  ).event;
  assert.deepEqual(set.recurrence, printed({ freq: "weekly", interval: 2, count: 3 }));
});

test("update replaces metadata, exdates and reminders when present", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: daily(5),
    metadata: { a: "1", b: "2" },
    reminders: [{ delta: -1, identifier: "one" }],
  });
  const upd = assertOk(
    await admin.events.update(event.id, {
      metadata: { c: "3" },
      exdates: [1000 + 2 * DAY],
      reminder: { minutesBefore: 7 },
    }),
  ).event;
  assert.deepEqual(upd.metadata, { c: "3" });
  assert.deepEqual(upd.exdates, [1000 + 2 * DAY]);
  assert.deepEqual(upd.reminders, [{ delta: -7, identifier: "reminder" }]);
  assert.deepEqual(upd.reminder, { minutesBefore: 7 });
});

test("changing startTs clears exdates, even ones sent in the same request", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: daily(10),
  });
  assertOk(await admin.events.update(event.id, { exdates: [1000 + DAY] }));
  const same = assertOk(await admin.events.update(event.id, { startTs: 1000 })).event;
  assert.deepEqual(same.exdates, [1000 + DAY], "an unchanged startTs keeps them");
  const moved = assertOk(await admin.events.update(event.id, { startTs: 2000, exdates: [2000 + DAY] })).event;
  assert.equal(moved.startTs, 2000);
  assert.deepEqual(moved.exdates, []);
});

test("moving the start past a stored until answers 400 and saves nothing", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: { freq: "daily", interval: 1, until: 1000 + 5 * DAY },
  });
  assertError(await admin.events.update(event.id, { startTs: 1000 + 10 * DAY, busy: true }), 400);
  assert.deepEqual(assertOk(await admin.events.findById(event.id)).event, event);
});

test("an invalid update answers 400 and saves nothing", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    metadata: { a: "1" },
  });
  const bad = [
    { metadata: { a: "2" }, recurrence: { freq: "daily", interval: 0 } },
    { metadata: { a: "2" }, reminders: [{ delta: 1e9, identifier: "x" }] },
    { metadata: { a: "2" }, startTs: "x" },
    { metadata: { a: 2 } },
    { metadata: { a: "2" }, exdates: ["x"] },
  ];
  for (const data of bad) assertError(await admin.events.update(event.id, data), 400, JSON.stringify(data));
  assert.deepEqual(assertOk(await admin.events.findById(event.id)).event, event);
});

test("events.update of an unknown event answers 404", async () => {
  assertError(await admin.events.update(crypto.randomUUID(), { busy: true }), 404);
});

/* ---- instances and expansion worked examples ------------------------------------------------- */

test("expansion: daily count 10 from 1000 in [20, 11 days] gives 10 instances", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: daily(10),
  });
  const want = Array.from({ length: 10 }, (_, k) => inst(1000 + k * DAY, 1000));
  assert.deepEqual(await instances(event.id, 20, 11 * DAY), want);
});

test("expansion: the same event in [11 days, 40 days] gives 0 instances", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: daily(10),
  });
  assert.deepEqual(await instances(event.id, 11 * DAY, 40 * DAY), []);
});

test("expansion: exdates [1000 + 1 day] gives 9; moving startTs clears them and gives 10", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: daily(10),
  });
  assertOk(await admin.events.update(event.id, { exdates: [1000 + DAY] }));
  const nine = await instances(event.id, 20, 11 * DAY);
  assert.equal(nine.length, 9);
  assert.ok(!nine.some((i) => i.startTs === 1000 + DAY), "the excluded day is gone");
  assertOk(await admin.events.update(event.id, { startTs: 1000 + DAY }));
  const ten = await instances(event.id, 20, 11 * DAY);
  assert.deepEqual(
    ten,
    Array.from({ length: 10 }, (_, k) => inst(1000 + DAY + k * DAY, 1000)),
  );
});

test("recurring instances must lie inside the window; count counts before exdates", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: HOUR,
    recurrence: daily(4),
    busy: true,
  });
  // Starts at 0 (before ws - 1) and the one ending after we are left out.
  assert.deepEqual(await instances(event.id, 10, 3 * DAY + HOUR - 1), [
    inst(DAY, HOUR, true),
    inst(2 * DAY, HOUR, true),
  ]);
  assert.deepEqual(
    await instances(event.id, 1, 4 * DAY),
    [0, 1, 2, 3].map((k) => inst(k * DAY, HOUR, true)),
    "ws - 1 is inclusive",
  );
  assertOk(await admin.events.update(event.id, { exdates: [2 * DAY + 999] }));
  assert.equal((await instances(event.id, 0, 10 * DAY)).length, 3, "exdate in the same second");
});

test("occurrences are whole seconds", async () => {
  const { user, cal } = await userWithCalendar();
  const start = 1521317491239;
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: start,
    duration: 1000,
    recurrence: daily(3),
  });
  const got = await instances(event.id, start - 1000, start + 3 * DAY);
  assert.deepEqual(
    got.map((i) => i.startTs),
    [0, 1, 2].map((k) => 1521317491000 + k * DAY),
  );
});

test("a weekly event keeps its local time across a DST change", async () => {
  const { user, cal } = await userWithCalendar({ timezone: "Europe/Oslo" });
  const start = Date.UTC(2021, 2, 22, 8, 0); // Mon 22 March 2021 09:00 in Oslo (UTC+1)
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: start,
    duration: HOUR,
    recurrence: { freq: "weekly", interval: 1, count: 2 },
  });
  const got = await instances(event.id, start, start + 8 * DAY);
  assert.deepEqual(
    got.map((i) => i.startTs),
    [start, Date.UTC(2021, 2, 29, 7, 0)],
    "09:00 local is 07:00Z after the switch",
  );
});

test("a non-recurring event always yields its single instance, whatever the window", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, { calendarId: cal.id, startTs: 5 * DAY, duration: HOUR, busy: true });
  assert.deepEqual(await instances(event.id, 0, 1000), [inst(5 * DAY, HOUR, true)]);
  assertOk(await admin.events.update(event.id, { exdates: [5 * DAY] }));
  assert.deepEqual(await instances(event.id, 0, 10 * DAY), [], "unless its start is an exdate");
});

test("instances: window longer than 62 days or missing bounds answers 400", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: HOUR,
    recurrence: daily(3),
  });
  assertOk(await admin.events.getInstances(event.id, { startTs: 0, endTs: LIMIT }), 200, "exactly 62 days");
  assertError(await admin.events.getInstances(event.id, { startTs: 0, endTs: LIMIT + 1 }), 400);
  assertError(await admin.events.getInstances(event.id, {}), 400, "the client sends 'undefined'");
  assertError(await admin.events.getInstances(crypto.randomUUID(), { startTs: 0, endTs: DAY }), 404);
});

test("instances answer {event, instances}", async () => {
  const { user, cal } = await userWithCalendar();
  const event = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: HOUR });
  const body = assertOk(await admin.events.getInstances(event.id, { startTs: 0, endTs: DAY }));
  assert.deepEqual(body.event, event);
  assert.deepEqual(body.instances, [inst(0, HOUR)]);
});

/* ---- calendar events in a window ------------------------------------------------------------ */

test("calendar.getEvents answers {calendar, events: [{event, instances}]} ordered by start", async () => {
  const { user, cal } = await userWithCalendar();
  const late = await newEvent(user.id, { calendarId: cal.id, startTs: 6 * HOUR, duration: 2 * HOUR });
  const early = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 1000,
    duration: 1000,
    recurrence: daily(10),
  });
  await newEvent(user.id, { calendarId: cal.id, startTs: 20 * DAY, duration: HOUR }); // outside
  const body = assertOk(await admin.calendar.getEvents(cal.id, 20, 11 * DAY));
  assert.deepEqual(body.calendar, cal);
  assert.deepEqual(
    body.events.map((e) => e.event.id),
    [early.id, late.id],
  );
  assert.equal(body.events[0].instances.length, 10);
  assert.deepEqual(body.events[1].event, late);
  assert.deepEqual(body.events[1].instances, [inst(6 * HOUR, 2 * HOUR)]);
});

test("calendar.getEvents: a single event overlapping the window edge is included", async () => {
  const { user, cal } = await userWithCalendar();
  const e = await newEvent(user.id, { calendarId: cal.id, startTs: 5 * HOUR, duration: 2 * HOUR });
  const body = assertOk(await admin.calendar.getEvents(cal.id, 6 * HOUR, 8 * HOUR));
  assert.deepEqual(
    body.events.map((x) => x.event.id),
    [e.id],
  );
  const none = assertOk(await admin.calendar.getEvents(cal.id, 7 * HOUR + 1, 9 * HOUR));
  assert.deepEqual(none.events, []);
});

test("calendar.getEvents drops recurring events without instances in the window", async () => {
  const { user, cal } = await userWithCalendar();
  await newEvent(user.id, { calendarId: cal.id, startTs: 1000, duration: 1000, recurrence: daily(10) });
  assert.deepEqual(assertOk(await admin.calendar.getEvents(cal.id, 11 * DAY, 40 * DAY)).events, []);
});

test("calendar.getEvents: window > 62 days or missing bounds 400; unknown calendar 404", async () => {
  const { cal } = await userWithCalendar();
  assertOk(await admin.calendar.getEvents(cal.id, 0, LIMIT));
  assertError(await admin.calendar.getEvents(cal.id, 0, LIMIT + 1), 400);
  assertError(await admin.calendar.getEvents(cal.id), 400);
  assertError(await admin.calendar.getEvents(crypto.randomUUID(), 0, DAY), 404);
  assertError(await other.admin.calendar.getEvents(cal.id, 0, DAY), 404, "another account");
});

test("end-user calendar.getEvents (admin path, user credentials) works for own calendars only", async () => {
  const { user, cal } = await userWithCalendar();
  const e = await newEvent(user.id, { calendarId: cal.id, startTs: HOUR, duration: HOUR });
  const client = asUser(user.id); // default policy: no permission needed
  const body = assertOk(await client.calendar.getEvents(cal.id, { startTs: 0, endTs: DAY }));
  assert.deepEqual(
    body.events.map((x) => x.event.id),
    [e.id],
  );
  const stranger = await userWithCalendar();
  assertError(await client.calendar.getEvents(stranger.cal.id, { startTs: 0, endTs: DAY }), 404);
  const raw = await srv.request("GET", `/calendar/${cal.id}/events?startTs=0&endTs=${DAY}`, {
    headers: { "nettu-account": accountId, authorization: `Bearer ${userToken(KEY.privateKey, user.id)}` },
  });
  assert.deepEqual(
    assertOk(raw).events.map((x) => x.event.id),
    [e.id],
    "user route 9",
  );
});

/* ---- end-user event routes and permissions -------------------------------------------------- */

test("end user with allow * creates, reads, updates, expands and deletes own events", async () => {
  const { user, cal } = await userWithCalendar();
  const client = asUser(user.id, ALL);
  const { event } = assertOk(
    await client.events.create({
      calendarId: cal.id,
      startTs: 0,
      duration: HOUR,
      busy: true,
      recurrence: daily(3),
      reminder: { minutesBefore: 10 },
    }),
    201,
  );
  assert.equal(event.userId, user.id);
  assert.deepEqual(assertOk(await client.events.findById(event.id)).event, event);
  const upd = assertOk(await client.events.update(event.id, { duration: 2 * HOUR })).event;
  assert.equal(upd.duration, 2 * HOUR);
  assert.deepEqual(upd.recurrence, printed(daily(3)));
  const got = assertOk(await client.events.getInstances(event.id, { startTs: 0, endTs: 3 * DAY })).instances;
  assert.deepEqual(
    got,
    [0, 1, 2].map((k) => inst(k * DAY, 2 * HOUR, true)),
  );
  assert.equal(assertOk(await client.events.remove(event.id)).event.id, event.id);
  assertError(await client.events.findById(event.id), 404);
});

test("end user cannot create events in, or see events of, another user (404)", async () => {
  const me = await userWithCalendar();
  const them = await userWithCalendar();
  const theirs = await newEvent(them.user.id, { calendarId: them.cal.id, startTs: 0, duration: 1 });
  const client = asUser(me.user.id, ALL);
  assertError(await client.events.create({ calendarId: them.cal.id, startTs: 0, duration: 1 }), 404);
  assertError(await client.events.findById(theirs.id), 404);
  assertError(await client.events.update(theirs.id, { busy: true }), 404);
  assertError(await client.events.remove(theirs.id), 404);
  assertError(await client.events.getInstances(theirs.id, { startTs: 0, endTs: DAY }), 404);
  assert.deepEqual(assertOk(await admin.events.findById(theirs.id)).event, theirs);
});

test("permission CreateCalendarEvent alone allows create only", async () => {
  const { user, cal } = await userWithCalendar();
  const existing = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: 1 });
  const client = asUser(user.id, { allow: [Permissions.CreateCalendarEvent] });
  assertOk(await client.events.create({ calendarId: cal.id, startTs: 0, duration: 1 }), 201);
  assertError(await client.events.update(existing.id, { busy: true }), 401);
  assertError(await client.events.remove(existing.id), 401);
  assertOk(await client.events.findById(existing.id));
  assertOk(await client.events.getInstances(existing.id, { startTs: 0, endTs: DAY }));
});

test("permissions UpdateCalendarEvent + DeleteCalendarEvent allow update and delete, not create", async () => {
  const { user, cal } = await userWithCalendar();
  const existing = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: 1 });
  const client = asUser(user.id, {
    allow: [Permissions.UpdateCalendarEvent, Permissions.DeleteCalendarEvent],
  });
  assertError(await client.events.create({ calendarId: cal.id, startTs: 0, duration: 1 }), 401);
  assert.equal(assertOk(await client.events.update(existing.id, { busy: true })).event.busy, true);
  assertOk(await client.events.remove(existing.id));
});

test("default policy: event reads 200, writes 401 (even on unknown ids)", async () => {
  const { user, cal } = await userWithCalendar();
  const existing = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: 1 });
  const client = asUser(user.id);
  assertOk(await client.events.findById(existing.id));
  assertError(await client.events.create({ calendarId: cal.id, startTs: 0, duration: 1 }), 401);
  assertError(await client.events.update(existing.id, { busy: true }), 401);
  assertError(await client.events.remove(existing.id), 401);
  assertError(await client.events.remove(crypto.randomUUID()), 401);
  const denyUpdate = asUser(user.id, { allow: [Permissions.All], reject: [Permissions.UpdateCalendarEvent] });
  assertError(await denyUpdate.events.update(existing.id, { busy: true }), 401);
  assertOk(await denyUpdate.events.create({ calendarId: cal.id, startTs: 0, duration: 1 }), 201);
});

/* ---- event metadata query ------------------------------------------------------------------- */

test("events.findByMeta returns {events} of the account with paging", async () => {
  const g = crypto.randomUUID().slice(0, 8);
  const { user, cal } = await userWithCalendar();
  const made = [];
  for (let i = 0; i < 3; i++)
    made.push(await newEvent(user.id, { calendarId: cal.id, startTs: i, duration: 1, metadata: { ev: g } }));
  const all = assertOk(await admin.events.findByMeta({ key: "ev", value: g }, 0, 10)).events;
  assert.deepEqual(all.map((e) => e.id).sort(), made.map((e) => e.id).sort());
  assert.deepEqual(assertOk(await admin.events.findByMeta({ key: "ev", value: g }, 2, 5)).events, [all[2]]);
  assert.deepEqual(assertOk(await other.admin.events.findByMeta({ key: "ev", value: g }, 0, 10)).events, []);
  assertError(await admin.events.findByMeta({ key: "ev", value: g }), 400);
});

/* ---- free/busy ------------------------------------------------------------------------------ */

// The original's free/busy example: a daily busy 1-hour event at 0, count 100.
async function freebusyFixture() {
  const { user, cal } = await userWithCalendar();
  await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: HOUR,
    busy: true,
    recurrence: daily(100),
  });
  return { user, cal };
}
const EXAMPLE_BUSY = [DAY, 2 * DAY, 3 * DAY].map((s) => inst(s, HOUR, true));

test("user.freebusy reproduces the original's example (3 instances)", async () => {
  const { user, cal } = await freebusyFixture();
  const res = await admin.user.freebusy(user.id, { startTs: 10, endTs: 345_600_000, calendarIds: [cal.id] });
  assert.deepEqual(assertOk(res), { busy: EXAMPLE_BUSY, userId: user.id });
});

test("free/busy without calendarIds is empty (quirk); junk ids are dropped", async () => {
  const { user, cal } = await freebusyFixture();
  assert.deepEqual(
    assertOk(await admin.user.freebusy(user.id, { startTs: 10, endTs: 345_600_000 })).busy,
    [],
  );
  const res = await srv.request(
    "GET",
    `/user/${user.id}/freebusy?startTs=10&endTs=345600000&calendarIds=junk,${cal.id},`,
    {
      headers: { "x-api-key": srv.apiKey },
    },
  );
  assert.deepEqual(assertOk(res).busy, EXAMPLE_BUSY);
});

test("free/busy ignores non-busy events and merges overlapping busy ones", async () => {
  const { user, cal } = await userWithCalendar();
  await newEvent(user.id, { calendarId: cal.id, startTs: HOUR, duration: 2 * HOUR, busy: true });
  await newEvent(user.id, { calendarId: cal.id, startTs: 2 * HOUR, duration: 2 * HOUR, busy: true });
  await newEvent(user.id, { calendarId: cal.id, startTs: 4 * HOUR, duration: HOUR, busy: true }); // touches
  await newEvent(user.id, { calendarId: cal.id, startTs: 10 * HOUR, duration: HOUR, busy: false });
  const other2 = await newCalendar(user.id);
  await newEvent(user.id, { calendarId: other2.id, startTs: 8 * HOUR, duration: HOUR, busy: true });
  const res = await admin.user.freebusy(user.id, {
    startTs: 0,
    endTs: DAY,
    calendarIds: [cal.id, other2.id],
  });
  assert.deepEqual(assertOk(res).busy, [inst(HOUR, 4 * HOUR, true), inst(8 * HOUR, HOUR, true)]);
});

test("free/busy: window > 62 days 400; endTs < startTs is empty; missing bounds 400", async () => {
  const { user, cal } = await freebusyFixture();
  assertError(
    await admin.user.freebusy(user.id, { startTs: 0, endTs: LIMIT + 1, calendarIds: [cal.id] }),
    400,
  );
  assert.deepEqual(
    assertOk(await admin.user.freebusy(user.id, { startTs: DAY, endTs: 0, calendarIds: [cal.id] })).busy,
    [],
  );
  assertError(await admin.user.freebusy(user.id, { calendarIds: [cal.id] }), 400);
});

test("free/busy is public-account: nettu-account alone works; bad header 400, unknown 401", async () => {
  const { user, cal } = await freebusyFixture();
  const p = `/user/${user.id}/freebusy?startTs=10&endTs=345600000&calendarIds=${cal.id}`;
  assert.deepEqual(
    assertOk(await srv.request("GET", p, { headers: { "nettu-account": accountId } })).busy,
    EXAMPLE_BUSY,
  );
  assertError(await srv.request("GET", p, { headers: { "nettu-account": "not-a-uuid" } }), 400);
  assertError(await srv.request("GET", p, { headers: { "nettu-account": crypto.randomUUID() } }), 401);
  assertError(await srv.request("GET", p), 401, "no credentials");
  assertError(await srv.request("GET", p, { headers: { "x-api-key": "wrong" } }), 401);
});

test("(SHOULD) free/busy of a user of another account answers 404", async () => {
  const { user, cal } = await freebusyFixture();
  assertError(
    await other.admin.user.freebusy(user.id, { startTs: 10, endTs: DAY, calendarIds: [cal.id] }),
    404,
  );
  const p = `/user/${user.id}/freebusy?startTs=10&endTs=${DAY}&calendarIds=${cal.id}`;
  assertError(await srv.request("GET", p, { headers: { "nettu-account": other.accountId } }), 404);
});

/* ---- multi-user free/busy: POST /user/freebusy -----------------------------------------------
 * Not in the original (its later fork nittei added it). Contract assumed here, after
 * the original's later revision: admin (x-api-key) or public-account auth; body
 * {userIds: uuid[] (1..100), startTs/endTs (ms) or startTime/endTime (ISO 8601)}; answer a
 * JSON object mapping each requested user id to that user's merged busy instances
 * ({startTs, endTs, busy: true}) over all of the user's calendars, [] when none; window rules
 * as single-user free/busy (62 days); a user outside the account 404; more than 100 users 400. */

// The busy list of `userId` in a multi-user free/busy answer.
const busyOf = (body, userId) => body[userId];

function multiFreebusy(body, headers = { "x-api-key": srv.apiKey }) {
  return srv.request("POST", "/user/freebusy", { headers, body });
}

test("multi-user free/busy with startTs/endTs answers each user's busy list", async () => {
  const a = await freebusyFixture();
  const b = await userWithCalendar();
  await newEvent(b.user.id, { calendarId: b.cal.id, startTs: 2 * DAY, duration: HOUR, busy: true });
  await newEvent(b.user.id, { calendarId: b.cal.id, startTs: 3 * DAY, duration: HOUR, busy: false });
  const idle = await newUser();
  const body = assertOk(
    await multiFreebusy({ userIds: [a.user.id, b.user.id, idle.id], startTs: 10, endTs: 345_600_000 }),
  );
  assert.deepEqual(busyOf(body, a.user.id), EXAMPLE_BUSY);
  assert.deepEqual(busyOf(body, b.user.id), [inst(2 * DAY, HOUR, true)]);
  assert.deepEqual(busyOf(body, idle.id), [], "a user with nothing busy gets an empty list");
});

test("multi-user free/busy accepts ISO startTime/endTime", async () => {
  const a = await freebusyFixture();
  const body = assertOk(
    await multiFreebusy({
      userIds: [a.user.id],
      startTime: new Date(10).toISOString(),
      endTime: new Date(345_600_000).toISOString(),
    }),
  );
  assert.deepEqual(busyOf(body, a.user.id), EXAMPLE_BUSY);
});

test("multi-user free/busy: more than 100 users answers 400", async () => {
  const userIds = Array.from({ length: 101 }, () => crypto.randomUUID());
  assertError(await multiFreebusy({ userIds, startTs: 0, endTs: DAY }), 400);
});

test("multi-user free/busy: bad window or body answers 400", async () => {
  const user = await newUser();
  assertError(await multiFreebusy({ userIds: [user.id], startTs: 0, endTs: LIMIT + 1 }), 400, "too long");
  assertError(await multiFreebusy({ userIds: [user.id] }), 400, "no window");
  assertError(
    await multiFreebusy({ userIds: [user.id], startTime: "yesterday", endTime: "today" }),
    400,
    "bad ISO",
  );
  assertError(await multiFreebusy({ userIds: ["not-a-uuid"], startTs: 0, endTs: DAY }), 400, "bad id");
  assertError(await multiFreebusy({ userIds: user.id, startTs: 0, endTs: DAY }), 400, "not a list");
});

test("multi-user free/busy: a user of another account answers 404", async () => {
  const mine = await newUser();
  const foreign = assertOk(await other.admin.user.create(), 201).user;
  assertError(await multiFreebusy({ userIds: [mine.id, foreign.id], startTs: 0, endTs: DAY }), 404);
  assertError(
    await multiFreebusy({ userIds: [crypto.randomUUID()], startTs: 0, endTs: DAY }),
    404,
    "unknown user",
  );
});

test("multi-user free/busy needs credentials (401)", async () => {
  const user = await newUser();
  assertError(await multiFreebusy({ userIds: [user.id], startTs: 0, endTs: DAY }, {}), 401);
  assertError(
    await multiFreebusy({ userIds: [user.id], startTs: 0, endTs: DAY }, { "x-api-key": "wrong" }),
    401,
  );
});

/* ---- deletion cascades ---------------------------------------------------------------------- */

test("deleting a calendar deletes its events", async () => {
  const { user, cal } = await userWithCalendar();
  const e1 = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: 1 });
  const e2 = await newEvent(user.id, { calendarId: cal.id, startTs: 0, duration: 1, recurrence: daily(3) });
  const keep = await newCalendar(user.id);
  const e3 = await newEvent(user.id, { calendarId: keep.id, startTs: 0, duration: 1 });
  assertOk(await admin.calendar.remove(cal.id));
  assertError(await admin.events.findById(e1.id), 404);
  assertError(await admin.events.findById(e2.id), 404);
  assertOk(await admin.events.findById(e3.id), 200, "other calendars keep their events");
});

test("deleting a user deletes its calendars and their events", async () => {
  const { user, cal } = await userWithCalendar();
  const cal2 = await newCalendar(user.id);
  const e1 = await newEvent(user.id, {
    calendarId: cal.id,
    startTs: 0,
    duration: 1,
    metadata: { gone: user.id },
  });
  const e2 = await newEvent(user.id, { calendarId: cal2.id, startTs: 0, duration: 1 });
  assertOk(await admin.user.remove(user.id));
  for (const id of [cal.id, cal2.id]) assertError(await admin.calendar.findById(id), 404);
  for (const id of [e1.id, e2.id]) assertError(await admin.events.findById(id), 404);
  assert.deepEqual(
    assertOk(await admin.events.findByMeta({ key: "gone", value: user.id }, 0, 10)).events,
    [],
  );
});
