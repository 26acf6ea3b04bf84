// Services and booking slots: every route through the published client
// (`NettuClient.service`: create, find, update, remove, addUser, updateUserInService,
// removeUser, getBookingslots; `NettuUserClient.service.getBookingslots`), the routes the
// client lacks (meta query, busy calendars, multiPerson) raw; both field-name sets (the original's
// and the published client's); the booking-slot query's checks and semantics (the 89-slot example,
// busy calendars, buffers, collective, hostUserIds, timezone/ianaTz); cross-account 404s; and
// the deletion cascades.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, test } from "node:test";
import {
  DEFAULT_PLUGINS,
  HOUR,
  NettuClient,
  NettuUserClient,
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

const PLUGINS = DEFAULT_PLUGINS.includes("service") ? DEFAULT_PLUGINS : [...DEFAULT_PLUGINS, "service"];
const MIN = 60_000;
const T = Date.UTC(2030, 9, 10); // 2030-10-10T00:00Z, the worked example's day

before(async () => {
  srv = await startServer({ plugins: PLUGINS });
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

const newUser = async (client = admin) => assertOk(await client.user.create(), 201).user;
const newCalendar = async (userId, client = admin) =>
  assertOk(await client.calendar.create(userId, { timezone: "UTC", weekStart: 0 }), 201).calendar;
const newService = async (client = admin) => assertOk(await client.service.create(), 201).service;
const newEvent = async (userId, data) => assertOk(await admin.events.create(userId, data), 201).event;

const allDay = { start: { hours: 0, minutes: 0 }, end: { hours: 23, minutes: 59 } };
const WEEK = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
async function allDaySchedule(userId, timezone = "Europe/Berlin") {
  const rules = WEEK.map((value) => ({ variant: { type: "WDay", value }, intervals: [allDay] }));
  return assertOk(await admin.schedule.create(userId, { timezone, rules }), 201).schedule;
}

const raw = (method, p, body, apiKey = srv.apiKey) =>
  srv.request(method, p, { headers: { "x-api-key": apiKey }, body });

const slotsQuery = (over = {}) => ({
  startDate: "2030-10-10",
  endDate: "2030-10-10",
  ianaTz: "UTC",
  duration: HOUR,
  interval: 15 * MIN,
  ...over,
});

// All slot starts of an answer, as [date, ms offset from T in minutes, userIds] triples.
const flat = (dates) =>
  dates.flatMap((d) => d.slots.map((s) => [d.date, (s.start - T) / MIN, [...s.userIds].sort()]));

// A member whose availability is an all-day Berlin schedule (the worked example).
async function exampleService(memberFields = {}) {
  const user = await newUser();
  const schedule = await allDaySchedule(user.id);
  const service = await newService();
  assertOk(
    await admin.service.addUser(service.id, {
      userId: user.id,
      availibility: { variant: "Schedule", id: schedule.id },
      ...memberFields,
    }),
  );
  return { user, schedule, service };
}

/* ---- services ----------------------------------------------------------------------------- */

test("service.create: 201 {service} with id, metadata, multiPerson default and users []", async () => {
  const res = await admin.service.create({ metadata: { team: "red" } });
  const { service } = assertOk(res, 201);
  assert.match(service.id, UUID_RE);
  assert.deepEqual(service, {
    id: service.id,
    accountId,
    metadata: { team: "red" },
    multiPerson: { variant: "roundRobinAlgorithm", data: "availability" },
    users: [],
  });
  // multiPerson as set, read back (the client has no field for it: raw)
  for (const mp of [
    { variant: "roundRobinAlgorithm", data: "equalDistribution" },
    { variant: "collective" },
    { variant: "group", data: 4 },
  ]) {
    assert.deepEqual(assertOk(await raw("POST", "/service", { multiPerson: mp }), 201).service.multiPerson, mp);
  }
  assertError(await raw("POST", "/service", { multiPerson: { variant: "group", data: -1 } }), 400);
  assertError(await raw("POST", "/service", { multiPerson: { variant: "solo" } }), 400);
  assertError(await raw("POST", "/service", { metadata: { n: 1 } }), 400);
});

test("service.find answers both shapes; update replaces; remove then 404", async () => {
  const created = await newService();
  const found = assertOk(await admin.service.find(created.id));
  assert.equal(found.id, created.id);
  assert.deepEqual(found.users, []);
  assert.deepEqual(found.service, created);

  let s = assertOk(await admin.service.update(created.id, { metadata: { k: "v" } })).service;
  assert.deepEqual(s, { ...created, metadata: { k: "v" } });
  s = assertOk(await raw("PUT", `/service/${created.id}`, { multiPerson: { variant: "collective" } })).service;
  assert.deepEqual(s.multiPerson, { variant: "collective" });
  assert.deepEqual(s.metadata, { k: "v" });

  assert.deepEqual(assertOk(await admin.service.remove(created.id)).service, s);
  assertError(await admin.service.find(created.id), 404);
  assertError(await admin.service.remove(created.id), 404);
  assertError(await admin.service.update(created.id, {}), 404);
});

test("GET /service/meta: the account's services with key = value, with their users", async () => {
  const tag = crypto.randomUUID();
  const ids = [];
  for (const metadata of [{ tag }, { tag, x: "1" }, { tag: "no" }]) {
    ids.push(assertOk(await admin.service.create({ metadata }), 201).service.id);
  }
  assertOk(await other.admin.service.create({ metadata: { tag } }), 201);
  const user = await newUser();
  assertOk(await admin.service.addUser(ids[1], { userId: user.id }));
  const body = assertOk(await raw("GET", `/service/meta?key=tag&value=${tag}`));
  assert.deepEqual(
    body.services.map((s) => s.id),
    ids.slice(0, 2),
  );
  assert.deepEqual(
    body.services[1].users.map((u) => u.userId),
    [user.id],
  );
  assertError(await raw("GET", `/service/meta?key=tag`), 400);
});

test("every admin route of another account's service is 404; no credentials 401", async () => {
  const s = await newService();
  const user = await newUser();
  assertOk(await admin.service.addUser(s.id, { userId: user.id }));
  const b = other.admin;
  assertError(await b.service.find(s.id), 404);
  assertError(await b.service.update(s.id, { metadata: {} }), 404);
  assertError(await b.service.remove(s.id), 404);
  const bUser = await newUser(b);
  assertError(await b.service.addUser(s.id, { userId: bUser.id }), 404);
  assertError(await b.service.updateUserInService(s.id, { userId: user.id, buffer: 5 }), 404);
  assertError(await b.service.removeUser(s.id, user.id), 404);
  const cal = await newCalendar(user.id);
  assertError(await raw("PUT", `/service/${s.id}/users/${user.id}/busy`, { busy: { provider: "Nettu", id: cal.id } }, other.apiKey), 404);
  // a user of account B cannot join A's service, and B's admin cannot add A's user to B's
  const bs = await newService(b);
  assertError(await b.service.addUser(bs.id, { userId: user.id }), 404);
  assertError(await NettuClient().service.find(s.id), 401);
  // still intact
  assert.equal(assertOk(await admin.service.find(s.id)).users.length, 1);
});

/* ---- members ------------------------------------------------------------------------------ */

test("addUser with the client's names (availibility, buffer, busy): ServiceUser + {service}", async () => {
  const user = await newUser();
  const schedule = await allDaySchedule(user.id);
  const cal = await newCalendar(user.id);
  const s = await newService();
  const res = assertOk(
    await admin.service.addUser(s.id, {
      userId: user.id,
      availibility: { variant: "Schedule", id: schedule.id },
      busy: [cal.id],
      buffer: 10,
      closestBookingTime: 60,
    }),
  );
  const member = {
    userId: user.id,
    serviceId: s.id,
    availability: { variant: "Schedule", id: schedule.id },
    bufferBefore: 0,
    bufferAfter: 10,
    closestBookingTime: 60,
    furthestBookingTime: null,
    availibility: { variant: "Schedule", id: schedule.id },
    buffer: 10,
    busy: [cal.id],
  };
  const { service, ...top } = res;
  assert.deepEqual(top, member);
  assert.deepEqual(service.users, [member]);
  assert.deepEqual(assertOk(await admin.service.find(s.id)).service.users, [member]);
  // already a member: 409; unknown user: 404; another user's schedule or calendar: 404
  assertError(await admin.service.addUser(s.id, { userId: user.id }), 409);
  assertError(await admin.service.addUser(s.id, { userId: crypto.randomUUID() }), 404);
  assertError(await admin.service.addUser(crypto.randomUUID(), { userId: user.id }), 404);
  const u2 = await newUser();
  assertError(await admin.service.addUser(s.id, { userId: u2.id, availibility: { variant: "Schedule", id: schedule.id } }), 404);
  assertError(await admin.service.addUser(s.id, { userId: u2.id, busy: [cal.id] }), 404);
  assertError(await admin.service.addUser(s.id, { userId: u2.id, bufferBefore: 721 }), 400);
  assertError(await admin.service.addUser(s.id, { userId: u2.id, closestBookingTime: -1 }), 400);
  assertError(await admin.service.addUser(s.id, {}), 400);
  assert.equal(assertOk(await admin.service.find(s.id)).users.length, 1);
});

test("updateUserInService: present fields replace, the original's names too; absent keep", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const s = await newService();
  assertOk(await admin.service.addUser(s.id, { userId: user.id, furthestBookingTime: 600 }));
  let m = assertOk(
    await admin.service.updateUserInService(s.id, {
      userId: user.id,
      availibility: { variant: "Calendar", id: cal.id },
      buffer: 5,
    }),
  );
  assert.deepEqual(m.availability, { variant: "Calendar", id: cal.id });
  assert.equal(m.bufferAfter, 5);
  assert.equal(m.furthestBookingTime, 600); // kept although absent
  assert.deepEqual(m.service.users[0].availibility, { variant: "Calendar", id: cal.id });
  m = assertOk(
    await raw("PUT", `/service/${s.id}/users/${user.id}`, {
      availability: { variant: "Empty" },
      bufferBefore: 30,
      bufferAfter: 20,
      furthestBookingTime: null,
    }),
  );
  assert.deepEqual(m.availability, { variant: "Empty" });
  assert.equal(m.bufferBefore, 30);
  assert.equal(m.buffer, 20);
  assert.equal(m.furthestBookingTime, null);
  const stranger = await newUser();
  assertError(await admin.service.updateUserInService(s.id, { userId: stranger.id, buffer: 1 }), 404);
  assertError(await admin.service.updateUserInService(s.id, { userId: user.id, buffer: 1000 }), 400);
});

test("removeUser answers {service} without the member; a non-member is 404", async () => {
  const [a, b] = [await newUser(), await newUser()];
  const s = await newService();
  assertOk(await admin.service.addUser(s.id, { userId: a.id }));
  assertOk(await admin.service.addUser(s.id, { userId: b.id }));
  const { service } = assertOk(await admin.service.removeUser(s.id, a.id));
  assert.deepEqual(
    service.users.map((u) => u.userId),
    [b.id],
  );
  assertError(await admin.service.removeUser(s.id, a.id), 404);
});

test("busy calendars: PUT/DELETE .../busy register and unregister (200 JSON string, 404, 409)", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const s = await newService();
  const p = `/service/${s.id}/users/${user.id}/busy`;
  const busy = { provider: "Nettu", id: cal.id };
  assertError(await raw("PUT", p, { busy }), 404); // not a member yet
  assertOk(await admin.service.addUser(s.id, { userId: user.id }));
  let res = await raw("PUT", p, { busy });
  assert.equal(res.status, 200);
  assert.equal(typeof res.json, "string");
  assert.deepEqual(assertOk(await admin.service.find(s.id)).users[0].busy, [cal.id]);
  assertError(await raw("PUT", p, { busy }), 409);
  const otherCal = await newCalendar((await newUser()).id);
  assertError(await raw("PUT", p, { busy: { provider: "Nettu", id: otherCal.id } }), 404);
  assertError(await raw("PUT", p, { busy: { provider: "Google", id: "x" } }), 400);
  assertError(await raw("PUT", p, { busy: { provider: "Nettu" } }), 400);
  assertError(await raw("PUT", p, {}), 400);
  res = await raw("DELETE", p, { busy });
  assert.equal(res.status, 200);
  assert.equal(typeof res.json, "string");
  assert.deepEqual(assertOk(await admin.service.find(s.id)).users[0].busy, []);
  assertError(await raw("DELETE", p, { busy }), 404);
  assertError(await raw("PUT", `/service/${s.id}/users/${crypto.randomUUID()}/busy`, { busy }), 404);
});

/* ---- booking slots ------------------------------------------------------------------------ */

test("worked example: Berlin all-day schedule, 2030-10-10 in UTC, 1 h every 15 min: 89 slots", async () => {
  const { user, service } = await exampleService();
  const body = assertOk(await admin.service.getBookingslots(service.id, slotsQuery()));
  assert.equal(body.dates.length, 1);
  assert.equal(body.dates[0].date, "2030-10-10");
  const slots = body.dates[0].slots;
  assert.equal(slots.length, 89);
  assert.deepEqual(slots[0], { start: T, duration: HOUR, userIds: [user.id] });
  assert.equal(slots[83].start, T + 20 * HOUR + 45 * MIN);
  assert.equal(slots[84].start, T + 22 * HOUR);
  assert.equal(slots[88].start, T + 23 * HOUR);
  // the end user's client and no credentials at all get the same answer (a public route)
  const asUser = NettuUserClient({ token: userToken(KEY.privateKey, user.id), nettuAccount: accountId });
  assert.deepEqual(assertOk(await asUser.service.getBookingslots(service.id, slotsQuery())), body);
  assert.deepEqual(assertOk(await NettuClient().service.getBookingslots(service.id, slotsQuery())), body);
  // a day in the past: the adjusted span starts at now
  const past = slotsQuery({ startDate: "1980-1-1", endDate: "1980-1-1" });
  assert.deepEqual(assertOk(await admin.service.getBookingslots(service.id, past)), { dates: [] });
});

test("booking query: checks in order, statuses, timezone and ianaTz, grouping by local date", async () => {
  const { service } = await exampleService();
  const q = (over) =>
    srv.request("GET", `/service/${service.id}/booking?${new URLSearchParams(slotsQuery(over))}`);
  let res = await q({ interval: 299_999, startDate: "bad" });
  assertError(res, 400);
  assert.match(res.json.message, /^interval/); // interval first
  assertError(await q({ interval: 7_200_001 }), 400);
  assertError(await q({ interval: "15.5" }), 400);
  assertError(await q({ startDate: "2030-2-30" }), 400);
  assertError(await q({ endDate: "2101-1-1" }), 400);
  assertError(await q({ ianaTz: "Mars/Base" }), 400);
  assertError(await q({ duration: "x" }), 400);
  const missing = await srv.request("GET", `/service/${crypto.randomUUID()}/booking?${new URLSearchParams(slotsQuery())}`);
  assertError(missing, 404);
  assertError(await q({ endDate: "2031-1-20" }), 400); // over 101 days
  assert.deepEqual(assertOk(await q({ startDate: "2030-10-11" })), { dates: [] }); // end < start
  assert.deepEqual(assertOk(await q({ duration: 0 })), { dates: [] });
  // Berlin: the local day 2030-10-10 is [22:00Z on the 9th, 22:00Z); free 00:00-23:59 local
  // -> 1 h slots every 15 min from 22:00Z: 23:59 - 1 h = 22:59 -> 92 slots, one date.
  let body = assertOk(await q({ ianaTz: "Europe/Berlin" }));
  assert.deepEqual(
    body.dates.map((d) => [d.date, d.slots.length]),
    [["2030-10-10", 92]],
  );
  assert.equal(body.dates[0].slots[0].start, T - 2 * HOUR);
  // `timezone` wins over `ianaTz` (the original's name)
  body = assertOk(await q({ timezone: "Europe/Berlin", ianaTz: "UTC" }));
  assert.equal(body.dates[0].slots[0].start, T - 2 * HOUR);
  // two days in UTC, grouped by UTC date: Berlin's 11th runs 22:00Z-21:59Z, so the 10th
  // also gets 22:00..23:45 (8) after its 84, and the 11th has 84 + 5
  body = assertOk(await q({ endDate: "2030-10-11" }));
  assert.deepEqual(
    body.dates.map((d) => [d.date, d.slots.length]),
    [
      ["2030-10-10", 92],
      ["2030-10-11", 89],
    ],
  );
  // the spring-forward day in Berlin: a 23 h span, 1 h slots every hour -> 22
  body = assertOk(await q({ startDate: "2030-3-31", endDate: "2030-3-31", ianaTz: "Europe/Berlin", interval: HOUR }));
  assert.deepEqual(
    body.dates.map((d) => [d.date, d.slots.length]),
    [["2030-3-31", 22]],
  );
});

test("busy calendars, buffers, other services and limits shape the slots", async () => {
  const user = await newUser();
  const avail = await newCalendar(user.id);
  const busyCal = await newCalendar(user.id);
  const s = await newService();
  const s2 = await newService();
  // availability: a calendar event 09:00-12:00 (not busy = free time)
  await newEvent(user.id, { calendarId: avail.id, startTs: T + 9 * HOUR, duration: 3 * HOUR, busy: false });
  assertOk(
    await admin.service.addUser(s.id, {
      userId: user.id,
      availibility: { variant: "Calendar", id: avail.id },
      busy: [busyCal.id],
      bufferBefore: 15,
      bufferAfter: 15,
    }),
  );
  const q = { duration: 30 * MIN, interval: 15 * MIN };
  let starts = flat(assertOk(await admin.service.getBookingslots(s.id, slotsQuery(q))).dates).map((x) => x[1]);
  assert.deepEqual(starts, [540, 555, 570, 585, 600, 615, 630, 645, 660, 675, 690]); // 09:00..11:30
  // a busy event of this service 10:00-10:30, widened by 15 min: free 09:00-09:45, 10:45-12:00
  await newEvent(user.id, { calendarId: busyCal.id, startTs: T + 10 * HOUR, duration: 30 * MIN, busy: true, serviceId: s.id });
  starts = flat(assertOk(await admin.service.getBookingslots(s.id, slotsQuery(q))).dates).map((x) => x[1]);
  assert.deepEqual(starts, [540, 555, 645, 660, 675, 690]);
  // a non-busy event of another service 11:15-11:30 (a quirk) is busy: free 10:45-11:15
  await newEvent(user.id, { calendarId: avail.id, startTs: T + 11 * HOUR + 15 * MIN, duration: 15 * MIN, busy: false, serviceId: s2.id });
  starts = flat(assertOk(await admin.service.getBookingslots(s.id, slotsQuery(q))).dates).map((x) => x[1]);
  assert.deepEqual(starts, [540, 555, 645, 690]);
  // a busy event in a calendar that is not registered changes nothing
  const loose = await newCalendar(user.id);
  await newEvent(user.id, { calendarId: loose.id, startTs: T + 9 * HOUR, duration: HOUR, busy: true });
  starts = flat(assertOk(await admin.service.getBookingslots(s.id, slotsQuery(q))).dates).map((x) => x[1]);
  assert.deepEqual(starts, [540, 555, 645, 690]);
});

test("collective services need every member; hostUserIds narrows round robin", async () => {
  const a = await exampleService();
  const b = await newUser();
  const bCal = await newCalendar(b.id);
  // b is free 10:00-12:00 only
  await newEvent(b.id, { calendarId: bCal.id, startTs: T + 10 * HOUR, duration: 2 * HOUR, busy: false });
  assertOk(await admin.service.addUser(a.service.id, { userId: b.id, availibility: { variant: "Calendar", id: bCal.id } }));
  const q = slotsQuery({ interval: HOUR });
  let body = assertOk(await admin.service.getBookingslots(a.service.id, q));
  // a: 00:00..20:00 and 22:00, 23:00 (Berlin's day ends 21:59Z); b: 10:00, 11:00
  let f = flat(body.dates);
  assert.equal(f.length, 23);
  assert.deepEqual(f[10], ["2030-10-10", 600, [a.user.id, b.id].sort()]);
  assert.deepEqual(f[9], ["2030-10-10", 540, [a.user.id]]);
  // hostUserIds: only b
  const only = `/service/${a.service.id}/booking?${new URLSearchParams({ ...q, hostUserIds: `${b.id},nonsense` })}`;
  f = flat(assertOk(await srv.request("GET", only)).dates);
  assert.deepEqual(f, [
    ["2030-10-10", 600, [b.id]],
    ["2030-10-10", 660, [b.id]],
  ]);
  // collective: only where both are free; hostUserIds ignored
  assertOk(await raw("PUT", `/service/${a.service.id}`, { multiPerson: { variant: "collective" } }));
  f = flat(assertOk(await srv.request("GET", only.replace(/hostUserIds=[^&]*/, `hostUserIds=${a.user.id}`))).dates);
  assert.deepEqual(
    f.map((x) => [x[1], x[2]]),
    [
      [600, [a.user.id, b.id].sort()],
      [660, [a.user.id, b.id].sort()],
    ],
  );
  // group(0): no slots at all
  assertOk(await raw("PUT", `/service/${a.service.id}`, { multiPerson: { variant: "group", data: 0 } }));
  assert.deepEqual(assertOk(await admin.service.getBookingslots(a.service.id, q)), { dates: [] });
});

test("closestBookingTime and furthestBookingTime clip every plan", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const now = Date.now();
  const day = new Date(now + 2 * 86_400_000);
  const d = `${day.getUTCFullYear()}-${day.getUTCMonth() + 1}-${day.getUTCDate()}`;
  const d0 = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
  await newEvent(user.id, { calendarId: cal.id, startTs: d0 - 2 * 86_400_000, duration: 6 * 86_400_000, busy: false });
  const s = await newService();
  // furthest: now + 2 days + a bit; closest pushes past the start of that day for a Calendar plan
  const furthest = Math.floor((d0 + 6 * HOUR - now) / MIN) - 1;
  const closest = Math.ceil((d0 + 2 * HOUR - now) / MIN) + 1;
  assertOk(
    await admin.service.addUser(s.id, {
      userId: user.id,
      availibility: { variant: "Calendar", id: cal.id },
      closestBookingTime: closest,
      furthestBookingTime: furthest,
    }),
  );
  const body = assertOk(await admin.service.getBookingslots(s.id, slotsQuery({ startDate: d, endDate: d, interval: HOUR })));
  const starts = flat(body.dates).map((x) => (x[1] * MIN + T - d0) / HOUR);
  // the span becomes [02:01..02:02, 05:58..05:59]: whole-hour 1 h slots at 03:00 and 04:00
  assert.deepEqual(starts, [3, 4]);
});

