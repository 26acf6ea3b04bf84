// Bookings and holds (README Bookings and holds) through HTTP against the real server: the race of
// many simultaneous clients for one slot (exactly one 201, the rest 409, one event), holds
// (blocking others, expiring, released, converted), cancel freeing the slot, group seats,
// host choice and its 409 messages, validation (400), cross-account 404s, slot queries
// treating holds as busy, deleting the service, and an idempotent replay of a booking POST.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import { after, before, test } from "node:test";
import { DAY, DEFAULT_PLUGINS, HOUR, NettuClient, UUID_RE, assertError, assertOk, config, startServer } from "./harness.mjs";

let srv;
let admin;
let other; // account B: {admin, apiKey}

const PLUGINS = DEFAULT_PLUGINS.includes("service") ? DEFAULT_PLUGINS : [...DEFAULT_PLUGINS, "service"];
const MIN = 60_000;
const T = Date.UTC(2030, 9, 10); // a day far enough ahead for any booking-time limit

before(async () => {
  srv = await startServer({ plugins: PLUGINS });
  config.baseUrl = srv.baseUrl;
  admin = NettuClient({ apiKey: srv.apiKey });
  const b = assertOk(await NettuClient().account.create({ code: srv.secret }), 201);
  other = { admin: NettuClient({ apiKey: b.secretApiKey }), apiKey: b.secretApiKey };
});

after(async () => {
  if (srv) await srv.stop();
});

const raw = (method, p, body, apiKey = srv.apiKey, headers = {}) =>
  srv.request(method, p, { headers: { "x-api-key": apiKey, ...headers }, body });

// A host: a user whose availability is a calendar with one free (non-busy) event over the
// whole day T; that calendar is also its booking calendar.
async function newHost() {
  const user = assertOk(await admin.user.create(), 201).user;
  const cal = assertOk(await admin.calendar.create(user.id, { timezone: "UTC", weekStart: 0 }), 201).calendar;
  assertOk(await admin.events.create(user.id, { calendarId: cal.id, startTs: T, duration: DAY, busy: false }), 201);
  return { user, cal };
}

// A service with n hosts and the given multiPerson.
async function newService(n = 1, multiPerson = undefined) {
  const service = assertOk(await raw("POST", "/service", multiPerson ? { multiPerson } : {}), 201).service;
  const hosts = [];
  for (let i = 0; i < n; i++) {
    const h = await newHost();
    assertOk(
      await raw("POST", `/service/${service.id}/users`, {
        userId: h.user.id,
        availability: { variant: "Calendar", id: h.cal.id },
      }),
    );
    hosts.push(h);
  }
  return { service, hosts };
}

const book = (serviceId, body, apiKey, headers) => raw("POST", `/service/${serviceId}/bookings`, body, apiKey, headers);
const hold = (serviceId, body, apiKey) => raw("POST", `/service/${serviceId}/holds`, body, apiKey);

// The busy events of a calendar on day T.
async function busyEvents(cal) {
  const body = assertOk(await admin.calendar.getEvents(cal.id, T, T + DAY));
  return body.events.map((e) => e.event).filter((e) => e.busy);
}

test("race: 60 simultaneous bookings of one slot of a one-host service give one 201, 59 409 and one event", async () => {
  const { service, hosts } = await newService(1);
  const N = 60;
  const answers = await Promise.all(
    Array.from({ length: N }, (_, i) => book(service.id, { startTs: T + 10 * HOUR, duration: HOUR, metadata: { client: String(i) } })),
  );
  const created = answers.filter((a) => a.status === 201);
  const refused = answers.filter((a) => a.status === 409);
  assert.equal(created.length, 1, `statuses: ${answers.map((a) => a.status).join(",")}`);
  assert.equal(refused.length, N - 1, `statuses: ${answers.map((a) => a.status).join(",")}`);
  for (const r of refused) {
    assertError(r, 409);
    assert.match(r.json.message, /taken/);
  }
  const events = await busyEvents(hosts[0].cal);
  assert.equal(events.length, 1);
  const booking = created[0].json.booking;
  assert.deepEqual(booking.eventIds, [events[0].id]);
  assert.equal(events[0].metadata.bookingId, booking.id);
  assert.equal(events[0].metadata.client, booking.metadata.client);
  assert.equal(events[0].serviceId, service.id);
  assert.equal(events[0].startTs, T + 10 * HOUR);
  assert.equal(events[0].duration, HOUR);
});

