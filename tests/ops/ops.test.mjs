// Operations plugins end to end: the metrics plugin (GET /metrics in the Prometheus text
// format, the health probes /api/v1/health/live and /api/v1/health/ready, which answers 503
// while storage is unavailable) and the openapi plugin (GET /api/v1/openapi.json lists exactly
// the registered routes with their auth, permissions and plugin).
//
// Uses the e2e harness (../e2e/harness.mjs) to run the real server with the default plugins
// that this build has, plus metrics and openapi. Storage faults come from the store_sqlite
// `fault_file` test hook (plugins/store_sqlite/README.md).

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { DEFAULT_PLUGINS, assertError, assertOk, rsaKeyPair, startServer, userToken } from "../e2e/harness.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const E2E = path.resolve(HERE, "..", "e2e");
const PLUGIN_DIR = path.resolve(E2E, process.env.NETTU_PLUGIN_DIR || "../../build/plugins");

// The default plugins this build has (a plugin still being written may be missing), then ours.
const REQUIRED = ["store_sqlite", "auth_nettu", "policy", "account", "user"];
const PLUGINS = [
  ...DEFAULT_PLUGINS.filter((p) => REQUIRED.includes(p) || fs.existsSync(path.join(PLUGIN_DIR, `${p}.so`))),
  "metrics",
  "openapi",
];
const SKIPPED = DEFAULT_PLUGINS.filter((p) => !PLUGINS.includes(p));

/* ------------------------------------------------------------------------------------------
 * The routes each plugin registers (the routes of the original nettu scheduler, and the
 * schedules), with the registering plugin, plus the routes of the core,
 * metrics and openapi.
 * Auth: public, admin, user, admin_or_user, public_account (nt_auth_kind names).
 */
