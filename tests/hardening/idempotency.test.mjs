// Idempotency-Key on every POST (README Idempotent retries), through HTTP against the real server.
// Besides the real plugins the server loads the fixture plugin fx_slow
// (tests/unit/fixtures/fx_slow.c): POST /api/v1/fx/slow {"ms", "status"} sleeps `ms`, then
// either records one run (201 {"id", "calls"}) or fails with the status asked for, and
// GET /api/v1/fx/slow counts the account's runs, so every test can tell how often the work
// happened and can keep a first request in flight for as long as it needs.

import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { rsaKeyPair, userToken } from "../e2e/harness.mjs";
import {
  HERE,
  PLUGIN_DIR,
  PLUGINS,
  assertJsonError,
  assertStatus,
  buildRequest,
  launch,
  rawRequest,
  removeDir,
  sleep,
  sqlite,
  tempDir,
} from "./lib.mjs";

const FIXTURE_DIR = path.resolve(HERE, "..", "e2e", process.env.NETTU_FIXTURE_DIR || "../../build/tests/fixtures");

// A plugin folder with every built plugin and the fx_slow fixture (the server loads plugins
// from one folder; symbolic links are followed).
async function pluginDirWithFixture() {
  const dir = await tempDir("plugins");
  for (const f of fs.readdirSync(PLUGIN_DIR).filter((f) => f.endsWith(".so"))) fs.symlinkSync(path.join(PLUGIN_DIR, f), path.join(dir, f));
  const fx = path.join(FIXTURE_DIR, "fx_slow.so");
  assert.ok(fs.existsSync(fx), `fixture plugin not found: ${fx} (build it, or set NETTU_FIXTURE_DIR)`);
  fs.symlinkSync(fx, path.join(dir, "fx_slow.so"));
  return dir;
}

let keyN = 0;
const newKey = (tag = "k") => `${tag}-${process.pid}-${Date.now()}-${++keyN}`;

// The parts of a reply a replay must repeat byte for byte.
function replyParts(res) {
  const h = (n) => (typeof res.header === "function" ? res.header(n) : res.headers[n]);
  return { status: res.status, type: h("content-type"), length: h("content-length"), body: res.text };
}

const replayed = (res) => (typeof res.header === "function" ? res.header("idempotent-replayed") : res.headers["idempotent-replayed"]);

async function startWithFixture(plugDir, ini = {}, extra = {}) {
  return launch({ plugins: [...PLUGINS, "fx_slow"], ini: { plugins: { dir: plugDir }, ...ini }, ...extra });
}

