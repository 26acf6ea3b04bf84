// Hardening: a database written by an older server is upgraded at start and keeps answering
// the same. Events migration 4 (README "events plugin", span classes) adds each event's
// span class and replaces the window index: events stored before it, of every span, must be
// classed as the server classes new ones, and window queries must still find each event that
// reaches into the window (and none that does not). The older database is made from a new
// one with the sqlite3 tool: the column and index of migration 4 removed, the old index back,
// the migration's record deleted, events written as the older server wrote them.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, test } from "node:test";
import { assertStatus, integrityCheck, launch, sqlite } from "./lib.mjs";

const HOUR = 3_600_000;
const DAY = 86_400_000;
const W0 = Date.UTC(2034, 0, 1); // the window [W0, W0 + 1 h]
// One span at each class bound and just above it, the longest duration, and an endless series.
const SPANS = [1000, 4 * HOUR, 4 * HOUR + 1, 2 * DAY, 2 * DAY + 1, 16 * DAY, 16 * DAY + 1, 128 * DAY, 128 * DAY + 1, 1096 * DAY, 1096 * DAY + 1, 3653 * DAY];
const classOf = (span) => [4 * HOUR, 2 * DAY, 16 * DAY, 128 * DAY, 1096 * DAY].findIndex((b) => span <= b);

let srv;
let user;
let cal;
let account;
const inside = new Set();

before(async () => {
  srv = await launch();
  user = assertStatus(await srv.admin("POST", "/user", { body: {} }), 201).user.id;
  cal = assertStatus(await srv.admin("POST", `/user/${user}/calendar`, { body: { timezone: "UTC" } }), 201).calendar.id;
  account = assertStatus(await srv.admin("GET", "/account"), 200).account.id;
  await srv.kill("SIGTERM");
  const rows = [];
  SPANS.forEach((span, i) => {
    // in: ends (i + 1) s into the window; out: ends 1 s before it
    const idIn = crypto.randomUUID();
    inside.add(idIn);
    rows.push([idIn, W0 + (i + 1) * 1000 - span, span]);
    rows.push([crypto.randomUUID(), W0 - 1000 - span, span]);
  });
  const now = Date.now();
  const values = rows
    .map(([id, start, span]) => `('${id}', '${cal}', '${user}', '${account}', ${start}, ${span}, ${start + span}, 1, ${now}, ${now}, NULL, '[]', '[]', NULL, '{}')`)
    .join(",\n");
  sqlite(
    srv.db,
    `BEGIN;
     DROP INDEX events_events_span;
     ALTER TABLE events_events DROP COLUMN span_class;
     CREATE INDEX events_events_window ON events_events(calendar_id, start_ts, end_ts);
     DELETE FROM nettu_migrations WHERE plugin = 'events' AND version = 4;
     INSERT INTO events_events VALUES ${values};
     COMMIT;`,
    { readonly: false },
  );
  await srv.restart();
});

after(async () => {
  await srv?.stop();
});

test("events stored before migration 4 get the span class a new event would get", () => {
  const rows = sqlite(srv.db, "SELECT end_ts - start_ts, span_class FROM events_events ORDER BY 1, 2;")
    .trim()
    .split("\n")
    .map((l) => l.split("|").map(Number));
  assert.equal(rows.length, 2 * SPANS.length);
  for (const [span, cls] of rows) assert.equal(cls, classOf(span) < 0 ? 5 : classOf(span), `span ${span}`);
  const indexes = sqlite(srv.db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events_events' ORDER BY 1;");
  assert.match(indexes, /events_events_span/);
  assert.doesNotMatch(indexes, /events_events_window/);
  assert.equal(integrityCheck(srv.db), "ok");
});

test("window queries find exactly the old events that reach into the window", async () => {
  const res = assertStatus(await srv.admin("GET", `/user/calendar/${cal}/events?startTs=${W0}&endTs=${W0 + HOUR}`), 200);
  const ids = res.events.map((e) => e.event.id).sort();
  assert.deepEqual(ids, [...inside].sort());
  const fb = assertStatus(await srv.request("GET", `/user/${user}/freebusy?startTs=${W0}&endTs=${W0 + HOUR}&calendarIds=${cal}`, { headers: { "nettu-account": account } }), 200);
  assert.equal(fb.busy.length, 1);
  assert.equal(fb.busy[0].endTs, W0 + SPANS.length * 1000);
});
