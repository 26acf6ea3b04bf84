// End-to-end tests of auth_jwks: the same end-user scenario with the published client under
// auth_nettu (account public key, nettuSchedulerUserId) and under auth_jwks (keys from a JWKS
// file, RS256 and ES256 tokens with kid, user claim `sub`), then a SIGHUP key rotation.
// Servers are started by ../e2e/harness.mjs (read-only here) with their own plugin list and
// INI sections; its npm packages (jsonwebtoken, @nettu/sdk-scheduler) come from ../e2e.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  NettuClient,
  NettuUserClient,
  Permissions,
  assertError,
  assertOk,
  config,
  jwt,
  rsaKeyPair,
  startServer,
} from "../e2e/harness.mjs";

// Plugin lists (the scenario needs no events plugin): auth_nettu alone, auth_jwks next to
// auth_nettu (the [services] line chooses), or auth_jwks alone.
const withAuth = (...auth) => ["store_sqlite", ...auth, "policy", "account", "user", "calendar"];
const NETTU_ONLY = withAuth("auth_nettu");
const WITH_BOTH = withAuth("auth_nettu", "auth_jwks");
const JWKS_ONLY = withAuth("auth_jwks");

// The end-user policy of the scenario: everything but deleting calendars.
const POLICY = { allow: [Permissions.All], reject: [Permissions.DeleteCalendar] };
const FAR_EXP = 5609418990073;
const nowS = () => Math.floor(Date.now() / 1000);

/* ---- keys, key files, tokens ---------------------------------------------------------------- */

// A fresh P-256 key pair as PEM: {publicKey (spki), privateKey (pkcs8)}.
function ecKeyPair() {
  return crypto.generateKeyPairSync("ec", {
    namedCurve: "P-256",
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

// The public JWK of a PEM public key, with its kid.
function jwkOf(publicKeyPem, kid) {
  return { ...crypto.createPublicKey(publicKeyPem).export({ format: "jwk" }), kid, use: "sig" };
}

// Replaces the key file atomically (write a temporary file, then rename it over).
function writeJwks(file, text) {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, typeof text === "string" ? text : JSON.stringify(text));
  fs.renameSync(tmp, file);
}

// Signs `claims` with jsonwebtoken; a kid of null or undefined leaves it out of the header.
function sign(privateKey, algorithm, claims, kid) {
  return jwt.sign(claims, privateKey, kid == null ? { algorithm } : { algorithm, keyid: kid });
}

// The pid of the server of `srv`: the process whose command line names its INI file.
function serverPid(srv) {
  const ini = path.join(srv.tmpDir, "nettu.ini");
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // exited meanwhile
    }
    if (argv.includes("-c") && argv.includes(ini)) return Number(entry);
  }
  throw new Error(`no process runs with ${ini}`);
}

