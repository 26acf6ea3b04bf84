// Hardening: token keys, token times and secrets at rest (issue 11 items 5, 8 and 9), all
// through the real server.
//
// 1. Weak RSA keys (512 and 1024 bits, e = 1, e = 3, an even modulus, a small factor, a
//    prime or square modulus, two close factors, 8193 bits) are refused by
//    PUT /account/pubkey with 400 naming the rule, and the stored key stays.
// 2. The e = 1 forgery: with the key (n, 1) a token's "signature" is its own PKCS#1 v1.5
//    encoding, made without any private key. The upload is refused, and a key of that kind
//    already in the database (stored before the rule) never verifies a token.
// 3. A weak ACCOUNT_API_KEY (< 16 characters) or ACCOUNT_PUB_KEY stops the start and fails
//    --check-config, naming the variable.
// 4. auth_nettu: nbf and a future iat are checked with 60 s of leeway; a crit header refuses
//    the token. The documented token (iat 19, far exp) still works.
// 5. auth_jwks: a key file with a weak RSA key is refused at start and on SIGHUP reload,
//    naming the kid (the old keys stay in use); nbf has the same leeway; a future iat is
//    refused.
// 6. The database, -wal and -shm files are 0600 and a directory nettu creates is 0700; a
//    directory the operator made open to others is kept as it is, with a warning.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { rawJwt, rs256, rsaKeyPair } from "../e2e/harness.mjs";
import { PLUGINS, PLUGIN_DIR, SERVER_BIN, assertJsonError, assertStatus, launch, removeDir, serverEnv, sleep, sqlite, tempDir, writeIni } from "./lib.mjs";

const RULE = "expected an RSA key of 2048 to 8192 bits with public exponent 65537";
const FAR_EXP = 5609418990073;
const nowS = () => Math.floor(Date.now() / 1000);

/* ---- numbers and keys ----------------------------------------------------------------- */

const b64u = (big) => {
  let hex = big.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, "hex").toString("base64url");
};
const fromB64u = (s) => BigInt(`0x${Buffer.from(s, "base64url").toString("hex")}`);
const modulusOf = (publicKeyPem) => fromB64u(crypto.createPublicKey(publicKeyPem).export({ format: "jwk" }).n);

// The "PUBLIC KEY" PEM of the RSA public key (n, e), whatever its numbers.
function pemOf(n, e) {
  return crypto.createPublicKey({ key: { kty: "RSA", n: b64u(n), e: b64u(e) }, format: "jwk" }).export({ type: "spki", format: "pem" });
}

// The RFC 3526 (2048-bit) and RFC 2409 (1024-bit) primes, as OpenSSL knows them.
const prime = (group) => BigInt(`0x${crypto.getDiffieHellman(group).getPrime("hex")}`);

function nextPrime(p) {
  let q = p + 2n;
  while (!crypto.checkPrimeSync(q)) q += 2n;
  return q;
}

// The weak keys and a part of the message each gets.
function weakKeys() {
  const n2048 = modulusOf(rsaKeyPair().publicKey);
  const small = (bits) => crypto.generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ type: "spki", format: "pem" });
  const odd2040 = BigInt(`0x${crypto.randomBytes(255).toString("hex")}`) | (1n << 2039n) | 1n;
  const p1024 = prime("modp2");
  return [
    ["512 bits", small(512), "must have 2048 to 8192 bits"],
    ["1024 bits", small(1024), "must have 2048 to 8192 bits"],
    ["8193 bits", pemOf((1n << 8192n) + 1n, 65537n), "must have 2048 to 8192 bits"],
    ["e = 1", pemOf(n2048, 1n), "exponent must be 65537"],
    ["e = 3", pemOf(n2048, 3n), "exponent must be 65537"],
    ["e = 65539", pemOf(n2048, 65539n), "exponent must be 65537"],
    ["even modulus", pemOf(n2048 - 1n, 65537n), "modulus is even"],
    ["a factor 997", pemOf(odd2040 * 997n, 65537n), "prime factor below 1000"],
    ["prime modulus", pemOf(prime("modp14"), 65537n), "is a prime number"],
    ["square modulus", pemOf(p1024 * p1024, 65537n), "square or its two factors are too close"],
    ["close factors", pemOf(p1024 * nextPrime(p1024), 65537n), "square or its two factors are too close"],
  ];
}

