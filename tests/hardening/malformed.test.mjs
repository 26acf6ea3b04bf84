// Hardening: malformed requests end to end. More than 50 distinct bad requests (broken JSON,
// wrong JSON types, integers beyond 64 bits, negative values, ids that are not UUIDs,
// unknown time zones, invalid recurrence rules, oversized bodies, invalid UTF-8 in bodies and
// headers, path traversal and percent-encoding tricks, duplicate and conflicting headers,
// unsupported methods, bad query strings, broken credentials) each get their 4xx with a JSON
// body {error, message}, the server stays up, and the stored data is the same
// before and after them: the GET answers of every entity, the row count of every table and
// the whole `sqlite3 -readonly .dump` of the database.
//
// Before that, SQL meta-characters in metadata keys and values (`'; DROP TABLE user_users;
// --` and friends) must NOT be errors: they are stored and returned verbatim and metadata
// queries find exactly them.
//
// Where the original sets no rule, the expected status is the most reasonable 4xx; each such choice
// is explained in a comment beside the case. Requests the HTTP parser (core/http_parse.c)
// refuses get the same JSON error body as everything else, and the connection closes.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { rawJwt, rs256, rsaKeyPair, userToken } from "../e2e/harness.mjs";
import { assertJsonError, assertStatus, buildRequest, healthy, launch, rawRequest, rowCounts, sqlite } from "./lib.mjs";

let srv;
let K; // the admin API key
let ACC; // the account id
let TOKEN; // an end-user token allowed everything
let keys;
const ids = {};

const START = Date.UTC(2030, 0, 7, 9); // a Monday, 09:00 UTC
const HOUR = 3_600_000;
const DAY = 86_400_000;

before(async () => {
  srv = await launch();
  K = srv.apiKey;
  keys = rsaKeyPair();
  ACC = assertStatus(await srv.admin("GET", "/account"), 200).account.id;
  assertStatus(await srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: keys.publicKey } }), 200, "upload the public key");
  assertStatus(await srv.admin("PUT", "/account/webhook", { body: { webhookUrl: "https://93.184.215.14/hook" } }), 200, "set a webhook");
  ids.user = assertStatus(await srv.admin("POST", "/user", { body: { metadata: { team: "red" } } }), 201).user.id;
  ids.user2 = assertStatus(await srv.admin("POST", "/user", { body: {} }), 201).user.id;
  ids.cal = assertStatus(await srv.admin("POST", `/user/${ids.user}/calendar`, { body: { timezone: "Europe/Oslo", metadata: { kind: "work" } } }), 201).calendar.id;
  ids.event = assertStatus(
    await srv.admin("POST", `/user/${ids.user}/events`, {
      body: { calendarId: ids.cal, startTs: START, duration: HOUR, busy: true, recurrence: { freq: "weekly", interval: 1, count: 10, byweekday: ["Mon"] }, metadata: { title: "stand-up" } },
    }),
    201,
  ).event.id;
  ids.single = assertStatus(await srv.admin("POST", `/user/${ids.user}/events`, { body: { calendarId: ids.cal, startTs: START + DAY, duration: HOUR } }), 201).event.id;
  TOKEN = userToken(keys.privateKey, ids.user, { allow: ["*"] });
  const me = await srv.request("GET", "/me", { headers: { "nettu-account": ACC, authorization: `Bearer ${TOKEN}` } });
  assertStatus(me, 200, "the end-user token works");
});

after(async () => {
  await srv?.stop();
});

/* ------------------------------------------------------------------------------------------
 * SQL meta-characters are data, not errors.
 */

const SQL_META = {
  "'; DROP TABLE user_users; --": "'; DROP TABLE user_users; --",
  "\" OR \"1\"=\"1": "' OR '1'='1",
  "Robert'); DROP TABLE students;--": "1; DELETE FROM account_accounts",
  "%": "_",
  "\\": "\\'\\\"",
  $1: "?",
  "/*": "*/ --",
  "a' UNION SELECT id, api_key_hash FROM account_accounts --": "x\" ; ATTACH DATABASE '/tmp/x' AS x; --",
  " spaces ": "  leading and trailing  ",
  "☃ ünïcödé": "𝄞 emoji 😀 \u2028 line separator",
  "NUL-free \t tab \n newline": "\r\n",
  long: "'".repeat(64), // 64 bytes: also a key of the longest size when the test swaps them
};

