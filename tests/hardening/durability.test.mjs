// Hardening: crash durability (README "Durability"). A client makes acknowledged writes from
// 16 concurrent loops (create user, update its metadata, create a calendar, create an event,
// delete an older user), recording every write the server acknowledged (2xx fully
// received); the server is killed with SIGKILL mid-stream, restarted on the same database,
// and every acknowledged write must be there (GET each entity: present with the
// acknowledged state, or 404 for acknowledged deletes); `PRAGMA integrity_check` must be
// `ok` and `PRAGMA foreign_key_check` empty. Three kill/restart cycles per mode, with
// synchronous = normal and synchronous = full.

import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import { test } from "node:test";
import { httpRequest, integrityCheck, launch, removeDir, sleep, sqlite, tempDir } from "./lib.mjs";

const LOOPS = 16;
const CYCLES = 3;
const START = Date.UTC(2031, 5, 2, 8);

// Runs the writers until the first failed request of each loop (the kill). `state` collects
// what was acknowledged; returns the number of requests in flight when stopFn resolved.
async function writeUntilKilled(srv, state, cycle, killAfterMs) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOOPS });
  const req = (method, p, body) => httpRequest(agent, srv.port, method, p, { headers: { "x-api-key": srv.apiKey }, body, timeoutMs: 15000 });
  let inflight = 0;
  let killed = false;
  // One request: resolves with the answer, or null once the server is gone.
  const call = async (method, p, body) => {
    inflight++;
    try {
      return await req(method, p, body);
    } catch {
      return null;
    } finally {
      inflight--;
    }
  };
  const loop = async (w) => {
    const mine = [];
    for (let i = 0; i < 100000 && !killed; i++) {
      const tag = `${cycle}.${w}.${i}`;
      const meta0 = { loop: String(w), iter: tag, v: "0" };
      const u = await call("POST", "/user", { metadata: meta0 });
      if (!u) return;
      assert.equal(u.status, 201, `create user: ${u.status} ${u.text}`);
      const uid = u.json.user.id;
      state.users.set(uid, { meta: meta0, pending: null });
      state.writes++;
      mine.push(uid);

      const meta1 = { loop: String(w), iter: tag, v: "1" };
      state.users.get(uid).pending = meta1;
      const up = await call("PUT", `/user/${uid}`, { metadata: meta1 });
      if (!up) return;
      assert.equal(up.status, 200, `update user: ${up.status} ${up.text}`);
      state.users.set(uid, { meta: meta1, pending: null });
      state.writes++;

      const c = await call("POST", `/user/${uid}/calendar`, { timezone: "Europe/Berlin", metadata: { iter: tag } });
      if (!c) return;
      assert.equal(c.status, 201, `create calendar: ${c.status} ${c.text}`);
      state.cals.set(c.json.calendar.id, { user: uid, tag });
      state.writes++;

      const e = await call("POST", `/user/${uid}/events`, { calendarId: c.json.calendar.id, startTs: START + i * 3_600_000, duration: 1_800_000, busy: true, metadata: { iter: tag } });
      if (!e) return;
      assert.equal(e.status, 201, `create event: ${e.status} ${e.text}`);
      state.events.set(e.json.event.id, { user: uid, cal: c.json.calendar.id, startTs: START + i * 3_600_000 });
      state.writes++;

      if (i % 4 === 3) {
        const victim = mine.shift();
        state.deleting.add(victim);
        const d = await call("DELETE", `/user/${victim}`);
        if (!d) return;
        assert.equal(d.status, 200, `delete user: ${d.status} ${d.text}`);
        state.deleting.delete(victim);
        state.deleted.add(victim);
        state.writes++;
      }
    }
  };
  const loops = Array.from({ length: LOOPS }, (_, w) => loop(w));
  await sleep(killAfterMs);
  killed = true;
  const inflightAtKill = inflight;
  await srv.kill("SIGKILL");
  await Promise.all(loops);
  agent.destroy();
  return inflightAtKill;
}

// JSON text of a flat object with sorted keys.
const canon = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

