// Starts the real nettu server for the browser test: a private INI file (etc/nettu.ini with the
// listen address, a free port, the plugin folder, a temporary SQLite database, the account
// secret and a default API key replaced) in a temporary folder, then waits for GET /api/v1/.
//
// Environment:
//   NETTU_SERVER           server binary (default ../../build/nettu-server from this folder)
//   NETTU_PLUGIN_DIR       plugin folder (default ../../build/plugins)
//   NETTU_BROWSER_PLUGINS  comma-separated [plugins] load list replacing the default one
//   NETTU_BROWSER_KEEP=1   keep the temporary folder (INI, database, server log) after stop()

import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import {
  ROOT,
  formatIni,
  freePort,
  logTail,
  parseIni,
  randomAlnum,
  setIni,
  spawnAndWait,
} from "../support/server.mjs";

export { ROOT, freePort, randomAlnum };

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const DEFAULT_PLUGINS = ["store_sqlite", "auth_nettu", "policy", "account", "user", "calendar", "events"];

/**
 * Starts one server (`plugins`: the [plugins] load list, default DEFAULT_PLUGINS; the
 * NETTU_BROWSER_PLUGINS variable overrides both). Returns {origin, baseUrl, port, apiKey, logPath, log(), stop()}.
 * stop() sends SIGTERM, waits (SIGKILL after 10 s) and removes the temporary folder; it
 * resolves with {code, signal}.
 */
export async function startNettu({ timeoutMs = 10000, plugins: wanted = null } = {}) {
  const bin = path.resolve(HERE, process.env.NETTU_SERVER || "../../build/nettu-server");
  const pluginDir = path.resolve(HERE, process.env.NETTU_PLUGIN_DIR || "../../build/plugins");
  if (!fs.existsSync(bin)) throw new Error(`server binary not found: ${bin} (build it, or set NETTU_SERVER)`);
  if (!fs.existsSync(pluginDir)) {
    throw new Error(`plugin folder not found: ${pluginDir} (build it, or set NETTU_PLUGIN_DIR)`);
  }
  const plugins = process.env.NETTU_BROWSER_PLUGINS
    ? process.env.NETTU_BROWSER_PLUGINS.split(",").map((s) => s.trim())
    : wanted || DEFAULT_PLUGINS;
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
