// Reminders delivered through the webhooks plugin to a receiver on
// 127.0.0.1: a reminder arrives at or after its remindAt and within its tick (never early),
// as one signed "reminders" delivery whose body holds the event as the routes print it; the
// reminder of a deleted event never arrives; an account without a webhook gets no delivery
// rows for its reminders.
//
// A reminder is only generated when it is more than 61 s ahead, so this test waits about
// 65 s (labelled slow). The server runs with [events] reminder_tick_ms = 1000 (the test knob
// for the wall-clock minute) and a fast webhooks poll.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import { after, before, test } from "node:test";

import { DEFAULT_PLUGINS, assertOk, startServer } from "./harness.mjs";
import { sleep } from "../support/server.mjs";

const PLUGINS = DEFAULT_PLUGINS.includes("webhooks") ? DEFAULT_PLUGINS : [...DEFAULT_PLUGINS, "webhooks"];
const TICK = 1000;

let srv;
let rx;
const got = [];

function receiver() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

function verifySignature(header, key, body) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header || "");
  assert.ok(m, `nettu-signature has the form t=<unix>,v1=<hex>: ${header}`);
  const want = crypto.createHmac("sha256", key).update(`${m[1]}.${body}`).digest("hex");
  assert.ok(crypto.timingSafeEqual(Buffer.from(want), Buffer.from(m[2])), "the signature verifies");
}

const admin = (method, p, body) => srv.request(method, p, { headers: { "x-api-key": srv.apiKey }, body });

before(async () => {
  rx = await receiver();
  srv = await startServer({
    plugins: PLUGINS,
    ini: {
      webhooks: { allow_private: "127.0.0.0/8", backoff_unit_ms: 100, poll_ms: 100 },
      events: { reminder_tick_ms: TICK },
    },
  });
});

after(async () => {
  if (srv) await srv.stop();
  if (rx) rx.server.close();
});

test("a reminder arrives within its tick, signed; a deleted event's reminder never arrives", async () => {
  const hook = assertOk(await admin("PUT", "/account/webhook", { webhookUrl: `${rx.url}/rem` }));
  const key = hook.account.settings.webhook.key;
  const user = assertOk(await admin("POST", "/user", {}), 201).user;
  const cal = assertOk(await admin("POST", `/user/${user.id}/calendar`, { timezone: "UTC" }), 201).calendar;
  const start = Date.now() + 64_000;
  const mk = async (identifier, delta) =>
    assertOk(
      await admin("POST", `/user/${user.id}/events`, {
        calendarId: cal.id,
        startTs: start,
        duration: 60_000,
        reminders: [{ delta, identifier }],
      }),
      201,
    ).event;
  const kept = await mk("kept", 0);
  // An account without a webhook: its due reminder is dropped, no delivery row is stored.
  const other = assertOk(await srv.request("POST", "/account", { body: { code: srv.secret } }), 201);
  const otherAdmin = (method, p, body) => srv.request(method, p, { headers: { "x-api-key": other.secretApiKey }, body });
  const otherUser = assertOk(await otherAdmin("POST", "/user", {}), 201).user;
  const otherCal = assertOk(await otherAdmin("POST", `/user/${otherUser.id}/calendar`, { timezone: "UTC" }), 201).calendar;
  const unhooked = assertOk(
    await otherAdmin("POST", `/user/${otherUser.id}/events`, {
      calendarId: otherCal.id,
      startTs: start,
      duration: 60_000,
      reminders: [{ delta: 0, identifier: "no-webhook" }],
    }),
    201,
  ).event;
  const gone = await mk("gone", 0);
  const tooSoon = await mk("too-soon", -1); // remindAt = start - 60 s: not > now + 61 s
  assertOk(await admin("DELETE", `/user/events/${gone.id}`));

  const deadline = start + 30_000;
  while (Date.now() < deadline && !got.some((g) => g.body.includes(kept.id))) await sleep(100);
  await sleep(3 * TICK);
  const mine = got.filter((g) => g.headers["nettu-delivery-id"]);
  assert.equal(mine.length, 1, `one delivery: ${JSON.stringify(mine.map((g) => g.body))}`);
  const rec = mine[0];
  assert.ok(rec.at >= start, `not early: arrived ${rec.at - start} ms after remindAt`);
  assert.ok(rec.at - start < 60_000, `within its minute: ${rec.at - start} ms`);
  verifySignature(rec.headers["nettu-signature"], key, rec.body);
  assert.equal(rec.headers["nettu-scheduler-webhook-key"], key);
  const body = JSON.parse(rec.body);
  const ev = assertOk(await admin("GET", `/user/events/${kept.id}`)).event;
  assert.deepEqual(body.reminders, [{ event: ev, identifier: "kept" }]);
  assert.deepEqual(body.events, [ev]);
  assert.ok(!got.some((g) => g.body.includes(gone.id)), "the deleted event's reminder never arrives");
  assert.ok(!got.some((g) => g.body.includes(tooSoon.id)), "a reminder 60 s ahead is not generated");
  assert.ok(!got.some((g) => g.body.includes(unhooked.id)), "no webhook: nothing is sent");
  const none = assertOk(await otherAdmin("GET", "/account/webhook/deliveries?limit=100")).deliveries;
  assert.deepEqual(none, [], "no webhook: no delivery row (not a failed one either)");
});
