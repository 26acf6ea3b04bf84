// User routes, calendar routes (except the events window), the
// policy on calendar routes, and tenant isolation, through the published client.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, test } from "node:test";
import {
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
let admin; // default account A
let accountId;
const KEY = rsaKeyPair();
let other; // account B: {admin, accountId, key}

const ALL = { allow: [Permissions.All] };

before(async () => {
  srv = await startServer();
  config.baseUrl = srv.baseUrl;
  admin = NettuClient({ apiKey: srv.apiKey });
  accountId = assertOk(await admin.account.me()).account.id;
  assertOk(await admin.account.setPublicSigningKey(KEY.publicKey));
  const b = assertOk(await NettuClient().account.create({ code: srv.secret }), 201);
  const bKey = rsaKeyPair();
  other = { admin: NettuClient({ apiKey: b.secretApiKey }), accountId: b.account.id, key: bKey };
  assertOk(await other.admin.account.setPublicSigningKey(bKey.publicKey));
});

after(async () => {
  if (srv) await srv.stop();
});

// A new user of account A (admin client); returns the user object.
async function newUser(metadata) {
  return assertOk(await admin.user.create(metadata ? { metadata } : undefined), 201).user;
}

// A user client of account A for `userId` with `policy` (undefined: default policy).
function asUser(userId, policy) {
  return NettuUserClient({ token: userToken(KEY.privateKey, userId, policy), nettuAccount: accountId });
}

// A calendar of `userId` created by the admin; returns the calendar object.
async function newCalendar(userId, data = { timezone: "UTC" }) {
  return assertOk(await admin.calendar.create(userId, data), 201).calendar;
}

const tag = () => crypto.randomUUID().slice(0, 8); // unique metadata values per test
const ids = (list) => list.map((x) => x.id);
const sorted = (list) => [...list].sort();

/* ---- create user ---------------------------------------------------------------------------- */

test("user.create with metadata answers 201 {user: {id, metadata}}", async () => {
  const res = await admin.user.create({ metadata: { team: "red", "key with space": "ÅØ ü" } });
  const { user } = assertOk(res, 201);
  assert.match(user.id, UUID_RE);
  assert.deepEqual(user.metadata, { team: "red", "key with space": "ÅØ ü" });
});

test("user.create without data gives metadata {}", async () => {
  const { user } = assertOk(await admin.user.create(), 201);
  assert.deepEqual(user.metadata, {});
  assertOk(await admin.user.create({ metadata: null }), 201, "metadata null means absent");
});

test("user.create with a non-string metadata value answers 400", async () => {
  for (const metadata of [{ n: 1 }, { b: true }, { o: {} }, { x: null }, ["a"], "str"]) {
    assertError(await admin.user.create({ metadata }), 400, JSON.stringify(metadata));
  }
});

test("user.create ignores a client-chosen id and unknown fields", async () => {
  const wanted = crypto.randomUUID();
  const { user } = assertOk(await admin.user.create({ id: wanted, userId: wanted, extra: 1 }), 201);
  assert.notEqual(user.id, wanted);
});

/* ---- find user ------------------------------------------------------------------------------ */

test("user.find answers 200 {user}; unknown id 404", async () => {
  const user = await newUser({ k: "v" });
  assert.deepEqual(assertOk(await admin.user.find(user.id)).user, user);
  assertError(await admin.user.find(crypto.randomUUID()), 404);
});

/* ---- user metadata query -------------------------------------------------------------------- */

// The order is creation time, then id (users made in the same millisecond may swap), so
// tests compare sets and check that pages are slices of the full ordered list.
test("user.findByMeta matches key=value exactly (other keys may be present)", async () => {
  const g = tag();
  const made = [];
  for (let i = 0; i < 5; i++) made.push(await newUser({ group: g, i: String(i) }));
  await newUser({ group: g + "x" });
  await newUser({ other: g });
  const { users } = assertOk(await admin.user.findByMeta({ key: "group", value: g }, 0, 10));
  assert.deepEqual(sorted(ids(users)), sorted(ids(made)));
  for (const u of users)
    assert.deepEqual(
      u,
      made.find((m) => m.id === u.id),
    );
  const none = assertOk(await admin.user.findByMeta({ key: "group", value: tag() }, 0, 10));
  assert.deepEqual(none.users, []);
});

test("user.findByMeta pages with skip/limit in a stable order", async () => {
  const g = tag();
  const made = [];
  for (let i = 0; i < 5; i++) made.push((await newUser({ page: g })).id);
  const page = async (skip, limit) =>
    ids(assertOk(await admin.user.findByMeta({ key: "page", value: g }, skip, limit)).users);
  const all = await page(0, 100);
  assert.deepEqual(sorted(all), sorted(made));
  assert.deepEqual(await page(0, 2), all.slice(0, 2));
  assert.deepEqual(await page(2, 2), all.slice(2, 4));
  assert.deepEqual(await page(4, 2), all.slice(4));
  assert.deepEqual(await page(5, 2), []);
  assert.deepEqual(await page(0, 0), []);
  assert.deepEqual(await page(1, 100), all.slice(1));
  assert.deepEqual(await page(0, 5), all, "same query, same order");
});

test("user.findByMeta defaults to skip 0 and limit 20", async () => {
  const g = tag();
  for (let i = 0; i < 21; i++) await newUser({ many: g });
  const all = ids(assertOk(await admin.user.findByMeta({ key: "many", value: g }, 0, 100)).users);
  assert.equal(all.length, 21);
  const res = await srv.request("GET", `/user/meta?key=many&value=${g}`, {
    headers: { "x-api-key": srv.apiKey },
  });
  assert.deepEqual(ids(assertOk(res).users), all.slice(0, 20));
});

test("user.findByMeta with omitted skip/limit (literal 'undefined') answers 400", async () => {
  assertError(await admin.user.findByMeta({ key: "a", value: "b" }), 400);
  assertError(await admin.user.findByMeta({ key: "a", value: "b" }, 0), 400, "limit undefined");
});

test("user meta query: missing key/value or bad skip/limit answers 400", async () => {
  const headers = { "x-api-key": srv.apiKey };
  for (const q of [
    "value=b",
    "key=a",
    "key=a&value=b&skip=-1",
    "key=a&value=b&limit=x",
    "key=a&value=b&skip=1.5",
  ]) {
    assertError(await srv.request("GET", `/user/meta?${q}`, { headers }), 400, q);
  }
});

test("user meta query decodes the query string (percent escapes, '+')", async () => {
  const user = await newUser({ "a key": "v&1 é" });
  const res = await srv.request(
    "GET",
    `/user/meta?key=a+key&value=${encodeURIComponent("v&1 é")}&skip=0&limit=5`,
    {
      headers: { "x-api-key": srv.apiKey },
    },
  );
  assert.deepEqual(ids(assertOk(res).users), [user.id]);
});

/* ---- update user ---------------------------------------------------------------------------- */

test("user.update replaces the metadata (no merge)", async () => {
  const g = tag();
  const user = await newUser({ a: g, b: "2" });
  const { user: updated } = assertOk(await admin.user.update(user.id, { metadata: { c: "3" } }));
  assert.deepEqual(updated, { ...user, metadata: { c: "3" } });
  assert.deepEqual(assertOk(await admin.user.find(user.id)).user.metadata, { c: "3" });
  const q = assertOk(await admin.user.findByMeta({ key: "a", value: g }, 0, 10));
  assert.deepEqual(q.users, [], "the side table follows the replacement");
});

test("user.update without metadata leaves it unchanged", async () => {
  const user = await newUser({ keep: "me" });
  assert.deepEqual(assertOk(await admin.user.update(user.id, {})).user, user);
  assert.deepEqual(assertOk(await admin.user.update(user.id, { metadata: null })).user, user);
});

test("user.update with a non-string metadata value answers 400 and changes nothing", async () => {
  const user = await newUser({ keep: "me" });
  assertError(await admin.user.update(user.id, { metadata: { n: 2 } }), 400);
  assert.deepEqual(assertOk(await admin.user.find(user.id)).user, user);
});

test("user.update of an unknown user answers 409 (quirk)", async () => {
  assertError(await admin.user.update(crypto.randomUUID(), { metadata: { a: "b" } }), 409);
});

/* ---- remove user ---------------------------------------------------------------------------- */

test("user.remove answers 200 with the user, then 404", async () => {
  const user = await newUser({ bye: "now" });
  assert.deepEqual(assertOk(await admin.user.remove(user.id)).user, user);
  assertError(await admin.user.find(user.id), 404);
  assertError(await admin.user.remove(user.id), 404, "second delete");
});

/* ---- /me ------------------------------------------------------------------------------------ */

test("end user user.me() answers {user} of the token, with the default policy", async () => {
  const user = await newUser({ me: "yes" });
  assert.deepEqual(assertOk(await asUser(user.id).user.me()).user, user);
  assert.deepEqual(assertOk(await asUser(user.id, { reject: [Permissions.All] }).user.me()).user, user);
});

/* ---- create calendar ------------------------------------------------------------------------ */

test("admin calendar.create answers 201 {calendar} with settings and metadata", async () => {
  const user = await newUser();
  const res = await admin.calendar.create(user.id, {
    timezone: "Europe/Oslo",
    weekStart: 2,
    metadata: { c: "1" },
  });
  const { calendar } = assertOk(res, 201);
  assert.match(calendar.id, UUID_RE);
  assert.deepEqual(calendar, {
    id: calendar.id,
    userId: user.id,
    settings: { weekStart: "Wed", timezone: "Europe/Oslo" },
    metadata: { c: "1" },
  });
});

test("calendar weekStart defaults to Mon and accepts numbers 0..6 and English names", async () => {
  const user = await newUser();
  const cases = [
    [undefined, "Mon"],
    [0, "Mon"],
    [6, "Sun"],
    [4, "Fri"],
    ["Sunday", "Sun"],
    ["sat", "Sat"],
    ["TUE", "Tue"],
    ["thursday", "Thu"],
  ];
  for (const [weekStart, want] of cases) {
    const cal = await newCalendar(user.id, { timezone: "UTC", weekStart });
    assert.equal(cal.settings.weekStart, want, `weekStart ${JSON.stringify(weekStart)}`);
  }
});

test("calendar.create with an invalid weekStart answers 400", async () => {
  const user = await newUser();
  for (const weekStart of [7, -1, "Mo", "", 1.5, "1", true]) {
    assertError(
      await admin.calendar.create(user.id, { timezone: "UTC", weekStart }),
      400,
      JSON.stringify(weekStart),
    );
  }
});

test("calendar.create validates the IANA timezone exactly (400)", async () => {
  const user = await newUser();
  for (const timezone of ["Mars/Olympus", "utc", "europe/oslo", "", "+01:00", 0, undefined, null]) {
    assertError(await admin.calendar.create(user.id, { timezone }), 400, JSON.stringify(timezone));
  }
  for (const timezone of ["US/Eastern", "Etc/UTC", "GMT", "America/Argentina/Buenos_Aires"]) {
    assert.equal((await newCalendar(user.id, { timezone })).settings.timezone, timezone);
  }
});

test("calendar.create for an unknown user answers 404", async () => {
  assertError(await admin.calendar.create(crypto.randomUUID(), { timezone: "UTC" }), 404);
});

test("calendar metadata with a non-string value answers 400", async () => {
  const user = await newUser();
  assertError(await admin.calendar.create(user.id, { timezone: "UTC", metadata: { n: 1 } }), 400);
});

/* ---- get calendar --------------------------------------------------------------------------- */

test("admin calendar.findById answers 200 {calendar}; unknown 404", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "Asia/Tokyo", weekStart: "Sun", metadata: { x: "y" } });
  assert.deepEqual(assertOk(await admin.calendar.findById(cal.id)).calendar, cal);
  assertError(await admin.calendar.findById(crypto.randomUUID()), 404);
});

