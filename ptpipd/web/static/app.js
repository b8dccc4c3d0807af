// The remote-control page: connection state, live view, capture and time-lapse, settings, pictures,
// events and the camera summary, all from the daemon that serves this page (nothing from elsewhere).

import { LiveView } from "./live.js";
import { Properties, el } from "./props.js";
import { Rpc, RpcError, describeError } from "./rpc.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 24;
const MAX_EVENTS = 100;
const LIVE_RETRY_MS = 3000;

const rpc = new Rpc();
const state = {
  status: null,
  methods: new Set(),
  loadedFor: null, // connected_since of the session whose info and files are shown
  liveWanted: true,
  files: [],
  filesFor: null, // connected_since of the session the card's listing was read in (handles are per session)
  shown: PAGE_SIZE,
  shots: [], // this page's captures, for cameras without card access
};
const props = new Properties($("props"), (property, value) => rpc.call("set", { property, value }));
const live = new LiveView($("lv"), liveState);

// ------------------------------------------------------------------------------------------ helpers

function size(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${bytes} B`;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
}

const caps = () => (state.status && state.status.capabilities) || {};
const connected = () => state.status !== null && state.status.state === "connected";

/** An HTTP request to the daemon; the JSON error body becomes an RpcError. */
async function http(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { cache: "no-store", ...options });
  } catch {
    throw new RpcError({ message: "the daemon cannot be reached" });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new RpcError((body && body.error) || { message: `HTTP ${response.status}` });
  return body;
}

// ------------------------------------------------------------------------------------------ connection

let retryTicker = null;

function showConnection(kind, text, detail = null) {
  $("conn").dataset.state = kind;
  $("conn-text").textContent = text;
  const box = $("conn-detail");
  box.replaceChildren(...(detail ? [detail] : []));
  box.hidden = !detail;
  box.dataset.state = kind;
}

function retryText(status) {
  const reason = status.last_error ? `: ${status.last_error}` : "";
  if (typeof status.next_retry !== "number") return `Disconnected${reason}. Trying again…`;
  const left = Math.round(status.next_retry - Date.now() / 1000);
  const when = left > 0 ? `in ${left} s (${clock(status.next_retry)})` : "now";
  return `Disconnected${reason}. Next attempt ${when}.`;
}

function applyStatus(status) {
  state.status = status;
  clearInterval(retryTicker);
  const camera = status.camera ? `${status.camera.manufacturer} ${status.camera.model}` : "";
  $("model").textContent = camera;
  document.title = camera ? `${camera} — ptpipd` : "ptpipd — camera remote";
  if (status.state === "connected") {
    showConnection("connected", "Connected");
  } else if (status.state === "pairing") {
    const steps = el("ol", {}, ...(status.pairing || []).map((s) => el("li", { text: s })));
    showConnection(
      "pairing",
      "Pairing",
      el("div", {}, el("p", { text: "Pairing — confirm on the camera:" }), steps),
    );
  } else if (status.state === "connecting") {
    showConnection(
      "connecting",
      "Connecting…",
      el("p", { text: `Connecting to the camera at ${status.host}…` }),
    );
  } else {
    const detail = el("p", { text: retryText(status) });
    showConnection("disconnected", "Disconnected", detail);
    retryTicker = setInterval(() => {
      detail.textContent = retryText(status);
    }, 1000);
  }
  props.enable(connected());
  enableShooting();
  summary();
  if (connected() && state.loadedFor !== status.connected_since) {
    state.loadedFor = status.connected_since;
    // a handle of the last session may name another picture in this one
    if (state.filesFor !== status.connected_since) forgetFiles();
    loadCamera();
  }
  updateLive();
}

async function refreshStatus() {
  try {
    applyStatus(await rpc.call("status"));
  } catch (err) {
    if (err.code === -32010) askToken();
  }
}

rpc.addEventListener("open", async () => {
  let status;
  try {
    status = await rpc.call("status");
  } catch (err) {
    if (err.code === -32010) askToken();
    return;
  }
  try {
    const doc = await rpc.call("rpc.discover");
    state.methods = new Set((doc.methods || []).map((m) => m.name));
    await rpc.call("subscribe", { topics: ["event", "property", "connection"] });
  } catch (err) {
    logLine("daemon", describeError(err));
  }
  state.loadedFor = null; // what happened while the page was away is unknown: reload
  applyStatus(status);
});

rpc.addEventListener("close", () => {
  state.status = null;
  clearInterval(retryTicker);
  showConnection("daemon-lost", "No daemon", el("p", { text: "No connection to the daemon: retrying…" }));
  props.enable(false);
  enableShooting();
  updateLive();
});

rpc.addEventListener("notify.connection", (e) => {
  const note = e.detail;
  logLine("connection", note.reason ? `${note.state}: ${note.reason}` : note.state);
  if (note.state === "dropped") return; // the daemon closes this socket; the page reconnects
  if (state.status) {
    // show the new state at once; the status call then fills in the details (camera, next attempt)
    applyStatus({
      ...state.status,
      state: note.state,
      last_error: note.reason || state.status.last_error,
      next_retry: null,
      pairing: note.state === "pairing" ? (note.reason || "").split("; ") : [],
    });
  }
  refreshStatus();
});

rpc.addEventListener("notify.property", (e) => props.update(e.detail));

rpc.addEventListener("notify.event", (e) => {
  const note = e.detail;
  const params = (note.params || []).map((p) => `0x${Number(p).toString(16)}`).join(" ");
  logLine(note.name || note.code, params, note.time);
  if (/Object(Added|Removed)/.test(note.name || "")) scheduleFiles();
});

// ------------------------------------------------------------------------------------------ token

function askToken() {
  showConnection("locked", "Token needed");
  const dialog = $("login");
  if (!dialog.open) dialog.showModal();
  $("token").focus();
}

$("login").addEventListener("cancel", (e) => e.preventDefault()); // nothing works without it

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("token");
  $("login-error").textContent = "";
  try {
    // the token goes in the body of one POST; the daemon answers with an HttpOnly session cookie
    await http("/auth", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: input.value }),
    });
  } catch (err) {
    // a wrong token, or this address locked out after several (the daemon then says how long to wait)
    const message = String(err.message || "");
    let text = describeError(err);
    if (err.code === -32010 && /too many wrong tokens/.test(message)) {
      text = message.replace(/^unauthorised: t/, "T") + ".";
    } else if (err.code === -32010) {
      text = "That is not the daemon's token.";
    }
    $("login-error").textContent = text;
    input.select();
    return;
  } finally {
    input.value = "";
  }
  $("login").close();
  rpc.restart();
});

// ------------------------------------------------------------------------------------------ camera

async function loadCamera() {
  $("props-note").textContent = "Reading the camera's settings…";
  try {
    const info = await rpc.call("info");
    state.info = info;
    props.load(info.properties || []);
    props.enable(connected());
    $("props-note").textContent =
      info.properties && info.properties.length ? "" : "The camera reports no settings.";
    summary();
  } catch (err) {
    $("props-note").textContent = describeError(err);
  }
  loadFiles();
}

function summary() {
  const s = state.status;
  if (!s) return;
  const d = (state.info && state.info.device) || {};
  const c = caps();
  const rows = [
    ["Camera", [d.manufacturer, d.model].filter(Boolean).join(" ") || "–"],
    ["Serial number", d.serial || (s.camera && s.camera.serial) || "–"],
    ["Firmware", d.version || (s.camera && s.camera.version) || "–"],
    ["Dialect", s.vendor],
    ["Address", `${s.host} port ${(s.ports || []).join(", ")}`],
    ["Live view", c.liveview && c.liveview !== "none" ? `yes (${c.liveview})` : "no"],
    ["Card access", c.files ? "yes" : "no"],
    ["Connected since", s.connected_since ? new Date(s.connected_since * 1000).toLocaleString() : "–"],
    ["Reconnections", String(s.reconnects)],
    ["Daemon", `ptpipd ${s.daemon_version} (API ${s.api_version})`],
  ];
  $("summary").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
}

// ------------------------------------------------------------------------------------------ live view

function liveState({ running, error, first }) {
  if (error) {
    $("lv-error").textContent = `Live view stopped: ${error}`;
    if (state.liveWanted && connected()) setTimeout(updateLive, LIVE_RETRY_MS);
  } else if (first) {
    $("lv-error").textContent = "";
    window.ptpipd.firstFrameMs = live.firstFrameMs;
  }
  updateLive(running);
}

function placeholder(text, none = false) {
  $("lv").parentElement.classList.toggle("none", none);
  document.querySelector("main").classList.toggle("nolive", none);
  $("lv-placeholder").textContent = text;
  $("lv-placeholder").hidden = !text;
  $("lv").hidden = Boolean(text);
  $("lv-fps").hidden = Boolean(text);
}

function updateLive() {
  const source = caps().liveview;
  const toggle = $("lv-toggle");
  if (!state.status) {
    live.stop();
    toggle.hidden = true;
    placeholder("Waiting for the daemon…");
    return;
  }
  if (source === "none") {
    live.stop();
    toggle.hidden = true;
    placeholder("This camera has no live view.", true);
    return;
  }
  toggle.hidden = !connected();
  toggle.setAttribute("aria-pressed", String(state.liveWanted));
  toggle.textContent = state.liveWanted ? "Pause" : "Resume";
  toggle.setAttribute("aria-label", state.liveWanted ? "Pause the live view" : "Resume the live view");
  if (!state.liveWanted) {
    live.stop();
    placeholder("Live view paused.");
  } else if (document.hidden) {
    live.stop(); // nobody looks (another tab, a locked phone): the camera and the Wi-Fi rest
    placeholder("Live view paused while the page is hidden.");
  } else if (!connected()) {
    live.stop();
    placeholder(
      state.loadedFor === null
        ? "The live view starts once the camera is connected."
        : "The live view resumes when the camera is back.",
    );
  } else {
    if (!live.running) live.start();
    placeholder(live.frames > 0 && live.times.length > 0 ? "" : "Starting the live view…");
  }
}

document.addEventListener("visibilitychange", () => updateLive());
// a page left for another may be kept alive (a back/forward cache) with its fetches and socket running:
// end the stream and the socket, and open them again if the page comes back
window.addEventListener("pagehide", () => {
  live.stop();
  rpc.stop();
});
window.addEventListener("pageshow", (e) => {
  if (e.persisted) rpc.start();
});

$("lv-toggle").addEventListener("click", () => {
  state.liveWanted = !state.liveWanted;
  updateLive();
});

setInterval(() => {
  const fps = live.running ? live.fps() : 0;
  $("lv-fps").value = fps > 0 ? `${fps.toFixed(1)} fps` : "– fps";
  if (live.running && live.times.length > 0 && !$("lv-placeholder").hidden) placeholder("");
}, 500);

// ------------------------------------------------------------------------------------------ capture

let countdown = null; // {cancel} while a self-timer or a time-lapse waits
let lapse = null;

function wait(ms, onTick) {
  return new Promise((resolve) => {
    const end = performance.now() + ms;
    const tick = () => {
      const left = end - performance.now();
      if (left <= 0) return done(true);
      onTick(Math.ceil(left / 1000));
    };
    const ticker = setInterval(tick, 250);
    const timer = setTimeout(() => done(true), ms);
    function done(ok) {
      clearInterval(ticker);
      clearTimeout(timer);
      countdown = null;
      resolve(ok);
    }
    countdown = { cancel: () => done(false) };
    tick();
  });
}

/** Capture and a new time-lapse need the camera; a running time-lapse can always be stopped. */
function enableShooting() {
  const busy = $("capture").textContent === "Capturing…";
  $("capture").disabled = busy || (!connected() && !countdown);
  $("lapse").disabled = !connected() && !lapse;
}

async function shoot() {
  const button = $("capture");
  $("capture-error").textContent = "";
  button.disabled = true;
  button.textContent = "Capturing…";
  try {
    // the daemon keeps a copy only of what the camera keeps nothing of (a preview): a picture on the card is
    // shown from /files, and a time-lapse leaves no copies behind in the daemon's capture directory
    const shot = await http("/capture?copy=needed", {
      method: "POST",
      headers: { Accept: "application/json" },
    });
    showShot(shot);
    return true;
  } catch (err) {
    $("capture-error").textContent = describeError(err);
    return false;
  } finally {
    button.textContent = "Capture";
    enableShooting();
  }
}

function showShot(shot) {
  const name = shot.filename || (shot.path ? shot.path.split("/").pop() : shot.url.split("/").pop());
  const fig = $("last");
  fig.dataset.handle = shot.handle ?? "";
  fig.dataset.url = shot.url;
  $("last-img").src =
    shot.handle !== null && shot.handle !== undefined && caps().files ? `${shot.url}/thumb` : shot.url;
  $("last-img").alt = `The picture just taken: ${name}`;
  $("last-view").href = shot.url;
  $("last-download").href = shot.url;
  $("last-download").setAttribute("download", name);
  $("last-download").textContent = `Download ${name}`;
  $("last-name").textContent = `${name}, ${size(shot.size)}`;
  fig.hidden = false;
  if (caps().files) {
    scheduleFiles(0);
  } else {
    state.shots.unshift({
      handle: null,
      filename: name,
      size: shot.size,
      url: shot.url,
      captured: new Date().toISOString(),
      thumb: shot.url,
    });
    renderFiles();
  }
}

$("capture").addEventListener("click", async () => {
  if (countdown && !lapse) {
    countdown.cancel();
    return;
  }
  const delay = Number($("timer").value);
  if (delay > 0) {
    $("capture").textContent = "Cancel self-timer";
    const go = await wait(delay * 1000, (s) => {
      $("shoot-state").textContent = `Self-timer: the picture is taken in ${s} s.`;
    });
    $("capture").textContent = "Capture";
    $("shoot-state").textContent = go ? "" : "Self-timer cancelled.";
    if (!go) return;
  }
  await shoot();
});

$("lapse").addEventListener("click", () => {
  if (lapse) {
    lapse.stop = true;
    if (countdown) countdown.cancel();
    return;
  }
  const every = Math.max(1, Number($("lapse-every").value) || 1);
  const count = Math.max(1, Math.floor(Number($("lapse-count").value) || 1));
  runLapse(every, count);
});

async function runLapse(every, count) {
  lapse = { stop: false };
  const button = $("lapse");
  button.textContent = "Stop time-lapse";
  button.setAttribute("aria-pressed", "true");
  const start = performance.now();
  let failed = 0;
  for (let k = 0; k < count && !lapse.stop; k++) {
    const due = start + k * every * 1000 - performance.now();
    if (due > 0) {
      const go = await wait(due, (s) => {
        $("shoot-state").textContent = `Time-lapse: picture ${k + 1} of ${count} in ${s} s.`;
      });
      if (!go) break;
    }
    $("shoot-state").textContent = `Time-lapse: taking picture ${k + 1} of ${count}…`;
    if (!(await shoot())) failed += 1;
  }
  const stopped = lapse.stop;
  lapse = null;
  button.textContent = "Start time-lapse";
  button.setAttribute("aria-pressed", "false");
  const failures = failed ? ` (${failed} failed)` : "";
  $("shoot-state").textContent = stopped ? `Time-lapse stopped${failures}.` : `Time-lapse done${failures}.`;
}

// ------------------------------------------------------------------------------------------ pictures

let filesTimer = null;
// the gallery's <li> by the file they show, kept so that thumbnails are not fetched again: the url alone is
// not enough (after a reconnection, or on another card, /files/6 may be another picture)
const items = new Map();
const itemKey = (f) => JSON.stringify([f.url, f.filename, f.size, f.captured ?? null]);

/** Drops the card's listing and its items (a new camera session: its handles may name other pictures). */
function forgetFiles() {
  state.files = [];
  state.filesFor = null;
  items.clear();
  renderFiles();
}

function scheduleFiles(ms = 500) {
  clearTimeout(filesTimer);
  filesTimer = setTimeout(loadFiles, ms);
}

async function loadFiles() {
  $("files-error").textContent = "";
  if (!caps().files) {
    $("files-note").textContent =
      "This camera gives no access to its card: the pictures taken from this page are listed here.";
    renderFiles();
    return;
  }
  $("files-note").textContent = "";
  const session = state.status && state.status.connected_since;
  try {
    const list = await http("/files");
    list.sort(
      (a, b) => String(b.captured || "").localeCompare(String(a.captured || "")) || b.handle - a.handle,
    );
    state.files = list;
    state.filesFor = session;
    if (!list.length) $("files-note").textContent = "The card is empty.";
  } catch (err) {
    $("files-error").textContent = describeError(err);
  }
  renderFiles();
}

function renderFiles() {
  const list = caps().files ? state.files : state.shots;
  const shown = list.slice(0, state.shown);
  const keep = new Set(shown.map(itemKey));
  for (const key of [...items.keys()]) if (!keep.has(key)) items.delete(key);
  $("gallery").replaceChildren(...shown.map((f) => items.get(itemKey(f)) || item(f)));
  $("files-more").hidden = list.length <= state.shown;
}

function item(f) {
  const thumb = f.thumb || `${f.url}/thumb`;
  const when = f.captured ? new Date(f.captured).toLocaleString() : "";
  const img = el("img", { src: thumb, alt: f.filename, loading: "lazy", width: 160, height: 120 });
  const error = el("p", { class: "err", role: "alert" });
  const actions = el(
    "div",
    { class: "actions" },
    el("a", { href: f.url, download: f.filename, text: "Download" }),
  );
  if (caps().delete && state.methods.has("delete") && f.handle !== null) {
    const del = el("button", {
      type: "button",
      class: "danger",
      text: "Delete",
      "aria-label": `Delete ${f.filename}`,
    });
    del.addEventListener("click", () => remove(f, del, error));
    actions.append(del);
  }
  const li = el(
    "li",
    { "data-handle": f.handle ?? "" },
    el(
      "figure",
      {},
      el("a", { href: f.url, target: "_blank", rel: "noopener", title: `Open ${f.filename}` }, img),
      el(
        "figcaption",
        {},
        el("span", { class: "name", text: f.filename }),
        el("span", { class: "meta", text: [size(f.size), when].filter(Boolean).join(" · ") }),
        actions,
        error,
      ),
    ),
  );
  items.set(itemKey(f), li);
  return li;
}

/** What the camera's object at `url` is now: its name and size (HEAD, no body); null when it is gone. */
async function current(url) {
  let response;
  try {
    response = await fetch(url, { method: "HEAD", cache: "no-store" });
  } catch {
    throw new RpcError({ message: "the daemon cannot be reached" });
  }
  if (response.status === 404) return null;
  if (!response.ok) throw new RpcError({ message: `HTTP ${response.status}` });
  const disposition = response.headers.get("Content-Disposition") || "";
  const utf8 = /filename\*=UTF-8''([^;\s]+)/i.exec(disposition);
  const plain = /filename="([^"]*)"/i.exec(disposition);
  const filename = utf8 ? decodeURIComponent(utf8[1]) : plain ? plain[1] : "";
  return { filename, size: Number(response.headers.get("Content-Length")) };
}

/** Why `f` may not be deleted now (its handle names another picture, or none), or "" when it may. */
async function stale(f) {
  if (state.filesFor === null || !state.status || state.filesFor !== state.status.connected_since) {
    return "The camera reconnected since this list was read";
  }
  const now = await current(f.url);
  if (now === null) return `${f.filename} is no longer on the camera`;
  if (now.filename !== f.filename || now.size !== f.size) {
    return `On the camera this picture is now ${now.filename}, not ${f.filename}`;
  }
  return "";
}

async function remove(f, button, error) {
  if (!window.confirm(`Delete ${f.filename} from the camera's card? This cannot be undone.`)) return;
  button.disabled = true;
  error.textContent = "";
  try {
    // the dialog named f: the handle must still be f on the camera (never delete another picture)
    const why = await stale(f);
    if (why) {
      button.disabled = false;
      await loadFiles(); // the gallery as the camera has it now (this item may go)
      const more = $("files-error").textContent;
      $("files-error").textContent = `${why}: nothing was deleted; the list was read again. ${more}`.trim();
      return;
    }
    await rpc.call("delete", { handle: f.handle });
    state.files = state.files.filter((x) => x.handle !== f.handle);
    renderFiles();
  } catch (err) {
    error.textContent = describeError(err);
    button.disabled = false;
  }
}

$("files-refresh").addEventListener("click", () => loadFiles());
$("files-more").addEventListener("click", () => {
  state.shown += PAGE_SIZE;
  renderFiles();
});

// ------------------------------------------------------------------------------------------ events

function logLine(name, text, time) {
  const when = typeof time === "number" ? clock(time) : new Date().toLocaleTimeString([], { hour12: false });
  const li = el(
    "li",
    {},
    el("time", { text: when }),
    " ",
    el("strong", { text: name }),
    text ? ` ${text}` : "",
  );
  const log = $("log");
  log.prepend(li);
  while (log.children.length > MAX_EVENTS) log.lastElementChild.remove();
}

// ------------------------------------------------------------------------------------------ start

window.ptpipd = { live, firstFrameMs: null, state };
rpc.start();
