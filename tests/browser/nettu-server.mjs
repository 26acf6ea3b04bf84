// Starts the real nettu server for the browser test: a private INI file (etc/nettu.ini with the
// listen address, a free port, the plugin folder, a temporary SQLite database, the account
// secret and a default API key replaced) in a temporary folder, then waits for GET /api/v1/.
//
// Environment:
//   NETTU_SERVER           server binary (default ../../build/nettu-server from this folder)
//   NETTU_PLUGIN_DIR       plugin folder (default ../../build/plugins)
//   NETTU_BROWSER_PLUGINS  comma-separated [plugins] load list replacing the default one
//   NETTU_BROWSER_KEEP=1   keep the temporary folder (INI, database, server log) after stop()

import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, "..", "..");

const DEFAULT_PLUGINS = ["store_sqlite", "auth_nettu", "policy", "account", "user", "calendar", "events"];

// A random string of n characters from A-Z a-z 0-9 (rejection sampling: no modulo bias).
export function randomAlnum(n) {
  const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  while (out.length < n) {
    for (const b of crypto.randomBytes(n)) {
      if (b < 248 && out.length < n) out += alnum[b % 62];
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

// Parses INI text into [{name, entries: [[key, value], ...]}], dropping comments.
function parseIni(text) {
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
function setIni(sections, section, key, value) {
  let s = sections.find((x) => x.name === section);
  if (!s) {
    s = { name: section, entries: [] };
    sections.push(s);
  }
  const e = s.entries.find(([k]) => k === key);
  if (e) e[1] = String(value);
  else s.entries.push([key, String(value)]);
}

function formatIni(sections) {
  return sections.map((s) => `[${s.name}]\n${s.entries.map(([k, v]) => `${k} = ${v}`).join("\n")}\n`).join("\n");
}

// The last n lines of the server log, for failure messages.
function logTail(file, n = 40) {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch (err) {
    return `(no log: ${err.message})`;
  }
}

// Our environment without variables the server would read as INI overrides
// (NETTU_<SECTION>_<KEY>, PORT) or as the original's default-account settings.
function childEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("NETTU_") || k === "PORT" || k.startsWith("ACCOUNT_")) continue;
    if (k === "CREATE_ACCOUNT_SECRET_CODE") continue;
    env[k] = v;
  }
  return env;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Spawns the server and resolves with {child, exit} once GET /api/v1/ answers 200; rejects
// (after killing it) with the log tail otherwise.
async function spawnAndWait(bin, iniPath, logPath, port, timeoutMs) {
  const logFd = fs.openSync(logPath, "a");
  const child = spawn(bin, ["-c", iniPath], {
    stdio: ["ignore", logFd, logFd],
    env: childEnv(),
    cwd: path.dirname(iniPath),
  });
  fs.closeSync(logFd);
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on("exit", (code, signal) => resolve((exited = { code, signal })));
    child.on("error", (error) => resolve((exited = { code: null, signal: null, error })));
  });
  const deadline = Date.now() + timeoutMs;
  let lastErr = "";
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/`, { signal: AbortSignal.timeout(1000) });
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

/**
 * Starts one server. Returns {origin, baseUrl, port, apiKey, logPath, log(), stop()}.
 * stop() sends SIGTERM, waits (SIGKILL after 10 s) and removes the temporary folder; it
 * resolves with {code, signal}.
 */
export async function startNettu({ timeoutMs = 10000 } = {}) {
  const bin = path.resolve(HERE, process.env.NETTU_SERVER || "../../build/nettu-server");
  const pluginDir = path.resolve(HERE, process.env.NETTU_PLUGIN_DIR || "../../build/plugins");
  if (!fs.existsSync(bin)) throw new Error(`server binary not found: ${bin} (build it, or set NETTU_SERVER)`);
  if (!fs.existsSync(pluginDir)) {
    throw new Error(`plugin folder not found: ${pluginDir} (build it, or set NETTU_PLUGIN_DIR)`);
  }
  const plugins = process.env.NETTU_BROWSER_PLUGINS
    ? process.env.NETTU_BROWSER_PLUGINS.split(",").map((s) => s.trim())
    : DEFAULT_PLUGINS;
  const tmpDir = await fsp.mkdtemp(path.join(os.tmpdir(), "nettu-browser-"));
  const apiKey = `sk_${randomAlnum(30)}`;
  const logPath = path.join(tmpDir, "server.log");
  const iniPath = path.join(tmpDir, "nettu.ini");

  let started = null;
  let port = 0;
  for (let attempt = 0; attempt < 3 && !started; attempt++) {
    port = await freePort();
    const sections = parseIni(fs.readFileSync(path.join(ROOT, "etc", "nettu.ini"), "utf8"));
    setIni(sections, "server", "listen", "127.0.0.1");
    setIni(sections, "server", "port", port);
    setIni(sections, "server", "workers", 2);
    setIni(sections, "server", "access_log", "on");
    setIni(sections, "plugins", "dir", pluginDir);
    setIni(sections, "plugins", "load", plugins.join(", "));
    setIni(sections, "store_sqlite", "path", path.join(tmpDir, "nettu.db"));
    setIni(sections, "account", "create_account_secret", randomAlnum(24));
    setIni(sections, "account", "default_api_key", apiKey);
    fs.writeFileSync(iniPath, formatIni(sections));
    try {
      started = await spawnAndWait(bin, iniPath, logPath, port, timeoutMs);
    } catch (err) {
      if (!err.addressInUse || attempt === 2) throw err;
    }
  }

  const origin = `http://127.0.0.1:${port}`;
  let stopped = null;
  async function stop() {
    if (stopped) return stopped;
    const { child, exit } = started;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 10000);
    stopped = await exit;
    clearTimeout(killer);
    const clean = stopped.code === 0 && stopped.signal === null;
    if (clean && !process.env.NETTU_BROWSER_KEEP) await fsp.rm(tmpDir, { recursive: true, force: true });
    return stopped;
  }
  return {
    origin,
    baseUrl: `${origin}/api/v1`,
    port,
    apiKey,
    tmpDir,
    logPath,
    log: () => fs.readFileSync(logPath, "utf8"),
    logTail: (n) => logTail(logPath, n),
    stop,
  };
}