/* ---- update calendar ------------------------------------------------------------------------ */

test("admin calendar.update sends nested settings and replaces timezone, weekStart, metadata", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "UTC", metadata: { a: "1" } });
  const res = await admin.calendar.update(cal.id, {
    timezone: "Europe/Berlin",
    weekStart: 3,
    metadata: { b: "2" },
  });
  const want = { ...cal, settings: { timezone: "Europe/Berlin", weekStart: "Thu" }, metadata: { b: "2" } };
  assert.deepEqual(assertOk(res).calendar, want);
  assert.deepEqual(assertOk(await admin.calendar.findById(cal.id)).calendar, want);
});

test("admin calendar.update with only metadata keeps the settings", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "Europe/Oslo", weekStart: 6 });
  const res = await admin.calendar.update(cal.id, { metadata: { only: "meta" } });
  assert.deepEqual(assertOk(res).calendar, { ...cal, metadata: { only: "meta" } });
});

test("calendar update with a string weekStart inside settings works", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const res = await srv.request("PUT", `/user/calendar/${cal.id}`, {
    headers: { "x-api-key": srv.apiKey },
    body: { settings: { weekStart: "Friday" } },
  });
  assert.equal(assertOk(res).calendar.settings.weekStart, "Fri");
});

test("calendar update with an invalid value answers 400 and changes nothing", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "UTC", metadata: { a: "1" } });
  assertError(await admin.calendar.update(cal.id, { timezone: "Mars/Olympus", metadata: { b: "2" } }), 400);
  assertError(await admin.calendar.update(cal.id, { weekStart: 9, metadata: { b: "2" } }), 400);
  assertError(await admin.calendar.update(cal.id, { timezone: "UTC", metadata: { b: 2 } }), 400);
  assert.deepEqual(assertOk(await admin.calendar.findById(cal.id)).calendar, cal);
});

