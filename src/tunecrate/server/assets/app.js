// tunecrate's page: plain JavaScript over the server's own API (no build step, no dependencies).
// Every text from the library goes through textContent, never innerHTML.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const view = $("#view");
const audio = $("#audio");
const state = { playlists: [], queue: [], queueIndex: -1, jobs: new Map(), route: "" };

// -- helpers -----------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function duration(ms) {
  if (!ms) return "";
  const s = Math.round(ms / 1000);
  const hours = Math.floor(s / 3600), minutes = Math.floor((s % 3600) / 60), seconds = s % 60;
  const mm = hours ? String(minutes).padStart(2, "0") : String(minutes);
  return (hours ? hours + ":" : "") + mm + ":" + String(seconds).padStart(2, "0");
}

function artists(track) { return (track.artists || []).join(", "); }

function badge(text) { return h("span", { class: "badge " + text, text }); }

function cover(src, cls = "cover", alt = "") {
  const img = h("img", { class: cls, src, alt, loading: "lazy", width: 40, height: 40 });
  img.addEventListener("error", () => { img.src = "/static/icon.svg"; }, { once: true });
  return img;
}

let toastTimer = 0;
function toast(message, isError = false) {
  const el = $("#toast");
  el.textContent = message;
  el.className = isError ? "error" : "";
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, isError ? 8000 : 4000);
}

async function api(path, options = {}) {
  const init = { ...options, headers: { Accept: "application/json", ...(options.headers || {}) } };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.body = JSON.stringify(options.json);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  if (response.status === 401) { window.location.assign("/login"); throw new Error("sign in first"); }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && body.detail;
    throw new Error(typeof detail === "string" ? detail : (detail ? JSON.stringify(detail) : response.statusText));
  }
  return { body, response };
}

function failed(error) { toast(error.message || String(error), true); }

// -- routing -------------------------------------------------------------------------------

