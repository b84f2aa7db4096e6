// The studio page: the piece and its history, the controls, jobs and their candidates.
"use strict";

const $ = (id) => document.getElementById(id);
const roll = new Roll($("roll"));
const player = $("player");
const state = {
  model: null,
  history: [],   // score views; accepting a candidate adds one, undo and redo move `pos`
  pos: -1,
  takes: [],     // candidates for the piece, earliest first: {score: view or null while written, info, warning, region}
  selected: -1,  // -1: the piece itself, else a candidate
  job: null,     // {id, events: EventSource}
  preview: null, // the latest notes of the candidate being written
  selection: null, // bars selected to regenerate: {from, to}, 0-based, end excluded
  fillTracks: [],  // GM programs to regenerate in them (none: every track playing there)
};

const mode = () => $("mode").value;

const current = () => state.history[state.pos] || null;
const shown = () => (state.selected >= 0 && state.takes[state.selected] && state.takes[state.selected].score) || current();

async function api(path, options) {
  const response = await fetch(path, options);
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch (_) { body = { error: text }; }
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function status(text) { $("status").textContent = text; }

function showWarning(message) {
  $("warning").textContent = message;
  $("warning").hidden = !message;
}

// --- the piece and its history ---

// The history by score ids, kept in the browser so that a reload finds it again (while the
// server still holds the scores).
const SAVED = "midigpt-studio-history";

function saveHistory() {
  try {
    const session = state.model ? state.model.session : null;
    localStorage.setItem(SAVED, JSON.stringify({ session, ids: state.history.map((v) => (v ? v.id : null)), pos: state.pos }));
  } catch (_) { /* storage off or full: the history lives in this page only */ }
}

async function restoreHistory() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(SAVED) || "null"); } catch (_) { return; }
  // Ids of another run of the server name other scores.
  if (!saved || !state.model || saved.session !== state.model.session || !Array.isArray(saved.ids)) return;
  const views = [];
  for (const id of saved.ids) {
    if (id === null) { views.push(null); continue; }
    try { views.push(await api(`/api/scores/${Number(id)}`)); } catch (_) { /* gone with a restart */ }
  }
  if (!views.some((v) => v)) return;
  state.history = views;
  state.pos = Math.max(0, Math.min(Number(saved.pos) || 0, views.length - 1));
  if (current()) $("after-bar").value = Math.max(0, current().bars.length - 1);
  refresh();
}

function push(view) {
  state.history = state.history.slice(0, state.pos + 1);
  state.history.push(view);
  state.pos = state.history.length - 1;
  saveHistory();
  clearTakes();
  if (view) $("after-bar").value = Math.max(0, view.bars.length - 1);
  if (!view || (state.selection && state.selection.to > view.bars.length - 1)) select(null);
  state.fillTracks = state.fillTracks.filter((p) => view && view.tracks.some((t) => t.program === p));
  refresh();
  // After the new piece is drawn, so the scroll range fits it.
  roll.scrollTo(0);
}

// A new piece or a new file starts from the defaults: nothing of the last one's settings.
function resetForm(view) {
  for (const id of ["instruments", "tempo", "bars", "key", "form", "add-instrument", "fill-from", "fill-to"]) $(id).value = "";
  $("metre").value = "";
  $("tempo-changes").value = "";
  $("after-bar").value = view ? Math.max(0, view.bars.length - 1) : 0;
  state.fillTracks = [];
  state.selection = null;
  showWarning("");
  status("");
}

// Opens `view` as the piece to work on, its form reset.
function openPiece(view) {
  resetForm(view);
  push(view);
}

function clearTakes() {
  state.takes = [];
  state.selected = -1;
  state.preview = null;
}

// What the shown candidate writes: {from, to (bars; null: to the end), programs}.
// (The original shows what the latest candidates write.)
const region = () => (state.takes[state.selected] || state.takes[state.takes.length - 1] || {}).region || null;

// The candidate a job's event names (its candidates follow those already there).
const takeOf = (index) => (state.job ? state.job.base : 0) + index;

function move(step) {
  const pos = state.pos + step;
  if (pos < 0 || pos >= state.history.length || state.job) return;
  state.pos = pos;
  saveHistory();
  clearTakes();
  refresh();
}