test("list: several bookings, cancelled ones included, in start order, each as GET prints it (one query)", async () => {
  const { service } = await newService(1);
  const starts = [13, 11, 12].map((h) => T + h * HOUR);
  const made = [];
  for (const [i, startTs] of starts.entries()) {
    made.push(assertOk(await book(service.id, { startTs, duration: 30 * MIN, metadata: { n: String(i) } }), 201).booking);
  }
  assertOk(await raw("DELETE", `/service/${service.id}/bookings/${made[2].id}`));
  const single = [];
  for (const b of made) single.push(assertOk(await raw("GET", `/service/${service.id}/bookings/${b.id}`)).booking);
  single.sort((a, b) => a.startTs - b.startTs);
  const listed = assertOk(await raw("GET", `/service/${service.id}/bookings?startTs=${T}&endTs=${T + DAY}`)).bookings;
  assert.deepEqual(listed, single);
  assert.deepEqual(listed.map((b) => b.status), ["confirmed", "cancelled", "confirmed"]);
  const window = assertOk(await raw("GET", `/service/${service.id}/bookings?startTs=${T + 12 * HOUR}&endTs=${T + 13 * HOUR}`)).bookings;
  assert.deepEqual(window.map((b) => b.startTs), [T + 12 * HOUR, T + 13 * HOUR]);
});

test("create, get, list and cancel: the Booking object, cancel frees the slot, a second cancel is unchanged", async () => {
  const { service, hosts } = await newService(1);
  const res = await book(service.id, { startTs: T + 9 * HOUR, duration: 30 * MIN, metadata: { k: "v" } });
  const { booking } = assertOk(res, 201);
  assert.match(booking.id, UUID_RE);
  assert.deepEqual(Object.keys(booking).sort(), ["created", "duration", "eventIds", "hostUserIds", "id", "metadata", "serviceId", "startTs", "status"]);
  assert.equal(booking.serviceId, service.id);
  assert.equal(booking.status, "confirmed");
  assert.deepEqual(booking.hostUserIds, [hosts[0].user.id]);
  assert.deepEqual(booking.metadata, { k: "v" });
  assert.deepEqual(assertOk(await raw("GET", `/service/${service.id}/bookings/${booking.id}`)).booking, booking);
  const listed = assertOk(await raw("GET", `/service/${service.id}/bookings?startTs=${T}&endTs=${T + DAY}`)).bookings;
  assert.deepEqual(listed, [booking]);
  assert.deepEqual(assertOk(await raw("GET", `/service/${service.id}/bookings?startTs=${T + 10 * HOUR}&endTs=${T + DAY}`)).bookings, []);
  // the same time again: taken; an overlapping one too
  assertError(await book(service.id, { startTs: T + 9 * HOUR + 10 * MIN, duration: 30 * MIN }), 409);
  const cancelled = assertOk(await raw("DELETE", `/service/${service.id}/bookings/${booking.id}`)).booking;
  assert.deepEqual(cancelled, { ...booking, status: "cancelled" });
  assert.deepEqual(assertOk(await raw("DELETE", `/service/${service.id}/bookings/${booking.id}`)).booking, cancelled);
  assert.equal((await busyEvents(hosts[0].cal)).length, 0);
  assertOk(await book(service.id, { startTs: T + 9 * HOUR, duration: 30 * MIN }), 201);
});

