// Booking page example (examples/booking/) in headless Chromium against the real nettu server:
// the example's own --setup makes the service, its backend (server.mjs) runs on a free
// loopback port, and two browser contexts (two customers) race for one slot. Exactly one gets
// the confirmation, the other the "just taken" message, and the slot is gone from both lists;
// the server holds one booking. Also: a slot another customer books disappears from an idle
// page by polling alone, a confirmation that loses the race says "just taken", a cancelled
// booking's slot comes back, the backend's answers to bad input (400 JSON) and nettu's errors
// passed through, no answer to the browser contains the API key, and 502 when nettu is down.
//
// Needs what browser.test.mjs needs (`npm ci` here, Debian's chromium). Environment:
//   NETTU_BROWSER_CHROMIUM    browser binary (default /usr/bin/chromium)
//   NETTU_BOOKING_SCREENSHOT  when set, the winner's page (a day with slots and the
//                             confirmation) is saved there (docs/booking-page.png in the README)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULT_PLUGINS, ROOT, freePort, startNettu } from "./nettu-server.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.NETTU_BROWSER_CHROMIUM || "/usr/bin/chromium";
const SCREENSHOT = process.env.NETTU_BOOKING_SCREENSHOT ? path.resolve(process.env.NETTU_BOOKING_SCREENSHOT) : null;
const SERVER_MJS = path.join(ROOT, "examples", "booking", "server.mjs");
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"];
const MIN = 60_000;
const SLOT = 30 * MIN; // the example's default SLOT_MINUTES

let chromium;
let nettu;
let serviceId;
let example; // {url, child, output()}
let browser;
const pages = {}; // name -> {page, context}
const problems = []; // console errors, page errors, failed requests
const seen = []; // every response the pages got: {page, url, status, body, headers}

/* ---- helpers ------------------------------------------------------------------------------- */

// Runs `node server.mjs args` with env; resolves with {code, stdout, stderr}.
function runNode(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_MJS, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

// Starts the example backend; resolves once it prints its address.
async function startExample(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER_MJS], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exit = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start in 15 s:\n${out}`)), 15000);
    const onData = (d) => {
      out += d;
      if (out.includes(`http://127.0.0.1:${port}/`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited with ${code}:\n${out}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, child, exit, output: () => out };
}

