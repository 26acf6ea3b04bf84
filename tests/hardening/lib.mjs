// Shared helpers of the hardening tests: a server launcher with full control over the INI
// file, the database path and the process (SIGKILL and restart on the same database), a
// raw-socket HTTP client for requests no HTTP library would send, a keep-alive JSON client,
// and read-only SQLite inspection through the sqlite3 command line tool (WAL-safe).
//
// Environment (as for the e2e suite, paths relative to tests/e2e):
//   NETTU_SERVER      server binary   (default ../../build/nettu-server)
//   NETTU_PLUGIN_DIR  plugin folder   (default ../../build/plugins)
//   NETTU_HARD_KEEP=1 keep every temporary folder (INI, database, server log)

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, randomAlnum } from "../e2e/harness.mjs";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, "..", "..");
const E2E = path.resolve(HERE, "..", "e2e");
export const SERVER_BIN = path.resolve(E2E, process.env.NETTU_SERVER || "../../build/nettu-server");
export const PLUGIN_DIR = path.resolve(E2E, process.env.NETTU_PLUGIN_DIR || "../../build/plugins");

// The load list of the full server (store, auth, policy and the domain plugins).
export const PLUGINS = ["store_sqlite", "auth_nettu", "policy", "account", "user", "calendar", "events", "webhooks"];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A fresh API key in the server's format: sk_ + 30 alphanumerics.
export const newApiKey = () => `sk_${randomAlnum(30)}`;

// Rejects with an error naming `what` when `promise` has not settled within `ms`.
export function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// A temporary folder of its own for one test (removed by the caller, or kept on request).
export async function tempDir(prefix) {
  return fsp.mkdtemp(path.join(os.tmpdir(), `nettu-hard-${prefix}-`));
}

export async function removeDir(dir) {
  if (!process.env.NETTU_HARD_KEEP) await fsp.rm(dir, { recursive: true, force: true });
}

/* ------------------------------------------------------------------------------------------
 * INI files.
 */

// Writes {section: {key: value}} as an INI file (sections and keys in insertion order).
export function writeIni(file, sections) {
  const text = Object.entries(sections)
    .map(([name, kv]) => `[${name}]\n${Object.entries(kv).map(([k, v]) => `${k} = ${v}`).join("\n")}\n`)
    .join("\n");
  fs.writeFileSync(file, text);
}

// Merges `extra` ({section: {key: value}}) into `base`; a value of null removes the key.
function mergeIni(base, extra) {
  for (const [section, kv] of Object.entries(extra || {})) {
    base[section] = base[section] || {};
    for (const [k, v] of Object.entries(kv)) {
      if (v === null) delete base[section][k];
      else base[section][k] = v;
    }
  }
  return base;
}

// The server's environment: ours without anything that would override the INI file.
export function serverEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("NETTU_") || k === "PORT" || k.startsWith("ACCOUNT_")) continue;
    if (k === "CREATE_ACCOUNT_SECRET_CODE") continue;
    env[k] = v;
  }
  return env;
}

/* ------------------------------------------------------------------------------------------
 * Raw HTTP over a socket.
 */

// Parses what arrived so far: {status, headers (lower-case name -> [values]), body (Buffer),
// complete} or null while the head is incomplete. `head` true: the answer has no body.
function parseResponse(buf, head) {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    if (i <= 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    (headers[k] = headers[k] || []).push(l.slice(i + 1).trim());
  }
  const status = Number(lines[0].split(" ")[1]);
  let body = buf.subarray(end + 4);
  let complete = false;
  const cl = headers["content-length"];
  if (head || status === 204 || status === 304) {
    body = Buffer.alloc(0);
    complete = true;
  } else if (cl) {
    complete = body.length >= Number(cl[0]);
    body = body.subarray(0, Number(cl[0]));
  } else if (/chunked/i.test((headers["transfer-encoding"] || []).join(","))) {
    const out = [];
    let i = 0;
    for (;;) {
      const eol = body.indexOf("\r\n", i);
      if (eol < 0) break;
      const size = parseInt(body.subarray(i, eol).toString("latin1"), 16);
      if (!(size >= 0)) break;
      if (size === 0) {
        complete = true;
        break;
      }
      if (body.length < eol + 2 + size + 2) break;
      out.push(body.subarray(eol + 2, eol + 2 + size));
      i = eol + 2 + size + 2;
    }
    body = Buffer.concat(out);
  }
  return { status, headers, body, complete };
}

