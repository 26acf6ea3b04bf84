// The documented JWT flow (README "End-user tokens") step by step with the published
// client, then end-user authentication attacks: each must answer 401.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, test } from "node:test";
import {
  NettuClient,
  NettuUserClient,
  Permissions,
  assertError,
  assertOk,
  config,
  jwt,
  rawJwt,
  rs256,
  rsaKeyPair,
  startServer,
  userToken,
} from "./harness.mjs";

let srv;
const PRIV = rsaKeyPair(); // the account's signing key pair ("PRIV_KEY" in the example)

before(async () => {
  srv = await startServer();
});

after(async () => {
  if (srv) await srv.stop();
});

/* ---- the documented flow ---------------------------------------------------------------------
 * Shared state of the steps below (they run in order). */
const flow = {};

test("seed step 1: NettuClient({apiKey}) uploads the public key", async () => {
  config.baseUrl = srv.baseUrl;
  flow.client = NettuClient({ apiKey: srv.apiKey });
  const res = await flow.client.account.setPublicSigningKey(PRIV.publicKey);
  assert.equal(res.status, 200);
  assert.equal(res.data.account.publicJwtKey, PRIV.publicKey);
});

test("seed step 2: client.user.create() gives the scheduler user id", async () => {
  const userRes = await flow.client.user.create();
  assert.equal(userRes.status, 201);
  flow.schedulerUserId = userRes.data.user.id;
  assert.ok(flow.schedulerUserId);
});

test("seed step 3: jwt.sign RS256 with the documented claims", async () => {
  flow.token = jwt.sign(
    {
      nettuSchedulerUserId: flow.schedulerUserId,
      exp: 5609418990073,
      iat: 19,
      schedulerPolicy: {
        allow: [Permissions.All],
        reject: [Permissions.DeleteCalendar],
      },
    },
    PRIV.privateKey,
    { algorithm: "RS256" },
  );
  assert.equal(flow.token.split(".").length, 3);
});

test("seed step 4: client.account.me() gives the account id", async () => {
  const accountRes = await flow.client.account.me();
  assert.equal(accountRes.status, 200);
  const { account } = accountRes.data;
  flow.accountId = account.id;
  assert.ok(flow.accountId);
});

test("seed step 5: NettuUserClient({token, nettuAccount}) creates a calendar (201)", async () => {
  config.baseUrl = srv.baseUrl; // the example sets "http://localhost:5000/api/v1"
  flow.userClient = NettuUserClient({ token: flow.token, nettuAccount: flow.accountId });
  const calendarRes = await flow.userClient.calendar.create({ timezone: "UTC" });
  assert.equal(calendarRes.status, 201, JSON.stringify(calendarRes.data));
  const { calendar } = calendarRes.data;
  assert.equal(calendar.userId, flow.schedulerUserId);
  assert.equal(calendar.settings.timezone, "UTC");
  flow.calendar = calendar;
});

test("seed step 6: calendar.remove is rejected by the policy (401)", async () => {
  const { status } = await flow.userClient.calendar.remove(flow.calendar.id);
  assert.equal(status === 401, true, `status ${status}`);
});

test("seed step 7: the calendar is still there (admin findById 200)", async () => {
  const res = await flow.client.calendar.findById(flow.calendar.id);
  assert.deepEqual(assertOk(res).calendar, flow.calendar);
});

/* ---- authentication attacks ------------------------------------------------------------------
 * Every attack targets GET /me (no permission needed), so only authentication can fail it. */

// Calls GET /me with the given token and account header (either may be undefined).
function me(token, account) {
  const headers = {};
  if (account !== undefined) headers["nettu-account"] = account;
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return srv.request("GET", "/me", { headers });
}

// Valid claims for the flow's user, as plain data for hand-made tokens.
const claims = (extra = {}) => ({
  nettuSchedulerUserId: flow.schedulerUserId,
  exp: 5609418990073,
  iat: 19,
  ...extra,
});

test("control: a correct token reaches /me (200)", async () => {
  const body = assertOk(await me(flow.token, flow.accountId));
  assert.equal(body.user.id, flow.schedulerUserId);
});

test("the bearer prefix is case-insensitive and the token is trimmed", async () => {
  for (const authorization of [`bearer ${flow.token}`, `BEARER ${flow.token}`, `Bearer   ${flow.token} `]) {
    const res = await srv.request("GET", "/me", {
      headers: { "nettu-account": flow.accountId, authorization },
    });
    assertOk(res, 200, JSON.stringify(authorization.slice(0, 10)));
  }
});