test("calendar update of an unknown calendar answers 404", async () => {
  assertError(await admin.calendar.update(crypto.randomUUID(), { timezone: "UTC" }), 404);
});

test("end-user calendar.update sends a flat body and it is applied", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const client = asUser(user.id, ALL);
  const res = await client.calendar.update(cal.id, {
    timezone: "America/New_York",
    weekStart: 6,
    metadata: { f: "1" },
  });
  const want = { ...cal, settings: { timezone: "America/New_York", weekStart: "Sun" }, metadata: { f: "1" } };
  assert.deepEqual(assertOk(res).calendar, want);
  assert.deepEqual(assertOk(await client.calendar.findById(cal.id)).calendar, want);
});

test("if both settings and flat values are sent, settings wins", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const res = await srv.request("PUT", `/user/calendar/${cal.id}`, {
    headers: { "x-api-key": srv.apiKey },
    body: { settings: { timezone: "Europe/Paris" }, timezone: "Europe/Rome" },
  });
  assert.equal(assertOk(res).calendar.settings.timezone, "Europe/Paris");
});

/* ---- delete calendar ------------------------------------------------------------------------ */

test("admin calendar.remove answers 200 with the calendar, then 404", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "UTC", metadata: { d: "1" } });
  assert.deepEqual(assertOk(await admin.calendar.remove(cal.id)).calendar, cal);
  assertError(await admin.calendar.findById(cal.id), 404);
  assertError(await admin.calendar.remove(cal.id), 404, "second delete");
});

