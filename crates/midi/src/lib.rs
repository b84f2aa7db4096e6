//! MIDI in and out for midigpt.
//!
//! A [`Score`] holds what a music model needs from a MIDI file: tracks (program, drum flag,
//! notes), tempo changes and time signatures, all timed in ticks at the file's resolution.
//! Loading follows the rules of symusic (the loader behind MidiTok), so that tokenizers built
//! on it see exactly the notes MidiTok sees:
//!
//! - one track per (MIDI track, channel, program); tracks with no notes are dropped;
//! - a note-on with velocity 0 is a note-off; overlapping notes of one pitch and channel are
//!   paired first-in, first-out; note-ons that are never closed are dropped;
//! - notes keep file order (which is time order within a MIDI track);
//! - tempos and time signatures from every track are merged and sorted by time with the
//!   unstable sort symusic uses (pdqsort), so changes on one tick keep its order.
//!
//! ```no_run
//! let score = midigpt_midi::Score::from_file("song.mid")?;
//! println!("{} tracks, {} notes", score.tracks.len(), score.note_count());
//! score.write_file("copy.mid")?;
//! # Ok::<(), midigpt_midi::MidiError>(())
//! ```

mod error;
mod gm;
mod pdqsort;
mod read;
mod score;
mod time;
mod write;

pub use error::MidiError;
pub use gm::program_name;
pub use read::{read_file_bytes, MAX_FILE_BYTES};
pub use score::{Note, Score, Tempo, TimeSignature, Track};
pub use time::TempoMap;
