//! Errors from measuring pieces and writing the report.

use std::path::PathBuf;

/// What went wrong. Messages name the file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A MIDI file could not be read.
    #[error("{}: {source}", path.display())]
    Midi {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: midigpt_midi::MidiError,
    },
    /// A path given to measure is neither a MIDI file nor a folder of them.
    #[error("{}: {message}", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An option is out of range.
    #[error("invalid metrics option: {0}")]
    Config(String),
    /// Drawing or writing the picture failed.
    #[error("drawing {}: {message}", path.display())]
    Plot {
        /// The picture being written.
        path: PathBuf,
        /// The drawing library's message.
        message: String,
    },
}
