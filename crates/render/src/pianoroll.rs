//! Piano-roll pictures: time runs left to right in bars, pitch bottom to top over the range
//! the score uses, one colour per track (paler for softer notes), drums in a lane of their own
//! under the pitches, a legend naming each track's General MIDI instrument.

use std::path::Path;

use midigpt_midi::{program_name, Score, Track};
use midigpt_store::write_atomic;

use crate::canvas::{mix, Canvas, Rgb};
use crate::error::RenderError;
use crate::grid::{grid_lines, GridLine};
use crate::text::Anchor;

/// What the piano roll looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PianorollOptions {
    /// Width in pixels; `None`: 1600, widened for long songs (about 14 pixels a bar) up to
    /// 4800.
    pub width: Option<u32>,
    /// Height in pixels (800).
    pub height: u32,
    /// Title at the top, usually the file name.
    pub title: String,
    /// Colours by instrument (GM program, -1 for drums) that replace the palette's, so that
    /// the picture matches another view of the same music (none: the palette, in track
    /// order, drums grey).
    pub colours: Vec<(i16, [u8; 3])>,
}

impl Default for PianorollOptions {
    fn default() -> Self {
        PianorollOptions {
            width: None,
            height: 800,
            title: String::new(),
            colours: Vec::new(),
        }
    }
}

const DEFAULT_WIDTH: u32 = 1600;
const MAX_AUTO_WIDTH: u32 = 4800;
const PX_PER_BAR: f64 = 14.0;
/// Room for octave and drum labels on the left, and bar numbers at the bottom.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const BOTTOM: f64 = 30.0;
/// More grid lines than this would be thinner than pixels anyway.
const MAX_GRID_LINES: usize = 200_000;

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const TEXT: Rgb = [40, 40, 40];
const FAINT_TEXT: Rgb = [110, 110, 110];
const BLACK_KEY_ROW: Rgb = [243, 243, 246];
const OCTAVE_LINE: Rgb = [200, 200, 208];
const BEAT_LINE: Rgb = [232, 232, 236];
const BAR_LINE: Rgb = [178, 178, 186];
const FRAME: Rgb = [120, 120, 128];
const DRUM_LANE: Rgb = [248, 246, 240];
const DRUMS: Rgb = [70, 70, 70];
/// Track colours (matplotlib's "tab10" without its grey, which drums use, and two more).
const PALETTE: [Rgb; 11] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [188, 189, 34],
    [23, 190, 207],
    [0, 90, 90],
    [120, 100, 0],
];

/// Rows of the drum lane, top to bottom: cymbals above, kick at the bottom, as drums are
/// written on a staff.
const DRUM_ROWS: [&str; 6] = ["Perc", "Cymbal", "Hi-hat", "Tom", "Snare", "Kick"];

/// The row of `DRUM_ROWS` for General MIDI drum key `key`.
fn drum_row(key: u8) -> usize {
    match key {
        35 | 36 => 5,
        37..=40 => 4,
        41 | 43 | 45 | 47 | 48 | 50 => 3,
        42 | 44 | 46 => 2,
        49 | 51 | 52 | 53 | 55 | 57 | 59 => 1,
        _ => 0,
    }
}

/// Draws the piano roll of `score` to `path` (PNG, written atomically); returns its width and
/// height in pixels.
pub fn pianoroll_png(
    score: &Score,
    options: &PianorollOptions,
    path: &Path,
) -> Result<(u32, u32), RenderError> {
    let (width, height) = picture_size(score, options)?;
    let png = draw(score, options, width, height)
        .into_png()
        .map_err(|message| RenderError::Encode {
            path: path.to_owned(),
            message,
        })?;
    write_atomic(path, &png).map_err(|source| RenderError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok((width, height))
}

fn picture_size(score: &Score, options: &PianorollOptions) -> Result<(u32, u32), RenderError> {
    let width = options.width.unwrap_or_else(|| {
        let bars = grid_lines(score, score.end(), MAX_GRID_LINES)
            .iter()
            .filter(|l| l.bar.is_some())
            .count();
        let wanted = LEFT + RIGHT + bars as f64 * PX_PER_BAR;
        (wanted as u32).clamp(DEFAULT_WIDTH, MAX_AUTO_WIDTH)
    });
    for (name, value) in [("width", width), ("height", options.height)] {
        if !(300..=16_384).contains(&value) {
            return Err(RenderError::Options(format!(
                "piano roll {name} {value} is outside 300..=16384"
            )));
        }
    }
    Ok((width, options.height))
}

/// The tracks that have notes, each with its colour (`colours`' for its instrument, where
/// given).
fn coloured_tracks<'a>(score: &'a Score, colours: &[(i16, Rgb)]) -> Vec<(&'a Track, Rgb)> {
    let mut melodic = 0;
    let mut tracks: Vec<(&Track, Rgb)> = Vec::new();
    for track in score.tracks.iter().filter(|t| !t.notes.is_empty()) {
        let given = colours.iter().find(|(p, _)| *p == track.program_or_drums());
        let color = if let Some(&(_, colour)) = given {
            colour
        } else if track.is_drum {
            DRUMS
        } else {
            melodic += 1;
            PALETTE[(melodic - 1) % PALETTE.len()]
        };
        tracks.push((track, color));
    }
    tracks
}