// Decorates a parsed answer with text, json (null when not JSON) and a `header(name)` getter.
function finishResponse(r, extra) {
  const text = r.body.toString("utf8");
  let json = null;
  try {
    json = text.length ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { ...r, ...extra, text, json, header: (n) => (r.headers[n.toLowerCase()] || [])[0] };
}

/**
 * Sends `data` (a string in latin1, a Buffer, or an array of those sent one after the other
 * `gapMs` apart) on a new connection to 127.0.0.1:`port` and reads one answer. Resolves with
 * {status, headers, header(), body, text, json, closed (the server closed the connection),
 * error (a socket error code)}; status is 0 when no answer arrived before the connection
 * closed or `timeoutMs` passed (timedOut then true). `localAddress` (e.g. "127.0.0.2") is the
 * client's own address: every 127.x.y.z address is the loopback interface, so tests can be
 * several clients.
 */
export function rawRequest(port, data, { timeoutMs = 5000, gapMs = 0, head = false, localAddress } = {}) {
  const parts = (Array.isArray(data) ? data : [data]).map((d) => (Buffer.isBuffer(d) ? d : Buffer.from(d, "latin1")));
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: "127.0.0.1", localAddress });
    const chunks = [];
    let done = false;
    let error = null;
    let timedOut = false;
    const timers = [];
    const finish = (closed) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      const parsed = parseResponse(Buffer.concat(chunks), head);
      sock.destroy();
      if (!parsed) {
        resolve({ status: 0, headers: {}, header: () => undefined, body: Buffer.alloc(0), text: "", json: null, closed, error, timedOut });
        return;
      }
      resolve(finishResponse(parsed, { closed, error, timedOut }));
    };
    sock.on("data", (d) => {
      chunks.push(d);
      const p = parseResponse(Buffer.concat(chunks), head);
      if (p && p.complete) finish(false);
    });
    sock.on("error", (e) => {
      error = e.code || e.message;
    });
    sock.on("close", () => finish(true));
    sock.on("connect", () => {
      parts.forEach((p, i) => {
        const send = () => {
          if (!sock.destroyed) sock.write(p, () => {});
        };
        if (i === 0 || gapMs === 0) send();
        else timers.push(setTimeout(send, i * gapMs));
      });
    });
    timers.push(
      setTimeout(() => {
        timedOut = true;
        finish(false);
      }, timeoutMs),
    );
  });
}

/**
 * Opens a connection to 127.0.0.1:`port` that stays open for several requests. Resolves once
 * connected with {send(data, timeoutMs) -> answer or null (none within timeoutMs), wait(
 * timeoutMs) -> the pending answer or null, closed (boolean), closedAt (ms timestamp),
 * close()}. Answers are parsed as rawRequest's.
 */
export function openConn(port, { connectTimeoutMs = 5000, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: "127.0.0.1", localAddress });
    let buf = Buffer.alloc(0);
    let waiter = null;
    const conn = {
      closed: false,
      closedAt: 0,
      error: null,
      sock,
      // Resolves with the next complete answer, or null after timeoutMs or on close.
      wait(timeoutMs) {
        return new Promise((res) => {
          const t = setTimeout(() => {
            waiter = null;
            res(null);
          }, timeoutMs);
          waiter = (r) => {
            clearTimeout(t);
            waiter = null;
            res(r);
          };
          check();
        });
      },
      send(data, timeoutMs = 5000) {
        if (!sock.destroyed) sock.write(Buffer.isBuffer(data) ? data : Buffer.from(data, "latin1"), () => {});
        return this.wait(timeoutMs);
      },
      close() {
        sock.destroy();
      },
    };
    const check = () => {
      if (!waiter) return;
      const p = parseResponse(buf, false);
      if (p && p.complete) {
        const end = buf.indexOf("\r\n\r\n") + 4 + p.body.length;
        buf = buf.subarray(end);
        waiter(finishResponse(p, { closed: conn.closed }));
      } else if (conn.closed) {
        waiter(null);
      }
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect to port ${port}: not connected within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    sock.on("connect", () => {
      clearTimeout(timer);
      resolve(conn);
    });
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      check();
    });
    sock.on("error", (e) => {
      conn.error = e.code || e.message;
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      conn.closed = true;
      conn.closedAt = Date.now();
      check();
    });
  });
}