const V1 = "/api/v1";
const ROUTES = [
  ["core", "GET", "/api/v1/", "public"],
  ["core", "GET", "/api/v1", "public"],
  ["account", "POST", `${V1}/account`, "public"],
  ["account", "GET", `${V1}/account`, "admin"],
  ["account", "PUT", `${V1}/account/pubkey`, "admin"],
  ["account", "PUT", `${V1}/account/webhook`, "admin"],
  ["account", "DELETE", `${V1}/account/webhook`, "admin"],
  ["user", "POST", `${V1}/user`, "admin"],
  ["user", "GET", `${V1}/user/meta`, "admin"],
  ["user", "GET", `${V1}/user/{userId}`, "admin"],
  ["user", "PUT", `${V1}/user/{userId}`, "admin"],
  ["user", "DELETE", `${V1}/user/{userId}`, "admin"],
  ["user", "GET", `${V1}/me`, "user"],
  ["calendar", "POST", `${V1}/calendar`, "user", ["CreateCalendar"]],
  ["calendar", "POST", `${V1}/user/{userId}/calendar`, "admin"],
  ["calendar", "GET", `${V1}/calendar/{calendarId}`, "user"],
  ["calendar", "GET", `${V1}/user/calendar/{calendarId}`, "admin"],
  ["calendar", "PUT", `${V1}/calendar/{calendarId}`, "user", ["UpdateCalendar"]],
  ["calendar", "PUT", `${V1}/user/calendar/{calendarId}`, "admin"],
  ["calendar", "DELETE", `${V1}/calendar/{calendarId}`, "user", ["DeleteCalendar"]],
  ["calendar", "DELETE", `${V1}/user/calendar/{calendarId}`, "admin"],
  ["calendar", "GET", `${V1}/calendar/meta`, "admin"],
  ["events", "GET", `${V1}/user/{userId}/freebusy`, "public_account"],
  ["events", "POST", `${V1}/user/freebusy`, "public_account"], // nittei-style multi-user free/busy
  ["events", "GET", `${V1}/calendar/{calendarId}/events`, "user"],
  ["events", "GET", `${V1}/user/calendar/{calendarId}/events`, "admin_or_user"],
  ["events", "GET", `${V1}/calendar/{calendarId}/ical`, "user"], // iCalendar export
  ["events", "GET", `${V1}/user/calendar/{calendarId}/ical`, "admin"],
  ["events", "POST", `${V1}/events`, "user", ["CreateCalendarEvent"]],
  ["events", "POST", `${V1}/user/{userId}/events`, "admin"],
  ["events", "GET", `${V1}/events/{eventId}`, "user"],
  ["events", "GET", `${V1}/user/events/{eventId}`, "admin"],
  ["events", "PUT", `${V1}/events/{eventId}`, "user", ["UpdateCalendarEvent"]],
  ["events", "PUT", `${V1}/user/events/{eventId}`, "admin"],
  ["events", "DELETE", `${V1}/events/{eventId}`, "user", ["DeleteCalendarEvent"]],
  ["events", "DELETE", `${V1}/user/events/{eventId}`, "admin"],
  ["events", "GET", `${V1}/events/{eventId}/instances`, "user"],
  ["events", "GET", `${V1}/user/events/{eventId}/instances`, "admin"],
  ["events", "GET", `${V1}/events/meta`, "admin"],
  ["schedule", "POST", `${V1}/schedule`, "user", ["CreateSchedule"]],
  ["schedule", "POST", `${V1}/user/{userId}/schedule`, "admin"],
  ["schedule", "GET", `${V1}/schedule/{scheduleId}`, "user"],
  ["schedule", "GET", `${V1}/user/schedule/{scheduleId}`, "admin"],
  ["schedule", "PUT", `${V1}/schedule/{scheduleId}`, "user", ["UpdateSchedule"]],
  ["schedule", "PUT", `${V1}/user/schedule/{scheduleId}`, "admin"],
  ["schedule", "DELETE", `${V1}/schedule/{scheduleId}`, "user", ["DeleteSchedule"]],
  ["schedule", "DELETE", `${V1}/user/schedule/{scheduleId}`, "admin"],
  ["schedule", "GET", `${V1}/schedule/meta`, "admin"],
  ["webhooks", "POST", `${V1}/account/webhook/test`, "admin"],
  ["webhooks", "GET", `${V1}/account/webhook/deliveries`, "admin"],
  ["service", "POST", `${V1}/service`, "admin"],
  ["service", "GET", `${V1}/service/meta`, "admin"],
  ["service", "GET", `${V1}/service/{serviceId}`, "admin"],
  ["service", "PUT", `${V1}/service/{serviceId}`, "admin"],
  ["service", "DELETE", `${V1}/service/{serviceId}`, "admin"],
  ["service", "POST", `${V1}/service/{serviceId}/users`, "admin"],
  ["service", "PUT", `${V1}/service/{serviceId}/users/{userId}`, "admin"],
  ["service", "DELETE", `${V1}/service/{serviceId}/users/{userId}`, "admin"],
  ["service", "PUT", `${V1}/service/{serviceId}/users/{userId}/busy`, "admin"],
  ["service", "DELETE", `${V1}/service/{serviceId}/users/{userId}/busy`, "admin"],
  ["service", "GET", `${V1}/service/{serviceId}/booking`, "public"],
  ["service", "POST", `${V1}/service/{serviceId}/booking-intend`, "admin"],
  ["service", "DELETE", `${V1}/service/{serviceId}/booking-intend`, "admin"],
  ["service", "POST", `${V1}/service/{serviceId}/bookings`, "admin"],
  ["service", "GET", `${V1}/service/{serviceId}/bookings`, "admin"],
  ["service", "GET", `${V1}/service/{serviceId}/bookings/{bookingId}`, "admin"],
  ["service", "DELETE", `${V1}/service/{serviceId}/bookings/{bookingId}`, "admin"],
  ["service", "POST", `${V1}/service/{serviceId}/holds`, "admin"],
  ["service", "DELETE", `${V1}/service/{serviceId}/holds/{holdId}`, "admin"],
  ["metrics", "GET", "/metrics", "public"],
  ["metrics", "GET", `${V1}/health/live`, "public"],
  ["metrics", "GET", `${V1}/health/ready`, "public"],
  ["openapi", "GET", `${V1}/openapi.json`, "public"],
].map(([plugin, method, p, auth, perms = []]) => ({ plugin, method, path: p, auth, perms }));

const EXPECTED = ROUTES.filter((r) => r.plugin === "core" || PLUGINS.includes(r.plugin));

// The OpenAPI security requirement of each auth kind.
const SECURITY = {
  public: [],
  admin: [{ apiKey: [] }],
  user: [{ nettuAccount: [], bearerJwt: [] }],
  admin_or_user: [{ apiKey: [] }, { nettuAccount: [], bearerJwt: [] }],
  public_account: [{ nettuAccount: [] }, { apiKey: [] }],
};

/* ------------------------------------------------------------------------------------------
 * Server and helpers.
 */

let srv;
let faultDir;
let faultFile;

before(async () => {
  if (SKIPPED.length) console.log(`# not built, not loaded: ${SKIPPED.join(", ")}`);
  faultDir = await fsp.mkdtemp(path.join(os.tmpdir(), "nettu-ops-"));
  faultFile = path.join(faultDir, "fault");
  srv = await startServer({ plugins: PLUGINS, ini: { store_sqlite: { fault_file: faultFile } } });
});

