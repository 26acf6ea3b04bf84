// PostgreSQL only (issue 17): several nettu instances on one store_pg database. Lost updates
// under concurrency through both instances, a simultaneous start of three instances on an
// empty database, a database restart and terminated backends (503, then recovery without
// restarting nettu), a read-only database (writes 503, reads work), a lock held from psql
// (a write answers 503 after about lock_timeout_ms), caches across instances (a key rotation
// or user deletion on A is honoured by B on the next request) and webhook deliveries sent
// exactly once by two instances.
//
// The file starts its own throwaway cluster (tests/support/pg_cluster.sh start), because it
// restarts PostgreSQL and would disturb other suites sharing the fixture's cluster; it needs
// the PostgreSQL 15 binaries and runs as root (initdb/pg_ctl/psql through runuser -u
// postgres). Each test uses its own database.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fsp from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

import { DAY, DEFAULT_PLUGINS, HOUR, assertOk, rsaKeyPair, startInstances, userToken } from "./harness.mjs";
import { pgCluster, psql, randomAlnum, sleep } from "../support/server.mjs";

const PLUGINS = [...new Set([...DEFAULT_PLUGINS.filter((p) => p !== "store_sqlite"), "store_pg", "service", "webhooks"])];
const LOCK_TIMEOUT_MS = 500;
const MIN = 60_000;
const T = Date.UTC(2030, 9, 10);

let clusterDir;
let mode;
const dirs = [];
const running = [];

before(async () => {
  clusterDir = await fsp.mkdtemp(path.join(os.tmpdir(), "nettu-pg-test-"));
  const info = pgCluster("start", clusterDir); // "host=<socket dir> dbname=postgres user=postgres"
  maintenance = info;
  mode = { store: "pg", pgDir: clusterDir, instances: 2 };
});

after(async () => {
  for (const n of running) await n.stop().catch(() => {});
  if (clusterDir) {
    if (process.env.NETTU_E2E_KEEP) pgCluster("stop", clusterDir);
    else pgCluster("clean", clusterDir);
  }
  if (!process.env.NETTU_E2E_KEEP) for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

// Starts `instances` servers on a fresh database; returns the startInstances record plus
// apiKey, conninfo, dbname and call(i, method, path, {key, token, body}) on instance i % n.
async function cluster({ instances = 2, parallel = false, ini = {} } = {}) {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "nettu-pg-e2e-"));
  dirs.push(dir);
  const apiKey = `sk_${randomAlnum(30)}`;
  const secret = randomAlnum(24);
  const ini2 = { ...ini, store_pg: { lock_timeout_ms: LOCK_TIMEOUT_MS, ...(ini.store_pg || {}) } };
  const nettu = await startInstances({ dir, plugins: PLUGINS, ini: ini2, apiKey, secret, instances, parallel, mode });
  running.push(nettu);
  const conninfo = (await fsp.readFile(path.join(dir, "pg.conninfo"), "utf8")).trim();
  const dbname = /\bdbname=(\S+)/.exec(conninfo)[1];
  async function call(i, method, p, { key = apiKey, token, account, body, headers = {} } = {}) {
    const h = { ...headers };
    if (key && !token) h["x-api-key"] = key;
    if (token) h.authorization = `Bearer ${token}`;
    if (account) h["nettu-account"] = account;
    if (body !== undefined) h["content-type"] = "application/json";
    const base = nettu.instances[i % nettu.instances.length].baseUrl;
    const res = await fetch(base + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, json, text };
  }
  return { ...nettu, apiKey, secret, dir, conninfo, dbname, call };
}

// psql on the cluster's maintenance database (for actions on another database).
let maintenance = "";
const admin = (sql) => psql(maintenance, sql);

// Asserts a 503 with the JSON error body (kind "unavailable", a non-empty message).
function assertUnavailable(res, what) {
  assert.equal(res.status, 503, `${what}: expected 503, got ${res.status} ${res.text}`);
  assert.match(String(res.headers.get("content-type")), /^application\/json\b/i, `${what}: content type`);
  assert.equal(res.json && res.json.error, "unavailable", `${what}: error kind in ${res.text}`);
  assert.ok(typeof res.json.message === "string" && res.json.message.length > 0, `${what}: a message`);
}