test("SQL meta-characters in metadata keys and values are stored and returned verbatim", async () => {
  const q = (k, v) => `key=${encodeURIComponent(k)}&value=${encodeURIComponent(v)}`;
  // A decoy with the same keys but other values: a query must not find it.
  const decoyMeta = Object.fromEntries(Object.keys(SQL_META).map((k) => [k, `decoy ${k}`]));
  const decoy = assertStatus(await srv.admin("POST", "/user", { body: { metadata: decoyMeta } }), 201).user;
  assert.deepEqual(decoy.metadata, decoyMeta);

  const created = assertStatus(await srv.admin("POST", "/user", { body: { metadata: SQL_META } }), 201, "user with SQL metadata").user;
  assert.deepEqual(created.metadata, SQL_META, "POST answer");
  assert.deepEqual(assertStatus(await srv.admin("GET", `/user/${created.id}`), 200).user.metadata, SQL_META, "GET answer");
  for (const [k, v] of Object.entries(SQL_META)) {
    const found = assertStatus(await srv.admin("GET", `/user/meta?${q(k, v)}`), 200, `meta query ${JSON.stringify(k)}`).users;
    assert.deepEqual(
      found.map((u) => u.id),
      [created.id],
      `the metadata query for ${JSON.stringify(k)} = ${JSON.stringify(v)} finds exactly the user`,
    );
  }
  // Injection attempts in the query itself find nothing, and wildcards are literal.
  for (const [k, v] of [
    ["' OR 1=1 --", "x"],
    ["team", "' OR '1'='1"],
    ["team", "%"],
    ["%", "%"],
    ["_", "_"],
    ["team", "r_d"],
  ]) {
    const found = assertStatus(await srv.admin("GET", `/user/meta?${q(k, v)}`), 200, `meta query ${k}=${v}`).users;
    assert.deepEqual(found, [], `the metadata query ${JSON.stringify(k)} = ${JSON.stringify(v)} matches nothing`);
  }

  // Calendars and events take the same metadata.
  const cal = assertStatus(await srv.admin("POST", `/user/${created.id}/calendar`, { body: { timezone: "UTC", metadata: SQL_META } }), 201).calendar;
  assert.deepEqual(cal.metadata, SQL_META);
  assert.deepEqual(assertStatus(await srv.admin("GET", `/user/calendar/${cal.id}`), 200).calendar.metadata, SQL_META);
  const k1 = "'; DROP TABLE user_users; --";
  assert.deepEqual(
    assertStatus(await srv.admin("GET", `/calendar/meta?${q(k1, SQL_META[k1])}`), 200).calendars.map((c) => c.id),
    [cal.id],
  );
  const ev = assertStatus(await srv.admin("POST", `/user/${created.id}/events`, { body: { calendarId: cal.id, startTs: START, duration: HOUR, metadata: SQL_META } }), 201).event;
  assert.deepEqual(ev.metadata, SQL_META);
  assert.deepEqual(assertStatus(await srv.admin("GET", `/user/events/${ev.id}`), 200).event.metadata, SQL_META);
  assert.deepEqual(
    assertStatus(await srv.admin("GET", `/events/meta?${q(k1, SQL_META[k1])}`), 200).events.map((e) => e.id),
    [ev.id],
  );
  // The update path (PUT replaces the metadata) too.
  const swapped = Object.fromEntries(Object.entries(SQL_META).map(([k, v]) => [v || "empty", k]));
  assert.deepEqual(assertStatus(await srv.admin("PUT", `/user/${created.id}`, { body: { metadata: swapped } }), 200).user.metadata, swapped);
  assert.deepEqual(assertStatus(await srv.admin("GET", `/user/${created.id}`), 200).user.metadata, swapped);
  // Every table is still there.
  const counts = rowCounts(srv.db);
  for (const t of ["account_accounts", "user_users", "user_metadata", "calendar_calendars", "events_events"]) {
    assert.ok(counts[t] > 0, `table ${t} still has its rows`);
  }
});

/* ------------------------------------------------------------------------------------------
 * The bad requests.
 */

const JSONCT = ["Content-Type", "application/json"];
const admin = () => [["x-api-key", K]];
const user = () => [
  ["nettu-account", ACC],
  ["Authorization", `Bearer ${TOKEN}`],
];

// A request case: `name`, `req` (the raw request bytes, built lazily once the ids exist),
// `status` (expected), `parser` (refused by the HTTP parser: the connection closes too).
const CASES = [];
function bad(name, status, req, opts = {}) {
  CASES.push({ name, status, req, ...opts });
}
// Shorthands: a request with admin credentials and a JSON body given as raw text (latin1
// string or Buffer), or an object.
const body = (b) => (b === undefined ? null : Buffer.isBuffer(b) ? b : typeof b === "string" ? Buffer.from(b, "latin1") : Buffer.from(JSON.stringify(b), "utf8"));
const A = (method, target, b, extra = []) => () => buildRequest(method, target, [...admin(), ...(b === undefined ? [] : [JSONCT]), ...extra], body(b));
const U = (method, target, b, extra = []) => () => buildRequest(method, target, [...user(), ...(b === undefined ? [] : [JSONCT]), ...extra], body(b));
const R = (method, target, headers, b) => () => buildRequest(method, target, headers(), body(b));
// Admin request whose JSON text is `obj` serialised, then `from` replaced by `to` (for
// numbers JSON.stringify cannot write).
const AR = (method, target, obj, from, to) => () => {
  const text = JSON.stringify(obj()).replace(from, to);
  assert.ok(text.includes(to), `the replacement ${to} applies`);
  return A(method, target(), text)();
};
const V = "/api/v1";
const ev = (extra) => ({ calendarId: ids.cal, startTs: START, duration: HOUR, ...extra });
const rr = (extra) => ev({ recurrence: { freq: "daily", interval: 1, ...extra } });