after(async () => {
  if (srv) await srv.stop();
  if (faultDir) await fsp.rm(faultDir, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every connection looks at the fault file at most once per second.
const FAULT_DELAY_MS = 1200;

// GET an absolute path of the server (not under /api/v1): {status, contentType, text}.
async function getRaw(p, headers = {}) {
  const res = await fetch(srv.origin + p, { headers });
  return { status: res.status, contentType: res.headers.get("content-type"), text: await res.text() };
}

// One sample line of the text format: name{l1="v1",...} value.
const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;

// Parses Prometheus text 0.0.4 strictly: returns {samples: [{name, labels, value}], types}.
function parseExposition(text) {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const samples = [];
  const types = {};
  const helps = {};
  for (const line of text.slice(0, -1).split("\n")) {
    let m;
    if ((m = /^# HELP (\S+) (.+)$/.exec(line))) {
      assert.ok(!helps[m[1]], `HELP of ${m[1]} appears once`);
      helps[m[1]] = m[2];
      continue;
    }
    if ((m = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line))) {
      assert.ok(helps[m[1]], `HELP of ${m[1]} comes before its TYPE`);
      assert.ok(!types[m[1]], `TYPE of ${m[1]} appears once`);
      types[m[1]] = m[2];
      continue;
    }
    m = SAMPLE_RE.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[2] !== undefined) {
      LABEL_RE.lastIndex = 0;
      let consumed = 0;
      let lm;
      while (consumed < m[2].length && (lm = LABEL_RE.exec(m[2]))) {
        labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
        consumed = LABEL_RE.lastIndex;
      }
      assert.equal(consumed, m[2].length, `labels parse: ${line}`);
    }
    const value = m[3] === "+Inf" ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `a numeric value: ${line}`);
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(types[m[1]] || types[family], `${m[1]} has a TYPE before its samples`);
    samples.push({ name: m[1], labels, value });
  }
  return { samples, types };
}

async function scrape() {
  const res = await getRaw("/metrics");
  assert.equal(res.status, 200, `GET /metrics: ${res.text}`);
  assert.match(res.contentType, /^text\/plain; version=0\.0\.4/, "Prometheus content type");
  return parseExposition(res.text);
}

// The value of the sample `name` whose labels include `labels`; 0 when there is none.
function valueOf(samples, name, labels) {
  const hits = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(hits.length <= 1, `one sample ${name} ${JSON.stringify(labels)}, got ${hits.length}`);
  return hits.length ? hits[0].value : 0;
}

/* ------------------------------------------------------------------------------------------
 * Tests. They run in order; the first makes the requests the metrics test counts.
 */

const missingUser = crypto.randomUUID();

test("traffic: 200, 401 and 404 answers", async () => {
  const key = { "x-api-key": srv.apiKey };
  assertOk(await srv.request("GET", "/account", { headers: key }), 200, "GET /account");
  assertOk(await srv.request("GET", "/account", { headers: key }), 200, "GET /account again");
  assertError(await srv.request("GET", "/account"), 401, "GET /account without a key");
  assertError(await srv.request("GET", `/user/${missingUser}`, { headers: key }), 404, "unknown user");
  assertError(await srv.request("GET", `/no/such/route/${missingUser}`), 404, "unknown route");
  assertError(await srv.request("DELETE", "/metrics-nope"), 404, "unknown route, DELETE");
});

test("metrics: counters by route template, method and status", async () => {
  const { samples, types } = await scrape();
  const req = "nettu_http_requests_total";
  assert.equal(types[req], "counter");
  assert.equal(valueOf(samples, req, { route: `${V1}/account`, method: "GET", status: "200" }), 2);
  assert.equal(valueOf(samples, req, { route: `${V1}/account`, method: "GET", status: "401" }), 1);
  assert.equal(valueOf(samples, req, { route: `${V1}/user/{userId}`, method: "GET", status: "404" }), 1);
  assert.equal(valueOf(samples, req, { route: "unmatched", method: "GET", status: "404" }), 1);
  assert.equal(valueOf(samples, req, { route: "unmatched", method: "DELETE", status: "404" }), 1);
  assert.ok(valueOf(samples, req, { route: "/api/v1/", method: "GET", status: "200" }) >= 1, "harness health checks");

  // Route labels are templates or "unmatched", never a raw path.
  const templates = new Set(EXPECTED.map((r) => r.path));
  for (const s of samples.filter((x) => x.labels.route !== undefined)) {
    assert.ok(
      s.labels.route === "unmatched" || templates.has(s.labels.route),
      `route label ${JSON.stringify(s.labels.route)} is a registered template`,
    );
    assert.ok(!s.labels.route.includes(missingUser), "no raw path in a label");
  }
});

test("metrics: latency histograms are cumulative and end at _count", async () => {
  const { samples, types } = await scrape();
  const h = "nettu_http_request_duration_seconds";
  assert.equal(types[h], "histogram");
  const series = new Map();
  for (const s of samples.filter((x) => x.name.startsWith(h))) {
    const key = `${s.labels.route} ${s.labels.method}`;
    if (!series.has(key)) series.set(key, { buckets: [], sum: null, count: null });
    const e = series.get(key);
    if (s.name === `${h}_bucket`) e.buckets.push([s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), s.value]);
    else if (s.name === `${h}_sum`) e.sum = s.value;
    else if (s.name === `${h}_count`) e.count = s.value;
  }
  assert.ok(series.has(`${V1}/account GET`), "a histogram for GET /api/v1/account");
  assert.equal(series.get(`${V1}/account GET`).count, 3);
  for (const [key, e] of series) {
    assert.ok(e.buckets.length >= 2, `${key}: buckets`);
    for (let i = 1; i < e.buckets.length; i++) {
      assert.ok(e.buckets[i][0] > e.buckets[i - 1][0], `${key}: le ascending`);
      assert.ok(e.buckets[i][1] >= e.buckets[i - 1][1], `${key}: counts are cumulative`);
    }
    const last = e.buckets[e.buckets.length - 1];
    assert.equal(last[0], Infinity, `${key}: ends with +Inf`);
    assert.equal(last[1], e.count, `${key}: +Inf bucket equals _count`);
    assert.equal(e.buckets[0][0], 0.0001, `${key}: first bucket 100 us`);
    assert.equal(e.buckets[e.buckets.length - 2][0], 10, `${key}: last finite bucket 10 s`);
    assert.ok(e.sum >= 0 && e.sum < 60 * e.count, `${key}: plausible _sum ${e.sum}`);
  }
});