test("deleting a user deletes its calendars", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  assertOk(await admin.user.remove(user.id));
  assertError(await admin.calendar.findById(cal.id), 404);
});

/* ---- calendar metadata query ---------------------------------------------------------------- */

test("calendar.findByMeta returns {calendars} of the account with stable paging", async () => {
  const g = tag();
  const user = await newUser();
  const made = [];
  for (let i = 0; i < 3; i++)
    made.push(await newCalendar(user.id, { timezone: "UTC", metadata: { cal: g } }));
  await newCalendar(user.id, { timezone: "UTC", metadata: { cal: g + "-no" } });
  const all = assertOk(await admin.calendar.findByMeta({ key: "cal", value: g }, 0, 10)).calendars;
  assert.deepEqual(sorted(ids(all)), sorted(ids(made)));
  for (const c of all)
    assert.deepEqual(
      c,
      made.find((m) => m.id === c.id),
    );
  const page = assertOk(await admin.calendar.findByMeta({ key: "cal", value: g }, 1, 1)).calendars;
  assert.deepEqual(page, [all[1]]);
  assertError(await admin.calendar.findByMeta({ key: "cal", value: g }), 400, "skip/limit omitted");
});

test("calendar metadata query follows updates and deletes", async () => {
  const g = tag();
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "UTC", metadata: { m: g } });
  assertOk(await admin.calendar.update(cal.id, { metadata: { m: g + "2" } }));
  assert.deepEqual(assertOk(await admin.calendar.findByMeta({ key: "m", value: g }, 0, 10)).calendars, []);
  const moved = assertOk(await admin.calendar.findByMeta({ key: "m", value: g + "2" }, 0, 10)).calendars;
  assert.deepEqual(ids(moved), [cal.id]);
  assertOk(await admin.calendar.remove(cal.id));
  assert.deepEqual(
    assertOk(await admin.calendar.findByMeta({ key: "m", value: g + "2" }, 0, 10)).calendars,
    [],
  );
});