const routes = [
  [/^#?\/?$/, showLibrary],
  [/^#\/playlist\/([^/]+)$/, (m) => showPlaylist(decodeURIComponent(m[1]))],
  [/^#\/tracks$/, showTracks],
  [/^#\/review$/, showReview],
  [/^#\/jobs$/, showJobs],
];

function route() {
  state.route = location.hash || "#/";
  const tab = state.route.startsWith("#/review") ? "review" : state.route.startsWith("#/jobs") ? "jobs"
    : state.route.startsWith("#/tracks") ? "tracks" : "library";
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.tab === tab) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  markPlaylistLink();
  for (const [pattern, show] of routes) {
    const match = state.route.match(pattern);
    if (match) { show(match).catch(failed); return; }
  }
  view.replaceChildren(h("p", { class: "empty", text: "Nothing here." }));
}

function rerender() { route(); }

// -- the library ------------------------------------------------------------------------------

async function loadPlaylists() {
  const q = $("#playlist-search").value.trim();
  const { body } = await api("/playlists" + (q ? "?q=" + encodeURIComponent(q) : ""));
  state.playlists = body;
  const list = $("#playlist-list");
  list.replaceChildren(...body.map((p) => h("li", {},
    h("a", { href: "#/playlist/" + encodeURIComponent(p.playlist_id), "data-id": p.playlist_id },
      cover("/playlist/" + encodeURIComponent(p.playlist_id) + "/cover"),
      h("span", { class: "names" }, h("div", { text: p.title }),
        h("div", { class: "muted meta", text: `${p.downloaded}/${p.track_count} downloaded` }))))));
  if (!body.length) list.append(h("li", { class: "muted", text: q ? "No playlist matches." : "No playlists yet." }));
  markPlaylistLink();
  return body;
}

function markPlaylistLink() {
  for (const link of document.querySelectorAll("#playlist-list a")) {
    const current = state.route === "#/playlist/" + encodeURIComponent(link.dataset.id);
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
}

async function refreshCounts() {
  const { body } = await api("/stats");
  const count = $("#review-count");
  count.textContent = body.review;
  count.hidden = !body.review;
  return body;
}

async function showLibrary() {
  const [stats, playlists] = await Promise.all([refreshCounts(), loadPlaylists()]);
  const figures = [["Tracks", stats.tracks], ["Downloaded", stats.downloaded], ["Playlists", stats.playlists],
    ["On disk", (stats.disk_bytes / 1048576).toFixed(1) + " MB"], ["To review", stats.review]];
  view.replaceChildren(
    h("h1", { text: "Library" }),
    h("div", { class: "stats" }, figures.map(([label, value]) => h("div", {}, h("strong", { text: value }), h("span", { class: "muted", text: label })))),
    h("h2", { text: "Playlists" }),
    playlists.length ? h("div", { class: "grid" }, playlists.map((p) =>
      h("a", { class: "card", href: "#/playlist/" + encodeURIComponent(p.playlist_id) },
        cover("/playlist/" + encodeURIComponent(p.playlist_id) + "/cover", ""),
        h("div", { class: "title", text: p.title }),
        h("div", { class: "muted", text: `${p.downloaded}/${p.track_count} tracks` }))))
      : h("p", { class: "empty", text: "Paste a Spotify playlist link above and press Load." }));
}

function trackRow(track, index, list) {
  const id = encodeURIComponent(track.track_id);
  const downloaded = track.status === "downloaded";
  const row = h("tr", { "data-track": track.track_id },
    h("td", { class: "num", text: index + 1 }),
    h("td", {}, h("div", { class: "track" },
      downloaded ? cover("/track/" + id + "/cover") : h("span", { class: "cover" }),
      h("div", { class: "names" }, h("div", { class: "title", text: track.title }),
        h("div", { class: "muted" }, h("span", { class: "phone-only" }, badge(track.status), " "), artists(track))))),
    h("td", { class: "album muted", text: track.album }),
    h("td", { class: "time", text: duration(track.duration_ms) }),
    h("td", { class: "status-col" }, badge(track.status),
      track.reason ? h("div", { class: "muted reason", text: track.reason, title: track.reason }) : null),
    h("td", { class: "actions" },
      h("button", { type: "button", class: "small play", disabled: !downloaded, "aria-label": "Play " + track.title,
        onclick: () => playFrom(list, index) }, "▶", h("span", { class: "label", text: " Play" })),
      downloaded ? h("a", { class: "button small", href: "/track/" + id + "/download", download: "",
        "aria-label": "Download " + track.title }, "↓", h("span", { class: "label", text: " MP3" })) : null));
  if (audio.dataset.track === track.track_id) row.classList.add("playing");
  return row;
}

function trackTable(rows) {
  return h("table", { class: "tracks" },
    h("thead", {}, h("tr", {}, h("th", { class: "num", text: "#" }), h("th", { text: "Title" }),
      h("th", { class: "album", text: "Album" }), h("th", { text: "Time" }), h("th", { class: "status", text: "Status" }),
      h("th", {}, h("span", { class: "sr-only", text: "Actions" })))),
    h("tbody", {}, rows));
}

async function showPlaylist(playlistId) {
  const id = encodeURIComponent(playlistId);
  const [{ body: playlist }, { body: entries }] = await Promise.all([api("/playlist/" + id), api("/playlist/" + id + "/tracks")]);
  const tracks = entries.map((e) => e.track);
  const total = tracks.reduce((sum, t) => sum + (t.duration_ms || 0), 0);
  const search = h("input", { type: "search", placeholder: "Search this playlist", "aria-label": "Search this playlist" });
  const body = h("tbody");
  const fill = () => {
    const q = search.value.trim().toLowerCase();
    const shown = entries.map((e, i) => [e, i]).filter(([e]) => !q ||
      [e.track.title, artists(e.track), e.track.album].join(" ").toLowerCase().includes(q));
    body.replaceChildren(...shown.map(([e, i]) => trackRow(e.track, i, tracks)));
  };
  search.addEventListener("input", fill);
  const table = trackTable([]);
  table.replaceChild(body, table.tBodies[0]);
  fill();
  view.replaceChildren(
    h("div", { class: "hero" },
      cover("/playlist/" + id + "/cover", "cover big", ""),
      h("div", {},
        h("div", { class: "muted", text: playlist.kind === "likes" ? "Liked Songs" : "Playlist" }),
        h("h1", { text: playlist.title }),
        h("div", { class: "muted", text: [playlist.owner, `${playlist.downloaded}/${playlist.track_count} downloaded`,
          duration(total), playlist.synced_at ? "synced " + new Date(playlist.synced_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : ""].filter(Boolean).join(" · ") }),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "primary", disabled: !tracks.some((t) => t.status === "downloaded"),
            onclick: () => playFrom(tracks, 0) }, "▶ Play"),
          h("button", { type: "button", onclick: () => startJob(playlist.kind === "likes" ? "/likes/sync" : "/playlist/sync",
            playlist.kind === "likes" ? undefined : { url: playlist.playlist_id }) }, "⟳ Sync"),
          h("a", { class: "button", href: "/playlist/" + id + "/download.zip", download: "", id: "download-zip" }, "↓ ZIP"),
          h("a", { class: "button", href: "/playlist/" + id + ".m3u8" }, "M3U8")))),
    h("div", { class: "toolbar" }, search),
    tracks.length ? table : h("p", { class: "empty", text: "This playlist has no tracks." }));
}

async function showTracks() {
  const search = h("input", { type: "search", placeholder: "Search every track", "aria-label": "Search every track" });
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Show more");
  const table = trackTable([]);
  table.replaceChild(body, table.tBodies[0]);
  const count = h("span", { class: "muted" });
  let offset = 0, tracks = [];
  const page = 200;
  const fetchPage = async (reset) => {
    if (reset) { offset = 0; tracks = []; body.replaceChildren(); }
    const q = search.value.trim();
    const { body: rows, response } = await api(`/tracks?offset=${offset}&limit=${page}` + (q ? "&q=" + encodeURIComponent(q) : ""));
    const start = tracks.length;
    tracks.push(...rows);
    body.append(...rows.map((t, i) => trackRow(t, start + i, tracks)));
    offset += rows.length;
    const totalCount = Number(response.headers.get("X-Total-Count") || tracks.length);
    count.textContent = `${totalCount} tracks`;
    more.hidden = offset >= totalCount;
  };
  let timer = 0;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => fetchPage(true).catch(failed), 200); });
  more.addEventListener("click", () => fetchPage(false).catch(failed));
  view.replaceChildren(h("h1", { text: "Tracks" }), h("div", { class: "toolbar" }, search, count), table, more);
  await fetchPage(true);
}