test("metrics: in-flight gauge and plugin info for every loaded plugin", async () => {
  const { samples, types } = await scrape();
  assert.equal(types.nettu_http_requests_in_flight, "gauge");
  // The scrape itself is in flight; with two workers at most one other request can be.
  const inFlight = valueOf(samples, "nettu_http_requests_in_flight", {});
  assert.ok(inFlight >= 1 && inFlight <= 2, `in flight ${inFlight}`);

  assert.equal(types.nettu_plugin_info, "gauge");
  const info = samples.filter((s) => s.name === "nettu_plugin_info");
  assert.deepEqual(
    info.map((s) => s.labels.name),
    PLUGINS,
    "one info line per loaded plugin, in load order",
  );
  for (const s of info) {
    assert.equal(s.value, 1);
    assert.match(s.labels.version, /^\d+\.\d+\.\d+/, `${s.labels.name} version`);
  }
  assert.equal(types.nettu_storage_errors_total, "counter");
});

test("health: live and ready answer 200", async () => {
  assert.deepEqual(assertOk(await srv.request("GET", "/health/live"), 200), { status: "live" });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(assertOk(await srv.request("GET", "/health/ready"), 200), { status: "ready" });
  }
});

test("health: ready answers 503 while storage is read-only, 200 again after", async () => {
  const before = valueOf((await scrape()).samples, "nettu_storage_errors_total", {
    status: "503",
    cause: "readonly",
  });
  await fsp.writeFile(faultFile, "readonly\n");
  await sleep(FAULT_DELAY_MS);
  const n = 4;
  for (let i = 0; i < n; i++) {
    const res = await srv.request("GET", "/health/ready");
    assert.equal(res.status, 503, `ready while read-only: ${res.text}`);
    assert.match(res.headers.get("content-type"), /^application\/json\b/);
    assert.equal(res.json.error, "unavailable");
    assert.match(res.json.message, /^storage: .*read-only/, res.json.message);
  }
  // The process itself is fine: live stays 200.
  assertOk(await srv.request("GET", "/health/live"), 200);

  const { samples } = await scrape();
  assert.equal(
    valueOf(samples, "nettu_storage_errors_total", { status: "503", cause: "readonly" }) - before,
    n,
    "storage errors counted by cause",
  );
  assert.equal(valueOf(samples, "nettu_http_requests_total", { route: `${V1}/health/ready`, status: "503" }), n);

  await fsp.rm(faultFile);
  await sleep(FAULT_DELAY_MS);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(assertOk(await srv.request("GET", "/health/ready"), 200), { status: "ready" });
  }
  // The probe's write was rolled back; regular writes work.
  assertOk(
    await srv.request("POST", "/user", { headers: { "x-api-key": srv.apiKey }, body: {} }),
    201,
    "POST /user after the fault",
  );
});

/* ------------------------------------------------------------------------------------------
 * OpenAPI.
 */

let doc;

test("openapi: a 3.0.3 document, public", async () => {
  const res = await srv.request("GET", "/openapi.json", { headers: { "x-api-key": "sk_wrong" } });
  doc = assertOk(res, 200, "GET /api/v1/openapi.json");
  assert.equal(doc.openapi, "3.0.3");
  assert.equal(typeof doc.info.title, "string");
  assert.equal(typeof doc.info.version, "string");
  const schemes = doc.components.securitySchemes;
  assert.deepEqual({ ...schemes.apiKey, description: undefined }, {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: undefined,
  });
  assert.equal(schemes.nettuAccount.type, "apiKey");
  assert.equal(schemes.nettuAccount.in, "header");
  assert.equal(schemes.nettuAccount.name, "nettu-account");
  assert.equal(schemes.bearerJwt.type, "http");
  assert.equal(schemes.bearerJwt.scheme, "bearer");
  assert.equal(schemes.bearerJwt.bearerFormat, "JWT");
});