// Builds the text of one HTTP/1.1 request for rawRequest: `headers` is a list of [name, value]
// pairs (duplicates allowed, sent as given); Host is added first and Content-Length is added
// for a body unless the list has one; `close` adds Connection: close.
export function buildRequest(method, target, headers = [], body = null, { close = true } = {}) {
  const h = [["Host", "127.0.0.1"], ...headers];
  const bodyBuf = body === null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
  if (bodyBuf && !h.some(([k]) => /^(content-length|transfer-encoding)$/i.test(k))) {
    h.push(["Content-Length", String(bodyBuf.length)]);
  }
  if (close) h.push(["Connection", "close"]);
  const head = Buffer.from(`${method} ${target} HTTP/1.1\r\n${h.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`, "latin1");
  return bodyBuf ? Buffer.concat([head, bodyBuf]) : head;
}

/* ------------------------------------------------------------------------------------------
 * A JSON client over keep-alive connections.
 */

// Sends one request; `body` is an object (sent as JSON), a string or a Buffer. Resolves with
// {status, headers, text, json}; rejects on a socket error or after `timeoutMs`.
export function httpRequest(agent, port, method, p, { headers = {}, body, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    let payload = null;
    const h = { ...headers };
    if (body !== undefined) {
      payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === "content-type")) h["content-type"] = "application/json";
      h["content-length"] = Buffer.byteLength(payload);
    }
    const req = http.request({ host: "127.0.0.1", port, method, path: `/api/v1${p}`, headers: h, agent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json = null;
        try {
          json = text.length ? JSON.parse(text) : null;
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${p}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    if (payload !== null) req.write(payload);
    req.end();
  });
}

/* ------------------------------------------------------------------------------------------
 * The server process.
 */

// GET /api/v1/ on a connection of its own (Connection: close, so nothing stays open and
// counts against max_connections). True when it answers 200 within `timeoutMs`.
export async function healthy(port, timeoutMs = 2000) {
  const r = await rawRequest(port, buildRequest("GET", "/api/v1/"), { timeoutMs });
  return r.status === 200;
}

function logTail(file, n = 40) {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch (err) {
    return `(no log: ${err.message})`;
  }
}

// Spawns the server on `iniPath`, appending its output to `logPath`; resolves with the child
// once it answers health checks, rejects (after killing it) otherwise.
async function spawnServer(iniPath, logPath, port, timeoutMs) {
  const fd = fs.openSync(logPath, "a");
  const child = spawn(SERVER_BIN, ["-c", iniPath], { stdio: ["ignore", fd, fd], env: serverEnv(), cwd: path.dirname(iniPath) });
  fs.closeSync(fd);
  const exit = new Promise((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
    child.on("error", (error) => resolve({ code: null, signal: null, error }));
  });
  let exited = null;
  exit.then((e) => (exited = e));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited) {
    if (await healthy(port, 1000)) return { child, exit };
    await sleep(50);
  }
  if (!exited) {
    child.kill("SIGKILL");
    await exit;
  }
  const tail = logTail(logPath, 20);
  const err = new Error(
    exited
      ? `server exited before it was healthy (code ${exited.code}, signal ${exited.signal}${exited.error ? `, ${exited.error.message}` : ""})\n--- ${logPath} ---\n${tail}`
      : `server not healthy within ${timeoutMs} ms\n--- ${logPath} ---\n${tail}`,
  );
  err.addressInUse = /in use/i.test(tail);
  throw err;
}

