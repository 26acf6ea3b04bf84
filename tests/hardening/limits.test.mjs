// Hardening: the [server] limits of README "Configuration". Bodies above max_body_bytes are
// answered 413 with a JSON error, however they are framed and however far above the limit
// (announced ones before they are read; the connection then closes); oversized headers are
// refused without harm; hundreds of idle connections and a slowly dribbled request do not
// slow other clients down (p99 < 200 ms); at max_connections further connections wait in the
// listen backlog and are served once others close; read_timeout_s closes idle and stalled
// connections. After each step the server still answers its health check. (More in
// attacks.test.mjs: memory, deadlines, framing.)

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import {
  assertJsonError,
  assertStatus,
  buildRequest,
  healthy,
  launch,
  openConn,
  percentile,
  rawRequest,
  rowCounts,
  sleep,
  withTimeout,
} from "./lib.mjs";

const MAX_BODY = 65536; // [server] max_body_bytes of the first server
const HARD_BODY = 4 * MAX_BODY; // far above it (what hard_body_bytes was)

// A POST /user body of exactly `size` bytes: {"metadata":{},"pad":"xxx..."} (an unknown
// field, ignored; metadata values are capped at 512 bytes).
function userBody(size) {
  const frame = '{"metadata":{},"pad":""}';
  assert.ok(size >= frame.length);
  return `{"metadata":{},"pad":"${"x".repeat(size - frame.length)}"}`;
}

// Sends a chunked body made of `total` bytes of a JSON document in chunks of 8 KiB.
function chunkedRequest(target, headers, body) {
  const parts = [];
  for (let i = 0; i < body.length; i += 8192) {
    const c = body.slice(i, i + 8192);
    parts.push(`${c.length.toString(16)}\r\n${c}\r\n`);
  }
  parts.push("0\r\n\r\n");
  return Buffer.concat([buildRequest("POST", target, [...headers, ["Transfer-Encoding", "chunked"]]), Buffer.from(parts.join(""), "latin1")]);
}

async function assertHealthy(srv, what) {
  assert.ok(srv.alive(), `${what}: the server exited (${JSON.stringify(srv.exited)})\n${srv.logTail(20)}`);
  assert.ok(await healthy(srv.port, 3000), `${what}: the server no longer answers GET /api/v1/`);
}