// A token with the RS256 header `header` whose signature is the PKCS#1 v1.5 encoding of its
// own SHA-256 digest (RFC 8017 section 9.2), 256 bytes: what RSA "verification" with e = 1
// compares against. No private key is involved.
function forgedForE1(claims, header = { alg: "RS256", typ: "JWT" }) {
  const info = Buffer.from("3031300d060960864801650304020105000420", "hex");
  return rawJwt(header, claims, (data) => {
    const hash = crypto.createHash("sha256").update(data).digest();
    const ps = Buffer.alloc(256 - 3 - info.length - hash.length, 0xff);
    return Buffer.concat([Buffer.from([0, 1]), ps, Buffer.from([0]), info, hash]);
  });
}

const bearer = (token, account) => ({ authorization: `Bearer ${token}`, ...(account ? { "nettu-account": account } : {}) });

// A free loopback port.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Writes an INI file for a server on a free port with `account` as its [account] section,
// and runs `nettu-server --check-config` and (unless checkOnly) the server itself with the
// extra environment `env` until it exits (10 s at most): {status, output, checkStatus,
// checkOutput}. A server that keeps running is killed and reported with status null.
async function runWithEnv(dir, account, env, { checkOnly = false } = {}) {
  const ini = path.join(dir, "nettu.ini");
  writeIni(ini, {
    server: { listen: "127.0.0.1", port: await freePort(), workers: 1 },
    plugins: { dir: PLUGIN_DIR, load: PLUGINS.join(", ") },
    store_sqlite: { path: path.join(dir, "nettu.db") },
    account,
  });
  const r = checkOnly ? { status: null, stdout: "", stderr: "" } : spawnSync(SERVER_BIN, ["-c", ini], { env: { ...serverEnv(), ...env }, timeout: 10000, encoding: "utf8" });
  const check = spawnSync(SERVER_BIN, ["--check-config", "-c", ini], { env: { ...serverEnv(), ...env }, timeout: 10000, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, checkStatus: check.status, checkOutput: `${check.stdout}${check.stderr}` };
}

/* ---- 1-2. account keys -------------------------------------------------------------- */

describe("account public keys (auth_nettu)", () => {
  let srv, account, userId;
  const good = rsaKeyPair();

  before(async () => {
    srv = await launch();
    account = assertStatus(await srv.admin("GET", "/account"), 200).account.id;
    userId = assertStatus(await srv.admin("POST", "/user", { body: {} }), 201).user.id;
    assertStatus(await srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: good.publicKey } }), 200);
  });
  after(async () => {
    if (srv) await srv.stop();
  });

  test("weak RSA keys are refused with 400 naming the rule, and the stored key stays", async () => {
    for (const [what, pem, why] of weakKeys()) {
      const r = await srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: pem } });
      assertJsonError(r, 400, what);
      assert.match(r.json.message, new RegExp(`^publicJwtKey: .*${why}`), what);
      assert.ok(r.json.message.includes(RULE), `${what}: ${r.json.message}`);
    }
    const stored = assertStatus(await srv.admin("GET", "/account"), 200).account.publicJwtKey;
    assert.equal(stored, good.publicKey, "the previous key is kept");
    const token = rawJwt({ alg: "RS256" }, { nettuSchedulerUserId: userId, iat: 19, exp: FAR_EXP }, rs256(good.privateKey));
    assertStatus(await srv.request("GET", "/me", { headers: bearer(token, account) }), 200);
  });

  test("2048-bit keys with e = 65537 are accepted (the documented flow)", async () => {
    const k = rsaKeyPair();
    assertStatus(await srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: k.publicKey } }), 200);
    const token = rawJwt({ alg: "RS256", typ: "JWT" }, { nettuSchedulerUserId: userId, exp: FAR_EXP, iat: 19, schedulerPolicy: { allow: ["*"] } }, rs256(k.privateKey));
    assertStatus(await srv.request("GET", "/me", { headers: bearer(token, account) }), 200);
    assertStatus(await srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: good.publicKey } }), 200);
  });

  test("e = 1: the upload is refused, and a stored key of that kind forges nothing", async () => {
    const n = modulusOf(good.publicKey);
    const e1 = pemOf(n, 1n);
    const forged = forgedForE1({ nettuSchedulerUserId: userId, iat: 19, exp: FAR_EXP, schedulerPolicy: { allow: ["*"] } });
    const up = await srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: e1 } });
    assertJsonError(up, 400, "e = 1 upload");
    assert.ok(up.json.message.includes("the RSA public exponent must be 65537"), up.json.message);
    assertJsonError(await srv.request("GET", "/me", { headers: bearer(forged, account) }), 401, "forged token, good key stored");

    // A key stored before the rule existed (written straight into the database, with a new
    // key version so the server reads it again).
    sqlite(srv.db, `UPDATE account_accounts SET public_jwt_key = '${e1}', key_version = key_version + 1 WHERE id = '${account}';`, { readonly: false });
    const r = await srv.request("GET", "/me", { headers: bearer(forged, account) });
    assertJsonError(r, 401, "forged token, e = 1 key stored");
    assert.match(r.json.message, /public key cannot verify tokens/);
    assert.match(srv.log(), /stored public key unusable: the RSA public exponent must be 65537/);
    assertStatus(await srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: good.publicKey } }), 200);
  });
});