/**
 * Starts a server with an INI file of its own. Options:
 *   dir       folder for the INI file, the log and (by default) the database (a new
 *             temporary folder when absent; removed by stop() then)
 *   db        database path (default <dir>/nettu.db)
 *   plugins   the [plugins] load list (default PLUGINS)
 *   ini       {section: {key: value}} merged over the defaults (null removes a key)
 *   apiKey    the default account's API key (default: a fresh one; null: no default account)
 *   secret    create_account_secret (default: a fresh one; null: not configured)
 *   timeoutMs how long to wait for the first healthy answer (default 15 s)
 * Returns a handle: {port, dir, db, iniPath, logPath, apiKey, secret, pid, request(method,
 * path, opts), alive(), exited, kill(signal), restart(), stop(), log()}.
 */
export async function launch(opts = {}) {
  if (!fs.existsSync(SERVER_BIN)) throw new Error(`server binary not found: ${SERVER_BIN} (build it, or set NETTU_SERVER)`);
  if (!fs.existsSync(PLUGIN_DIR)) throw new Error(`plugin folder not found: ${PLUGIN_DIR} (build it, or set NETTU_PLUGIN_DIR)`);
  const ownDir = !opts.dir;
  const dir = opts.dir || (await tempDir("srv"));
  const db = opts.db || path.join(dir, "nettu.db");
  const apiKey = opts.apiKey === undefined ? newApiKey() : opts.apiKey;
  const secret = opts.secret === undefined ? randomAlnum(24) : opts.secret;
  const iniPath = path.join(dir, "nettu.ini");
  const logPath = path.join(dir, "server.log");
  const timeoutMs = opts.timeoutMs || 15000;

  const build = (port) => {
    const account = {};
    if (secret !== null) account.create_account_secret = secret;
    if (apiKey !== null) account.default_api_key = apiKey;
    return mergeIni(
      {
        server: { listen: "127.0.0.1", port, workers: 2 },
        plugins: { dir: PLUGIN_DIR, load: (opts.plugins || PLUGINS).join(", ") },
        store_sqlite: { path: db, synchronous: "normal" },
        account,
      },
      opts.ini,
    );
  };

  let started = null;
  let port = 0;
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    port = await freePort();
    writeIni(iniPath, build(port));
    try {
      started = await spawnServer(iniPath, logPath, port, timeoutMs);
    } catch (err) {
      if (!err.addressInUse || attempt === 2) throw err;
    }
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const srv = {
    port,
    dir,
    db,
    iniPath,
    logPath,
    apiKey,
    secret,
    child: started.child,
    exitPromise: started.exit,
    exited: null,
    get pid() {
      return this.child.pid;
    },
    request: (method, p, o) => httpRequest(agent, port, method, p, o),
    // Admin request with the default account's API key.
    admin: (method, p, o = {}) => httpRequest(agent, port, method, p, { ...o, headers: { "x-api-key": apiKey, ...(o.headers || {}) } }),
    alive() {
      return this.exited === null;
    },
    log: () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, "utf8") : ""),
    logTail: (n) => logTail(logPath, n),
    // Sends `signal` and waits (10 s at most, then SIGKILL) for the exit: {code, signal}.
    async kill(signal = "SIGKILL") {
      if (this.exited) return this.exited;
      agent.destroy();
      this.child.kill(signal);
      const killer = setTimeout(() => this.child.kill("SIGKILL"), 10000);
      const e = await this.exitPromise;
      clearTimeout(killer);
      return e;
    },
    // Starts the server again on the same INI file, database and port.
    async restart() {
      assert.ok(this.exited, "restart() needs a stopped server");
      const s = await spawnServer(iniPath, logPath, port, timeoutMs);
      this.child = s.child;
      this.exitPromise = s.exit;
      this.exited = null;
      s.exit.then((e) => (this.exited = e));
    },
    // SIGTERM; asserts a clean exit (code 0) and removes the folder it created.
    async stop() {
      const e = await this.kill("SIGTERM");
      const clean = e.code === 0 && e.signal === null;
      assert.ok(clean, `server did not exit cleanly on SIGTERM (code ${e.code}, signal ${e.signal}); kept ${dir}\n${logTail(logPath)}`);
      if (ownDir) await removeDir(dir);
    },
  };
  started.exit.then((e) => (srv.exited = e));
  return srv;
}

