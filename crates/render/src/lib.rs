//! Listen to and look at a [`Score`]: a stereo WAV file, and a piano-roll PNG picture.
//!
//! Sound comes from a General MIDI SoundFont through rustysynth when one is given or
//! installed (`fluid-soundfont-gm` on Debian), and otherwise from a small built-in
//! synthesizer: a timbre per family of GM programs and noise drums, enough to judge melody,
//! harmony and rhythm. Both follow the score's tempo map exactly and write 16-bit stereo,
//! peak-normalised to -1 dBFS, with a second of tail after the last note.
//!
//! ```no_run
//! use midigpt_render::{pianoroll_png, render_wav, PianorollOptions, RenderOptions};
//!
//! let score = midigpt_midi::Score::from_file("song.mid")?;
//! render_wav(&score, &RenderOptions::default(), "song.wav".as_ref())?;
//! let options = PianorollOptions { title: "song.mid".into(), ..Default::default() };
//! pianoroll_png(&score, &options, "song.png".as_ref())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod canvas;
mod drums;
mod error;
mod grid;
mod pianoroll;
mod plan;
mod soundfont;
mod synth;
mod text;
mod timbre;
mod wav;

use std::path::{Path, PathBuf};

use midigpt_midi::Score;

pub use error::RenderError;
pub use pianoroll::{pianoroll_png, PianorollOptions};
pub use soundfont::{find_soundfont, SOUNDFONT_ENV};
pub use text::FONT;
pub use wav::PEAK_DBFS;

use crate::plan::total_frames;
use crate::soundfont::SoundFontSynth;
use crate::synth::BuiltinSynth;

/// The longest score a rendering accepts at 44.1 kHz, in seconds: its samples are held in
/// memory (30 minutes of 44.1 kHz stereo is 635 MB as f32).
pub const MAX_SECONDS: f64 = 30.0 * 60.0;

/// The most frames a rendering holds, whatever the sample rate: [`MAX_SECONDS`] at 44.1 kHz.
/// A higher rate renders proportionally shorter scores (at 192 kHz, about 6.9 minutes), so
/// memory stays at 635 MB instead of growing to 2.8 GB.
pub const MAX_FRAMES: usize = 30 * 60 * 44_100;

/// Which synthesizer plays the notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Synth {
    /// A SoundFont from [`find_soundfont`] if there is one, else the built-in synthesizer.
    #[default]
    Auto,
    /// The built-in synthesizer, even when a SoundFont is installed.
    Builtin,
    /// This SoundFont (`.sf2`) file.
    SoundFont(PathBuf),
}

/// How to render a score to sound.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Frames per second (44 100).
    pub sample_rate: u32,
    /// Which synthesizer to use.
    pub synth: Synth,
    /// Seconds of audio after the score's last event, for releases to die away (1.0).
    pub tail_seconds: f64,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            sample_rate: 44_100,
            synth: Synth::Auto,
            tail_seconds: 1.0,
        }
    }
}

/// A synthesizer ready to render scores: load a SoundFont once, render many files.
pub struct Renderer {
    options: RenderOptions,
    engine: Engine,
}

enum Engine {
    Builtin(BuiltinSynth),
    SoundFont(PathBuf, SoundFontSynth),
}

impl Renderer {
    /// Checks the options and loads the SoundFont, if any.
    pub fn new(options: &RenderOptions) -> Result<Self, RenderError> {
        // rustysynth's range, which is also every rate a WAV player expects.
        if !(16_000..=192_000).contains(&options.sample_rate) {
            return Err(RenderError::Options(format!(
                "sample rate {} is outside 16000..=192000",
                options.sample_rate
            )));
        }
        if !(0.0..=60.0).contains(&options.tail_seconds) {
            return Err(RenderError::Options(format!(
                "tail of {} s is outside 0..=60",
                options.tail_seconds
            )));
        }
        let soundfont = match &options.synth {
            Synth::Auto => find_soundfont(),
            Synth::Builtin => None,
            Synth::SoundFont(path) => Some(path.clone()),
        };
        let engine = match soundfont {
            Some(path) => {
                let synth = SoundFontSynth::load(&path, options.sample_rate)?;
                Engine::SoundFont(path, synth)
            }
            None => Engine::Builtin(BuiltinSynth::new(options.sample_rate)),
        };
        Ok(Renderer {
            options: options.clone(),
            engine,
        })
    }

    /// The SoundFont in use; `None` for the built-in synthesizer.
    pub fn soundfont(&self) -> Option<&Path> {
        match &self.engine {
            Engine::SoundFont(path, _) => Some(path),
            Engine::Builtin(_) => None,
        }
    }

    /// The synthesizer in words, for messages ("SoundFont /path/FluidR3_GM.sf2").
    pub fn describe(&self) -> String {
        match self.soundfont() {
            Some(path) => format!("SoundFont {}", path.display()),
            None => "the built-in synthesizer".to_owned(),
        }
    }

    /// The score as interleaved stereo samples (left, right, left, ...), peak-normalised to
    /// [`PEAK_DBFS`]; as many frames as the score lasts plus the tail.
    pub fn samples(&self, score: &Score) -> Result<Vec<f32>, RenderError> {
        let rate = self.options.sample_rate;
        let frames = total_frames(score, rate, self.options.tail_seconds);
        if frames > MAX_FRAMES {
            return Err(RenderError::TooLong {
                seconds: frames as f64 / rate as f64,
                max: MAX_FRAMES as f64 / rate as f64,
                sample_rate: rate,
            });
        }
        let mut out = vec![0.0f32; 2 * frames];
        match &self.engine {
            Engine::Builtin(synth) => synth.render(score, &mut out),
            Engine::SoundFont(_, synth) => synth.render(score, &mut out)?,
        }
        wav::finish(&mut out, rate);
        Ok(out)
    }

    /// Renders the score to a 16-bit stereo WAV file at `path` (written atomically).
    pub fn write_wav(&self, score: &Score, path: &Path) -> Result<(), RenderError> {
        let samples = self.samples(score)?;
        wav::write_wav(&samples, self.options.sample_rate, path)
    }
}

/// [`Renderer::samples`] with a renderer made for this call.
pub fn render_samples(score: &Score, options: &RenderOptions) -> Result<Vec<f32>, RenderError> {
    Renderer::new(options)?.samples(score)
}

/// [`Renderer::write_wav`] with a renderer made for this call.
pub fn render_wav(score: &Score, options: &RenderOptions, path: &Path) -> Result<(), RenderError> {
    Renderer::new(options)?.write_wav(score, path)
}