// Checks every acknowledged write against the restarted server; returns the number of
// entities checked.
async function verify(srv, state) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const get = (p) => httpRequest(agent, srv.port, "GET", p, { headers: { "x-api-key": srv.apiKey } });
  const problems = [];
  const gone = (uid) => state.deleted.has(uid) || state.deleting.has(uid);
  const jobs = [];
  for (const [uid, u] of state.users) {
    jobs.push(async () => {
      const r = await get(`/user/${uid}`);
      if (state.deleted.has(uid)) {
        if (r.status !== 404) problems.push(`user ${uid}: deleted (acknowledged) but GET answered ${r.status}`);
        return;
      }
      if (state.deleting.has(uid)) return; // a delete in flight: either state is fine
      if (r.status !== 200) {
        problems.push(`user ${uid}: acknowledged but GET answered ${r.status} ${r.text}`);
        return;
      }
      const got = canon(r.json.user.metadata);
      const ok = [u.meta, u.pending].filter(Boolean).map(canon);
      if (!ok.includes(got)) problems.push(`user ${uid}: metadata ${got}, acknowledged ${ok[0]}`);
    });
  }
  for (const [cid, c] of state.cals) {
    jobs.push(async () => {
      if (gone(c.user)) return;
      const r = await get(`/user/calendar/${cid}`);
      if (r.status !== 200 || r.json.calendar.userId !== c.user || r.json.calendar.metadata.iter !== c.tag) {
        problems.push(`calendar ${cid}: acknowledged but GET answered ${r.status} ${r.text}`);
      }
    });
  }
  for (const [eid, e] of state.events) {
    jobs.push(async () => {
      if (gone(e.user)) return;
      const r = await get(`/user/events/${eid}`);
      if (r.status !== 200 || r.json.event.calendarId !== e.cal || r.json.event.startTs !== e.startTs) {
        problems.push(`event ${eid}: acknowledged but GET answered ${r.status} ${r.text}`);
      }
    });
  }
  // 16 at a time.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < jobs.length) await jobs[next++]();
    }),
  );
  agent.destroy();
  assert.ok(problems.length === 0, `${problems.length} acknowledged writes lost or wrong after SIGKILL:\n  ${problems.slice(0, 20).join("\n  ")}`);
  return jobs.length;
}

for (const synchronous of ["normal", "full"]) {
  test(`every acknowledged write survives SIGKILL (synchronous = ${synchronous})`, async () => {
    const dir = await tempDir(`durability-${synchronous}`);
    const srv = await launch({ dir, ini: { store_sqlite: { synchronous } } });
    const state = { users: new Map(), cals: new Map(), events: new Map(), deleted: new Set(), deleting: new Set(), writes: 0 };
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const before = state.writes;
        const killAfter = 700 + Math.floor(Math.random() * 800);
        const inflight = await writeUntilKilled(srv, state, cycle, killAfter);
        assert.equal(srv.exited.signal, "SIGKILL", "the server was killed");
        assert.ok(inflight > 0, "requests were in flight when the server was killed");
        assert.ok(state.writes > before, `cycle ${cycle}: writes were acknowledged before the kill`);
        await srv.restart();
        assert.equal(integrityCheck(srv.db), "ok", "PRAGMA integrity_check after the restart");
        assert.equal(sqlite(srv.db, "PRAGMA foreign_key_check;").trim(), "", "PRAGMA foreign_key_check after the restart");
        const checked = await verify(srv, state);
        console.log(
          `# synchronous=${synchronous} cycle ${cycle + 1}: killed after ${killAfter} ms with ${inflight} requests in flight; ` +
            `${state.writes - before} writes acknowledged in this cycle, ${state.writes} in all; ${checked} entities checked after the restart: all present`,
        );
      }
      console.log(`# synchronous=${synchronous}: ${state.writes} acknowledged writes over ${CYCLES} SIGKILLs, none lost; integrity_check ok`);
      // The check itself can fail: a write that was never made is reported missing.
      const bogus = { ...state, users: new Map([[crypto.randomUUID(), { meta: { v: "0" }, pending: null }]]), cals: new Map(), events: new Map() };
      await assert.rejects(verify(srv, bogus), /1 acknowledged writes lost/, "the verifier detects a missing write");
      await srv.stop();
      assert.equal(integrityCheck(srv.db), "ok", "PRAGMA integrity_check after a clean stop");
      await removeDir(dir);
    } finally {
      if (srv.alive()) await srv.kill("SIGKILL");
    }
  });
}