// --- broken JSON (malformed JSON -> 400) ---
bad("truncated object", 400, A("POST", `${V}/user`, '{"metadata":{"a":"b"'));
bad("trailing garbage after the object", 400, A("POST", `${V}/user`, "{} x"));
bad("single-quoted strings", 400, A("POST", `${V}/user`, "{'metadata':{}}"));
bad("a bare word", 400, A("POST", `${V}/user`, "hello"));
bad("trailing comma", 400, A("POST", `${V}/user`, '{"metadata":{"a":"b",}}'));
bad("NaN literal", 400, A("POST", `${V}/user`, '{"metadata":NaN}'));
bad("comment in JSON", 400, A("POST", `${V}/user`, "{/*c*/}"));
bad("unquoted key", 400, A("POST", `${V}/user`, "{metadata:{}}"));
bad("array body (not an object)", 400, A("POST", `${V}/user`, "[]"));
bad("string body (not an object)", 400, A("POST", `${V}/user`, '"x"'));
bad("null body (not an object)", 400, A("POST", `${V}/user`, "null"));
bad("number body (not an object)", 400, A("POST", `${V}/user`, "42"));
// README "How a request is served": duplicate keys are 400.
bad("duplicate keys", 400, A("POST", `${V}/user`, '{"metadata":{},"metadata":{"a":"b"}}'));
bad("escaped NUL in a string", 400, A("POST", `${V}/user`, '{"metadata":{"a":"x\\u0000y"}}'));
bad("lone UTF-16 surrogate escape", 400, A("POST", `${V}/user`, '{"metadata":{"a":"\\ud800"}}'));
bad("5000 levels of nesting", 400, A("POST", `${V}/user`, `{"x":${"[".repeat(5000)}${"]".repeat(5000)}}`));
// Whitespace only is not the empty body (which means {}): it is not a JSON text.
bad("whitespace-only body", 400, A("POST", `${V}/user`, "   \r\n  "));
bad("broken JSON on PUT /account/pubkey", 400, A("PUT", `${V}/account/pubkey`, '{"publicJwtKey": "-----BEGIN'));
bad("broken JSON on an end-user route", 400, U("POST", `${V}/events`, '{"calendarId":'));
// The content type is not checked (lenient), but the body must still be JSON.
bad("text/plain body that is not JSON", 400, () => buildRequest("POST", `${V}/user`, [...admin(), ["Content-Type", "text/plain"]], Buffer.from("metadata=a")));

