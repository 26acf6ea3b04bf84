// Browser side of the test: the documented frontend code (the published client's JWT
// example, README "End-user tokens") with the published client, bundled for the browser by
// esbuild. The test calls window.runFlow({baseUrl, token, accountId, userId}); every step's
// outcome is collected in window.__results (and shown on the page). Steps never throw: a
// failed request is recorded as {error: "..."} so the test can say which step broke.

import { NettuClient, NettuUserClient, config } from "@nettu/sdk-scheduler";

const HOUR = 3_600_000;
// A fixed busy hour on 2030-01-07 09:00 UTC and the free/busy window around it.
const EVENT_START = Date.UTC(2030, 0, 7, 9, 0, 0);
const WINDOW = { startTs: Date.UTC(2030, 0, 6), endTs: Date.UTC(2030, 0, 9) };

// Keeps what the test needs from a client response: status and body.
function view(res) {
  return { status: res.status, data: res.data };
}

// Runs `fn` and records its outcome under results[name]; exceptions become {error}.
async function step(results, name, fn) {
  try {
    results[name] = await fn();
  } catch (err) {
    results[name] = { error: `${err && err.name}: ${err && err.message}` };
  }
  document.getElementById("out").textContent = JSON.stringify(results, null, 2);
  return results[name];
}

// fetch() with the user's credentials; returns {status, contentType, json, text}. A CORS
// failure rejects (TypeError) and is recorded by step().
async function rawFetch(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, contentType: res.headers.get("content-type"), json, text };
}

window.runFlow = async ({ baseUrl, token, accountId, userId }) => {
  const results = {};
  window.__results = results;

  // The documented frontend code, line by line.
  config.baseUrl = baseUrl;
  const userClient = NettuUserClient({ token, nettuAccount: accountId });

  await step(results, "me", async () => view(await userClient.user.me()));

  const created = await step(results, "createCalendar", async () =>
    view(await userClient.calendar.create({ timezone: "UTC" })),
  );
  const calendarId = created.data && created.data.calendar ? created.data.calendar.id : null;

  // Not allowed by the policy: a real 401 whose JSON body the page can read.
  await step(results, "removeCalendar", async () => view(await userClient.calendar.remove(calendarId)));

  // A PUT with custom headers (preflighted), allowed by the policy.
  await step(results, "updateCalendar", async () =>
    view(await userClient.calendar.update(calendarId, { timezone: "Europe/Oslo" })),
  );

  const event = await step(results, "createEvent", async () =>
    view(
      await userClient.events.create({
        calendarId,
        startTs: EVENT_START,
        duration: HOUR,
        busy: true,
        metadata: { title: "browser test" },
      }),
    ),
  );
  const eventId = event.data && event.data.event ? event.data.event.id : null;

  await step(results, "calendarEvents", async () => view(await userClient.calendar.getEvents(calendarId, WINDOW)));

  // Free/busy is a public-account route: the account header alone, as a NettuClient with
  // only nettuAccount sends it.
  const publicClient = NettuClient({ nettuAccount: accountId });
  await step(results, "freebusy", async () =>
    view(await publicClient.user.freebusy(userId, { ...WINDOW, calendarIds: [calendarId] })),
  );

  // The same with fetch(), as a page without the client would do it.
  await step(results, "freebusyFetch", async () =>
    rawFetch(
      `${baseUrl}/user/${userId}/freebusy?startTs=${WINDOW.startTs}&endTs=${WINDOW.endTs}` +
        `&calendarIds=${calendarId}`,
      { headers: { "nettu-account": accountId } },
    ),
  );

  // Error bodies read with fetch(): a denied DELETE (401), an unknown calendar (404), a bad
  // token (401). fetch() rejects on a CORS failure, so a status here proves the headers.
  const auth = { "nettu-account": accountId, authorization: `Bearer ${token}` };
  await step(results, "removeCalendarFetch", async () =>
    rawFetch(`${baseUrl}/calendar/${calendarId}`, { method: "DELETE", headers: auth }),
  );
  await step(results, "missingCalendarFetch", async () =>
    rawFetch(`${baseUrl}/calendar/00000000-0000-4000-8000-000000000000`, { headers: auth }),
  );
  await step(results, "badTokenFetch", async () =>
    rawFetch(`${baseUrl}/me`, { headers: { ...auth, authorization: "Bearer not-a-token" } }),
  );

  // A DELETE with custom headers (preflighted), allowed by the policy.
  await step(results, "removeEvent", async () => view(await userClient.events.remove(eventId)));

  results.done = true;
  return results;
};

window.__bundleReady = true;
