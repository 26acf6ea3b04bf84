// Hardening: secrets never reach the log, and plugins come only from where they should.
//
// 1. A full scenario with the published client (@nettu/sdk-scheduler 0.3.5) and raw requests,
//    at log_level = debug with the access log on: account creation with the secret code,
//    API keys (right, wrong and mistyped), the webhook key, a public key upload, end-user
//    tokens (valid, policy-denied, expired, badly signed, for an unknown user), credentials
//    in query strings, and storage failures (503, which the server logs as errors). Then
//    the whole server log (stderr and stdout) must contain none of: any API key, the
//    account-creation secret (configured explicitly: the server logs it only when it was
//    generated), the webhook key, any token or token signature, the private key, and no
//    "authorization" or "Bearer " text at all.
//    A second server without a configured secret must log the generated one, and it
//    must work: this proves the log is really read.
// 2. Plugin loading: a `load` entry with '/' or '..' (or anything but a-z, 0-9, _) is a
//    config error; plugins are loaded only from [plugins] dir; a world-writable plugin file
//    (or a symlink to one) is refused by --check-config, naming the file.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { NettuClient, NettuUserClient, config, randomAlnum, rawJwt, rs256, rsaKeyPair, userToken } from "../e2e/harness.mjs";
import { PLUGINS, PLUGIN_DIR, buildRequest, checkConfig, launch, newApiKey, rawRequest, removeDir, sleep, tempDir, writeIni } from "./lib.mjs";

const START = Date.UTC(2033, 0, 3, 9);
const HOUR = 3_600_000;

// The parts of a JWT worth searching for: the whole token and its signature.
const tokenParts = (t) => [t, t.split(".")[2]].filter((s) => s && s.length >= 16);

