#!/usr/bin/env node
// Booking page example: the page's small backend (Node.js >= 20, no npm packages).
//
// It serves the static page of this folder and proxies the few calls that need the account's
// secret API key to nettu: hold a slot, confirm a booking (with its hold), release a hold and
// cancel a booking, always for the one configured service. The browser reads the free slots
// straight from nettu's public booking-slot route and never sees the API key: no answer of
// this server contains it.
//
//   node examples/booking/server.mjs            serve the page (http://127.0.0.1:8080/)
//   node examples/booking/server.mjs --setup    create a demo host (user, calendar, schedule)
//                                               and a service; prints SERVICE_ID=<id>
//
// Environment:
//   NETTU_URL      nettu's address (default http://127.0.0.1:5000; a trailing /api/v1 is fine)
//   NETTU_API_KEY  the account's secret API key (required)
//   SERVICE_ID     the service to book (required to serve; printed by --setup)
//   PORT           this server's port (default 8080)
//   HOST           the address to listen on (default 127.0.0.1: loopback only)
//   SLOT_MINUTES   length of a booking in minutes (default 30; also the slot interval)
//   HOLD_SECONDS   how long a hold keeps a slot for the customer (10..3600, default 300)
//   TIMEZONE       --setup only: the host's zone (default Europe/Oslo; hours 09:00-17:00 Mon-Fri)
//
// Routes of this server (JSON; errors are {"error", "message"}):
//   GET    /, /app.js, /style.css      the page
//   GET    /api/config                 {nettuUrl, accountId, serviceId, serviceName, slotMinutes, holdSeconds}
//   POST   /api/holds                  {startTs}            -> nettu POST /service/{id}/holds
//   DELETE /api/holds/{holdId}                              -> nettu DELETE /service/{id}/holds/{holdId}
//   POST   /api/bookings               {holdId, startTs, name} -> nettu POST /service/{id}/bookings
//   DELETE /api/bookings/{bookingId}                        -> nettu DELETE /service/{id}/bookings/{bookingId}
// Bad input is 400 naming the field; nettu's errors pass through with their status and
// message; nettu unreachable is 502.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const STATIC = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
};
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY = 16 * 1024;
const MAX_NAME = 80;
const UPSTREAM_TIMEOUT_MS = 15_000;

/* ---- configuration ------------------------------------------------------------------------ */

// Reads the environment; exits with a message naming the variable on a bad value.
function readConfig(env, setup) {
  const fail = (msg) => {
    console.error(`booking example: ${msg}`);
    process.exit(2);
  };
  const int = (name, dflt, lo, hi) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) < lo || Number(raw) > hi) fail(`${name} must be an integer ${lo}..${hi}`);
    return Number(raw);
  };
  let origin = (env.NETTU_URL || "http://127.0.0.1:5000").replace(/\/+$/, "").replace(/\/api\/v1$/, "");
  try {
    const u = new URL(origin);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("scheme");
    origin = u.origin;
  } catch {
    fail(`NETTU_URL is not an http(s) URL: ${env.NETTU_URL}`);
  }
  const apiKey = env.NETTU_API_KEY || "";
  if (!apiKey) fail("NETTU_API_KEY is required (the account's secret API key)");
  const serviceId = env.SERVICE_ID || "";
  if (!setup && !UUID_RE.test(serviceId)) {
    fail("SERVICE_ID must be the id of a service of the account (create one with --setup)");
  }
  return {
    nettu: `${origin}/api/v1`,
    apiKey,
    serviceId: serviceId.toLowerCase(),
    port: int("PORT", 8080, 0, 65535),
    host: env.HOST || "127.0.0.1",
    slotMinutes: int("SLOT_MINUTES", 30, 5, 120),
    holdSeconds: int("HOLD_SECONDS", 300, 10, 3600),
    timezone: env.TIMEZONE || "Europe/Oslo",
  };
}

/* ---- talking to nettu --------------------------------------------------------------------- */