test("409 names why: outside availability, taken, no booking calendar", async () => {
  const { service } = await newService(1);
  const outside = await book(service.id, { startTs: T + DAY + HOUR, duration: HOUR });
  assertError(outside, 409);
  assert.match(outside.json.message, /availability/);
  // a member with a schedule plan and no busy calendar has no booking calendar
  const s2 = assertOk(await raw("POST", "/service", {}), 201).service;
  const user = assertOk(await admin.user.create(), 201).user;
  const rules = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((value) => ({
    variant: { type: "WDay", value },
    intervals: [{ start: { hours: 0, minutes: 0 }, end: { hours: 23, minutes: 59 } }],
  }));
  const schedule = assertOk(await admin.schedule.create(user.id, { timezone: "UTC", rules }), 201).schedule;
  assertOk(await raw("POST", `/service/${s2.id}/users`, { userId: user.id, availability: { variant: "Schedule", id: schedule.id } }));
  const none = await book(s2.id, { startTs: T + 10 * HOUR, duration: HOUR });
  assertError(none, 409);
  assert.match(none.json.message, /booking calendar/);
  // with a busy calendar registered, that calendar takes the event
  const cal = assertOk(await admin.calendar.create(user.id, { timezone: "UTC", weekStart: 0 }), 201).calendar;
  assertOk(await raw("PUT", `/service/${s2.id}/users/${user.id}/busy`, { busy: { provider: "Nettu", id: cal.id } }));
  const { booking } = assertOk(await book(s2.id, { startTs: T + 10 * HOUR, duration: HOUR }), 201);
  const events = await busyEvents(cal);
  assert.deepEqual(events.map((e) => e.id), booking.eventIds);
  assertError(await book(s2.id, { startTs: T + 10 * HOUR + 30 * MIN, duration: HOUR }), 409);
});

test("validation: 400 for types, ranges, non-members, a hold of another service or span", async () => {
  const { service } = await newService(1);
  const { service: s2 } = await newService(1);
  const ok = { startTs: T + 12 * HOUR, duration: HOUR };
  for (const body of [
    {},
    { duration: HOUR },
    { startTs: "x", duration: HOUR },
    { startTs: -1, duration: HOUR },
    { ...ok, duration: 0 },
    { ...ok, duration: DAY + 1 },
    { ...ok, hostUserIds: "a" },
    { ...ok, hostUserIds: [] },
    { ...ok, hostUserIds: [crypto.randomUUID()] },
    { ...ok, holdId: "nope" },
    { ...ok, metadata: { n: 1 } },
  ]) {
    assertError(await book(service.id, body), 400, JSON.stringify(body));
  }
  for (const ttlSeconds of [9, 3601, "5"]) assertError(await hold(service.id, { ...ok, ttlSeconds }), 400);
  const h = assertOk(await hold(s2.id, ok), 201).hold;
  assertError(await book(service.id, { ...ok, holdId: h.id }), 400);
  assertError(await book(s2.id, { ...ok, duration: 30 * MIN, holdId: h.id }), 400);
  const unknown = await book(service.id, { ...ok, holdId: crypto.randomUUID() });
  assertError(unknown, 409);
  assert.match(unknown.json.message, /no hold/);
  for (const q of ["", `?startTs=${T}`, `?startTs=${T}&endTs=${T - 1}`, `?startTs=${T}&endTs=${T + 102 * DAY}`, `?startTs=a&endTs=${T}`]) {
    assertError(await raw("GET", `/service/${service.id}/bookings${q}`), 400, q);
  }
});