function refresh() {
  const piece = current(), view = shown();
  roll.score = view;
  const p = state.preview, at = p ? takeOf(p.candidate) : -1, take = state.takes[at];
  roll.preview = take && !take.score && state.selected === at ? { tracks: p.tracks } : null;
  const bars = roll.bars();
  const quarter = (bar) => (bar === null ? Infinity : bars[Math.min(bar, bars.length - 1)]);
  const r = region();
  roll.region = r ? { from: quarter(r.from), to: quarter(r.to), programs: r.programs } : null;
  const sel = mode() === "infill" && state.selection;
  roll.selection = sel ? { from: quarter(sel.from), to: quarter(sel.to) } : null;
  roll.onSelect = mode() === "infill" && piece ? select : null;
  roll.draw();
  $("title").textContent = view ? `${view.name} · ${view.bars.length - 1} bars · ${view.notes} notes · ${view.seconds.toFixed(1)} s` : "empty: generate a new piece, or open a MIDI file";
  $("undo").disabled = state.pos <= 0 || !!state.job;
  $("redo").disabled = state.pos >= state.history.length - 1 || !!state.job;
  $("after-bar").max = piece ? piece.bars.length - 1 : 0;
  for (const [id, file] of [["dl-mid", "score.mid"], ["dl-wav", "audio.wav"], ["dl-png", "roll.png"]]) {
    const link = $(id);
    link.classList.toggle("disabled", !view);
    if (view) {
      // The picture in the page's colours.
      const colours = file === "roll.png" ? "?colours=" + view.tracks.map((t) => `${t.program}:${colourFor(t.program).slice(1)}`).join(",") : "";
      link.href = `/api/scores/${view.id}/${file}${colours}`;
      link.download = `${view.name.replace(/\.mid$/, "")}.${file.split(".")[1]}`;
    } else link.removeAttribute("href");
  }
  drawTracks(view);
  drawTabs();
  setAudio(view);
  document.body.dataset.current = piece ? String(piece.id) : "";
  document.body.dataset.shown = view ? String(view.id) : "";
}

function instrumentsChosen() {
  return $("instruments").value.split(",").map((s) => s.trim()).filter(Boolean);
}

// Whether the model heard `program` in training (unknown when the model does not say).
function heard(program) {
  const known = state.model && state.model.instruments;
  return !known || known.some((i) => i.program === program);
}

