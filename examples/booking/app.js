// Booking page: plain JS, no framework, no build step.
//
// The free times come from nettu's public booking-slot route
// (GET {nettuUrl}/service/{serviceId}/booking with the nettu-account header), straight from the
// browser. Holding a time, confirming and cancelling go through this page's backend
// (server.mjs, /api/...), which holds the account's API key. The list is refreshed after every
// action and every few seconds, so a time another customer took disappears; when a hold or a
// confirmation loses the race the page says the time was just taken.
"use strict";

const DAYS_SHOWN = 14;
const POLL_MS = 4000;
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const $ = (id) => document.getElementById(id);

const state = {
  config: null,
  days: [], // [{key: "2030-1-5", y, m, d}]
  slotsByDay: new Map(), // key -> [start ms]
  selectedDay: null,
  shownKey: "", // what the slot list shows (to re-render only on change)
  hold: null, // {id, startTs, expiresAt}
  booking: null, // {id, startTs, name}
  busy: false, // an action is under way
  loading: null, // the running slot query
};

/* ---- dates in the browser's zone ----------------------------------------------------------- */

const partsFmt = new Intl.DateTimeFormat("en-CA", {
  timeZone: ZONE,
  year: "numeric",
  month: "numeric",
  day: "numeric",
});
const timeFmt = new Intl.DateTimeFormat(undefined, { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
const longFmt = new Intl.DateTimeFormat(undefined, {
  timeZone: ZONE,
  weekday: "long",
  day: "numeric",
  month: "long",
  hour: "2-digit",
  minute: "2-digit",
});

// {y, m, d} of an instant in ZONE.
function localDate(ms) {
  const p = Object.fromEntries(partsFmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day) };
}

// nettu prints dates without zero padding: 2030-1-5.
const dayKey = ({ y, m, d }) => `${y}-${m}-${d}`;
const isoDay = ({ y, m, d }) => `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;

// The DAYS_SHOWN calendar days from today in ZONE.
function nextDays() {
  const today = localDate(Date.now());
  const base = Date.UTC(today.y, today.m - 1, today.d);
  const out = [];
  for (let i = 0; i < DAYS_SHOWN; i++) {
    const t = new Date(base + i * 86_400_000);
    const day = { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
    day.key = dayKey(day);
    day.weekday = t.toLocaleDateString(undefined, { weekday: "short", timeZone: "UTC" });
    day.month = t.toLocaleDateString(undefined, { month: "short", timeZone: "UTC" });
    out.push(day);
  }
  return out;
}

const slotLabel = (ms) => timeFmt.format(new Date(ms));
const whenLabel = (ms) => {
  const mins = state.config ? state.config.slotMinutes : 0;
  return `${longFmt.format(new Date(ms))} – ${timeFmt.format(new Date(ms + mins * 60_000))}`;
};

/* ---- talking to the servers ---------------------------------------------------------------- */

// A JSON request; resolves with {status, json} (json null when the body is not JSON).
async function request(url, opts = {}) {
  const res = await fetch(url, { cache: "no-store", ...opts });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json };
}

const backend = (method, path, body) =>
  request(path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });

const errorText = (r) => (r.json && r.json.message ? r.json.message : `HTTP ${r.status}`);

// Queries the free times of the shown days and redraws what changed.
async function refreshSlots() {
  if (state.loading) return state.loading;
  state.loading = (async () => {
    const cfg = state.config;
    const first = state.days[0];
    const last = state.days[state.days.length - 1];
    const q = new URLSearchParams({
      startDate: isoDay(first),
      endDate: isoDay(last),
      timezone: ZONE,
      duration: String(cfg.slotMinutes * 60_000),
      interval: String(cfg.slotMinutes * 60_000),
    });
    try {
      const r = await request(`${cfg.nettuUrl}/service/${cfg.serviceId}/booking?${q}`, {
        headers: { "nettu-account": cfg.accountId },
      });
      if (r.status !== 200 || !r.json || !Array.isArray(r.json.dates)) {
        showMessage("error", `Could not load the free times: ${errorText(r)}`);
        return;
      }
      const map = new Map();
      for (const d of r.json.dates) map.set(d.date, d.slots.map((s) => s.start));
      state.slotsByDay = map;
      $("updated").textContent = `Times in ${ZONE} · updated ${new Date().toLocaleTimeString()}`;
      if ($("message").dataset.kind === "offline") hideMessage();
      render();
    } catch (err) {
      showMessage("offline", `Could not reach the booking server (${err.message}); retrying…`);
    } finally {
      state.loading = null;
    }
  })();
  return state.loading;
}

/* ---- drawing ------------------------------------------------------------------------------ */

function render() {
  renderDays();
  renderSlots();
}

function renderDays() {
  const box = $("days");
  if (box.childElementCount !== state.days.length) {
    box.replaceChildren(
      ...state.days.map((day) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "day";
        b.dataset.date = day.key;
        b.setAttribute("role", "option");
        b.innerHTML = '<span class="wd"></span><span class="dn"></span><span class="mo"></span><span class="count"></span>';
        b.querySelector(".wd").textContent = day.weekday;
        b.querySelector(".dn").textContent = String(day.d);
        b.querySelector(".mo").textContent = day.month;
        b.addEventListener("click", () => selectDay(day.key));
        return b;
      }),
    );
  }
  for (const b of box.children) {
    const n = (state.slotsByDay.get(b.dataset.date) || []).length;
    b.querySelector(".count").textContent = n ? `${n} free` : "—";
    b.classList.toggle("empty", n === 0);
    const sel = b.dataset.date === state.selectedDay;
    b.classList.toggle("selected", sel);
    b.setAttribute("aria-selected", String(sel));
  }
}

function renderSlots() {
  const starts = state.slotsByDay.get(state.selectedDay) || [];
  const key = `${state.selectedDay}|${starts.join(",")}|${state.busy}`;
  if (key === state.shownKey) return; // unchanged: keep the buttons (and the focus)
  state.shownKey = key;
  const day = state.days.find((d) => d.key === state.selectedDay);
  $("slots-title").textContent = day
    ? `2 · Pick a time on ${day.weekday} ${day.d} ${day.month}`
    : "2 · Pick a time";
  $("slots").replaceChildren(
    ...starts.map((start) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "slot";
      b.dataset.start = String(start);
      b.textContent = slotLabel(start);
      b.disabled = state.busy;
      b.addEventListener("click", () => holdSlot(start));
      return b;
    }),
  );
  $("no-slots").hidden = starts.length > 0;
}

function showMessage(kind, text) {
  const m = $("message");
  m.dataset.kind = kind;
  m.className = `message ${kind}`;
  m.textContent = text;
  m.hidden = false;
}

function hideMessage() {
  const m = $("message");
  m.hidden = true;
  delete m.dataset.kind;
}

// Shows one of the panel's states: idle, held or booked.
function showState(which) {
  $("state-idle").hidden = which !== "idle";
  $("state-held").hidden = which !== "held";
  $("state-booked").hidden = which !== "booked";
}

// Marks an action (hold, confirm, cancel) as running; when it ends, body[data-done] counts it.
function setBusy(on) {
  state.busy = on;
  if (!on) document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
  for (const id of ["confirm", "release", "another", "cancel-booking"]) $(id).disabled = on;
  renderSlots();
}

/* ---- actions ------------------------------------------------------------------------------- */

function selectDay(key) {
  state.selectedDay = key;
  render();
}

// The customer lost a race for `startTs` (a hold or a confirmation answered 409).
function justTaken(startTs, reason) {
  showMessage("taken", `Sorry — ${whenLabel(startTs)} was just taken by someone else. Please pick another time.`);
  const small = document.createElement("small");
  small.textContent = reason;
  $("message").append(document.createElement("br"), small);
}

async function holdSlot(startTs) {
  if (state.busy) return;
  setBusy(true);
  hideMessage();
  try {
    if (state.hold) await releaseHold(false);
    const r = await backend("POST", "/api/holds", { startTs });
    if (r.status === 201) {
      state.hold = r.json.hold;
      state.booking = null;
      $("held-when").textContent = whenLabel(startTs);
      showState("held");
      tick();
      $("name").focus();
    } else if (r.status === 409) {
      justTaken(startTs, errorText(r));
    } else {
      showMessage("error", `Could not hold ${whenLabel(startTs)}: ${errorText(r)}`);
    }
  } catch (err) {
    showMessage("error", `Could not reach this page's server: ${err.message}`);
  } finally {
    setBusy(false);
    await refreshSlots();
  }
}