describe("Idempotency-Key", () => {
  let plugDir;
  let srv;
  const slow = (body, key, headers = {}) =>
    srv.admin("POST", "/fx/slow", { body, headers: key === undefined ? headers : { "idempotency-key": key, ...headers } });
  const calls = async () => assertStatus(await srv.admin("GET", "/fx/slow"), 200).calls;

  before(async () => {
    plugDir = await pluginDirWithFixture();
    srv = await startWithFixture(plugDir);
  });
  after(async () => {
    if (srv) await srv.stop();
    if (plugDir) await removeDir(plugDir);
  });

  test("a replay repeats status, content type and body byte for byte, with Idempotent-Replayed; nothing runs again", async () => {
    const key = newKey();
    const first = await srv.admin("POST", "/user", { body: { metadata: { crm: "42" } }, headers: { "idempotency-key": key } });
    assertStatus(first, 201);
    assert.equal(replayed(first), undefined, "a first answer is not marked replayed");
    for (let i = 0; i < 3; i++) {
      const again = await srv.admin("POST", "/user", { body: { metadata: { crm: "42" } }, headers: { "idempotency-key": key } });
      assert.deepEqual(replyParts(again), replyParts(first));
      assert.equal(replayed(again), "true");
    }
    // The user exists once.
    const found = await srv.admin("GET", `/user/meta?key=crm&value=42`);
    assert.equal(assertStatus(found, 200).users.length, 1);

    const before = await calls();
    const a = await slow({ ms: 0 }, key); // the same key on another route is another request
    assertJsonError(a, 422, "same key, another path");
    const k2 = newKey();
    const b = await slow({ ms: 0 }, k2);
    assertStatus(b, 201);
    const c = await slow({ ms: 0 }, k2);
    assert.deepEqual(replyParts(c), replyParts(b));
    assert.equal(await calls(), before + 1, "the work ran once");
    // Without a key every POST runs.
    assertStatus(await slow({ ms: 0 }), 201);
    assertStatus(await slow({ ms: 0 }), 201);
    assert.equal(await calls(), before + 3);
  });

  test("the same key with another body (or query) is 422 and runs nothing; the first reply stays", async () => {
    const key = newKey();
    const first = await slow({ ms: 0 }, key);
    assertStatus(first, 201);
    const n = await calls();
    const other = await slow({ ms: 1 }, key);
    assertJsonError(other, 422, "another body");
    assert.match(other.json.message, /Idempotency-Key/);
    const query = await srv.admin("POST", "/fx/slow?x=1", { body: { ms: 0 }, headers: { "idempotency-key": key } });
    assertJsonError(query, 422, "another query string");
    // Whitespace is part of the body: the fingerprint is over the bytes sent.
    const spaced = await srv.admin("POST", "/fx/slow", { body: '{"ms": 0}', headers: { "idempotency-key": key } });
    assertJsonError(spaced, 422, "other body bytes");
    assert.equal(await calls(), n);
    const again = await slow({ ms: 0 }, key);
    assert.deepEqual(replyParts(again), replyParts(first));
  });

  test("a second request while the first is running is 409; afterwards it is a replay", async () => {
    const key = newKey();
    const n = await calls();
    const t0 = Date.now();
    const firstP = slow({ ms: 1500 }, key);
    await sleep(300); // the first request holds the key (it sleeps 1.5 s in its handler)
    // A new connection: the worker that runs the first request is busy, another accepts it.
    const second = await rawRequest(srv.port, buildRequest("POST", "/api/v1/fx/slow", [["x-api-key", srv.apiKey], ["Idempotency-Key", key], ["Content-Type", "application/json"]], '{"ms":1500}'));
    assert.ok(Date.now() - t0 < 1500, `the second answer must come while the first is running (${Date.now() - t0} ms)`);
    assertJsonError(second, 409, "in flight");
    assert.equal(second.header("retry-after"), "1");
    assert.match(second.json.message, /still in progress/);
    const first = await firstP;
    assertStatus(first, 201);
    const third = await slow({ ms: 1500 }, key);
    assert.deepEqual(replyParts(third), replyParts(first));
    assert.equal(replayed(third), "true");
    assert.equal(await calls(), n + 1);
  });

  test("simultaneous requests with one key: exactly one runs, the others get 409 or the replay", async () => {
    const key = newKey();
    const n = await calls();
    const answers = await Promise.all(Array.from({ length: 8 }, () => rawRequest(srv.port, buildRequest("POST", "/api/v1/fx/slow", [["x-api-key", srv.apiKey], ["Idempotency-Key", key], ["Content-Type", "application/json"]], '{"ms":300}'), { timeoutMs: 10000 })));
    const created = answers.filter((a) => a.status === 201 && a.header("idempotent-replayed") === undefined);
    assert.equal(created.length, 1, `one request ran: ${answers.map((a) => a.status).join(" ")}`);
    for (const a of answers) {
      if (a === created[0]) continue;
      if (a.status === 201) assert.equal(a.text, created[0].text);
      else assertJsonError(a, 409);
    }
    assert.equal(await calls(), n + 1);
  });

  test("5xx answers are not kept: the retry runs again; 4xx answers are kept", async () => {
    const key = newKey();
    const n = await calls();
    const a = await slow({ ms: 0, status: 500 }, key);
    assertJsonError(a, 500);
    const b = await slow({ ms: 0, status: 500 }, key);
    assertJsonError(b, 500);
    assert.equal(replayed(b), undefined, "a 5xx is never replayed");
    // The key was released: even another request may use it now.
    const c = await slow({ ms: 0 }, key);
    assertStatus(c, 201);
    assert.equal(await calls(), n + 1);

    const k4 = newKey();
    const d = await slow({ ms: 0, status: 409 }, k4);
    assertJsonError(d, 409);
    const e = await slow({ ms: 0, status: 409 }, k4);
    assert.deepEqual(replyParts(e), replyParts(d));
    assert.equal(replayed(e), "true");
  });

  test("keys are scoped to the account and to the end user", async () => {
    const key = newKey("shared");
    const made = assertStatus(await srv.request("POST", "/account", { body: { code: srv.secret } }), 201);
    const other = made.secretApiKey;
    const otherAccount = made.account.id;
    const mine = assertStatus(await slow({ ms: 0 }, key), 201);
    const theirs = await srv.request("POST", "/fx/slow", { body: { ms: 0 }, headers: { "x-api-key": other, "idempotency-key": key } });
    assertStatus(theirs, 201);
    assert.equal(replayed(theirs), undefined, "another account's key space is its own");
    assert.notEqual(theirs.json.id, mine.id);
    assert.equal(theirs.json.calls, 1);
    // Another account's differing request does not make ours 422, nor the other way round.
    assertStatus(await srv.request("POST", "/fx/slow", { body: { ms: 2 }, headers: { "x-api-key": other, "idempotency-key": newKey() } }), 201);

    // End users of the other account: each user's keys are their own, apart from the admin's.
    const kp = rsaKeyPair();
    assertStatus(await srv.request("PUT", "/account/pubkey", { body: { publicJwtKey: kp.publicKey }, headers: { "x-api-key": other } }), 200);
    const u1 = assertStatus(await srv.request("POST", "/user", { body: {}, headers: { "x-api-key": other } }), 201).user.id;
    const u2 = assertStatus(await srv.request("POST", "/user", { body: {}, headers: { "x-api-key": other } }), 201).user.id;
    const asUser = (u, body) =>
      srv.request("POST", "/fx/slow", { body, headers: { "nettu-account": otherAccount, authorization: `Bearer ${userToken(kp.privateKey, u, { allow: ["*"] })}`, "idempotency-key": key } });
    const r1 = await asUser(u1, { ms: 0 });
    assertStatus(r1, 201);
    assert.equal(replayed(r1), undefined, "the user's key space is not the admin's");
    const r2 = await asUser(u2, { ms: 3 });
    assertStatus(r2, 201);
    assert.equal(replayed(r2), undefined, "nor another user's");
    const r1again = await asUser(u1, { ms: 0 });
    assert.deepEqual(replyParts(r1again), replyParts(r1));
    assert.equal(replayed(r1again), "true");
    assertJsonError(await asUser(u1, { ms: 4 }), 422, "the user's own key with another body");
    assert.equal(assertStatus(await srv.request("GET", "/fx/slow", { headers: { "x-api-key": other } }), 200).calls, 4);
  });

  test("bad keys are 400 naming the header; public routes ignore the header", async () => {
    const n = await calls();
    const send = (keyHeaders) =>
      rawRequest(srv.port, buildRequest("POST", "/api/v1/fx/slow", [["x-api-key", srv.apiKey], ["Content-Type", "application/json"], ...keyHeaders], '{"ms":0}'));
    for (const [what, headers] of [
      ["empty", [["Idempotency-Key", ""]]],
      ["256 characters", [["Idempotency-Key", "k".repeat(256)]]],
      ["a non-ASCII byte", [["Idempotency-Key", "caf\xe9"]]],
      ["a control character", [["Idempotency-Key", "a\tb"]]],
      ["given twice", [["Idempotency-Key", "a"], ["Idempotency-Key", "a"]]],
    ]) {
      const r = await send(headers);
      assertJsonError(r, 400, what);
      assert.match(r.json.message, /^Idempotency-Key: /, what);
    }
    assert.equal(await calls(), n, "no bad key ran anything");
    const longest = await send([["Idempotency-Key", `${"~".repeat(200)} ${"!".repeat(54)}`]]);
    assertStatus(longest, 201, "255 printable characters, spaces included");
    // POST /account is public: the header (even a bad one) is ignored, every request runs.
    for (let i = 0; i < 2; i++) {
      const r = await rawRequest(srv.port, buildRequest("POST", "/api/v1/account", [["Idempotency-Key", ""], ["Content-Type", "application/json"]], JSON.stringify({ code: srv.secret })));
      assertStatus(r, 201, "public route");
      assert.equal(r.header("idempotent-replayed"), undefined);
    }
  });

  test("a client that drops the connection before the answer: the work ran once, the retry gets its reply", async () => {
    const key = newKey();
    const n = await calls();
    await new Promise((resolve, reject) => {
      const sock = net.connect({ port: srv.port, host: "127.0.0.1" }, () => {
        sock.write(buildRequest("POST", "/api/v1/fx/slow", [["x-api-key", srv.apiKey], ["Idempotency-Key", key], ["Content-Type", "application/json"]], '{"ms":600}', { close: false }));
        // Gone while the handler runs (it sleeps 600 ms); nothing of the answer is read.
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 150);
      });
      sock.on("error", reject);
    });
    let retry;
    const deadline = Date.now() + 10000;
    for (;;) {
      retry = await slow({ ms: 600 }, key);
      if (retry.status !== 409 || Date.now() > deadline) break;
      await sleep(100); // still in flight
    }
    assertStatus(retry, 201);
    assert.equal(replayed(retry), "true", "the retry is the kept answer of the first request");
    assert.equal(retry.json.calls, n + 1);
    assert.equal(await calls(), n + 1, "the work happened once");
  });

  test("instances on one database share the records: replays and 409 across servers", async () => {
    const other = await startWithFixture(plugDir, {}, { db: srv.db, apiKey: srv.apiKey });
    try {
      const onOther = (body, key) => other.admin("POST", "/fx/slow", { body, headers: { "idempotency-key": key } });
      const key = newKey();
      const first = await slow({ ms: 0 }, key);
      assertStatus(first, 201);
      const there = await onOther({ ms: 0 }, key);
      assert.deepEqual(replyParts(there), replyParts(first));
      assert.equal(replayed(there), "true");
      assertJsonError(await onOther({ ms: 1 }, key), 422, "another request on the other instance");
      // In flight on one instance is in flight on the other.
      const k2 = newKey();
      const firstP = slow({ ms: 1200 }, k2);
      await sleep(300);
      const busy = await onOther({ ms: 1200 }, k2);
      assertJsonError(busy, 409, "in flight on the other instance");
      const done = await firstP;
      assertStatus(done, 201);
      const later = await onOther({ ms: 1200 }, k2);
      assert.deepEqual(replyParts(later), replyParts(done));
    } finally {
      await other.stop();
    }
  });

  test("kept replies survive a restart", async () => {
    const key = newKey();
    const first = await slow({ ms: 0 }, key);
    assertStatus(first, 201);
    const n = await calls();
    await srv.kill("SIGTERM");
    await srv.restart();
    const again = await slow({ ms: 0 }, key);
    assert.deepEqual(replyParts(again), replyParts(first));
    assert.equal(replayed(again), "true");
    assertJsonError(await slow({ ms: 9 }, key), 422, "after the restart");
    assert.equal(await calls(), n);
    // The records are in the server's own table, created by its migration "core" 1.
    assert.match(sqlite(srv.db, "SELECT plugin, version FROM nettu_migrations WHERE plugin = 'core';"), /^core\|1$/m);
  });
});