// A request to the example backend from node: {status, type, json}.
async function api(method, p, body, headers = {}) {
  const res = await fetch(example.url + p, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(!text.includes(nettu.apiKey), `${method} ${p}: the answer contains the API key`);
  return { status: res.status, type: res.headers.get("content-type"), json: JSON.parse(text) };
}

// An admin request to nettu with the account's API key.
async function admin(method, p, body) {
  const res = await fetch(nettu.baseUrl + p, {
    method,
    headers: { "x-api-key": nettu.apiKey, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

function assertError(r, status, re) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.match(String(r.type), /^application\/json/);
  assert.equal(typeof r.json.error, "string", JSON.stringify(r.json));
  assert.ok(r.json.message, JSON.stringify(r.json));
  if (re) assert.match(r.json.message, re);
}

// Opens the page in a new browser context (a separate customer) and waits until it is ready.
async function openPage(name) {
  const context = await browser.newContext({ viewport: { width: 1120, height: 640 }, timezoneId: "Europe/Oslo", locale: "en-GB" });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") problems.push({ page: name, text: m.text() });
  });
  page.on("pageerror", (e) => problems.push({ page: name, text: String(e) }));
  page.on("requestfailed", (r) => problems.push({ page: name, text: `${r.method()} ${r.url()}: ${r.failure().errorText}` }));
  page.on("request", (r) => {
    const h = JSON.stringify(r.headers());
    if (h.includes(nettu.apiKey) || (r.postData() || "").includes(nettu.apiKey)) problems.push({ page: name, text: `request with the API key: ${r.url()}` });
  });
  page.on("response", async (r) => {
    const entry = { page: name, method: r.request().method(), url: r.url(), status: r.status(), headers: r.headers(), body: null };
    seen.push(entry);
    entry.body = await r.text().catch(() => "");
  });
  await page.goto(`${example.url}/`);
  await page.waitForSelector("body[data-ready=true]");
  pages[name] = { page, context };
  return page;
}

// The slot starts the page lists for the selected day.
const listed = (page) => page.$$eval("#slots .slot", (els) => els.map((e) => Number(e.dataset.start)));
const slotSel = (start) => `#slots .slot[data-start="${start}"]`;

// Clicks `target` (a selector, or an element handle clicked in one step from the page itself)
// and waits until the action it started (hold, confirm, cancel) ended; returns "held",
// "booked", "taken" (the "just taken" message) or another message's kind and text.
async function act(page, target, done = null) {
  if (done === null) done = await doneCount(page);
  if (typeof target === "string") await page.click(target);
  else await target.evaluate((el) => el.click());
  await page.waitForFunction((n) => Number(document.body.dataset.done || 0) > n, done);
  return page.evaluate(() => {
    const m = document.getElementById("message");
    if (!m.hidden) return m.dataset.kind === "taken" ? "taken" : `${m.dataset.kind}: ${m.textContent}`;
    if (!document.getElementById("state-booked").hidden) return "booked";
    return document.getElementById("state-held").hidden ? "idle" : "held";
  });
}

const doneCount = async (page) => Number((await page.evaluate(() => document.body.dataset.done)) || 0);

async function bookingsOn(dayStart) {
  const r = await admin("GET", `/service/${serviceId}/bookings?startTs=${dayStart}&endTs=${dayStart + 86_400_000}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.bookings;
}

/* ---- setup ---------------------------------------------------------------------------------- */

before(async () => {
  if (!fs.existsSync(path.join(HERE, "node_modules"))) throw new Error(`run \`npm ci\` in ${HERE} (Node.js >= 20)`);
  ({ chromium } = await import("playwright-core"));
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: \`apt-get install -y chromium\`, or set NETTU_BROWSER_CHROMIUM`);
  nettu = await startNettu({ plugins: [...DEFAULT_PLUGINS, "schedule", "service"] });

  // The README's steps: --setup prints SERVICE_ID=..., then the backend serves the page.
  const env = { NETTU_URL: nettu.origin, NETTU_API_KEY: nettu.apiKey, TIMEZONE: "Europe/Oslo" };
  const setup = await runNode(["--setup"], env);
  assert.equal(setup.code, 0, `--setup: ${setup.stderr}`);
  const m = /^SERVICE_ID=([0-9a-f-]{36})$/m.exec(setup.stdout);
  assert.ok(m, `--setup printed: ${setup.stdout}`);
  serviceId = m[1];
  example = await startExample({ ...env, SERVICE_ID: serviceId });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (example && example.child.exitCode === null) {
    example.child.kill("SIGTERM");
    const { code, signal } = await example.exit;
    assert.ok(code === 0 && signal === null, `example exit on SIGTERM: ${code} ${signal}\n${example.output()}`);
  }
  if (nettu) await nettu.stop();
});

/* ---- the backend's answers ------------------------------------------------------------------- */

