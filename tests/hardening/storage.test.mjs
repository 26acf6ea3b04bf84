// Hardening: storage faults. While the database is read-only, the disk is full or another
// process holds the write lock, every write route answers 503 with a JSON error naming the
// cause and changes nothing, every read route keeps answering 200, the server never exits,
// and once the fault clears writes succeed again without a restart (same process).
//
// Faults:
//   - the store_sqlite `fault_file` test hook (plugins/store_sqlite/README.md): readonly,
//     full, locked;
//   - a real full disk: the database on a small tmpfs that a filler file fills up;
//   - a real lock: `sqlite3 <db>` in a child process holding BEGIN EXCLUSIVE, with
//     busy_timeout_ms = 200;
//   - a real read-only database: a read-only bind mount of the database folder. Linux refuses
//     to remount a file system read-only while a process has files on it open for writing
//     (EBUSY), so the fault cannot be made under a running server: the server is started on
//     the read-only mount (after an unclean stop, as when the kernel remounts a failing disk
//     read-only), and the mount is then made writable again.
// The real full-disk and read-only variants need mount(8) (root in a normal container); they
// are skipped with a message when mounting is not permitted.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { rsaKeyPair, userToken } from "../e2e/harness.mjs";
import { assertJsonError, healthy, integrityCheck, launch, newApiKey, removeDir, sleep, tempDir } from "./lib.mjs";

const START = Date.UTC(2032, 2, 1, 10);
const HOUR = 3_600_000;
const keys = rsaKeyPair();

// The largest metadata a user may hold (50 keys of 64 bytes, 512-byte values: about 28 KiB
// stored twice), tagged with `tag` so every write differs.
function bigMetadata(tag) {
  const m = { tag };
  for (let i = 0; Object.keys(m).length < 50; i++) m[`big${i}`.padEnd(64, "x")] = `${tag} `.padEnd(512, "x");
  return m;
}

// Creates what the write and read operations work on; returns ids and credentials.
async function fixtures(srv) {
  const must = async (method, p, body, status) => {
    const r = await srv.admin(method, p, { body });
    assert.equal(r.status, status, `fixture ${method} ${p}: ${r.status} ${r.text}`);
    return r.json;
  };
  const f = {};
  f.account = (await must("GET", "/account", undefined, 200)).account.id;
  await must("PUT", "/account/pubkey", { publicJwtKey: keys.publicKey }, 200);
  f.user = (await must("POST", "/user", { metadata: { role: "owner" } }, 201)).user.id;
  f.victim = (await must("POST", "/user", { metadata: { role: "victim" } }, 201)).user.id;
  f.cal = (await must("POST", `/user/${f.user}/calendar`, { timezone: "UTC", metadata: { kind: "main" } }, 201)).calendar.id;
  f.event = (await must("POST", `/user/${f.user}/events`, { calendarId: f.cal, startTs: START, duration: HOUR, busy: true }, 201)).event.id;
  f.event2 = (await must("POST", `/user/${f.user}/events`, { calendarId: f.cal, startTs: START + 2 * HOUR, duration: HOUR, busy: true }, 201)).event.id;
  f.token = userToken(keys.privateKey, f.user, { allow: ["*"] });
  return f;
}

// The write operations: every plugin's write routes, admin and end-user.
function writes(srv, f) {
  const user = { "nettu-account": f.account, authorization: `Bearer ${f.token}` };
  return [
    ["POST /account", () => srv.request("POST", "/account", { body: { code: srv.secret } })],
    ["PUT /account/pubkey", () => srv.admin("PUT", "/account/pubkey", { body: { publicJwtKey: keys.publicKey } })],
    ["PUT /account/webhook", () => srv.admin("PUT", "/account/webhook", { body: { webhookUrl: "https://93.184.215.14/hook" } })],
    ["DELETE /account/webhook", () => srv.admin("DELETE", "/account/webhook")],
    ["POST /user", () => srv.admin("POST", "/user", { body: { metadata: { n: "new" } } })],
    ["PUT /user/{id}", () => srv.admin("PUT", `/user/${f.user}`, { body: { metadata: { role: "changed" } } })],
    ["POST /user/{id}/calendar", () => srv.admin("POST", `/user/${f.user}/calendar`, { body: { timezone: "UTC" } })],
    ["PUT /user/calendar/{id}", () => srv.admin("PUT", `/user/calendar/${f.cal}`, { body: { settings: { timezone: "Europe/Oslo" } } })],
    ["POST /user/{id}/events", () => srv.admin("POST", `/user/${f.user}/events`, { body: { calendarId: f.cal, startTs: START + 5 * HOUR, duration: HOUR } })],
    ["PUT /user/events/{id}", () => srv.admin("PUT", `/user/events/${f.event}`, { body: { busy: false } })],
    ["POST /calendar (end user)", () => srv.request("POST", "/calendar", { headers: user, body: { timezone: "UTC" } })],
    ["POST /events (end user)", () => srv.request("POST", "/events", { headers: user, body: { calendarId: f.cal, startTs: START + 7 * HOUR, duration: HOUR } })],
    ["DELETE /user/events/{id}", () => srv.admin("DELETE", `/user/events/${f.event2}`)],
    ["DELETE /user/{id}", () => srv.admin("DELETE", `/user/${f.victim}`)],
  ];
}