/* ---- 3. configuration at start --------------------------------------------------------- */

describe("weak credentials in the environment stop the start", () => {
  let dir;
  before(async () => {
    dir = await tempDir("authenv");
  });
  after(async () => {
    if (dir) await removeDir(dir);
  });

  test("ACCOUNT_API_KEY shorter than 16 characters", async () => {
    const short = "sk_0123456789ab"; // 15
    const r = await runWithEnv(dir, { create_account_secret: "s3cret-for-the-test" }, { ACCOUNT_API_KEY: short });
    assert.equal(r.status, 1, `start must fail: ${r.output}`);
    assert.match(r.output, /default_api_key \(ACCOUNT_API_KEY\): must have at least 16 characters \(it has 15\)/);
    assert.ok(!r.output.includes(short), "the key is not printed");
    assert.equal(r.checkStatus, 1, `--check-config must fail: ${r.checkOutput}`);
    assert.match(r.checkOutput, /ACCOUNT_API_KEY/);
    // 16 characters pass --check-config.
    const ok = await runWithEnv(dir, {}, { ACCOUNT_API_KEY: "sk_0123456789abc" }, { checkOnly: true });
    assert.equal(ok.checkStatus, 0, ok.checkOutput);
  });

  test("ACCOUNT_PUB_KEY with a weak RSA key", async () => {
    const weak = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" });
    const r = await runWithEnv(dir, {}, { ACCOUNT_API_KEY: `sk_${"a".repeat(30)}`, ACCOUNT_PUB_KEY: weak.replace(/\n/g, "\\n") });
    assert.equal(r.status, 1, `start must fail: ${r.output}`);
    assert.match(r.output, /default_public_key \(ACCOUNT_PUB_KEY\): the RSA modulus must have 2048 to 8192 bits/);
    assert.ok(r.output.includes(RULE), r.output);
    assert.equal(r.checkStatus, 1, `--check-config must fail: ${r.checkOutput}`);
    // A 2048-bit key is fine.
    const ok = await runWithEnv(dir, {}, { ACCOUNT_API_KEY: `sk_${"a".repeat(30)}`, ACCOUNT_PUB_KEY: rsaKeyPair().publicKey.replace(/\n/g, "\\n") }, { checkOnly: true });
    assert.equal(ok.checkStatus, 0, ok.checkOutput);
  });
});

/* ---- 4. token times and crit under auth_nettu ------------------------------------------ */

