// Soak test driver for bench/soak.sh: starts nettu on a free 127.0.0.1 port with a fresh
// database, seeds it through the admin API, then keeps SOAK_CONNECTIONS keep-alive
// connections busy for SOAK_SECONDS with a mixed workload and checks that nothing breaks.
// Uses nothing but Node's own modules.
//
// Workload (one loop per connection, each request picked at random by weight):
//   25  GET  /user/calendar/{id}            API key
//   20  GET  /calendar/{id}                 JWT (one of 512 pre-signed tokens)
//    5  GET  /me                            JWT
//   15  POST /user/{id}/events              API key (a scratch calendar per user)
//   12  DELETE /user/events/{id}            API key (an event this loop created; else POST)
//   10  GET  /user/{id}/freebusy            nettu-account (7 days, 60 events)
//    8  GET  /user/calendar/{id}/events     API key (7 days)
//    5  GET  /user/events/{id}/instances    API key (a weekly series)
//
// Pass criteria: no 5xx, no other unexpected status, no socket error or dropped connection,
// the server alive at the end and exiting 0 on SIGTERM. Memory: RSS of the server at the
// start of the load and at the end (reported, with the growth; not a pass criterion).
//
// Environment: NETTU_SERVER, NETTU_PLUGIN_DIR (required), SOAK_SECONDS (60),
// SOAK_CONNECTIONS (256), SOAK_WORKERS (2), SOAK_KEEP=1 (keep the temporary folder).
// Prints a summary and one line `SOAK_RESULT key=value ...`; exits 0 when it passed, 1 when
// it failed, 2 on bad options.

import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const env = (name, def) => {
  const v = process.env[name] ?? String(def);
  if (!/^[1-9][0-9]*$/.test(v)) {
    console.error(`soak: ${name} must be a positive integer (got '${v}')`);
    process.exit(2);
  }
  return Number(v);
};
const SECONDS = env("SOAK_SECONDS", 60);
const CONNS = env("SOAK_CONNECTIONS", 256);
const WORKERS = env("SOAK_WORKERS", 2);
const SERVER = process.env.NETTU_SERVER;
const PLUGIN_DIR = process.env.NETTU_PLUGIN_DIR;
if (!SERVER || !PLUGIN_DIR || !fs.existsSync(SERVER) || !fs.existsSync(PLUGIN_DIR)) {
  console.error(`soak: NETTU_SERVER (${SERVER}) and NETTU_PLUGIN_DIR (${PLUGIN_DIR}) must name the built server and plugins`);
  process.exit(2);
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2031, 0, 6); // a Monday
const USERS = 8;
const TOKENS = 512;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (s) => console.log(`soak: ${s}`);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// One request on `agent`: resolves {status, json, reused} or rejects on a socket error.
function request(agent, port, method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    let payload = null;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      h["content-type"] = "application/json";
      h["content-length"] = Buffer.byteLength(payload);
    }
    const req = http.request({ host: "127.0.0.1", port, method, path: `/api/v1${p}`, headers: h, agent, timeout: 30000 }, (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("error", reject);
      res.on("end", () => {
        let json = null;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode, json, reused: req.reusedSocket });
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", reject);
    if (payload !== null) req.write(payload);
    req.end();
  });
}