// --- wrong JSON types (wrong JSON type -> 400; Metadata: any non-string value -> 400) ---
bad("metadata is a string", 400, A("POST", `${V}/user`, { metadata: "x" }));
bad("metadata value is a number", 400, A("POST", `${V}/user`, { metadata: { a: 1 } }));
bad("metadata value is null", 400, A("POST", `${V}/user`, { metadata: { a: null } }));
bad("metadata value is an object", 400, A("POST", `${V}/user`, { metadata: { a: { b: "c" } } }));
bad("metadata is an array", 400, A("POST", `${V}/user`, { metadata: ["a"] }));
bad("metadata value is a boolean (update)", 400, () => A("PUT", `${V}/user/${ids.user}`, { metadata: { a: true } })());
bad("timezone is a number", 400, () => A("POST", `${V}/user/${ids.user}/calendar`, { timezone: 5 })());
bad("timezone missing", 400, () => A("POST", `${V}/user/${ids.user}/calendar`, {})());
bad("weekStart 7", 400, () => A("POST", `${V}/user/${ids.user}/calendar`, { timezone: "UTC", weekStart: 7 })());
bad("weekStart 'Mo'", 400, () => A("POST", `${V}/user/${ids.user}/calendar`, { timezone: "UTC", weekStart: "Mo" })());
bad("weekStart -1 (update)", 400, () => A("PUT", `${V}/user/calendar/${ids.cal}`, { settings: { weekStart: -1 } })());
bad("startTs is a numeric string", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ startTs: "0" }))());
bad("startTs is fractional", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ startTs: 1.5 }))());
bad("startTs in exponent form (a real)", 400, AR("POST", () => `${V}/user/${ids.user}/events`, () => ev({ startTs: 0 }), '"startTs":0', '"startTs":1e3'));
bad("busy is a string", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ busy: "yes" }))());
bad("duration missing", 400, () => A("POST", `${V}/user/${ids.user}/events`, { calendarId: ids.cal, startTs: START })());
bad("calendarId missing", 400, () => A("POST", `${V}/user/${ids.user}/events`, { startTs: START, duration: HOUR })());
bad("calendarId is a number", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ calendarId: 5 }))());
bad("reminders is an object", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ reminders: {} }))());
bad("reminder delta is a string", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ reminders: [{ delta: "x", identifier: "a" }] }))());
bad("reminder without identifier", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ reminders: [{ delta: -5 }] }))());
bad("recurrence is a string", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ recurrence: "FREQ=DAILY" }))());
bad("exdates hold a string (update)", 400, () => A("PUT", `${V}/user/events/${ids.event}`, { exdates: ["x"] })());
bad("publicJwtKey is a number", 400, A("PUT", `${V}/account/pubkey`, { publicJwtKey: 123 }));
bad("publicJwtKey is not PEM", 400, A("PUT", `${V}/account/pubkey`, { publicJwtKey: "not a pem" }));
bad("publicJwtKey is a private key", 400, () => A("PUT", `${V}/account/pubkey`, { publicJwtKey: keys.privateKey })());
bad("webhookUrl with an ftp scheme", 400, A("PUT", `${V}/account/webhook`, { webhookUrl: "ftp://example.com/x" }));
bad("webhookUrl missing", 400, A("PUT", `${V}/account/webhook`, {}));
bad("account code is a number", 400, R("POST", `${V}/account`, () => [JSONCT], { code: 123 }));
bad("account code missing", 400, R("POST", `${V}/account`, () => [JSONCT], {}));
bad("end-user busy is a number", 400, () => U("POST", `${V}/events`, ev({ busy: 1 }))());

// --- integers beyond 64 bits, reals (int = a JSON integer that fits 64 bits) ---
const evPath = () => `${V}/user/${ids.user}/events`;
bad("startTs 2^64", 400, AR("POST", evPath, () => ev({ startTs: 0 }), '"startTs":0', '"startTs":18446744073709551616'));
bad("startTs 2^63", 400, AR("POST", evPath, () => ev({ startTs: 0 }), '"startTs":0', '"startTs":9223372036854775808'));
bad("duration -2^63-1", 400, AR("POST", evPath, () => ev({ duration: 0 }), '"duration":0', '"duration":-9223372036854775809'));
bad("duration 1e400", 400, AR("POST", evPath, () => ev({ duration: 0 }), '"duration":0', '"duration":1e400'));
bad("recurrence count 2^64", 400, AR("POST", evPath, () => rr({ count: 7 }), '"count":7', '"count":18446744073709551616'));
bad("query startTs of 20 digits", 400, () => A("GET", `${V}/user/calendar/${ids.cal}/events?startTs=99999999999999999999&endTs=1`)());
bad("query startTs 1e3", 400, () => A("GET", `${V}/user/${ids.user}/freebusy?startTs=1e3&endTs=5000&calendarIds=${ids.cal}`)());
bad("query limit of 20 digits", 400, A("GET", `${V}/user/meta?key=a&value=b&limit=99999999999999999999`));

// --- negative values where only non-negative ones are valid ---
bad("reminder minutesBefore -1", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ reminder: { minutesBefore: -1 } }))());
bad("reminder delta below -535680", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ reminders: [{ delta: -535681, identifier: "a" }] }))());
bad("meta query skip -1", 400, A("GET", `${V}/user/meta?key=a&value=b&skip=-1`));
bad("meta query limit -5", 400, A("GET", `${V}/calendar/meta?key=a&value=b&limit=-5`));
bad("recurrence count -1", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ count: -1 }))());
bad("recurrence interval -1", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ interval: -1 }))());

// --- ids that are not UUIDs (path id -> 404; body id -> 400) ---
bad("path userId not a UUID", 404, A("GET", `${V}/user/not-a-uuid`));
bad("path calendarId '123'", 404, A("GET", `${V}/user/calendar/123`));
bad("path eventId 'zzz' on DELETE", 404, A("DELETE", `${V}/user/events/zzz`));
bad("path userId UUID plus a character", 404, () => A("PUT", `${V}/user/${ids.user}x`, {})());
bad("path userId in braces", 404, () => A("GET", `${V}/user/%7B${ids.user}%7D`)());
bad("path userId without hyphens", 404, () => A("GET", `${V}/user/${ids.user.replace(/-/g, "")}`)());
bad("path userId not a UUID on POST calendar", 404, A("POST", `${V}/user/not-a-uuid/calendar`, { timezone: "UTC" }));
bad("path eventId with a NUL escape", 404, () => A("GET", `${V}/user/events/${ids.event}%00`)());
bad("body calendarId not a UUID", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ calendarId: "abc" }))());
bad("body serviceId not a UUID", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ serviceId: "abc" }))());
// On the free/busy route a nettu-account that is not a UUID is 400 (quirk).
bad("free/busy nettu-account not a UUID", 400, () => R("GET", `${V}/user/${ids.user}/freebusy?startTs=0&endTs=1000&calendarIds=${ids.cal}`, () => [["nettu-account", "x"]])());
bad("end-user nettu-account not a UUID", 401, R("GET", `${V}/me`, () => [["nettu-account", "x"], ["Authorization", `Bearer ${TOKEN}`]]));
bad("end-user nettu-account of no account", 401, R("GET", `${V}/me`, () => [["nettu-account", "00000000-0000-4000-8000-000000000000"], ["Authorization", `Bearer ${TOKEN}`]]));

