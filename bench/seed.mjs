// Seeds a freshly started nettu server for bench/run.sh through the admin API only, and
// pre-signs the RS256 tokens the JWT scenarios send. Uses nothing but Node's own modules.
//
// Usage: node bench/seed.mjs URL API_KEY OUT_DIR TOKENS EVENTS
//   URL      base URL ending in /api/v1 (127.0.0.1 only)
//   API_KEY  the account's API key (the server's [account] default_api_key)
//   TOKENS   how many distinct valid tokens to sign into OUT_DIR/tokens.txt
//   EVENTS   1 when the events plugin is loaded: creates the free/busy user with 300 events
//            over 31 days, and the calendar the POST scenario writes into
// Writes OUT_DIR/seed.env (shell variables: ids, the repeated token, the free/busy window),
// OUT_DIR/tokens.txt (one token a line) and OUT_DIR/post-event.json (the POST body).
// Exits 1 with a message on any unexpected answer.

import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const FB_EVENTS = 300;
const FB_DAYS = 31;
const FB_START = Date.UTC(2031, 0, 1); // a fixed window, far from "now"

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
const JWT_HEADER = b64url({ alg: "RS256", typ: "JWT" });

// Signs tokens [from, to) for `userId`; each differs in `iat` (not checked by the server).
function signRange(pem, userId, from, to) {
  const key = crypto.createPrivateKey(pem);
  const out = [];
  for (let i = from; i < to; i++) {
    const claims = b64url({
      nettuSchedulerUserId: userId,
      iat: 1_700_000_000 + i,
      exp: 5_609_418_990_073,
      schedulerPolicy: { allow: ["*"] },
    });
    const input = `${JWT_HEADER}.${claims}`;
    out.push(`${input}.${crypto.sign("sha256", Buffer.from(input), key).toString("base64url")}`);
  }
  return out;
}

if (!isMainThread) {
  const { pem, userId, from, to } = workerData;
  parentPort.postMessage(signRange(pem, userId, from, to));
} else {
  await main();
}

// Signs `count` tokens on every core (worker threads), in order.
async function signAll(pem, userId, count) {
  const n = Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
  const per = Math.ceil(count / n);
  const parts = [];
  for (let w = 0; w < n; w++) {
    const from = w * per;
    const to = Math.min(count, from + per);
    if (from >= to) break;
    parts.push(
      new Promise((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { pem, userId, from, to } });
        worker.once("message", resolve);
        worker.once("error", reject);
      }),
    );
  }
  return (await Promise.all(parts)).flat();
}

async function main() {
  const [url, apiKey, outDir, tokensArg, eventsArg] = process.argv.slice(2);
  const tokenCount = Number(tokensArg);
  if (!url || !apiKey || !outDir || !(tokenCount >= 1) || !/^[01]$/.test(eventsArg ?? "")) {
    console.error("usage: node seed.mjs URL API_KEY OUT_DIR TOKENS EVENTS(0|1)");
    process.exit(2);
  }
  const withEvents = eventsArg === "1";

  // One admin request; returns the JSON body, or exits when the status is not `want`.
  async function admin(method, p, body, want) {
    const res = await fetch(url + p, {
      method,
      headers: { "x-api-key": apiKey, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== want) {
      console.error(`seed: ${method} ${p} answered ${res.status} (wanted ${want}): ${text.slice(0, 300)}`);
      process.exit(1);
    }
    return JSON.parse(text);
  }

  const account = (await admin("GET", "/account", undefined, 200)).account;
  const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await admin("PUT", "/account/pubkey", { publicJwtKey: publicKey }, 200);

  // The user and calendar of the GET scenarios (API key and JWT).
  const user = (await admin("POST", "/user", { metadata: { bench: "get" } }, 201)).user;
  const cal = (await admin("POST", `/user/${user.id}/calendar`, { timezone: "UTC" }, 201)).calendar;

  const env = {
    BENCH_ACCOUNT_ID: account.id,
    BENCH_USER_ID: user.id,
    BENCH_CAL_ID: cal.id,
  };

  if (withEvents) {
    // Free/busy: 300 busy events of 30 to 90 minutes spread over 31 days, some overlapping.
    const fbUser = (await admin("POST", "/user", { metadata: { bench: "freebusy" } }, 201)).user;
    const fbCal = (await admin("POST", `/user/${fbUser.id}/calendar`, { timezone: "UTC" }, 201))
      .calendar;
    const step = Math.floor((FB_DAYS * DAY) / FB_EVENTS);
    for (let i = 0; i < FB_EVENTS; i++) {
      await admin(
        "POST",
        `/user/${fbUser.id}/events`,
        {
          calendarId: fbCal.id,
          startTs: FB_START + i * step,
          duration: HOUR / 2 + (i % 5) * (HOUR / 4),
          busy: true,
        },
        201,
      );
    }
    // The POST scenario writes into its own user's calendar, so free/busy stays at 300.
    const postUser = (await admin("POST", "/user", { metadata: { bench: "post" } }, 201)).user;
    const postCal = (await admin("POST", `/user/${postUser.id}/calendar`, { timezone: "UTC" }, 201))
      .calendar;
    Object.assign(env, {
      BENCH_FB_USER_ID: fbUser.id,
      BENCH_FB_CAL_ID: fbCal.id,
      BENCH_FB_START: FB_START,
      BENCH_FB_END: FB_START + FB_DAYS * DAY,
      BENCH_POST_USER_ID: postUser.id,
      BENCH_POST_CAL_ID: postCal.id,
    });
    // Bookings: a round-robin service of 4 hosts, each free for 10 years from BOOK_FROM (one
    // free event in the calendar that also takes the booking events). The check request of
    // bench/run.sh books the slot just before BOOK_FROM (the free time starts a day earlier).
    const BOOK_FROM = Date.UTC(2032, 0, 1);
    const service = (await admin("POST", "/service", {}, 201)).service;
    for (let i = 0; i < 4; i++) {
      const host = (await admin("POST", "/user", { metadata: { bench: "host" } }, 201)).user;
      const hostCal = (await admin("POST", `/user/${host.id}/calendar`, { timezone: "UTC" }, 201))
        .calendar;
      await admin(
        "POST",
        `/user/${host.id}/events`,
        { calendarId: hostCal.id, startTs: BOOK_FROM - DAY, duration: 3650 * DAY, busy: false },
        201,
      );
      await admin(
        "POST",
        `/service/${service.id}/users`,
        { userId: host.id, availability: { variant: "Calendar", id: hostCal.id } },
        200,
      );
    }
    Object.assign(env, { BENCH_BOOKING_SERVICE_ID: service.id, BENCH_BOOKING_FROM: BOOK_FROM });
    fs.writeFileSync(
      path.join(outDir, "booking.json"),
      JSON.stringify({ startTs: BOOK_FROM - HOUR / 2, duration: HOUR / 2 }),
    );
    fs.writeFileSync(
      path.join(outDir, "post-event.json"),
      JSON.stringify({ calendarId: postCal.id, startTs: FB_START, duration: HOUR, busy: true }),
    );
  }

  const tokens = await signAll(privateKey, user.id, tokenCount + 1);
  env.BENCH_TOKEN = tokens.pop(); // the repeated token is not among the unique ones
  fs.writeFileSync(path.join(outDir, "tokens.txt"), tokens.join("\n") + "\n");
  fs.writeFileSync(
    path.join(outDir, "seed.env"),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n",
  );
}
