// Hardening: group commit ([server] group_commit_ms; README "Group commit"). Event writes of
// one worker share one SQLite commit and their replies wait for it. What must hold:
//   - a 2xx is sent only once the write is committed: a read on another connection (and so,
//     often, the other worker), sent the moment the 201 arrives, always finds the event;
//   - requests of one group fail alone: updates of deleted events (404) and bad bodies (400)
//     mixed into the same groups leave the other writes of the group intact;
//   - pipelined writes on one connection, followed by a read on it, answer in order and the
//     read sees them;
//   - every acknowledged event is stored exactly once (the calendar lists them all);
//   - the same holds with group commit off (group_commit_ms = 0);
//   - what a group keeps in its memo (the service of its bookings, calendars, users) is gone
//     with the group: a change answered between groups is seen by every later request.
// The failure of a group's commit (fault_file `commit`) for single requests is in
// storage.test.mjs; here, for a write whose group is committed by the next pipelined request.

import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { PLUGINS, buildRequest, httpRequest, launch, openConn, removeDir, sleep, tempDir } from "./lib.mjs";

const LOOPS = 24;
const PER_LOOP = 40;
const START = Date.UTC(2032, 0, 5, 8);
const HOUR = 3600000;

for (const ms of [2, 0]) {
  describe(`group_commit_ms = ${ms}`, () => {
    let srv;
    let user;
    let cal;
    before(async () => {
      // The final listing of ~800 events takes more than the default 100 ms CPU budget in
      // sanitizer builds (422); budgets are not what this suite is about.
      srv = await launch({ ini: { server: { group_commit_ms: ms, request_cpu_ms: 10000 } } });
      user = (await srv.admin("POST", "/user", { body: {} })).json.user.id;
      cal = (await srv.admin("POST", `/user/${user}/calendar`, { body: { timezone: "UTC" } })).json.calendar.id;
    });
    after(async () => {
      await srv?.stop();
    });

    test("a 201 means committed: another connection reads the event at once; failures stay alone", async () => {
      const writer = new http.Agent({ keepAlive: true, maxSockets: LOOPS });
      const reader = new http.Agent({ keepAlive: true, maxSockets: LOOPS });
      const key = { "x-api-key": srv.apiKey };
      const created = [];
      let deleted = 0;
      let notFound = 0;
      let badBody = 0;
      const loop = async (n) => {
        for (let i = 0; i < PER_LOOP; i++) {
          const startTs = START + (n * PER_LOOP + i) * HOUR;
          const r = await httpRequest(writer, srv.port, "POST", `/user/${user}/events`, { headers: key, body: { calendarId: cal, startTs, duration: HOUR, busy: true } });
          assert.equal(r.status, 201, `create: ${r.status} ${r.text}`);
          const id = r.json.event.id;
          const g = await httpRequest(reader, srv.port, "GET", `/user/events/${id}`, { headers: key });
          assert.equal(g.status, 200, `read right after the 201 (loop ${n}, ${i}): ${g.status} ${g.text}`);
          assert.equal(g.json.event.startTs, startTs);
          if (i % 5 === 4) {
            // delete it, then update it: the update fails alone inside its group
            const d = await httpRequest(writer, srv.port, "DELETE", `/user/events/${id}`, { headers: key });
            assert.equal(d.status, 200, `delete: ${d.status} ${d.text}`);
            deleted++;
            const u = await httpRequest(writer, srv.port, "PUT", `/user/events/${id}`, { headers: key, body: { busy: false } });
            assert.equal(u.status, 404, `update of a deleted event: ${u.status} ${u.text}`);
            notFound++;
            const gone = await httpRequest(reader, srv.port, "GET", `/user/events/${id}`, { headers: key });
            assert.equal(gone.status, 404, `read right after the delete: ${gone.status}`);
          } else {
            created.push({ id, startTs });
            if (i % 7 === 3) {
              const b = await httpRequest(writer, srv.port, "POST", `/user/${user}/events`, { headers: key, body: { calendarId: cal, startTs, duration: -5 } });
              assert.equal(b.status, 400, `bad body: ${b.status} ${b.text}`);
              badBody++;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));
      writer.destroy();
      reader.destroy();
      const list = await srv.admin("GET", `/user/calendar/${cal}/events?startTs=${START - HOUR}&endTs=${START + (LOOPS * PER_LOOP + 1) * HOUR}`);
      assert.equal(list.status, 200, list.text);
      const ids = list.json.events.map((e) => e.event.id).sort();
      assert.deepEqual(ids, created.map((c) => c.id).sort(), "the calendar holds exactly the acknowledged, undeleted events");
      console.log(`# group_commit_ms=${ms}: ${created.length + deleted} created, ${deleted} deleted, ${notFound} 404 and ${badBody} 400 among them`);
      assert.ok(srv.alive());
    });

    test("pipelined writes and a read on one connection answer in order; the read sees them", async () => {
      const conn = await openConn(srv.port);
      try {
        const key = [["x-api-key", srv.apiKey]];
        const bodies = [0, 1, 2, 3].map((k) => JSON.stringify({ calendarId: cal, startTs: START - (k + 10) * HOUR, duration: HOUR }));
        const reqs = bodies.map((b) => buildRequest("POST", `/api/v1/user/${user}/events`, [...key, ["Content-Type", "application/json"]], b, { close: false }));
        const win = `startTs=${START - 20 * HOUR}&endTs=${START - 5 * HOUR}`;
        reqs.push(buildRequest("GET", `/api/v1/user/calendar/${cal}/events?${win}`, key, null, { close: false }));
        conn.sock.write(Buffer.concat(reqs));
        const replies = [];
        for (let k = 0; k < reqs.length; k++) {
          const r = await conn.wait(10000);
          assert.ok(r, `reply ${k} arrived`);
          replies.push(r);
        }
        for (let k = 0; k < 4; k++) {
          assert.equal(replies[k].status, 201, `pipelined write ${k}: ${replies[k].status} ${replies[k].text}`);
          assert.equal(JSON.parse(replies[k].text).event.startTs, START - (k + 10) * HOUR, "in order");
        }
        assert.equal(replies[4].status, 200, replies[4].text);
        assert.equal(JSON.parse(replies[4].text).events.length, 4, "the read after them sees all four");
      } finally {
        conn.close();
      }
    });

    test("a request that arrives while the connection's write waits for its group is answered after it", async () => {
      // Background writers keep groups open on both workers, so the second request of each
      // connection below often arrives while its first reply is held (the read event stays on
      // then, and must stop and resume without losing the bytes).
      const key = [["x-api-key", srv.apiKey]];
      const bg = new http.Agent({ keepAlive: true, maxSockets: 16 });
      let stop = false;
      let bgWrites = 0;
      const bgLoop = async (n) => {
        for (let i = 0; !stop; i++) {
          const startTs = START + (10000 + n * 1000 + i) * HOUR;
          const r = await httpRequest(bg, srv.port, "POST", `/user/${user}/events`, { headers: { "x-api-key": srv.apiKey }, body: { calendarId: cal, startTs, duration: HOUR } });
          assert.equal(r.status, 201, `background write: ${r.status} ${r.text}`);
          bgWrites++;
        }
      };
      const bgDone = Promise.all(Array.from({ length: 16 }, (_, n) => bgLoop(n)));
      const post = (k) => {
        const b = JSON.stringify({ calendarId: cal, startTs: START - (100 + k) * HOUR, duration: HOUR });
        return buildRequest("POST", `/api/v1/user/${user}/events`, [...key, ["Content-Type", "application/json"]], b, { close: false });
      };
      try {
        for (let i = 0; i < 60; i++) {
          const conn = await openConn(srv.port);
          try {
            conn.sock.write(post(2 * i));
            await sleep(i % 3);
            conn.sock.write(post(2 * i + 1));
            for (let k = 0; k < 2; k++) {
              const r = await conn.wait(10000);
              assert.ok(r, `connection ${i}: reply ${k} arrived`);
              assert.equal(r.status, 201, `connection ${i} write ${k}: ${r.status} ${r.text}`);
              assert.equal(JSON.parse(r.text).event.startTs, START - (100 + 2 * i + k) * HOUR, "in order");
            }
          } finally {
            conn.close();
          }
        }
      } finally {
        stop = true;
        await bgDone;
        bg.destroy();
      }
      assert.ok(bgWrites > 0);
      assert.ok(srv.alive());
    });
  });
}

describe("a failed group commit in the middle of pipelined requests", () => {
  let srv;
  let dir;
  let faultFile;
  before(async () => {
    dir = await tempDir("groupfault");
    faultFile = path.join(dir, "fault");
    srv = await launch({ dir, ini: { store_sqlite: { fault_file: faultFile } } });
  });
  after(async () => {
    await srv?.stop();
    await removeDir(dir);
  });

  test("the write's reply becomes one 503 naming the cause, the connection closes, nothing is stored", async () => {
    const key = [["x-api-key", srv.apiKey]];
    const user = (await srv.admin("POST", "/user", { body: {} })).json.user.id;
    const cal = (await srv.admin("POST", `/user/${user}/calendar`, { body: { timezone: "UTC" } })).json.calendar.id;
    fs.writeFileSync(faultFile, "commit\n");
    await sleep(1100); // every worker's connection has looked at the file by now
    const conn = await openConn(srv.port);
    try {
      const body = JSON.stringify({ calendarId: cal, startTs: START, duration: HOUR });
      conn.sock.write(
        Buffer.concat([
          buildRequest("POST", `/api/v1/user/${user}/events`, [...key, ["Content-Type", "application/json"]], body, { close: false }),
          buildRequest("GET", `/api/v1/user/calendar/${cal}`, key, null, { close: false }),
        ]),
      );
      const r = await conn.wait(10000);
      assert.ok(r, "an answer arrived");
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.error, "unavailable");
      assert.match(r.json.message, /disk is full/i);
      assert.equal(await conn.wait(3000), null, "nothing else is answered: the connection closes");
    } finally {
      conn.close();
    }
    fs.rmSync(faultFile);
    await sleep(1100);
    const list = await srv.admin("GET", `/user/calendar/${cal}/events?startTs=${START - HOUR}&endTs=${START + 2 * HOUR}`);
    assert.equal(list.status, 200, list.text);
    assert.equal(list.json.events.length, 0, "the refused write is not stored");
    assert.ok(srv.alive());
  });
});

describe("what a group keeps in its memo (ABI 1.6) ends with the group", () => {
  let srv;
  before(async () => {
    srv = await launch({ plugins: [...PLUGINS, "schedule", "service"], ini: { server: { request_cpu_ms: 10000 } } });
  });
  after(async () => {
    await srv?.stop();
  });

  test("a host removed from a service, or a calendar deleted, under a steady load of bookings and event writes is gone for every request sent after the change was answered", async () => {
    const key = { "x-api-key": srv.apiKey };
    const free = { startTs: START - 24 * HOUR, duration: 3650 * 24 * HOUR, busy: false };
    const service = (await srv.admin("POST", "/service", { body: {} })).json.service.id;
    const hosts = [];
    for (let h = 0; h < 2; h++) {
      const user = (await srv.admin("POST", "/user", { body: {} })).json.user.id;
      const cal = (await srv.admin("POST", `/user/${user}/calendar`, { body: { timezone: "UTC" } })).json.calendar.id;
      assert.equal((await srv.admin("POST", `/user/${user}/events`, { body: { calendarId: cal, ...free } })).status, 201);
      const m = await srv.admin("POST", `/service/${service}/users`, { body: { userId: user, availability: { variant: "Calendar", id: cal } } });
      assert.equal(m.status, 200, m.text);
      hosts.push({ user, cal });
    }
    const writer = (await srv.admin("POST", "/user", { body: {} })).json.user.id;
    const doomed = (await srv.admin("POST", `/user/${writer}/calendar`, { body: { timezone: "UTC" } })).json.calendar.id;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 24 });
    let removedAt = 0; // when the removal was answered (0: not yet)
    let deletedAt = 0;
    let stop = false;
    let before = 0;
    let afterwards = 0;
    let refused = 0;
    let slot = 0;
    const book = async () => {
      while (!stop) {
        const sent = Date.now();
        const startTs = START + 24 * HOUR + slot++ * HOUR;
        const r = await httpRequest(agent, srv.port, "POST", `/service/${service}/bookings`, { headers: key, body: { startTs, duration: HOUR } });
        assert.equal(r.status, 201, `booking: ${r.status} ${r.text}`);
        const chosen = r.json.booking.hostUserIds;
        if (removedAt !== 0 && sent > removedAt) {
          assert.deepEqual(chosen, [hosts[1].user], "a booking sent after the host's removal was answered never gets it");
          afterwards++;
        } else {
          before++;
        }
      }
    };
    const write = async (n) => {
      for (let i = 0; !stop; i++) {
        const sent = Date.now();
        const r = await httpRequest(agent, srv.port, "POST", `/user/${writer}/events`, { headers: key, body: { calendarId: doomed, startTs: START + (n * 100000 + i) * HOUR, duration: HOUR } });
        if (deletedAt !== 0 && sent > deletedAt) {
          assert.equal(r.status, 404, `an event write sent after its calendar's deletion was answered: ${r.status} ${r.text}`);
          refused++;
        } else {
          assert.ok(r.status === 201 || r.status === 404, `event write: ${r.status} ${r.text}`);
        }
      }
    };
    const load = Promise.all([...Array.from({ length: 12 }, () => book()), ...Array.from({ length: 8 }, (_, n) => write(n))]);
    try {
      await sleep(400);
      const rm = await srv.admin("DELETE", `/service/${service}/users/${hosts[0].user}`);
      assert.equal(rm.status, 200, rm.text);
      removedAt = Date.now();
      const del = await srv.admin("DELETE", `/user/calendar/${doomed}`);
      assert.equal(del.status, 200, del.text);
      deletedAt = Date.now();
      await sleep(600);
    } finally {
      stop = true;
      await load;
      agent.destroy();
    }
    console.log(`# bookings: ${before} before the removal, ${afterwards} after it; event writes refused after the deletion: ${refused}`);
    assert.ok(before > 20 && afterwards > 20 && refused > 20, "both sides of each change saw load");
    assert.ok(srv.alive());
  });
});
