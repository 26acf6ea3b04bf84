// End-to-end harness: starts the real nettu server on a free 127.0.0.1 port with a private
// INI file and database, and gives tests the published client, a raw HTTP helper and
// assertion helpers for the API's conventions (docs/api.md). Each test file starts one server.
//
// Environment:
//   NETTU_SERVER      server binary   (default ../../build/nettu-server from this folder)
//   NETTU_PLUGIN_DIR  plugin folder   (default ../../build/plugins)
//   NETTU_E2E_KEEP=1  keep the temporary folder (INI, database, server log) after stop()
//   NETTU_E2E_PLUGINS comma-separated [plugins] load list replacing the default one
//   NETTU_E2E_STORE=pg (with NETTU_E2E_PG_DIR) and NETTU_E2E_INSTANCES=2: every server on its
//                     own fresh PostgreSQL database, and/or two instances on one database behind
//                     a round-robin proxy (tests/support/server.mjs; README "Scaling out")

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  ROOT,
  applyStore,
  e2eMode,
  formatIni,
  freePort,
  logTail,
  parseIni,
  psql,
  randomAlnum,
  setIni,
  sleep,
  spawnAndWait,
  startProxy,
} from "../support/server.mjs";

export { freePort, randomAlnum };

// The store and number of instances the environment chose (tests/support/server.mjs e2eMode).
export const MODE = e2eMode();

const HERE = path.dirname(fileURLToPath(import.meta.url));

// The npm packages are loaded here, dynamically, so a missing node_modules fails every test
// file with one clear instruction instead of a module-resolution stack trace.
async function loadPackages() {
  try {
    const sdk = await import("@nettu/sdk-scheduler");
    const jwt = (await import("jsonwebtoken")).default;
    return { sdk, jwt };
  } catch (err) {
    if (err && err.code === "ERR_MODULE_NOT_FOUND") {
      throw new Error(
        `the end-to-end tests need their npm packages: run \`npm ci\` in ${HERE} ` + `(${err.message})`,
      );
    }
    throw err;
  }
}
const { sdk, jwt } = await loadPackages();
export const { NettuClient, NettuUserClient, config, Permissions } = sdk;
export { jwt };

export const DEFAULT_PLUGINS = process.env.NETTU_E2E_PLUGINS
  ? process.env.NETTU_E2E_PLUGINS.split(",").map((s) => s.trim())
  : ["store_sqlite", "auth_nettu", "policy", "account", "user", "calendar", "events", "schedule", "service", "webhooks"];

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const API_KEY_RE = /^sk_[A-Za-z0-9]{30}$/;

/* ------------------------------------------------------------------------------------------
 * Raw HTTP.
 */

// Sends one request with fetch. `path` is relative to /api/v1 ("" is /api/v1 itself). An
// object body is sent as JSON; a string or Buffer body is sent as is (with a JSON content
// type unless headers say otherwise). Returns {status, headers, json, text}; json is null
// when the body is not JSON.
async function rawRequest(baseUrl, method, p, { headers = {}, body } = {}) {
  const h = { ...headers };
  let payload;
  if (body !== undefined) {
    payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const hasType = Object.keys(h).some((k) => k.toLowerCase() === "content-type");
    if (!hasType) h["content-type"] = "application/json";
  }
  const res = await fetch(baseUrl + p, { method, headers: h, body: payload });
  const text = await res.text();
  let json = null;
  try {
    json = text.length ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, json, text };
}

// Decodes a chunked HTTP/1.1 body (as latin1 text); stops at the last chunk or at the end.
function dechunk(text) {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const eol = text.indexOf("\r\n", i);
    if (eol < 0) break;
    const size = parseInt(text.slice(i, eol), 16);
    if (!(size > 0)) break;
    out += text.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
  return out;
}