describe("auth_nettu: nbf, iat and crit", () => {
  let srv, account, userId;
  const k = rsaKeyPair();
  const token = (claims, header = { alg: "RS256", typ: "JWT" }) =>
    rawJwt(header, { nettuSchedulerUserId: userId, exp: FAR_EXP, iat: 19, ...claims }, rs256(k.privateKey));
  const me = (t) => srv.request("GET", "/me", { headers: bearer(t, account) });

  before(async () => {
    srv = await launch();
    account = assertStatus(await srv.admin("GET", "/account"), 200).account.id;
    userId = assertStatus(await srv.admin("POST", "/user", { body: {} }), 201).user.id;
    assertStatus(await srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: k.publicKey } }), 200);
  });
  after(async () => {
    if (srv) await srv.stop();
  });

  test("nbf in the future is refused beyond 60 s of leeway", async () => {
    let r = await me(token({ nbf: nowS() + 3600 }));
    assertJsonError(r, 401, "nbf in an hour");
    assert.equal(r.json.message, "token nbf: not valid yet");
    r = await me(token({ nbf: nowS() + 3600 })); // again (nothing was cached)
    assertJsonError(r, 401, "nbf in an hour, again");
    assertStatus(await me(token({ nbf: nowS() + 30 })), 200, "nbf within the leeway");
    assertStatus(await me(token({ nbf: nowS() - 30 })), 200, "nbf passed");
    assertStatus(await me(token({ nbf: null })), 200, "nbf null");
    assertJsonError(await me(token({ nbf: "soon" })), 401, "nbf not a number");
  });

  test("iat in the future is refused beyond 60 s of leeway", async () => {
    const r = await me(token({ iat: nowS() + 3600 }));
    assertJsonError(r, 401, "iat in an hour");
    assert.equal(r.json.message, "token iat: issued in the future");
    assertStatus(await me(token({ iat: nowS() + 30 })), 200, "iat within the leeway");
    assertStatus(await me(token({})), 200, "the documented iat 19");
  });

  test("any crit header refuses the token", async () => {
    for (const crit of [["exp"], [], null, "b64"]) {
      const r = await me(token({}, { alg: "RS256", typ: "JWT", crit }));
      assertJsonError(r, 401, `crit ${JSON.stringify(crit)}`);
      assert.match(r.json.message, /^token crit/);
    }
  });
});

/* ---- 5. auth_jwks ----------------------------------------------------------------------- */