// Sends fn() until it answers `want` (every 100 ms, at most ms); every other answer must be a
// 503 as assertUnavailable says. Returns {res, unavailable (how many 503 came first)}.
async function recovers(fn, want, ms, what) {
  const deadline = Date.now() + ms;
  let unavailable = 0;
  for (;;) {
    const res = await fn();
    if (res.status === want) return { res, unavailable };
    assertUnavailable(res, what);
    unavailable++;
    if (Date.now() > deadline) assert.fail(`${what}: still 503 after ${ms} ms (${unavailable} answers)`);
    await sleep(100);
  }
}

// Terminates every backend connected to `dbname` (nettu's connections).
function terminateBackends(dbname) {
  return Number(
    admin(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${dbname}' AND pid <> pg_backend_pid()`),
  );
}

/* ---- helpers for bookings ------------------------------------------------------------------ */

// A one-host service whose host is free over the whole day T (made through instance 0).
async function oneHostService(c) {
  const service = assertOk(await c.call(0, "POST", "/service", { body: {} }), 201).service;
  const user = assertOk(await c.call(0, "POST", "/user", { body: {} }), 201).user;
  const cal = assertOk(await c.call(0, "POST", `/user/${user.id}/calendar`, { body: { timezone: "UTC" } }), 201).calendar;
  assertOk(
    await c.call(0, "POST", `/user/${user.id}/events`, { body: { calendarId: cal.id, startTs: T, duration: DAY, busy: false } }),
    201,
  );
  assertOk(
    await c.call(0, "POST", `/service/${service.id}/users`, {
      body: { userId: user.id, availability: { variant: "Calendar", id: cal.id } },
    }),
  );
  return { service, user, cal };
}

/* ---- tests --------------------------------------------------------------------------------- */

test("no lost updates: 50 simultaneous bookings of 25 slots through both instances", async (t) => {
  const c = await cluster();
  const { service, cal } = await oneHostService(c);
  const N = 50;
  const SLOTS = 25;
  const slotOf = (i) => i % SLOTS;
  const answers = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      c.call(i, "POST", `/service/${service.id}/bookings`, {
        body: { startTs: T + slotOf(i) * 30 * MIN, duration: 30 * MIN, metadata: { client: String(i) } },
      }),
    ),
  );
  const statuses = answers.map((a) => a.status).join(",");
  t.diagnostic(`statuses: ${statuses}`);
  const created = [];
  for (let i = 0; i < N; i++) {
    const a = answers[i];
    assert.ok([201, 409, 503].includes(a.status), `answer ${i}: ${a.status} ${a.text}`);
    if (a.status === 201) created.push({ slot: slotOf(i), booking: a.json.booking });
    else if (a.status === 503) assertUnavailable(a, `answer ${i}`);
    else assert.equal(a.json.error, "conflict", `answer ${i}: ${a.text}`);
  }
  for (let s = 0; s < SLOTS; s++) {
    const won = created.filter((x) => x.slot === s).length;
    assert.ok(won <= 1, `slot ${s} booked ${won} times; statuses ${statuses}`);
    if (won === 0) {
      // nobody holds the slot: then no request for it was refused as taken
      const mine = answers.filter((_, i) => slotOf(i) === s);
      assert.ok(mine.every((a) => a.status === 503), `slot ${s}: refused as taken but not booked; statuses ${statuses}`);
    }
  }
  assert.ok(created.length >= SLOTS / 2, `most slots were booked (${created.length}); statuses ${statuses}`);
  // the final state, read through the other instance, is exactly what succeeded
  const listed = assertOk(await c.call(1, "GET", `/service/${service.id}/bookings?startTs=${T}&endTs=${T + DAY}`)).bookings;
  assert.deepEqual(listed.map((b) => b.id).sort(), created.map((x) => x.booking.id).sort());
  const events = assertOk(await c.call(0, "GET", `/user/calendar/${cal.id}/events?startTs=${T}&endTs=${T + DAY}`)).events;
  const busy = events.map((e) => e.event).filter((e) => e.busy);
  assert.deepEqual(busy.map((e) => e.id).sort(), created.flatMap((x) => x.booking.eventIds).sort());
  await c.stop();
});