/* ---- cascades ----------------------------------------------------------------------------- */

test("cascades: deleting a calendar, schedule, user or service updates memberships and events", async () => {
  const user = await newUser();
  const schedule = await allDaySchedule(user.id);
  const cal = await newCalendar(user.id);
  const cal2 = await newCalendar(user.id);
  const s = await newService();
  assertOk(
    await admin.service.addUser(s.id, {
      userId: user.id,
      availibility: { variant: "Schedule", id: schedule.id },
      busy: [cal.id, cal2.id],
    }),
  );
  // a busy calendar deleted: its registration goes
  assertOk(await admin.calendar.remove(cal.id));
  let m = assertOk(await admin.service.find(s.id)).users[0];
  assert.deepEqual(m.busy, [cal2.id]);
  // the schedule used as availability deleted: Empty
  assertOk(await admin.schedule.remove(schedule.id));
  m = assertOk(await admin.service.find(s.id)).users[0];
  assert.deepEqual(m.availability, { variant: "Empty" });
  // a calendar used as availability deleted: Empty
  assertOk(await admin.service.updateUserInService(s.id, { userId: user.id, availibility: { variant: "Calendar", id: cal2.id } }));
  assertOk(await admin.calendar.remove(cal2.id));
  m = assertOk(await admin.service.find(s.id)).users[0];
  assert.deepEqual(m.availability, { variant: "Empty" });
  assert.deepEqual(m.busy, []);
  // the user deleted: the membership goes
  assertOk(await admin.user.remove(user.id));
  assert.deepEqual(assertOk(await admin.service.find(s.id)).users, []);
  // the service deleted: its events go, other events stay
  const u2 = await newUser();
  const c3 = await newCalendar(u2.id);
  const mine = await newEvent(u2.id, { calendarId: c3.id, startTs: T, duration: HOUR, serviceId: s.id });
  const plain = await newEvent(u2.id, { calendarId: c3.id, startTs: T, duration: HOUR });
  assertOk(await admin.service.addUser(s.id, { userId: u2.id, busy: [c3.id] }));
  assertOk(await admin.service.remove(s.id));
  assertError(await admin.events.findById(mine.id), 404);
  assertOk(await admin.events.findById(plain.id));
  // and the service can be made again with the same user, fresh
  const s2 = await newService();
  assert.equal(assertOk(await admin.service.addUser(s2.id, { userId: u2.id })).busy.length, 0);
});

