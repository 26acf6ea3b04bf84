// Starting the real nettu server from node tests, with node's own modules only (no npm
// packages): INI editing, free ports, random secrets, spawning and waiting for health. Used by
// the end-to-end harness (tests/e2e/harness.mjs) and the browser test's launcher.

import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
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