// --- unknown time zones (exact IANA name, else 400) ---
for (const tz of ["Mars/Olympus", "utc", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "", "Europe/Oslo ", "Europe", "posixrules", "EST5EDT,M3.2.0,M11.1.0", "A".repeat(300)]) {
  bad(`timezone ${JSON.stringify(tz.length > 40 ? `${tz.slice(0, 10)}...(${tz.length})` : tz)}`, 400, () => A("POST", `${V}/user/${ids.user}/calendar`, { timezone: tz })());
}
bad("unknown timezone on update", 400, () => A("PUT", `${V}/user/calendar/${ids.cal}`, { settings: { timezone: "Nowhere/Land" } })());
bad("unknown timezone on an end-user create", 400, U("POST", `${V}/calendar`, { timezone: "Mars/Olympus" }));

// --- invalid recurrence ---
bad("recurrence freq hourly", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ freq: "hourly" }))());
bad("recurrence freq missing", 400, () => A("POST", `${V}/user/${ids.user}/events`, ev({ recurrence: { interval: 1 } }))());
bad("recurrence freq a number", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ freq: 3 }))());
bad("recurrence interval 0", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ interval: 0 }))());
bad("recurrence count 740", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ count: 740 }))());
bad("recurrence count 0", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ count: 0 }))());
bad("recurrence until beyond 2 x 366 days", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ until: START + 63_244_800_001 }))());
bad("recurrence until before startTs", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ until: START - 1 }))());
bad("recurrence bysetpos alone", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ bysetpos: [1] }))());
bad("recurrence byweekday XX", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ byweekday: ["XX"] }))());
bad("recurrence byweekday 0Mon", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ byweekday: ["0Mon"] }))());
bad("recurrence byweekday 500Mon", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ byweekday: ["500Mon"] }))());
bad("recurrence byweekday 7", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ byweekday: [7] }))());
bad("recurrence bymonth 13", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ freq: "yearly", bymonth: [13] }))());
bad("recurrence bymonthday 32", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ freq: "monthly", bymonthday: [32] }))());
bad("recurrence byyearday 367", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ freq: "yearly", byyearday: [367] }))());
bad("recurrence byweekno 54", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ freq: "yearly", byweekno: [54] }))());
bad("recurrence bysetpos 367", 400, () => A("POST", `${V}/user/${ids.user}/events`, rr({ freq: "monthly", byweekday: ["Mon"], bysetpos: [367] }))());
bad("recurrence interval 0 on update", 400, () => A("PUT", `${V}/user/events/${ids.event}`, { recurrence: { freq: "daily", interval: 0 } })());
bad("recurrence count 740 on an end-user create", 400, () => U("POST", `${V}/events`, rr({ count: 740 }))());

// --- oversized body (above 2 MiB -> 413) ---
bad("metadata of 2.1 MB (over max_body_bytes)", 413, A("POST", `${V}/user`, { metadata: { big: "v".repeat(2_100_000) } }));

// --- invalid UTF-8 in JSON strings (README: invalid UTF-8 -> 400) ---
const utf8Body = (bytes) => Buffer.concat([Buffer.from('{"metadata":{"a":"'), Buffer.from(bytes), Buffer.from('"}}')]);
bad("invalid UTF-8 0xff 0xfe in a value", 400, A("POST", `${V}/user`, utf8Body([0xff, 0xfe])));
bad("overlong UTF-8 for '/'", 400, A("POST", `${V}/user`, utf8Body([0xc0, 0xaf])));
bad("UTF-8 encoded surrogate", 400, A("POST", `${V}/user`, utf8Body([0xed, 0xa0, 0x80])));
bad("truncated UTF-8 sequence", 400, A("POST", `${V}/user`, utf8Body([0xe2, 0x82])));
bad("invalid UTF-8 in a key", 400, A("POST", `${V}/user`, Buffer.concat([Buffer.from('{"metadata":{"'), Buffer.from([0xff]), Buffer.from('":"a"}}')])));
bad("invalid UTF-8 in a timezone", 400, () => A("POST", `${V}/user/${ids.user}/calendar`, Buffer.concat([Buffer.from('{"timezone":"Europe/Osl'), Buffer.from([0xf8]), Buffer.from('"}')]))());