test("holds: block others, show as busy in slot queries, convert once, release; the Hold object", async () => {
  const { service, hosts } = await newService(1);
  const span = { startTs: T + 14 * HOUR, duration: HOUR };
  const { hold: h } = assertOk(await hold(service.id, { ...span, ttlSeconds: 600 }), 201);
  assert.deepEqual(Object.keys(h).sort(), ["duration", "expiresAt", "hostUserIds", "id", "serviceId", "startTs"]);
  assert.deepEqual(h.hostUserIds, [hosts[0].user.id]);
  assert.ok(h.expiresAt > Date.now() + 590_000 && h.expiresAt < Date.now() + 610_000);
  assertError(await book(service.id, span), 409);
  assertError(await hold(service.id, span), 409);
  // slot queries and booking intend treat the hold as busy
  const q = `startDate=2030-10-10&endDate=2030-10-10&ianaTz=UTC&duration=${HOUR}&interval=${HOUR}`;
  const starts = assertOk(await raw("GET", `/service/${service.id}/booking?${q}`)).dates.flatMap((d) => d.slots.map((s) => s.start));
  assert.ok(!starts.includes(span.startTs), "held slot is not offered");
  assert.ok(starts.includes(span.startTs - HOUR) && starts.includes(span.startTs + HOUR));
  assertError(await raw("POST", `/service/${service.id}/booking-intend`, { timestamp: span.startTs, duration: HOUR, interval: HOUR }), 400);
  // conversion
  const { booking } = assertOk(await book(service.id, { ...span, holdId: h.id }), 201);
  assert.deepEqual(booking.hostUserIds, h.hostUserIds);
  const again = await book(service.id, { ...span, holdId: h.id });
  assertError(again, 409);
  assert.match(again.json.message, /already used/);
  // release
  const span2 = { startTs: T + 16 * HOUR, duration: HOUR };
  const h2 = assertOk(await hold(service.id, span2), 201).hold;
  assertError(await book(service.id, span2), 409);
  assert.deepEqual(assertOk(await raw("DELETE", `/service/${service.id}/holds/${h2.id}`)).hold, h2);
  assertError(await raw("DELETE", `/service/${service.id}/holds/${h2.id}`), 404);
  assertOk(await book(service.id, span2), 201);
});

test("holds expire: after ttlSeconds (10) the time is free and the hold cannot be used", async () => {
  const { service } = await newService(1);
  const span = { startTs: T + 18 * HOUR, duration: HOUR };
  const h = assertOk(await hold(service.id, { ...span, ttlSeconds: 10 }), 201).hold;
  assertError(await book(service.id, span), 409);
  await new Promise((r) => setTimeout(r, Math.max(0, h.expiresAt - Date.now()) + 300));
  const expired = await book(service.id, { ...span, holdId: h.id });
  assertError(expired, 409);
  assert.match(expired.json.message, /expired/);
  assertOk(await book(service.id, span), 201);
});