describe("body and header limits", () => {
  let srv;
  before(async () => {
    srv = await launch({ ini: { server: { max_body_bytes: MAX_BODY } } });
  });
  after(async () => {
    await srv?.stop();
  });

  test("a body of exactly max_body_bytes is accepted; one byte more is 413 with a JSON error", async () => {
    const before = rowCounts(srv.db).user_users;
    const ok = await srv.admin("POST", "/user", { body: userBody(MAX_BODY) });
    assertStatus(ok, 201, "body of max_body_bytes");
    const over = await srv.admin("POST", "/user", { body: userBody(MAX_BODY + 1) });
    assertJsonError(over, 413, "body of max_body_bytes + 1");
    assert.match(over.json.message, new RegExp(`${MAX_BODY}`), "the message names the limit");
    // Between the soft and the hard limit: still the JSON answer of the core.
    const mid = await srv.admin("POST", "/user", { body: userBody(HARD_BODY - 1000) });
    assertJsonError(mid, 413, "body between max_body_bytes and hard_body_bytes");
    // The same with a chunked body (no Content-Length).
    const chunked = await rawRequest(srv.port, chunkedRequest("/api/v1/user", [["x-api-key", srv.apiKey]], userBody(MAX_BODY + 5000)));
    assertJsonError(chunked, 413, "chunked body over max_body_bytes");
    assert.equal(rowCounts(srv.db).user_users, before + 1, "only the body within the limit created a user");
    await assertHealthy(srv, "after 413s");
  });

  test("a body far over max_body_bytes is refused with a JSON 413 (connection closed) and the server stays up", async () => {
    // Announced by Content-Length: refused before the body is read (the body is never sent).
    const announced = await rawRequest(srv.port, buildRequest("POST", "/api/v1/user", [["x-api-key", srv.apiKey], ["Content-Length", String(HARD_BODY + 1)]]), {
      timeoutMs: 5000,
    });
    assertJsonError(announced, 413, "Content-Length far over max_body_bytes");
    assert.equal(announced.header("connection"), "close");
    // Sent in full.
    const sent = await rawRequest(srv.port, buildRequest("POST", "/api/v1/user", [["x-api-key", srv.apiKey]], userBody(HARD_BODY + 4096)), { timeoutMs: 5000 });
    assertJsonError(sent, 413, "a body far over max_body_bytes, sent in full");
    // A Content-Length far beyond any memory.
    const huge = await rawRequest(srv.port, buildRequest("POST", "/api/v1/user", [["x-api-key", srv.apiKey], ["Content-Length", "1000000000000"]]), {
      timeoutMs: 5000,
    });
    assertJsonError(huge, 413, "Content-Length 10^12");
    // Chunked, over the hard limit.
    const chunked = await rawRequest(srv.port, chunkedRequest("/api/v1/user", [["x-api-key", srv.apiKey]], userBody(HARD_BODY + 8192)), {
      timeoutMs: 5000,
    });
    assertJsonError(chunked, 413, "a chunked body far over max_body_bytes");
    await assertHealthy(srv, "after bodies far over the limit");
  });

  test("oversized headers are refused with a 4xx, never served, and the server stays up", async () => {
    const cases = [
      ["one 20000-byte header", buildRequest("GET", "/api/v1/account", [["x-api-key", srv.apiKey], ["X-Pad", "a".repeat(20000)]])],
      ["2000 small headers (about 30 KB)", buildRequest("GET", "/api/v1/account", [["x-api-key", srv.apiKey], ...Array.from({ length: 2000 }, (_, i) => [`X-H${i}`, "0123456789"])])],
      ["a 20000-byte request target", buildRequest("GET", `/api/v1/user/${"a".repeat(20000)}`, [["x-api-key", srv.apiKey]])],
      ["an 18000-byte Authorization header", buildRequest("GET", "/api/v1/me", [["nettu-account", "00000000-0000-4000-8000-000000000000"], ["Authorization", `Bearer ${"a".repeat(18000)}`]])],
    ];
    for (const [what, req] of cases) {
      const r = await rawRequest(srv.port, req, { timeoutMs: 5000 });
      assert.ok(r.status >= 400 && r.status < 500, `${what}: expected a 4xx refusal, got ${r.status} (${r.timedOut ? "timed out" : r.error || "answered"})`);
      await assertHealthy(srv, what);
    }
    // Headers that never end, dribbled in 1 KiB pieces past the limit: refused (4xx or closed).
    const pieces = [buildRequest("GET", "/api/v1/", [], null, { close: false }).subarray(0, 20)];
    for (let i = 0; i < 24; i++) pieces.push(`X-P${i}: ${"b".repeat(1018)}\r\n`);
    const endless = await rawRequest(srv.port, pieces, { gapMs: 10, timeoutMs: 5000 });
    assert.ok(endless.status >= 400 || (endless.status === 0 && endless.closed), `endless headers: got ${endless.status}`);
    // Just below the limit a request is served normally.
    const fine = await rawRequest(srv.port, buildRequest("GET", "/api/v1/account", [["x-api-key", srv.apiKey], ["X-Pad", "a".repeat(12000)]]));
    assert.equal(fine.status, 200, `a 12000-byte header is within max_header_bytes: got ${fine.status} ${fine.text}`);
    await assertHealthy(srv, "after oversized headers");
  });
});