test("attack: token signed by another RSA key (401)", async () => {
  const other = rsaKeyPair();
  assertError(await me(userToken(other.privateKey, flow.schedulerUserId), flow.accountId), 401);
});

test("attack: alg none, unsigned (401)", async () => {
  const token = rawJwt({ alg: "none", typ: "JWT" }, claims());
  assertError(await me(token, flow.accountId), 401);
});

test("attack: HS256 keyed with the public PEM text (401)", async () => {
  const token = rawJwt({ alg: "HS256", typ: "JWT" }, claims(), (data) =>
    crypto.createHmac("sha256", PRIV.publicKey).update(data).digest(),
  );
  assertError(await me(token, flow.accountId), 401);
});

test("attack: valid RS256 signature under another alg name (RS512) (401)", async () => {
  const token = rawJwt({ alg: "RS512", typ: "JWT" }, claims(), rs256(PRIV.privateKey));
  assertError(await me(token, flow.accountId), 401);
});

test("attack: claims changed after signing (401)", async () => {
  const [h, , s] = flow.token.split(".");
  const forged = Buffer.from(JSON.stringify(claims({ iat: 20 }))).toString("base64url");
  assertError(await me(`${h}.${forged}.${s}`, flow.accountId), 401);
});

test("attack: not a compact JWS (401)", async () => {
  for (const token of ["", "abc", "a.b", "a.b.c.d", flow.token.split(".").slice(0, 2).join(".")]) {
    assertError(await me(token, flow.accountId), 401, JSON.stringify(token));
  }
});

test("attack: expired exp (401)", async () => {
  const exp = Math.floor(Date.now() / 1000) - 60;
  const token = jwt.sign(claims({ exp }), PRIV.privateKey, { algorithm: "RS256" });
  assertError(await me(token, flow.accountId), 401);
});

test("exp up to 2^63-1 is accepted", async () => {
  const text = `{"nettuSchedulerUserId":"${flow.schedulerUserId}","exp":9223372036854775807,"iat":19}`;
  const token = rawJwt({ alg: "RS256", typ: "JWT" }, text, rs256(PRIV.privateKey));
  assertOk(await me(token, flow.accountId));
});

test("attack: missing, fractional or string exp (401)", async () => {
  const sign = rs256(PRIV.privateKey);
  const { exp, ...noExp } = claims();
  assert.ok(exp);
  assertError(await me(rawJwt({ alg: "RS256" }, noExp, sign), flow.accountId), 401, "missing exp");
  assertError(
    await me(rawJwt({ alg: "RS256" }, claims({ exp: 5609418990073.5 }), sign), flow.accountId),
    401,
    "fractional",
  );
  assertError(
    await me(rawJwt({ alg: "RS256" }, claims({ exp: "5609418990073" }), sign), flow.accountId),
    401,
    "string",
  );
});

test("attack: missing iat (401)", async () => {
  const token = jwt.sign(
    { nettuSchedulerUserId: flow.schedulerUserId, exp: 5609418990073 },
    PRIV.privateKey,
    { algorithm: "RS256", noTimestamp: true },
  );
  assert.equal(jwt.decode(token).iat, undefined);
  assertError(await me(token, flow.accountId), 401);
});

test("attack: missing or non-UUID nettuSchedulerUserId (401)", async () => {
  const sign = rs256(PRIV.privateKey);
  const { nettuSchedulerUserId, ...noUser } = claims();
  assert.ok(nettuSchedulerUserId);
  assertError(await me(rawJwt({ alg: "RS256" }, noUser, sign), flow.accountId), 401, "missing");
  const bad = claims({ nettuSchedulerUserId: "not-a-uuid" });
  assertError(await me(rawJwt({ alg: "RS256" }, bad, sign), flow.accountId), 401, "not a uuid");
  const unknown = claims({ nettuSchedulerUserId: crypto.randomUUID() });
  assertError(await me(rawJwt({ alg: "RS256" }, unknown, sign), flow.accountId), 401, "unknown user");
});

