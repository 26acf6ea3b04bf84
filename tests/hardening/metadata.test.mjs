// Hardening: metadata and metadata queries are bounded (issue 11 item 7). Before the caps a
// user with 100k metadata keys was accepted, and one default metadata query over 20 such
// users took 7.6 s and 330 MiB. Now every metadata object (users, calendars, events; create
// and update) holds at most 50 keys of at most 64 bytes with values of at most 512 bytes,
// and a metadata query's `limit` is at most 100: beyond any of them the answer is a quick
// 400 naming the field and the limit, and nothing is stored.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertJsonError, assertStatus, launch, rowCounts, sanitized } from "./lib.mjs";

let srv;
const ids = {};
const START = Date.UTC(2031, 2, 3, 9);
const HOUR = 3_600_000;

// n keys "k00000".. with values of `len` bytes; keys padded to keyLen bytes when given.
function meta(n, len = 1, keyLen = 0) {
  const m = {};
  for (let i = 0; i < n; i++) m[`k${String(i).padStart(5, "0")}`.padEnd(keyLen, "x")] = "v".repeat(len);
  return m;
}

before(async () => {
  srv = await launch();
  ids.user = assertStatus(await srv.admin("POST", "/user", { body: {} }), 201).user.id;
  ids.cal = assertStatus(await srv.admin("POST", `/user/${ids.user}/calendar`, { body: { timezone: "UTC" } }), 201).calendar.id;
  ids.event = assertStatus(await srv.admin("POST", `/user/${ids.user}/events`, { body: { calendarId: ids.cal, startTs: START, duration: HOUR } }), 201).event.id;
});

after(async () => {
  await srv?.stop();
});

// Every write that takes metadata, with `metadata` in its body.
function writes(metadata) {
  return [
    ["POST /user", "POST", "/user", { metadata }],
    ["PUT /user/{id}", "PUT", `/user/${ids.user}`, { metadata }],
    ["POST /user/{id}/calendar", "POST", `/user/${ids.user}/calendar`, { timezone: "UTC", metadata }],
    ["PUT /user/calendar/{id}", "PUT", `/user/calendar/${ids.cal}`, { metadata }],
    ["POST /user/{id}/events", "POST", `/user/${ids.user}/events`, { calendarId: ids.cal, startTs: START, duration: HOUR, metadata }],
    ["PUT /user/events/{id}", "PUT", `/user/events/${ids.event}`, { metadata }],
  ];
}

test("100k metadata keys are refused with 400 quickly on every write, and nothing is stored", async () => {
  const huge = meta(100_000);
  const before = rowCounts(srv.db);
  // Parsing 5 MB of JSON takes a few hundred ms; several times that under a sanitizer.
  const limit = sanitized(srv.pid) ? 8000 : 2000;
  for (const [what, method, path, body] of writes(huge)) {
    const t0 = Date.now();
    const r = await srv.admin(method, path, { body });
    const ms = Date.now() - t0;
    assertJsonError(r, 400, what);
    assert.match(r.json.message, /^metadata: at most 50 keys \(got 100000\)$/, what);
    console.log(`# ${what} with 100000 metadata keys (${JSON.stringify(body).length} bytes): 400 in ${ms} ms`);
    assert.ok(ms < limit, `${what}: refusing took ${ms} ms (limit ${limit})`);
  }
  assert.deepEqual(rowCounts(srv.db), before, "no row was added or removed");
});

test("metadata at the caps is accepted; one past any cap is 400 naming the limit", async () => {
  const full = meta(50, 512, 64);
  for (const [what, method, path, body] of writes(full)) {
    const r = await srv.admin(method, path, { body });
    assert.ok(r.status === 200 || r.status === 201, `${what} at the caps: ${r.status} ${r.text.slice(0, 200)}`);
  }
  const over = [
    ["51 keys", meta(51), /^metadata: at most 50 keys \(got 51\)$/],
    ["a 65-byte key", { ["k".repeat(65)]: "v" }, /^metadata: the key 'k+\.\.\.' is longer than 64 bytes$/],
    ["a 513-byte value", { k: "v".repeat(513) }, /^metadata: the value of 'k' is longer than 512 bytes \(513\)$/],
    ["a 300-character value of 600 bytes", { k: "é".repeat(300) }, /longer than 512 bytes \(600\)/],
  ];
  for (const [name, metadata, re] of over) {
    for (const [what, method, path, body] of writes(metadata)) {
      const r = await srv.admin(method, path, { body });
      assertJsonError(r, 400, `${what} with ${name}`);
      assert.match(r.json.message, re, `${what} with ${name}`);
    }
  }
  // The last accepted metadata is still what is stored.
  const user = assertStatus(await srv.admin("GET", `/user/${ids.user}`), 200).user;
  assert.deepEqual(user.metadata, full);
});

test("a metadata query's limit is at most 100; 100 full users come back in one bounded answer", async () => {
  for (const path of ["/user/meta", "/calendar/meta", "/events/meta"]) {
    assertStatus(await srv.admin("GET", `${path}?key=k&value=v&skip=0&limit=100`), 200, `${path} limit 100`);
    for (const limit of ["101", "1000000", "9223372036854775807"]) {
      const r = await srv.admin("GET", `${path}?key=k&value=v&skip=0&limit=${limit}`);
      assertJsonError(r, 400, `${path} limit ${limit}`);
      assert.match(r.json.message, /^limit: at most 100 \(got \d+\)$/, `${path} limit ${limit}`);
    }
  }
  // The worst case the caps allow: 100 users with 50 keys of 512 bytes, all matching.
  const m = { ...meta(49, 512, 64), grp: "all" };
  for (let i = 0; i < 100; i++) assertStatus(await srv.admin("POST", "/user", { body: { metadata: m } }), 201);
  const t0 = Date.now();
  const r = await srv.admin("GET", "/user/meta?key=grp&value=all&skip=0&limit=100");
  const ms = Date.now() - t0;
  const users = assertStatus(r, 200).users;
  assert.equal(users.length, 100);
  console.log(`# metadata query over 100 users with 50 x 512-byte values: ${r.text.length} bytes in ${ms} ms`);
  assert.ok(ms < 3000, `the largest metadata page took ${ms} ms`);
});