/* ---- end-user calendar routes and policies -------------------------------------------------- */

test("end user with allow * creates, reads, updates and deletes own calendars", async () => {
  const user = await newUser();
  const client = asUser(user.id, ALL);
  const { calendar } = assertOk(
    await client.calendar.create({ timezone: "Europe/Oslo", weekStart: 1, metadata: { u: "1" } }),
    201,
  );
  assert.deepEqual(calendar.settings, { timezone: "Europe/Oslo", weekStart: "Tue" });
  assert.equal(calendar.userId, user.id);
  assert.deepEqual(assertOk(await client.calendar.findById(calendar.id)).calendar, calendar);
  assertOk(await client.calendar.update(calendar.id, { metadata: { u: "2" } }));
  assert.deepEqual(assertOk(await client.calendar.remove(calendar.id)).calendar.metadata, { u: "2" });
  assertError(await client.calendar.findById(calendar.id), 404);
});

test("end-user calendar.create validates like the admin route (400)", async () => {
  const user = await newUser();
  const client = asUser(user.id, ALL);
  assertError(await client.calendar.create({ timezone: "Nowhere/City" }), 400);
  assertError(await client.calendar.create({}), 400);
  assertError(await client.calendar.create({ timezone: "UTC", weekStart: 7 }), 400);
});

test("default policy: create/update/delete calendar 401, get 200", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const client = asUser(user.id); // no schedulerPolicy
  assertError(await client.calendar.create({ timezone: "UTC" }), 401);
  assertOk(await client.calendar.findById(cal.id));
  assertError(await client.calendar.update(cal.id, { timezone: "Europe/Oslo" }), 401);
  assertError(await client.calendar.remove(cal.id), 401);
  assert.deepEqual(assertOk(await admin.calendar.findById(cal.id)).calendar, cal, "nothing changed");
});

test("a denied request on a nonexistent calendar is still 401 (policy before lookup)", async () => {
  const user = await newUser();
  const client = asUser(user.id);
  assertError(await client.calendar.remove(crypto.randomUUID()), 401);
  assertError(await client.calendar.update(crypto.randomUUID(), { timezone: "UTC" }), 401);
});

test("policy allow lists grant exactly the listed calendar permissions", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const create = asUser(user.id, { allow: [Permissions.CreateCalendar] });
  assertOk(await create.calendar.create({ timezone: "UTC" }), 201);
  assertError(await create.calendar.update(cal.id, { timezone: "UTC" }), 401);
  assertError(await create.calendar.remove(cal.id), 401);
  const upd = asUser(user.id, { allow: [Permissions.UpdateCalendar, Permissions.DeleteCalendar] });
  assertError(await upd.calendar.create({ timezone: "UTC" }), 401);
  assertOk(await upd.calendar.update(cal.id, { timezone: "Europe/Oslo" }));
  assertOk(await upd.calendar.remove(cal.id));
});

