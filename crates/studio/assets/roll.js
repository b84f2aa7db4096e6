// The piano roll: a canvas of bars and beats, one colour per instrument, drums in a lane of
// their own, the part being written tinted, a selection of bars dragged across it, and a
// playhead. Times are in quarter notes.
"use strict";

// Matplotlib's "tab10" without its grey (drums use grey), as the PNG piano roll.
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#bcbd22", "#17becf", "#005a5a", "#786400"];
const DRUM_COLOUR = "#464646";
const RULER = 22;       // bar numbers at the top
const LEFT = 44;        // octave labels
const DRUM_ROWS = 6;    // cymbal .. kick, as the PNG draws them
const DRUM_ROW_PX = 9;

// One colour per GM program for the whole session, so a track keeps its colour from the
// original to every candidate.
const programColours = new Map();
function colourFor(program) {
  if (program < 0) return DRUM_COLOUR;
  if (!programColours.has(program)) {
    programColours.set(program, PALETTE[programColours.size % PALETTE.length]);
  }
  return programColours.get(program);
}

function drumRow(key) {
  if (key === 35 || key === 36) return 5;
  if (key >= 37 && key <= 40) return 4;
  if ([41, 43, 45, 47, 48, 50].includes(key)) return 3;
  if ([42, 44, 46].includes(key)) return 2;
  if ([49, 51, 52, 53, 55, 57, 59].includes(key)) return 1;
  return 0;
}

class Roll {
  constructor(canvas) {
    this.canvas = canvas;
    this.score = null;      // the score view shown
    this.preview = null;    // {tracks}: notes being written, inside `region`
    // The part being written: quarters [from, to) of `programs` (null: every track; []: a
    // new track, nothing replaced). A continuation's region runs to the end.
    this.region = null;
    this.selection = null;  // {from, to}: selected bars as quarters
    this.onSelect = null;   // called with (first bar, bar after the last) while dragging
    this.dragFrom = null;   // bar the drag started on
    this.playhead = null;   // quarter
    this.pxPerQuarter = 24;
    this.x0 = 0;            // first quarter in view
    this.onBar = null;      // called with a bar number when the ruler is clicked
    canvas.addEventListener("click", (e) => this.click(e));
    canvas.addEventListener("pointerdown", (e) => this.press(e));
    canvas.addEventListener("pointermove", (e) => this.drag(e));
    canvas.addEventListener("pointerup", () => { this.dragFrom = null; });
    canvas.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
  }

  // Whether the region writes `program` at quarter `q`.
  written(program, q) {
    const r = this.region;
    return !!r && q >= r.from && q < r.to && (r.programs === null || r.programs.includes(program));
  }

  // Everything to draw: the score's tracks and the preview's, which replaces what the score
  // has in the region.
  tracks() {
    let out = this.score ? this.score.tracks.slice() : [];
    if (this.preview) {
      out = out.map((t) => ({ ...t, notes: t.notes.filter((n) => !this.written(t.program, n[0])) }));
      out.push(...this.preview.tracks);
    }
    return out;
  }

  end() {
    let end = this.score ? this.score.end : 0;
    for (const t of this.tracks()) for (const n of t.notes) end = Math.max(end, n[0] + n[1]);
    return Math.max(end, 16);
  }

  bars() {
    // The score's bars, continued in its last bar length past its end.
    const bars = this.score && this.score.bars.length > 1 ? this.score.bars.slice() : [0, 4];
    // ... to the end of the notes, and to the right edge of the view.
    const visible = ((this.canvas.clientWidth || 1000) - LEFT) / this.pxPerQuarter;
    const end = Math.max(this.end(), this.x0 + visible);
    const step = bars[bars.length - 1] - bars[bars.length - 2] || 4;
    while (bars[bars.length - 1] < end + step) bars.push(bars[bars.length - 1] + step);
    return bars;
  }

  beatLength(at) {
    let d = 4;
    for (const [q, , den] of (this.score ? this.score.metres : [])) if (q <= at) d = den;
    return 4 / d;
  }