// --- invalid bytes in headers (credentials must be visible ASCII -> 401) ---
bad("x-api-key with a 0xff byte", 401, R("GET", `${V}/account`, () => [["x-api-key", `${K}\xff`]]));
bad("x-api-key in UTF-8 (e-acute)", 401, R("GET", `${V}/account`, () => [["x-api-key", "\xc3\xa9"]]));
bad("nettu-account with 0xff bytes", 401, R("GET", `${V}/me`, () => [["nettu-account", `${ACC}\xff`], ["Authorization", `Bearer ${TOKEN}`]]));
bad("Authorization with 0xff 0xfe", 401, R("GET", `${V}/me`, () => [["nettu-account", ACC], ["Authorization", "Bearer \xff\xfe"]]));
bad("free/busy nettu-account with 0xff", 400, () => R("GET", `${V}/user/${ids.user}/freebusy?startTs=0&endTs=1000&calendarIds=${ids.cal}`, () => [["nettu-account", "\xff"]])());

// --- path traversal and percent-encoding tricks (exact match; path id -> 404) ---
bad("..%2F in a path id", 404, A("GET", `${V}/user/..%2Fmeta`));
bad("%00 after a literal segment", 404, A("GET", `${V}/user/meta%00`));
bad("double-encoded ../", 404, A("GET", `${V}/user/%252e%252e%252fmeta`));
bad("raw dot segments", 404, A("GET", `${V}/user/../account`));
bad("encoded dot segments", 404, A("GET", `${V}/%2e%2e/v1/account`));
bad("empty segment", 404, A("GET", `${V}//account`));
bad("trailing slash", 404, A("GET", `${V}/account/`));
bad("upper-case base path", 404, A("GET", "/API/V1/account"));
bad("encoded traversal to /etc/passwd", 404, A("GET", `${V}/user/%2e%2e%2f%2e%2e%2fetc%2fpasswd`));
bad("path parameter with ;params", 404, () => A("GET", `${V}/user/${ids.user};x=1`)());
bad("traversal between two ids", 404, () => A("GET", `${V}/user/${ids.user}/../${ids.user2}`)());

// --- duplicate and conflicting headers ---
// No contract here. Two values of a credential header make the credentials ambiguous: the
// most reasonable answer is 401, whichever value comes first (a front proxy may check the
// other one).
bad("two x-api-key headers, the valid one first", 401, R("GET", `${V}/account`, () => [["x-api-key", K], ["x-api-key", "sk_junk"]]));
bad("two x-api-key headers, the valid one last", 401, R("GET", `${V}/account`, () => [["x-api-key", "sk_junk"], ["x-api-key", K]]));
bad("two nettu-account headers", 401, R("GET", `${V}/me`, () => [["nettu-account", ACC], ["nettu-account", "00000000-0000-4000-8000-000000000000"], ["Authorization", `Bearer ${TOKEN}`]]));
bad("two Authorization headers", 401, R("GET", `${V}/me`, () => [["nettu-account", ACC], ["Authorization", `Bearer ${TOKEN}`], ["Authorization", "Bearer junk"]]));
// RFC 9112 6.3: different Content-Length values make the message unreadable: 400 (the
// request-smuggling case). The server must not pick one of them.
bad("two different Content-Length headers", 400, R("POST", `${V}/user`, () => [...admin(), JSONCT, ["Content-Length", "2"], ["Content-Length", "12"]], "{}{}{}{}{}{}"));
bad("Content-Length with Transfer-Encoding chunked", 400, R("POST", `${V}/user`, () => [...admin(), JSONCT, ["Content-Length", "2"], ["Transfer-Encoding", "chunked"]], "2\r\n{}\r\n0\r\n\r\n"), { parser: true });
bad("negative Content-Length", 400, R("POST", `${V}/user`, () => [...admin(), JSONCT, ["Content-Length", "-1"]], "{}"), { parser: true });
bad("non-numeric Content-Length", 400, R("POST", `${V}/user`, () => [...admin(), JSONCT, ["Content-Length", "abc"]], "{}"), { parser: true });
bad("chunk size that is not hex", 400, R("POST", `${V}/user`, () => [...admin(), JSONCT, ["Transfer-Encoding", "chunked"]], "zz\r\n{}\r\n0\r\n\r\n"), { parser: true });