test("multiPerson: round robin picks one free host, collective needs all, group seats fill", async () => {
  const rr = await newService(2);
  const span = { startTs: T + 8 * HOUR, duration: HOUR };
  const a = assertOk(await book(rr.service.id, span), 201).booking;
  const b = assertOk(await book(rr.service.id, span), 201).booking;
  assert.equal(a.hostUserIds.length, 1);
  assert.equal(b.hostUserIds.length, 1);
  assert.notEqual(a.hostUserIds[0], b.hostUserIds[0]);
  assertError(await book(rr.service.id, span), 409);
  // listed hosts
  const listed = assertOk(await book(rr.service.id, { startTs: T + 9 * HOUR, duration: HOUR, hostUserIds: [rr.hosts[1].user.id] }), 201).booking;
  assert.deepEqual(listed.hostUserIds, [rr.hosts[1].user.id]);

  const col = await newService(2, { variant: "collective" });
  assertOk(await book(col.service.id, { startTs: T + 9 * HOUR, duration: HOUR, hostUserIds: [col.hosts[0].user.id] }), 201);
  const both = await book(col.service.id, { startTs: T + 9 * HOUR, duration: HOUR });
  assertError(both, 409);
  assert.match(both.json.message, new RegExp(col.hosts[0].user.id));
  const c = assertOk(await book(col.service.id, { startTs: T + 11 * HOUR, duration: HOUR }), 201).booking;
  assert.deepEqual([...c.hostUserIds].sort(), col.hosts.map((h) => h.user.id).sort());
  assert.equal(c.eventIds.length, 2);

  const group = await newService(1, { variant: "group", data: 2 });
  const seat = { startTs: T + 13 * HOUR, duration: HOUR };
  const s1 = assertOk(await book(group.service.id, seat), 201).booking;
  assertOk(await book(group.service.id, seat), 201);
  const full = await book(group.service.id, seat);
  assertError(full, 409);
  assert.match(full.json.message, /group is full/);
  assertOk(await raw("DELETE", `/service/${group.service.id}/bookings/${s1.id}`));
  assertOk(await book(group.service.id, seat), 201);
  assertError(await book(group.service.id, seat), 409);

  // A seat that joins a booked session takes the session's hosts: other listed hosts were
  // never checked to be free, so they are refused.
  const g2 = await newService(2, { variant: "group", data: 3 });
  const gseat = { startTs: T + 15 * HOUR, duration: HOUR };
  const first = assertOk(await book(g2.service.id, { ...gseat, hostUserIds: [g2.hosts[0].user.id] }), 201).booking;
  assert.deepEqual(first.hostUserIds, [g2.hosts[0].user.id]);
  const other = await book(g2.service.id, { ...gseat, hostUserIds: [g2.hosts[1].user.id] });
  assertError(other, 409);
  assert.match(other.json.message, /other hosts/);
  const joined = assertOk(await book(g2.service.id, gseat), 201).booking;
  assert.deepEqual(joined.hostUserIds, [g2.hosts[0].user.id]);
  assertOk(await book(g2.service.id, { ...gseat, hostUserIds: [g2.hosts[0].user.id] }), 201);
});

test("round robin: the host with the oldest booking that is free, checked in that order", async () => {
  const rr = await newService(3);
  const ids = rr.hosts.map((h) => h.user.id);
  const at = (h) => ({ startTs: T + h * HOUR, duration: HOUR });
  // Hosts without bookings tie; each booking makes its host the newest.
  const order = [];
  for (let h = 1; h <= 3; h++) {
    order.push(assertOk(await book(rr.service.id, at(h)), 201).booking.hostUserIds[0]);
    await new Promise((r) => setTimeout(r, 5)); // distinct creation times
  }
  assert.deepEqual([...order].sort(), [...ids].sort());
  // The oldest booking's host comes next ...
  const next = assertOk(await book(rr.service.id, at(4)), 201).booking.hostUserIds[0];
  assert.equal(next, order[0]);
  await new Promise((r) => setTimeout(r, 5));
  // ... unless it is busy: then the next oldest that is free (order[2] is busy too).
  const oldest = rr.hosts.find((h) => h.user.id === order[1]);
  const third = rr.hosts.find((h) => h.user.id === order[2]);
  for (const h of [oldest, third])
    assertOk(await admin.events.create(h.user.id, { calendarId: h.cal.id, startTs: T + 5 * HOUR, duration: HOUR, busy: true }), 201);
  const skipped = assertOk(await book(rr.service.id, at(5)), 201).booking.hostUserIds[0];
  assert.equal(skipped, order[0]);
  // Nobody free: 409 naming the time as taken.
  const none = await book(rr.service.id, at(5));
  assertError(none, 409);
  assert.match(none.json.message, /no host is free/);
});

