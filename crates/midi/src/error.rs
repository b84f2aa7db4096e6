//! Errors from reading and writing MIDI files.

use std::path::PathBuf;

/// What went wrong with a MIDI file. Messages name the problem so a user can act on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MidiError {
    /// The bytes are not a Standard MIDI File (bad header, truncated chunk, bad event).
    #[error("malformed MIDI data: {0}")]
    Malformed(String),
    /// A RIFF (`.rmi`) container that holds no `data` chunk with a MIDI file in it.
    #[error("RIFF file without a MIDI 'data' chunk")]
    BadRiff,
    /// The file uses SMPTE time codes instead of ticks per quarter note.
    #[error("SMPTE time division is not supported (only ticks per quarter note)")]
    Smpte,
    /// Ticks per quarter of zero make every time computation meaningless.
    #[error("ticks per quarter note is 0")]
    ZeroResolution,
    /// Event times overflow 32 bits: the file is absurdly long or corrupted.
    #[error("event time overflows 32 bits at track {track}")]
    TimeOverflow {
        /// Index of the MIDI track where it happened.
        track: usize,
    },
    /// The score cannot be written as MIDI (a value out of MIDI's range).
    #[error("cannot write MIDI: {0}")]
    Unwritable(String),
    /// The file is larger than any MIDI file should be ([`crate::MAX_FILE_BYTES`]).
    #[error(
        "{}: {bytes} bytes is larger than the {} MiB a MIDI file may be: is it a MIDI file?",
        path.display(), max >> 20
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (or the bytes read before giving up).
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}