// The track chips, rebuilt only when what they show changes (not at every preview).
function drawTracks(view) {
  const box = $("tracks");
  const chosen = instrumentsChosen().map((s) => s.toLowerCase());
  const filling = mode() === "infill";
  const key = JSON.stringify([view ? view.id : null, chosen, mode(), state.fillTracks, !!state.model]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.textContent = "";
  for (const t of view ? view.tracks : []) {
    const name = t.program < 0 ? "drums" : t.instrument;
    const chip = document.createElement("span");
    const on = filling ? state.fillTracks.includes(t.program) : chosen.includes(name.toLowerCase());
    chip.className = "track" + (on ? " on" : "") + (heard(t.program) ? "" : " unheard");
    chip.dataset.program = String(t.program);
    chip.title = filling ? "Write this track again in the selected bars, or keep it" : "Add or remove this instrument for the new part";
    if (!heard(t.program)) chip.title += `. This model never heard ${name} in training: it writes little or nothing for it.`;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = colourFor(t.program);
    // The track's own name, then its instrument where that says more.
    const named = t.name && t.name.toLowerCase() !== name.toLowerCase();
    chip.append(swatch, `${heard(t.program) ? "" : "⚠ "}${named ? t.name + " · " : ""}${name} (${t.notes.length})`);
    chip.addEventListener("click", () => (filling ? toggleFillTrack(t.program) : toggleInstrument(name)));
    box.append(chip);
  }
  // Before generating: which instruments of the continuation the model never heard (the
  // song's own when none are chosen).
  const continued = (view ? view.tracks : []).filter((t) => mode() === "continue" && (!chosen.length || chosen.includes((t.program < 0 ? "drums" : t.instrument).toLowerCase())));
  const unheard = [...new Set(continued.filter((t) => !heard(t.program)).map((t) => (t.program < 0 ? "drums" : t.instrument)))];
  $("instrument-note").textContent = unheard.length ? `This model never heard ${unheard.join(", ")} in training: it writes little or nothing for ${unheard.length === 1 ? "it" : "them"}. Choose the instruments to continue with, or use a model trained on them.` : "";
  $("instrument-note").hidden = !unheard.length;
  $("fill-tracks").value = state.fillTracks
    .map((p) => { const t = view && view.tracks.find((x) => x.program === p); return p < 0 ? "drums" : t ? t.instrument : String(p); })
    .join(", ");
}

function toggleFillTrack(program) {
  const i = state.fillTracks.indexOf(program);
  if (i >= 0) state.fillTracks.splice(i, 1); else state.fillTracks.push(program);
  drawTracks(shown());
}

// Bars [from, to) selected to regenerate (null: none), from a drag or the two numbers.
function select(from, to) {
  state.selection = from === null || to <= from ? null : { from, to };
  $("fill-from").value = state.selection ? from + 1 : "";
  $("fill-to").value = state.selection ? to : "";
  refresh();
}

function selectFromInputs() {
  const from = Number($("fill-from").value), to = Number($("fill-to").value);
  if (from >= 1 && to >= from) select(from - 1, to);
}

// Shows the controls of the chosen task; says at once when the model cannot fill bars.
function setMode() {
  const m = mode();
  $("continue-controls").hidden = m !== "continue";
  $("infill-controls").hidden = m !== "infill";
  $("add-controls").hidden = m !== "add_track";
  const why = state.model && state.model.cannot_fill;
  const blocked = m !== "continue" && !!why;
  $("fill-note").textContent = blocked ? `This model cannot fill bars: ${why}` : "";
  $("fill-note").hidden = !blocked;
  setBusy(!!state.job);
  refresh();
}

function toggleInstrument(name) {
  const list = instrumentsChosen();
  const i = list.findIndex((s) => s.toLowerCase() === name.toLowerCase());
  if (i >= 0) list.splice(i, 1); else list.push(name);
  $("instruments").value = list.join(", ");
  drawTracks(shown());
}

// --- listening: one player, switched between the piece and its candidates (A/B) ---

function setAudio(view) {
  const src = view ? `/api/scores/${view.id}/audio.wav` : "";
  $("play").disabled = !view;
  if (player.getAttribute("src") === src) return;
  const at = player.currentTime || 0, playing = !player.paused;
  if (!src) { player.removeAttribute("src"); player.load(); return; }
  player.src = src;
  player.addEventListener("loadedmetadata", () => {
    player.currentTime = Math.min(at, player.duration || 0);
    if (playing) player.play().catch(() => {});
  }, { once: true });
}

function togglePlay() {
  if (!player.getAttribute("src")) return;
  if (player.paused) player.play().catch((e) => showError(e.message)); else player.pause();
}

function followPlayhead() {
  const view = shown();
  roll.playhead = view && !player.paused ? quarterAt(player.currentTime, view.tempos) : null;
  if (roll.playhead !== null) roll.follow(roll.playhead);
  roll.draw();
  if (!player.paused) requestAnimationFrame(followPlayhead);
}
player.addEventListener("play", () => { $("play").textContent = "■ Stop"; followPlayhead(); });
player.addEventListener("pause", () => { $("play").textContent = "▶ Play"; followPlayhead(); });

// --- candidates ---

// The tabs, rebuilt only when what they say changes (not at every preview), so that a
// click never lands on a replaced button.
function drawTabs() {
  const box = $("tabs");
  const tabs = state.takes.length ? [{ label: "Original", index: -1 }] : [];
  state.takes.forEach((t, i) => tabs.push({ label: `Candidate ${i + 1}${t.warning ? " ⚠" : ""}`, index: i, writing: !t.score }));
  const key = JSON.stringify(tabs);
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    box.textContent = "";
    for (const t of tabs) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tab" + (t.writing ? " writing" : "");
      b.textContent = t.label;
      b.dataset.index = String(t.index);
      b.addEventListener("click", () => { state.selected = t.index; refresh(); });
      box.append(b);
    }
  }
  for (const b of box.children) b.classList.toggle("selected", Number(b.dataset.index) === state.selected);
  const take = state.takes[state.selected];
  $("accept").disabled = !take || !take.score;
  $("discard").hidden = !take || !take.score || !!state.job;
  const piece = current(), r = region();
  const continues = !!(piece && continuation(r) && r.from < piece.bars.length - 1);
  $("replace").hidden = !continues || !take;
  $("replace").disabled = !take || !take.score;
  $("take-info").textContent = take && take.info ? take.info + (take.warning ? ` · ⚠ ${take.warning}` : "") : "";
}

// Drops the shown candidate; the others stay.
function discard() {
  if (state.job || !state.takes[state.selected]) return;
  state.takes.splice(state.selected, 1);
  state.selected = Math.min(state.selected, state.takes.length - 1);
  refresh();
}

// Whether candidates of `region` continue the piece (rather than fill it).
const continuation = (region) => !!region && region.to === null && region.programs === null;