// Sends a request over a plain socket, for bodies a server may refuse before reading them:
// the headers go first; if the server answers within `earlyMs` the body is never sent,
// otherwise the body follows. The answer is read until the server closes the connection
// (the request says `Connection: close`); a reset after the answer is ignored. Returns
// {status, headers (lower-case names), text}.
export function socketRequest(port, method, p, headers, body, earlyMs = 500) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks = [];
    sock.on("data", (d) => chunks.push(d));
    sock.on("error", () => {}); // EPIPE/ECONNRESET: judged by what arrived, at "close"
    sock.on("close", () => {
      clearTimeout(bodyTimer);
      clearTimeout(giveUp);
      const raw = Buffer.concat(chunks).toString("latin1");
      const headEnd = raw.indexOf("\r\n\r\n");
      if (headEnd < 0) {
        reject(new Error(`no HTTP answer before the connection closed (got ${JSON.stringify(raw)})`));
        return;
      }
      const lines = raw.slice(0, headEnd).split("\r\n");
      const hdrs = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let text = raw.slice(headEnd + 4);
      if (/chunked/i.test(hdrs["transfer-encoding"] || "")) text = dechunk(text);
      resolve({ status: Number(lines[0].split(" ")[1]), headers: hdrs, text });
    });
    const all = { ...headers, "content-length": body.length, connection: "close" };
    const head =
      `${method} /api/v1${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      Object.entries(all)
        .map(([k, v]) => `${k}: ${v}`)
        .join("\r\n") +
      "\r\n\r\n";
    sock.write(head);
    const bodyTimer = setTimeout(() => {
      if (chunks.length === 0 && !sock.destroyed) sock.write(body, () => {});
    }, earlyMs);
    const giveUp = setTimeout(() => sock.destroy(), 15000);
  });
}

/* ------------------------------------------------------------------------------------------
 * Server lifecycle.
 */

/**
 * Starts the server instances of data folder `dir` (NETTU_E2E_INSTANCES of them, on the store
 * NETTU_E2E_STORE says; see tests/support/server.mjs) and, for more than one, the round-robin
 * proxy in front. Starting again on the same folder finds the same data (a restart).
 * Options: plugins, ini ({section: {key: value}} extra settings), apiKey and secret (the default
 * account), timeoutMs (health wait per instance), instances (overrides the environment),
 * parallel (start them all at once rather than one after the other), mode (a {store,
 * pgDir} replacing the environment's, e.g. a test's own cluster).
 * Returns {baseUrl, origin, port (the proxy's with several instances), instances: [{port,
 * baseUrl, logPath}], logPath (the first instance's), logTail(n), kill(signal), stop()}.
 * kill(signal) signals every instance and resolves with the first one's {code, signal}; stop()
 * sends SIGTERM to every instance and asserts that each exited cleanly.
 */
export async function startInstances({
  dir,
  plugins = DEFAULT_PLUGINS,
  ini = {},
  apiKey,
  secret,
  timeoutMs = 10000,
  instances = MODE.instances,
  parallel = false,
  mode = MODE,
}) {
  const bin = path.resolve(HERE, process.env.NETTU_SERVER || "../../build/nettu-server");
  const pluginDir = path.resolve(HERE, process.env.NETTU_PLUGIN_DIR || "../../build/plugins");
  if (!fs.existsSync(bin)) {
    throw new Error(`server binary not found: ${bin} (build it, or set NETTU_SERVER)`);
  }
  if (!fs.existsSync(pluginDir)) {
    throw new Error(`plugin folder not found: ${pluginDir} (build it, or set NETTU_PLUGIN_DIR)`);
  }
  const running = [];
  const killAll = async (signal) => {
    for (const r of running) r.child.kill(signal);
    return Promise.all(running.map((r) => r.exit));
  };
  // Starts instance n (retrying on a port taken meanwhile); resolves with its record.
  const startOne = async (n) => {
    const suffix = n === 0 ? "" : `-${n}`;
    const logPath = path.join(dir, `server${suffix}.log`);
    const iniPath = path.join(dir, `nettu${suffix}.ini`);
    let started = null;
    let port = 0;
    for (let attempt = 0; attempt < 3 && !started; attempt++) {
      port = await freePort();
      const sections = parseIni(fs.readFileSync(path.join(ROOT, "etc", "nettu.ini"), "utf8"));
      setIni(sections, "server", "listen", "127.0.0.1");
      setIni(sections, "server", "port", port);
      setIni(sections, "server", "workers", 2);
      setIni(sections, "plugins", "dir", pluginDir);
      const load = applyStore(sections, plugins, dir, mode);
      setIni(sections, "plugins", "load", load.join(", "));
      setIni(sections, "account", "create_account_secret", secret);
      setIni(sections, "account", "default_api_key", apiKey);
      for (const [section, kv] of Object.entries(ini)) {
        for (const [k, v] of Object.entries(kv)) setIni(sections, section, k, v);
      }
      fs.writeFileSync(iniPath, formatIni(sections));
      try {
        started = await spawnAndWait(bin, iniPath, logPath, port, timeoutMs);
      } catch (err) {
        if (!err.addressInUse || attempt === 2) throw err;
      }
    }
    const rec = { ...started, port, logPath, baseUrl: `http://127.0.0.1:${port}/api/v1` };
    running.push(rec);
    return rec;
  };
  let ordered;
  try {
    if (mode.store === "pg") applyStore([], [], dir, mode); // the database, once, before any start
    if (parallel) {
      const settled = await Promise.allSettled(Array.from({ length: instances }, (_, n) => startOne(n)));
      const failed = settled.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      ordered = settled.map((r) => r.value);
    } else {
      for (let n = 0; n < instances; n++) await startOne(n);
      ordered = running.slice();
    }
  } catch (err) {
    await killAll("SIGKILL");
    throw err;
  }
  running.splice(0, running.length, ...ordered);
  let proxy = null;
  if (running.length > 1) {
    try {
      proxy = await startProxy(running.map((r) => r.port));
    } catch (err) {
      await killAll("SIGKILL");
      throw err;
    }
  }
  const port = proxy ? proxy.port : running[0].port;
  const origin = `http://127.0.0.1:${port}`;
  const logTailAll = (n) =>
    running.length === 1
      ? logTail(running[0].logPath, n)
      : running.map((r, i) => `--- instance ${i} (port ${r.port}) ---\n${logTail(r.logPath, n)}`).join("\n");
  let stopped = false;
  return {
    baseUrl: `${origin}/api/v1`,
    origin,
    port,
    proxy,
    instances: running.map(({ port: p, baseUrl, logPath }) => ({ port: p, baseUrl, logPath })),
    logPath: running[0].logPath,
    logTail: logTailAll,
    async kill(signal) {
      stopped = true;
      const results = await killAll(signal);
      if (proxy) await proxy.close();
      return results[0];
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const killer = setTimeout(() => killAll("SIGKILL"), 10000);
      const results = await killAll("SIGTERM");
      clearTimeout(killer);
      if (proxy) await proxy.close();
      const bad = results.map((r, i) => ({ ...r, i })).filter((r) => !(r.code === 0 && r.signal === null));
      assert.ok(
        bad.length === 0,
        bad
          .map((r) => `instance ${r.i}: server did not exit cleanly on SIGTERM (code ${r.code}, signal ${r.signal}); kept ${dir}`)
          .join("\n") + `\n--- server log ---\n${logTailAll()}`,
      );
    },
  };
}

