#!/usr/bin/env node
// Try the example page against a local nettu server, in one command (Node.js >= 20, no npm
// packages). It plays your backend: makes sure the account has a JWT signing key, creates a
// nettu user (or uses --user), signs an RS256 end-user token for it, then serves this folder
// on http://127.0.0.1:8080/ and prints the address to open, with the credentials in the URL
// fragment (the page moves them to localStorage).
//
//   node examples/browser/try.mjs --api-key sk_... [--server http://127.0.0.1:5000/api/v1]
//        [--key private.pem] [--user <userId>] [--reject DeleteCalendar,...] [--port 8080]
//
// Key handling: without --key, a new RSA key is made and saved as nettu-dev-key.pem in the
// current folder; it is uploaded only when the account has no public key yet (uploading a new
// key would invalidate every token of the account). With --key, its public half must be the
// account's key (or the account has none, and it is uploaded).

import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FILES = { "/": "index.html", "/index.html": "index.html", "/app.js": "app.js", "/style.css": "style.css" };
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css" };

function fail(msg) {
  console.error(`try.mjs: ${msg}`);
  process.exit(1);
}

const { values: opt } = parseArgs({
  options: {
    "api-key": { type: "string" },
    server: { type: "string", default: "http://127.0.0.1:5000/api/v1" },
    key: { type: "string" },
    user: { type: "string" },
    reject: { type: "string", default: "DeleteCalendar" },
    port: { type: "string", default: "8080" },
  },
});
if (!opt["api-key"]) fail("--api-key is required (the account's secret API key, sk_...)");
const server = opt.server.replace(/\/+$/, "");

// An admin request with the API key; returns the JSON body or exits with the server's message.
async function admin(method, p, body) {
  let res;
  try {
    res = await fetch(server + p, {
      method,
      headers: { "x-api-key": opt["api-key"], ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    fail(`cannot reach ${server}: ${err.cause ? err.cause.message : err.message}`);
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) fail(`${method} ${p}: ${res.status} ${data ? `${data.error}: ${data.message}` : ""}`);
  return data;
}

const b64url = (x) => Buffer.from(x).toString("base64url");

// An RS256 JWT over `claims`, signed with node:crypto.
function signRs256(claims, privateKey) {
  const data = `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${data}.${b64url(crypto.sign("sha256", Buffer.from(data), privateKey))}`;
}

const { account } = await admin("GET", "/account");
let privateKey;
if (opt.key) {
  privateKey = crypto.createPrivateKey(fs.readFileSync(opt.key));
} else {
  const file = path.resolve("nettu-dev-key.pem");
  if (fs.existsSync(file)) fail(`${file} exists: pass --key ${file} to use it`);
  if (account.publicJwtKey) {
    fail("the account already has a public key; pass --key <its private key> (a new key would invalidate its tokens)");
  }
  privateKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  fs.writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  console.log(`new signing key saved as ${file}`);
}
const publicPem = crypto.createPublicKey(privateKey).export({ type: "spki", format: "pem" });
if (!account.publicJwtKey) {
  await admin("PUT", "/account/pubkey", { publicJwtKey: publicPem });
  console.log("uploaded the public key to the account");
} else if (account.publicJwtKey.trim() !== publicPem.trim()) {
  fail("the account's public key is not the public half of --key");
}

const userId = opt.user || (await admin("POST", "/user", { metadata: { createdBy: "try.mjs" } })).user.id;
const now = Math.floor(Date.now() / 1000);
const reject = opt.reject ? opt.reject.split(",").filter(Boolean) : [];
const token = signRs256(
  { nettuSchedulerUserId: userId, iat: now, exp: now + 8 * 3600, schedulerPolicy: { allow: ["*"], reject } },
  privateKey,
);

const httpServer = http.createServer((req, res) => {
  const name = FILES[new URL(req.url, "http://x").pathname];
  if (!name) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  res.writeHead(200, { "content-type": TYPES[path.extname(name)], "cache-control": "no-store" });
  res.end(fs.readFileSync(path.join(HERE, name)));
});
httpServer.on("error", (err) => fail(`cannot serve on 127.0.0.1:${opt.port}: ${err.message}`));
httpServer.listen(Number(opt.port), "127.0.0.1", () => {
  const frag = new URLSearchParams({ server, account: account.id, token });
  console.log(`user ${userId} (token valid 8 hours, rejects: ${reject.join(", ") || "nothing"})`);
  console.log(`open http://127.0.0.1:${opt.port}/#${frag}`);
  console.log("Ctrl-C stops serving the page");
});
