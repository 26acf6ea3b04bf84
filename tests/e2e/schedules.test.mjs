// Schedules: every route through the published client (`NettuClient.schedule`,
// `NettuUserClient.schedule`; GET /schedule/meta, which the client lacks, raw), the wire
// object, the default week, normalisation, validation messages, end-user permissions,
// ownership and cross-account 404s, and the user-deletion cascade.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, test } from "node:test";
import {
  DEFAULT_PLUGINS,
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

const PLUGINS = DEFAULT_PLUGINS.includes("schedule") ? DEFAULT_PLUGINS : [...DEFAULT_PLUGINS, "schedule"];

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

async function newUser(client = admin) {
  return assertOk(await client.user.create(), 201).user;
}

function asUser(userId, policy) {
  return NettuUserClient({ token: userToken(KEY.privateKey, userId, policy), nettuAccount: accountId });
}

const t = (hours, minutes = 0) => ({ hours, minutes });
const iv = (sh, sm, eh, em) => ({ start: t(sh, sm), end: t(eh, em) });
const wday = (value, intervals) => ({ variant: { type: "WDay", value }, intervals });
const date = (value, intervals) => ({ variant: { type: "Date", value }, intervals });

const WORK = [iv(9, 0, 17, 30)];
const DEFAULT_RULES = [
  wday("Mon", WORK),
  wday("Tue", WORK),
  wday("Wed", WORK),
  wday("Thu", WORK),
  wday("Fri", WORK),
  wday("Sat", []),
  wday("Sun", []),
];

// A date string Y-M-D `days` after today (UTC).
function dayFromToday(days) {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.getUTCFullYear()}-${d.getUTCMonth() + 1}-${d.getUTCDate()}`;
}

async function meta(query, apiKey = srv.apiKey) {
  return srv.request("GET", `/schedule/meta?${new URLSearchParams(query)}`, {
    headers: { "x-api-key": apiKey },
  });
}

/* ---- admin routes (NettuClient.schedule) ---------------------------------------------------- */

test("admin schedule.create without rules: 201 {schedule} with the default week (7 rules)", async () => {
  const user = await newUser();
  const { schedule } = assertOk(await admin.schedule.create(user.id, { timezone: "Europe/Berlin" }), 201);
  assert.match(schedule.id, UUID_RE);
  assert.deepEqual(schedule, {
    id: schedule.id,
    userId: user.id,
    timezone: "Europe/Berlin",
    rules: DEFAULT_RULES,
    metadata: {},
  });
  assert.equal(schedule.rules.length, 7);
  // find answers the same object
  assert.deepEqual(assertOk(await admin.schedule.find(schedule.id)).schedule, schedule);
});

test("admin schedule.create with rules: normalised (sorted, merged, invalid dropped)", async () => {
  const user = await newUser();
  const soon = dayFromToday(10);
  const res = await admin.schedule.create(user.id, {
    timezone: "America/Santiago",
    rules: [
      wday(2, [iv(13, 0, 14, 0), iv(9, 0, 12, 0), iv(11, 30, 13, 0), iv(18, 0, 17, 0)]),
      wday("friday", []),
      date(soon, [iv(8, 0, 9, 0), iv(9, 0, 10, 0)]),
      date("1999-1-1", [iv(8, 0, 9, 0)]), // before today - 2 days: dropped
    ],
    metadata: { team: "red" },
  });
  const { schedule } = assertOk(res, 201);
  assert.deepEqual(schedule.rules, [
    wday("Wed", [iv(9, 0, 14, 0)]),
    wday("Fri", []),
    date(soon, [iv(8, 0, 10, 0)]),
  ]);
  assert.deepEqual(schedule.metadata, { team: "red" });
});

test("admin schedule.update replaces timezone, rules and metadata; rules normalised", async () => {
  const user = await newUser();
  const created = assertOk(await admin.schedule.create(user.id, { timezone: "UTC", metadata: { k: "v" } }), 201).schedule;

  let s = assertOk(await admin.schedule.update(created.id, { timezone: "Australia/Lord_Howe" })).schedule;
  assert.deepEqual(s, { ...created, timezone: "Australia/Lord_Howe" });

  const eleven = Array.from({ length: 11 }, (_, i) => iv(11 - i, 0, 11 - i, 30)); // 11:00 .. 01:00
  s = assertOk(await admin.schedule.update(created.id, { rules: [wday("Sat", eleven)] })).schedule;
  // the first ten are kept (11:00 .. 02:00), then sorted
  assert.deepEqual(s.rules, [wday("Sat", eleven.slice(0, 10).reverse())]);
  assert.equal(s.timezone, "Australia/Lord_Howe");
  assert.deepEqual(s.metadata, { k: "v" });

  // metadata replaces (through the raw body the client passes along)
  s = assertOk(await admin.schedule.update(created.id, { metadata: { x: "y" } })).schedule;
  assert.deepEqual(s.metadata, { x: "y" });
  assert.deepEqual(assertOk(await admin.schedule.find(created.id)).schedule, s);
});

test("admin schedule.remove answers the deleted schedule; then 404", async () => {
  const user = await newUser();
  const created = assertOk(await admin.schedule.create(user.id, { timezone: "UTC" }), 201).schedule;
  assert.deepEqual(assertOk(await admin.schedule.remove(created.id)).schedule, created);
  assertError(await admin.schedule.find(created.id), 404);
  assertError(await admin.schedule.remove(created.id), 404);
  assertError(await admin.schedule.update(created.id, { timezone: "UTC" }), 404);
});

test("GET /schedule/meta: the account's schedules with key = value, in creation order, paged", async () => {
  const tag = crypto.randomUUID();
  const a = await newUser();
  const ids = [];
  for (const m of [{ tag }, { tag, x: "1" }, { tag: "other" }]) {
    ids.push(assertOk(await admin.schedule.create(a.id, { timezone: "UTC", metadata: m }), 201).schedule.id);
  }
  const b = await newUser(other.admin);
  assertOk(await other.admin.schedule.create(b.id, { timezone: "UTC", metadata: { tag } }), 201);

  let body = assertOk(await meta({ key: "tag", value: tag }));
  assert.deepEqual(
    body.schedules.map((s) => s.id),
    ids.slice(0, 2),
  );
  assert.deepEqual(body.schedules[1].metadata, { tag, x: "1" });
  assert.equal(body.schedules[0].rules.length, 7);
  body = assertOk(await meta({ key: "tag", value: tag, skip: 1, limit: 1 }));
  assert.deepEqual(
    body.schedules.map((s) => s.id),
    [ids[1]],
  );
  assert.deepEqual(assertOk(await meta({ key: "tag", value: tag }, other.apiKey)).schedules.length, 1);
  assertError(await meta({ key: "tag" }), 400);
  assertError(await meta({ key: "tag", value: tag, skip: "undefined" }), 400);
  assertError(await meta({ key: "tag", value: tag }, "sk_wrong"), 401);
  // an end user cannot query metadata
  const user = await newUser();
  const res = await srv.request("GET", `/schedule/meta?key=tag&value=${tag}`, {
    headers: { "nettu-account": accountId, authorization: `Bearer ${userToken(KEY.privateKey, user.id)}` },
  });
  assertError(res, 401);
});

/* ---- validation --------------------------------------------------------------------------- */

test("invalid timezone, weekday, date or interval: 400 naming the field, nothing stored", async () => {
  const user = await newUser();
  const cases = [
    [{}, /^timezone: required/],
    [{ timezone: "Mars/Olympus" }, /^timezone: unknown IANA time zone 'Mars\/Olympus'/],
    [{ timezone: "europe/berlin" }, /^timezone: unknown/],
    [{ timezone: "UTC", rules: {} }, /^rules: expected an array/],
    [{ timezone: "UTC", rules: [wday("Mo", [])] }, /^rules\[0\]\.variant\.value: expected a weekday/],
    [{ timezone: "UTC", rules: [wday("Mon", []), wday(7, [])] }, /^rules\[1\]\.variant\.value: expected a weekday/],
    [{ timezone: "UTC", rules: [date("2030-2-30", [])] }, /^rules\[0\]\.variant\.value: expected a date/],
    [{ timezone: "UTC", rules: [{ variant: { type: "Week", value: "Mon" }, intervals: [] }] }, /^rules\[0\]\.variant\.type/],
    [{ timezone: "UTC", rules: [{ variant: { type: "WDay", value: "Mon" } }] }, /^rules\[0\]\.intervals: required/],
    [
      { timezone: "UTC", rules: [wday("Mon", []), wday("Tue", []), wday("Wed", [iv(9, 0, 17, 0), iv(24, 0, 1, 0)])] },
      /^rules\[2\]\.intervals\[1\]\.start\.hours: expected 0\.\.23$/,
    ],
    [{ timezone: "UTC", rules: [wday("Mon", [iv(9, 0, 17, 60)])] }, /^rules\[0\]\.intervals\[0\]\.end\.minutes: expected 0\.\.59$/],
    [{ timezone: "UTC", rules: [wday("Mon", [{ start: t(9), end: { hours: "17", minutes: 0 } }])] }, /end\.hours: expected an integer/],
    [{ timezone: "UTC", metadata: { n: 1 } }, /^metadata/],
  ];
  const probe = crypto.randomUUID();
  for (const [given, message] of cases) {
    const body = { metadata: { probe }, ...given };
    for (const res of [await admin.schedule.create(user.id, body), await asUser(user.id, { allow: ["*"] }).schedule.create(body)]) {
      assertError(res, 400, JSON.stringify(body));
      assert.match(res.data.message, message, JSON.stringify(body));
    }
  }
  assert.deepEqual(assertOk(await meta({ key: "probe", value: probe })).schedules, [], "nothing stored");
  const s = assertOk(await admin.schedule.create(user.id, { timezone: "UTC" }), 201).schedule;
  const bad = await admin.schedule.update(s.id, { timezone: "UTC", rules: [wday("Mon", [iv(-1, 0, 1, 0)])] });
  assertError(bad, 400);
  assert.match(bad.data.message, /^rules\[0\]\.intervals\[0\]\.start\.hours/);
  assert.deepEqual(assertOk(await admin.schedule.find(s.id)).schedule, s, "a 400 changes nothing");
});

/* ---- end-user routes (NettuUserClient.schedule) and permissions --------------------------- */

test("end user with permissions: create, find, update, remove its own schedule", async () => {
  const user = await newUser();
  const client = asUser(user.id, { allow: [Permissions.CreateSchedule, Permissions.UpdateSchedule, Permissions.DeleteSchedule] });
  const created = assertOk(await client.schedule.create({ timezone: "Asia/Kolkata" }), 201).schedule;
  assert.equal(created.userId, user.id);
  assert.equal(created.rules.length, 7);
  assert.deepEqual(assertOk(await client.schedule.find(created.id)).schedule, created);
  const updated = assertOk(
    await client.schedule.update(created.id, { timezone: "UTC", rules: [wday("Sun", [iv(10, 0, 12, 0), iv(11, 0, 13, 0)])] }),
  ).schedule;
  assert.deepEqual(updated, { ...created, timezone: "UTC", rules: [wday("Sun", [iv(10, 0, 13, 0)])] });
  assert.deepEqual(assertOk(await client.schedule.remove(created.id)).schedule, updated);
  assertError(await client.schedule.find(created.id), 404);
});

test("end-user permissions: each write needs its own permission (401 otherwise); reads need none", async () => {
  const user = await newUser();
  const existing = assertOk(await admin.schedule.create(user.id, { timezone: "UTC" }), 201).schedule;

  const none = asUser(user.id); // default policy
  assert.deepEqual(assertOk(await none.schedule.find(existing.id)).schedule, existing);
  assertError(await none.schedule.create({ timezone: "UTC" }), 401);
  assertError(await none.schedule.update(existing.id, { timezone: "GMT" }), 401);
  assertError(await none.schedule.remove(existing.id), 401);
  assertError(await none.schedule.remove(crypto.randomUUID()), 401, "policy before lookup");

  const createOnly = asUser(user.id, { allow: [Permissions.CreateSchedule] });
  assertOk(await createOnly.schedule.create({ timezone: "UTC" }), 201);
  assertError(await createOnly.schedule.update(existing.id, { timezone: "GMT" }), 401);
  assertError(await createOnly.schedule.remove(existing.id), 401);

  const allButUpdate = asUser(user.id, { allow: [Permissions.All], reject: [Permissions.UpdateSchedule] });
  assertError(await allButUpdate.schedule.update(existing.id, { timezone: "GMT" }), 401);
  assertOk(await allButUpdate.schedule.create({ timezone: "UTC" }), 201);

  const rejectDelete = asUser(user.id, { allow: [Permissions.DeleteSchedule], reject: [Permissions.DeleteSchedule] });
  assertError(await rejectDelete.schedule.remove(existing.id), 401);
  const deleteOnly = asUser(user.id, { allow: [Permissions.DeleteSchedule] });
  assertError(await deleteOnly.schedule.create({ timezone: "UTC" }), 401);
  assertOk(await deleteOnly.schedule.remove(existing.id));
});

test("end-user routes see only the user's own schedules (404 for another user's)", async () => {
  const owner = await newUser();
  const stranger = await newUser();
  const s = assertOk(await admin.schedule.create(owner.id, { timezone: "UTC" }), 201).schedule;
  const client = asUser(stranger.id, { allow: ["*"] });
  assertError(await client.schedule.find(s.id), 404); // the original returned it: not reproduced
  assertError(await client.schedule.update(s.id, { timezone: "GMT" }), 404);
  assertError(await client.schedule.remove(s.id), 404);
  assert.deepEqual(assertOk(await admin.schedule.find(s.id)).schedule, s);
});

/* ---- accounts, cascades, paths ------------------------------------------------------------ */

test("another account's schedules and users are 404 on every route", async () => {
  const b = await newUser(other.admin);
  const theirs = assertOk(await other.admin.schedule.create(b.id, { timezone: "UTC" }), 201).schedule;
  const mine = assertOk(await admin.schedule.create((await newUser()).id, { timezone: "UTC" }), 201).schedule;

  assertError(await admin.schedule.create(b.id, { timezone: "UTC" }), 404);
  assertError(await admin.schedule.find(theirs.id), 404);
  assertError(await admin.schedule.update(theirs.id, { timezone: "GMT" }), 404);
  assertError(await admin.schedule.remove(theirs.id), 404);
  assertError(await other.admin.schedule.find(mine.id), 404);
  assertError(await other.admin.schedule.remove(mine.id), 404);

  const client = asUser((await newUser()).id, { allow: ["*"] });
  assertError(await client.schedule.find(theirs.id), 404);
  assertError(await client.schedule.update(theirs.id, { timezone: "GMT" }), 404);
  assertError(await client.schedule.remove(theirs.id), 404);
  assert.deepEqual(assertOk(await other.admin.schedule.find(theirs.id)).schedule, theirs);
  assertError(await admin.schedule.create(crypto.randomUUID(), { timezone: "UTC" }), 404);
});

test("deleting a user deletes its schedules", async () => {
  const user = await newUser();
  const s1 = assertOk(await admin.schedule.create(user.id, { timezone: "UTC", metadata: { gone: user.id } }), 201).schedule;
  const s2 = assertOk(await asUser(user.id, { allow: ["*"] }).schedule.create({ timezone: "UTC" }), 201).schedule;
  assertOk(await admin.user.remove(user.id));
  assertError(await admin.schedule.find(s1.id), 404);
  assertError(await admin.schedule.find(s2.id), 404);
  assert.deepEqual(assertOk(await meta({ key: "gone", value: user.id })).schedules, []);
});

test("path ids that are not UUIDs are 404; missing credentials 401", async () => {
  assertError(await admin.schedule.find("not-a-uuid"), 404);
  assertError(await admin.schedule.remove("123"), 404);
  assertError(await srv.request("GET", `/user/schedule/${crypto.randomUUID()}`), 401);
  assertError(await srv.request("POST", "/schedule", { body: { timezone: "UTC" } }), 401);
  assertError(await NettuClient({ apiKey: "sk_wrong" }).schedule.find(crypto.randomUUID()), 401);
});