/**
 * Starts a server for one test file, in a fresh temporary folder with a fresh database (see
 * startInstances for the store and instance count the environment chooses).
 * Options: plugins (the [plugins] load list), ini ({section: {key: value}} extra settings),
 * timeoutMs (health wait, default 10 s).
 * Returns {baseUrl, origin, port, apiKey, secret, tmpDir, logPath, instances, request, stop,
 * logTail}; with several instances baseUrl/origin/port are the round-robin proxy's and
 * `instances[i].baseUrl` reaches one instance directly.
 */
export async function startServer({ plugins = DEFAULT_PLUGINS, ini = {}, timeoutMs = 10000 } = {}) {
  const tmpDir = await fsp.mkdtemp(path.join(os.tmpdir(), "nettu-e2e-"));
  const secret = randomAlnum(24);
  const apiKey = `sk_${randomAlnum(30)}`;
  const nettu = await startInstances({ dir: tmpDir, plugins, ini, apiKey, secret, timeoutMs });

  // Stops the servers with SIGTERM, waits for them (10 s) and asserts clean exits (code 0),
  // then removes the temporary folder and database (kept when an exit was not clean, or
  // NETTU_E2E_KEEP).
  async function stop() {
    await nettu.stop();
    if (!process.env.NETTU_E2E_KEEP) {
      if (MODE.store === "pg") dropDatabase(tmpDir);
      await fsp.rm(tmpDir, { recursive: true, force: true });
    }
  }

  return {
    baseUrl: nettu.baseUrl,
    origin: nettu.origin,
    port: nettu.port,
    instances: nettu.instances,
    apiKey,
    secret,
    tmpDir,
    logPath: nettu.logPath,
    request: (method, p, opts) => rawRequest(nettu.baseUrl, method, p, opts),
    stop,
    logTail: nettu.logTail,
  };
}