test("openapi: lists exactly the registered routes", () => {
  const got = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of Object.keys(item)) got.push(`${m.toUpperCase()} ${p}`);
  }
  const want = EXPECTED.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual([...got].sort(), [...want].sort());
  assert.equal(new Set(got).size, got.length, "no duplicates");
});

test("openapi: auth, permissions, plugin, tags and path parameters per operation", () => {
  const ids = new Set();
  for (const r of EXPECTED) {
    const op = doc.paths[r.path][r.method.toLowerCase()];
    const what = `${r.method} ${r.path}`;
    assert.equal(op["x-nettu-plugin"], r.plugin, `${what}: plugin`);
    assert.deepEqual(op.tags, [r.plugin], `${what}: tags`);
    assert.equal(op["x-nettu-auth"], r.auth, `${what}: auth kind`);
    assert.deepEqual(op.security, SECURITY[r.auth], `${what}: security`);
    assert.deepEqual(op["x-nettu-permissions"], r.perms, `${what}: permissions`);
    assert.equal(typeof op.operationId, "string");
    assert.ok(!ids.has(op.operationId), `${what}: unique operationId ${op.operationId}`);
    ids.add(op.operationId);
    assert.ok(op.responses && Object.keys(op.responses).length > 0, `${what}: responses`);

    const names = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const params = (op.parameters || []).filter((p) => p.in === "path");
    assert.deepEqual(
      params.map((p) => p.name),
      names,
      `${what}: path parameters`,
    );
    for (const p of params) {
      assert.equal(p.in, "path");
      assert.equal(p.required, true);
      assert.equal(p.schema.type, "string");
      assert.equal(p.schema.format, p.name.endsWith("Id") ? "uuid" : undefined, `${what}: ${p.name} format`);
    }
  }
  const tagNames = doc.tags.map((t) => t.name);
  for (const p of new Set(EXPECTED.map((r) => r.plugin))) assert.ok(tagNames.includes(p), `tag ${p}`);
});

test("openapi: the document is served whole again (cached, not shared)", async () => {
  const a = await srv.request("GET", "/openapi.json");
  const b = await srv.request("GET", "/openapi.json");
  assert.equal(a.status, 200);
  assert.equal(a.text, b.text);
  assert.deepEqual(a.json, doc);
});

/* ------------------------------------------------------------------------------------------
 * OpenAPI: every route described (summary, schemas, errors), the document well formed, and
 * real replies matching the documented schemas.
 */

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const SCHEMA_TYPES = new Set(["object", "array", "string", "integer", "number", "boolean"]);
const SCHEMA_KEYS = new Set([
  "type", "format", "properties", "required", "items", "enum", "nullable", "additionalProperties",
  "oneOf", "minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "default",
  "description", "$ref",
]);

