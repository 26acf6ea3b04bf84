// Health, account routes, the error model, CORS and transport limits,
// driven through the published client where it has a call, raw HTTP elsewhere.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, test } from "node:test";
import {
  API_KEY_RE,
  NettuClient,
  UUID_RE,
  assertError,
  assertOk,
  config,
  rsaKeyPair,
  socketRequest,
  startServer,
} from "./harness.mjs";

let srv;
let admin; // NettuClient with the default account's key

before(async () => {
  srv = await startServer();
  config.baseUrl = srv.baseUrl;
  admin = NettuClient({ apiKey: srv.apiKey });
});

after(async () => {
  if (srv) await srv.stop();
});

// A fresh account through the client; returns {client, account, apiKey}.
async function newAccount() {
  const body = assertOk(await NettuClient().account.create({ code: srv.secret }), 201);
  return {
    client: NettuClient({ apiKey: body.secretApiKey }),
    account: body.account,
    apiKey: body.secretApiKey,
  };
}

const keyOf = async (client) => assertOk(await client.account.me()).account.publicJwtKey;
const webhookOf = async (client) => assertOk(await client.account.me()).account.settings.webhook;

/* ---- health ------------------------------------------------------------------------------- */

test("health: client checkStatus() answers 200", async () => {
  assert.equal(await NettuClient().health.checkStatus(), 200);
});

test("health: GET /api/v1/ and /api/v1 answer 200 {message} even with junk credentials", async () => {
  const junk = {
    "x-api-key": "sk_not_a_key",
    "nettu-account": "not-a-uuid",
    authorization: "Bearer junk.junk.junk",
  };
  for (const p of ["/", ""]) {
    for (const headers of [{}, junk]) {
      const res = await srv.request("GET", p, { headers });
      const body = assertOk(res, 200, `GET /api/v1${p}`);
      assert.equal(typeof body.message, "string");
      assert.ok(body.message.length > 0);
    }
  }
});

/* ---- create account ------------------------------------------------------------------------ */

test("account.create with the secret code answers 201 {account, secretApiKey}", async () => {
  const res = await NettuClient().account.create({ code: srv.secret });
  const body = assertOk(res, 201);
  assert.match(body.secretApiKey, API_KEY_RE);
  assert.match(body.account.id, UUID_RE);
  assert.equal(body.account.publicJwtKey, null);
  assert.equal(body.account.settings.webhook, null);
  assert.ok(!("secretApiKey" in body.account), "the account object never shows the key");
  const me = assertOk(await NettuClient({ apiKey: body.secretApiKey }).account.me());
  assert.equal(me.account.id, body.account.id, "the new key authenticates the new account");
});

test("account.create gives every account its own id and key", async () => {
  const a = await newAccount();
  const b = await newAccount();
  assert.notEqual(a.account.id, b.account.id);
  assert.notEqual(a.apiKey, b.apiKey);
});

test("account.create with a wrong code answers 401", async () => {
  assertError(await NettuClient().account.create({ code: srv.secret + "x" }), 401);
  assertError(await NettuClient().account.create({ code: "" }), 401);
});

test("account.create without a code answers 400", async () => {
  assertError(await NettuClient().account.create({}), 400);
  assertError(await NettuClient().account.create({ code: null }), 400);
  assertError(await NettuClient().account.create({ code: 12 }), 400, "non-string code");
});

/* ---- GET /account -------------------------------------------------------------------------- */

test("account.me with the default api key answers 200 {account} without secrets", async () => {
  const body = assertOk(await admin.account.me());
  assert.match(body.account.id, UUID_RE);
  assert.ok("publicJwtKey" in body.account, "publicJwtKey is always present");
  assert.ok("webhook" in body.account.settings, "settings.webhook is always present");
  assert.ok(!JSON.stringify(body).includes(srv.apiKey), "the api key is never echoed");
});

test("a wrong api key answers 401 {error: unauthorized, message}", async () => {
  assertError(await NettuClient({ apiKey: "sk_" + "x".repeat(30) }).account.me(), 401);
  assertError(await srv.request("GET", "/account", { headers: { "x-api-key": "nope" } }), 401);
  assertError(await srv.request("GET", "/account"), 401, "missing x-api-key");
  for (const near of [srv.apiKey + "x", srv.apiKey.slice(0, -1), srv.apiKey.toUpperCase()]) {
    assertError(await srv.request("GET", "/account", { headers: { "x-api-key": near } }), 401, "exact match");
  }
});

test("admin routes ignore end-user headers", async () => {
  const res = await srv.request("GET", "/account", {
    headers: { "nettu-account": crypto.randomUUID(), authorization: "Bearer x" },
  });
  assertError(res, 401);
});

/* ---- public key ----------------------------------------------------------------------------- */

test("setPublicSigningKey stores the PEM and GET shows it byte for byte", async () => {
  const { client } = await newAccount();
  const { publicKey } = rsaKeyPair();
  const body = assertOk(await client.account.setPublicSigningKey(publicKey));
  assert.equal(body.account.publicJwtKey, publicKey);
  assert.equal(await keyOf(client), publicKey);
});