describe("auth_jwks: weak keys in the key file, nbf and iat", () => {
  const PLUGINS_JWKS = ["store_sqlite", "auth_jwks", "policy", "account", "user", "calendar"];
  const good = rsaKeyPair();
  const jwk = (pem, kid) => ({ ...crypto.createPublicKey(pem).export({ format: "jwk" }), kid, use: "sig" });
  let dir, file, account;

  const writeKeys = (keys) => {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ keys }));
    fs.renameSync(`${file}.tmp`, file);
  };
  const start = () =>
    launch({
      dir,
      plugins: PLUGINS_JWKS,
      ini: { account: { default_account_id: account }, auth_jwks: { jwks_file: file, account_id: account } },
    });

  before(async () => {
    dir = await tempDir("authjwks");
    file = path.join(dir, "jwks.json");
    account = crypto.randomUUID();
  });
  after(async () => {
    if (dir) await removeDir(dir);
  });

  test("a weak RSA key stops the start, naming its kid", async () => {
    const weak = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" });
    writeKeys([jwk(good.publicKey, "good"), jwk(weak, "legacy-1024")]);
    await assert.rejects(start(), (err) => {
      assert.match(err.message, /exited before it was healthy/);
      assert.match(err.message, /keys\[1\]: the RSA modulus must have 2048 to 8192 bits \(kid "legacy-1024"\)/);
      return true;
    });
  });

  test("a weak key on reload is refused, the old keys stay; nbf and iat with leeway", async () => {
    writeKeys([jwk(good.publicKey, "good")]);
    const srv = await start();
    try {
      const userId = assertStatus(await srv.admin("POST", "/user", { body: {} }), 201).user.id;
      const token = (claims) =>
        rawJwt({ alg: "RS256", kid: "good" }, { nettuSchedulerUserId: userId, exp: FAR_EXP, ...claims }, rs256(good.privateKey));
      const me = (t) => srv.request("GET", "/me", { headers: bearer(t) });
      assertStatus(await me(token({})), 200, "a good token");

      assertStatus(await me(token({ nbf: nowS() + 30 })), 200, "nbf within the leeway");
      let r = await me(token({ nbf: nowS() + 3600 }));
      assertJsonError(r, 401, "nbf in an hour");
      assert.equal(r.json.message, "token nbf: not valid yet");
      r = await me(token({ iat: nowS() + 3600 }));
      assertJsonError(r, 401, "iat in an hour");
      assert.equal(r.json.message, "token iat: issued in the future");
      assertStatus(await me(token({ iat: nowS() + 30 })), 200, "iat within the leeway");
      r = await srv.request("GET", "/me", { headers: bearer(rawJwt({ alg: "RS256", kid: "good", crit: ["exp"] }, { nettuSchedulerUserId: userId, exp: FAR_EXP }, rs256(good.privateKey))) });
      assertJsonError(r, 401, "crit");

      // e = 3 with the good key's modulus, under another kid.
      writeKeys([{ kty: "RSA", kid: "rsa-e3", n: b64u(modulusOf(good.publicKey)), e: b64u(3n) }]);
      process.kill(srv.pid, "SIGHUP");
      const want = /reload failed, keeping the previous keys: keys\[0\]: the RSA public exponent must be 65537 \(kid "rsa-e3"\)/;
      for (let i = 0; i < 100 && !want.test(srv.log()); i++) await sleep(50);
      assert.match(srv.log(), want);
      assertStatus(await me(token({})), 200, "the previous keys stay in use");
    } finally {
      await srv.stop();
    }
  });
});

/* ---- 6. files at rest ------------------------------------------------------------------ */

describe("database file permissions", () => {
  let dir;
  before(async () => {
    dir = await tempDir("authperm");
  });
  after(async () => {
    if (dir) await removeDir(dir);
  });

  const mode = (p) => (fs.statSync(p).mode & 0o777).toString(8);
  const umask = process.umask(0o022); // as on a usual system: new files 0644 unless made private
  after(() => process.umask(umask));

  test("a new database: directories 0700, database, -wal and -shm 0600", async () => {
    const home = path.join(dir, "fresh");
    fs.mkdirSync(home, { mode: 0o700 });
    const db = path.join(home, "new", "data", "nettu.db");
    const srv = await launch({ dir: home, db });
    try {
      assertStatus(await srv.admin("POST", "/user", { body: {} }), 201);
      assert.equal(mode(path.join(home, "new")), "700");
      assert.equal(mode(path.join(home, "new", "data")), "700");
      for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(mode(f), "600", f);
      assert.doesNotMatch(srv.log(), /open to group or others/);
    } finally {
      await srv.stop();
    }
  });

  test("an existing open directory is warned about (once) and kept; loose files become 0600", async () => {
    const home = path.join(dir, "operator");
    fs.mkdirSync(home, { mode: 0o755 });
    fs.chmodSync(home, 0o755);
    const db = path.join(home, "nettu.db");
    let srv = await launch({ dir: home, db });
    assertStatus(await srv.admin("POST", "/user", { body: {} }), 201);
    await srv.stop();
    for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.chmodSync(f, 0o644);
    srv = await launch({ dir: home, db, apiKey: srv.apiKey });
    try {
      assertStatus(await srv.admin("POST", "/user", { body: {} }), 201);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(mode(f), "600", f);
      assert.equal(mode(home), "755", "the operator's directory is left as it is");
      // The log holds both starts: one warning each, although each opens several connections.
      const warnings = srv.log().match(/WARN \[store_sqlite\] the database directory \S*operator is open to group or others \(mode 0755\)/g) || [];
      assert.equal(warnings.length, 2, srv.log());
    } finally {
      await srv.stop();
    }
  });
});
