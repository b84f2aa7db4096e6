//! `midigpt generate`: arguments for `midigpt_compose`, and the files it writes.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use midigpt_compose::{
    compose, compose_model, infill, parse, Ask, ComposeError, Control, InfillRequest, ModelPackage,
    Piece, Prompt, Request,
};
use midigpt_midi::Score;
use midigpt_model::{Gpt, GptBackend, GptTrainBackend};
use midigpt_tokenize::load_tokenizer;

use crate::device::{on_device, OnBackend};
use crate::render::{write_companions, SynthArgs};

/// Arguments of `midigpt generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Run folder of `midigpt train` (its best checkpoint), or model folder of `midigpt
    /// export`; the built-in POP909 model when omitted.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// A MIDI file to continue.
    #[arg(long)]
    pub prompt: Option<PathBuf>,
    /// Keep only the first N bars of the prompt (bars follow its time signatures).
    #[arg(long, requires = "prompt")]
    pub prompt_bars: Option<usize>,
    /// Regenerate only these bars of the prompt, counted from 1 with both ends included
    /// (`9..12`), keeping every other note; the model must be trained with infilling.
    #[arg(long, value_name = "FIRST..LAST", requires = "prompt")]
    pub infill_bars: Option<String>,
    /// The tracks to write in --infill-bars: GM programs or names as in --instruments (a
    /// track the prompt lacks is added) [default: the tracks playing in those bars].
    #[arg(long, value_name = "LIST", requires = "infill_bars")]
    pub infill_tracks: Option<String>,
    /// New tokens per sample at most; alone, it sets the length instead of --bars [default:
    /// 16384, a guard against a model that never starts a new bar].
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Sampling temperature (0: always the most likely token) [default: 1].
    #[arg(long, allow_negative_numbers = true)]
    pub temperature: Option<f32>,
    /// Sample among the K most likely tokens only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Sample among the most likely tokens whose probability adds up to P.
    #[arg(long, allow_negative_numbers = true)]
    pub top_p: Option<f32>,
    /// The piece may not end before this many new tokens (the model's end token is held
    /// back until then; --bars and --seconds decide the end instead).
    #[arg(long, default_value_t = midigpt_compose::MIN_TOKENS)]
    pub min_tokens: usize,
    /// Random seed: the same seed gives the same music.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How many samples to write.
    #[arg(long, default_value_t = 1)]
    pub num_samples: usize,
    /// Only these instruments: GM program numbers or names (`piano,bass,strings`,
    /// `"Electric Bass (finger)"`) and `drums`; a new piece uses each of them.
    #[arg(long, value_name = "LIST")]
    pub instruments: Option<String>,
    /// Tempo in beats (quarter notes) per minute: the nearest tempo the model knows, held.
    #[arg(long, value_name = "BPM")]
    pub tempo: Option<f64>,
    /// How the tempo may move after the opening one: gradual (a step of one tempo token a bar
    /// at most) or free (the model's own) [default: gradual; free when the prompt's bars
    /// change tempo themselves].
    #[arg(long, value_name = "HOW", value_parser = ["gradual", "free"])]
    pub tempo_changes: Option<String>,
    /// Every bar in this metre, e.g. 3/4 or 6/8.
    #[arg(long, value_name = "N/D")]
    pub time_signature: Option<String>,
    /// The piece ends after exactly N bars [default: 32, unless --seconds or --max-tokens
    /// sets the length].
    #[arg(long, value_name = "N", conflicts_with = "seconds")]
    pub bars: Option<usize>,
    /// The piece ends at the first bar line after S seconds.
    #[arg(long, value_name = "S")]
    pub seconds: Option<f64>,
    /// The piece in sections: letters, each with an optional length in bars (`ABAB`,
    /// `A8 B8 A8 B4`, sections without one share --bars); a letter named again plays its
    /// first section again, token for token, and the model goes on from there (one
    /// generation: --max-tokens is the whole piece's budget). `none`: the model alone
    /// [default: a new piece of 16 bars or more is a verse-chorus song of 8-bar sections,
    /// A B C B D B ..., its chorus coming back]
    #[arg(long, value_name = "SECTIONS", conflicts_with_all = ["seconds", "infill_bars"])]
    pub form: Option<String>,
    /// Prefer a key: `C`, `F#`, `Bb minor`, `Am`; `auto`: the scale that holds the most notes
    /// so far (after the first 16; in a fill, those around it); `none`: the model alone. A
    /// preference, not a constraint: each pitch outside the key is made e² ≈ 7 times less
    /// likely than the model would have it, at any --temperature, never forbidden (at
    /// temperature 0 it is taken only where the model's score for it leads every other
    /// choice, out-of-key pitches aside, by more than 2). The other controls are hard
    /// constraints [default: auto].
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// At most N notes start in one bar.
    #[arg(long, value_name = "N")]
    pub max_notes_per_bar: Option<usize>,
    /// At most N notes sound at once.
    #[arg(long, value_name = "N")]
    pub max_polyphony: Option<usize>,
    /// Pitched notes only within LOW..HIGH (MIDI numbers, 60 is middle C).
    #[arg(long, value_name = "LOW..HIGH")]
    pub pitch_range: Option<String>,
    /// Output folder for the .mid files.
    #[arg(long, default_value = "samples")]
    pub out: PathBuf,
    /// Also write NAME.wav beside each NAME.mid (the synthesizer options below apply).
    #[arg(long)]
    pub render: bool,
    /// Also write a piano roll NAME.png beside each NAME.mid.
    #[arg(long)]
    pub pianoroll: bool,
    #[command(flatten)]
    pub synth: SynthArgs,
    /// Where the model runs: cpu, cuda or cuda:N (a build with the `cuda` feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl GenerateArgs {
    /// The request in the compose layer's words, which give what is left out the same
    /// defaults as every other front end.
    fn ask(&self) -> Ask {
        Ask {
            instruments: self.instruments.iter().cloned().collect(),
            tempo: self.tempo,
            tempo_changes: self.tempo_changes.clone(),
            time_signature: self.time_signature.clone(),
            bars: self.bars,
            seconds: self.seconds,
            form: self.form.clone(),
            key: self.key.clone(),
            max_notes_per_bar: self.max_notes_per_bar,
            max_polyphony: self.max_polyphony,
            pitch_range: self.pitch_range.clone(),
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            min_tokens: Some(self.min_tokens),
            max_tokens: self.max_tokens,
            seed: self.seed,
            pieces: Some(self.num_samples),
        }
    }

    /// The request these arguments describe.
    fn request(&self) -> Result<Request> {
        let prompt = match &self.prompt {
            Some(path) => Some(Prompt {
                score: Score::from_file(path)
                    .with_context(|| format!("reading prompt {}", path.display()))?,
                bars: self.prompt_bars,
            }),
            None => None,
        };
        self.ask().request(prompt).map_err(flags)
    }
}