// Asserts that s is a schema object of the OpenAPI 3.0 subset the plugins use; recursive.
function checkSchema(s, where) {
  assert.ok(isObj(s), `${where}: a schema object`);
  for (const k of Object.keys(s)) assert.ok(SCHEMA_KEYS.has(k), `${where}: unknown schema keyword ${k}`);
  if (s.$ref !== undefined) {
    const target = s.$ref.replace(/^#\//, "").split("/").reduce((o, k) => (o ? o[k] : undefined), doc);
    assert.ok(isObj(target), `${where}: $ref ${s.$ref} resolves`);
    return;
  }
  assert.ok(s.type !== undefined || s.oneOf !== undefined, `${where}: a type or oneOf`);
  if (s.type !== undefined) assert.ok(SCHEMA_TYPES.has(s.type), `${where}: type ${s.type}`);
  if (s.oneOf !== undefined) {
    assert.ok(Array.isArray(s.oneOf) && s.oneOf.length > 1, `${where}: oneOf alternatives`);
    s.oneOf.forEach((x, i) => checkSchema(x, `${where}.oneOf[${i}]`));
  }
  if (s.properties !== undefined) {
    assert.equal(s.type, "object", `${where}: properties on an object`);
    for (const [k, v] of Object.entries(s.properties)) checkSchema(v, `${where}.${k}`);
  }
  if (s.required !== undefined) {
    assert.ok(Array.isArray(s.required) && s.required.every((r) => typeof r === "string"), `${where}: required`);
    if (s.properties) for (const r of s.required) assert.ok(r in s.properties, `${where}: required ${r} is a property`);
  }
  if (s.type === "array") checkSchema(s.items, `${where}[]`);
  if (isObj(s.additionalProperties)) checkSchema(s.additionalProperties, `${where}.*`);
  if (s.enum !== undefined) assert.ok(Array.isArray(s.enum) && s.enum.length > 0, `${where}: enum`);
}

const ERROR_REF = "#/components/schemas/Error";
const errorRef = (op, code) => op.responses[code]?.content?.["application/json"]?.schema?.$ref;

test("openapi: every route has a summary, reply schema and error replies; bodies have schemas", () => {
  for (const r of EXPECTED) {
    const op = doc.paths[r.path][r.method.toLowerCase()];
    const what = `${r.method} ${r.path}`;
    assert.ok(typeof op.summary === "string" && op.summary.length > 0, `${what}: summary`);
    assert.notEqual(op.summary, what, `${what}: a summary of its own, not the generic one`);
    const ok = Object.keys(op.responses).filter((k) => /^2\d\d$/.test(k));
    assert.equal(ok.length, 1, `${what}: one success status, got ${Object.keys(op.responses)}`);
    assert.ok(!op.responses["2XX"], `${what}: no generic 2XX`);
    const content = op.responses[ok[0]].content;
    const types = Object.keys(content);
    assert.equal(types.length, 1, `${what}: one reply media type`);
    checkSchema(content[types[0]].schema, `${what} reply`);
    if (r.path.endsWith("/ical")) assert.deepEqual(types, ["text/calendar"], `${what}: iCalendar`);
    else if (r.path === "/metrics") assert.match(types[0], /^text\/plain; version=0\.0\.4/, what);
    else assert.deepEqual(types, ["application/json"], `${what}: JSON`);
    assert.equal(errorRef(op, "default"), ERROR_REF, `${what}: default error`);
    if (r.auth !== "public") assert.equal(errorRef(op, "401"), ERROR_REF, `${what}: 401`);
    if (r.path.includes("{")) assert.equal(errorRef(op, "404"), ERROR_REF, `${what}: 404`);
    const query = (op.parameters || []).filter((p) => p.in === "query");
    if (r.method === "POST" || r.method === "PUT" || query.length) {
      assert.equal(errorRef(op, "400"), ERROR_REF, `${what}: 400`);
    }
    if (r.method === "POST" || r.method === "PUT") {
      const body = op.requestBody;
      assert.ok(body, `${what}: request body`);
      const schema = body.content["application/json"].schema;
      checkSchema(schema, `${what} request`);
      assert.equal(schema.type, "object", `${what}: an object body`);
      // A documented body is required; only bodies that may be empty are optional.
      if (body.required) assert.ok(Object.keys(schema.properties || {}).length > 0, `${what}: body fields`);
    }
    for (const p of query) checkSchema(p.schema, `${what} ?${p.name}`);
    const idem = (op.parameters || []).filter((p) => p.in === "header" && p.name === "Idempotency-Key");
    const honoured = r.method === "POST" && r.auth !== "public" && r.auth !== "public_account";
    assert.equal(idem.length, honoured ? 1 : 0, `${what}: Idempotency-Key header`);
    if (honoured) assert.equal(idem[0].required, false);
  }
});

test("openapi: a well-formed OpenAPI 3 document", () => {
  assert.deepEqual(Object.keys(doc).sort(), ["components", "info", "openapi", "paths", "servers", "tags"]);
  assert.ok(Array.isArray(doc.servers) && doc.servers.length > 0);
  checkSchema(doc.components.schemas.Error, "Error");
  const METHODS = new Set(["get", "put", "post", "delete", "patch", "options", "head"]);
  for (const [p, item] of Object.entries(doc.paths)) {
    assert.ok(p.startsWith("/"), `path ${p}`);
    for (const [m, op] of Object.entries(item)) {
      assert.ok(METHODS.has(m), `${p}: method ${m}`);
      const seen = new Set();
      for (const prm of op.parameters || []) {
        assert.ok(["path", "query", "header"].includes(prm.in), `${m} ${p}: parameter in ${prm.in}`);
        const k = `${prm.in}:${prm.name}`;
        assert.ok(!seen.has(k), `${m} ${p}: parameter ${k} once`);
        seen.add(k);
        assert.equal(typeof prm.required, "boolean");
        checkSchema(prm.schema, `${m} ${p} ${k}`);
      }
      for (const [code, res] of Object.entries(op.responses)) {
        assert.match(code, /^([1-5]\d\d|[1-5]XX|default)$/, `${m} ${p}: response ${code}`);
        assert.equal(typeof res.description, "string", `${m} ${p} ${code}: description`);
        for (const c of Object.values(res.content || {})) checkSchema(c.schema, `${m} ${p} ${code}`);
      }
      for (const sec of op.security) {
        for (const name of Object.keys(sec)) assert.ok(doc.components.securitySchemes[name], `${m} ${p}: scheme ${name}`);
      }
    }
  }
});

// Validates value v against schema s (the subset above); returns the first mismatch or null.
function mismatch(v, s, where = "$") {
  if (s.$ref) return mismatch(v, s.$ref.replace(/^#\//, "").split("/").reduce((o, k) => o[k], doc), where);
  if (v === null) return s.nullable ? null : `${where}: null`;
  if (s.oneOf) return s.oneOf.some((x) => mismatch(v, x, where) === null) ? null : `${where}: no oneOf matches`;
  const t = Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;
  if (s.type && !(s.type === t || (s.type === "number" && t === "integer"))) return `${where}: ${t}, not ${s.type}`;
  if (s.enum && !s.enum.includes(v)) return `${where}: ${JSON.stringify(v)} not in ${s.enum}`;
  if (t === "array") {
    for (let i = 0; i < v.length; i++) {
      const e = mismatch(v[i], s.items, `${where}[${i}]`);
      if (e) return e;
    }
  }
  if (t === "object") {
    for (const r of s.required || []) if (!(r in v)) return `${where}: ${r} missing`;
    for (const [k, x] of Object.entries(v)) {
      const ps = s.properties?.[k] ?? (isObj(s.additionalProperties) ? s.additionalProperties : null);
      if (!ps) {
        if (s.properties && s.additionalProperties === undefined) return `${where}: undocumented field ${k}`;
        continue;
      }
      const e = mismatch(x, ps, `${where}.${k}`);
      if (e) return e;
    }
  }
  return null;
}

test("openapi: replies match the documented schemas", async () => {
  const admin = { "x-api-key": srv.apiKey };
  const has = (p) => PLUGINS.includes(p);
  let checked = 0;
  // Sends a request and checks the reply against the operation's success schema.
  async function call(method, template, values, opts = {}) {
    const p = template.replace(/\{(\w+)\}/g, (_, n) => values[n]);
    const res = await srv.request(method, p, { headers: admin, ...opts });
    const op = doc.paths[V1 + template.split("?")[0]][method.toLowerCase()];
    const code = Object.keys(op.responses).find((k) => /^2\d\d$/.test(k));
    assert.equal(String(res.status), code, `${method} ${p}: ${res.text}`);
    const schema = op.responses[code].content["application/json"].schema;
    const bad = mismatch(res.json, schema);
    assert.equal(bad, null, `${method} ${template}: ${bad}\n${res.text}`);
    checked++;
    return res.json;
  }
  const bad = await srv.request("GET", `/user/${missingUser}`, { headers: admin });
  const errOp = doc.paths[`${V1}/user/{userId}`].get;
  assert.equal(mismatch(bad.json, errOp.responses["404"].content["application/json"].schema), null);

  const ids = {};
  await call("GET", "/account", ids);
  await call("POST", "/account", ids, { headers: {}, body: { code: srv.secret } });
  await call("DELETE", "/account/webhook", ids);
  ids.userId = (await call("POST", "/user", ids, { body: { metadata: { k: "v" } } })).user.id;
  await call("GET", "/user/{userId}", ids);
  await call("PUT", "/user/{userId}", ids, { body: { metadata: { k: "w" } } });
  await call("GET", "/user/meta?key=k&value=w", ids);
  if (!has("calendar")) return;
  const cal = await call("POST", "/user/{userId}/calendar", ids, { body: { timezone: "Europe/Oslo", weekStart: 6 } });
  ids.calendarId = cal.calendar.id;
  await call("GET", "/user/calendar/{calendarId}", ids);
  // End-user routes (the same schemas), and the iCalendar export's media type.
  const keys = rsaKeyPair();
  const account = (await call("PUT", "/account/pubkey", ids, { body: { publicJwtKey: keys.publicKey } })).account;
  const user = {
    "nettu-account": account.id,
    authorization: `Bearer ${userToken(keys.privateKey, ids.userId, { allow: ["*"] })}`,
  };
  await call("GET", "/me", ids, { headers: user });
  await call("GET", "/calendar/{calendarId}", ids, { headers: user });
  const ical = await srv.request("GET", `/calendar/${ids.calendarId}/ical`, { headers: user });
  assert.equal(ical.status, 200, ical.text);
  const icalOp = doc.paths[`${V1}/calendar/{calendarId}/ical`].get;
  assert.deepEqual(Object.keys(icalOp.responses["200"].content), ["text/calendar"]);
  assert.match(ical.headers.get("content-type"), /^text\/calendar/);
  assert.match(ical.text, /^BEGIN:VCALENDAR\r\n/);
  if (has("webhooks")) {
    // a public address (a loopback one is refused where it is set); 192.0.2.1 is TEST-NET-1,
    // never routed, so the queued ping reaches nothing
    await call("PUT", "/account/webhook", ids, { body: { webhookUrl: "http://192.0.2.1:9/hook" } });
    await call("POST", "/account/webhook/test", ids);
    await call("DELETE", "/account/webhook", ids);
  }
  await call("GET", "/calendar/meta?key=nope&value=x", ids);
  await call("PUT", "/user/calendar/{calendarId}", ids, { body: { settings: { weekStart: "Mon" } } });
  if (has("events")) {
    const start = Date.UTC(2030, 0, 7, 9);
    const ev = await call("POST", "/user/{userId}/events", ids, {
      body: {
        calendarId: ids.calendarId, startTs: start, duration: 3_600_000, busy: true,
        recurrence: { freq: "daily", interval: 1, count: 3 }, reminders: [{ delta: -15, identifier: "r" }],
        metadata: { k: "e" },
      },
    });
    ids.eventId = ev.event.id;
    await call("GET", "/user/events/{eventId}", ids);
    await call("PUT", "/user/events/{eventId}", ids, { body: { exdates: [start + 86_400_000] } });
    await call("GET", `/user/events/{eventId}/instances?startTs=${start}&endTs=${start + 5 * 86_400_000}`, ids);
    await call("GET", `/user/calendar/{calendarId}/events?startTs=${start}&endTs=${start + 86_400_000}`, ids);
    await call("GET", `/user/{userId}/freebusy?startTs=${start}&endTs=${start + 86_400_000}&calendarIds=${ids.calendarId}`, ids);
    await call("POST", "/user/freebusy", ids, { body: { userIds: [ids.userId], startTs: start, endTs: start + 86_400_000 } });
    await call("GET", "/events/meta?key=k&value=e", ids);
  }
  if (has("schedule")) {
    const sch = await call("POST", "/user/{userId}/schedule", ids, { body: { timezone: "UTC" } });
    ids.scheduleId = sch.schedule.id;
    await call("PUT", "/user/schedule/{scheduleId}", ids, {
      body: { rules: [{ variant: { type: "WDay", value: "Mon" }, intervals: [{ start: { hours: 9, minutes: 0 }, end: { hours: 17, minutes: 0 } }] }] },
    });
    await call("GET", "/user/schedule/{scheduleId}", ids);
    await call("GET", "/schedule/meta?key=nope&value=x", ids);
  }
  if (has("service") && has("schedule")) {
    ids.serviceId = (await call("POST", "/service", ids, { body: { metadata: { k: "s" } } })).service.id;
    await call("POST", "/service/{serviceId}/users", ids, {
      body: { userId: ids.userId, availability: { variant: "Schedule", id: ids.scheduleId } },
    });
    await call("PUT", "/service/{serviceId}/users/{userId}/busy", ids, { body: { busy: { provider: "Nettu", id: ids.calendarId } } });
    await call("GET", "/service/{serviceId}", ids);
    await call("GET", "/service/meta?key=k&value=s", ids);
    await call("GET", "/service/{serviceId}/booking?startDate=2030-1-7&endDate=2030-1-8&interval=1800000&duration=1800000", ids);
    const bk = await call("POST", "/service/{serviceId}/bookings", ids, { body: { startTs: Date.UTC(2030, 0, 14, 9), duration: 1_800_000 } });
    ids.bookingId = bk.booking.id;
    await call("GET", `/service/{serviceId}/bookings?startTs=${Date.UTC(2030, 0, 1)}&endTs=${Date.UTC(2030, 0, 31)}`, ids);
    ids.holdId = (await call("POST", "/service/{serviceId}/holds", ids, { body: { startTs: Date.UTC(2030, 0, 14, 10), duration: 1_800_000 } })).hold.id;
    await call("DELETE", "/service/{serviceId}/holds/{holdId}", ids);
    await call("GET", "/service/{serviceId}/bookings/{bookingId}", ids);
    const at = Date.UTC(2030, 0, 14, 11);
    await call("POST", "/service/{serviceId}/booking-intend", ids, { body: { timestamp: at, duration: 1_800_000, interval: 1_800_000 } });
    await call("DELETE", `/service/{serviceId}/booking-intend?timestamp=${at}`, ids);
    await call("DELETE", "/service/{serviceId}/users/{userId}/busy", ids, { body: { busy: { provider: "Nettu", id: ids.calendarId } } });
    await call("PUT", "/service/{serviceId}/users/{userId}", ids, { body: { bufferBefore: 10, furthestBookingTime: null } });
    await call("PUT", "/service/{serviceId}", ids, { body: { multiPerson: { variant: "collective" } } });
    await call("DELETE", "/service/{serviceId}/bookings/{bookingId}", ids);
    await call("DELETE", "/service/{serviceId}/users/{userId}", ids);
    await call("DELETE", "/service/{serviceId}", ids);
  }
  if (has("webhooks")) await call("GET", "/account/webhook/deliveries", ids);
  if (has("events")) await call("DELETE", "/user/events/{eventId}", ids);
  await call("DELETE", "/user/calendar/{calendarId}", ids);
  await call("DELETE", "/user/{userId}", ids);
  assert.ok(checked >= 10, `checked ${checked} replies`);
});