async function releaseHold(redraw = true) {
  const h = state.hold;
  state.hold = null;
  if (redraw) showState("idle");
  if (h) await backend("DELETE", `/api/holds/${h.id}`); // a hold already gone (404) is fine
}

async function confirmBooking(ev) {
  ev.preventDefault();
  const h = state.hold;
  if (!h || state.busy) return;
  const name = $("name").value.trim();
  if (!name) {
    showMessage("error", "Please enter your name.");
    $("name").focus();
    return;
  }
  setBusy(true);
  hideMessage();
  try {
    const r = await backend("POST", "/api/bookings", { holdId: h.id, startTs: h.startTs, name });
    if (r.status === 201) {
      state.hold = null;
      state.booking = r.json.booking;
      $("booked-when").textContent = whenLabel(r.json.booking.startTs);
      $("booked-who").textContent = `for ${r.json.booking.customer}`;
      $("booked-id").textContent = r.json.booking.id;
      showState("booked");
    } else if (r.status === 409) {
      state.hold = null;
      showState("idle");
      justTaken(h.startTs, errorText(r));
    } else {
      showMessage("error", `Could not confirm: ${errorText(r)}`);
    }
  } catch (err) {
    showMessage("error", `Could not reach this page's server: ${err.message}`);
  } finally {
    setBusy(false);
    await refreshSlots();
  }
}

