// Seeding and measuring for bench/bookings.sh (run it through that script).
// Usage: node bench/bookings.mjs BASE_URL API_KEY BOOKINGS CLIENTS
//
// One slot-rich service: 4 hosts, each with a calendar holding one free (non-busy) event over
// 60 days as its availability (also its booking calendar), round robin. CLIENTS concurrent
// clients book distinct 30-minute slots (client c takes slots c, c + CLIENTS, ...) until
// BOOKINGS bookings were asked for; then, for comparison, the same clients create as many
// plain events (POST /user/{userId}/events) in a fifth user's calendar. Prints for both the
// rate (requests/s), the latency (median, p90, p99, max) and the status counts.
import { performance } from "node:perf_hooks";

const [base, apiKey, bookingsArg, clientsArg] = process.argv.slice(2);
const BOOKINGS = Number(bookingsArg || 2000);
const CLIENTS = Number(clientsArg || 64);
const HOSTS = 4;
const DAY = 86400000;
const SLOT = 30 * 60000;
const START = Date.UTC(2030, 0, 1);

if (!base || !apiKey) {
  console.error("usage: node bench/bookings.mjs BASE_URL API_KEY BOOKINGS CLIENTS");
  process.exit(2);
}

async function call(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { "x-api-key": apiKey, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text };
}

async function must(method, path, body) {
  const r = await call(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

async function host() {
  const user = (await must("POST", "/user", {})).user;
  const cal = (await must("POST", `/user/${user.id}/calendar`, { timezone: "UTC" })).calendar;
  await must("POST", `/user/${user.id}/events`, { calendarId: cal.id, startTs: START, duration: 60 * DAY, busy: false });
  return { user, cal };
}

// Runs `total` requests from `clients` concurrent loops; request i is made by make(i).
async function run(total, clients, make) {
  const lat = [];
  const statuses = {};
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const s = performance.now();
        const r = await make(i);
        lat.push(performance.now() - s);
        statuses[r.status] = (statuses[r.status] || 0) + 1;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
  return { rate: (total / secs).toFixed(0), median: q(0.5), p90: q(0.9), p99: q(0.99), max: lat[lat.length - 1].toFixed(1), statuses };
}

const service = (await must("POST", "/service", {})).service;
for (let i = 0; i < HOSTS; i++) {
  const h = await host();
  await must("POST", `/service/${service.id}/users`, { userId: h.user.id, availability: { variant: "Calendar", id: h.cal.id } });
}
const plain = await host();
// Slot i: distinct for every request (HOSTS hosts could share one, but none is asked twice).
const booking = await run(BOOKINGS, CLIENTS, (i) =>
  call("POST", `/service/${service.id}/bookings`, { startTs: START + i * SLOT, duration: SLOT }),
);
const events = await run(BOOKINGS, CLIENTS, (i) =>
  call("POST", `/user/${plain.user.id}/events`, { calendarId: plain.cal.id, startTs: START + i * SLOT, duration: SLOT, busy: true }),
);
const line = (name, r) =>
  `${name}: ${r.rate}/s, latency ms median ${r.median} p90 ${r.p90} p99 ${r.p99} max ${r.max}, statuses ${JSON.stringify(r.statuses)}`;
console.log(`bench: ${BOOKINGS} requests each, ${CLIENTS} concurrent clients, ${HOSTS} hosts`);
console.log(line("POST .../bookings", booking));
console.log(line("POST /user/{userId}/events", events));
console.log(`BENCH_RESULT bookings_per_s=${booking.rate} bookings_p99_ms=${booking.p99} events_per_s=${events.rate} events_p99_ms=${events.p99}`);
