//! Errors from rendering a score to sound or to a picture.

use std::path::PathBuf;

/// What went wrong while rendering. Messages name the file or the value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// An option is out of range (sample rate, picture size, ...).
    #[error("invalid render option: {0}")]
    Options(String),
    /// The SoundFont could not be read.
    #[error("SoundFont {path}: {message}")]
    SoundFont {
        /// The SoundFont file.
        path: PathBuf,
        /// What was wrong with it.
        message: String,
    },
    /// The score lasts longer than a rendering may (its samples would not fit in memory).
    #[error(
        "the score lasts {seconds:.0} s, longer than the {max:.0} s a rendering at \
         {sample_rate} Hz may (its samples are held in memory; a lower sample rate allows more)"
    )]
    TooLong {
        /// Length of the score with its tail.
        seconds: f64,
        /// The longest rendering allowed at this sample rate.
        max: f64,
        /// The sample rate asked for.
        sample_rate: u32,
    },
    /// Encoding the WAV or PNG data failed.
    #[error("encoding {path}: {message}")]
    Encode {
        /// The file being written.
        path: PathBuf,
        /// The encoder's message.
        message: String,
    },
    /// Writing the output file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}
