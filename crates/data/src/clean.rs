//! Score transforms applied before tokenizing: dropping drums, merging tracks, setting the
//! metre and the programs, transposing.

use midigpt_midi::{Score, TimeSignature, Track};

use crate::MetaOptions;

/// Removes drum tracks.
pub fn drop_drums(score: &mut Score) {
    score.tracks.retain(|t| !t.is_drum);
}

/// Puts every non-drum note on one track (the first non-drum track's program and name),
/// sorted by (time, pitch); drum tracks are kept as they are, after it.
pub fn merge_tracks(score: &mut Score) {
    let (drums, melodic): (Vec<Track>, Vec<Track>) = std::mem::take(&mut score.tracks)
        .into_iter()
        .partition(|t| t.is_drum);
    let mut merged = match melodic.first() {
        Some(first) => Track {
            name: first.name.clone(),
            program: first.program,
            is_drum: false,
            notes: Vec::new(),
        },
        None => {
            score.tracks = drums;
            return;
        }
    };
    merged.notes = melodic.into_iter().flat_map(|t| t.notes).collect();
    // Stable: notes at the same (time, pitch) keep track order.
    merged.notes.sort_by_key(|n| (n.time, n.pitch));
    score.tracks = std::iter::once(merged).chain(drums).collect();
}

/// Replaces every time signature with one `numerator/denominator` from the start. Some
/// corpora write a placeholder metre (most POP909 files say 1/4 throughout a 4/4 song), which
/// would make every beat a bar for the tokenizer.
pub fn set_time_signature(score: &mut Score, numerator: u8, denominator: u8) {
    score.time_signatures = vec![TimeSignature {
        time: 0,
        numerator,
        denominator,
    }];
}

/// Gives each non-drum track named like a key of `programs` (case and surrounding spaces
/// ignored) that program. Corpora that keep their parts apart by track name only (POP909's
/// MELODY, BRIDGE and PIANO are all program 0) would otherwise be one part for REMI+, whose
/// tracks are programs.
pub fn set_programs(score: &mut Score, programs: &[(String, u8)]) {
    for track in score.tracks.iter_mut().filter(|t| !t.is_drum) {
        let name = track.name.trim();
        if let Some((_, program)) = programs
            .iter()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        {
            track.program = *program;
        }
    }
}

/// Relabels a prompt as the training scores of `options` were, where nothing is lost by it:
/// tracks get the programs their names had in training, and a 1/4 metre (the placeholder some
/// corpora write, as POP909 does) becomes the metre training gave every file. Drums, merged
/// tracks and any other metre stay as the prompt has them: they are the user's music.
pub fn fit_prompt(score: &mut Score, options: &MetaOptions) {
    set_programs(score, &options.track_programs);
    if let Some((numerator, denominator)) = options.time_signature {
        for ts in
            (score.time_signatures.iter_mut()).filter(|t| (t.numerator, t.denominator) == (1, 4))
        {
            ts.numerator = numerator;
            ts.denominator = denominator;
        }
    }
}

