// Seeding and measuring for bench/booking_slots.sh (run it through that script).
// Usage: node bench/booking_slots.mjs BASE_URL API_KEY REQUESTS SERVER_PID
//
// One service with 10 hosts; each host has a schedule (Europe/Berlin, Monday to Friday
// 09:00-17:30) as availability and two busy calendars holding 300 events between them (a
// third daily-recurring, the generator of freebusy_multi.mjs), registered as the member's
// busy calendars with 10-minute buffers. Measured, sequentially on one keep-alive
// connection: the booking slots of 31 days (15-minute interval, 30-minute duration), then the
// multi-user free/busy of the same 10 users and 31 days; for each the latency (median, p90,
// p99) and the server's CPU time per request (utime + stime of SERVER_PID from /proc).
import fs from "node:fs";
import { performance } from "node:perf_hooks";

const [base, apiKey, requestsArg, pidArg] = process.argv.slice(2);
const REQUESTS = Number(requestsArg || 200);
const WARMUP = 20;
const HOSTS = 10;
const EVENTS_PER_HOST = 300;
const DAY = 86400000;
const WINDOW_START = Date.UTC(2030, 0, 1); // 2030-01-01T00:00:00Z
const WINDOW_END = WINDOW_START + 31 * DAY;
const ZONES = ["Europe/Oslo", "America/New_York"];

if (!base || !apiKey || !pidArg) {
  console.error("usage: node bench/booking_slots.mjs BASE_URL API_KEY REQUESTS SERVER_PID");
  process.exit(2);
}

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
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// As freebusy_multi.mjs: every third event recurs daily, the rest are single events around
// the window; 80 % busy.
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

async function seedHost(serviceId) {
  const { user } = await call("POST", "/user", { metadata: { bench: "booking_slots" } });
  const { schedule } = await call("POST", `/user/${user.id}/schedule`, { timezone: "Europe/Berlin" });
  const calendars = [];
  for (const timezone of ZONES) {
    calendars.push((await call("POST", `/user/${user.id}/calendar`, { timezone })).calendar.id);
  }
  const bodies = [];
  for (let i = 0; i < EVENTS_PER_HOST; i++) bodies.push(eventBody(calendars[i % 2], i));
  for (let i = 0; i < bodies.length; i += 8) {
    await Promise.all(bodies.slice(i, i + 8).map((b) => call("POST", `/user/${user.id}/events`, b)));
  }
  await call("POST", `/service/${serviceId}/users`, {
    userId: user.id,
    availability: { variant: "Schedule", id: schedule.id },
    busy: calendars,
    bufferBefore: 10,
    bufferAfter: 10,
  });
  return user.id;
}

// The server's CPU time so far, in ms (utime + stime of /proc/PID/stat).
function cpuMs() {
  const stat = fs.readFileSync(`/proc/${pidArg}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14 and 15; USER_HZ = 100
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function measure(label, method, path, body) {
  for (let i = 0; i < WARMUP; i++) await call(method, path, body);
  const lat = [];
  const cpu0 = cpuMs();
  const start = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const a = performance.now();
    await call(method, path, body);
    lat.push(performance.now() - a);
  }
  const total = performance.now() - start;
  const cpu = (cpuMs() - cpu0) / REQUESTS;
  lat.sort((x, y) => x - y);
  const f = (v) => v.toFixed(2);
  console.log(`${label}, ${REQUESTS} sequential requests on one keep-alive connection:`);
  console.log(
    `  median ${f(pct(lat, 50))} ms   p90 ${f(pct(lat, 90))} ms   p99 ${f(pct(lat, 99))} ms   ` +
      `max ${f(lat[lat.length - 1])} ms   server CPU ${f(cpu)} ms/request   ` +
      `(${(REQUESTS / (total / 1000)).toFixed(0)} req/s)`,
  );
  return cpu;
}

const t0 = performance.now();
const { service } = await call("POST", "/service", { metadata: { bench: "booking_slots" } });
const userIds = [];
for (let u = 0; u < HOSTS; u++) userIds.push(await seedHost(service.id));
console.log(
  `seeded 1 service, ${HOSTS} hosts x (schedule + 2 busy calendars, ${EVENTS_PER_HOST} events) ` +
    `in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

const query =
  `/service/${service.id}/booking?startDate=2030-1-1&endDate=2030-1-31&ianaTz=UTC` +
  `&duration=${30 * 60000}&interval=${15 * 60000}`;
const first = await call("GET", query);
const slots = first.dates.reduce((n, d) => n + d.slots.length, 0);
console.log(`answer: ${first.dates.length} dates, ${slots} slots`);
if (slots === 0) throw new Error("the benchmark's service has no slots: the seed is wrong");

const slotCpu = await measure("GET /service/{id}/booking (10 hosts, 31 days, 15 min / 30 min)", "GET", query);
const fbCpu = await measure("POST /user/freebusy (the same 10 users, 31 days)", "POST", "/user/freebusy", {
  userIds,
  startTs: WINDOW_START,
  endTs: WINDOW_END,
});
console.log(`CPU per request, booking slots / multi-user free/busy: ${(slotCpu / fbCpu).toFixed(2)}`);