class HttpError extends Error {
  constructor(status, error, message) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

// An admin request to nettu with the API key. Resolves with {status, json}; throws HttpError
// 502 when nettu cannot be reached or answers something that is not JSON.
async function nettu(cfg, method, p, body) {
  let res;
  try {
    res = await fetch(cfg.nettu + p, {
      method,
      headers: { "x-api-key": cfg.apiKey, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch (err) {
    const why = err.name === "TimeoutError" ? "timed out" : (err.cause && err.cause.code) || err.message;
    throw new HttpError(502, "bad_gateway", `nettu is not reachable (${why})`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new HttpError(502, "bad_gateway", `nettu answered ${res.status} without JSON`);
  }
  return { status: res.status, json };
}

// nettu's answer when it is one of `ok`; else its error as an HttpError (status and message
// passed through).
function expect(answer, ...ok) {
  if (ok.includes(answer.status)) return answer.json;
  const j = answer.json || {};
  throw new HttpError(
    answer.status,
    typeof j.error === "string" ? j.error : "upstream_error",
    typeof j.message === "string" ? j.message : `nettu answered ${answer.status}`,
  );
}

/* ---- request bodies ----------------------------------------------------------------------- */

// Reads a JSON object body (at most MAX_BODY bytes); throws HttpError 400/413/415.
async function readJson(req) {
  const type = String(req.headers["content-type"] || "");
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, "unsupported_media_type", "send the body as application/json");
  }
  const chunks = [];
  let size = 0;
  // A body over the limit is read to its end and dropped (leaving the loop early would reset
  // the connection before the 413 is sent); server.requestTimeout bounds how long that takes.
  for await (const chunk of req) {
    size += chunk.length;
    if (size <= MAX_BODY) chunks.push(chunk);
  }
  if (size > MAX_BODY) throw new HttpError(413, "payload_too_large", `the body is over ${MAX_BODY} bytes`);
  let body;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "bad_request", "the body is not valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "bad_request", "the body must be a JSON object");
  }
  return body;
}

const bad = (message) => new HttpError(400, "bad_request", message);

function needStartTs(body) {
  const v = body.startTs;
  if (v === undefined) throw bad("startTs is required (the slot's start, ms since the epoch)");
  if (!Number.isSafeInteger(v) || v < 0) throw bad("startTs must be a non-negative integer (ms since the epoch)");
  return v;
}

// A path segment, percent-decoded; 400 for a bad encoding.
function segment(raw, name) {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw bad(`${name} is not a valid percent-encoded path segment`);
  }
}

function needUuid(v, name) {
  if (v === undefined) throw bad(`${name} is required`);
  if (typeof v !== "string" || !UUID_RE.test(v)) throw bad(`${name} must be a UUID`);
  return v.toLowerCase();
}

function needName(body) {
  const v = body.name;
  if (v === undefined) throw bad("name is required");
  if (typeof v !== "string") throw bad("name must be a string");
  const name = v.trim();
  if (name.length === 0) throw bad("name must not be empty");
  if (name.length > MAX_NAME) throw bad(`name must have at most ${MAX_NAME} characters`);
  return name;
}

/* ---- the HTTP server ---------------------------------------------------------------------- */

function send(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

// Answers one request to this server; every failure becomes a JSON error.
async function handle(cfg, state, req, res) {
  const url = new URL(req.url, "http://localhost");
  const p = url.pathname;
  const m = req.method;
  const svc = `/service/${cfg.serviceId}`;

  const file = STATIC[p];
  if (file) {
    if (m !== "GET" && m !== "HEAD") throw new HttpError(405, "method_not_allowed", `${m} ${p} is not allowed`);
    const data = fs.readFileSync(path.join(HERE, file[0]));
    res.writeHead(200, { "content-type": file[1], "cache-control": "no-store", "content-length": data.length });
    res.end(m === "HEAD" ? undefined : data);
    return;
  }
  if (p === "/favicon.ico") {
    res.writeHead(204);
    res.end();
    return;
  }

  const route = (want, re) => {
    const match = re.exec(p);
    if (!match) return null;
    if (m !== want) throw new HttpError(405, "method_not_allowed", `${m} ${p} is not allowed (use ${want})`);
    return match;
  };
  let r;
  if ((r = route("GET", /^\/api\/config$/))) {
    send(res, 200, state.publicConfig);
  } else if ((r = route("POST", /^\/api\/holds$/))) {
    const body = await readJson(req);
    const startTs = needStartTs(body);
    const duration = cfg.slotMinutes * 60_000;
    const out = expect(
      await nettu(cfg, "POST", `${svc}/holds`, { startTs, duration, ttlSeconds: cfg.holdSeconds }),
      201,
    );
    const h = out.hold;
    send(res, 201, { hold: { id: h.id, startTs: h.startTs, duration: h.duration, expiresAt: h.expiresAt } });
  } else if ((r = route("DELETE", /^\/api\/holds\/([^/]+)$/))) {
    const holdId = needUuid(segment(r[1], "holdId"), "holdId");
    const out = expect(await nettu(cfg, "DELETE", `${svc}/holds/${holdId}`), 200);
    send(res, 200, { hold: { id: out.hold.id, startTs: out.hold.startTs, duration: out.hold.duration } });
  } else if ((r = route("POST", /^\/api\/bookings$/))) {
    const body = await readJson(req);
    const holdId = needUuid(body.holdId, "holdId");
    const startTs = needStartTs(body);
    const name = needName(body);
    const duration = cfg.slotMinutes * 60_000;
    const out = expect(
      await nettu(cfg, "POST", `${svc}/bookings`, { startTs, duration, holdId, metadata: { customer: name } }),
      201,
    );
    send(res, 201, { booking: publicBooking(out.booking) });
  } else if ((r = route("DELETE", /^\/api\/bookings\/([^/]+)$/))) {
    const bookingId = needUuid(segment(r[1], "bookingId"), "bookingId");
    const out = expect(await nettu(cfg, "DELETE", `${svc}/bookings/${bookingId}`), 200);
    send(res, 200, { booking: publicBooking(out.booking) });
  } else {
    throw new HttpError(404, "not_found", `no route ${m} ${p}`);
  }
}

// What the customer's browser may see of a booking (no host ids or event ids).
function publicBooking(b) {
  return { id: b.id, startTs: b.startTs, duration: b.duration, status: b.status, customer: (b.metadata || {}).customer };
}

// Starts serving; resolves with the http.Server once it listens.
async function serve(cfg) {
  const account = expect(await nettu(cfg, "GET", "/account"), 200).account;
  const got = await nettu(cfg, "GET", `/service/${cfg.serviceId}`);
  if (got.status === 404) throw new Error(`service ${cfg.serviceId} is not a service of this account`);
  const service = expect(got, 200);
  const meta = service.metadata || {};
  const state = {
    publicConfig: {
      nettuUrl: cfg.nettu,
      accountId: account.id,
      serviceId: cfg.serviceId,
      serviceName: typeof meta.name === "string" ? meta.name : "Appointment",
      slotMinutes: cfg.slotMinutes,
      holdSeconds: cfg.holdSeconds,
    },
  };
  const server = http.createServer((req, res) => {
    handle(cfg, state, req, res).catch((err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        send(res, err.status, { error: err.error, message: err.message });
      } else {
        console.error(`booking example: ${req.method} ${req.url}: ${err.stack || err}`);
        send(res, 500, { error: "internal", message: "internal error" });
      }
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.port, cfg.host, resolve);
  });
  return server;
}

/* ---- --setup ------------------------------------------------------------------------------- */

// Creates a host (user, a calendar for its bookings, a Mon-Fri 09:00-17:00 schedule in
// cfg.timezone) and a service with that host; returns the service id.
async function setup(cfg) {
  const ok = async (method, p, body, ...codes) => expect(await nettu(cfg, method, p, body), ...codes);
  const { user } = await ok("POST", "/user", { metadata: { role: "booking-example-host" } }, 201);
  const { calendar } = await ok(
    "POST",
    `/user/${user.id}/calendar`,
    { timezone: cfg.timezone, weekStart: 0, metadata: { name: "Bookings" } },
    201,
  );
  const days = ["Mon", "Tue", "Wed", "Thu", "Fri"];
  const rules = [...days, "Sat", "Sun"].map((value) => ({
    variant: { type: "WDay", value },
    intervals: days.includes(value) ? [{ start: { hours: 9, minutes: 0 }, end: { hours: 17, minutes: 0 } }] : [],
  }));
  const { schedule } = await ok("POST", `/user/${user.id}/schedule`, { timezone: cfg.timezone, rules }, 201);
  const { service } = await ok("POST", "/service", { metadata: { name: "Consultation" } }, 201);
  await ok("POST", `/service/${service.id}/users`, {
    userId: user.id,
    availability: { variant: "Schedule", id: schedule.id },
  }, 200);
  await ok("PUT", `/service/${service.id}/users/${user.id}/busy`, { busy: { provider: "Nettu", id: calendar.id } }, 200);
  console.error(
    `booking example: host ${user.id} (Mon-Fri 09:00-17:00 ${cfg.timezone}), bookings go to calendar ${calendar.id}`,
  );
  return service.id;
}

/* ---- main ---------------------------------------------------------------------------------- */

const isSetup = process.argv.includes("--setup");
const unknown = process.argv.slice(2).filter((a) => a !== "--setup");
if (unknown.length) {
  console.error(`booking example: unknown argument ${unknown[0]} (only --setup)`);
  process.exit(2);
}
const cfg = readConfig(process.env, isSetup);
try {
  if (isSetup) {
    const id = await setup(cfg);
    console.log(`SERVICE_ID=${id}`);
  } else {
    const server = await serve(cfg);
    const { port } = server.address();
    console.log(`booking example: http://${cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host}:${port}/ (service ${cfg.serviceId}, nettu ${cfg.nettu})`);
    const stop = () => server.close(() => process.exit(0)) && server.closeAllConnections();
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  }
} catch (err) {
  console.error(`booking example: ${err instanceof HttpError ? `${err.status} ${err.error}: ${err.message}` : err.message}`);
  process.exit(1);
}