  pitchRange() {
    let lo = 127, hi = 0;
    for (const t of this.tracks()) {
      if (t.program < 0) continue;
      for (const n of t.notes) { lo = Math.min(lo, n[2]); hi = Math.max(hi, n[2]); }
    }
    if (lo > hi) { lo = 48; hi = 84; }
    const mid = (lo + hi) / 2;
    const span = Math.max(hi - lo + 4, 24);
    return [Math.floor(mid - span / 2), Math.ceil(mid + span / 2)];
  }

  x(q) { return LEFT + (q - this.x0) * this.pxPerQuarter; }

  draw() {
    const c = this.canvas, ratio = window.devicePixelRatio || 1;
    const w = c.clientWidth || 1000, h = c.clientHeight || 420;
    if (c.width !== Math.round(w * ratio)) { c.width = Math.round(w * ratio); c.height = Math.round(h * ratio); }
    const g = c.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.fillStyle = "#fff"; g.fillRect(0, 0, w, h);
    const tracks = this.tracks();
    const drums = tracks.some((t) => t.program < 0);
    const drumTop = h - (drums ? DRUM_ROWS * DRUM_ROW_PX + 6 : 0);
    const [lo, hi] = this.pitchRange();
    const row = (drumTop - RULER) / (hi - lo + 1);
    const y = (p) => RULER + (hi - p) * row;
    // Rows of black keys, and octave lines with labels.
    for (let p = lo; p <= hi; p++) {
      if ([1, 3, 6, 8, 10].includes(p % 12)) { g.fillStyle = "#f3f3f6"; g.fillRect(LEFT, y(p), w, row); }
      if (p % 12 === 0) {
        g.fillStyle = "#c8c8d0"; g.fillRect(LEFT, y(p) + row - 1, w, 1);
        g.fillStyle = "#555"; g.font = "11px sans-serif"; g.fillText("C" + (p / 12 - 1), 6, y(p) + row);
      }
    }
    if (drums) {
      g.fillStyle = "#f8f6f0"; g.fillRect(LEFT, drumTop, w, h - drumTop);
      g.fillStyle = "#555"; g.fillText("Drums", 4, drumTop + 20);
    }
    // The part being written, and the selection (outlined).
    const span = (from, to) => {
      const a = Math.max(LEFT, this.x(from)), b = Math.min(w, this.x(to));
      return [a, Math.max(0, b - a)];
    };
    if (this.region) {
      const [a, wd] = span(this.region.from, this.region.to);
      g.fillStyle = "rgba(31, 111, 180, 0.09)";
      g.fillRect(a, RULER, wd, h - RULER);
    }
    if (this.selection) {
      const [a, wd] = span(this.selection.from, this.selection.to);
      g.fillStyle = "rgba(255, 127, 14, 0.10)";
      g.fillRect(a, RULER, wd, h - RULER);
      g.strokeStyle = "#e8730c"; g.lineWidth = 2; g.setLineDash([6, 4]);
      g.strokeRect(a + 1, RULER + 1, wd - 2, h - RULER - 2);
      g.setLineDash([]);
    }
    // Where only some tracks are written, the others are drawn faint there.
    const faint = (program, q) => {
      const r = this.region;
      return !!r && r.programs !== null && r.programs.length > 0 && q >= r.from && q < r.to && !r.programs.includes(program);
    };
    this.drawGrid(g, w, h);
    // Notes: paler when softer; drums in their lane.
    let drawn = 0;
    const lastQ = this.x0 + (w - LEFT) / this.pxPerQuarter;
    for (const t of tracks) {
      g.fillStyle = colourFor(t.program);
      for (const [start, dur, pitch, vel] of t.notes) {
        if (start > lastQ || start + dur < this.x0) continue;
        g.globalAlpha = (0.35 + 0.65 * (vel / 127)) * (faint(t.program, start) ? 0.3 : 1);
        const x = this.x(start), wd = Math.max(2, dur * this.pxPerQuarter - 1);
        if (t.program < 0) g.fillRect(x, drumTop + 4 + drumRow(pitch) * DRUM_ROW_PX, Math.min(wd, 6), DRUM_ROW_PX - 2);
        else g.fillRect(x, y(pitch), wd, Math.max(2, row - 1));
        drawn++;
      }
    }
    g.globalAlpha = 1;
    g.fillStyle = "#fff"; g.fillRect(0, 0, LEFT, RULER);
    if (this.playhead !== null) {
      g.fillStyle = "#d62728"; g.fillRect(this.x(this.playhead), RULER, 2, h - RULER);
    }
    c.dataset.notes = String(drawn);
  }

