//! MidiTok's token-type graphs (`_create_token_types_graph`) of REMI and MIDI-like, for the
//! settings midigpt supports.

use std::collections::BTreeMap;

use super::MidiTokConfig;
use crate::{Grammar, Vocab};

type Graph = BTreeMap<&'static str, Vec<&'static str>>;

fn add(graph: &mut Graph, from: &'static str, to: &[&'static str]) {
    let set = graph.entry(from).or_default();
    for t in to {
        if !set.contains(t) {
            set.push(t);
        }
    }
}

/// Drum tokens follow and precede what their melodic twin does (`DrumOn` as `NoteOn`, ...).
fn alias(graph: &mut Graph, twin: &'static str, of: &'static str) {
    if let Some(after) = graph.get(of).cloned() {
        graph.insert(twin, after);
    }
    for after in graph.values_mut() {
        if after.contains(&of) && !after.contains(&twin) {
            after.push(twin);
        }
    }
}

fn grammar(vocab: &Vocab, graph: Graph, first: &[&str]) -> Grammar {
    let rules: Vec<(&str, Vec<&str>)> = graph.into_iter().collect();
    Grammar::new(vocab, &rules, first)
}

/// REMI / REMI+.
pub fn remi(c: &MidiTokConfig, vocab: &Vocab) -> Grammar {
    let mut g = Graph::new();
    let first = if c.use_programs { "Program" } else { "Pitch" };
    let durations = !c.use_note_duration_programs.is_empty();
    if c.use_programs {
        add(&mut g, "Program", &["Pitch"]);
    }
    let after_note: &[&str] = &[first, "Position", "Bar"];
    match (c.use_velocities, durations) {
        (true, true) => {
            add(&mut g, "Pitch", &["Velocity"]);
            add(&mut g, "Velocity", &["Duration"]);
            add(&mut g, "Duration", after_note);
        }
        (true, false) => {
            add(&mut g, "Pitch", &["Velocity"]);
            add(&mut g, "Velocity", after_note);
        }
        (false, true) => {
            add(&mut g, "Pitch", &["Duration"]);
            add(&mut g, "Duration", after_note);
        }
        (false, false) => add(&mut g, "Pitch", after_note),
    }
    add(&mut g, "Bar", &["Position", "Bar"]);
    add(&mut g, "Position", &[first]);
    if c.use_tempos {
        add(&mut g, "Position", &["Tempo"]);
        add(&mut g, "Tempo", &[first, "Position", "Bar"]);
    }
    if c.use_time_signatures {
        g.insert("Bar", vec!["TimeSig"]);
        add(&mut g, "TimeSig", &[first, "Position", "Bar"]);
        if c.use_tempos {
            add(&mut g, "Tempo", &["TimeSig"]);
        }
    }
    if c.use_pitchdrum_tokens {
        alias(&mut g, "PitchDrum", "Pitch");
    }
    grammar(vocab, g, &["Bar"])
}

/// MIDI-like.
pub fn midi_like(c: &MidiTokConfig, vocab: &Vocab) -> Grammar {
    let mut g = Graph::new();
    let first = if c.use_programs { "Program" } else { "NoteOn" };
    let durations = !c.use_note_duration_programs.is_empty();
    if c.use_programs {
        add(&mut g, "Program", &["NoteOn"]);
        if durations {
            add(&mut g, "Program", &["NoteOff"]);
        }
    }
    if c.use_velocities {
        add(&mut g, "NoteOn", &["Velocity"]);
        add(&mut g, "Velocity", &[first, "TimeShift"]);
    } else {
        add(&mut g, "NoteOn", &[first, "TimeShift"]);
    }
    add(&mut g, "TimeShift", &[first, "TimeShift"]);
    // Without programs a note-off stands alone; with them it follows its Program token.
    let off_alone = durations && !c.use_programs;
    if durations {
        add(&mut g, "NoteOff", &["NoteOff", first, "TimeShift"]);
        add(&mut g, "TimeShift", &["NoteOff"]);
    }
    if c.use_tempos {
        add(&mut g, "TimeShift", &["Tempo"]);
        add(&mut g, "Tempo", &[first, "TimeShift"]);
        if off_alone {
            add(&mut g, "Tempo", &["NoteOff"]);
        }
    }
    if c.use_time_signatures {
        add(&mut g, "TimeShift", &["TimeSig"]);
        add(&mut g, "TimeSig", &[first, "TimeShift"]);
        if off_alone {
            add(&mut g, "TimeSig", &["NoteOff"]);
        }
        if c.use_tempos {
            add(&mut g, "TimeSig", &["Tempo"]);
        }
    }
    if c.use_pitchdrum_tokens {
        alias(&mut g, "DrumOn", "NoteOn");
        if durations {
            alias(&mut g, "DrumOff", "NoteOff");
        }
    }
    let starts: Vec<&str> = g.keys().copied().collect();
    grammar(vocab, g, &starts)
}