// -- playing -------------------------------------------------------------------------------

function playFrom(list, index) {
  state.queue = list;
  state.queueIndex = index - 1;
  playNext();
}

function playNext() {
  for (let i = state.queueIndex + 1; i < state.queue.length; i++) {
    const track = state.queue[i];
    if (track.status !== "downloaded") continue;
    state.queueIndex = i;
    audio.src = "/track/" + encodeURIComponent(track.track_id) + "/stream";
    audio.dataset.track = track.track_id;
    $("#now-title").textContent = track.title;
    $("#now-artist").textContent = artists(track);
    $("#now-cover").src = "/track/" + encodeURIComponent(track.track_id) + "/cover";
    for (const row of document.querySelectorAll("tr[data-track]")) row.classList.toggle("playing", row.dataset.track === track.track_id);
    audio.play().catch((error) => toast("Press play to listen (" + error.message + ")"));
    return;
  }
}

audio.addEventListener("ended", playNext);
$("#now-cover").addEventListener("error", (e) => { e.target.src = "/static/icon.svg"; });

// -- jobs ----------------------------------------------------------------------------------

const JOB_NAMES = { track_load: "Loading track", album_load: "Loading album", playlist_load: "Loading playlist",
  likes_load: "Loading Liked Songs", playlist_sync: "Syncing playlist", likes_sync: "Syncing Liked Songs",
  sync_all: "Syncing every playlist" };