/// Shifts every non-drum note by `semitones`; notes pushed outside 0..=127 are dropped, and
/// so are tracks left empty. Drums are never transposed: their pitches name instruments.
pub fn transpose(score: &mut Score, semitones: i8) {
    if semitones == 0 {
        return;
    }
    for track in score.tracks.iter_mut().filter(|t| !t.is_drum) {
        track.notes.retain_mut(|n| {
            let pitch = n.pitch as i16 + semitones as i16;
            n.pitch = pitch.clamp(0, 127) as u8;
            (0..=127).contains(&pitch)
        });
    }
    score.tracks.retain(|t| !t.notes.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_midi::Note;

    fn track(program: u8, is_drum: bool, notes: &[(u32, u8)]) -> Track {
        Track {
            name: format!("p{program}"),
            program,
            is_drum,
            notes: notes
                .iter()
                .map(|&(time, pitch)| Note {
                    time,
                    duration: 1,
                    pitch,
                    velocity: 64,
                })
                .collect(),
        }
    }

    fn score(tracks: Vec<Track>) -> Score {
        let mut s = Score::new(480);
        s.tracks = tracks;
        s
    }

    #[test]
    fn merge_keeps_drums_apart_and_sorts() {
        let mut s = score(vec![
            track(0, true, &[(0, 36)]),
            track(24, false, &[(10, 60), (0, 70)]),
            track(40, false, &[(0, 50), (10, 55)]),
        ]);
        merge_tracks(&mut s);
        assert_eq!(s.tracks.len(), 2);
        assert_eq!(s.tracks[0].program, 24);
        let notes: Vec<_> = s.tracks[0]
            .notes
            .iter()
            .map(|n| (n.time, n.pitch))
            .collect();
        assert_eq!(notes, vec![(0, 50), (0, 70), (10, 55), (10, 60)]);
        assert!(s.tracks[1].is_drum);
    }

    #[test]
    fn transpose_drops_out_of_range_and_spares_drums() {
        let mut s = score(vec![
            track(0, false, &[(0, 0), (1, 60), (2, 126)]),
            track(0, true, &[(0, 36)]),
            track(1, false, &[(0, 127)]),
        ]);
        transpose(&mut s, 2);
        assert_eq!(s.tracks.len(), 2);
        let pitches: Vec<_> = s.tracks[0].notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, vec![2, 62]);
        assert_eq!(s.tracks[1].notes[0].pitch, 36);
        transpose(&mut s, -3);
        let pitches: Vec<_> = s.tracks[0].notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, vec![59]);
    }

    #[test]
    fn set_programs_matches_names_and_spares_drums() {
        let mut s = score(vec![
            track(0, false, &[(0, 72)]),
            track(0, false, &[(0, 48)]),
            track(0, true, &[(0, 36)]),
        ]);
        s.tracks[0].name = " Melody ".into();
        s.tracks[1].name = "PIANO".into();
        s.tracks[2].name = "melody".into();
        set_programs(&mut s, &[("MELODY".into(), 73), ("bass".into(), 33)]);
        let programs: Vec<_> = s.tracks.iter().map(|t| t.program).collect();
        assert_eq!(programs, vec![73, 0, 0]);
    }

    #[test]
    fn set_time_signature_replaces_every_change() {
        let mut s = score(vec![track(0, false, &[(0, 60)])]);
        s.time_signatures = vec![
            TimeSignature {
                time: 0,
                numerator: 1,
                denominator: 4,
            },
            TimeSignature {
                time: 960,
                numerator: 2,
                denominator: 4,
            },
        ];
        set_time_signature(&mut s, 4, 4);
        assert_eq!(
            s.time_signatures,
            vec![TimeSignature {
                time: 0,
                numerator: 4,
                denominator: 4
            }]
        );
    }

    #[test]
    fn fit_prompt_relabels_programs_and_the_placeholder_metre_only() {
        let options = MetaOptions {
            val_fraction: 0.05,
            drop_drums: true,
            merge_tracks: true,
            time_signature: Some((4, 4)),
            track_programs: vec![("MELODY".into(), 73)],
            transpose: (0, 0),
            bpe: None,
        };
        let ts = |time, numerator| TimeSignature {
            time,
            numerator,
            denominator: 4,
        };
        let mut s = score(vec![
            track(0, false, &[(0, 72)]),
            track(0, false, &[(0, 48)]),
            track(0, true, &[(0, 36)]),
        ]);
        s.tracks[0].name = "Melody".into();
        s.time_signatures = vec![ts(0, 3), ts(960, 1)];
        fit_prompt(&mut s, &options);
        let programs: Vec<_> = s.tracks.iter().map(|t| t.program).collect();
        assert_eq!(programs, vec![73, 0, 0], "no merge, drums kept");
        assert_eq!(s.time_signatures, vec![ts(0, 3), ts(960, 4)]);
    }

    #[test]
    fn drop_drums_removes_only_drums() {
        let mut s = score(vec![
            track(0, true, &[(0, 36)]),
            track(5, false, &[(0, 60)]),
        ]);
        drop_drums(&mut s);
        assert_eq!(s.tracks.len(), 1);
        assert_eq!(s.tracks[0].program, 5);
    }
}