// The read operations, with a check of what they return.
function reads(srv, f) {
  const user = { "nettu-account": f.account, authorization: `Bearer ${f.token}` };
  const win = `startTs=${START - HOUR}&endTs=${START + 10 * HOUR}`;
  return [
    ["GET /account", () => srv.admin("GET", "/account"), (j) => j.account.id === f.account],
    ["GET /user/{id}", () => srv.admin("GET", `/user/${f.user}`), (j) => j.user.metadata.role === "owner"],
    ["GET /user/{victim}", () => srv.admin("GET", `/user/${f.victim}`), (j) => j.user.id === f.victim],
    ["GET /user/meta", () => srv.admin("GET", "/user/meta?key=role&value=owner"), (j) => j.users.some((u) => u.id === f.user)],
    ["GET /user/calendar/{id}", () => srv.admin("GET", `/user/calendar/${f.cal}`), (j) => j.calendar.settings.timezone === "UTC"],
    ["GET /calendar/meta", () => srv.admin("GET", "/calendar/meta?key=kind&value=main"), (j) => j.calendars.length >= 1],
    ["GET /user/events/{id}", () => srv.admin("GET", `/user/events/${f.event}`), (j) => j.event.busy === true],
    ["GET /user/events/{event2}", () => srv.admin("GET", `/user/events/${f.event2}`), (j) => j.event.id === f.event2],
    ["GET calendar events", () => srv.admin("GET", `/user/calendar/${f.cal}/events?${win}`), (j) => j.events.length >= 2],
    ["GET free/busy", () => srv.request("GET", `/user/${f.user}/freebusy?${win}&calendarIds=${f.cal}`, { headers: { "nettu-account": f.account } }), (j) => j.busy.length >= 1],
    ["GET /me (end user)", () => srv.request("GET", "/me", { headers: user }), (j) => j.user.id === f.user],
    ["GET /calendar/{id} (end user)", () => srv.request("GET", `/calendar/${f.cal}`, { headers: user }), (j) => j.calendar.id === f.cal],
  ];
}

// Asserts the state under a fault: every write 503 naming `cause` (or, with `lenient`, 503
// or a success: a real full disk may still take a small write into space SQLite holds
// already), every read 200 with the unchanged data. Returns the number of 503s.
async function assertFaulted(srv, f, cause, { lenient = false } = {}) {
  let refused = 0;
  for (const [name, op] of writes(srv, f)) {
    const r = await op();
    if (lenient && r.status >= 200 && r.status < 300) continue;
    assertJsonError(r, 503, `${name} under "${cause}"`);
    assert.match(r.json.message, cause, `${name}: the message names the cause`);
    refused++;
  }
  for (const [name, op, check] of reads(srv, f)) {
    const r = await op();
    assert.equal(r.status, 200, `${name} under the fault: ${r.status} ${r.text}`);
    if (!lenient) assert.ok(check(r.json), `${name} under the fault shows the unchanged data: ${r.text.slice(0, 200)}`);
  }
  assert.ok(srv.alive(), "the server is still running");
  return refused;
}

