// Lifecycle logs and shutdown. The start-up summary appears at every log level, a 401 is
// explained at debug (never with its credentials). Shutdown on SIGTERM: an idle server stops within 100 ms (measured between its own
// "shutting down" and "stopped" log lines, so process teardown under sanitizers does not
// count) and closes idle keep-alive connections at once; during the drain new connections are
// refused rather than left waiting in the backlog; a request still unfinished when
// [server] shutdown_grace_ms is over is logged by route, and the stop line says how the
// requests in flight ended.

import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { test } from "node:test";
import { startServer } from "../e2e/harness.mjs";

const PLUGINS = ["store_sqlite", "auth_nettu", "policy", "account", "user"];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Keeps the server's folder after stop() so the log can be read; removed by the test.
process.env.NETTU_E2E_KEEP = "1";

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

// Resolves with the milliseconds until the socket is closed by the server.
function closedWithin(sock) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    sock.once("close", () => resolve(Date.now() - t0));
    sock.on("error", () => {});
    sock.resume();
  });
}

// The time (ms since the epoch) of the first log line matching re.
function lineTime(log, re) {
  const line = log.split("\n").find((l) => re.test(l));
  assert.ok(line, `a log line matching ${re}:\n${log}`);
  return Date.parse(line.slice(0, 24));
}

test("an idle server stops within 100 ms and closes idle keep-alive connections at once", async () => {
  const srv = await startServer({ plugins: PLUGINS });
  try {
    const sock = await connect(srv.port);
    sock.write("GET /api/v1/ HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => sock.once("data", r)); // answered; the connection stays open
    const closed = closedWithin(sock);
    await srv.stop();
    assert.ok((await closed) < 2000, "the idle connection was closed by the shutdown");
    const log = fs.readFileSync(srv.logPath, "utf8");
    const took = lineTime(log, /INFO stopped: /) - lineTime(log, /INFO SIGTERM: shutting down/);
    assert.ok(took < 100, `stopped ${took} ms after SIGTERM`);
    assert.match(log, /stopped: 0 connections had a request in flight at shutdown; 0 finished, 0 were closed unfinished/);
  } finally {
    fs.rmSync(srv.tmpDir, { recursive: true, force: true });
  }
});

test("the drain: new connections refused, a finished request counted, an unfinished one logged by route", async () => {
  const srv = await startServer({ plugins: PLUGINS, ini: { server: { shutdown_grace_ms: 1500 } } });
  try {
    const head = (n) =>
      `POST /api/v1/user HTTP/1.1\r\nHost: x\r\nx-api-key: ${srv.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${n}\r\n\r\n`;
    const body = "{}";
    // Two requests in flight: their bodies have not arrived.
    const finishing = await connect(srv.port);
    const stuck = await connect(srv.port);
    finishing.write(head(body.length));
    stuck.write(head(100) + "{");
    await sleep(200);
    let reply = "";
    finishing.on("data", (d) => (reply += d));
    const stuckClosed = closedWithin(stuck);
    const stopping = srv.stop();
    await sleep(300);
    // New connections are refused at once during the drain.
    const t0 = Date.now();
    await assert.rejects(connect(srv.port), (err) => err.code === "ECONNREFUSED");
    assert.ok(Date.now() - t0 < 1000, "refused, not left waiting");
    // The first request finishes during the drain and is answered.
    finishing.end(body);
    await sleep(300);
    assert.match(reply, /^HTTP\/1\.1 201 /, `answered during the drain: ${reply}`);
    await stopping;
    await stuckClosed;
    const log = fs.readFileSync(srv.logPath, "utf8");
    assert.match(
      log,
      /WARN shutdown: \[server\] shutdown_grace_ms is over; closing the connection of 127\.0\.0\.1 with the request POST \/api\/v1\/user \(route\) unfinished/,
    );
    assert.match(log, /stopped: 2 connections had a request in flight at shutdown; 1 finished, 1 were closed unfinished/);
  } finally {
    fs.rmSync(srv.tmpDir, { recursive: true, force: true });
  }
});

test("the start-up summary is logged at every level; at debug a 401 says why, never the token", async () => {
  const quiet = await startServer({ plugins: PLUGINS, ini: { server: { log_level: "error" } } });
  try {
    await quiet.stop();
    const log = fs.readFileSync(quiet.logPath, "utf8");
    for (const re of [
      /INFO nettu \S+ \(plugin ABI \d+\.\d+\), configuration \/\S+\/nettu\.ini/,
      /INFO plugins from \/\S+: store_sqlite \S+, auth_nettu \S+, policy \S+, account \S+, user \S+/,
      /INFO services: .*authenticator nettu \(auth_nettu\)/,
      /INFO storage: sqlite \/\S+\/nettu\.db/,
      /INFO listening on http:\/\/127\.0\.0\.1:\d+\/ /,
      /INFO stopped: /,
    ])
      assert.match(log, re);
    assert.doesNotMatch(log, /applied migration/, "other INFO lines follow log_level");
  } finally {
    fs.rmSync(quiet.tmpDir, { recursive: true, force: true });
  }
  const srv = await startServer({ plugins: PLUGINS, ini: { server: { log_level: "debug" } } });
  try {
    const token = "sk_not_a_key_of_this_server_12345";
    const res = await fetch(`${srv.baseUrl}/account`, { headers: { "x-api-key": token } });
    assert.equal(res.status, 401);
    await srv.stop();
    const log = fs.readFileSync(srv.logPath, "utf8");
    assert.match(log, /DEBUG \[\/api\/v1\/account\] GET answered 401 to 127\.0\.0\.1 \(credentials sent: api key\): API key: no account has this API key/);
    assert.ok(!log.includes(token), "the key is never logged");
  } finally {
    fs.rmSync(srv.tmpDir, { recursive: true, force: true });
  }
});