test("no API key, secret code, webhook key, token or Authorization header value appears in the log", async () => {
  const dir = await tempDir("secrets");
  const faultFile = path.join(dir, "fault");
  const secret = randomAlnum(24);
  const apiKey = newApiKey();
  const srv = await launch({ dir, apiKey, secret, ini: { server: { log_level: "debug", access_log: "on" }, store_sqlite: { fault_file: faultFile } } });
  const secrets = new Map(); // value -> what it is
  const keep = (what, v) => {
    assert.ok(typeof v === "string" && v.length >= 8, `${what} is a secret worth looking for`);
    secrets.set(v, what);
  };
  keep("create_account_secret", secret);
  keep("default API key", apiKey);
  try {
    config.baseUrl = `http://127.0.0.1:${srv.port}/api/v1`;
    // Account creation with the code, a wrong code, and a near miss.
    const created = await NettuClient().account.create({ code: secret });
    assert.equal(created.status, 201, "account created with the secret code");
    const K2 = created.data.secretApiKey;
    keep("created API key", K2);
    for (const code of [`${secret}x`, secret.slice(0, -1), secret.toLowerCase() === secret ? secret.toUpperCase() : secret.toLowerCase()]) {
      keep("near-miss code", code);
      assert.equal((await NettuClient().account.create({ code })).status, 401);
    }
    const admin = NettuClient({ apiKey: K2 });
    const me = await admin.account.me();
    assert.equal(me.status, 200);
    const accountId = me.data.account.id;

    // Keys: upload, webhook (its key is a secret too).
    const keys = rsaKeyPair();
    keep("private key body", keys.privateKey.split("\n")[5]);
    assert.equal((await admin.account.setPublicSigningKey(keys.publicKey)).status, 200);
    const hook = await admin.account.setWebhook("https://93.184.215.14/hook");
    assert.equal(hook.status, 200);
    keep("webhook key", hook.data.account.settings.webhook.key);

    // Wrong and mistyped API keys.
    const wrong = newApiKey();
    const typo = `${K2.slice(0, -1)}${K2.endsWith("a") ? "b" : "a"}`;
    keep("unknown API key", wrong);
    keep("mistyped API key", typo);
    keep("lower-cased API key", K2.toLowerCase());
    for (const k of [wrong, typo, K2.toLowerCase()]) {
      assert.equal((await NettuClient({ apiKey: k }).account.me()).status, 401);
    }

    // Users, calendars, events through the admin client.
    const user = (await admin.user.create({ metadata: { name: "secret-test" } })).data.user;
    const cal = (await admin.calendar.create(user.id, { timezone: "Europe/Oslo" })).data.calendar;
    const ev = await admin.events.create(user.id, { calendarId: cal.id, startTs: START, duration: HOUR, busy: true });
    assert.equal(ev.status, 201);
    assert.equal((await admin.user.freebusy(user.id, { startTs: START - HOUR, endTs: START + 5 * HOUR, calendarIds: [cal.id] })).status, 200);

    // End-user tokens: allowed, default policy (denied writes), expired, bad signature,
    // unknown user, and one signed with another key.
    const allowAll = userToken(keys.privateKey, user.id, { allow: ["*"] });
    const readOnly = userToken(keys.privateKey, user.id);
    const now = Math.floor(Date.now() / 1000);
    const expired = rawJwt({ alg: "RS256", typ: "JWT" }, { nettuSchedulerUserId: user.id, iat: now - 7200, exp: now - 3600 }, rs256(keys.privateKey));
    const badSig = `${allowAll.slice(0, -6)}AAAAAA`;
    const stranger = userToken(keys.privateKey, crypto.randomUUID(), { allow: ["*"] });
    const otherKey = userToken(rsaKeyPair().privateKey, user.id, { allow: ["*"] });
    for (const [what, t] of Object.entries({ allowAll, readOnly, expired, badSig, stranger, otherKey })) {
      for (const p of tokenParts(t)) keep(`token ${what}`, p);
    }
    const uc = NettuUserClient({ token: allowAll, nettuAccount: accountId });
    const ucal = await uc.calendar.create({ timezone: "UTC" });
    assert.equal(ucal.status, 201);
    assert.equal((await uc.events.create({ calendarId: ucal.data.calendar.id, startTs: START, duration: HOUR })).status, 201);
    assert.equal((await uc.user.me()).status, 200);
    assert.equal((await uc.calendar.getEvents(ucal.data.calendar.id, { startTs: START - HOUR, endTs: START + HOUR })).status, 200);
    assert.equal((await NettuUserClient({ token: readOnly, nettuAccount: accountId }).calendar.create({ timezone: "UTC" })).status, 401);
    for (const t of [expired, badSig, stranger, otherKey]) {
      assert.equal((await NettuUserClient({ token: t, nettuAccount: accountId }).user.me()).status, 401);
    }
    // Raw variants: lower-case scheme, extra spaces, a token without the scheme, a token
    // on an admin route, credentials in the query string, junk on the public health route.
    const raw = async (method, target, headers, body) => (await rawRequest(srv.port, buildRequest(method, target, headers, body))).status;
    assert.equal(await raw("GET", "/api/v1/me", [["nettu-account", accountId], ["authorization", `bearer   ${allowAll}  `]]), 200);
    assert.equal(await raw("GET", "/api/v1/me", [["nettu-account", accountId], ["Authorization", allowAll]]), 401);
    assert.equal(await raw("GET", "/api/v1/account", [["Authorization", `Bearer ${allowAll}`]]), 401);
    assert.equal(await raw("GET", `/api/v1/account?apiKey=${K2}&token=${allowAll}&code=${secret}`, [["x-api-key", K2]]), 200);
    assert.equal(await raw("GET", "/api/v1/", [["x-api-key", wrong], ["Authorization", `Bearer ${badSig}`], ["nettu-account", "junk"]]), 200);
    assert.equal(await raw("POST", "/api/v1/account", [["Content-Type", "application/json"]], JSON.stringify({ code: `${secret}x` })), 401);

    // Storage failures: the server logs 5xx answers as errors.
    fs.writeFileSync(faultFile, "readonly\n");
    await sleep(1100);
    assert.equal((await admin.user.create({ metadata: { a: "b" } })).status, 503);
    assert.equal((await uc.calendar.create({ timezone: "UTC" })).status, 503);
    assert.equal((await NettuClient().account.create({ code: secret })).status, 503);
    assert.equal((await admin.account.setWebhook("https://93.184.215.14/other")).status, 503);
    fs.rmSync(faultFile);
    await sleep(1100);
    assert.equal((await admin.user.remove(user.id)).status, 200);
  } finally {
    await srv.kill("SIGTERM");
  }
  assert.equal(srv.exited.code, 0, "clean exit");

  const log = fs.readFileSync(srv.logPath, "utf8");
  const lines = log.split("\n").length;
  assert.ok(/ACCESS /.test(log) && /ERROR /.test(log), "the log holds access lines and the 503 errors (so it was really written)");
  const leaks = [];
  for (const [value, what] of secrets) {
    const at = log.indexOf(value);
    if (at >= 0) leaks.push(`${what} appears in the log: ...${log.slice(Math.max(0, at - 60), at)}<${what}>...`);
  }
  for (const re of [/authorization/i, /bearer /i, /x-api-key:/i]) {
    const m = re.exec(log);
    if (m) leaks.push(`${re} appears in the log: ...${log.slice(Math.max(0, m.index - 60), m.index + 40)}...`);
  }
  console.log(`# searched ${lines} log lines for ${secrets.size} secret values and 3 header patterns: ${leaks.length} found`);
  assert.ok(leaks.length === 0, `secrets in the server log:\n  ${leaks.join("\n  ")}`);
  await removeDir(dir);
});