/// A compose error in the command line's words: controls by their options (`--tempo`).
pub fn flags(e: ComposeError) -> anyhow::Error {
    match e {
        ComposeError::Control { .. } => anyhow::anyhow!(e.spelt(Control::flag)),
        e => e.into(),
    }
}

/// Runs `midigpt generate`.
pub fn run(args: &GenerateArgs) -> Result<ExitCode> {
    if args.num_samples == 0 || args.max_tokens == Some(0) {
        bail!("--num-samples and --max-tokens must be at least 1");
    }
    // Out-of-range values fail before the model loads; the messages name the option.
    let request = args
        .request()
        .map_err(|e| match e.downcast::<ComposeError>() {
            Ok(ComposeError::Sampling(e)) => anyhow::anyhow!("--{e}"),
            Ok(e) => e.into(),
            Err(e) => e,
        })?;
    let fill = args.infill_request(&request)?;
    on_device(
        &args.device,
        Generation {
            args,
            request,
            fill,
        },
    )
}

/// `generate` once its options are checked, on any backend.
struct Generation<'a> {
    args: &'a GenerateArgs,
    request: Request,
    /// The request of --infill-bars.
    fill: Option<InfillRequest>,
}

impl OnBackend for Generation<'_> {
    type Output = ExitCode;

    fn run<B: GptTrainBackend>(self, device: B::Device) -> Result<ExitCode> {
        let Generation {
            args,
            request,
            fill,
        } = self;
        let pkg = ModelPackage::<B::InnerBackend>::load(args.model.as_deref(), &device)
            .with_context(|| format!("loading {}", model_name(args.model.as_deref())))?;
        // Load the SoundFont once for every sample.
        let renderer = args.render.then(|| args.synth.renderer()).transpose()?;
        if let Some(renderer) = &renderer {
            println!("rendering with {}", renderer.describe());
        }
        let pieces = match &fill {
            Some(fill) => infill(&pkg, fill, &mut |_| true)
                .map_err(flags)
                .with_context(|| {
                    let prompt = args.prompt.as_deref().unwrap_or(Path::new("")).display();
                    let bars = args.infill_bars.as_deref().unwrap_or_default();
                    format!("filling bars {bars} of {prompt}")
                })?,
            None => compose(&pkg, &request, &mut |_| true)
                .map_err(flags)
                .with_context(|| match &args.prompt {
                    Some(prompt) => format!("continuing {}", prompt.display()),
                    None => "composing".into(),
                })?,
        };
        write_pieces(args, pieces, renderer.as_ref())?;
        Ok(ExitCode::SUCCESS)
    }
}

