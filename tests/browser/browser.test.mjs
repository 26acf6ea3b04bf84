// Browser end-to-end test: the documented frontend JWT flow (the published client's JWT
// example, README "End-user tokens") runs in a real headless Chromium against the real nettu
// server, with the published client @nettu/sdk-scheduler 0.3.5 bundled for the browser by
// esbuild. The page is served by a static server on another 127.0.0.1 port, so every API
// call is cross-origin and CORS applies. A node "backend" plays the account's server: it
// uploads the RSA public key, creates the user and signs the RS256 token. Then the example
// page (examples/browser/) is driven against the same server and a screenshot is written.
//
// Needs: `npm ci` in this folder, Debian's chromium at /usr/bin/chromium
// (`apt-get install -y chromium`), the server and plugins built. Anything missing fails the
// test with what to install; nothing is skipped.
//
// Environment (besides nettu-server.mjs's):
//   NETTU_BROWSER_CHROMIUM    browser binary (default /usr/bin/chromium)
//   NETTU_BROWSER_SCREENSHOT  where the example page's screenshot goes
//                             (default docs/browser-screenshot.png in the repository)

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ROOT, startNettu } from "./nettu-server.mjs";
import { startStatic } from "./static-server.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.NETTU_BROWSER_CHROMIUM || "/usr/bin/chromium";
const SCREENSHOT = path.resolve(
  process.env.NETTU_BROWSER_SCREENSHOT || path.join(ROOT, "docs", "browser-screenshot.png"),
);
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];
// The documented claims; the policy allows everything but deleting calendars.
const POLICY = { allow: ["*"], reject: ["DeleteCalendar"] };
const HOUR = 3_600_000;

/* ---- prerequisites: fail with what to install, never skip ------------------------------- */

// Imports the npm packages; throws one message naming the command when they are missing.
async function loadPackages() {
  const need = "run `npm ci` in " + HERE + " (Node.js >= 20)";
  if (!fs.existsSync(path.join(HERE, "node_modules"))) {
    throw new Error(`the browser test's npm packages are not installed: ${need}`);
  }
  try {
    const { chromium } = await import("playwright-core");
    const esbuild = await import("esbuild");
    const jwt = (await import("jsonwebtoken")).default;
    const sdk = await import("@nettu/sdk-scheduler");
    return { chromium, esbuild, jwt, sdk };
  } catch (err) {
    if (err && err.code === "ERR_MODULE_NOT_FOUND") {
      throw new Error(`a package of the browser test is missing: ${need} (${err.message})`);
    }
    throw err;
  }
}

// Throws unless the Chromium binary exists and runs.
function checkChromium() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's package with ` +
        "`apt-get install -y chromium` (never `npx playwright install`), " +
        "or set NETTU_BROWSER_CHROMIUM",
    );
  }
}

// Bundles page/entry.mjs (which imports the published client) for the browser.
async function bundleEntry(esbuild) {
  const out = await esbuild.build({
    entryPoints: [path.join(HERE, "page", "entry.mjs")],
    bundle: true,
    platform: "browser",
    format: "iife",
    target: ["chrome110"],
    write: false,
    logLevel: "silent",
  });
  assert.equal(out.errors.length, 0, `esbuild: ${JSON.stringify(out.errors)}`);
  return out.outputFiles[0].text;
}

/* ---- shared state ------------------------------------------------------------------------- */

let pkgs;
let nettu; // the nettu server
let statics; // the static file server (the pages' origin)
let context; // the Chromium persistent context
let userDataDir;
let backend; // what the account's backend made: {accountId, userId, token, publicKey}
const problems = []; // console errors, page errors and failed requests of every page
const network = []; // CDP network log of every page: requests, responses, failures

// Records a page's console errors, page errors and failed requests into `problems`, and its
// network traffic (preflights included, via the DevTools protocol) into `network`.
async function watchPage(page, label) {
  page.on("console", (msg) => {
    if (msg.type() === "error" || /cors|access-control/i.test(msg.text())) {
      problems.push({ page: label, kind: `console.${msg.type()}`, text: msg.text() });
    }
  });
  page.on("pageerror", (err) => problems.push({ page: label, kind: "pageerror", text: String(err) }));
  page.on("requestfailed", (req) =>
    problems.push({
      page: label,
      kind: "requestfailed",
      text: `${req.method()} ${req.url()}: ${req.failure() && req.failure().errorText}`,
    }),
  );
  const cdp = await context.newCDPSession(page);
  const byId = new Map();
  cdp.on("Network.requestWillBeSent", (e) => {
    const entry = { page: label, id: e.requestId, type: e.type, method: e.request.method, url: e.request.url };
    entry.requestHeaders = e.request.headers;
    byId.set(e.requestId, entry);
    network.push(entry);
  });
  cdp.on("Network.responseReceived", (e) => {
    const entry = byId.get(e.requestId);
    if (entry) {
      entry.status = e.response.status;
      entry.headers = lowerKeys(e.response.headers);
    }
  });
  cdp.on("Network.loadingFailed", (e) => {
    const entry = byId.get(e.requestId);
    if (entry) entry.failed = e.errorText;
    const what = entry ? `${entry.method} ${entry.url}` : e.requestId;
    const cors = e.corsErrorStatus ? ` (CORS: ${JSON.stringify(e.corsErrorStatus)})` : "";
    problems.push({ page: label, kind: "loadingFailed", text: `${what}: ${e.errorText}${cors}` });
  });
  await cdp.send("Network.enable");
}