test("the backend: config without the key, 400 for bad input, nettu's errors passed through", async () => {
  const cfg = await api("GET", "/api/config");
  assert.equal(cfg.status, 200);
  assert.equal(cfg.json.serviceId, serviceId);
  assert.equal(cfg.json.nettuUrl, nettu.baseUrl);
  assert.equal(cfg.json.serviceName, "Consultation");
  assert.equal(cfg.json.slotMinutes, 30);
  assert.deepEqual(Object.keys(cfg.json).sort(), ["accountId", "holdSeconds", "nettuUrl", "serviceId", "serviceName", "slotMinutes"]);
  assert.equal(cfg.json.accountId, (await admin("GET", "/account")).json.account.id);

  const page = await fetch(`${example.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  assert.ok(!(await page.text()).includes(nettu.apiKey));

  // bodies
  assertError(await api("POST", "/api/holds", "{", {}), 400, /JSON/);
  assertError(await api("POST", "/api/holds", "[1]"), 400, /object/);
  assertError(await api("POST", "/api/holds", "null"), 400, /object/);
  assertError(await api("POST", "/api/holds", {}), 400, /^startTs is required/);
  for (const startTs of ["1", -1, 1.5, null, 2 ** 60]) assertError(await api("POST", "/api/holds", { startTs }), 400, /^startTs must be/);
  const noType = await fetch(`${example.url}/api/holds`, { method: "POST", body: "{}" });
  assert.equal(noType.status, 415);
  assert.match((await noType.json()).message, /application\/json/);
  for (const n of [20_000, 2_000_000]) {
    assertError(await api("POST", "/api/holds", JSON.stringify({ startTs: 1, pad: "x".repeat(n) })), 413);
  }
  const hold = crypto.randomUUID();
  const ok = { holdId: hold, startTs: Date.now() + 86_400_000, name: "Ana" };
  assertError(await api("POST", "/api/bookings", {}), 400, /^holdId is required/);
  assertError(await api("POST", "/api/bookings", { ...ok, holdId: "nope" }), 400, /^holdId must be a UUID/);
  assertError(await api("POST", "/api/bookings", { ...ok, holdId: 7 }), 400, /^holdId must be a UUID/);
  assertError(await api("POST", "/api/bookings", { ...ok, startTs: undefined }), 400, /^startTs is required/);
  assertError(await api("POST", "/api/bookings", { ...ok, name: undefined }), 400, /^name is required/);
  assertError(await api("POST", "/api/bookings", { ...ok, name: 5 }), 400, /^name must be a string/);
  assertError(await api("POST", "/api/bookings", { ...ok, name: "  " }), 400, /^name must not be empty/);
  assertError(await api("POST", "/api/bookings", { ...ok, name: "x".repeat(81) }), 400, /at most 80/);
  assertError(await api("DELETE", "/api/holds/nope"), 400, /^holdId must be a UUID/);
  assertError(await api("DELETE", "/api/bookings/%E0%A4%A"), 400); // bad percent-encoding
  assertError(await api("DELETE", "/api/bookings/1234"), 400, /^bookingId must be a UUID/);
  // routes and methods
  assertError(await api("GET", "/api/nothing"), 404, /no route/);
  assertError(await api("GET", "/api/holds"), 405, /use POST/);
  assertError(await api("PUT", "/api/bookings/" + hold), 405, /use DELETE/);
  assertError(await api("POST", "/"), 405);
  assertError(await api("GET", "/../server.mjs"), 404);

  // nettu's answers pass through with their status and message
  const unknownHold = await admin("DELETE", `/service/${serviceId}/holds/${hold}`);
  const viaExample = await api("DELETE", `/api/holds/${hold}`);
  assertError(viaExample, unknownHold.status);
  assert.equal(unknownHold.status, 404);
  assert.deepEqual(viaExample.json, unknownHold.json);
  const noHold = await api("POST", "/api/bookings", ok);
  assertError(noHold, 409, /no hold/);
  const night = Date.UTC(2030, 9, 9, 1, 0); // a Wednesday, 03:00 in Oslo: outside 09-17
  const outside = await api("POST", "/api/holds", { startTs: night });
  assertError(outside, 409, /availability/);
  assert.deepEqual(outside.json, (await admin("POST", `/service/${serviceId}/holds`, { startTs: night, duration: SLOT })).json);
  assertError(await api("DELETE", `/api/bookings/${crypto.randomUUID()}`), 404);

  // still serving, and nothing was booked or held
  assert.equal((await api("GET", "/api/config")).status, 200);
  assert.equal(example.child.exitCode, null);
  assert.deepEqual(await bookingsOn(night - 86_400_000), []);
});

/* ---- two customers in the browser ----------------------------------------------------------- */

let day; // {key, start (ms of local midnight)}
let winner;
let loser;
let loserName;
let raced; // the slot both wanted

test("two customers race for one slot: one confirmation, one 'just taken', the slot gone from both", async () => {
  const a = await openPage("A");
  const b = await openPage("B");
  // The same day on both: the first day after today with free times.
  const dayKey = await a.$$eval("#days .day", (els) => els.slice(1).find((e) => !e.classList.contains("empty")).dataset.date);
  for (const p of [a, b]) await p.click(`#days .day[data-date="${dayKey}"]`);
  const [y, mo, d] = dayKey.split("-").map(Number);
  const starts = await listed(a);
  assert.deepEqual(await listed(b), starts, "both pages list the same free times");
  // Mon-Fri 09:00-17:00 Oslo, 30-minute slots: 16 on a day after today.
  assert.equal(starts.length, 16, `slots on ${dayKey}: ${starts.length}`);
  const nine = new Date(starts[0]).toLocaleString("en-GB", { timeZone: "Europe/Oslo", hour: "2-digit", minute: "2-digit" });
  assert.equal(nine, "09:00");
  assert.equal(await a.locator("#slots .slot").first().innerText(), "09:00");
  day = { key: dayKey, start: starts[0] - 9 * 3_600_000 };
  assert.equal(`${y}-${mo}-${d}`, dayKey);

  raced = starts[2]; // 10:00
  // Both buttons are found first and clicked in one round trip each: a slot list that a poll
  // redraws in between cannot make a click miss (the detached button still starts its hold).
  const buttons = [await a.$(slotSel(raced)), await b.$(slotSel(raced))];
  const counts = [await doneCount(a), await doneCount(b)];
  const [ra, rb] = await Promise.all([act(a, buttons[0], counts[0]), act(b, buttons[1], counts[1])]);
  const results = { A: ra, B: rb };
  assert.deepEqual(Object.values(results).sort(), ["held", "taken"], JSON.stringify(results));
  const [wName, lName] = results.A === "held" ? ["A", "B"] : ["B", "A"];
  winner = pages[wName].page;
  loser = pages[lName].page;
  loserName = lName;
  const msg = await loser.locator("#message").innerText();
  assert.match(msg, /just taken/);
  assert.match(msg, /10:00/);
  assert.match(await winner.locator("#held-when").innerText(), /10:00 – 10:30/);

  await winner.fill("#name", "Ana Example");
  assert.equal(await act(winner, "#confirm"), "booked");
  assert.match(await winner.locator("#state-booked").innerText(), /Booked[\s\S]*10:00 – 10:30[\s\S]*for Ana Example/);

  // Gone from both lists (each page refreshed after its action), the neighbours still there.
  for (const p of [winner, loser]) {
    await p.waitForFunction((s) => !document.querySelector(`#slots .slot[data-start="${s}"]`), raced);
    const now = await listed(p);
    assert.ok(now.includes(raced - SLOT) && now.includes(raced + SLOT));
    assert.equal(now.length, 15);
  }
  // The server agrees: one confirmed booking, for the winner's name.
  const bookings = await bookingsOn(day.start);
  assert.equal(bookings.length, 1, JSON.stringify(bookings));
  assert.equal(bookings[0].startTs, raced);
  assert.equal(bookings[0].duration, SLOT);
  assert.equal(bookings[0].status, "confirmed");
  assert.deepEqual(bookings[0].metadata, { customer: "Ana Example" });
  assert.equal(await winner.locator("#booked-id").innerText(), bookings[0].id);

  if (SCREENSHOT) {
    await winner.evaluate(() => document.activeElement && document.activeElement.blur());
    await winner.mouse.move(0, 0);
    await fsp.mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await winner.screenshot({ path: SCREENSHOT, fullPage: false });
  }
});

test("an idle page loses a slot another customer booked, by polling alone", async () => {
  assert.ok(winner, "the race ran");
  const taken = raced + 4 * SLOT; // 12:00
  assert.ok((await listed(loser)).includes(taken));
  const before = seen.length;
  await winner.click("#another");
  assert.equal(await act(winner, slotSel(taken)), "held");
  await winner.fill("#name", "Bo");
  assert.equal(await act(winner, "#confirm"), "booked");
  const t0 = Date.now();
  await loser.waitForFunction((s) => !document.querySelector(`#slots .slot[data-start="${s}"]`), taken, { timeout: 20000 });
  const loserCalls = seen.slice(before).filter((s) => s.page === loserName && s.url.startsWith(`${example.url}/api/`));
  assert.deepEqual(loserCalls.map((s) => s.url), [], "the idle page made no backend call");
  assert.ok(Date.now() - t0 < 20000);
  assert.equal((await bookingsOn(day.start)).length, 2);
});

test("a confirmation that loses the race says 'just taken'; a cancelled booking's slot comes back", async () => {
  assert.ok(winner, "the race ran");
  const slot = raced + 6 * SLOT; // 13:00
  assert.equal(await act(loser, slotSel(slot)), "held");
  // Meanwhile the hold is gone (as if it expired) and someone else books the time.
  const blocked = await admin("POST", `/service/${serviceId}/holds`, { startTs: slot, duration: SLOT });
  assert.equal(blocked.status, 409, "the page's hold blocks others");
  const heldId = await loser.evaluate(() => state.hold.id);
  assert.equal((await admin("DELETE", `/service/${serviceId}/holds/${heldId}`)).status, 200);
  const other = await admin("POST", `/service/${serviceId}/bookings`, { startTs: slot, duration: SLOT, metadata: { customer: "phone" } });
  assert.equal(other.status, 201, JSON.stringify(other.json));
  await loser.fill("#name", "Cy");
  assert.equal(await act(loser, "#confirm"), "taken");
  assert.match(await loser.locator("#message").innerText(), /13:00[\s\S]*just taken/);
  assert.ok(await loser.locator("#state-idle").isVisible());
  await loser.waitForFunction((s) => !document.querySelector(`#slots .slot[data-start="${s}"]`), slot);
  const bookings = (await bookingsOn(day.start)).filter((b) => b.startTs === slot);
  assert.deepEqual(bookings.map((b) => b.metadata.customer), ["phone"]);

  // The winner cancels its 12:00 booking: back in both lists.
  const back = raced + 4 * SLOT;
  assert.match(await act(winner, "#cancel-booking"), /^info: Your booking for .*12:00.* is cancelled/);
  for (const p of [winner, loser]) await p.waitForSelector(slotSel(back), { timeout: 20000 });
  const cancelled = (await bookingsOn(day.start)).find((b) => b.startTs === back);
  assert.equal(cancelled.status, "cancelled");
});

test("the browser never saw the API key, and nothing failed unexpectedly", async () => {
  assert.ok(seen.length > 10, `responses seen: ${seen.length}`);
  await new Promise((r) => setTimeout(r, 200)); // the last bodies
  for (const s of seen) {
    assert.ok(!String(s.body).includes(nettu.apiKey), `${s.method} ${s.url} carried the API key`);
    assert.ok(!JSON.stringify(s.headers).includes(nettu.apiKey), `${s.method} ${s.url} headers carried the API key`);
  }
  // The slot queries went to nettu directly, with the account header; holds to the backend.
  assert.ok(seen.some((s) => s.url.startsWith(`${nettu.baseUrl}/service/${serviceId}/booking?`) && s.status === 200));
  assert.ok(seen.some((s) => s.url === `${example.url}/api/holds` && s.status === 409));
  assert.ok(!seen.some((s) => s.url.startsWith(nettu.baseUrl) && s.method !== "GET" && s.method !== "OPTIONS"), "no write went to nettu from the browser");
  // Chromium logs each 409 (a lost race) it loaded; anything else is a problem.
  const bad = problems.filter((p) => !/^Failed to load resource: the server responded with a status of 409 /.test(p.text));
  assert.deepEqual(bad, []);
});

test("nettu down: the backend answers 502 JSON and keeps running", async () => {
  const { code, signal } = await nettu.stop();
  assert.ok(code === 0 && signal === null, `server exit: ${code} ${signal}`);
  const r = await api("POST", "/api/holds", { startTs: Date.now() + 86_400_000 });
  assertError(r, 502, /not reachable/);
  assert.equal((await api("GET", "/api/config")).status, 200);
});
