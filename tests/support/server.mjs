// Starting the real nettu server from node tests, with node's own modules only (no npm
// packages): INI editing, free ports, random secrets, spawning and waiting for health. Used by
// the end-to-end harness (tests/e2e/harness.mjs) and the browser test's launcher.

import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The repository root.
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/* ------------------------------------------------------------------------------------------
 * INI handling: a test's config is etc/nettu.ini with the keys it needs replaced.
 */

// Parses INI text into [{name, entries: [[key, value], ...]}], dropping comments.
export function parseIni(text) {
  const sections = [];
  let cur = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)[;#].*$/, "").trim();
    if (!line) continue;
    const m = /^\[([^\]]+)\]$/.exec(line);
    if (m) {
      cur = { name: m[1].trim(), entries: [] };
      sections.push(cur);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0 || !cur) throw new Error(`etc/nettu.ini: cannot read line: ${raw}`);
    cur.entries.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

// Sets section.key = value in parsed INI, adding the section or key when missing.
export function setIni(sections, section, key, value) {
  let s = sections.find((x) => x.name === section);
  if (!s) {
    s = { name: section, entries: [] };
    sections.push(s);
  }
  const e = s.entries.find(([k]) => k === key);
  if (e) e[1] = String(value);
  else s.entries.push([key, String(value)]);
}

export function formatIni(sections) {
  return sections
    .map((s) => `[${s.name}]\n${s.entries.map(([k, v]) => `${k} = ${v}`).join("\n")}\n`)
    .join("\n");
}

/* ------------------------------------------------------------------------------------------
 * Random values and ports.
 */

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// A random string of n characters from A-Z a-z 0-9 (rejection sampling: no modulo bias).
export function randomAlnum(n) {
  let out = "";
  while (out.length < n) {
    for (const b of crypto.randomBytes(n)) {
      if (b < 248 && out.length < n) out += ALNUM[b % 62]; // 248 = 4 * 62
    }
  }
  return out;
}

// Binds port 0 on 127.0.0.1, reads the port the kernel chose and releases it.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/* ------------------------------------------------------------------------------------------
 * Server lifecycle.
 */

// Reads the last `n` lines of the server log (for failure messages).
export function logTail(file, n = 40) {
  try {
    const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n");
    return lines.slice(-n).join("\n");
  } catch (err) {
    return `(no log: ${err.message})`;
  }
}

// The child's environment: ours without variables that would override the INI file
// (NETTU_<SECTION>_<KEY>, PORT) or configure the original's default account.
export function childEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("NETTU_") || k === "PORT" || k.startsWith("ACCOUNT_")) continue;
    if (k === "CREATE_ACCOUNT_SECRET_CODE") continue;
    env[k] = v;
  }
  return env;
}