test("no lost updates: 50 simultaneous event creations and metadata updates through both instances", async () => {
  const c = await cluster();
  const user = assertOk(await c.call(0, "POST", "/user", { body: {} }), 201).user;
  const cal = assertOk(await c.call(1, "POST", `/user/${user.id}/calendar`, { body: { timezone: "UTC" } }), 201).calendar;
  const made = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      c.call(i, "POST", `/user/${user.id}/events`, {
        body: { calendarId: cal.id, startTs: T + i * HOUR, duration: HOUR, metadata: { n: String(i) } },
      }),
    ),
  );
  const ok = made.filter((a) => a.status === 201).map((a) => a.json.event);
  for (const a of made) if (a.status !== 201) assertUnavailable(a, "event creation");
  // now 50 updates of those events' metadata at once, alternating instances
  const updates = await Promise.all(
    ok.map((e, i) => c.call(i + 1, "PUT", `/user/events/${e.id}`, { body: { metadata: { n: e.metadata.n, v: "2" } } })),
  );
  const updated = new Set();
  updates.forEach((a, i) => {
    if (a.status === 200) updated.add(ok[i].id);
    else assertUnavailable(a, "event update");
  });
  const listed = assertOk(
    await c.call(0, "GET", `/user/calendar/${cal.id}/events?startTs=${T}&endTs=${T + 60 * HOUR}`),
  ).events.map((x) => x.event);
  assert.deepEqual(listed.map((e) => e.id).sort(), ok.map((e) => e.id).sort());
  for (const e of listed) {
    const want = updated.has(e.id) ? { n: e.metadata.n, v: "2" } : { n: e.metadata.n };
    assert.deepEqual(e.metadata, want, `event ${e.id}`);
  }
  assert.ok(ok.length >= 25 && updated.size >= ok.length / 2, `created ${ok.length}, updated ${updated.size}`);
  await c.stop();
});

test("three instances started at once on an empty database all come up; each migration applied once", async () => {
  const c = await cluster({ instances: 3, parallel: true });
  for (let i = 0; i < 3; i++) assertOk(await c.call(i, "GET", "/account"), 200, `instance ${i}`);
  const dupes = psql(c.conninfo, "SELECT count(*) FROM (SELECT plugin, version FROM nettu_migrations GROUP BY 1, 2 HAVING count(*) > 1) d");
  assert.equal(dupes, "0");
  const applied = psql(c.conninfo, "SELECT plugin || ':' || version FROM nettu_migrations ORDER BY 1").split("\n");
  // the same migrations as one instance alone applies
  const ref = await cluster({ instances: 1 });
  const alone = psql(ref.conninfo, "SELECT plugin || ':' || version FROM nettu_migrations ORDER BY 1").split("\n");
  assert.deepEqual(applied, alone);
  assert.ok(applied.length >= 8, `migrations: ${applied.join(" ")}`);
  // the default account from the configuration exists once
  assert.equal(psql(c.conninfo, "SELECT count(*) FROM account_accounts"), "1");
  await ref.stop();
  await c.stop();
});

test("backend termination: 503 at most until the connection is made again, then requests work", async () => {
  const c = await cluster();
  const user = assertOk(await c.call(0, "POST", "/user", { body: {} }), 201).user;
  for (let i = 0; i < 4; i++) assertOk(await c.call(i, "GET", `/user/${user.id}`)); // every worker connected
  assert.ok(terminateBackends(c.dbname) >= 1, "nettu had connections to terminate");
  for (let i = 0; i < 2; i++) {
    await recovers(() => c.call(i, "POST", "/user", { body: {} }), 201, 10000, `write on instance ${i}`);
    await recovers(() => c.call(i, "GET", `/user/${user.id}`), 200, 10000, `read on instance ${i}`);
  }
  // and it stays working
  for (let i = 0; i < 8; i++) assertOk(await c.call(i, "POST", "/user", { body: {} }), 201);
  await c.stop();
});

test("database restart (pg_ctl restart): 503 at most, then requests work without restarting nettu", async () => {
  const c = await cluster();
  const user = assertOk(await c.call(0, "POST", "/user", { body: {} }), 201).user;
  for (let i = 0; i < 4; i++) assertOk(await c.call(i, "GET", `/user/${user.id}`));
  const dataDir = admin("SHOW data_directory");
  const log = path.join(clusterDir, "server.log");
  const r = await runToEnd("runuser", ["-u", "postgres", "--", "pg_ctl", "-D", dataDir, "-l", log, "-m", "fast", "-w", "-t", "60", "restart"]);
  assert.equal(r.code, 0, `pg_ctl restart: ${r.out}`);
  for (let i = 0; i < 2; i++) {
    await recovers(() => c.call(i, "GET", `/user/${user.id}`), 200, 15000, `read on instance ${i}`);
    await recovers(() => c.call(i, "POST", "/user", { body: {} }), 201, 15000, `write on instance ${i}`);
  }
  for (let i = 0; i < 8; i++) assertOk(await c.call(i, "GET", `/user/${user.id}`));
  await c.stop();
});