// --- unsupported methods (a known path with an unsupported method -> 404) ---
bad("TRACE", 404, A("TRACE", `${V}/user`));
bad("PATCH on a route without it", 404, () => A("PATCH", `${V}/user/${ids.user}`, { metadata: {} })());
bad("CONNECT", 404, () => buildRequest("CONNECT", `127.0.0.1:${srv.port}`, admin()));
bad("DELETE /account", 404, A("DELETE", `${V}/account`));
bad("PUT /user (collection)", 404, A("PUT", `${V}/user`, {}));
bad("POST /user/meta", 404, A("POST", `${V}/user/meta`, {}));
bad("GET /account/pubkey", 404, A("GET", `${V}/account/pubkey`));
// RFC 9110 9.1: a method the server does not recognise is 501.
bad("unknown method FOO", 501, A("FOO", `${V}/account`), { parser: true });

// --- bad query strings (query presence and integer parsing -> 400) ---
bad("meta query without value", 400, A("GET", `${V}/user/meta?key=a`));
bad("meta query without key", 400, A("GET", `${V}/user/meta?value=b`));
bad("meta query limit 1e3", 400, A("GET", `${V}/user/meta?key=a&value=b&limit=1e3`));
bad("meta query skip abc", 400, A("GET", `${V}/events/meta?key=a&value=b&skip=abc`));
bad("calendar events without endTs", 400, () => A("GET", `${V}/user/calendar/${ids.cal}/events?startTs=0`)());
bad("calendar events window over 62 days", 400, () => A("GET", `${V}/user/calendar/${ids.cal}/events?startTs=0&endTs=${62 * DAY + 1}`)());
bad("free/busy window over 62 days", 400, () => A("GET", `${V}/user/${ids.user}/freebusy?startTs=0&endTs=${62 * DAY + 1}&calendarIds=${ids.cal}`)());
bad("event instances startTs abc", 400, () => A("GET", `${V}/user/events/${ids.event}/instances?startTs=abc&endTs=5`)());
bad("end-user calendar events endTs missing", 400, () => U("GET", `${V}/calendar/${ids.cal}/events?startTs=5`)());

// --- broken credentials (-> 401) ---
bad("empty x-api-key", 401, R("GET", `${V}/account`, () => [["x-api-key", ""]]));
bad("Authorization 'Bearer' without a token", 401, R("GET", `${V}/me`, () => [["nettu-account", ACC], ["Authorization", "Bearer"]]));
bad("JWT with alg none", 401, () => R("GET", `${V}/me`, () => [["nettu-account", ACC], ["Authorization", `Bearer ${rawJwt({ alg: "none", typ: "JWT" }, { nettuSchedulerUserId: ids.user, exp: 5609418990073, iat: 19 })}`]])());
bad("JWT with exp beyond 2^63", 401, () => R("GET", `${V}/me`, () => [["nettu-account", ACC], ["Authorization", `Bearer ${rawJwt({ alg: "RS256" }, `{"nettuSchedulerUserId":"${ids.user}","exp":99999999999999999999999,"iat":19}`, rs256(keys.privateKey))}`]])());
bad("JWT claims that are not JSON", 401, () => R("GET", `${V}/me`, () => [["nettu-account", ACC], ["Authorization", `Bearer ${rawJwt({ alg: "RS256" }, "{nope", rs256(keys.privateKey))}`]])());
bad("JWT with four segments", 401, () => R("GET", `${V}/me`, () => [["nettu-account", ACC], ["Authorization", `Bearer ${TOKEN}.x`]])());
bad("JWT for a user of no account", 401, () => R("GET", `${V}/me`, () => [["nettu-account", ACC], ["Authorization", `Bearer ${userToken(keys.privateKey, "00000000-0000-4000-8000-000000000000", { allow: ["*"] })}`]])());
bad("wrong account-creation code", 401, R("POST", `${V}/account`, () => [JSONCT], { code: "wrong" }));

// --- the request line and header syntax (refused by the HTTP parser; no HTML) ---
bad("HTTP/2.0 in an HTTP/1 request line", 400, () => Buffer.from(`GET ${V}/account HTTP/2.0\r\nx-api-key: ${K}\r\n\r\n`, "latin1"), { parser: true });
bad("request line without target and version", 400, () => Buffer.from("GET\r\n\r\n", "latin1"), { parser: true });
bad("header line without a colon", 400, () => Buffer.from(`GET ${V}/account HTTP/1.1\r\nHost: x\r\nx-api-key ${K}\r\nConnection: close\r\n\r\n`, "latin1"), { parser: true });

/* ------------------------------------------------------------------------------------------
 * The snapshot: every entity's GET answer, the row counts and the dump.
 */