const STAGES = { queued: "queued", resolving: "searching", fetching: "downloading", encoding: "encoding" };
const FINISHED = new Set(["completed", "failed", "cancelled"]);
const KEPT_CARDS = 3;  // finished jobs shown above the page until dismissed

async function startJob(path, json) {
  try {
    const { body } = await api(path, { method: "POST", json });
    if (!state.jobs.has(body.job_id)) jobCard({ job_id: body.job_id, status: "pending", progress: 0, message: "waiting for its turn" });
    toast("Started job " + body.job_id);
    return body.job_id;
  } catch (error) { failed(error); return null; }
}

$("#load-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("#link").value.trim();
  if (!text) return;
  const sync = event.submitter && event.submitter.dataset.action === "sync";
  const likes = text.toLowerCase() === "likes";
  if (likes) startJob(sync ? "/likes/sync" : "/likes/load");
  else if (sync) startJob("/playlist/sync", { url: text });
  else startJob(/playlist/i.test(text) ? "/playlist/load" : "/track/load", { url: text });
});

function jobState(jobId) {
  let job = state.jobs.get(jobId);
  if (!job) { job = { job_id: jobId, tracks: new Map(), el: null }; state.jobs.set(jobId, job); }
  return job;
}

function jobCard(update) {
  const job = jobState(update.job_id);
  for (const key of ["job_type", "status", "progress", "message"]) {
    if (update[key] !== undefined && (update[key] !== null || key === "message")) job[key] = update[key];
  }
  if (!job.el) {
    job.el = h("article", { class: "job", id: "job-" + job.job_id, "data-job": job.job_id });
    $("#jobs-panel").prepend(job.el);
    const finished = [...state.jobs.values()].filter((j) => j.el && FINISHED.has(j.status));
    for (const old of finished.slice(0, -KEPT_CARDS)) { old.el.remove(); old.el = null; }
  }
  const percent = Math.round((job.progress || 0) * 100);
  const list = h("ul", { class: "plain" }, [...job.tracks.values()].map((t) =>
    h("li", { "data-track": t.track_id }, h("span", { text: (t.artist ? t.artist + " - " : "") + t.title }),
      badge(t.stage === "done" ? (t.outcome || "done") : (STAGES[t.stage] || t.stage)))));
  const details = job.el.querySelector("details");
  const open = details && !FINISHED.has(job.status) ? details.open : !FINISHED.has(job.status);
  job.el.dataset.status = job.status;
  job.el.replaceChildren(
    h("header", {}, h("span", { class: "what", text: (JOB_NAMES[job.job_type] || "Job") + " #" + job.job_id }), badge(job.status)),
    h("progress", { max: 100, value: percent, "aria-label": "Progress of job " + job.job_id }),
    h("div", { class: "line" }, h("span", { class: "muted message", text: job.message || "" }),
      h("span", { class: "job-percent", text: percent + "%" })),
    job.tracks.size ? h("details", { open }, h("summary", { text: job.tracks.size + " tracks" }), list) : null,
    h("div", { class: "buttons" },
      FINISHED.has(job.status) ? h("button", { type: "button", class: "small", onclick: () => { job.el.remove(); job.el = null; } }, "Dismiss")
        : h("button", { type: "button", class: "small", onclick: () => cancelJob(job.job_id) }, "Cancel")));
}

async function cancelJob(jobId) {
  try { await api("/jobs/" + jobId, { method: "DELETE" }); toast("Cancelling job " + jobId); } catch (error) { failed(error); }
}