/* ---- booking intend ----------------------------------------------------------------------- */

test("booking-intend: round robin by availability and by equal distribution, listed hosts", async () => {
  const a = await exampleService();
  const b = await newUser();
  const bSchedule = await allDaySchedule(b.id);
  assertOk(await admin.service.addUser(a.service.id, { userId: b.id, availibility: { variant: "Schedule", id: bSchedule.id } }));
  const p = `/service/${a.service.id}/booking-intend`;
  const at = { timestamp: T + 10 * HOUR, duration: HOUR, interval: 15 * MIN };
  const aCal = await newCalendar(a.user.id);
  const bCal = await newCalendar(b.id);
  const sid = a.service.id;
  // a booked this service before, b never: b first
  await newEvent(a.user.id, { calendarId: aCal.id, startTs: T + 40 * 86_400_000, duration: HOUR, serviceId: sid });
  let res = assertOk(await raw("POST", p, at));
  assert.deepEqual(res, { selectedHosts: [{ id: b.id, metadata: {} }], createEventForHosts: true });
  // b's booking is newer now: a
  await new Promise((r) => setTimeout(r, 5));
  await newEvent(b.id, { calendarId: bCal.id, startTs: T + 41 * 86_400_000, duration: HOUR, serviceId: sid });
  res = assertOk(await raw("POST", p, at));
  assert.deepEqual(res.selectedHosts, [{ id: a.user.id, metadata: {} }]);
  // equal distribution counts events of the next 61 days: a 2, b 1 -> b
  assertOk(await raw("PUT", `/service/${sid}`, { multiPerson: { variant: "roundRobinAlgorithm", data: "equalDistribution" } }));
  const soon = Date.now() + 86_400_000;
  await newEvent(a.user.id, { calendarId: aCal.id, startTs: soon, duration: HOUR, serviceId: sid });
  await newEvent(a.user.id, { calendarId: aCal.id, startTs: soon + HOUR, duration: HOUR, serviceId: sid });
  await newEvent(b.id, { calendarId: bCal.id, startTs: soon, duration: HOUR, serviceId: sid });
  res = assertOk(await raw("POST", p, at));
  assert.deepEqual(res.selectedHosts, [{ id: b.id, metadata: {} }]);
  // listed hosts: they must all be free at that start; not members: 400
  res = assertOk(await raw("POST", p, { ...at, hostUserIds: [a.user.id] }));
  assert.deepEqual(res.selectedHosts, [{ id: a.user.id, metadata: {} }]);
  assertError(await raw("POST", p, { ...at, hostUserIds: [crypto.randomUUID()] }), 400);
  // Berlin's day ends 21:59Z: no 1 h slot at 21:00Z
  assertError(await raw("POST", p, { ...at, timestamp: T + 21 * HOUR }), 400);
  assertError(await raw("POST", p, { ...at, timestamp: T + 10 * HOUR + 7 * MIN }), 400);
  assertError(await raw("POST", p, { ...at, interval: 60_000 }), 400);
  assertError(await raw("POST", p, { timestamp: T }), 400);
  assertError(await raw("POST", p, at, other.apiKey), 404);
  assertError(await raw("POST", `/service/${crypto.randomUUID()}/booking-intend`, at), 404);
});