describe("idle and slow connections", () => {
  let srv;
  const idle = [];
  before(async () => {
    srv = await launch();
  });
  after(async () => {
    for (const s of idle) s.destroy();
    await srv?.stop();
  });

  test("300 idle connections and one request dribbled a byte per 100 ms do not slow other clients (p99 < 200 ms)", async () => {
    const user = assertStatus(await srv.admin("POST", "/user", { body: { metadata: { who: "latency" } } }), 201).user;
    // 300 connections that never send anything, 20 that stall inside a request line.
    const opened = [];
    for (let i = 0; i < 320; i++) {
      opened.push(
        new Promise((resolve, reject) => {
          const s = net.connect(srv.port, "127.0.0.1", () => {
            if (i >= 300) s.write("GET /api/v1/ HT");
            resolve();
          });
          s.on("error", reject);
          idle.push(s);
        }),
      );
    }
    await withTimeout(Promise.all(opened), 10000, "opening 320 connections");

    // The dribbler: a whole request, one byte every 100 ms (about 4 s).
    const req = buildRequest("GET", `/api/v1/user/${user.id}`, [["x-api-key", srv.apiKey]]);
    const bytes = Array.from(req, (b) => Buffer.from([b]));
    const dribbled = rawRequest(srv.port, bytes, { gapMs: 100, timeoutMs: bytes.length * 100 + 10000 });
    let dribbleDone = false;
    dribbled.then(() => (dribbleDone = true));

    // Another client: 4 keep-alive loops of GET /user/{id}, each pausing 5 ms between
    // requests, until the dribbler is done (at least 300 requests, at most 20 s).
    const lat = [];
    const statuses = {};
    const deadline = Date.now() + 20000;
    const loop = async () => {
      while (Date.now() < deadline && (!dribbleDone || lat.length < 300)) {
        const t0 = performance.now();
        const r = await srv.admin("GET", `/user/${user.id}`);
        lat.push(performance.now() - t0);
        statuses[r.status] = (statuses[r.status] || 0) + 1;
        await sleep(5);
      }
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
    const answer = await dribbled;
    const p50 = percentile(lat, 50);
    const p99 = percentile(lat, 99);
    console.log(`# ${lat.length} requests beside 320 idle/stalled connections and a dribbler: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${lat.reduce((m, x) => Math.max(m, x), 0).toFixed(2)} ms`);
    assert.deepEqual(Object.keys(statuses), ["200"], `every request answered 200: ${JSON.stringify(statuses)}`);
    assert.ok(lat.length >= 300, `at least 300 requests measured (${lat.length})`);
    assert.ok(p99 < 200, `p99 latency ${p99.toFixed(1)} ms < 200 ms`);
    assert.equal(answer.status, 200, `the dribbled request is served in the end: ${answer.status} ${answer.text}`);
    assert.equal(answer.json.user.id, user.id);
    await assertHealthy(srv, "after the idle connections");
  });
});

describe("max_connections", () => {
  let srv;
  const conns = [];
  before(async () => {
    // 8 across 2 workers: 4 each.
    srv = await launch({ ini: { server: { max_connections: 8, workers: 2 } } });
  });
  after(async () => {
    for (const c of conns) c.close();
    await srv?.stop();
  });

  const GET = buildRequest("GET", "/api/v1/", [], null, { close: false });

  test("at the limit further connections wait in the backlog (not refused, not crashed) and are served once others close", async () => {
    // Opened one after the other, each with one answered request, so every worker counts
    // its connections before it accepts the next one.
    for (let i = 0; i < 8; i++) {
      const c = await openConn(srv.port);
      conns.push(c);
      const r = await c.send(GET, 3000);
      assert.ok(r && r.status === 200, `connection ${i + 1} of 8 is served`);
    }
    // Two more: connected by the kernel, but not served while the 8 stay open.
    const extra = [await openConn(srv.port), await openConn(srv.port)];
    conns.push(...extra);
    const pending = extra.map((c) => c.send(GET, 8000));
    const early = await Promise.race([Promise.all(pending.map((p) => p.then((r) => (r ? "served" : "none")))), sleep(1000).then(() => "waiting")]);
    assert.equal(early, "waiting", "connections beyond max_connections are not served while the others stay open");
    assert.ok(!extra.some((c) => c.closed), "the waiting connections are not closed");
    assert.ok(srv.alive(), "the server is up");

    // One counted connection closes: a waiting one is accepted and served.
    const t0 = Date.now();
    conns[0].close();
    const first = await Promise.race(pending.map((p, i) => p.then((r) => ({ r, i }))));
    assert.ok(first.r && first.r.status === 200, "a waiting connection is served after one closes");
    console.log(`# a queued connection was served ${Date.now() - t0} ms after another closed`);
    // All the others close: every waiting connection is served.
    for (const c of conns.slice(1, 8)) c.close();
    const all = await Promise.all(pending);
    assert.ok(all.every((r) => r && r.status === 200), "every waiting connection is served in the end");
    // The limit holds again and the server keeps accepting after the burst.
    for (const c of extra) c.close();
    await sleep(200);
    await assertHealthy(srv, "after the connection limit");
  });
});

describe("running out of file descriptors", () => {
  let srv;
  const socks = [];
  before(async () => {
    srv = await launch();
  });
  after(async () => {
    for (const s of socks) s.destroy();
    await srv?.stop();
  });

  // CPU time (user + system, in 1/100 s) of a process.
  const cpuTicks = (pid) => {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(f[11]) + Number(f[12]);
  };

  test("idle connections up to the fd limit: the server neither spins nor floods its log, and recovers when they close", async () => {
    // Below max_connections (4096 by default), idle connections can reach the process's file
    // limit. Lower it to 64 (prlimit, util-linux) and open 120.
    try {
      execFileSync("prlimit", ["--pid", String(srv.pid), "--nofile=64:64"], { stdio: "pipe" });
    } catch (err) {
      assert.fail(`prlimit (util-linux) is needed to lower the server's file limit: ${err.message}`);
    }
    const lines0 = srv.log().split("\n").length;
    for (let i = 0; i < 120; i++) {
      socks.push(
        await new Promise((resolve) => {
          const s = net.connect(srv.port, "127.0.0.1", () => resolve(s));
          s.on("error", () => resolve(s));
        }),
      );
    }
    await sleep(500);
    const t0 = cpuTicks(srv.pid);
    await sleep(3000);
    const cpu = cpuTicks(srv.pid) - t0;
    const added = srv.log().split("\n").length - lines0;
    console.log(`# out of file descriptors for 3 s: ${cpu / 100} s of CPU, ${added} log lines`);
    assert.ok(srv.alive(), "the server is still running");
    assert.ok(added < 100, `the log must not be flooded while accept() fails with EMFILE: ${added} lines in 3.5 s, e.g. ${srv.logTail(1)}`);
    assert.ok(cpu < 30, `the server must not spin while accept() fails: ${cpu / 100} s of CPU in 3 s`);
    for (const s of socks.splice(0)) s.destroy();
    const deadline = Date.now() + 5000;
    while (!(await healthy(srv.port, 1000)) && Date.now() < deadline) await sleep(100);
    await assertHealthy(srv, "after the idle connections closed");
  });
});

describe("read_timeout_s", () => {
  let srv;
  before(async () => {
    srv = await launch({ ini: { server: { read_timeout_s: 2 } } });
  });
  after(async () => {
    await srv?.stop();
  });

  // Resolves with how long the server took to close `conn` (ms), or null after `limitMs`.
  async function closedWithin(conn, t0, limitMs) {
    const deadline = Date.now() + limitMs;
    while (!conn.closed && Date.now() < deadline) await sleep(25);
    return conn.closed ? conn.closedAt - t0 : null;
  }

  test("a connection that sends nothing, an idle keep-alive connection and a stalled request are closed after read_timeout_s", async () => {
    const silent = await openConn(srv.port);
    const t0 = Date.now();
    const keep = await openConn(srv.port);
    const r = await keep.send(buildRequest("GET", "/api/v1/", [], null, { close: false }), 3000);
    assert.equal(r?.status, 200, "the keep-alive connection is served");
    const t1 = Date.now();
    const stalled = await openConn(srv.port);
    stalled.sock.write("GET /api/v1/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ");
    const t2 = Date.now();

    const [a, b, c] = await Promise.all([closedWithin(silent, t0, 8000), closedWithin(keep, t1, 8000), closedWithin(stalled, t2, 8000)]);
    console.log(`# closed after: silent ${a} ms, idle keep-alive ${b} ms, stalled request ${c} ms (read_timeout_s = 2)`);
    for (const [what, ms] of [
      ["silent connection", a],
      ["idle keep-alive connection", b],
      ["stalled request", c],
    ]) {
      assert.ok(ms !== null, `${what}: still open 8 s later`);
      assert.ok(ms >= 1500 && ms <= 6000, `${what}: closed after ${ms} ms, expected about 2000`);
    }
    // A connection that keeps talking is not closed by the timeout: 5 requests 1 s apart.
    const chatty = await openConn(srv.port);
    for (let i = 0; i < 5; i++) {
      const x = await chatty.send(buildRequest("GET", "/api/v1/", [], null, { close: false }), 3000);
      assert.equal(x?.status, 200, `request ${i + 1} on a busy connection`);
      await sleep(1000);
    }
    assert.ok(!chatty.closed, "a connection used every second stays open");
    chatty.close();
    await assertHealthy(srv, "after timeouts");
  });
});