test("attack: user of another account, token signed with this account's key (401)", async () => {
  const b = assertOk(await NettuClient().account.create({ code: srv.secret }), 201);
  const bClient = NettuClient({ apiKey: b.secretApiKey });
  const bUser = assertOk(await bClient.user.create(), 201).user;
  assertError(await me(userToken(PRIV.privateKey, bUser.id), flow.accountId), 401);
});

test("attack: missing nettu-account header (401)", async () => {
  assertError(await me(flow.token, undefined), 401);
  const client = NettuUserClient({ token: flow.token }); // no account: the client sends no headers
  assertError(await client.user.me(), 401);
});

test("attack: missing Authorization, or not a bearer (401)", async () => {
  assertError(await me(undefined, flow.accountId), 401);
  assertError(await NettuUserClient({ nettuAccount: flow.accountId }).user.me(), 401);
  for (const authorization of [flow.token, `Basic ${flow.token}`, "Bearer", "Bear"]) {
    const res = await srv.request("GET", "/me", {
      headers: { "nettu-account": flow.accountId, authorization },
    });
    assertError(res, 401, authorization.slice(0, 8));
  }
});

test("attack: non-UUID nettu-account (401)", async () => {
  assertError(await me(flow.token, "not-a-uuid"), 401);
  assertError(await me(flow.token, flow.accountId + "0"), 401);
});

test("attack: unknown account (401)", async () => {
  assertError(await me(flow.token, crypto.randomUUID()), 401);
});

test("attack: account without a public key (401)", async () => {
  const b = assertOk(await NettuClient().account.create({ code: srv.secret }), 201);
  const bUser = assertOk(await NettuClient({ apiKey: b.secretApiKey }).user.create(), 201).user;
  assertError(await me(userToken(PRIV.privateKey, bUser.id), b.account.id), 401);
});

test("attack: malformed policy element 'Foo' invalidates the token (401)", async () => {
  const bad = [
    { allow: ["Foo"] },
    { allow: [Permissions.All], reject: ["Foo"] },
    { allow: ["createcalendar"] },
    { allow: [1] },
    { allow: "*" },
    "all",
  ];
  for (const policy of bad) {
    assertError(
      await me(userToken(PRIV.privateKey, flow.schedulerUserId, policy), flow.accountId),
      401,
      JSON.stringify(policy),
    );
  }
  const ok = userToken(PRIV.privateKey, flow.schedulerUserId, null);
  assertOk(await me(ok, flow.accountId), 200, "schedulerPolicy null is the default policy");
});

test("replacing the account key invalidates older tokens immediately", async () => {
  const admin = NettuClient({ apiKey: srv.apiKey });
  const token = userToken(PRIV.privateKey, flow.schedulerUserId);
  assertOk(await me(token, flow.accountId), 200, "accepted before (and possibly cached)");
  const next = rsaKeyPair();
  assertOk(await admin.account.setPublicSigningKey(next.publicKey));
  assertError(await me(token, flow.accountId), 401);
  assertError(await me(flow.token, flow.accountId), 401);
  assertOk(await me(userToken(next.privateKey, flow.schedulerUserId), flow.accountId), 200, "new key works");
  assertOk(await admin.account.setPublicSigningKey(PRIV.publicKey));
  assertOk(await me(token, flow.accountId), 200, "the old key works again once restored");
});

test("removing the account key invalidates older tokens immediately", async () => {
  const admin = NettuClient({ apiKey: srv.apiKey });
  const token = userToken(PRIV.privateKey, flow.schedulerUserId);
  // Several requests so every worker has seen (and may have cached) the token.
  for (let i = 0; i < 4; i++) assertOk(await me(token, flow.accountId));
  assertOk(await admin.account.removePublicSigningKey());
  for (let i = 0; i < 4; i++) assertError(await me(token, flow.accountId), 401);
  assertOk(await admin.account.setPublicSigningKey(PRIV.publicKey));
  assertOk(await me(token, flow.accountId));
});

test("a deleted user's token answers 401", async () => {
  const admin = NettuClient({ apiKey: srv.apiKey });
  const user = assertOk(await admin.user.create(), 201).user;
  const token = userToken(PRIV.privateKey, user.id, { allow: [Permissions.All] });
  assertOk(await me(token, flow.accountId));
  assertOk(await admin.user.remove(user.id));
  assertError(await me(token, flow.accountId), 401);
  const client = NettuUserClient({ token, nettuAccount: flow.accountId });
  assertError(await client.calendar.create({ timezone: "UTC" }), 401);
});