test("setPublicSigningKey accepts a PKCS#1 'RSA PUBLIC KEY' block verbatim", async () => {
  const { client } = await newAccount();
  const pem = crypto
    .generateKeyPairSync("rsa", { modulusLength: 2048 })
    .publicKey.export({ type: "pkcs1", format: "pem" });
  assert.match(pem, /BEGIN RSA PUBLIC KEY/);
  assertOk(await client.account.setPublicSigningKey(pem));
  assert.equal(await keyOf(client), pem);
});

test("removePublicSigningKey sends {} and sets the key to null", async () => {
  const { client } = await newAccount();
  assertOk(await client.account.setPublicSigningKey(rsaKeyPair().publicKey));
  const body = assertOk(await client.account.removePublicSigningKey());
  assert.equal(body.account.publicJwtKey, null);
  assert.equal(await keyOf(client), null);
  const res = await srv.request("PUT", "/account/pubkey", {
    headers: { "x-api-key": (await newAccount()).apiKey },
    body: { publicJwtKey: null },
  });
  assert.equal(assertOk(res).account.publicJwtKey, null, "explicit null also removes");
});

test("an invalid PEM answers 400 and keeps the previous key", async () => {
  const { client } = await newAccount();
  const { publicKey } = rsaKeyPair();
  assertOk(await client.account.setPublicSigningKey(publicKey));
  const junkFrame = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n";
  const truncated = publicKey.slice(0, 120) + "\n-----END PUBLIC KEY-----\n";
  for (const bad of ["not a pem", junkFrame, truncated, ""]) {
    assertError(await client.account.setPublicSigningKey(bad), 400, JSON.stringify(bad));
    assert.equal(await keyOf(client), publicKey, "old key kept");
  }
  assertError(
    await srv.request("PUT", "/account/pubkey", {
      headers: { "x-api-key": srv.apiKey },
      body: { publicJwtKey: 42 },
    }),
    400,
    "non-string key",
  );
});

test("an EC or Ed25519 public key answers 400", async () => {
  const { client } = await newAccount();
  const spki = { type: "spki", format: "pem" };
  const ec = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export(spki);
  const ed = crypto.generateKeyPairSync("ed25519").publicKey.export(spki);
  assertError(await client.account.setPublicSigningKey(ec), 400, "EC key");
  assertError(await client.account.setPublicSigningKey(ed), 400, "Ed25519 key");
  assert.equal(await keyOf(client), null);
});

test("an RSA private key answers 400 and is not stored", async () => {
  const { client } = await newAccount();
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs8 = privateKey.export({ type: "pkcs8", format: "pem" });
  const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" });
  assertError(await client.account.setPublicSigningKey(pkcs8), 400, "PKCS#8 private key");
  assertError(await client.account.setPublicSigningKey(pkcs1), 400, "PKCS#1 private key");
  assert.equal(await keyOf(client), null);
});

/* ---- webhook -------------------------------------------------------------------------------- */

test("setWebhook creates {url, key} with a fresh api-key-shaped key", async () => {
  const { client, apiKey } = await newAccount();
  const body = assertOk(await client.account.setWebhook("https://93.184.215.14/hook"));
  assert.equal(body.account.settings.webhook.url, "https://93.184.215.14/hook");
  assert.match(body.account.settings.webhook.key, API_KEY_RE);
  assert.notEqual(body.account.settings.webhook.key, apiKey);
  assert.deepEqual(await webhookOf(client), body.account.settings.webhook);
});

test("setWebhook on an existing webhook replaces the url and keeps the key", async () => {
  const { client } = await newAccount();
  const first = assertOk(await client.account.setWebhook("https://93.184.215.14/a")).account.settings.webhook;
  const second = assertOk(await client.account.setWebhook("http://1.1.1.1:9/b?x=1")).account.settings
    .webhook;
  assert.equal(second.url, "http://1.1.1.1:9/b?x=1");
  assert.equal(second.key, first.key);
});

test("setWebhook with an invalid url answers 400 and keeps the webhook", async () => {
  const { client } = await newAccount();
  const hook = assertOk(await client.account.setWebhook("https://93.184.215.14/ok")).account.settings.webhook;
  for (const bad of ["not a url", "ftp://example.com/x", "example.com/hook", "", "https://"]) {
    assertError(await client.account.setWebhook(bad), 400, JSON.stringify(bad));
  }
  assertError(await client.account.setWebhook(undefined), 400, "missing webhookUrl");
  assert.deepEqual(await webhookOf(client), hook);
});

test("removeWebhook sets settings.webhook to null, also when there is none", async () => {
  const { client } = await newAccount();
  const old = assertOk(await client.account.setWebhook("https://93.184.215.14/x")).account.settings.webhook;
  assert.equal(assertOk(await client.account.removeWebhook()).account.settings.webhook, null);
  assert.equal(await webhookOf(client), null);
  assert.equal(assertOk(await client.account.removeWebhook()).account.settings.webhook, null);
  const again = assertOk(await client.account.setWebhook("https://93.184.215.14/x")).account.settings.webhook;
  assert.notEqual(again.key, old.key, "a webhook created after removal gets a fresh key");
});

