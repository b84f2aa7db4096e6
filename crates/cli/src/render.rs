//! `midigpt render FILE.mid` (a WAV to listen to) and `midigpt pianoroll FILE.mid` (a PNG to
//! look at), and the same pictures and sounds beside generated samples.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use midigpt_midi::Score;
use midigpt_render::{pianoroll_png, PianorollOptions, RenderOptions, Renderer, Synth};

/// Arguments of `midigpt render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The MIDI file to play.
    pub file: PathBuf,
    /// Output WAV file (default: FILE with the extension .wav).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub synth: SynthArgs,
}

/// Which synthesizer plays, shared by `render` and `generate --render`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// SoundFont (.sf2) to play with. Default: $MIDIGPT_SOUNDFONT, else FluidR3_GM or another
    /// .sf2 in /usr/share/sounds/sf2 or /usr/share/soundfonts, else the built-in synthesizer.
    #[arg(long, conflicts_with = "builtin")]
    pub soundfont: Option<PathBuf>,
    /// Use the built-in synthesizer even when a SoundFont is installed.
    #[arg(long)]
    pub builtin: bool,
    /// Samples per second of the WAV.
    #[arg(long, default_value_t = 44_100)]
    pub sample_rate: u32,
}

impl SynthArgs {
    /// What these arguments ask of the synthesizer.
    pub fn options(&self) -> RenderOptions {
        let synth = match (&self.soundfont, self.builtin) {
            (Some(path), _) => Synth::SoundFont(path.clone()),
            (None, true) => Synth::Builtin,
            (None, false) => Synth::Auto,
        };
        RenderOptions {
            sample_rate: self.sample_rate,
            synth,
            ..Default::default()
        }
    }

    /// A renderer for these arguments (loads the SoundFont).
    pub fn renderer(&self) -> Result<Renderer> {
        Ok(Renderer::new(&self.options())?)
    }
}

impl Default for SynthArgs {
    /// What the command line gives by default: the installed SoundFont, else the built-in
    /// synthesizer, at 44.1 kHz.
    fn default() -> Self {
        SynthArgs {
            soundfont: None,
            builtin: false,
            sample_rate: 44_100,
        }
    }
}

/// Arguments of `midigpt pianoroll`.
#[derive(Debug, clap::Args)]
pub struct PianorollArgs {
    /// The MIDI file to draw.
    pub file: PathBuf,
    /// Output PNG file (default: FILE with the extension .png).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Width in pixels (default: 1600, wider for long songs, at most 4800).
    #[arg(long)]
    pub width: Option<u32>,
    /// Height in pixels.
    #[arg(long, default_value_t = 800)]
    pub height: u32,
}

/// Runs `midigpt render`.
pub fn render(args: &RenderArgs) -> Result<ExitCode> {
    let score = read(&args.file)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.file.with_extension("wav"));
    let renderer = args.synth.renderer()?;
    let start = Instant::now();
    write_wav(&renderer, &score, &out)?;
    println!(
        "{}: {:.1} s of audio with {} in {:.2} s",
        out.display(),
        score.seconds_at(score.end()),
        renderer.describe(),
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `midigpt pianoroll`.
pub fn pianoroll(args: &PianorollArgs) -> Result<ExitCode> {
    let score = read(&args.file)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.file.with_extension("png"));
    let options = PianorollOptions {
        width: args.width,
        height: args.height,
        title: file_name(&args.file),
        ..PianorollOptions::default()
    };
    let (width, height) = pianoroll_png(&score, &options, &out)
        .with_context(|| format!("drawing {}", out.display()))?;
    println!("{}: {width}x{height}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// What to write beside each generated `NAME.mid`: `NAME.wav` with the renderer, `NAME.png`
/// when `pianoroll` is set. Returns the files written.
pub fn write_companions(
    score: &Score,
    mid: &Path,
    renderer: Option<&Renderer>,
    pianoroll: bool,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    if let Some(renderer) = renderer {
        let wav = mid.with_extension("wav");
        write_wav(renderer, score, &wav)?;
        written.push(wav);
    }
    if pianoroll {
        let png = mid.with_extension("png");
        let options = PianorollOptions {
            title: file_name(mid),
            ..Default::default()
        };
        pianoroll_png(score, &options, &png)
            .with_context(|| format!("drawing {}", png.display()))?;
        written.push(png);
    }
    Ok(written)
}

fn write_wav(renderer: &Renderer, score: &Score, path: &Path) -> Result<()> {
    renderer
        .write_wav(score, path)
        .with_context(|| format!("rendering {}", path.display()))
}

fn read(path: &Path) -> Result<Score> {
    Score::from_file(path).with_context(|| format!("reading {}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}