async function cancelBooking() {
  const b = state.booking;
  if (!b || state.busy) return;
  setBusy(true);
  try {
    const r = await backend("DELETE", `/api/bookings/${b.id}`);
    if (r.status === 200) {
      state.booking = null;
      showState("idle");
      showMessage("info", `Your booking for ${whenLabel(b.startTs)} is cancelled.`);
    } else {
      showMessage("error", `Could not cancel: ${errorText(r)}`);
    }
  } catch (err) {
    showMessage("error", `Could not reach this page's server: ${err.message}`);
  } finally {
    setBusy(false);
    await refreshSlots();
  }
}

// Counts the hold down once a second; an expired hold goes back to idle.
function tick() {
  const h = state.hold;
  if (!h) return;
  const left = Math.max(0, Math.round((h.expiresAt - Date.now()) / 1000));
  $("held-left").textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  if (left === 0) {
    state.hold = null;
    showState("idle");
    showMessage("info", "Your hold expired; the time may still be free. Pick it again.");
    refreshSlots();
  }
}

/* ---- start ---------------------------------------------------------------------------------- */

async function start() {
  const r = await request("/api/config");
  if (r.status !== 200 || !r.json) {
    showMessage("error", `The page's server is not configured: ${errorText(r)}`);
    return;
  }
  state.config = r.json;
  document.title = `Book: ${r.json.serviceName}`;
  $("title").textContent = r.json.serviceName;
  $("subtitle").textContent = `${r.json.slotMinutes} minutes · pick a day and a free time`;
  state.days = nextDays();
  state.selectedDay = state.days[0].key;
  $("state-held").addEventListener("submit", confirmBooking);
  $("release").addEventListener("click", () => releaseHold().then(refreshSlots));
  $("another").addEventListener("click", () => {
    state.booking = null;
    hideMessage();
    showState("idle");
  });
  $("cancel-booking").addEventListener("click", cancelBooking);
  await refreshSlots();
  // Start on the first day with free times.
  const firstFree = state.days.find((d) => (state.slotsByDay.get(d.key) || []).length > 0);
  if (firstFree) selectDay(firstFree.key);
  setInterval(refreshSlots, POLL_MS);
  setInterval(tick, 1000);
  document.body.dataset.ready = "true";
}

start().catch((err) => showMessage("error", `The page failed to start: ${err.message}`));