  drawGrid(g, w, h) {
    const bars = this.bars();
    g.font = "11px sans-serif";
    for (let i = 0; i + 1 < bars.length; i++) {
      const [a, b] = [bars[i], bars[i + 1]];
      if (this.x(a) > w) break;
      if (this.x(b) < LEFT) continue;
      const beat = this.beatLength(a);
      g.fillStyle = "#e8e8ec";
      for (let q = a + beat; q < b - 1e-6; q += beat) if (this.x(q) >= LEFT) g.fillRect(this.x(q), RULER, 1, h - RULER);
      if (this.x(a) >= LEFT) {
        g.fillStyle = "#b2b2ba"; g.fillRect(this.x(a), RULER - 6, 1, h - RULER + 6);
        // Every bar numbered when there is room, else every fourth.
        if ((b - a) * this.pxPerQuarter > 28 || i % 4 === 0) {
          g.fillStyle = "#333"; g.fillText(String(i + 1), this.x(a) + 3, 14);
        }
      }
    }
  }

  // The quarter under a pointer event, and whether it is on the ruler.
  at(e) {
    const r = this.canvas.getBoundingClientRect();
    return [this.x0 + (e.clientX - r.left - LEFT) / this.pxPerQuarter, e.clientY - r.top <= RULER + 8];
  }

  // The bar boundary nearest a click on the ruler (0 = before the first bar).
  click(e) {
    const [q, ruler] = this.at(e);
    if (!ruler || !this.onBar) return;
    const bars = this.bars();
    let best = 0;
    bars.forEach((b, i) => { if (Math.abs(b - q) < Math.abs(bars[best] - q)) best = i; });
    this.onBar(best);
  }

  // The bar holding quarter `q`.
  barAt(q) {
    const bars = this.bars();
    let i = 0;
    while (i + 2 < bars.length && bars[i + 1] <= q) i++;
    return i;
  }

  // A drag across the notes selects the bars it covers (rubber band).
  press(e) {
    const [q, ruler] = this.at(e);
    if (ruler || !this.onSelect || e.button !== 0) return;
    this.dragFrom = this.barAt(Math.max(0, q));
    try { this.canvas.setPointerCapture(e.pointerId); } catch (_) { /* a synthetic pointer */ }
    this.onSelect(this.dragFrom, this.dragFrom + 1);
  }

  drag(e) {
    if (this.dragFrom === null) return;
    const bar = this.barAt(Math.max(0, this.at(e)[0]));
    this.onSelect(Math.min(this.dragFrom, bar), Math.max(this.dragFrom, bar) + 1);
  }

  wheel(e) {
    e.preventDefault();
    if (e.ctrlKey) this.zoom(e.deltaY < 0 ? 1.25 : 0.8);
    else this.scrollTo(this.x0 + (e.deltaX || e.deltaY) / this.pxPerQuarter);
  }

  zoom(f) { this.pxPerQuarter = Math.min(160, Math.max(3, this.pxPerQuarter * f)); this.scrollTo(this.x0); }

  scrollTo(q) {
    const visible = ((this.canvas.clientWidth || 1000) - LEFT) / this.pxPerQuarter;
    this.x0 = Math.max(0, Math.min(q, this.end() - visible * 0.5));
    if (this.onScroll) this.onScroll(this.x0, this.end());
    this.draw();
  }

  // Keeps quarter `q` in view (the playhead).
  follow(q) {
    const visible = ((this.canvas.clientWidth || 1000) - LEFT) / this.pxPerQuarter;
    if (q < this.x0 || q > this.x0 + visible * 0.9) this.scrollTo(q - visible * 0.1);
  }
}

// Seconds → quarter notes through a score's tempo changes ([[at, qpm], ...]).
function quarterAt(seconds, tempos) {
  let q = 0, t = 0, qpm = 120;
  const changes = (tempos || []).slice().sort((a, b) => a[0] - b[0]);
  for (const [at, next] of changes) {
    const dt = (at - q) * 60 / qpm;
    if (t + dt > seconds) break;
    t += dt; q = at; qpm = next;
  }
  return q + (seconds - t) * qpm / 60;
}