test("booking-intend: collective selects every member; group counts reservations", async () => {
  const a = await exampleService();
  const b = await newUser();
  const bCal = await newCalendar(b.id);
  await newEvent(b.id, { calendarId: bCal.id, startTs: T + 10 * HOUR, duration: 2 * HOUR, busy: false });
  assertOk(await admin.service.addUser(a.service.id, { userId: b.id, availibility: { variant: "Calendar", id: bCal.id } }));
  const sid = a.service.id;
  const p = `/service/${sid}/booking-intend`;
  const at = { timestamp: T + 10 * HOUR, duration: HOUR, interval: 15 * MIN };
  assertOk(await raw("PUT", `/service/${sid}`, { multiPerson: { variant: "collective" } }));
  let res = assertOk(await raw("POST", p, at));
  assert.deepEqual(res.selectedHosts.map((u) => u.id).sort(), [a.user.id, b.id].sort());
  assert.equal(res.createEventForHosts, true);
  // b is not free at 09:00: a collective booking is refused
  assertError(await raw("POST", p, { ...at, timestamp: T + 9 * HOUR }), 400);

  assertOk(await raw("PUT", `/service/${sid}`, { multiPerson: { variant: "group", data: 2 } }));
  const flags = [];
  for (let i = 0; i < 2; i++) flags.push(assertOk(await raw("POST", p, at)).createEventForHosts);
  assert.deepEqual(flags, [false, true]);
  const del = (ts) => raw("DELETE", `${p}?timestamp=${ts}`);
  assert.equal(typeof assertOk(await del(at.timestamp)).message, "string");
  assert.equal(assertOk(await raw("POST", p, at)).createEventForHosts, true); // 1 + 1 >= 2
  for (let i = 0; i < 3; i++) assertOk(await del(at.timestamp)); // never below 0
  assert.equal(assertOk(await raw("POST", p, at)).createEventForHosts, false);
  assertOk(await del(T)); // none there: no error
  assertError(await del("x"), 400);
  assertError(await raw("DELETE", `${p}?timestamp=${T}`, undefined, other.apiKey), 404);
  // a group shrinking keeps the service's events; growing deletes them
  const booked = await newEvent(b.id, { calendarId: bCal.id, startTs: T + 10 * HOUR, duration: HOUR, serviceId: sid });
  assertOk(await raw("PUT", `/service/${sid}`, { multiPerson: { variant: "group", data: 1 } }));
  assertOk(await admin.events.findById(booked.id));
  assertOk(await raw("PUT", `/service/${sid}`, { multiPerson: { variant: "group", data: 3 } }));
  assertError(await admin.events.findById(booked.id), 404);
});

