//! MidiTok's `preprocess_score`: resample a score to the tokenizer's grid, filter and
//! quantize notes, tempos and time signatures, exactly as MidiTok 3.1.0 does before it
//! makes tokens.

use midigpt_midi::{Note, Score, TimeSignature};

use super::{MidiTokConfig, Tables};

/// A track after preprocessing.
#[derive(Debug, Clone, PartialEq)]
pub struct PTrack {
    /// Program, -1 for drums.
    pub program: i16,
    /// Track name (merged tracks join their names with " / ").
    pub name: String,
    /// Quantized notes, in MidiTok's order.
    pub notes: Vec<Note>,
}

/// A score on the tokenizer's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Ticks per quarter after resampling.
    pub tpq: u32,
    /// Time signatures (at bar lines, at least one at tick 0).
    pub time_signatures: Vec<TimeSignature>,
    /// Tempo changes as (tick, tempo bin index); empty unless tempos are used.
    pub tempos: Vec<(u32, usize)>,
    /// Tracks that still have notes.
    pub tracks: Vec<PTrack>,
    /// Ticks-per-beat sections: (end tick, exclusive; ticks per beat).
    pub tpb_sections: Vec<(u64, u32)>,
}

impl Prepared {
    /// Ticks per beat at tick `time`.
    pub fn ticks_per_beat_at(&self, time: u32) -> u32 {
        section_value(&self.tpb_sections, time)
    }
}

fn section_value(sections: &[(u64, u32)], time: u32) -> u32 {
    let k = sections.partition_point(|(end, _)| *end <= time as u64);
    sections[k.min(sections.len() - 1)].1
}

/// Index of the value of `sorted` closest to `v`; ties go to the larger value
/// (NumPy `searchsorted` + comparison, as MidiTok's `np_get_closest`).
pub fn closest<T: Copy + Into<f64>>(sorted: &[T], v: f64) -> usize {
    let idx = sorted.partition_point(|a| (*a).into() < v);
    if idx == sorted.len() {
        return idx - 1;
    }
    if idx > 0 && (v - sorted[idx - 1].into()).abs() < (v - sorted[idx].into()).abs() {
        return idx - 1;
    }
    idx
}

/// Ticks in a beat for a time signature denominator (MidiTok's `compute_ticks_per_beat`).
pub fn ticks_per_beat(denominator: u32, tpq: u32) -> u32 {
    if denominator == 4 {
        tpq
    } else {
        (tpq as f64 * (4.0 / denominator as f64)) as u32
    }
}

/// Ticks in a bar of a time signature.
pub fn ticks_per_bar(ts: &TimeSignature, tpq: u32) -> u32 {
    ticks_per_beat(ts.denominator as u32, tpq) * ts.numerator as u32
}

/// Runs MidiTok's preprocessing. `note_on_off` selects MIDI-like handling of note ends
/// (both ends snapped to the grid) instead of duration bins.
pub fn preprocess(score: &Score, cfg: &MidiTokConfig, t: &Tables, note_on_off: bool) -> Prepared {
    let (time_sigs, tpq) = initial_time_signatures(score, cfg, t);
    let scale = tpq as f64 / score.ticks_per_quarter.max(1) as f64;
    let resample = score.ticks_per_quarter as u32 != tpq;
    let rs = |x: u32| {
        if resample {
            (x as f64 * scale).round() as u32
        } else {
            x
        }
    };
    let mut time_sigs: Vec<TimeSignature> = time_sigs
        .into_iter()
        .map(|mut ts| {
            // MidiTok truncates time signature times (astype(int32)), unlike other events.
            ts.time = if resample {
                (ts.time as f64 * scale) as u32
            } else {
                ts.time
            };
            ts
        })
        .collect();
    if cfg.use_time_signatures {
        quantize_time_signatures(
            &mut time_sigs,
            tpq,
            cfg.delete_equal_successive_time_sig_changes,
        );
    }
    let end = u64::MAX;
    let tpb_sections = if cfg.use_time_signatures {
        sections(&time_sigs, end, |d| ticks_per_beat(d, tpq))
    } else {
        vec![(end, t.time_division)]
    };
    let denominators: std::collections::BTreeSet<u8> =
        time_sigs.iter().map(|ts| ts.denominator).collect();
    let grid = (cfg.use_time_signatures && denominators.len() > 1).then(|| {
        let step = |d: u32| (tpq as f64 / (t.max_pos as f64 * (d as f64 / 4.0))).floor() as u32;
        sections(&time_sigs, end, step)
    });

    let mut tracks: Vec<PTrack> = score
        .tracks
        .iter()
        .map(|tr| PTrack {
            program: tr.program_or_drums(),
            name: tr.name.clone(),
            notes: tr
                .notes
                .iter()
                .map(|n| Note {
                    time: rs(n.time),
                    duration: if resample {
                        rs(n.duration).max(1)
                    } else {
                        n.duration
                    },
                    ..*n
                })
                .collect(),
        })
        .collect();
    if cfg.use_programs && cfg.one_token_stream_for_programs {
        merge_same_program_tracks(&mut tracks);
    }
    let mut prepared = Prepared {
        tpq,
        time_signatures: time_sigs,
        tempos: Vec::new(),
        tracks: Vec::new(),
        tpb_sections,
    };
    for mut track in tracks {
        if track.notes.is_empty() || (cfg.use_programs && !cfg.programs.contains(&track.program)) {
            continue;
        }
        preprocess_notes(&mut track, cfg, t, grid.as_deref(), &prepared, note_on_off);
        if !track.notes.is_empty() {
            prepared.tracks.push(track);
        }
    }
    if cfg.use_tempos {
        let tempos: Vec<(u32, u32)> = score.tempos.iter().map(|x| (rs(x.time), x.mspq)).collect();
        prepared.tempos = quantize_tempos(&tempos, cfg, t, grid.as_deref());
    }
    prepared
}