// A continuation goes into the piece: the bars after it stay, later by the new ones.
// Replacing them instead asks first.
async function accept(replace) {
  const take = state.takes[state.selected];
  if (!take || !take.score) return;
  const piece = current(), r = take.region;
  // A fill or a new track already holds the whole piece; a continuation holds the bars up
  // to its own end.
  if (!continuation(r)) { push(take.score); return; }
  const after = piece ? piece.bars.length - 1 - r.from : 0;
  if (replace) {
    if (after > 0 && !window.confirm(`Replace the ${after} bar${after === 1 ? "" : "s"} after bar ${r.from} with this candidate's ending?`)) return;
    push(take.score);
    return;
  }
  try { push(await api(`/api/scores/${take.score.id}/insert`, { method: "POST" })); } catch (err) { showError(err.message); }
}

// --- generating ---

// The request of the chosen task, and the region its candidates write (as in `state`).
function request() {
  const number = (id) => ($(id).value === "" ? null : Number($(id).value));
  const piece = current();
  const sampling = { temperature: number("temperature"), top_p: number("top-p"), seed: number("seed") || 0 };
  const common = { score: piece ? piece.id : null, sampling, candidates: number("candidates") || 1 };
  if (mode() === "infill") {
    if (!state.selection) throw new Error("Drag across bars on the roll to choose what to regenerate.");
    const { from, to } = state.selection;
    const tracks = state.fillTracks.slice();
    return [{ ...common, task: { mode: "infill", bars: [from, to], tracks } }, { from, to, programs: tracks.length ? tracks : null }];
  }
  if (mode() === "add_track") {
    const instrument = $("add-instrument").value.trim();
    if (!instrument) throw new Error("Name the instrument of the new track (e.g. bass).");
    return [{ ...common, task: { mode: "add_track", instrument } }, { from: 0, to: null, programs: [] }];
  }
  const after = piece ? number("after-bar") || 0 : 0;
  return [{
    ...common,
    task: { mode: "continue", after_bar: after },
    settings: {
      instruments: instrumentsChosen(),
      tempo: number("tempo"),
      tempo_changes: $("tempo-changes").value || null,
      time_signature: $("metre").value || null,
      bars: number("bars"),
      form: $("form").value.trim() || null,
      key: $("key").value.trim() || null,
    },
  }, { from: after, to: null, programs: null }];
}