function onEvent(event) {
  const job = jobState(event.job_id);
  const payload = event.payload || {};
  if (payload.snapshot && Array.isArray(payload.tracks)) {
    for (const t of payload.tracks) job.tracks.set(t.track_id, t);
  } else if (payload.track_id) {
    job.tracks.set(payload.track_id, { track_id: payload.track_id, title: payload.title, artist: payload.artist,
      stage: payload.stage, outcome: payload.outcome });
  }
  const wasFinished = FINISHED.has(job.status);
  jobCard({ job_id: event.job_id, job_type: event.job_type, status: event.status, progress: event.progress, message: event.message });
  if (FINISHED.has(event.status) && !wasFinished && !payload.snapshot) {
    toast((JOB_NAMES[event.job_type] || "Job") + " #" + event.job_id + ": " + event.status + (event.message ? " — " + event.message : ""),
      event.status === "failed");
    loadPlaylists().catch(() => {});
    refreshCounts().catch(() => {});
    if (!state.route.startsWith("#/review")) rerender();
  }
}

let socketDelay = 500;
function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/ws/notifications");
  socket.addEventListener("open", () => { socketDelay = 500; });
  socket.addEventListener("message", (message) => {
    try { onEvent(JSON.parse(message.data)); } catch (error) { console.error(error); }
  });
  socket.addEventListener("close", () => {
    setTimeout(connect, socketDelay);
    socketDelay = Math.min(socketDelay * 2, 15000);
  });
}

async function showJobs() {
  const { body } = await api("/jobs?limit=100");
  const rerun = (job) => {
    const target = job.target;
    const routesByType = { track_load: ["/track/load", { url: target }], album_load: ["/track/load", { url: target }],
      playlist_load: ["/playlist/load", { url: target }], likes_load: ["/likes/load"], playlist_sync: ["/playlist/sync", { url: target }],
      likes_sync: ["/likes/sync"] };
    const [path, json] = routesByType[job.job_type] || [];
    return path ? h("button", { type: "button", class: "small", onclick: () => startJob(path, json) }, "Run again") : null;
  };
  view.replaceChildren(h("h1", { text: "Jobs" }), body.length ? h("table", {},
    h("thead", {}, h("tr", {}, h("th", { class: "num", text: "#" }), h("th", { text: "What" }), h("th", { text: "Status" }),
      h("th", { text: "Progress" }), h("th", { class: "album", text: "Started" }), h("th", {}, h("span", { class: "sr-only", text: "Actions" })))),
    h("tbody", {}, body.map((job) => h("tr", { "data-job": job.job_id },
      h("td", { class: "num", text: job.job_id }),
      h("td", {}, h("div", { text: JOB_NAMES[job.job_type] || job.job_type }), h("div", { class: "muted", text: job.message || job.target })),
      h("td", {}, badge(job.status)),
      h("td", { class: "time", text: Math.round(job.progress * 100) + "%" }),
      h("td", { class: "album muted", text: new Date(job.created_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) }),
      h("td", { class: "actions" }, FINISHED.has(job.status) ? rerun(job)
        : h("button", { type: "button", class: "small", onclick: () => cancelJob(job.job_id).then(rerender) }, "Cancel"))))))
    : h("p", { class: "empty", text: "No jobs yet." }));
}

// -- review --------------------------------------------------------------------------------

const COMPONENTS = ["title", "artist", "duration", "version", "verified", "isrc"];

async function decide(item, decision) {
  try {
    await api("/review/" + encodeURIComponent(item.track_id), { method: "POST", json: decision });
    const where = item.playlists && item.playlists[0];
    toast(decision.action === "skip" ? "Marked “don't download”." :
      "Saved. " + (where ? "Sync “" + where.title + "” to download it." : "The next load downloads it."));
    await refreshCounts();
    await showReview();
  } catch (error) { failed(error); }
}