/// Supported time signatures (plus 4/4 at tick 0 when needed) and the new resolution.
fn initial_time_signatures(
    score: &Score,
    cfg: &MidiTokConfig,
    t: &Tables,
) -> (Vec<TimeSignature>, u32) {
    let four_four = TimeSignature {
        time: 0,
        numerator: 4,
        denominator: 4,
    };
    if !cfg.use_time_signatures {
        return (vec![four_four], t.max_pos);
    }
    let mut ts: Vec<TimeSignature> = score
        .time_signatures
        .iter()
        .filter(|x| {
            t.time_signatures
                .contains(&(x.numerator as u32, x.denominator as u32))
        })
        .copied()
        .collect();
    if ts.first().is_none_or(|x| x.time != 0) {
        ts.insert(0, four_four);
    }
    let max_denom = ts.iter().map(|x| x.denominator as u32).max().unwrap_or(4);
    (ts, t.max_pos * max_denom / 4)
}

/// Sections of constant value between time signature changes: (end tick, value), equal
/// neighbours merged, the last one open-ended.
fn sections(ts: &[TimeSignature], end: u64, value: impl Fn(u32) -> u32) -> Vec<(u64, u32)> {
    let mut out: Vec<(u64, u32)> = ts
        .windows(2)
        .map(|w| (w[1].time as u64, value(w[0].denominator as u32)))
        .collect();
    if let Some(last) = ts.last() {
        out.push((end, value(last.denominator as u32)));
    }
    let mut i = out.len().saturating_sub(1);
    while i > 0 {
        if out[i].1 == out[i - 1].1 {
            out[i - 1].0 = out[i].0;
            out.remove(i);
        }
        i -= 1;
    }
    out
}

/// MidiTok's `_preprocess_time_signatures`: drop repeats, move changes to the next bar line,
/// keep the last of changes landing on one tick.
fn quantize_time_signatures(ts: &mut Vec<TimeSignature>, tpq: u32, delete_equal: bool) {
    let same = |a: &TimeSignature, b: &TimeSignature| {
        (a.numerator, a.denominator) == (b.numerator, b.denominator)
    };
    if let Some(first) = ts.first() {
        let mut bar = ticks_per_bar(first, tpq).max(1);
        let mut previous = 0u32;
        let mut i = 0;
        while i < ts.len() {
            if i >= 1 && same(&ts[i], &ts[i - 1]) {
                ts.remove(i);
                continue;
            }
            if i >= 1 && ts[i].time < ts[i - 1].time {
                ts[i].time = ts[i - 1].time;
            }
            let offset = ts[i].time - previous;
            if !offset.is_multiple_of(bar) {
                ts[i].time = previous.saturating_add((offset / bar + 1).saturating_mul(bar));
            }
            bar = ticks_per_bar(&ts[i], tpq).max(1);
            previous = ts[i].time;
            if i >= 1 && ts[i].time == ts[i - 1].time {
                ts.remove(i - 1);
                if i >= 2 && same(&ts[i - 1], &ts[i - 2]) {
                    ts.remove(i - 1);
                    bar = ticks_per_bar(&ts[i - 2], tpq).max(1);
                    previous = ts[i - 2].time;
                    i -= 1;
                }
                continue;
            }
            i += 1;
        }
    }
    let four_four = TimeSignature {
        time: 0,
        numerator: 4,
        denominator: 4,
    };
    match ts.first_mut() {
        Some(first) if delete_equal && same(first, &four_four) => first.time = 0,
        Some(first) if first.time != 0 => ts.insert(0, four_four),
        Some(_) => {}
        None => ts.push(four_four),
    }
}