async function generate(e) {
  e.preventDefault();
  showError("");
  let body, region, job;
  try {
    [body, region] = request();
    job = await api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (err) { showError(err.message); return; }
  // Earlier candidates stay, until discarded or the piece changes.
  state.takes = state.takes.filter((t) => t.score);
  const base = state.takes.length;
  for (let i = 0; i < body.candidates; i++) state.takes.push({ score: null, info: "", region });
  state.selected = base;
  state.job = { id: job.id, base };
  place(job.ahead);
  setBusy(true);
  refresh();
  listen(job.id);
}

function place(ahead) {
  status(ahead > 0 ? `waiting: ${ahead} request${ahead === 1 ? "" : "s"} ahead of yours` : "starting…");
}

function setBusy(busy) {
  const blocked = mode() !== "continue" && !!(state.model && state.model.cannot_fill);
  $("generate").disabled = busy || !state.model || blocked;
  $("cancel").disabled = !busy;
  document.body.dataset.job = busy ? "running" : "idle";
}

const handlers = {
  place: (e) => place(e.ahead),
  start: () => status("writing…"),
  notes: (e) => {
    const take = state.takes[takeOf(e.candidate)];
    if (!take || take.score) return;
    state.preview = e;
    if (state.selected === takeOf(e.candidate)) refresh();
    status(`writing candidate ${e.candidate + 1}: ${e.tokens} tokens`);
    $("speed").textContent = `${Math.round(e.tokens_per_second)} tokens/s`;
  },
  candidate: (e) => {
    state.preview = null;
    const at = takeOf(e.index);
    state.takes[at] = {
      region: state.takes[at].region,
      score: e.score,
      info: `seed ${e.seed} · ${e.new_tokens} tokens at ${Math.round(e.tokens_per_second)} tokens/s · ${e.score.notes} notes`,
      warning: e.warning || "",
    };
    $("speed").textContent = `${Math.round(e.tokens_per_second)} tokens/s`;
    refresh();
  },
  end: (e) => {
    if (state.job && state.job.events) state.job.events.close();
    const mine = state.takes.slice(state.job ? state.job.base : 0).filter((t) => t.score);
    state.job = null;
    state.preview = null;
    state.takes = state.takes.filter((t) => t.score);
    if (state.selected >= state.takes.length) state.selected = state.takes.length - 1;
    setBusy(false);
    const warned = mine.filter((t) => t.warning);
    status({ done: "done", warned: `${warned.length} of ${mine.length} candidates with a warning`, cancelled: "cancelled", failed: "failed" }[e.status] || e.status);
    showWarning(warned.length ? `Candidate ${state.takes.indexOf(warned[0]) + 1}: ${warned[0].warning}` : "");
    if (e.error) showError(e.error);
    refresh();
  },
};

// Server-sent events; if they break, the job's status is polled instead.
function listen(id) {
  const events = new EventSource(`/api/jobs/${id}/events`);
  state.job.events = events;
  let seen = 0;
  for (const kind of Object.keys(handlers)) {
    events.addEventListener(kind, (m) => {
      if (kind !== "notes") seen++;
      handlers[kind](JSON.parse(m.data));
    });
  }
  events.onerror = () => { events.close(); if (state.job && state.job.id === id) poll(id, seen); };
}

async function poll(id, seen) {
  while (state.job && state.job.id === id) {
    let job;
    try { job = await api(`/api/jobs/${id}`); } catch (err) { showError(err.message); setBusy(false); state.job = null; return; }
    for (const e of job.events.slice(seen)) { seen++; handlers[e.type](e); }
    if (job.preview && state.job) handlers.notes(job.preview);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function cancel() {
  if (!state.job) return;
  try { await api(`/api/jobs/${state.job.id}`, { method: "DELETE" }); } catch (err) { showError(err.message); }
}

// --- opening ---

async function upload(file) {
  showError("");
  try {
    const view = await api(`/api/scores?name=${encodeURIComponent(file.name)}`, { method: "POST", body: file });
    openPiece(view);
  } catch (err) { showError(err.message); }
}

async function loadModel() {
  try {
    const m = await api("/api/model");
    state.model = m;
    const millions = m.parameters >= 1e6 ? `${(m.parameters / 1e6).toFixed(1)}M` : `${Math.round(m.parameters / 1e3)}k`;
    const learnt = m.instruments ? ` · learnt from ${m.instruments.map((i) => i.name).join(", ")} only` : "";
    $("model").textContent = `${m.name} · ${m.tokenizer} · ${millions} parameters, ${m.layers} layers, context ${m.context}${learnt}`;
    for (const metre of m.metres) {
      const o = document.createElement("option");
      o.value = o.textContent = metre;
      $("metre").append(o);
    }
    // What a field left empty becomes: the compose layer's defaults, as on the command line.
    $("bars").placeholder = `${m.defaults.bars}`;
    $("key").placeholder = m.defaults.key;
    $("temperature").placeholder = `${m.defaults.temperature}`;
    $("form").placeholder = `song from ${m.defaults.song_from_bars} bars`;
    const off = { instruments: "instruments", tempo: "tempo", time_signature: "metre", bars: "bars" };
    for (const [control, id] of Object.entries(off)) $(id).disabled = !m.controls.includes(control);
    $("tempo-changes").disabled = !m.controls.includes("tempo");
    $("form").disabled = !m.controls.includes("bars");
    setMode();
  } catch (err) { showError(`the model: ${err.message}`); }
}

$("upload").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); e.target.value = ""; });
$("new").addEventListener("click", () => openPiece(null));
$("undo").addEventListener("click", () => move(-1));
$("redo").addEventListener("click", () => move(1));
$("play").addEventListener("click", togglePlay);
$("accept").addEventListener("click", () => accept(false));
$("replace").addEventListener("click", () => accept(true));
$("discard").addEventListener("click", discard);
$("controls").addEventListener("submit", generate);
$("cancel").addEventListener("click", cancel);
$("instruments").addEventListener("input", () => drawTracks(shown()));
$("mode").addEventListener("change", setMode);
$("fill-from").addEventListener("change", selectFromInputs);
$("fill-to").addEventListener("change", selectFromInputs);
$("zoom-in").addEventListener("click", () => roll.zoom(1.25));
$("zoom-out").addEventListener("click", () => roll.zoom(0.8));
$("scroll").addEventListener("input", (e) => roll.scrollTo(Number(e.target.value)));
roll.onScroll = (x0, end) => { $("scroll").max = String(end); $("scroll").value = String(x0); };
roll.onBar = (bar) => { if (current()) { $("after-bar").value = Math.min(bar, current().bars.length - 1); } };
window.addEventListener("resize", () => roll.draw());
document.addEventListener("keydown", (e) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName) && e.target.type !== "range";
  if (e.code === "Space" && !typing) { e.preventDefault(); togglePlay(); }
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z" && !typing) { e.preventDefault(); move(e.shiftKey ? 1 : -1); }
});

state.history = [null];
state.pos = 0;
refresh();
loadModel().then(restoreHistory);