/// Pixel geometry of the plot.
struct Frame {
    x0: f64,
    x1: f64,
    /// Pitch area, top to bottom.
    top: f64,
    pitch_bottom: f64,
    /// Drum lane (empty when there are no drums), ending at the plot's bottom.
    lane_top: f64,
    bottom: f64,
    /// Pitch range shown, inclusive.
    lo: u8,
    hi: u8,
    end_tick: f64,
}

impl Frame {
    fn x(&self, tick: u32) -> f64 {
        self.x0 + (self.x1 - self.x0) * tick as f64 / self.end_tick
    }

    fn row_height(&self) -> f64 {
        (self.pitch_bottom - self.top) / (self.hi - self.lo + 1) as f64
    }

    /// Top and bottom of the row of `pitch`.
    fn pitch_row(&self, pitch: u8) -> (f64, f64) {
        let h = self.row_height();
        let bottom = self.pitch_bottom - (pitch - self.lo) as f64 * h;
        (bottom - h, bottom)
    }

    fn drum_row(&self, row: usize) -> (f64, f64) {
        let h = (self.bottom - self.lane_top) / DRUM_ROWS.len() as f64;
        let top = self.lane_top + row as f64 * h;
        (top, top + h)
    }
}

fn draw(score: &Score, options: &PianorollOptions, width: u32, height: u32) -> Canvas {
    let mut canvas = Canvas::new(width, height, WHITE);
    let tracks = coloured_tracks(score, &options.colours);
    let mut y = header(&mut canvas, score, &options.title);
    y = legend(&mut canvas, &tracks, y, width as f64 - RIGHT) + 8.0;

    // The pitches played, a little margin, and at least two octaves so a narrow melody
    // does not turn into fat bars.
    let pitches = score.tracks.iter().filter(|t| !t.is_drum);
    let used = pitches.flat_map(|t| t.notes.iter().map(|n| n.pitch));
    let (lo, hi) = used.fold((127u8, 0u8), |(lo, hi), p| (lo.min(p), hi.max(p)));
    let (lo, hi) = if lo > hi { (48, 72) } else { (lo, hi) };
    let (mut lo, mut hi) = (lo.saturating_sub(2), hi.saturating_add(2).min(127));
    while hi - lo < 24 {
        (lo, hi) = (lo.saturating_sub(1), (hi + 1).min(127));
    }

    let bottom = height as f64 - BOTTOM;
    let has_drums = tracks.iter().any(|(t, _)| t.is_drum);
    let lane = if has_drums {
        ((bottom - y) * 0.16).clamp(66.0, 150.0)
    } else {
        0.0
    };
    let frame = Frame {
        x0: LEFT,
        x1: width as f64 - RIGHT,
        top: y,
        pitch_bottom: if has_drums {
            bottom - lane - 8.0
        } else {
            bottom
        },
        lane_top: bottom - lane,
        bottom,
        lo,
        hi,
        end_tick: score.end().max(1) as f64,
    };
    backgrounds(&mut canvas, &frame, has_drums);
    grid(&mut canvas, score, &frame);
    notes(&mut canvas, &tracks, &frame);
    outline(&mut canvas, &frame, has_drums);
    if score.note_count() == 0 {
        let middle = (
            (frame.x0 + frame.x1) / 2.0,
            (frame.top + frame.bottom) / 2.0,
        );
        canvas.text("no notes", middle, 20.0, FAINT_TEXT, Anchor::Top);
    }
    canvas
}