// Polls `probe` (an async function returning true when done) every 50 ms for up to 5 s.
async function eventually(what, probe) {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within 5 s: ${what}`);
}

// GET /me with a token and an optional nettu-account header.
function me(srv, token, account) {
  const headers = { authorization: `Bearer ${token}` };
  if (account !== undefined) headers["nettu-account"] = account;
  return srv.request("GET", "/me", { headers });
}

// Starts a server whose authenticator is auth_jwks ([services] authenticator = jwks, user
// claim sub) for a new account, with `keys` (JWKs) in a new key file, and creates a user of
// that account. Returns {srv, account, file, userId, stop}; stop() also removes the file.
async function startJwks(plugins, keys) {
  const account = crypto.randomUUID();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nettu-jwks-"));
  const file = path.join(dir, "jwks.json");
  writeJwks(file, { keys });
  let srv;
  try {
    srv = await startServer({
      plugins,
      ini: {
        services: { authenticator: "jwks" },
        account: { default_account_id: account },
        auth_jwks: { jwks_file: file, account_id: account, user_claim: "sub" },
      },
    });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  config.baseUrl = srv.baseUrl;
  const userId = assertOk(await NettuClient({ apiKey: srv.apiKey }).user.create(), 201).user.id;
  const stop = async () => {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { srv, account, file, userId, stop };
}

/* ---- the shared user scenario ---------------------------------------------------------------
 * tokens: {good (POLICY), foreign (signed by a key the server does not trust), expired}. */
async function userScenario(srv, accountId, userId, tokens) {
  config.baseUrl = srv.baseUrl;
  const user = NettuUserClient({ token: tokens.good, nettuAccount: accountId });

  const meBody = assertOk(await user.user.me(), 200, "GET /me");
  assert.equal(meBody.user.id, userId);

  const created = assertOk(await user.calendar.create({ timezone: "UTC" }), 201, "create calendar");
  assert.equal(created.calendar.userId, userId);
  const calendarId = created.calendar.id;

  assertError(await user.calendar.remove(calendarId), 401, "delete denied by the policy");

  const got = assertOk(await user.calendar.findById(calendarId), 200, "get calendar");
  assert.deepEqual(got.calendar, created.calendar);

  const foreign = NettuUserClient({ token: tokens.foreign, nettuAccount: accountId });
  assertError(await foreign.user.me(), 401, "token signed by an untrusted key");
  const expired = NettuUserClient({ token: tokens.expired, nettuAccount: accountId });
  assertError(await expired.user.me(), 401, "expired token");
}

/* ---- auth_nettu --------------------------------------------------------------------------- */

describe("auth_nettu (the default authenticator)", () => {
  let srv;
  const key = rsaKeyPair();

  before(async () => {
    srv = await startServer({ plugins: NETTU_ONLY });
  });
  after(async () => {
    if (srv) await srv.stop();
  });

  test("user scenario with RS256 tokens and the account's public key", async () => {
    config.baseUrl = srv.baseUrl;
    const admin = NettuClient({ apiKey: srv.apiKey });
    assertOk(await admin.account.setPublicSigningKey(key.publicKey));
    const accountId = assertOk(await admin.account.me()).account.id;
    const userId = assertOk(await admin.user.create(), 201).user.id;
    const claims = (extra) => ({ nettuSchedulerUserId: userId, exp: FAR_EXP, ...extra });
    await userScenario(srv, accountId, userId, {
      good: sign(key.privateKey, "RS256", claims({ schedulerPolicy: POLICY })),
      foreign: sign(rsaKeyPair().privateKey, "RS256", claims({ schedulerPolicy: POLICY })),
      expired: sign(key.privateKey, "RS256", claims({ exp: nowS() - 60 })),
    });
  });
});

/* ---- auth_jwks ----------------------------------------------------------------------------- */

describe("auth_jwks beside auth_nettu ([services] authenticator = jwks), user claim sub", () => {
  const OTHER_ACCOUNT = crypto.randomUUID();
  const rsa = rsaKeyPair();
  const ec = ecKeyPair();
  let jw;
  let srv;
  let accountId;
  let userId;

  before(async () => {
    jw = await startJwks(WITH_BOTH, [jwkOf(rsa.publicKey, "rsa-1"), jwkOf(ec.publicKey, "ec-1")]);
    ({ srv, account: accountId, userId } = jw);
  });
  after(async () => {
    if (jw) await jw.stop();
  });

  const claims = (extra) => ({ sub: userId, exp: FAR_EXP, ...extra });

  test("admin authentication (x-api-key) works as with auth_nettu", async () => {
    config.baseUrl = srv.baseUrl;
    const account = assertOk(await NettuClient({ apiKey: srv.apiKey }).account.me()).account;
    assert.equal(account.id, accountId);
    assertError(await NettuClient({ apiKey: `sk_${"x".repeat(30)}` }).account.me(), 401);
  });

  test("user scenario with RS256 tokens (kid rsa-1)", async () => {
    await userScenario(srv, accountId, userId, {
      good: sign(rsa.privateKey, "RS256", claims({ schedulerPolicy: POLICY }), "rsa-1"),
      foreign: sign(rsaKeyPair().privateKey, "RS256", claims({ schedulerPolicy: POLICY }), "rsa-1"),
      expired: sign(rsa.privateKey, "RS256", claims({ exp: nowS() - 60 }), "rsa-1"),
    });
  });

  test("user scenario with ES256 tokens (kid ec-1)", async () => {
    await userScenario(srv, accountId, userId, {
      good: sign(ec.privateKey, "ES256", claims({ schedulerPolicy: POLICY }), "ec-1"),
      foreign: sign(ecKeyPair().privateKey, "ES256", claims({ schedulerPolicy: POLICY }), "ec-1"),
      expired: sign(ec.privateKey, "ES256", claims({ exp: nowS() - 60 }), "ec-1"),
    });
  });

  test("nettu-account may be absent or the configured account; another one is 401", async () => {
    const token = sign(ec.privateKey, "ES256", claims(), "ec-1");
    assert.equal(assertOk(await me(srv, token)).user.id, userId);
    assertOk(await me(srv, token, accountId.toUpperCase()));
    assertError(await me(srv, token, OTHER_ACCOUNT), 401, "another account");
    assertError(await me(srv, token, "not-a-uuid"), 401, "malformed account");
  });

  test("kid, alg and claims are enforced (401)", async () => {
    const rs = (c, kid = "rsa-1", alg = "RS256") => sign(rsa.privateKey, alg, c, kid);
    const cases = {
      "unknown kid": rs(claims(), "rsa-9"),
      "kid of a key of the other type": rs(claims(), "ec-1"),
      "RS512 by the right key": rs(claims(), "rsa-1", "RS512"),
      HS256: jwt.sign(claims(), "secret", { algorithm: "HS256", keyid: "rsa-1" }),
      "user in nettuSchedulerUserId, not sub": rs({ nettuSchedulerUserId: userId, exp: FAR_EXP }),
      "sub names no user of the account": rs(claims({ sub: crypto.randomUUID() })),
      "nbf in the future": rs(claims({ nbf: nowS() + 3600 })),
      "no exp": rs({ sub: userId }),
    };
    for (const [what, token] of Object.entries(cases)) {
      assertError(await me(srv, token, accountId), 401, what);
    }
    // without kid, the only key of the alg's type is used
    assertOk(await me(srv, rs(claims(), null), accountId), 200, "RS256 without kid");
    const es = sign(ec.privateKey, "ES256", claims());
    assertOk(await me(srv, es, accountId), 200, "ES256 without kid");
  });
});

/* ---- SIGHUP reload ------------------------------------------------------------------------- */

describe("auth_jwks alone: SIGHUP reloads the key file", () => {
  const oldKey = rsaKeyPair();
  const newKey = ecKeyPair();
  let jw;
  let srv;
  let accountId;
  let userId;
  let file;

  before(async () => {
    jw = await startJwks(JWKS_ONLY, [jwkOf(oldKey.publicKey, "old")]);
    ({ srv, account: accountId, userId, file } = jw);
  });
  after(async () => {
    if (jw) await jw.stop();
  });

  test("old-key tokens stop and new-key tokens work after the file changes and SIGHUP", async () => {
    const claims = { sub: userId, exp: FAR_EXP };
    const oldToken = sign(oldKey.privateKey, "RS256", claims, "old");
    const newToken = sign(newKey.privateKey, "ES256", claims, "new");
    assertOk(await me(srv, oldToken, accountId), 200, "old key before the reload");
    assertOk(await me(srv, oldToken, accountId), 200, "old key again (cached)");
    assertError(await me(srv, newToken, accountId), 401, "new key before the reload");

    writeJwks(file, { keys: [jwkOf(newKey.publicKey, "new")] });
    process.kill(serverPid(srv), "SIGHUP");
    const newWorks = async () => (await me(srv, newToken, accountId)).status === 200;
    await eventually("the new key is accepted", newWorks);
    assertError(await me(srv, oldToken, accountId), 401, "old key after the reload");
  });

  test("a broken file is refused on SIGHUP: the keys in use stay, with a WARN in the log", async () => {
    const newToken = sign(newKey.privateKey, "ES256", { sub: userId, exp: FAR_EXP }, "new");
    writeJwks(file, '{"keys": [{"kty": "RSA", "kid": "new", "n": "AQAB", "e": "AQAB"}]}');
    process.kill(serverPid(srv), "SIGHUP");
    await eventually("the failed reload is logged", async () =>
      /WARN.*reload failed, keeping the previous keys: keys\[0\]: the RSA modulus must have 2048 to 8192 bits \(kid "new"\)/.test(srv.logTail(20)),
    );
    assertOk(await me(srv, newToken, accountId), 200, "the previous keys still verify");
    assert.doesNotMatch(srv.logTail(200), /eyJ/, "no token in the log");
  });
});