test("read-only database: a write answers 503 with a JSON message, reads work; writable again afterwards", async () => {
  const c = await cluster();
  const user = assertOk(await c.call(0, "POST", "/user", { body: {} }), 201).user;
  admin(`ALTER DATABASE "${c.dbname}" SET default_transaction_read_only = on`);
  try {
    terminateBackends(c.dbname); // new connections take the setting
    for (let i = 0; i < 2; i++) {
      // the first requests may find their connection terminated (503 too); then the
      // database answers, read-only
      await recovers(() => c.call(i, "GET", `/user/${user.id}`), 200, 10000, `read on instance ${i}`);
      // every write is a 503; once each worker has connected again, 4 in a row say why
      const deadline = Date.now() + 10000;
      for (let inRow = 0; inRow < 4; ) {
        const w = await c.call(i, "POST", "/user", { body: {} });
        assertUnavailable(w, `write on instance ${i}`);
        inRow = /read.only/i.test(w.json.message) ? inRow + 1 : 0;
        assert.ok(Date.now() < deadline, `writes on instance ${i} never said read-only: ${w.json.message}`);
      }
      for (let k = 0; k < 4; k++) assertOk(await c.call(i, "GET", `/user/${user.id}`));
    }
  } finally {
    admin(`ALTER DATABASE "${c.dbname}" RESET default_transaction_read_only`);
  }
  terminateBackends(c.dbname);
  for (let i = 0; i < 2; i++) await recovers(() => c.call(i, "POST", "/user", { body: {} }), 201, 10000, `write on ${i}`);
  await c.stop();
});

test("lock timeout: while psql holds a lock on the users table, a write answers 503 after about lock_timeout_ms", async () => {
  const c = await cluster();
  const user = assertOk(await c.call(0, "POST", "/user", { body: {} }), 201).user;
  const holder = await holdLock(c.conninfo, "user_users");
  try {
    for (let i = 0; i < 2; i++) {
      const t0 = Date.now();
      const w = await c.call(i, "POST", "/user", { body: {} });
      const ms = Date.now() - t0;
      assertUnavailable(w, `write on instance ${i}`);
      assert.ok(ms >= LOCK_TIMEOUT_MS * 0.8, `answered after ${ms} ms, before the lock timeout`);
      assert.ok(ms < LOCK_TIMEOUT_MS * 4 + 3000, `answered after ${ms} ms (lock_timeout_ms ${LOCK_TIMEOUT_MS})`);
      // reads are not blocked by an EXCLUSIVE lock
      assertOk(await c.call(i, "GET", `/user/${user.id}`));
    }
  } finally {
    await holder.release();
  }
  for (let i = 0; i < 2; i++) assertOk(await c.call(i, "POST", "/user", { body: {} }), 201);
  await c.stop();
});