// Drops the store_pg database of data folder `dir` (after its servers stopped); a failure is
// only reported, as the cluster is a throwaway one.
export function dropDatabase(dir) {
  const file = path.join(dir, "pg.conninfo");
  if (!fs.existsSync(file)) return;
  const conninfo = fs.readFileSync(file, "utf8").trim();
  const m = /\bdbname=(\S+)/.exec(conninfo);
  if (!m) return;
  try {
    psql(conninfo.replace(/\bdbname=\S+/, "dbname=postgres"), `DROP DATABASE IF EXISTS "${m[1]}"`);
  } catch (err) {
    console.error(`e2e: ${err.message}`);
  }
}

/* ------------------------------------------------------------------------------------------
 * Keys, tokens and assertion helpers.
 */

// A fresh 2048-bit RSA key pair as PEM: {publicKey (spki), privateKey (pkcs8)}.
export function rsaKeyPair() {
  return crypto.generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

const b64url = (buf) => Buffer.from(buf).toString("base64url");

// Builds a compact JWS by hand so tests can send what jsonwebtoken refuses to make.
// `header` and `claims` are objects or raw JSON text; `sign(data)` returns the signature
// bytes (omit it for an empty signature).
export function rawJwt(header, claims, sign) {
  const h = typeof header === "string" ? header : JSON.stringify(header);
  const c = typeof claims === "string" ? claims : JSON.stringify(claims);
  const data = `${b64url(h)}.${b64url(c)}`;
  const sig = sign ? b64url(sign(Buffer.from(data))) : "";
  return `${data}.${sig}`;
}

// RS256 signer for rawJwt.
export const rs256 = (privateKey) => (data) => crypto.sign("sha256", data, privateKey);

// Signs the documented claims (far-future exp, iat 19) for `userId` with RS256.
// `policy` undefined leaves schedulerPolicy out (the default policy).
export function userToken(privateKey, userId, policy) {
  const claims = { nettuSchedulerUserId: userId, exp: 5609418990073, iat: 19 };
  if (policy !== undefined) claims.schedulerPolicy = policy;
  return jwt.sign(claims, privateKey, { algorithm: "RS256" });
}

// Normalises a published-client response or a raw response to {status, contentType, body}.
function view(res) {
  if (res.res) {
    return { status: res.status, contentType: res.res.headers["content-type"], body: res.data };
  }
  const ct =
    typeof res.headers.get === "function" ? res.headers.get("content-type") : res.headers["content-type"];
  let body = res.json;
  if (body === undefined && typeof res.text === "string") {
    try {
      body = JSON.parse(res.text);
    } catch {
      body = null;
    }
  }
  return { status: res.status, contentType: ct, body };
}

const ERROR_KINDS = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  500: "internal",
};

// Asserts an error reply: the status, Content-Type application/json and a
// body {error: <kind of the status>, message: non-empty string}.
export function assertError(res, status, what = "") {
  const v = view(res);
  const ctx = `${what ? what + ": " : ""}body ${JSON.stringify(v.body)}`;
  assert.equal(v.status, status, `expected ${status}, got ${v.status}; ${ctx}`);
  assert.match(String(v.contentType), /^application\/json\b/i, `error content type; ${ctx}`);
  assert.ok(v.body && typeof v.body === "object", `error body is a JSON object; ${ctx}`);
  assert.equal(v.body.error, ERROR_KINDS[status], `error kind; ${ctx}`);
  assert.equal(typeof v.body.message, "string", `error message is a string; ${ctx}`);
  assert.ok(v.body.message.length > 0, `error message is not empty; ${ctx}`);
}

// Asserts a success status and a JSON body; returns the body.
export function assertOk(res, status = 200, what = "") {
  const v = view(res);
  assert.equal(
    v.status,
    status,
    `${what ? what + ": " : ""}expected ${status}, got ${v.status}; body ${JSON.stringify(v.body)}`,
  );
  assert.match(String(v.contentType), /^application\/json\b/i, "success content type");
  return v.body;
}
