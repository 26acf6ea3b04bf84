// `--check-config` catches the ten typical configuration mistakes, each with a message that
// names the file and line (or the variable), the key and the fix, and exits 1; a good file
// passes without touching the database or printing anything a running server would (the
// generated account secret). Runs the real server binary; no server is started.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const E2E = path.resolve(HERE, "..", "e2e");
const SERVER = path.resolve(E2E, process.env.NETTU_SERVER || "../../build/nettu-server");
const PLUGIN_DIR = path.resolve(E2E, process.env.NETTU_PLUGIN_DIR || "../../build/plugins");
const ACCOUNT = "0b6a4fd4-1c5e-4c8e-9a57-3f2d2b1f8e01";

let dir;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nettu-check-"));
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// The environment without the variables of the test runner (NETTU_SERVER, PORT ...).
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith("NETTU_") && k !== "PORT" && !k.startsWith("ACCOUNT_") && k !== "CREATE_ACCOUNT_SECRET_CODE")
      env[k] = v;
  return { ...env, ...extra };
}

let n = 0;

// Writes the INI text (a template of lines) and runs --check-config on it.
function check(lines, env = {}) {
  const file = path.join(dir, `t${++n}.ini`);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const r = spawnSync(SERVER, ["-c", file, "--check-config"], { env: cleanEnv(env), encoding: "utf8" });
  return { file, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A complete, valid configuration whose database lives in the test's directory.
function good(db = path.join(dir, "db", "nettu.db")) {
  return [
    "[server]",
    "port = 5000",
    "log_level = info",
    "[plugins]",
    `dir = ${PLUGIN_DIR}`,
    "load = store_sqlite, auth_nettu, policy, account, user, calendar",
    "[store_sqlite]",
    `path = ${db}`,
  ];
}

// Asserts a failed check whose errors match every pattern.
function assertRefused(r, ...patterns) {
  assert.equal(r.status, 1, `exit 1 expected; stdout ${r.stdout}; stderr ${r.stderr}`);
  assert.doesNotMatch(r.stdout, /OK/);
  for (const p of patterns) assert.match(r.stderr, p);
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("a good file passes, opens no database, prints no secret", () => {
  const db = path.join(dir, "good", "nettu.db");
  const r = check(good(db));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /: OK \(6 plugins, \d+ routes\)/);
  assert.doesNotMatch(r.stdout + r.stderr, /secret/i);
  assert.equal(fs.existsSync(path.dirname(db)), false, "the database directory is not created");
});

test("1. a typo in a key: file, line, key and did you mean", () => {
  const r = check([...good(), "synchronus = full"]);
  assertRefused(r, new RegExp(`${esc(r.file)}:9: \\[store_sqlite\\] synchronus: unknown key \\(did you mean synchronous\\?\\)`));
});

test("2. an unknown section: file, line and did you mean", () => {
  const r = check([...good(), "[store_sqllite]", "path = /tmp/other.db"]);
  assertRefused(r, new RegExp(`${esc(r.file)}:9: \\[store_sqllite\\]: unknown section \\(did you mean \\[store_sqlite\\]\\?\\)`));
});

test("3. a bad port, in the file and in PORT", () => {
  const lines = good();
  lines[1] = "port = 99999";
  const r = check(lines);
  assertRefused(r, new RegExp(`${esc(r.file)}:2: \\[server\\] port: expected an integer from 1 to 65535, got '99999'`));
  const e = check(good(), { PORT: "abc" });
  assertRefused(e, /environment PORT: \[server\] port: expected an integer from 1 to 65535, got 'abc'/);
});

test("4. a missing plugin: the load line, the absolute path tried, the plugins there", () => {
  const lines = good();
  lines[5] = "load = store_sqlite, auth_nettu, policy, account, usr, calendar";
  const r = check(lines);
  assertRefused(
    r,
    new RegExp(`${esc(r.file)}:6: \\[plugins\\] load: plugin 'usr': ${esc(PLUGIN_DIR)}/usr\\.so does not exist \\(did you mean user\\?\\); plugins in ${esc(PLUGIN_DIR)}: .*\\buser\\b`),
  );
  assert.doesNotMatch(r.stderr, /needs the users service/, "no follow-on error");
});

test("5. a wrong plugin directory: the dir line, the absolute path and where plugins are", () => {
  const lines = good();
  lines[4] = "dir = build/plugin";
  const r = check(lines);
  assertRefused(
    r,
    new RegExp(`${esc(r.file)}:5: \\[plugins\\] dir: ${esc(path.resolve("build/plugin"))} is not a directory; set dir to the folder that holds the plugins' \\.so files`),
  );
});

test("6. two authenticators and no choice: the candidates and the [services] line", () => {
  const jwks = path.join(dir, "jwks.json");
  fs.writeFileSync(jwks, JSON.stringify({ keys: [makeJwk()] }));
  const lines = good();
  lines[5] = "load = store_sqlite, auth_nettu, auth_jwks, policy, account, user";
  const r = check([...lines, "[auth_jwks]", `account_id = ${ACCOUNT}`, `jwks_file = ${jwks}`]);
  assertRefused(
    r,
    /\[services\] authenticator: .* 2 plugins provide it: nettu \(plugin auth_nettu\), jwks \(plugin auth_jwks\); choose one with the line 'authenticator = nettu' under \[services\]/,
  );
  const fixed = check([...lines, "[services]", "authenticator = jwks", "[auth_jwks]", `account_id = ${ACCOUNT}`, `jwks_file = ${jwks}`]);
  assert.equal(fixed.status, 0, fixed.stderr);
});

test("7. an unusable database directory: the path line, the directory and why", () => {
  const file = path.join(dir, "not-a-dir");
  fs.writeFileSync(file, "");
  const r = check(good(path.join(file, "nettu.db")));
  assertRefused(
    r,
    new RegExp(`${esc(r.file)}:8: \\[store_sqlite\\] path: ${esc(file)}/nettu\\.db: ${esc(file)} is not a directory`),
  );
  if (process.getuid && process.getuid() !== 0) {
    const ro = path.join(dir, "read-only");
    fs.mkdirSync(ro, { mode: 0o500 });
    const r2 = check(good(path.join(ro, "sub", "nettu.db")));
    assertRefused(r2, new RegExp(`\\[store_sqlite\\] path: .*directory ${esc(ro)} is not writable by this user`));
  }
});

test("8. a bad log level: the line, the levels and did you mean", () => {
  const lines = good();
  lines[2] = "log_level = debgu";
  const r = check(lines);
  assertRefused(r, new RegExp(`${esc(r.file)}:3: \\[server\\] log_level: expected error, warn, info or debug, got 'debgu' \\(did you mean debug\\?\\)`));
});

test("9. a bad environment value, and a typo in a variable's key", () => {
  const r = check(good(), { NETTU_STORE_SQLITE_SYNCHRONOUS: "fast" });
  assertRefused(r, /environment NETTU_STORE_SQLITE_SYNCHRONOUS: \[store_sqlite\] synchronous: expected normal, full or off, got 'fast'/);
  assert.doesNotMatch(r.stderr, /init failed|\.so/, "names the variable, not the plugin file");
  const t = check(good(), { NETTU_STORE_SQLITE_SYNCHRONUS: "full" });
  assertRefused(t, /environment NETTU_STORE_SQLITE_SYNCHRONUS: \[store_sqlite\] has no such key \(did you mean NETTU_STORE_SQLITE_SYNCHRONOUS/);
  const w = check(good(), { NETTU_STORAGE_PATH: "/tmp/x.db" });
  assert.equal(w.status, 0, w.stderr);
  assert.match(w.stderr, /WARN environment NETTU_STORAGE_PATH: names no section/);
});

test("10. a duplicate key: both lines and the fix", () => {
  const r = check([...good(), "path = /tmp/second.db"]);
  assertRefused(r, new RegExp(`${esc(r.file)}:9: \\[store_sqlite\\] path: key given twice \\(first on line 8\\); keep one of the two lines`));
});

test("a missing service a plugin declared: the plugin and what to load", () => {
  const lines = good();
  lines[5] = "load = store_sqlite, auth_nettu, policy, account, calendar";
  const r = check(lines);
  assertRefused(r, /plugin auth_nettu needs the users service \(v1 or later\) and no loaded plugin provides it: add user to \[plugins\] load/);
});

test("auth_jwks: a missing or empty key file fails the check, naming the key's line", () => {
  const lines = good();
  lines[5] = "load = store_sqlite, auth_jwks, policy, account, user";
  const missing = path.join(dir, "none.json");
  const r = check([...lines, "[auth_jwks]", `account_id = ${ACCOUNT}`, `jwks_file = ${missing}`]);
  assertRefused(r, new RegExp(`${esc(r.file)}:11: \\[auth_jwks\\] jwks_file: ${esc(missing)}: No such file or directory`));
  const empty = path.join(dir, "empty.json");
  fs.writeFileSync(empty, "");
  const e = check([...lines, "[auth_jwks]", `account_id = ${ACCOUNT}`, `jwks_file = ${empty}`]);
  assertRefused(e, new RegExp(`${esc(e.file)}:11: \\[auth_jwks\\] jwks_file: .*expected a JWKS file`));
});

test("listen = localhost is accepted", () => {
  const lines = good();
  lines[1] = "listen = localhost";
  const r = check(lines);
  assert.equal(r.status, 0, r.stderr);
});

// A public RSA JWK (RS256) for the auth_jwks key file.
function makeJwk() {
  const { publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" };
}