/// Snaps sorted times to each section's grid (MidiTok's `_adjust_time_to_tpb`), rounding
/// half to even like NumPy.
fn snap(time: u32, grid: &[(u64, u32)]) -> u32 {
    let k = grid
        .partition_point(|(end, _)| *end <= time as u64)
        .min(grid.len() - 1);
    let step = grid[k].1;
    if step <= 1 {
        return time;
    }
    let start = if k == 0 { 0.0 } else { grid[k - 1].0 as f64 };
    (((time as f64 - start) / step as f64).round_ties_even() * step as f64 + start) as u32
}

fn merge_same_program_tracks(tracks: &mut Vec<PTrack>) {
    let mut i = 0;
    while i < tracks.len() {
        let program = tracks[i].program;
        let mut j = i + 1;
        let mut merged = false;
        while j < tracks.len() {
            if tracks[j].program == program {
                let other = tracks.remove(j);
                tracks[i].name = format!("{} / {}", tracks[i].name, other.name);
                tracks[i].notes.extend(other.notes);
                merged = true;
            } else {
                j += 1;
            }
        }
        if merged {
            tracks[i]
                .notes
                .sort_by_key(|n| (n.time, n.duration, n.pitch, n.velocity));
        }
        i += 1;
    }
}

fn preprocess_notes(
    track: &mut PTrack,
    cfg: &MidiTokConfig,
    t: &Tables,
    grid: Option<&[(u64, u32)]>,
    prepared: &Prepared,
    note_on_off: bool,
) {
    let (lo, hi) = if track.program == -1 && cfg.use_pitchdrum_tokens {
        cfg.drums_pitch_range
    } else {
        cfg.pitch_range
    };
    track.notes.retain(|n| (lo..=hi).contains(&n.pitch));
    let uses_duration = cfg.uses_duration(track.program);
    let mut dur_cache: Vec<(u32, Vec<u32>)> = Vec::new();
    let velocity_bins = t.velocity_bins();
    for note in &mut track.notes {
        if cfg.use_velocities {
            note.velocity = velocity_bins[note.velocity as usize & 127];
        }
        if let Some(grid) = grid {
            if note_on_off && uses_duration {
                let start = snap(note.time, grid);
                let end = snap(note.end(), grid);
                note.duration = if end > start {
                    end - start
                } else {
                    let k = grid
                        .partition_point(|(e, _)| *e <= start as u64)
                        .min(grid.len() - 1);
                    grid[k].1
                };
                note.time = start;
            } else {
                note.time = snap(note.time, grid);
            }
        }
        if !note_on_off && uses_duration {
            let tpb = prepared.ticks_per_beat_at(note.time);
            let bins = match dur_cache.iter().position(|(k, _)| *k == tpb) {
                Some(i) => &dur_cache[i].1,
                None => {
                    dur_cache.push((tpb, t.duration_ticks(tpb)));
                    &dur_cache.last().expect("just pushed").1
                }
            };
            note.duration = bins[closest(bins, note.duration as f64)];
        }
    }
}

/// MidiTok's `_preprocess_tempos`: nearest bin (in µs per quarter), snapped times, the last
/// of simultaneous changes, a tempo at tick 0.
fn quantize_tempos(
    tempos: &[(u32, u32)],
    cfg: &MidiTokConfig,
    t: &Tables,
    grid: Option<&[(u64, u32)]>,
) -> Vec<(u32, usize)> {
    let default = default_tempo_index(t);
    if tempos.is_empty() {
        return vec![(0, default)];
    }
    let bins = t.tempos_mspq();
    let values: Vec<f64> = bins.iter().map(|b| b.0).collect();
    let mut out: Vec<(u32, usize)> = Vec::with_capacity(tempos.len());
    for &(time, mspq) in tempos {
        let time = grid.map_or(time, |g| snap(time, g));
        let bin = bins[closest(&values, mspq as f64)].1;
        match out.last_mut() {
            Some(last) if last.0 == time => *last = (time, bin),
            _ => out.push((time, bin)),
        }
    }
    if cfg.delete_equal_successive_tempo_changes {
        out.dedup_by_key(|x| x.1);
    }
    if cfg.delete_equal_successive_tempo_changes && out[0].1 == default {
        out[0].0 = 0;
    } else if out[0].0 != 0 {
        out.insert(0, (0, default));
    }
    out
}

/// The tempo bin closest to 120 qpm (MidiTok's default tempo).
pub fn default_tempo_index(t: &Tables) -> usize {
    let mut best = 0;
    for (i, q) in t.tempos.iter().enumerate() {
        if (q - 120.0).abs() < (t.tempos[best] - 120.0).abs() {
            best = i;
        }
    }
    best
}