test("policy reject wins over allow; reject * denies everything needing a permission", async () => {
  const user = await newUser();
  const cal = await newCalendar(user.id);
  const noCreate = asUser(user.id, { allow: [Permissions.All], reject: [Permissions.CreateCalendar] });
  assertError(await noCreate.calendar.create({ timezone: "UTC" }), 401);
  assertOk(await noCreate.calendar.update(cal.id, { timezone: "UTC" }));
  const rejectAll = asUser(user.id, { allow: [Permissions.All], reject: [Permissions.All] });
  assertError(await rejectAll.calendar.create({ timezone: "UTC" }), 401);
  assertOk(await rejectAll.calendar.findById(cal.id), 200, "no permission needed to read");
  const rejectOnly = asUser(user.id, { reject: [Permissions.UpdateCalendar] });
  assertError(await rejectOnly.calendar.create({ timezone: "UTC" }), 401, "no allow list");
  const emptyAllow = asUser(user.id, { allow: [] });
  assertError(await emptyAllow.calendar.create({ timezone: "UTC" }), 401, "empty allow list");
});

/* ---- isolation ------------------------------------------------------------------------------ */

test("account B's admin cannot see account A's users (404; update 409)", async () => {
  const user = await newUser({ iso: "a" });
  assertError(await other.admin.user.find(user.id), 404);
  assertError(await other.admin.user.remove(user.id), 404);
  assertError(await other.admin.user.update(user.id, { metadata: { x: "y" } }), 409);
  assert.deepEqual(assertOk(await admin.user.find(user.id)).user, user, "A's user is untouched");
  const q = assertOk(await other.admin.user.findByMeta({ key: "iso", value: "a" }, 0, 10));
  assert.deepEqual(q.users, []);
});

test("account B's admin cannot see or touch account A's calendars (404)", async () => {
  const g = tag();
  const user = await newUser();
  const cal = await newCalendar(user.id, { timezone: "UTC", metadata: { iso: g } });
  assertError(await other.admin.calendar.findById(cal.id), 404);
  assertError(await other.admin.calendar.update(cal.id, { timezone: "Europe/Oslo" }), 404);
  assertError(await other.admin.calendar.remove(cal.id), 404);
  assertError(await other.admin.calendar.create(user.id, { timezone: "UTC" }), 404);
  assert.deepEqual(
    assertOk(await other.admin.calendar.findByMeta({ key: "iso", value: g }, 0, 10)).calendars,
    [],
  );
  assert.deepEqual(assertOk(await admin.calendar.findById(cal.id)).calendar, cal);
});

test("account B's end user cannot see account A's calendars (404)", async () => {
  const bUser = assertOk(await other.admin.user.create(), 201).user;
  const bClient = NettuUserClient({
    token: userToken(other.key.privateKey, bUser.id, ALL),
    nettuAccount: other.accountId,
  });
  const user = await newUser();
  const cal = await newCalendar(user.id);
  assertError(await bClient.calendar.findById(cal.id), 404);
  assertError(await bClient.calendar.update(cal.id, { timezone: "UTC" }), 404);
  assertError(await bClient.calendar.remove(cal.id), 404);
  assertOk(await admin.calendar.findById(cal.id));
});

test("user A cannot see user B's calendar in the same account (404)", async () => {
  const a = await newUser();
  const b = await newUser();
  const calB = await newCalendar(b.id);
  const clientA = asUser(a.id, ALL);
  assertError(await clientA.calendar.findById(calB.id), 404);
  assertError(await clientA.calendar.update(calB.id, { timezone: "Europe/Oslo" }), 404);
  assertError(await clientA.calendar.remove(calB.id), 404);
  assert.deepEqual(assertOk(await admin.calendar.findById(calB.id)).calendar, calB);
});