test("one account's settings do not leak into another's", async () => {
  const a = await newAccount();
  const b = await newAccount();
  assertOk(await a.client.account.setWebhook("https://93.184.215.14/a"));
  assertOk(await a.client.account.setPublicSigningKey(rsaKeyPair().publicKey));
  assert.equal(await webhookOf(b.client), null);
  assert.equal(await keyOf(b.client), null);
});

/* ---- error model ---------------------------------------------------------------------------- */

test("unknown route answers 404 JSON", async () => {
  assertError(await srv.request("GET", "/nope"), 404);
  assertError(
    await srv.request("GET", "/account/", { headers: { "x-api-key": srv.apiKey } }),
    404,
    "no trailing-slash normalisation",
  );
  assertError(
    await srv.request("PATCH", "/account", { headers: { "x-api-key": srv.apiKey }, body: {} }),
    404,
    "known path, unsupported method",
  );
});

test("a non-UUID path parameter answers 404, before authentication", async () => {
  assertError(await srv.request("GET", "/user/not-a-uuid", { headers: { "x-api-key": srv.apiKey } }), 404);
  assertError(await srv.request("GET", "/user/not-a-uuid"), 404, "without credentials");
  assertError(await srv.request("DELETE", "/user/calendar/1234"), 404);
});

test("malformed JSON answers 400", async () => {
  const headers = { "x-api-key": srv.apiKey };
  assertError(await srv.request("PUT", "/account/webhook", { headers, body: '{"webhookUrl": ' }), 400);
  assertError(
    await srv.request("PUT", "/account/webhook", { headers, body: "[1, 2]" }),
    400,
    "non-object body",
  );
  assertError(await srv.request("POST", "/account", { body: "{" }), 400, "public route");
});

test("a body above 2 MiB answers 413; exactly 2 MiB is accepted", async () => {
  const headers = { "x-api-key": srv.apiKey, "content-type": "application/json" };
  const big = Buffer.alloc(2 * 1024 * 1024 + 1, " ");
  assertError(await socketRequest(srv.port, "PUT", "/account/webhook", headers, big), 413);
  // A valid body of exactly 2 MiB: the url plus padding in an ignored field.
  const head = '{"webhookUrl":"https://93.184.215.14/big","pad":"';
  const tail = '"}';
  const pad = "x".repeat(2 * 1024 * 1024 - head.length - tail.length);
  const exact = Buffer.from(head + pad + tail);
  assert.equal(exact.length, 2 * 1024 * 1024);
  const res = await socketRequest(srv.port, "PUT", "/account/webhook", headers, exact);
  assert.equal(res.status, 200, `exactly 2 MiB: ${res.text.slice(0, 200)}`);
});

/* ---- CORS ----------------------------------------------------------------------------------- */

// True when a comma-separated CORS list allows `want` (case-insensitive) or is "*".
function corsAllows(list, want) {
  if (!list) return false;
  const items = list.split(",").map((s) => s.trim().toLowerCase());
  return items.includes("*") || items.includes(want.toLowerCase());
}

test("CORS preflight answers 2xx with allow-origin, -methods and -headers", async () => {
  const origin = "https://app.example.com";
  const res = await fetch(`${srv.baseUrl}/calendar/${crypto.randomUUID()}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "DELETE",
      "access-control-request-headers": "authorization, nettu-account, content-type",
    },
  });
  await res.arrayBuffer();
  assert.ok(res.status >= 200 && res.status < 300, `preflight status ${res.status}`);
  const allowOrigin = res.headers.get("access-control-allow-origin");
  assert.ok(allowOrigin === origin || allowOrigin === "*", `allow-origin ${allowOrigin}`);
  assert.ok(corsAllows(res.headers.get("access-control-allow-methods"), "DELETE"), "allow-methods");
  const allowHeaders = res.headers.get("access-control-allow-headers");
  for (const h of ["authorization", "nettu-account", "content-type"]) {
    assert.ok(corsAllows(allowHeaders, h), `allow-headers ${allowHeaders} lacks ${h}`);
  }
});

test("CORS headers are on success and error responses", async () => {
  const origin = "https://app.example.com";
  const ok = await srv.request("GET", "/", { headers: { origin } });
  assert.ok(ok.headers.get("access-control-allow-origin"), "on 200");
  const denied = await srv.request("GET", "/account", { headers: { origin, "x-api-key": "bad" } });
  assertError(denied, 401);
  const allow = denied.headers.get("access-control-allow-origin");
  assert.ok(allow === origin || allow === "*", `allow-origin on a 401: ${allow}`);
  const missing = await srv.request("GET", "/nope", { headers: { origin } });
  assert.ok(missing.headers.get("access-control-allow-origin"), "on 404");
});