impl GenerateArgs {
    /// The infill request of --infill-bars, if given: the prompt whole, with the sampling
    /// and seed of the other options.
    fn infill_request(&self, request: &Request) -> Result<Option<InfillRequest>> {
        let (Some(bars), Some(prompt)) = (&self.infill_bars, &request.prompt) else {
            return Ok(None);
        };
        let programs = (self.infill_tracks.as_deref())
            .map(parse::instruments)
            .transpose()
            .context("--infill-tracks")?;
        let bars = parse::bars(bars).map_err(flags)?;
        let fill = self.ask().infill(prompt.score.clone(), bars, programs);
        Ok(Some(fill.map_err(flags)?))
    }
}

/// Writes each piece as `sample-SEED.mid` in `--out`, with its companions.
fn write_pieces(
    args: &GenerateArgs,
    pieces: Vec<Piece>,
    renderer: Option<&midigpt_render::Renderer>,
) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for piece in pieces {
        let path = unique_path(&args.out, &format!("sample-{}", piece.stats.seed));
        piece
            .score
            .write_file(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{} {}", path.display(), piece.stats);
        // The MIDI file is written: a sample too long to render costs its WAV, not the run.
        match write_companions(&piece.score, &path, renderer, args.pianoroll) {
            Ok(files) => files.iter().for_each(|f| println!("{}", f.display())),
            Err(e) => eprintln!("warning: {e:#}"),
        }
    }
    Ok(())
}

/// How messages name the model of `--model`.
pub fn model_name(path: Option<&Path>) -> String {
    path.map_or(midigpt_compose::BUILTIN_NAME.into(), |p| {
        p.display().to_string()
    })
}

/// `dir/stem.mid`, or `dir/stem-2.mid`, ... : never overwrites a file.
fn unique_path(dir: &Path, stem: &str) -> PathBuf {
    let mut path = dir.join(format!("{stem}.mid"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.mid"));
        n += 1;
    }
    path
}

/// The sampler `train` calls every `sample_interval` steps: a piece from scratch (seed = the
/// step), written to `RUN/samples/step-NNNNNN.mid` with its piano roll and audio beside it
/// (`.png`, `.wav`: the installed SoundFont or the built-in synthesizer).
pub fn training_sampler<B: GptBackend>(data: &Path, tokens: usize) -> impl Fn(&Gpt<B>, u64, &Path) {
    let tokenizer = load_tokenizer(data.join("tokenizer.json")).ok();
    // Loaded at the first sample (a SoundFont is ~140 MB; a run without samples never needs
    // it), then kept; without one, samples still get their MIDI file and picture.
    let renderer = std::cell::OnceCell::new();
    move |model: &Gpt<B>, step: u64, dir: &Path| {
        let Some(tokenizer) = &tokenizer else { return };
        let renderer = renderer.get_or_init(|| {
            SynthArgs::default()
                .renderer()
                .map_err(|e| eprintln!("warning: training samples get no audio: {e:#}"))
                .ok()
        });
        // A sample is a piece as `generate` makes it, its length the sample's token budget.
        let ask = Ask {
            seed: step,
            max_tokens: Some(tokens),
            ..Ask::default()
        };
        let path = dir.join(format!("step-{step:06}.mid"));
        let result = std::fs::create_dir_all(dir)
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                let request = ask.request(None)?;
                Ok(compose_model(
                    model,
                    tokenizer.as_ref(),
                    &request,
                    &mut |_| true,
                )?)
            })
            .and_then(|pieces| {
                let score = &pieces.first().context("no piece")?.score;
                score.write_file(&path)?;
                write_companions(score, &path, renderer.as_ref(), true)
            });
        if let Err(e) = result {
            eprintln!("sample at step {step} failed: {e:#}");
        }
    }
}