const b64url = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nettu-soak-"));
  const port = await freePort();
  const apiKey = `sk_${crypto.randomBytes(15).toString("hex")}`;
  const ini = path.join(tmp, "nettu.ini");
  fs.writeFileSync(
    ini,
    `[server]\nlisten = 127.0.0.1\nport = ${port}\nworkers = ${WORKERS}\naccess_log = off\nlog_level = warn\n` +
      `[plugins]\ndir = ${PLUGIN_DIR}\nload = store_sqlite, auth_nettu, policy, account, user, calendar, events\n` +
      `[store_sqlite]\npath = ${path.join(tmp, "nettu.db")}\nsynchronous = normal\n` +
      `[account]\ndefault_api_key = ${apiKey}\ncreate_account_secret = ${crypto.randomBytes(12).toString("hex")}\n`,
  );
  const logPath = path.join(tmp, "server.log");
  const logFd = fs.openSync(logPath, "a");
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NETTU_") && k !== "PORT" && !k.startsWith("ACCOUNT_") && k !== "CREATE_ACCOUNT_SECRET_CODE"));
  const child = spawn(SERVER, ["-c", ini], { stdio: ["ignore", logFd, logFd], env: childEnv, cwd: tmp });
  fs.closeSync(logFd);
  let exited = null;
  const exit = new Promise((r) => child.on("exit", (code, signal) => r((exited = { code, signal }))));
  const failures = [];
  let result = 1;
  try {
    const admin = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const A = { "x-api-key": apiKey };
    const up = Date.now() + 15000;
    for (;;) {
      if (exited) throw new Error(`the server exited at start: ${JSON.stringify(exited)}\n${fs.readFileSync(logPath, "utf8")}`);
      try {
        if ((await request(admin, port, "GET", "/", {})).status === 200) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > up) throw new Error("the server did not come up within 15 s");
      await sleep(50);
    }
    const must = async (method, p, body, status, headers = A) => {
      const r = await request(admin, port, method, p, headers, body);
      if (r.status !== status) throw new Error(`seed ${method} ${p}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    };

    // Seed: a signing key, users with a read calendar (60 busy events over a week, one
    // weekly series) and a scratch calendar for the writes, and the tokens.
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
    const account = (await must("PUT", "/account/pubkey", { publicJwtKey: publicKey }, 200)).account.id;
    const users = [];
    for (let u = 0; u < USERS; u++) {
      const id = (await must("POST", "/user", { metadata: { soak: String(u) } }, 201)).user.id;
      const cal = (await must("POST", `/user/${id}/calendar`, { timezone: "Europe/Berlin" }, 201)).calendar.id;
      const scratch = (await must("POST", `/user/${id}/calendar`, { timezone: "UTC" }, 201)).calendar.id;
      for (let e = 0; e < 60; e++) {
        await must("POST", `/user/${id}/events`, { calendarId: cal, startTs: T0 + e * 2.7 * HOUR, duration: HOUR, busy: true }, 201);
      }
      const series = (await must("POST", `/user/${id}/events`, { calendarId: cal, startTs: T0 + 9 * HOUR, duration: HOUR, busy: true, recurrence: { freq: "weekly", interval: 1, count: 52, byweekday: ["Mon", "Wed", "Fri"] } }, 201)).event.id;
      users.push({ id, cal, scratch, series, tokens: [] });
    }
    const key = crypto.createPrivateKey(privateKey);
    const header = b64url({ alg: "RS256", typ: "JWT" });
    for (let i = 0; i < TOKENS; i++) {
      const u = users[i % USERS];
      const claims = b64url({ nettuSchedulerUserId: u.id, iat: 1_700_000_000 + i, exp: 5_609_418_990_073, schedulerPolicy: { allow: ["*"] } });
      u.tokens.push(`${header}.${claims}.${crypto.sign("sha256", Buffer.from(`${header}.${claims}`), key).toString("base64url")}`);
    }
    admin.destroy();
    say(`seeded ${USERS} users, ${USERS * 61} events, ${TOKENS} tokens; server pid ${child.pid}, ${WORKERS} workers`);

    // The load.
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS, maxFreeSockets: CONNS });
    let socketsOpened = 0;
    const stats = { total: 0, byKind: {}, byStatus: {}, s5xx: 0, unexpected: 0, socketErrors: 0, latency: [] };
    const WEIGHTS = [
      ["get_calendar_apikey", 25],
      ["get_calendar_jwt", 20],
      ["get_me_jwt", 5],
      ["post_event", 15],
      ["delete_event", 12],
      ["freebusy", 10],
      ["calendar_events", 8],
      ["instances", 5],
    ];
    const totalWeight = WEIGHTS.reduce((s, [, w]) => s + w, 0);
    const pick = () => {
      let r = Math.random() * totalWeight;
      for (const [k, w] of WEIGHTS) if ((r -= w) < 0) return k;
      return WEIGHTS[0][0];
    };
    const win = `startTs=${T0}&endTs=${T0 + 7 * DAY}`;
    const deadline = Date.now() + SECONDS * 1000;
    const rssStart = rssKiB(child.pid);
    const rssSamples = [rssStart];
    const sampler = setInterval(() => rssSamples.push(rssKiB(child.pid)), 1000);

    const loop = async (n) => {
      const u = users[n % USERS];
      const mine = [];
      let i = 0;
      while (Date.now() < deadline && !exited) {
        let kind = pick();
        if (kind === "delete_event" && mine.length === 0) kind = "post_event";
        const token = u.tokens[(n * 7 + i++) % u.tokens.length];
        const J = { "nettu-account": account, authorization: `Bearer ${token}` };
        let method = "GET";
        let p;
        let headers = A;
        let body;
        let want = 200;
        switch (kind) {
          case "get_calendar_apikey":
            p = `/user/calendar/${u.cal}`;
            break;
          case "get_calendar_jwt":
            p = `/calendar/${u.cal}`;
            headers = J;
            break;
          case "get_me_jwt":
            p = "/me";
            headers = J;
            break;
          case "post_event":
            method = "POST";
            p = `/user/${u.id}/events`;
            body = { calendarId: u.scratch, startTs: T0 + (i % 500) * HOUR, duration: HOUR, busy: i % 2 === 0, metadata: { loop: String(n) } };
            want = 201;
            break;
          case "delete_event":
            method = "DELETE";
            p = `/user/events/${mine.shift()}`;
            break;
          case "freebusy":
            p = `/user/${u.id}/freebusy?${win}&calendarIds=${u.cal},${u.scratch}`;
            headers = { "nettu-account": account };
            break;
          case "calendar_events":
            p = `/user/calendar/${u.cal}/events?${win}`;
            break;
          case "instances":
            p = `/user/events/${u.series}/instances?${win}`;
            break;
        }
        const t = performance.now();
        try {
          const r = await request(agent, port, method, p, headers, body);
          stats.latency.push(performance.now() - t);
          stats.total++;
          stats.byKind[kind] = (stats.byKind[kind] || 0) + 1;
          stats.byStatus[r.status] = (stats.byStatus[r.status] || 0) + 1;
          if (r.status >= 500) stats.s5xx++;
          if (r.status !== want) {
            stats.unexpected++;
            if (failures.length < 10) failures.push(`${method} ${p}: ${r.status} ${JSON.stringify(r.json)}`);
          } else if (kind === "post_event") {
            mine.push(r.json.event.id);
          }
        } catch (err) {
          stats.socketErrors++;
          if (failures.length < 10) failures.push(`${method} ${p}: socket error ${err.code || err.message}`);
          if (exited) return;
        }
      }
    };
    const origCreate = agent.createConnection.bind(agent);
    agent.createConnection = (...args) => {
      socketsOpened++;
      return origCreate(...args);
    };
    const t0 = Date.now();
    await Promise.all(Array.from({ length: CONNS }, (_, n) => loop(n)));
    const elapsed = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const rssEnd = rssKiB(child.pid);
    const rssPeak = Math.max(...rssSamples, rssEnd);
    const alive = exited === null;
    agent.destroy();

    const lat = stats.latency.sort((a, b) => a - b);
    const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : NaN);
    const growth = rssStart ? ((rssEnd - rssStart) / rssStart) * 100 : NaN;
    say(`${stats.total} requests in ${elapsed.toFixed(1)} s (${(stats.total / elapsed).toFixed(0)}/s) over ${CONNS} connections (${socketsOpened} opened)`);
    say(`by kind: ${JSON.stringify(stats.byKind)}`);
    say(`by status: ${JSON.stringify(stats.byStatus)}`);
    say(`latency ms: p50 ${q(50).toFixed(2)}, p99 ${q(99).toFixed(2)}, max ${(lat[lat.length - 1] ?? NaN).toFixed(2)}`);
    say(`5xx: ${stats.s5xx}; other unexpected statuses: ${stats.unexpected - stats.s5xx}; socket errors: ${stats.socketErrors}; connections opened beyond ${CONNS}: ${Math.max(0, socketsOpened - CONNS)}`);
    say(`server RSS: start ${rssStart} KiB, end ${rssEnd} KiB (${growth >= 0 ? "+" : ""}${growth.toFixed(1)}%), peak ${rssPeak} KiB`);
    // Warm-up (page caches, token cache) versus steady growth: RSS at each quarter.
    const quarter = (k) => rssSamples[Math.min(rssSamples.length - 1, Math.round((k * (rssSamples.length - 1)) / 4))];
    say(`server RSS by quarter of the run (KiB): ${[0, 1, 2, 3, 4].map(quarter).join(" -> ")}`);

    // A clean shutdown.
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15000);
    const e = await exit;
    clearTimeout(killer);
    const errorLines = fs
      .readFileSync(logPath, "utf8")
      .split("\n")
      .filter((l) => / ERROR /.test(l));
    if (!alive) failures.push(`the server died during the load: ${JSON.stringify(exited)}`);
    if (e.code !== 0) failures.push(`the server did not exit cleanly on SIGTERM: ${JSON.stringify(e)}`);
    if (errorLines.length) failures.push(`${errorLines.length} ERROR lines in the server log, e.g. ${errorLines[0]}`);
    if (stats.total === 0) failures.push("no request was answered");
    const dropped = Math.max(0, socketsOpened - CONNS);
    if (dropped > 0) failures.push(`${dropped} connections were dropped and reopened`);
    const pass = failures.length === 0 && stats.s5xx === 0 && stats.unexpected === 0 && stats.socketErrors === 0;
    console.log(
      `SOAK_RESULT pass=${pass ? 1 : 0} seconds=${elapsed.toFixed(1)} connections=${CONNS} requests=${stats.total} ` +
        `rps=${(stats.total / elapsed).toFixed(0)} s5xx=${stats.s5xx} unexpected=${stats.unexpected} socket_errors=${stats.socketErrors} ` +
        `dropped=${dropped} p99_ms=${q(99).toFixed(2)} rss_start_kib=${rssStart} rss_end_kib=${rssEnd} rss_peak_kib=${rssPeak}`,
    );
    for (const f of failures) say(`FAIL: ${f}`);
    result = pass ? 0 : 1;
  } catch (err) {
    say(`FAIL: ${err.message}`);
    result = 1;
  } finally {
    if (!exited) {
      child.kill("SIGKILL");
      await exit;
    }
    if (process.env.SOAK_KEEP === "1" || result !== 0) say(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
  return result;
}

process.exit(await main());
