// nettu week planner: a dependency-free example of a browser client of the nettu REST API.
//
// The page talks to the server with fetch() and the end-user credentials your backend hands
// out: the account id (header `nettu-account`) and an RS256 token (`Authorization: Bearer`).
// What it uses (all under the server URL, e.g. http://localhost:5000/api/v1):
//   GET    /me                                   who the token is for
//   POST   /calendar, GET/DELETE /calendar/{id}  calendars (there is no "list" route: the page
//                                                remembers the ids it knows in localStorage)
//   GET    /calendar/{id}/events?startTs&endTs   events of the week, expanded to instances
//   GET    /user/{userId}/freebusy?...           busy blocks (account header only)
//   POST   /events, DELETE /events/{id}          add and delete events
// Errors come back as JSON {error, message}; the page shows the server's message as is, so a
// request the token's policy forbids says why.
//
// Credentials can be pre-filled through the URL fragment (never sent to a server):
//   index.html#server=http://localhost:5000/api/v1&account=<uuid>&token=<jwt>
"use strict";

(() => {
  const STORE_CONN = "nettu-example:connection";
  const STORE_CALS = (account, user) => `nettu-example:calendars:${account}:${user}`;
  const COLORS = ["#4f46e5", "#0d9488", "#db2777", "#d97706", "#2563eb", "#7c3aed", "#059669", "#dc2626"];
  const HOUR_PX = 48;
  const DAY_MS = 86_400_000;
  const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

  const $ = (sel) => document.querySelector(sel);

  const state = {
    conn: null, // {server, account, token}
    user: null, // {id, metadata}
    calendars: [], // [{id, name, timezone, color, missing}]
    hidden: new Set(), // calendar ids not drawn
    weekStart: startOfWeek(new Date()),
    loadSeq: 0,
  };

  /* ---- small helpers ------------------------------------------------------------------- */

  // Creates an element: el("div", {class: "x", onclick: f}, child, "text", ...).
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "style") {
        for (const [prop, val] of Object.entries(v)) {
          if (prop.startsWith("--")) node.style.setProperty(prop, val);
          else node.style[prop] = val;
        }
      } else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  // Monday 00:00 (local time) of the week holding `d`.
  function startOfWeek(d) {
    const day = (d.getDay() + 6) % 7;
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() - day);
  }

  function addDays(d, n) {
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
  }

  const pad = (n) => String(n).padStart(2, "0");
  const hhmm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const sameDay = (a, b) => isoDate(a) === isoDate(b);
  const shortId = (id) => `${id.slice(0, 8)}…`;

  // The claims of a JWT, decoded for display only (the server verifies the token).
  function tokenClaims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    } catch {
      return null;
    }
  }

  /* ---- talking to the server ----------------------------------------------------------- */

  // An error answer of the server: HTTP status, error kind and message from {error, message}.
  class ApiError extends Error {
    constructor(status, kind, message) {
      super(message);
      this.status = status;
      this.kind = kind;
    }
  }

  // Calls the API. `auth` is "user" (account header and token) or "account" (account header
  // only, for free/busy). Resolves with the JSON body, rejects with an ApiError.
  async function api(method, path, { body, auth = "user" } = {}) {
    if (!state.conn || (!state.user && path !== "/me")) throw new Error("connect to a server first");
    const headers = { "nettu-account": state.conn.account };
    if (auth === "user") headers.authorization = `Bearer ${state.conn.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(state.conn.server.replace(/\/+$/, "") + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(
        0,
        "network",
        `cannot reach ${state.conn.server} (${err.message}); is the server up and the URL right?`,
      );
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const kind = data && data.error ? data.error : `HTTP ${res.status}`;
      const message = data && data.message ? data.message : res.statusText || "request failed";
      throw new ApiError(res.status, kind, message);
    }
    return data;
  }

  /* ---- notices ------------------------------------------------------------------------- */

  let toastTimer = null;

  // Shows a notice; an ApiError shows its status, kind and the server's message.
  function notify(what, kind = "error") {
    const toast = $("#toast");
    toast.replaceChildren();
    toast.className = `toast ${kind}`;
    if (what instanceof ApiError) {
      toast.append(el("strong", {}, what.status ? `${what.status} ${what.kind}` : "network error"), " ", what.message);
    } else if (what instanceof Error) {
      toast.append(el("strong", {}, "error"), " ", what.message);
    } else {
      toast.append(String(what));
    }
    toast.append(
      el(
        "button",
        { class: "toast-close", type: "button", "aria-label": "Dismiss", onclick: () => (toast.hidden = true) },
        "×",
      ),
    );
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (toast.hidden = true), kind === "error" ? 12000 : 4000);
  }

  /* ---- connection ---------------------------------------------------------------------- */

  // Reads the connection from the URL fragment (then removes it) or from localStorage.
  function loadConnection() {
    const frag = new URLSearchParams(location.hash.slice(1));
    if (frag.get("server") || frag.get("account") || frag.get("token")) {
      const saved = readJson(STORE_CONN) || {};
      const conn = {
        server: frag.get("server") || saved.server || "",
        account: frag.get("account") || saved.account || "",
        token: frag.get("token") || saved.token || "",
      };
      localStorage.setItem(STORE_CONN, JSON.stringify(conn));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return readJson(STORE_CONN);
  }

  function readJson(key) {
    try {
      return JSON.parse(localStorage.getItem(key));
    } catch {
      return null;
    }
  }

  // Checks the credentials with GET /me, then loads calendars and the week.
  async function connect(conn) {
    state.conn = conn;
    state.user = null;
    $("#who").textContent = "Connecting…";
    try {
      const { user } = await api("GET", "/me");
      state.user = user;
    } catch (err) {
      $("#who").textContent = "Not connected";
      $("#policy").hidden = true;
      showConnect(true);
      notify(err);
      return;
    }
    $("#who").replaceChildren(
      el("span", { class: "who-label" }, "User"),
      " ",
      el("span", { class: "mono", title: state.user.id }, state.user.id),
    );
    const claims = tokenClaims(conn.token);
    const policy = claims && claims.schedulerPolicy;
    const pol = $("#policy");
    pol.replaceChildren();
    if (policy) {
      if (policy.allow && policy.allow.length)
        pol.append(el("span", { class: "pill allow" }, `allow ${policy.allow.join(", ")}`));
      if (policy.reject && policy.reject.length)
        pol.append(el("span", { class: "pill reject" }, `reject ${policy.reject.join(", ")}`));
    } else {
      pol.append(el("span", { class: "pill" }, "default policy"));
    }
    pol.hidden = false;
    showConnect(false);
    await loadCalendars();
  }

  function showConnect(show) {
    $("#connect").hidden = !show;
    document.body.classList.toggle("connected", Boolean(state.user));
  }

  /* ---- calendars ----------------------------------------------------------------------- */

  function storedCalendarIds() {
    const ids = readJson(STORE_CALS(state.conn.account, state.user.id));
    return Array.isArray(ids) ? ids.filter((x) => typeof x === "string") : [];
  }

  function saveCalendarIds() {
    localStorage.setItem(
      STORE_CALS(state.conn.account, state.user.id),
      JSON.stringify(state.calendars.map((c) => c.id)),
    );
  }

  // A calendar as the page keeps it, from the server's object.
  function calendarView(cal, index) {
    return {
      id: cal.id,
      name: (cal.metadata && cal.metadata.name) || `Calendar ${shortId(cal.id)}`,
      timezone: cal.settings.timezone,
      color: COLORS[index % COLORS.length],
      missing: false,
    };
  }

  // Fetches every remembered calendar (GET /calendar/{id}); unknown ones are kept, marked.
  async function loadCalendars() {
    const ids = storedCalendarIds();
    const found = await Promise.all(
      ids.map(async (id, i) => {
        try {
          const { calendar } = await api("GET", `/calendar/${encodeURIComponent(id)}`);
          return calendarView(calendar, i);
        } catch (err) {
          if (err.status === 404)
            return { id, name: `Calendar ${shortId(id)}`, timezone: "", color: "#9ca3af", missing: true };
          throw err;
        }
      }),
    ).catch((err) => {
      notify(err);
      return null;
    });
    if (found) state.calendars = found;
    renderCalendars();
    await loadWeek();
  }

  function renderCalendars() {
    const list = $("#calendar-list");
    list.replaceChildren(
      ...state.calendars.map((c) =>
        el(
          "li",
          { class: `calendar${c.missing ? " missing" : ""}`, dataset: { id: c.id } },
          el(
            "label",
            { class: "cal-toggle", title: c.id },
            el("input", {
              type: "checkbox",
              checked: !state.hidden.has(c.id) && !c.missing,
              disabled: c.missing,
              onchange: (e) => {
                if (e.target.checked) state.hidden.delete(c.id);
                else state.hidden.add(c.id);
                loadWeek();
              },
            }),
            el("span", { class: "dot", style: { background: c.color } }),
            el(
              "span",
              { class: "cal-text" },
              el("span", { class: "cal-name" }, c.name),
              el("span", { class: "cal-meta" }, c.missing ? "not found on the server" : c.timezone),
            ),
          ),
          el(
            "span",
            { class: "cal-actions" },
            el(
              "button",
              {
                class: "icon forget",
                type: "button",
                title: "Forget (remove from this list only)",
                onclick: () => forgetCalendar(c),
              },
              "Forget",
            ),
            c.missing
              ? null
              : el(
                  "button",
                  {
                    class: "icon delete-calendar",
                    type: "button",
                    title: "Delete on the server",
                    onclick: () => deleteCalendar(c),
                  },
                  "Delete",
                ),
          ),
        ),
      ),
    );
    $("#no-calendars").hidden = state.calendars.length > 0;
    const select = $("#ev-calendar");
    const current = select.value;
    select.replaceChildren(
      ...state.calendars.filter((c) => !c.missing).map((c) => el("option", { value: c.id }, c.name)),
    );
    if (current && state.calendars.some((c) => c.id === current && !c.missing)) select.value = current;
  }

  // Creates a calendar; done() runs once it is in the list, before the week reloads.
  async function createCalendar(name, timezone, done) {
    const body = { timezone };
    if (name) body.metadata = { name };
    const { calendar } = await api("POST", "/calendar", { body });
    state.calendars.push(calendarView(calendar, state.calendars.length));
    saveCalendarIds();
    renderCalendars();
    done();
    $("#ev-calendar").value = calendar.id;
    notify(`Calendar “${state.calendars[state.calendars.length - 1].name}” created.`, "ok");
    await loadWeek();
  }

  // Adds an existing calendar; done() runs once it is in the list, before the week reloads.
  async function addCalendar(id, done) {
    if (state.calendars.some((c) => c.id === id)) throw new Error("that calendar is already in the list");
    const { calendar } = await api("GET", `/calendar/${encodeURIComponent(id)}`);
    state.calendars.push(calendarView(calendar, state.calendars.length));
    saveCalendarIds();
    renderCalendars();
    done();
    await loadWeek();
  }

  function forgetCalendar(c) {
    state.calendars = state.calendars.filter((x) => x.id !== c.id);
    saveCalendarIds();
    renderCalendars();
    loadWeek();
  }

  // Deletes on the server (the token's policy may forbid it: the server says so).
  async function deleteCalendar(c) {
    if (!confirm(`Delete the calendar “${c.name}” and all its events on the server?`)) return;
    try {
      await api("DELETE", `/calendar/${encodeURIComponent(c.id)}`);
    } catch (err) {
      notify(err);
      return;
    }
    forgetCalendar(c);
    notify(`Calendar “${c.name}” deleted.`, "ok");
  }

  /* ---- the week ------------------------------------------------------------------------ */

  // Loads events of the shown calendars and the user's busy blocks for the week, then draws.
  async function loadWeek() {
    const seq = ++state.loadSeq;
    const start = state.weekStart;
    const end = addDays(start, 7);
    const shown = state.calendars.filter((c) => !c.missing && !state.hidden.has(c.id));
    const range = `startTs=${start.getTime()}&endTs=${end.getTime()}`;
    let items = [];
    let busy = [];
    try {
      const perCal = await Promise.all(
        shown.map(async (c) => {
          const { events } = await api("GET", `/calendar/${c.id}/events?${range}`);
          return events.flatMap(({ event, instances }) => instances.map((inst) => ({ event, inst, cal: c })));
        }),
      );
      items = perCal.flat();
      if (shown.length > 0) {
        const ids = shown.map((c) => c.id).join(",");
        const fb = await api("GET", `/user/${state.user.id}/freebusy?${range}&calendarIds=${ids}`, { auth: "account" });
        busy = fb.busy;
      }
    } catch (err) {
      notify(err);
    }
    if (seq !== state.loadSeq) return; // a newer load started meanwhile
    renderWeek(items, busy);
  }

  // The parts of [startTs, endTs) inside each day column: [{day, top, height, start, end}].
  // An empty interval is drawn as 15 minutes.
  function daySlices(startTs, endTs) {
    endTs = Math.max(endTs, startTs + 15 * 60_000);
    const out = [];
    for (let i = 0; i < 7; i++) {
      const dayStart = addDays(state.weekStart, i).getTime();
      const dayEnd = addDays(state.weekStart, i + 1).getTime();
      const s = Math.max(startTs, dayStart);
      const e = Math.min(endTs, dayEnd);
      if (e <= s) continue;
      const sd = new Date(s);
      const minutes = sd.getHours() * 60 + sd.getMinutes();
      out.push({
        day: i,
        top: (minutes / 60) * HOUR_PX,
        height: Math.max(((e - s) / 3_600_000) * HOUR_PX, 16),
        start: s,
        end: e,
      });
    }
    return out;
  }

  // Sets lane and lanes on the pieces of one day so overlapping events sit side by side.
  function layoutLanes(pieces) {
    pieces.sort((a, b) => a.start - b.start || b.end - a.end);
    let cluster = [];
    let clusterEnd = -Infinity;
    const close = () => {
      const lanes = Math.max(1, ...cluster.map((p) => p.lane + 1));
      for (const p of cluster) p.lanes = lanes;
      cluster = [];
    };
    for (const p of pieces) {
      if (p.start >= clusterEnd && cluster.length) close();
      const laneEnds = [];
      for (const q of cluster) laneEnds[q.lane] = Math.max(laneEnds[q.lane] || -Infinity, q.end);
      let lane = laneEnds.findIndex((end) => end === undefined || end <= p.start);
      if (lane < 0) lane = laneEnds.length;
      p.lane = lane;
      cluster.push(p);
      clusterEnd = Math.max(clusterEnd, p.end);
    }
    if (cluster.length) close();
  }

  function renderWeek(items, busy) {
    const start = state.weekStart;
    const end = addDays(start, 6);
    const range = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });
    $("#range").textContent = range.formatRange(start, end);
    $("#tz-note").textContent = `times in ${Intl.DateTimeFormat().resolvedOptions().timeZone}`;

    const now = new Date();
    const head = $("#grid-head");
    head.replaceChildren(
      el("div", { class: "gutter" }),
      ...WEEKDAYS.map((name, i) => {
        const d = addDays(start, i);
        return el(
          "div",
          { class: `day-head${sameDay(d, now) ? " today" : ""}` },
          el("span", { class: "dow" }, name),
          el("span", { class: "dom" }, d.getDate()),
        );
      }),
    );

    const body = $("#grid-body");
    const scroll = body.scrollTop;
    const hours = el(
      "div",
      { class: "hours" },
      ...Array.from({ length: 24 }, (_, h) =>
        el("div", { class: "hour", style: { height: `${HOUR_PX}px` } }, h === 0 ? "" : `${pad(h)}:00`),
      ),
    );
    const cols = Array.from({ length: 7 }, (_, i) =>
      el("div", {
        class: `day-col${sameDay(addDays(start, i), now) ? " today" : ""}${i >= 5 ? " weekend" : ""}`,
        dataset: { day: i },
        style: { height: `${24 * HOUR_PX}px` },
        onclick: (e) => {
          if (e.target !== e.currentTarget) return;
          const minutes = Math.floor(((e.offsetY / HOUR_PX) * 60) / 30) * 30;
          $("#ev-date").value = isoDate(addDays(start, i));
          $("#ev-time").value = `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
          $("#ev-title").focus();
        },
      }),
    );

    for (const b of busy) {
      for (const s of daySlices(b.startTs, b.endTs)) {
        cols[s.day].append(
          el("div", {
            class: "busy",
            title: `busy ${hhmm(new Date(b.startTs))}–${hhmm(new Date(b.endTs))}`,
            style: { top: `${s.top}px`, height: `${s.height}px` },
          }),
        );
      }
    }

    const perDay = Array.from({ length: 7 }, () => []);
    for (const it of items) {
      for (const s of daySlices(it.inst.startTs, it.inst.endTs)) perDay[s.day].push({ ...s, it });
    }
    perDay.forEach((pieces, day) => {
      layoutLanes(pieces);
      for (const p of pieces) {
        const { event, inst, cal } = p.it;
        const title = (event.metadata && event.metadata.title) || "(untitled)";
        const compact = p.end - p.start <= 30 * 60_000;
        // Overlapping events cascade: each later lane starts further right and lies on top.
        const left = Math.min(p.lane * (100 / p.lanes), p.lane * 40);
        cols[day].append(
          el(
            "button",
            {
              type: "button",
              class: `event${inst.busy ? " is-busy" : " is-free"}${compact ? " compact" : ""}`,
              dataset: { eventId: event.id },
              title: `${title} · ${hhmm(new Date(inst.startTs))}–${hhmm(new Date(inst.endTs))} · ${cal.name}`,
              style: {
                top: `${p.top}px`,
                height: `${p.height}px`,
                left: `calc(${left}% + 2px)`,
                width: `calc(${100 - left}% - 12px)`,
                zIndex: String(1 + p.lane),
                "--cal": cal.color,
              },
              onclick: () => openEvent(event, inst, cal),
            },
            el("span", { class: "ev-title" }, title),
            el(
              "span",
              { class: "ev-time" },
              compact ? hhmm(new Date(inst.startTs)) : `${hhmm(new Date(inst.startTs))}–${hhmm(new Date(inst.endTs))}`,
            ),
          ),
        );
      }
    });
    const todayIdx = cols.findIndex((_, i) => sameDay(addDays(start, i), now));
    if (todayIdx >= 0) {
      const top = ((now.getHours() * 60 + now.getMinutes()) / 60) * HOUR_PX;
      cols[todayIdx].append(el("div", { class: "now", style: { top: `${top}px` } }));
    }

    body.replaceChildren(hours, ...cols);
    // The first time the grid can scroll, start the view at 07:00; afterwards keep the place.
    if (body.dataset.scrolled) {
      body.scrollTop = scroll;
    } else {
      body.scrollTop = 7 * HOUR_PX - 12;
      if (body.scrollTop > 0) body.dataset.scrolled = "1";
    }
  }

  /* ---- events -------------------------------------------------------------------------- */

  // The recurrence the "Repeat" choice stands for, or undefined.
  function recurrenceFor(choice) {
    switch (choice) {
      case "daily":
        return { freq: "daily", interval: 1, count: 10 };
      case "weekdays":
        return { freq: "weekly", interval: 1, byweekday: ["Mon", "Tue", "Wed", "Thu", "Fri"], count: 20 };
      case "weekly":
        return { freq: "weekly", interval: 1, count: 10 };
      default:
        return undefined;
    }
  }

  async function createEvent() {
    const calendarId = $("#ev-calendar").value;
    if (!calendarId) throw new Error("create or add a calendar first");
    const start = new Date(`${$("#ev-date").value}T${$("#ev-time").value}`);
    if (Number.isNaN(start.getTime())) throw new Error("pick a date and a start time");
    const minutes = Number($("#ev-duration").value);
    if (!Number.isInteger(minutes) || minutes <= 0) throw new Error("minutes: a whole positive number");
    const body = {
      calendarId,
      startTs: start.getTime(),
      duration: minutes * 60_000,
      busy: $("#ev-busy").checked,
      metadata: { title: $("#ev-title").value.trim() || "(untitled)" },
    };
    const recurrence = recurrenceFor($("#ev-repeat").value);
    if (recurrence) body.recurrence = recurrence;
    await api("POST", "/events", { body });
    // Show the week of the new event.
    state.weekStart = startOfWeek(start);
    if ($("#ev-title").value.trim() === body.metadata.title) $("#ev-title").value = "";
    await loadWeek();
  }

  function describeRecurrence(r) {
    if (!r) return "never";
    const every =
      r.interval > 1 ? `every ${r.interval} ${r.freq === "daily" ? "days" : r.freq.replace(/ly$/, "s")}` : r.freq;
    const days = r.byweekday && r.byweekday.length ? ` on ${r.byweekday.join(", ")}` : "";
    const until = r.count ? `, ${r.count} times` : r.until ? `, until ${new Date(r.until).toLocaleDateString()}` : "";
    return `${every}${days}${until}`;
  }

  let dialogEvent = null;

  function openEvent(event, inst, cal) {
    dialogEvent = event;
    const s = new Date(inst.startTs);
    const e = new Date(inst.endTs);
    $("#dlg-title").textContent = (event.metadata && event.metadata.title) || "(untitled)";
    $("#dlg-color").style.background = cal.color;
    $("#dlg-when").textContent =
      `${s.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long" })}, ${hhmm(s)}–${hhmm(e)}`;
    $("#dlg-cal").textContent = cal.name;
    $("#dlg-busy").textContent = inst.busy ? "busy" : "free";
    $("#dlg-repeat").textContent = describeRecurrence(event.recurrence);
    $("#dlg-id").textContent = event.id;
    $("#dlg-error").hidden = true;
    $("#event-dialog").showModal();
  }

  async function deleteDialogEvent() {
    if (!dialogEvent) return;
    try {
      await api("DELETE", `/events/${dialogEvent.id}`);
    } catch (err) {
      const p = $("#dlg-error");
      p.textContent = `${err.status ? `${err.status} ${err.kind}: ` : ""}${err.message}`;
      p.hidden = false;
      return;
    }
    $("#event-dialog").close();
    dialogEvent = null;
    await loadWeek();
  }

  /* ---- wiring -------------------------------------------------------------------------- */

  // Runs an async form action; its error goes to the notice.
  function guarded(fn) {
    return async (e) => {
      if (e) e.preventDefault();
      const btn = e && e.submitter;
      if (btn) btn.disabled = true;
      try {
        await fn();
      } catch (err) {
        notify(err);
      } finally {
        if (btn) btn.disabled = false;
      }
    };
  }

  function init() {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    $("#new-cal-tz").value = tz;
    const now = new Date();
    $("#ev-date").value = isoDate(now);
    $("#ev-time").value = `${pad(Math.min(now.getHours() + 1, 23))}:00`;

    $("#connect-form").addEventListener(
      "submit",
      guarded(async () => {
        const conn = {
          server: $("#server").value.trim(),
          account: $("#account").value.trim(),
          token: $("#token").value.trim(),
        };
        localStorage.setItem(STORE_CONN, JSON.stringify(conn));
        await connect(conn);
      }),
    );
    $("#disconnect").addEventListener("click", () => {
      const saved = readJson(STORE_CONN) || {};
      localStorage.setItem(STORE_CONN, JSON.stringify({ ...saved, token: "" }));
      $("#token").value = "";
      state.user = null;
      state.calendars = [];
      $("#who").textContent = "Not connected";
      $("#policy").hidden = true;
      renderCalendars();
      renderWeek([], []);
      showConnect(true);
    });
    $("#toggle-connect").addEventListener("click", () => showConnect($("#connect").hidden));
    $("#create-calendar-form").addEventListener(
      "submit",
      guarded(async () => {
        const field = $("#new-cal-name");
        const name = field.value.trim();
        await createCalendar(name, $("#new-cal-tz").value.trim(), () => {
          // Cleared once created, unless the user has typed the next name meanwhile.
          if (field.value.trim() === name) field.value = "";
        });
      }),
    );
    $("#add-calendar-form").addEventListener(
      "submit",
      guarded(async () => {
        const field = $("#existing-id");
        const id = field.value.trim();
        await addCalendar(id, () => {
          if (field.value.trim() === id) field.value = "";
        });
      }),
    );
    $("#event-form").addEventListener("submit", guarded(createEvent));
    $("#dlg-delete").addEventListener("click", deleteDialogEvent);
    $("#prev").addEventListener("click", () => {
      state.weekStart = addDays(state.weekStart, -7);
      if (state.user) loadWeek();
    });
    $("#next").addEventListener("click", () => {
      state.weekStart = addDays(state.weekStart, 7);
      if (state.user) loadWeek();
    });
    $("#today").addEventListener("click", () => {
      state.weekStart = startOfWeek(new Date());
      if (state.user) loadWeek();
    });

    renderCalendars();
    renderWeek([], []);
    const conn = loadConnection();
    if (conn) {
      $("#server").value = conn.server || "";
      $("#account").value = conn.account || "";
      $("#token").value = conn.token || "";
    } else {
      $("#server").value = "http://localhost:5000/api/v1";
    }
    if (conn && conn.server && conn.account && conn.token) connect(conn);
    else showConnect(true);
  }

  init();
})();