/// Title and a one-line summary; returns the y below them.
fn header(canvas: &mut Canvas, score: &Score, title: &str) -> f64 {
    let title = if title.is_empty() {
        "piano roll"
    } else {
        title
    };
    canvas.text(title, (LEFT, 24.0), 22.0, TEXT, Anchor::Left);
    let summary = summary(score);
    let x = LEFT + Canvas::text_width(title, 22.0) + 24.0;
    canvas.text(&summary, (x, 25.0), 15.0, FAINT_TEXT, Anchor::Left);
    44.0
}

/// "2:05  ·  4/4  ·  96-120 BPM  ·  1 track  ·  312 notes".
fn summary(score: &Score) -> String {
    let seconds = score.seconds_at(score.end()).round() as u64;
    let mut summary = format!("{}:{:02}", seconds / 60, seconds % 60);
    if let Some(ts) = score.time_signatures.iter().min_by_key(|t| t.time) {
        summary += &format!("  ·  {}/{}", ts.numerator, ts.denominator);
    }
    let qpm = score.tempos.iter().map(|t| t.qpm().round() as u32);
    let (slow, fast) = qpm.fold((u32::MAX, 0), |(a, b), q| (a.min(q), b.max(q)));
    match (slow, fast) {
        (u32::MAX, _) => summary += "  ·  120 BPM",
        (a, b) if a == b => summary += &format!("  ·  {a} BPM"),
        (a, b) => summary += &format!("  ·  {a}-{b} BPM"),
    }
    let tracks = score.tracks.iter().filter(|t| !t.notes.is_empty()).count();
    let notes = score.note_count();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    summary += &format!(
        "  ·  {tracks} track{}  ·  {notes} note{}",
        plural(tracks),
        plural(notes)
    );
    summary
}

/// One swatch and name per track, wrapped into rows; returns the y below them.
fn legend(canvas: &mut Canvas, tracks: &[(&Track, Rgb)], top: f64, right: f64) -> f64 {
    const ROW: f64 = 22.0;
    let (mut x, mut y) = (LEFT, top);
    for (track, color) in tracks {
        let instrument = program_name(track.program, track.is_drum);
        let name = track.name.trim();
        let label = if name.is_empty() || name.eq_ignore_ascii_case(instrument) {
            instrument.to_owned()
        } else {
            format!("{name}: {instrument}")
        };
        let width = 20.0 + Canvas::text_width(&label, 14.0) + 24.0;
        if x > LEFT && x + width > right {
            (x, y) = (LEFT, y + ROW);
        }
        canvas.framed(
            (x, y + 4.0, x + 14.0, y + 18.0),
            *color,
            mix(*color, BLACK, 0.4),
        );
        canvas.text(&label, (x + 20.0, y + 11.0), 14.0, TEXT, Anchor::Left);
        x += width;
    }
    if tracks.is_empty() {
        y
    } else {
        y + ROW
    }
}

/// Shaded rows for black keys, octave lines at each C with its name, the drum lane's rows.
fn backgrounds(canvas: &mut Canvas, frame: &Frame, has_drums: bool) {
    for pitch in frame.lo..=frame.hi {
        let (top, bottom) = frame.pitch_row(pitch);
        if matches!(pitch % 12, 1 | 3 | 6 | 8 | 10) {
            canvas.fill(frame.x0, top, frame.x1, bottom, BLACK_KEY_ROW);
        }
        if pitch % 12 == 0 {
            canvas.fill(frame.x0, bottom - 1.0, frame.x1, bottom, OCTAVE_LINE);
            let octave = pitch as i32 / 12 - 1;
            let y = (top + bottom) / 2.0;
            canvas.text(
                &format!("C{octave}"),
                (LEFT - 8.0, y),
                13.0,
                TEXT,
                Anchor::Right,
            );
        }
    }
    if has_drums {
        for (row, name) in DRUM_ROWS.iter().enumerate() {
            let (top, bottom) = frame.drum_row(row);
            let shade = if row % 2 == 0 { DRUM_LANE } else { WHITE };
            canvas.fill(frame.x0, top, frame.x1, bottom, shade);
            let y = (top + bottom) / 2.0;
            canvas.text(name, (LEFT - 8.0, y), 11.0, FAINT_TEXT, Anchor::Right);
        }
    }
}