test("cross-account: another account's admin gets 404 on every route", async () => {
  const { service } = await newService(1);
  const span = { startTs: T + 20 * HOUR, duration: HOUR };
  const { booking } = assertOk(await book(service.id, span), 201);
  const h = assertOk(await hold(service.id, { startTs: T + 21 * HOUR, duration: HOUR }), 201).hold;
  assertError(await book(service.id, { startTs: T + 22 * HOUR, duration: HOUR }, other.apiKey), 404);
  assertError(await hold(service.id, { startTs: T + 22 * HOUR, duration: HOUR }, other.apiKey), 404);
  assertError(await raw("GET", `/service/${service.id}/bookings?startTs=${T}&endTs=${T + DAY}`, undefined, other.apiKey), 404);
  assertError(await raw("GET", `/service/${service.id}/bookings/${booking.id}`, undefined, other.apiKey), 404);
  assertError(await raw("DELETE", `/service/${service.id}/bookings/${booking.id}`, undefined, other.apiKey), 404);
  assertError(await raw("DELETE", `/service/${service.id}/holds/${h.id}`, undefined, other.apiKey), 404);
  // another account's service cannot take this account's hold either
  const theirs = assertOk(await raw("POST", "/service", {}, other.apiKey), 201).service;
  assertError(await book(theirs.id, { startTs: T + 21 * HOUR, duration: HOUR, holdId: h.id }, other.apiKey), 409);
  assert.equal(assertOk(await raw("GET", `/service/${service.id}/bookings/${booking.id}`)).booking.status, "confirmed");
});

test("deleting the service cancels its bookings: their events go", async () => {
  const { service, hosts } = await newService(1);
  assertOk(await book(service.id, { startTs: T + 10 * HOUR, duration: HOUR }), 201);
  assert.equal((await busyEvents(hosts[0].cal)).length, 1);
  assertOk(await raw("DELETE", `/service/${service.id}`));
  assert.equal((await busyEvents(hosts[0].cal)).length, 0);
  assertError(await raw("GET", `/service/${service.id}/bookings?startTs=${T}&endTs=${T + DAY}`), 404);
});

test("Idempotency-Key: a replayed booking POST answers the same booking, and books once", async () => {
  const { service, hosts } = await newService(1);
  const key = crypto.randomUUID();
  const body = { startTs: T + 15 * HOUR, duration: HOUR };
  const first = await book(service.id, body, srv.apiKey, { "Idempotency-Key": key });
  assertOk(first, 201);
  const second = await book(service.id, body, srv.apiKey, { "Idempotency-Key": key });
  assertOk(second, 201);
  assert.equal(second.headers.get("idempotent-replayed"), "true");
  assert.equal(second.text, first.text);
  assert.equal((await busyEvents(hosts[0].cal)).length, 1);
  const listed = assertOk(await raw("GET", `/service/${service.id}/bookings?startTs=${T}&endTs=${T + DAY}`)).bookings;
  assert.equal(listed.length, 1);
});

test("Idempotency-Key: a booking whose connection dropped before the answer is replayed, not booked again", async () => {
  const { service, hosts } = await newService(1);
  const key = crypto.randomUUID();
  const body = JSON.stringify({ startTs: T + 17 * HOUR, duration: HOUR });
  // The whole request goes out, then the client hangs up without reading the answer.
  await new Promise((resolve) => {
    const sock = net.connect(srv.port, "127.0.0.1", () => {
      sock.write(
        `POST /api/v1/service/${service.id}/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `x-api-key: ${srv.apiKey}\r\nIdempotency-Key: ${key}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        () => {
          sock.destroy();
          resolve();
        },
      );
    });
    sock.on("error", resolve);
  });
  // The retry: 409 while the first still runs, then its kept answer.
  let res;
  for (let i = 0; i < 100; i++) {
    res = await book(service.id, JSON.parse(body), srv.apiKey, { "Idempotency-Key": key });
    if (res.status !== 409) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const { booking } = assertOk(res, 201);
  // Replayed when the server ran the first request to its end; when it saw the hang-up first
  // it released the key and the retry ran once. Either way: one booking, one event.
  const replayed = res.headers.get("idempotent-replayed");
  assert.ok(replayed === "true" || replayed === null, `Idempotent-Replayed: ${replayed}`);
  const events = await busyEvents(hosts[0].cal);
  assert.deepEqual(events.map((e) => e.id), booking.eventIds);
  assert.equal(assertOk(await raw("GET", `/service/${service.id}/bookings?startTs=${T}&endTs=${T + DAY}`)).bookings.length, 1);
});