/* ---- the request budget ------------------------------------------------------------------- */

test("a slot query whose hosts' expansions outrun [server] request_cpu_ms answers 422", async () => {
  // A server whose requests may use 1 ms of CPU: creating events with counted daily rules
  // stays under it, expanding 200 of them over 101 days for two hosts does not.
  const small = await startServer({ plugins: PLUGINS, ini: { server: { request_cpu_ms: 1 } } });
  try {
    const call = (method, p, body) => small.request(method, p, { headers: { "x-api-key": small.apiKey }, body });
    const service = assertOk(await call("POST", "/service", {}), 201).service;
    for (let h = 0; h < 2; h++) {
      const user = assertOk(await call("POST", "/user", {}), 201).user;
      const cal = assertOk(await call("POST", `/user/${user.id}/calendar`, { timezone: "UTC" }), 201).calendar;
      for (let i = 0; i < 100; i++) {
        const ev = { calendarId: cal.id, startTs: T + (i % 24) * HOUR, duration: 15 * MIN, busy: true, recurrence: { freq: "daily", interval: 1, count: 200 } };
        assertOk(await call("POST", `/user/${user.id}/events`, ev), 201);
      }
      const sched = assertOk(await call("POST", `/user/${user.id}/schedule`, { timezone: "UTC" }), 201).schedule;
      assertOk(await call("POST", `/service/${service.id}/users`, { userId: user.id, availability: { variant: "Schedule", id: sched.id }, busy: [cal.id] }));
    }
    const query = new URLSearchParams({ startDate: "2030-10-10", endDate: "2031-1-18", timezone: "UTC", duration: HOUR, interval: 5 * MIN });
    const res = await small.request("GET", `/service/${service.id}/booking?${query}`);
    assert.equal(res.status, 422, JSON.stringify(res.json));
    assert.equal(res.json.error, "unprocessable");
    assert.match(res.json.message, /request_cpu_ms/);
    // the server goes on answering
    assertOk(await call("GET", `/service/${service.id}`));
  } finally {
    await small.stop();
  }
});