/// Beat lines (when beats are at least 4 pixels apart), bar lines and bar numbers (thinned to
/// every 2nd, 4th, ... bar so neither lines nor numbers crowd).
fn grid(canvas: &mut Canvas, score: &Score, frame: &Frame) {
    let lines = grid_lines(score, score.end(), MAX_GRID_LINES);
    let bars = lines.iter().filter(|l| l.bar.is_some()).count().max(1);
    let px_per_bar = (frame.x1 - frame.x0) / bars as f64;
    let px_per_quarter = frame.x(score.ticks_per_quarter as u32) - frame.x0;
    let every = |min_px: f64| {
        let mut step = 1;
        while (step as f64) * px_per_bar < min_px {
            step *= 2;
        }
        step
    };
    let (line_step, label_step) = (every(3.0), every(32.0));
    let spans = [
        (frame.top, frame.pitch_bottom),
        (frame.lane_top, frame.bottom),
    ];
    for &GridLine { tick, bar } in &lines {
        let x = frame.x(tick).round();
        let color = match bar {
            None if px_per_quarter >= 4.0 => BEAT_LINE,
            Some(n) if (n - 1) % line_step == 0 => BAR_LINE,
            _ => continue,
        };
        for (top, bottom) in spans {
            canvas.fill(x, top, x + 1.0, bottom, color);
        }
        if let Some(n) = bar.filter(|n| (n - 1) % label_step == 0) {
            canvas.text(
                &n.to_string(),
                (x, frame.bottom + 5.0),
                12.0,
                TEXT,
                Anchor::Top,
            );
        }
    }
    canvas.text(
        "bar",
        (LEFT - 8.0, frame.bottom + 12.0),
        12.0,
        FAINT_TEXT,
        Anchor::Right,
    );
}

/// Every note as a bar in its track's colour, paler the softer it is. The busiest tracks are
/// drawn first, so sparse lines (a melody) stay on top of dense accompaniment.
fn notes(canvas: &mut Canvas, tracks: &[(&Track, Rgb)], frame: &Frame) {
    let mut order: Vec<_> = tracks.iter().collect();
    order.sort_by_key(|(t, _)| std::cmp::Reverse(t.notes.len()));
    // A one-pixel gap between rows once rows are tall enough to spare it.
    let gap = if frame.row_height() >= 6.0 { 1.0 } else { 0.0 };
    for (track, color) in order {
        for note in &track.notes {
            let shade = mix(WHITE, *color, 0.3 + 0.7 * note.velocity as f32 / 127.0);
            let line = mix(shade, BLACK, 0.35);
            let x0 = frame.x(note.time);
            if track.is_drum {
                // Hits: short marks whatever their written length.
                let (top, bottom) = frame.drum_row(drum_row(note.pitch));
                canvas.framed((x0, top + 1.0, x0 + 3.0, bottom - 1.0), shade, line);
            } else if (frame.lo..=frame.hi).contains(&note.pitch) {
                let (top, bottom) = frame.pitch_row(note.pitch);
                let x1 = frame.x(note.end()).max(x0 + 2.0);
                canvas.framed((x0, top + gap, x1, bottom), shade, line);
            }
        }
    }
}

/// A thin frame around the pitch area and the drum lane.
fn outline(canvas: &mut Canvas, frame: &Frame, has_drums: bool) {
    let mut boxes = vec![(frame.top, frame.pitch_bottom)];
    if has_drums {
        boxes.push((frame.lane_top, frame.bottom));
    }
    for (top, bottom) in boxes {
        canvas.fill(frame.x0, top, frame.x1, top + 1.0, FRAME);
        canvas.fill(frame.x0, bottom - 1.0, frame.x1, bottom, FRAME);
        canvas.fill(frame.x0, top, frame.x0 + 1.0, bottom, FRAME);
        canvas.fill(frame.x1 - 1.0, top, frame.x1, bottom, FRAME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_midi::Note;

    #[test]
    fn summary_counts_in_words() {
        let note = Note {
            time: 0,
            duration: 480,
            pitch: 60,
            velocity: 80,
        };
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: vec![note],
            ..Default::default()
        });
        let one = summary(&score);
        assert!(one.ends_with("1 track  ·  1 note"), "{one}");
        score.tracks[0].notes.push(note);
        score.tracks.push(score.tracks[0].clone());
        let more = summary(&score);
        assert!(more.ends_with("2 tracks  ·  4 notes"), "{more}");
    }
}