// Spawns the server once; resolves with {child, exit} when GET /api/v1/ answers 200, or
// rejects (after killing it) with the log tail. `exit` resolves with {code, signal}.
export async function spawnAndWait(bin, iniPath, logPath, port, timeoutMs) {
  const logFd = fs.openSync(logPath, "a");
  const child = spawn(bin, ["-c", iniPath], {
    stdio: ["ignore", logFd, logFd],
    env: childEnv(),
    cwd: path.dirname(iniPath),
  });
  fs.closeSync(logFd);
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on("error", (err) => {
      exited = { code: null, signal: null, error: err };
      resolve(exited);
    });
  });
  const deadline = Date.now() + timeoutMs;
  let lastErr = "";
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/`, {
        signal: AbortSignal.timeout(1000),
      });
      await res.arrayBuffer();
      if (res.status === 200) return { child, exit };
      lastErr = `GET /api/v1/ answered ${res.status}`;
    } catch (err) {
      lastErr = err.cause ? err.cause.message : err.message;
    }
    await sleep(50);
  }
  const timedOut = !exited;
  if (timedOut) {
    child.kill("SIGKILL");
    await exit;
  }
  let why;
  if (exited.error) why = `could not start ${bin}: ${exited.error.message}`;
  else if (timedOut) why = `server not healthy within ${timeoutMs} ms (${lastErr})`;
  else why = `server exited before it was healthy (code ${exited.code}, signal ${exited.signal})`;
  const err = new Error(`${why}\n--- server log (${logPath}) ---\n${logTail(logPath)}`);
  err.addressInUse = !timedOut && /in use/i.test(logTail(logPath, 10));
  throw err;
}

/* ------------------------------------------------------------------------------------------
 * Store selection and several instances (tests/e2e/harness.mjs; README "Scaling out").
 *
 *   NETTU_E2E_STORE=pg     run on store_pg instead of store_sqlite; needs NETTU_E2E_PG_DIR, the
 *                          folder of a cluster started by tests/support/pg_cluster.sh (the ctest
 *                          fixture pg_cluster does it). Every data folder gets its own fresh
 *                          database (pg_cluster.sh createdb), so test files stay isolated.
 *   NETTU_E2E_INSTANCES=2  start two servers on the same database with a round-robin HTTP
 *                          proxy in front (startProxy); its URL is what the tests talk to.
 */

// The store and instance count the environment asks for: {store: "sqlite"|"pg", instances, pgDir}.
export function e2eMode() {
  const store = process.env.NETTU_E2E_STORE || "sqlite";
  if (store !== "sqlite" && store !== "pg") {
    throw new Error(`NETTU_E2E_STORE must be sqlite or pg (got ${JSON.stringify(store)})`);
  }
  const instances = Number(process.env.NETTU_E2E_INSTANCES || 1);
  if (!Number.isInteger(instances) || instances < 1 || instances > 8) {
    throw new Error(`NETTU_E2E_INSTANCES must be 1..8 (got ${JSON.stringify(process.env.NETTU_E2E_INSTANCES)})`);
  }
  const pgDir = process.env.NETTU_E2E_PG_DIR || "";
  if (store === "pg" && !pgDir) {
    throw new Error("NETTU_E2E_STORE=pg needs NETTU_E2E_PG_DIR (the folder of `tests/support/pg_cluster.sh start`)");
  }
  return { store, instances, pgDir };
}

export const PG_CLUSTER = path.join(ROOT, "tests", "support", "pg_cluster.sh");

// Runs `pg_cluster.sh <args>` and returns its standard output, trimmed.
export function pgCluster(...args) {
  try {
    return execFileSync("bash", [PG_CLUSTER, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (err) {
    throw new Error(`pg_cluster.sh ${args.join(" ")} failed: ${err.stderr || err.message}`);
  }
}

// Creates a fresh database `name` in the cluster of `pgDir`; returns its libpq conninfo.
export function pgCreateDb(pgDir, name) {
  const conninfo = pgCluster("createdb", pgDir, name);
  if (!/dbname=/.test(conninfo)) throw new Error(`pg_cluster.sh createdb printed no conninfo: ${conninfo}`);
  return conninfo;
}

// Runs one SQL text with psql as the cluster's superuser on the database of `conninfo`
// (tuples only, unaligned); returns the output, trimmed. Throws with psql's message on error.
export function psql(conninfo, sql) {
  const args = ["-u", "postgres", "--", "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql];
  try {
    return execFileSync("runuser", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (err) {
    throw new Error(`psql ${JSON.stringify(sql)} failed: ${err.stderr || err.message}`);
  }
}

// The database of data folder `dir` on store_pg: created on first use and remembered in
// `dir/pg.conninfo`, so a server restarted on the same folder finds the same data.
export function pgDatabaseOf(pgDir, dir) {
  const file = path.join(dir, "pg.conninfo");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const name = `e2e_${path.basename(dir).replace(/[^A-Za-z0-9]/g, "_").toLowerCase()}_${randomAlnum(6).toLowerCase()}`;
  const conninfo = pgCreateDb(pgDir, name);
  fs.writeFileSync(file, conninfo + "\n");
  return conninfo;
}

// Points parsed INI `sections` at the store of `mode` for data folder `dir`: store_sqlite with
// dir/nettu.db, or store_pg with the folder's database (the [store_sqlite] section dropped, as
// a section of a plugin that is not loaded is an error). Returns the load list to use.
export function applyStore(sections, plugins, dir, mode = e2eMode()) {
  if (mode.store === "sqlite") {
    setIni(sections, "store_sqlite", "path", path.join(dir, "nettu.db"));
    return plugins;
  }
  const i = sections.findIndex((s) => s.name === "store_sqlite");
  if (i >= 0) sections.splice(i, 1);
  setIni(sections, "services", "store", "pg");
  setIni(sections, "store_pg", "conninfo", pgDatabaseOf(mode.pgDir, dir));
  return plugins.map((p) => (p === "store_sqlite" ? "store_pg" : p));
}

/* ------------------------------------------------------------------------------------------
 * A round-robin HTTP proxy in front of several instances: loopback only, each request goes to
 * the next instance (not each connection: a keep-alive client would otherwise stay on one).
 * Requests and answers are streamed both ways with their raw headers, the request's headers
 * are sent at once (an instance may answer, e.g. 413, before the body), and a client that
 * hangs up aborts the request upstream, as it would on a direct connection.
 */

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade"]);

// Pairs [name, value] of raw headers without hop-by-hop ones (the proxy keeps its own
// connections); `close` is true when the message asked to close the connection.
function forwardable(raw) {
  const out = [];
  let close = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === "connection" && /\bclose\b/i.test(raw[i + 1])) close = true;
    if (!HOP_BY_HOP.has(name)) out.push(raw[i], raw[i + 1]);
  }
  return { headers: out, close };
}

// Starts the proxy for instances on 127.0.0.1 `ports`. Returns {port, requests (per instance,
// counted), close()}.
export function startProxy(ports) {
  // Idle upstream connections are dropped after 10 s, well before an instance closes them
  // ([server] read_timeout_s, 30 s), so a request never goes out on a connection that the
  // instance is closing at that moment.
  const agents = ports.map(() => new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 10000 }));
  const requests = ports.map(() => 0);
  let next = 0;
  const server = http.createServer({ maxHeaderSize: 1 << 20, requireHostHeader: false }, (req, res) => {
    const i = next++ % ports.length;
    requests[i]++;
    const fwd = forwardable(req.rawHeaders);
    const up = http.request({
      host: "127.0.0.1",
      port: ports[i],
      method: req.method,
      path: req.url,
      headers: fwd.headers,
      agent: agents[i],
      setHost: false,
    });
    let answered = false;
    up.on("response", (upRes) => {
      answered = true;
      const back = forwardable(upRes.rawHeaders);
      if (back.close || fwd.close) back.headers.push("Connection", "close");
      res.writeHead(upRes.statusCode, upRes.statusMessage, back.headers);
      upRes.pipe(res);
      upRes.on("error", () => res.destroy());
    });
    up.on("error", (err) => {
      if (answered || res.headersSent) {
        res.destroy();
        return;
      }
      answered = true;
      const body = JSON.stringify({ error: "bad_gateway", message: `proxy: instance ${i} (port ${ports[i]}): ${err.message}` });
      res.writeHead(502, { "content-type": "application/json", connection: "close" });
      res.end(body);
    });
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    up.flushHeaders();
    req.pipe(up);
  });
  // Clients' idle connections are kept as long as an instance keeps them (30 s), not Node's
  // 5 s: a client (Node's agents keep idle sockets for 4-5 s) could otherwise send a request
  // just as the proxy closes the connection, and get ECONNRESET.
  server.keepAliveTimeout = 30000;
  server.headersTimeout = 35000;
  server.on("clientError", (err, sock) => {
    if (sock.writable) sock.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else sock.destroy();
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: server.address().port,
        requests,
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            server.closeAllConnections();
            for (const a of agents) a.destroy();
          }),
      });
    });
  });
}