function reviewItem(item) {
  const rows = item.candidates.map((c) => h("tr", {},
    h("td", { class: "num", text: c.index + 1 }),
    h("td", {}, h("div", { text: c.title }), h("div", { class: "muted", text: c.artist + " · " + c.provider }),
      c.rejected ? h("div", { class: "rejected", text: "rejected: " + c.rejected }) : null),
    h("td", { class: "time hide-phone", text: duration(c.duration_ms) + (c.duration_delta_s !== null && c.duration_delta_s !== undefined
      ? ` (${c.duration_delta_s > 0 ? "+" : ""}${c.duration_delta_s} s)` : "") }),
    h("td", { class: "time" }, c.score.toFixed(2), c.chosen ? h("div", { class: "muted", text: item.decision === "auto" ? "suggested" : "chosen" }) : null),
    h("td", { class: "hide-phone" }, h("div", { class: "components" }, COMPONENTS.filter((k) => k in c.components)
      .map((k) => h("span", { title: k, text: k + " " + Number(c.components[k]).toFixed(2) })))),
    h("td", { class: "actions" }, h("button", { type: "button", class: "small", onclick: () => decide(item, { action: "choose", candidate: c.index }),
      "aria-label": `Choose candidate ${c.index + 1} for ${item.title}` }, "Choose"))));
  const url = h("input", { type: "url", placeholder: "A URL yt-dlp can download, or a local file", "aria-label": "Source for " + item.title });
  const pin = h("form", { class: "pin", onsubmit: (e) => { e.preventDefault(); if (url.value.trim()) decide(item, { action: "pin", url: url.value.trim() }); } },
    url, h("button", { type: "submit" }, "Pin"));
  return h("article", { class: "review-item", "data-track": item.track_id },
    h("div", { class: "track" }, h("div", { class: "names" },
      h("div", { class: "title", text: item.title + " — " + artists(item) }),
      h("div", { class: "muted", text: [item.album, duration(item.duration_ms), item.isrc, (item.playlists || []).map((p) => p.title).join(", ")].filter(Boolean).join(" · ") }))),
    h("p", { class: "why muted" }, badge(item.status), " ", item.reason || ""),
    item.candidates.length ? h("table", { class: "candidates" },
      h("thead", {}, h("tr", {}, h("th", { class: "num", text: "#" }), h("th", { text: "Candidate" }), h("th", { class: "hide-phone", text: "Time (Δ)" }),
        h("th", { text: "Score" }), h("th", { class: "hide-phone", text: "Components" }), h("th", {}, h("span", { class: "sr-only", text: "Actions" })))),
      h("tbody", {}, rows)) : h("p", { class: "muted", text: "No candidates were found." }),
    h("div", { class: "toolbar" },
      item.candidates.length ? h("button", { type: "button", class: "primary", onclick: () => decide(item, { action: "accept" }) }, "Accept best") : null,
      h("button", { type: "button", onclick: () => decide(item, { action: "skip" }) }, "Don't download")),
    pin);
}

async function showReview() {
  const { body } = await api("/review");
  view.replaceChildren(h("h1", { text: "Review" }),
    h("p", { class: "muted", text: "Matches held for your decision, then tracks nothing matched. Decisions are remembered." }),
    ...(body.length ? body.map(reviewItem) : [h("p", { class: "empty", text: "Nothing to review." })]));
}

// -- start ---------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (event.key === "/" && !typing) { event.preventDefault(); $("#playlist-search").offsetParent ? $("#playlist-search").focus() : $("#link").focus(); }
});

let searchTimer = 0;
$("#playlist-search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => loadPlaylists().catch(failed), 150); });
$("#sign-out").addEventListener("click", async () => { await api("/logout", { method: "POST" }).catch(() => {}); location.assign("/login"); });
window.addEventListener("hashchange", () => { route(); view.focus({ preventScroll: true }); });

api("/server").then(({ body }) => { $("#sign-out").hidden = !body.auth; }).catch(() => {});
loadPlaylists().catch(failed);
refreshCounts().catch(() => {});
route();
connect();