async function snapshot() {
  const gets = {};
  const paths = [
    ["account", "/account"],
    ["user", `/user/${ids.user}`],
    ["user2", `/user/${ids.user2}`],
    ["calendar", `/user/calendar/${ids.cal}`],
    ["event", `/user/events/${ids.event}`],
    ["single", `/user/events/${ids.single}`],
    ["instances", `/user/events/${ids.event}/instances?startTs=${START - DAY}&endTs=${START + 60 * DAY}`],
    ["calendar events", `/user/calendar/${ids.cal}/events?startTs=${START - DAY}&endTs=${START + 60 * DAY}`],
    ["users by team", "/user/meta?key=team&value=red"],
    ["calendars by kind", "/calendar/meta?key=kind&value=work"],
    ["events by title", "/events/meta?key=title&value=stand-up"],
  ];
  for (const [name, p] of paths) {
    const r = await srv.admin("GET", p);
    assert.equal(r.status, 200, `snapshot GET ${p}: ${r.status} ${r.text}`);
    gets[name] = r.json;
  }
  return { gets, counts: rowCounts(srv.db), dump: sqlite(srv.db, ".dump") };
}

test("at least 50 distinct bad requests each get their 4xx with a JSON error; the server stays up and the data is unchanged", async () => {
  const before = await snapshot();
  const failures = [];
  const seen = new Map();
  let sent = 0;
  for (const c of CASES) {
    const req = c.req();
    const key = req.toString("hex");
    assert.ok(!seen.has(key), `cases "${seen.get(key)}" and "${c.name}" send the same bytes`);
    seen.set(key, c.name);
    const t0 = Date.now();
    const res = await rawRequest(srv.port, req, { timeoutMs: 5000 });
    const ms = Date.now() - t0;
    sent++;
    // Every request says Connection: close, so every answer must end: with its
    // Content-Length, or by closing the connection.
    if (res.timedOut) failures.push(`${c.name}: the answer did not end within 5 s (status ${res.status}, no Content-Length, connection left open)`);
    else if (ms > 2000) failures.push(`${c.name}: took ${ms} ms`);
    try {
      assertJsonError(res, c.status);
      if (c.parser) assert.equal(res.header("connection"), "close", "the parser's refusals close the connection");
    } catch (err) {
      failures.push(`${c.name}: ${err.message.split("\n")[0]}`);
    }
    if (!srv.alive() || !(await healthy(srv.port, 3000))) {
      assert.fail(`the server is down after "${c.name}" (exit ${JSON.stringify(srv.exited)})\n${srv.logTail(20)}`);
    }
  }
  const after = await snapshot();
  console.log(`# ${seen.size} distinct bad requests sent (${CASES.filter((c) => c.parser).length} refused by the HTTP parser), ${failures.length} answered wrongly`);
  for (const f of failures) console.log(`#   ${f}`);
  assert.ok(seen.size >= 50, `at least 50 distinct bad requests (${seen.size})`);
  assert.equal(sent, CASES.length);
  // The data must be unchanged; differences are listed with the wrong answers.
  for (const [name, v] of Object.entries(before.gets)) {
    if (JSON.stringify(after.gets[name]) !== JSON.stringify(v)) failures.push(`data: GET ${name} changed: ${JSON.stringify(v)} -> ${JSON.stringify(after.gets[name])}`);
  }
  for (const [t, n] of Object.entries(before.counts)) {
    if (after.counts[t] !== n) failures.push(`data: table ${t} had ${n} rows, now ${after.counts[t]}`);
  }
  if (after.dump !== before.dump) {
    const old = new Set(before.dump.split("\n"));
    const added = after.dump.split("\n").filter((l) => !old.has(l));
    failures.push(`data: the dump changed; new lines: ${added.slice(0, 5).join(" | ").slice(0, 600)}`);
  }
  assert.ok(failures.length === 0, `bad requests answered wrongly or data changed:\n  ${failures.join("\n  ")}`);
});

test("negative durations are refused, metadata at the caps is accepted (documented decisions)", async () => {
  // The original: "duration: int, required; the original does not validate the value". This server
  // refuses durations below 0 and over 10 years (README "Limits"): a duration of INT64_MIN
  // overflowed every later expansion.
  const neg = await srv.admin("POST", `/user/${ids.user}/events`, { body: { calendarId: ids.cal, startTs: START, duration: -HOUR } });
  assertJsonError(neg, 400, "negative duration");
  assert.match(neg.json.message, /^duration/);
  // The original sets no metadata size limit; the server's caps (README, Limits) are 50 keys of 64
  // bytes with 512-byte values: the largest metadata passes (metadata.test.mjs tests beyond).
  const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key${i}`.padEnd(64, "k"), "v".repeat(512)]));
  const t0 = Date.now();
  const big = await srv.admin("POST", "/user", { body: { metadata: many } });
  assert.equal(big.status, 201, `50 metadata keys: ${big.status} ${big.text.slice(0, 200)}`);
  console.log(`# a user with 50 metadata keys (${JSON.stringify(many).length} bytes) took ${Date.now() - t0} ms`);
  assert.equal(Object.keys(big.json.user.metadata).length, 50);
  assertStatus(await srv.admin("DELETE", `/user/${big.json.user.id}`), 200);
});