test("a generated account-creation secret is logged once at start, and it is the one that works", async () => {
  const srv = await launch({ secret: null });
  try {
    const m = /generated for this run: ([A-Za-z0-9]+)/.exec(srv.log());
    assert.ok(m, `the generated secret is logged:\n${srv.logTail(10)}`);
    const ok = await srv.request("POST", "/account", { body: { code: m[1] } });
    assert.equal(ok.status, 201, `the logged secret creates an account: ${ok.text}`);
    // The API key it answered and the default one are not logged.
    const log = srv.log();
    assert.ok(!log.includes(ok.json.secretApiKey), "the new API key is not logged");
    assert.ok(!log.includes(srv.apiKey), "the default API key is not logged");
    assert.equal(log.split(m[1]).length - 1, 1, "the secret is logged exactly once");
  } finally {
    await srv.stop();
  }
});

// An INI for --check-config: the full plugin list from `dir`, with `load` replaced.
function iniFor(dir, pluginDir, load) {
  const file = path.join(dir, `check-${crypto.randomUUID()}.ini`);
  writeIni(file, {
    server: { listen: "127.0.0.1", port: 5999 },
    plugins: { dir: pluginDir, load: load.join(", ") },
    store_sqlite: { path: path.join(dir, "never-opened.db") },
    account: { create_account_secret: "check-config-secret" },
  });
  return file;
}

test("plugin names with '/', '..' or other characters are config errors", async () => {
  const dir = await tempDir("plugnames");
  try {
    const good = checkConfig(iniFor(dir, PLUGIN_DIR, PLUGINS));
    assert.equal(good.status, 0, `the plain configuration passes: ${good.output}`);
    for (const bad of ["../user", "a/b", "..", "/etc/passwd", "user/../user", "./user", "user.so", "User", "us er", "user\\x", "%2e%2e"]) {
      const r = checkConfig(iniFor(dir, PLUGIN_DIR, ["store_sqlite", "auth_nettu", "policy", "account", bad]));
      assert.notEqual(r.status, 0, `load entry ${JSON.stringify(bad)} must be refused`);
      assert.ok(r.output.includes(bad) && /not a plugin name/.test(r.output), `the error names ${JSON.stringify(bad)}: ${r.output}`);
    }
    // Nothing outside the configured folder is loaded: with an empty folder every plugin
    // is missing, and the message names the configured path.
    const empty = path.join(dir, "empty");
    fs.mkdirSync(empty);
    const r = checkConfig(iniFor(dir, empty, PLUGINS));
    assert.notEqual(r.status, 0);
    assert.ok(r.output.includes(path.join(empty, "store_sqlite.so")), `the error names the configured folder: ${r.output}`);
  } finally {
    await removeDir(dir);
  }
});

test("a world-writable plugin file, or a symlink to one, is refused by --check-config, naming it", async () => {
  const dir = await tempDir("plugperm");
  try {
    const plugins = path.join(dir, "plugins");
    fs.mkdirSync(plugins, { mode: 0o755 });
    for (const p of PLUGINS) fs.copyFileSync(path.join(PLUGIN_DIR, `${p}.so`), path.join(plugins, `${p}.so`));
    for (const p of PLUGINS) fs.chmodSync(path.join(plugins, `${p}.so`), 0o755);
    const ini = iniFor(dir, plugins, PLUGINS);
    const ok = checkConfig(ini);
    assert.equal(ok.status, 0, `the copied plugins pass: ${ok.output}`);

    const target = path.join(plugins, "user.so");
    fs.chmodSync(target, 0o757);
    const ww = checkConfig(ini);
    assert.notEqual(ww.status, 0, "a world-writable plugin file must be refused");
    assert.ok(ww.output.includes(target) && /world-writable/.test(ww.output), `the error names ${target}: ${ww.output}`);
    fs.chmodSync(target, 0o755);

    // A symlink in the plugin folder to a world-writable file elsewhere.
    const elsewhere = path.join(dir, "elsewhere-calendar.so");
    fs.renameSync(path.join(plugins, "calendar.so"), elsewhere);
    fs.chmodSync(elsewhere, 0o777);
    fs.symlinkSync(elsewhere, path.join(plugins, "calendar.so"));
    const sl = checkConfig(ini);
    assert.notEqual(sl.status, 0, "a symlink to a world-writable plugin file must be refused");
    assert.ok(sl.output.includes("calendar.so") && /world-writable/.test(sl.output), `the error names calendar.so: ${sl.output}`);
    fs.chmodSync(elsewhere, 0o755);
    assert.equal(checkConfig(ini).status, 0, "fixed again, the configuration passes");
  } finally {
    await removeDir(dir);
  }
});