// Asserts every write succeeds again (the fault has cleared), on the same process.
async function assertRecovered(srv, f, pid) {
  for (const [name, op] of writes(srv, f)) {
    const r = await op();
    assert.ok(r.status >= 200 && r.status < 300, `${name} after the fault cleared: ${r.status} ${r.text}`);
  }
  assert.equal(srv.pid, pid, "recovered without a restart");
  assert.ok(srv.alive());
}

// Polls POST /user until it answers `status` (bounded: 5 s). Returns the last answer.
async function waitForWriteStatus(srv, status, what) {
  const deadline = Date.now() + 5000;
  let r;
  do {
    r = await srv.admin("POST", "/user", { body: { metadata: { probe: "1" } } });
    if (r.status === status) return r;
    await sleep(100);
  } while (Date.now() < deadline);
  assert.fail(`${what}: POST /user still answers ${r.status} (${r.text}) after 5 s, expected ${status}`);
}

// True when this process may mount file systems (tries a 1 MiB tmpfs).
function canMount() {
  const dir = fs.mkdtempSync("/tmp/nettu-hard-mountprobe-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "pipe" });
    execFileSync("umount", [dir], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const MOUNT_OK = canMount();
const NO_MOUNT = "mount(8) is not permitted here (needs root with CAP_SYS_ADMIN): the real-fault variant is skipped";

function umount(dir) {
  try {
    execFileSync("umount", [dir], { stdio: "pipe" });
  } catch {
    try {
      execFileSync("umount", ["-l", dir], { stdio: "pipe" });
    } catch {
      /* not mounted */
    }
  }
}

describe("the fault_file hook", () => {
  let srv;
  let dir;
  let faultFile;
  before(async () => {
    dir = await tempDir("faulthook");
    faultFile = path.join(dir, "fault");
    srv = await launch({ dir, ini: { store_sqlite: { fault_file: faultFile, busy_timeout_ms: 200 } } });
  });
  after(async () => {
    await srv?.stop();
    await removeDir(dir);
  });

  for (const [fault, cause] of [
    ["readonly", /read-only/i],
    ["full", /disk is full/i],
    ["locked", /locked/i],
    // statements run, every commit fails: grouped event writes included (503 for each
    // request of the group, and the reads show nothing of them)
    ["commit", /disk is full/i],
  ]) {
    test(`fault "${fault}": writes 503 naming the cause, reads 200, recovery without restart`, async () => {
      const f = await fixtures(srv);
      const pid = srv.pid;
      fs.writeFileSync(faultFile, `${fault}\n`);
      await waitForWriteStatus(srv, 503, `fault ${fault}`);
      await sleep(1100); // every worker's connection has looked at the file by now
      const refused = await assertFaulted(srv, f, cause);
      console.log(`# fault_file ${fault}: ${refused} writes answered 503, reads answered 200`);
      fs.rmSync(faultFile);
      await waitForWriteStatus(srv, 201, `after clearing ${fault}`);
      await sleep(1100);
      await assertRecovered(srv, f, pid);
      assert.ok(await healthy(srv.port));
    });
  }
});

describe("a real lock held by another process", () => {
  let srv;
  before(async () => {
    srv = await launch({ ini: { store_sqlite: { busy_timeout_ms: 200 } } });
  });
  after(async () => {
    await srv?.stop();
  });

  test("sqlite3 holding BEGIN EXCLUSIVE: writes 503 'database is locked', reads 200, recovery when it lets go", async () => {
    const f = await fixtures(srv);
    const pid = srv.pid;
    const holder = spawn("sqlite3", [srv.db], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    holder.stdout.on("data", (d) => (out += d));
    holder.stderr.on("data", (d) => (out += d));
    const exited = new Promise((r) => holder.on("exit", r));
    try {
      holder.stdin.write(".timeout 5000\nBEGIN EXCLUSIVE;\nSELECT 'LOCK' || 'ED';\n");
      const deadline = Date.now() + 10000;
      while (!out.includes("LOCKED") && Date.now() < deadline) await sleep(20);
      assert.ok(out.includes("LOCKED"), `sqlite3 took the lock (output: ${out})`);
      const t0 = Date.now();
      const refused = await assertFaulted(srv, f, /database is locked/i);
      console.log(`# real lock: ${refused} writes answered 503 (busy_timeout_ms = 200) in ${Date.now() - t0} ms, reads answered 200`);
      holder.stdin.write("ROLLBACK;\n.quit\n");
      holder.stdin.end();
      await exited;
      await assertRecovered(srv, f, pid);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});

describe("a real full disk (tmpfs)", () => {
  test("writes 503 'disk is full' while a filler takes the space, reads 200, recovery when it is removed", async (t) => {
    if (!MOUNT_OK) {
      t.skip(NO_MOUNT);
      return;
    }
    const dir = await tempDir("diskfull");
    const mnt = path.join(dir, "mnt");
    fs.mkdirSync(mnt);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", mnt]);
    let srv;
    try {
      srv = await launch({ dir, db: path.join(mnt, "db", "nettu.db") });
      const f = await fixtures(srv);
      const pid = srv.pid;
      // Fill the file system.
      const filler = path.join(mnt, "filler");
      const fd = fs.openSync(filler, "w");
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let filled = 0;
      try {
        for (let i = 0; i < 1000; i++) filled += fs.writeSync(fd, chunk);
        assert.fail("the 16 MiB tmpfs did not fill up");
      } catch (err) {
        if (err.code !== "ENOSPC") throw err;
      } finally {
        fs.closeSync(fd);
      }
      // Big writes until SQLite runs out of room (space it holds already may take a few).
      let first = null;
      let accepted = 0;
      for (let i = 0; i < 500 && !first; i++) {
        const r = await srv.admin("POST", "/user", { body: { metadata: bigMetadata(String(i)) } });
        if (r.status === 503) first = r;
        else {
          assert.equal(r.status, 201, `a write on a full disk is 201 or 503: ${r.status} ${r.text}`);
          accepted++;
        }
      }
      assert.ok(first, "a write failed once the disk was full");
      assertJsonError(first, 503, "big write on a full disk");
      assert.match(first.json.message, /disk is full/i);
      const refused = await assertFaulted(srv, f, /disk is full/i, { lenient: true });
      console.log(`# real full disk: filler ${filled} bytes; ${accepted} big writes still fitted; then 503 "${first.json.message}"; ${refused} of the small writes refused; reads 200`);
      fs.rmSync(filler);
      await assertRecovered(srv, f, pid);
      for (let i = 0; i < 10; i++) {
        const r = await srv.admin("POST", "/user", { body: { metadata: bigMetadata(`after ${i}`) } });
        assert.equal(r.status, 201, `big write ${i} after the disk has room again: ${r.status} ${r.text}`);
      }
      assert.equal(srv.pid, pid, "recovered without a restart");
      assert.equal(integrityCheck(srv.db), "ok");
      await srv.stop();
    } finally {
      if (srv?.alive()) await srv.kill("SIGKILL");
      umount(mnt);
      await removeDir(dir);
    }
  });
});

describe("a real read-only database (read-only bind mount)", () => {
  test("started on a read-only mount: writes 503 'read-only', reads 200; writable again: writes succeed without a restart", async (t) => {
    if (!MOUNT_OK) {
      t.skip(NO_MOUNT);
      return;
    }
    const dir = await tempDir("readonly");
    const data = path.join(dir, "data");
    const view = path.join(dir, "view");
    fs.mkdirSync(data);
    fs.mkdirSync(view);
    const apiKey = newApiKey();
    const secret = "readonly-secret-code";
    let srv;
    let mounted = false;
    try {
      // Data written through the mount point, then an unclean stop (the WAL and its index
      // stay, as after a crash).
      execFileSync("mount", ["--bind", data, view]);
      mounted = true;
      srv = await launch({ dir, db: path.join(view, "nettu.db"), apiKey, secret, ini: { store_sqlite: { busy_timeout_ms: 200 } } });
      const f = await fixtures(srv);
      await srv.kill("SIGKILL");
      execFileSync("mount", ["-o", "remount,bind,ro", view]);
      await srv.restart();
      const pid = srv.pid;
      const refused = await assertFaulted(srv, f, /read-only/i);
      console.log(`# real read-only mount: ${refused} writes answered 503, reads answered 200`);
      execFileSync("mount", ["-o", "remount,bind,rw", view]);
      await waitForWriteStatus(srv, 201, "after the mount became writable again");
      await assertRecovered(srv, f, pid);
      await srv.kill("SIGTERM");
    } finally {
      if (srv?.alive()) await srv.kill("SIGKILL");
      if (mounted) umount(view);
      await removeDir(dir);
    }
  });
});
