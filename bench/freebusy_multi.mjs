// Seeding and measuring for bench/freebusy_multi.sh (run it through that script).
// Usage: node bench/freebusy_multi.mjs BASE_URL API_KEY REQUESTS
import { performance } from "node:perf_hooks";

const [base, apiKey, requestsArg] = process.argv.slice(2);
const REQUESTS = Number(requestsArg || 500);
const WARMUP = 50;
const USERS = 10;
const EVENTS_PER_USER = 300;
const DAY = 86400000;
const WINDOW_START = Date.UTC(2030, 0, 1); // 2030-01-01T00:00:00Z
const WINDOW_END = WINDOW_START + 31 * DAY;
const ZONES = ["Europe/Oslo", "America/New_York"];

if (!base || !apiKey) {
  console.error("usage: node bench/freebusy_multi.mjs BASE_URL API_KEY REQUESTS");
  process.exit(2);
}

// A small deterministic generator, so every run seeds the same data.
let seed = 42;
function rnd() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}

async function call(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { "x-api-key": apiKey, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) {
    throw new Error(`${method} ${path}: ${res.status} ${text}`);
  }
  return JSON.parse(text);
}

// The body of event i of a user: every third one recurs daily (no end, or a count), the rest
// are single events in [window start - 30 days, window end + 30 days].
function eventBody(calendarId, i) {
  const hour = Math.floor(rnd() * 12) + 7;
  const duration = (Math.floor(rnd() * 4) + 1) * 15 * 60000;
  const busy = rnd() < 0.8;
  if (i % 3 === 0) {
    const start = WINDOW_START - Math.floor(rnd() * 400) * DAY + hour * 3600000;
    const recurrence = { freq: "daily", interval: rnd() < 0.7 ? 1 : 2 };
    if (rnd() < 0.3) recurrence.count = 300 + Math.floor(rnd() * 400);
    return { calendarId, startTs: start, duration, busy, recurrence };
  }
  const start = WINDOW_START - 30 * DAY + Math.floor(rnd() * 91 * 24) * 3600000;
  return { calendarId, startTs: start, duration, busy };
}

async function seedUser() {
  const { user } = await call("POST", "/user", { metadata: { bench: "freebusy_multi" } });
  const calendars = [];
  for (const timezone of ZONES) {
    const { calendar } = await call("POST", `/user/${user.id}/calendar`, { timezone });
    calendars.push(calendar.id);
  }
  const bodies = [];
  for (let i = 0; i < EVENTS_PER_USER; i++) bodies.push(eventBody(calendars[i % 2], i));
  // 8 requests in flight per user.
  for (let i = 0; i < bodies.length; i += 8) {
    await Promise.all(bodies.slice(i, i + 8).map((b) => call("POST", `/user/${user.id}/events`, b)));
  }
  return user.id;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const t0 = performance.now();
const userIds = [];
for (let u = 0; u < USERS; u++) userIds.push(await seedUser());
const seedMs = performance.now() - t0;
console.log(
  `seeded ${USERS} users x ${EVENTS_PER_USER} events in ${(seedMs / 1000).toFixed(1)} s`
);

const body = { userIds, startTs: WINDOW_START, endTs: WINDOW_END };
const first = await call("POST", "/user/freebusy", body);
const keys = Object.keys(first);
if (keys.length !== USERS) throw new Error(`expected ${USERS} users in the answer, got ${keys.length}`);
const busyIntervals = keys.reduce((n, k) => n + first[k].length, 0);
console.log(`answer: ${USERS} users, ${busyIntervals} merged busy intervals over 31 days`);

for (let i = 0; i < WARMUP; i++) await call("POST", "/user/freebusy", body);
const lat = [];
const start = performance.now();
for (let i = 0; i < REQUESTS; i++) {
  const a = performance.now();
  await call("POST", "/user/freebusy", body);
  lat.push(performance.now() - a);
}
const total = performance.now() - start;
lat.sort((x, y) => x - y);
const f = (v) => v.toFixed(2);
console.log(
  `POST /user/freebusy (10 users, 31 days), ${REQUESTS} sequential requests on one ` +
    `keep-alive connection:`
);
console.log(
  `  median ${f(pct(lat, 50))} ms   p90 ${f(pct(lat, 90))} ms   p99 ${f(pct(lat, 99))} ms   ` +
    `min ${f(lat[0])} ms   max ${f(lat[lat.length - 1])} ms   ` +
    `(${(REQUESTS / (total / 1000)).toFixed(0)} req/s)`
);