describe("Idempotency-Key configuration", () => {
  test("a kept reply expires after idempotency_ttl_s and is purged in the background", async () => {
    const plugDir = await pluginDirWithFixture();
    const srv = await startWithFixture(plugDir, { server: { idempotency_ttl_s: 1, idempotency_purge_s: 1 } });
    try {
      const key = newKey();
      const slow = (body) => srv.admin("POST", "/fx/slow", { body, headers: { "idempotency-key": key } });
      const first = assertStatus(await slow({ ms: 0 }), 201);
      const again = await slow({ ms: 0 });
      assert.equal(again.json.id, first.id, "replayed within the TTL");
      assert.equal(again.headers["idempotent-replayed"], "true");
      await sleep(1300);
      // Expired: the key is free again, even for another request.
      const later = await slow({ ms: 5 });
      assertStatus(later, 201);
      assert.equal(later.headers["idempotent-replayed"], undefined);
      assert.notEqual(later.json.id, first.id);
      // Nothing is written by this key any more: the purge deletes the record within a
      // purge period or two after it expired.
      const count = () => Number(sqlite(srv.db, "SELECT COUNT(*) FROM nettu_idempotency;").trim());
      assert.equal(count(), 1);
      const deadline = Date.now() + 8000;
      while (count() !== 0 && Date.now() < deadline) await sleep(200);
      assert.equal(count(), 0, "the expired record was purged");
    } finally {
      await srv.stop();
      await removeDir(plugDir);
    }
  });

  test("a reply over idempotency_max_reply_bytes is recorded, not kept: the retry is 409 and nothing runs twice", async () => {
    const plugDir = await pluginDirWithFixture();
    const srv = await startWithFixture(plugDir, { server: { idempotency_max_reply_bytes: 40 } });
    try {
      const key = newKey();
      const slow = (body) => srv.admin("POST", "/fx/slow", { body, headers: { "idempotency-key": key } });
      const first = await slow({ ms: 0 }); // {"id":"<uuid>","calls":1}: 47 bytes
      assertStatus(first, 201);
      assert.ok(first.text.length > 40);
      const again = await slow({ ms: 0 });
      assertJsonError(again, 409, "unkept reply");
      assert.match(again.json.message, /answered 201, but its reply \(\d+ bytes\) was over the 40 bytes/);
      assertJsonError(await slow({ ms: 1 }), 422, "another request with the key");
      assert.equal(assertStatus(await srv.admin("GET", "/fx/slow"), 200).calls, 1);
    } finally {
      await srv.stop();
      await removeDir(plugDir);
    }
  });

  test("the [server] idempotency keys are checked", async () => {
    const plugDir = await pluginDirWithFixture();
    try {
      await assert.rejects(startWithFixture(plugDir, { server: { idempotency_ttl_s: 0 } }, { timeoutMs: 5000 }), /idempotency_ttl_s/);
    } finally {
      await removeDir(plugDir);
    }
  });
});