test("caches across instances: a key rotation, key removal and user deletion on A are honoured by B at once", async () => {
  const c = await cluster();
  const k1 = rsaKeyPair();
  const k2 = rsaKeyPair();
  // an account made on A works on B at once (API key lookup)
  const acct = assertOk(await c.call(0, "POST", "/account", { key: null, body: { code: c.secret } }), 201);
  const key = acct.secretApiKey;
  const account = acct.account.id;
  assertOk(await c.call(1, "GET", "/account", { key }));
  assertOk(await c.call(0, "PUT", "/account/pubkey", { key, body: { publicJwtKey: k1.publicKey } }));
  const user = assertOk(await c.call(0, "POST", "/user", { key, body: {} }), 201).user;
  const t1 = userToken(k1.privateKey, user.id);
  const t2 = userToken(k2.privateKey, user.id);
  for (let n = 0; n < 4; n++) assertOk(await c.call(1, "GET", "/me", { token: t1, account }), 200, "B verifies with key 1"); // B caches it
  assertOk(await c.call(0, "PUT", "/account/pubkey", { key, body: { publicJwtKey: k2.publicKey } }));
  for (let n = 0; n < 4; n++) {
    assert.equal((await c.call(1, "GET", "/me", { token: t1, account })).status, 401, "B refuses the old key's token");
    assertOk(await c.call(1, "GET", "/me", { token: t2, account }), 200, "B accepts the new key's token");
  }
  assertOk(await c.call(0, "DELETE", `/user/${user.id}`, { key }));
  for (let n = 0; n < 4; n++) {
    assert.equal((await c.call(1, "GET", "/me", { token: t2, account })).status, 401, "B refuses the deleted user's token");
    assert.equal((await c.call(1, "GET", `/user/${user.id}`, { key })).status, 404, "B does not find the user");
  }
  const other = assertOk(await c.call(1, "POST", "/user", { key, body: {} }), 201).user;
  const t3 = userToken(k2.privateKey, other.id);
  assertOk(await c.call(0, "GET", "/me", { token: t3, account }));
  assertOk(await c.call(1, "PUT", "/account/pubkey", { key, body: {} }));
  for (let n = 0; n < 4; n++) assert.equal((await c.call(0, "GET", "/me", { token: t3, account })).status, 401, "A: key removed on B");
  await c.stop();
});

test("background jobs: two instances send each of 40 webhook deliveries exactly once", async () => {
  const got = [];
  const rx = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (d) => chunks.push(d));
    req.on("end", () => {
      got.push(req.headers["nettu-delivery-id"]);
      setTimeout(() => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok");
      }, 200); // slow, so both instances poll while attempts are in flight
    });
  });
  await new Promise((r) => rx.listen(0, "127.0.0.1", r));
  try {
    const c = await cluster({ ini: { webhooks: { allow_private: "127.0.0.0/8", backoff_unit_ms: 100, poll_ms: 100 } } });
    assertOk(await c.call(0, "PUT", "/account/webhook", { body: { webhookUrl: `http://127.0.0.1:${rx.address().port}/hook` } }));
    // the pings one after the other, alternating instances (40 at once would mostly measure
    // write conflicts on the account, see the lost-update tests)
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push(assertOk(await c.call(i, "POST", "/account/webhook/test"), 201).delivery.id);
    const deadline = Date.now() + 30000;
    while (!ids.every((id) => got.includes(id))) {
      assert.ok(Date.now() < deadline, `deliveries arrived: ${ids.filter((id) => got.includes(id)).length} of 40`);
      await sleep(100);
    }
    await sleep(1500); // a second send would come within a few polls
    for (const id of ids) assert.equal(got.filter((g) => g === id).length, 1, `delivery ${id} sent once`);
    const list = assertOk(await c.call(1, "GET", "/account/webhook/deliveries?status=delivered&limit=100")).deliveries;
    assert.equal(list.filter((d) => ids.includes(d.id)).length, 40);
    assert.ok(list.every((d) => d.attempts === 1));
    await c.stop();
  } finally {
    rx.close();
  }
});

/* ---- process helpers ----------------------------------------------------------------------- */

// Runs a command to its end; resolves {code, out (its standard error)}. Its standard output is
// not read: a server it starts may keep that open.
function runToEnd(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], cwd: "/" });
    let out = "";
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => resolve({ code, out }));
    child.on("error", (err) => resolve({ code: -1, out: err.message }));
  });
}

// Opens psql on `conninfo` and takes an EXCLUSIVE lock on `table` in an open transaction
// (writes wait, reads do not). Resolves when the lock is held with {release()}.
function holdLock(conninfo, table) {
  return new Promise((resolve, reject) => {
    const child = spawn("runuser", ["-u", "postgres", "--", "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", conninfo], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    const closed = new Promise((r) => child.on("close", r));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`psql did not take the lock: ${out}`));
    }, 10000);
    const onData = (d) => {
      out += d;
      if (out.includes("locked")) {
        clearTimeout(timer);
        resolve({
          async release() {
            child.stdin.end("ROLLBACK;\n\\q\n");
            await closed;
          },
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.stdin.write(`BEGIN;\nLOCK TABLE ${table} IN EXCLUSIVE MODE;\nSELECT 'locked';\n`);
  });
}