// Runs `nettu-server --check-config -c ini`: {status, output (stdout + stderr)}.
export function checkConfig(iniPath) {
  try {
    const out = execFileSync(SERVER_BIN, ["--check-config", "-c", iniPath], { env: serverEnv(), stdio: ["ignore", "pipe", "pipe"], timeout: 30000 });
    return { status: 0, output: out.toString() };
  } catch (err) {
    return { status: err.status, output: `${err.stdout || ""}${err.stderr || ""}` };
  }
}

/* ------------------------------------------------------------------------------------------
 * Assertions.
 */

const ERROR_KINDS = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  408: "request_timeout",
  409: "conflict",
  413: "payload_too_large",
  422: "unprocessable",
  429: "too_many_requests",
  431: "headers_too_large",
  500: "internal",
  501: "not_implemented",
  503: "unavailable",
};

// Asserts an error answer of the API: `status`, Content-Type application/json and a
// body {error: <kind of the status>, message: non-empty string}. Works for httpRequest and
// rawRequest answers.
export function assertJsonError(res, status, what = "") {
  const ct = typeof res.header === "function" ? res.header("content-type") : res.headers["content-type"];
  const ctx = `${what ? what + ": " : ""}status ${res.status}, content-type ${ct}, body ${JSON.stringify(res.text).slice(0, 160)}`;
  assert.equal(res.status, status, `expected ${status}; ${ctx}`);
  assert.match(String(ct), /^application\/json\b/i, `JSON content type; ${ctx}`);
  assert.ok(res.json && typeof res.json === "object" && !Array.isArray(res.json), `JSON object body; ${ctx}`);
  assert.equal(res.json.error, ERROR_KINDS[status], `error kind; ${ctx}`);
  assert.equal(typeof res.json.message, "string", `message is a string; ${ctx}`);
  assert.ok(res.json.message.length > 0, `message is not empty; ${ctx}`);
}

// Asserts a 2xx JSON answer with `status`; returns the parsed body.
export function assertStatus(res, status, what = "") {
  assert.equal(res.status, status, `${what ? what + ": " : ""}expected ${status}, got ${res.status}: ${String(res.text).slice(0, 300)}`);
  return res.json;
}

/* ------------------------------------------------------------------------------------------
 * SQLite inspection (read-only connections of the sqlite3 tool; safe beside the running
 * server in WAL mode).
 */

// Runs SQL (or a dot-command) on `db` read-only; returns stdout.
export function sqlite(db, sql, { readonly = true } = {}) {
  const args = readonly ? ["-readonly", "-batch", db, sql] : ["-batch", db, sql];
  return execFileSync("sqlite3", args, { timeout: 30000, maxBuffer: 256 * 1024 * 1024 }).toString();
}

// The names of the database's tables (sorted).
export function tables(db) {
  return sqlite(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name;").split("\n").filter(Boolean);
}

// {table: row count} for every table.
export function rowCounts(db) {
  const out = {};
  for (const t of tables(db)) out[t] = Number(sqlite(db, `SELECT count(*) FROM "${t}";`).trim());
  return out;
}

// PRAGMA integrity_check (trimmed output; "ok" for a sound database).
export function integrityCheck(db) {
  return sqlite(db, "PRAGMA integrity_check;").trim();
}

// The CPU time (ms) the process `pid` has used so far, summed over its threads (from
// /proc/<pid>/task/*/schedstat, nanosecond resolution); NaN when /proc cannot tell.
export function processCpuMs(pid) {
  try {
    let ns = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // a thread that ended meanwhile
      }
    }
    return ns / 1e6;
  } catch {
    return NaN;
  }
}

// VmRSS of a process in MiB.
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

// True when the process runs with AddressSanitizer or ThreadSanitizer (ASan's allocator keeps
// freed memory in a quarantine and pads every block; TSan maps shadow memory for everything
// touched: memory figures mean nothing there, and CPU-heavy work runs several times slower).
export function sanitized(pid) {
  return /libasan|libclang_rt\.asan|libtsan|libclang_rt\.tsan/.test(fs.readFileSync(`/proc/${pid}/maps`, "utf8"));
}

// Percentile `p` (0..100) of a list of numbers (nearest rank).
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