function lowerKeys(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) out[k.toLowerCase()] = v;
  return out;
}

// The console errors we accept: Chromium logs every non-2xx response it loads, and the test
// provokes 401 and 404 answers on purpose. Anything else (CORS above all) is a problem.
function unexpectedProblems() {
  return problems.filter(
    (p) =>
      !(
        p.kind === "console.error" &&
        /^Failed to load resource: the server responded with a status of (401|404) /.test(p.text) &&
        !/cors|access-control/i.test(p.text)
      ),
  );
}

// The calls the pages made to the nettu server (by CDP), with the preflights apart.
function apiTraffic() {
  const api = network.filter((n) => n.url.startsWith(nettu.baseUrl));
  return {
    preflights: api.filter((n) => n.type === "Preflight" || n.method === "OPTIONS"),
    calls: api.filter((n) => n.type !== "Preflight" && n.method !== "OPTIONS"),
  };
}

// Waits (at most 3 s) until every request to the API seen by CDP has its response or failure:
// DevTools events reach node asynchronously, after the page's own promises settled.
async function settled() {
  const deadline = Date.now() + 3000;
  const pending = () => network.filter((n) => n.url.startsWith(nettu.baseUrl) && !n.status && !n.failed);
  while (pending().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

// Admin request from node with the account's API key (the backend's view of the data).
async function admin(method, p, body) {
  const res = await fetch(nettu.baseUrl + p, {
    method,
    headers: { "x-api-key": nettu.apiKey, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

before(async () => {
  pkgs = await loadPackages();
  checkChromium();
  const bundle = await bundleEntry(pkgs.esbuild);
  nettu = await startNettu();
  statics = await startStatic({
    pageDir: path.join(HERE, "page"),
    exampleDir: path.join(ROOT, "examples", "browser"),
    bundle,
  });
  assert.notEqual(new URL(statics.origin).port, String(nettu.port), "pages and API on different origins");

  // The account's backend, as in the documented server-side code.
  const { NettuClient, config } = pkgs.sdk;
  config.baseUrl = nettu.baseUrl;
  const client = NettuClient({ apiKey: nettu.apiKey });
  const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const keyRes = await client.account.setPublicSigningKey(publicKey);
  assert.equal(keyRes.status, 200, `setPublicSigningKey: ${JSON.stringify(keyRes.data)}`);
  const userRes = await client.user.create();
  assert.equal(userRes.status, 201, `user.create: ${JSON.stringify(userRes.data)}`);
  const accountRes = await client.account.me();
  assert.equal(accountRes.status, 200, `account.me: ${JSON.stringify(accountRes.data)}`);
  const userId = userRes.data.user.id;
  const token = pkgs.jwt.sign(
    { nettuSchedulerUserId: userId, exp: 5609418990073, iat: 19, schedulerPolicy: POLICY },
    privateKey,
    { algorithm: "RS256" },
  );
  backend = { accountId: accountRes.data.account.id, userId, token, publicKey };

  userDataDir = await fsp.mkdtemp(path.join(os.tmpdir(), "nettu-chromium-"));
  context = await pkgs.chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1360, height: 900 },
    deviceScaleFactor: 1,
    timezoneId: "Europe/Oslo",
    locale: "en-GB",
  });
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) await fsp.rm(userDataDir, { recursive: true, force: true });
  if (statics) await statics.close();
  if (nettu) {
    const { code, signal } = await nettu.stop();
    assert.ok(code === 0 && signal === null, `server exit on SIGTERM: code ${code}, signal ${signal}`);
  }
});

/* ---- the documented flow in the browser --------------------------------------------------- */

let flow; // window.__results of the flow page

test("the documented frontend flow runs in Chromium with the bundled published client", async () => {
  const page = context.pages()[0] || (await context.newPage());
  await watchPage(page, "flow");
  await page.goto(`${statics.origin}/flow/`);
  await page.waitForFunction(() => window.__bundleReady === true);
  assert.equal(await page.evaluate(() => location.origin), statics.origin);
  flow = await page.evaluate((args) => window.runFlow(args), {
    baseUrl: nettu.baseUrl,
    token: backend.token,
    accountId: backend.accountId,
    userId: backend.userId,
  });
  assert.equal(flow.done, true);
  assert.deepEqual(await page.evaluate(() => window.__results.done), true);

  assert.equal(flow.me.status, 200, `GET /me: ${JSON.stringify(flow.me)}`);
  assert.equal(flow.me.data.user.id, backend.userId);

  assert.equal(flow.createCalendar.status, 201, `calendar.create: ${JSON.stringify(flow.createCalendar)}`);
  const cal = flow.createCalendar.data.calendar;
  assert.equal(cal.userId, backend.userId);
  assert.equal(cal.settings.timezone, "UTC");

  // The documented `status === 401`, with the JSON error body readable by the page.
  assert.equal(flow.removeCalendar.status, 401, `calendar.remove: ${JSON.stringify(flow.removeCalendar)}`);
  assert.equal(flow.removeCalendar.data.error, "unauthorized");
  assert.equal(typeof flow.removeCalendar.data.message, "string");
  assert.ok(flow.removeCalendar.data.message.length > 0);

  assert.equal(flow.updateCalendar.status, 200, `calendar.update: ${JSON.stringify(flow.updateCalendar)}`);
  assert.equal(flow.updateCalendar.data.calendar.settings.timezone, "Europe/Oslo");

  // The calendar is still there: the denied delete changed nothing.
  const stored = await admin("GET", `/user/calendar/${cal.id}`);
  assert.equal(stored.status, 200, `calendar after the denied delete: ${JSON.stringify(stored.json)}`);
});

test("events and free/busy from the browser", async () => {
  assert.ok(flow, "the flow ran");
  const cal = flow.createCalendar.data.calendar;
  assert.equal(flow.createEvent.status, 201, `events.create: ${JSON.stringify(flow.createEvent)}`);
  const ev = flow.createEvent.data.event;
  assert.equal(ev.calendarId, cal.id);
  assert.equal(ev.busy, true);
  assert.equal(ev.duration, HOUR);

  assert.equal(flow.calendarEvents.status, 200, `calendar.getEvents: ${JSON.stringify(flow.calendarEvents)}`);
  assert.deepEqual(
    flow.calendarEvents.data.events.map((e) => e.event.id),
    [ev.id],
  );
  assert.deepEqual(flow.calendarEvents.data.events[0].instances, [
    { startTs: ev.startTs, endTs: ev.startTs + HOUR, busy: true },
  ]);

  const busy = [{ startTs: ev.startTs, endTs: ev.startTs + HOUR, busy: true }];
  assert.equal(flow.freebusy.status, 200, `user.freebusy: ${JSON.stringify(flow.freebusy)}`);
  assert.deepEqual(flow.freebusy.data.busy, busy);
  assert.equal(flow.freebusy.data.userId, backend.userId);
  assert.equal(flow.freebusyFetch.status, 200, `fetch freebusy: ${JSON.stringify(flow.freebusyFetch)}`);
  assert.deepEqual(flow.freebusyFetch.json.busy, busy);

  assert.equal(flow.removeEvent.status, 200, `events.remove: ${JSON.stringify(flow.removeEvent)}`);
  assert.equal(flow.removeEvent.data.event.id, ev.id);
});

test("error bodies are readable cross-origin: 401 and 404 JSON through fetch()", async () => {
  assert.ok(flow, "the flow ran");
  for (const [name, status, kind] of [
    ["removeCalendarFetch", 401, "unauthorized"],
    ["missingCalendarFetch", 404, "not_found"],
    ["badTokenFetch", 401, "unauthorized"],
  ]) {
    const r = flow[name];
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r)}`);
    assert.match(String(r.contentType), /^application\/json/, `${name}: content type readable`);
    assert.equal(r.json && r.json.error, kind, `${name}: body ${r.text}`);
    assert.ok(r.json.message, `${name}: message`);
  }
  // The same text the published client saw for the denied delete.
  assert.equal(flow.removeCalendarFetch.json.message, flow.removeCalendar.data.message);
});

test("CORS seen by the browser: preflights succeed, headers on every answer", async () => {
  await settled();
  const { preflights, calls } = apiTraffic();
  const origin = statics.origin;
  assert.ok(calls.length >= 10, `API calls seen: ${calls.length}`);

  // Preflights for the PUT and the DELETEs with the custom headers.
  for (const method of ["PUT", "DELETE"]) {
    const pf = preflights.filter(
      (p) =>
        (p.requestHeaders["Access-Control-Request-Method"] || p.requestHeaders["access-control-request-method"]) ===
        method,
    );
    assert.ok(
      pf.length > 0,
      `a preflight for ${method}; preflights seen: ${JSON.stringify(preflights.map((p) => [p.method, p.url]))}`,
    );
    for (const p of pf) {
      const reqHeaders = lowerKeys(p.requestHeaders)["access-control-request-headers"] || "";
      assert.match(reqHeaders, /authorization/, `${method} preflight asks for authorization`);
      assert.match(reqHeaders, /nettu-account/, `${method} preflight asks for nettu-account`);
      assert.ok(p.status >= 200 && p.status < 300, `${method} preflight ${p.url} answered ${p.status}`);
      assert.equal(p.headers["access-control-allow-origin"], origin, `${method} preflight allow-origin`);
      assert.match(p.headers["access-control-allow-methods"] || "", new RegExp(`\\b${method}\\b`));
      const allowed = (p.headers["access-control-allow-headers"] || "").toLowerCase();
      for (const h of ["authorization", "nettu-account"])
        assert.ok(allowed.includes(h), `${method} preflight allows ${h}: ${allowed}`);
      const maxAge = Number(p.headers["access-control-max-age"]);
      assert.ok(maxAge > 0, `${method} preflight Access-Control-Max-Age: ${p.headers["access-control-max-age"]}`);
    }
  }

  // Every answer the pages got, errors included, carries the page's origin.
  const errors = calls.filter((c) => c.status >= 400);
  assert.ok(errors.some((c) => c.status === 401) && errors.some((c) => c.status === 404), "401 and 404 answers seen");
  for (const c of calls) {
    assert.ok(c.status, `${c.method} ${c.url} got an answer`);
    assert.equal(c.headers["access-control-allow-origin"], origin, `${c.method} ${c.url} (${c.status}) allow-origin`);
  }

  // The server saw the preflights too (its access log).
  assert.match(nettu.log(), /OPTIONS \/api\/v1\/\S+ 204\b/, "OPTIONS in the server log");
});

test("the flow page logged no CORS error and had no failed request", async () => {
  await settled();
  const bad = unexpectedProblems();
  assert.deepEqual(bad, [], `unexpected console errors or failed requests:\n${JSON.stringify(bad, null, 2)}`);
});

/* ---- the example page --------------------------------------------------------------------- */

// Events the test adds through the example page's form (a week in March 2026, Oslo time).
const EXAMPLE_NOW = new Date("2026-03-11T10:40:00+01:00");
const EXAMPLE_EVENTS = [
  { cal: "Work", title: "Sprint planning", date: "2026-03-09", time: "09:00", minutes: 90, busy: true },
  { cal: "Work", title: "Stand-up", date: "2026-03-09", time: "09:45", minutes: 15, busy: true, repeat: "weekdays" },
  { cal: "Work", title: "Design review", date: "2026-03-10", time: "13:00", minutes: 60, busy: true },
  { cal: "Personal", title: "Gym", date: "2026-03-11", time: "07:00", minutes: 60, busy: false },
  { cal: "Work", title: "1:1 with Ana", date: "2026-03-11", time: "11:00", minutes: 30, busy: true },
  { cal: "Work", title: "Focus time", date: "2026-03-12", time: "13:00", minutes: 120, busy: false },
  { cal: "Personal", title: "Dentist", date: "2026-03-13", time: "15:00", minutes: 45, busy: true },
];

test("the example page: calendars, events, free/busy and a denied delete, with a screenshot", async () => {
  const page = await context.newPage();
  await watchPage(page, "example");
  await page.clock.setFixedTime(EXAMPLE_NOW);
  const hash = new URLSearchParams({
    server: nettu.baseUrl,
    account: backend.accountId,
    token: backend.token,
  });
  await page.goto(`${statics.origin}/example/#${hash}`);
  await page.locator("#who").filter({ hasText: backend.userId }).waitFor();
  // The credentials left the address bar and went to localStorage.
  assert.equal(await page.evaluate(() => location.hash), "");
  assert.equal(
    await page.evaluate(() => JSON.parse(localStorage.getItem("nettu-example:connection")).account),
    backend.accountId,
  );

  // Two calendars through the page. The week's free/busy is held back 400 ms, so the second
  // name is typed while the first calendar's week still loads: what was typed must survive it.
  const slowFreebusy = async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 400));
    await route.continue();
  };
  await page.route(/\/freebusy\?/, slowFreebusy);
  for (const name of ["Work", "Personal"]) {
    await page.fill("#new-cal-name", name);
    await page.fill("#new-cal-tz", "Europe/Oslo");
    const created = page.waitForResponse(
      (r) => r.url() === `${nettu.baseUrl}/calendar` && r.request().method() === "POST",
    );
    await page.click("#create-calendar-form button[type=submit]");
    assert.equal((await created).status(), 201);
    await page.locator("#calendar-list .calendar", { hasText: name }).waitFor();
  }
  await page.unrouteAll({ behavior: "wait" }); // lets a held free/busy go on first
  const calIds = await page.$$eval("#calendar-list .calendar", (els) => els.map((e) => e.dataset.id));
  assert.equal(calIds.length, 2);

  // The events through the form.
  for (const ev of EXAMPLE_EVENTS) {
    await page.selectOption("#ev-calendar", { label: ev.cal });
    await page.fill("#ev-title", ev.title);
    await page.fill("#ev-date", ev.date);
    await page.fill("#ev-time", ev.time);
    await page.fill("#ev-duration", String(ev.minutes));
    await page.setChecked("#ev-busy", ev.busy);
    await page.selectOption("#ev-repeat", ev.repeat || "none");
    const created = page.waitForResponse(
      (r) => r.url() === `${nettu.baseUrl}/events` && r.request().method() === "POST",
    );
    await page.click("#event-form button[type=submit]");
    const res = await created;
    assert.equal(res.status(), 201, `POST /events for ${ev.title}: ${await res.text()}`);
    await page.locator(".event", { hasText: ev.title }).first().waitFor();
  }
  // 6 single events + the stand-up on the 5 weekdays.
  await page.waitForFunction(() => document.querySelectorAll("#grid .event").length === 11);
  assert.ok((await page.locator("#grid .busy").count()) >= 5, "free/busy blocks drawn");

  // The backend sees what the page made.
  const week = `startTs=${Date.parse("2026-03-09T00:00:00+01:00")}&endTs=${Date.parse("2026-03-16T00:00:00+01:00")}`;
  const stored = await admin("GET", `/user/calendar/${calIds[0]}/events?${week}`);
  assert.equal(stored.status, 200);
  const titles = stored.json.events.map((e) => e.event.metadata.title).sort();
  assert.deepEqual(titles, ["1:1 with Ana", "Design review", "Focus time", "Sprint planning", "Stand-up"]);
  const review = stored.json.events.find((e) => e.event.metadata.title === "Design review").event;
  assert.equal(review.startTs, Date.parse("2026-03-10T13:00:00+01:00"));
  assert.equal(review.duration, 60 * 60_000);

  // A calm picture: no focus ring, no hover, no "created" notice.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.mouse.move(0, 0);
  if (await page.locator("#toast").isVisible()) await page.click("#toast .toast-close");
  await fsp.mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: false });

  // Deleting a calendar is denied by the token's policy: the page shows the server's message.
  page.once("dialog", (d) => d.accept());
  const denied = page.waitForResponse((r) => r.request().method() === "DELETE" && r.url().includes("/calendar/"));
  await page.locator(`#calendar-list .calendar[data-id="${calIds[1]}"] .delete-calendar`).click();
  const deniedRes = await denied;
  assert.equal(deniedRes.status(), 401);
  const deniedBody = await deniedRes.json();
  await page.locator("#toast").filter({ hasText: deniedBody.message }).waitFor();
  assert.match(await page.locator("#toast").innerText(), /unauthorized/);
  assert.equal((await admin("GET", `/user/calendar/${calIds[1]}`)).status, 200, "the calendar is still there");

  // Deleting an event is allowed.
  await page.locator(".event", { hasText: "Dentist" }).click();
  await page.locator("#event-dialog[open]").waitFor();
  const removed = page.waitForResponse((r) => r.request().method() === "DELETE" && r.url().includes("/events/"));
  await page.click("#dlg-delete");
  assert.equal((await removed).status(), 200);
  await page.waitForFunction(() => document.querySelectorAll("#grid .event").length === 10);
  assert.equal(await page.locator(".event", { hasText: "Dentist" }).count(), 0);

  // The page remembers its calendars across a reload.
  await page.reload();
  await page.locator("#who").filter({ hasText: backend.userId }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll("#grid .event").length === 10);
  assert.equal(await page.locator("#calendar-list .calendar").count(), 2);

  const bad = unexpectedProblems();
  assert.deepEqual(bad, [], `unexpected console errors or failed requests:\n${JSON.stringify(bad, null, 2)}`);
});
