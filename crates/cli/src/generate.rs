//! `midigpt generate --model RUN`: new MIDI files from a trained run, from scratch or
//! continuing a prompt.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use midigpt_generate::{generate, SamplingConfig};
use midigpt_midi::Score;
use midigpt_model::{Gpt, GptBackend, GptTrainBackend};
use midigpt_tokenize::{load_tokenizer, TokenId, Tokenizer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::device::{on_device, OnBackend};
use crate::model_source::{load_model, Loaded};
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
    /// Keep only the first N bars of the prompt.
    #[arg(long, requires = "prompt")]
    pub prompt_bars: Option<u32>,
    /// New tokens per sample.
    #[arg(long, default_value_t = 512)]
    pub max_tokens: usize,
    /// Sampling temperature (0: always the most likely token).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub temperature: f32,
    /// Sample among the K most likely tokens only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Sample among the most likely tokens whose probability adds up to P.
    #[arg(long, allow_negative_numbers = true)]
    pub top_p: Option<f32>,
    /// The piece may not end before this many new tokens (the model's end token is held
    /// back until then).
    #[arg(long, default_value_t = 128)]
    pub min_tokens: usize,
    /// Random seed: the same seed gives the same music.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How many samples to write.
    #[arg(long, default_value_t = 1)]
    pub num_samples: usize,
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

/// Runs `midigpt generate`.
pub fn run(args: &GenerateArgs) -> Result<ExitCode> {
    let sampling = SamplingConfig {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        min_tokens: args.min_tokens,
    };
    // The messages start with the option's name.
    sampling.validate().map_err(|e| anyhow::anyhow!("--{e}"))?;
    if args.num_samples == 0 || args.max_tokens == 0 {
        bail!("--num-samples and --max-tokens must be at least 1");
    }
    on_device(&args.device, Generation { args, sampling })
}

/// `generate` once its options are checked, on any backend.
struct Generation<'a> {
    args: &'a GenerateArgs,
    sampling: SamplingConfig,
}

impl OnBackend for Generation<'_> {
    type Output = ExitCode;

    fn run<B: GptTrainBackend>(self, device: B::Device) -> Result<ExitCode> {
        let Generation { args, sampling } = self;
        let loaded = load_model::<B::InnerBackend>(args.model.as_deref(), &device)?;
        write_samples(args, &sampling, &loaded)
    }
}

/// Writes `--num-samples` samples (and their WAV and PNG when asked).
fn write_samples<B: GptBackend>(
    args: &GenerateArgs,
    sampling: &SamplingConfig,
    loaded: &Loaded<B>,
) -> Result<ExitCode> {
    let prompt = match &args.prompt {
        Some(path) => prompt_ids(loaded.tokenizer.as_ref(), path, args.prompt_bars)?,
        None => Vec::new(),
    };
    // Load the SoundFont once for every sample.
    let renderer = args.render.then(|| args.synth.renderer()).transpose()?;
    if let Some(renderer) = &renderer {
        println!("rendering with {}", renderer.describe());
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for i in 0..args.num_samples {
        let seed = args.seed.wrapping_add(i as u64);
        let path = unique_path(&args.out, &format!("sample-{seed}"));
        let (score, report) = write_sample(
            &loaded.model,
            loaded.tokenizer.as_ref(),
            &prompt,
            args.max_tokens,
            sampling,
            seed,
            &path,
        )?;
        println!("{} {report}", path.display());
        // The MIDI file is written: a sample too long to render costs its WAV, not the run.
        match write_companions(&score, &path, renderer.as_ref(), args.pianoroll) {
            Ok(files) => files.iter().for_each(|f| println!("{}", f.display())),
            Err(e) => eprintln!("warning: {e:#}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Tokens of a prompt file (its first `bars` bars), as one sequence.
fn prompt_ids(tokenizer: &dyn Tokenizer, path: &Path, bars: Option<u32>) -> Result<Vec<TokenId>> {
    let mut score =
        Score::from_file(path).with_context(|| format!("reading prompt {}", path.display()))?;
    if let Some(bars) = bars {
        let ts = score.time_signatures.first().map_or((4, 4), |t| {
            (t.numerator as u64, t.denominator.max(1) as u64)
        });
        let end = bars as u64 * score.ticks_per_quarter as u64 * 4 * ts.0 / ts.1;
        for track in &mut score.tracks {
            track.notes.retain(|n| (n.time as u64) < end);
        }
    }
    if score.note_count() == 0 {
        bail!("the prompt {} has no notes to continue", path.display());
    }
    let seqs = tokenizer.encode(&score)?;
    // One stream, or (tokenizers with a sequence per track) the first track.
    Ok(seqs.into_iter().next().unwrap_or_default())
}

/// Generates one sample, writes it as MIDI, and returns it with a description.
pub fn write_sample<B: GptBackend>(
    model: &Gpt<B>,
    tokenizer: &dyn Tokenizer,
    prompt: &[TokenId],
    max_tokens: usize,
    sampling: &SamplingConfig,
    seed: u64,
    path: &Path,
) -> Result<(Score, String)> {
    let vocab = tokenizer.vocab();
    let mut start: Vec<TokenId> = vocab.get("BOS_None").into_iter().collect();
    start.extend_from_slice(prompt);
    if start.is_empty() {
        bail!("the tokenizer has no BOS token to start from");
    }
    let grammar = tokenizer.grammar();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let out = generate(
        model,
        &start,
        max_tokens,
        grammar.as_ref(),
        vocab.get("EOS_None"),
        sampling,
        &mut rng,
    )?;
    let mut ids = prompt.to_vec();
    ids.extend_from_slice(&out.ids);
    let score = tokenizer.decode(&[ids])?;
    score
        .write_file(path)
        .with_context(|| format!("writing {}", path.display()))?;
    let rate = (out.ids.len().saturating_sub(1)) as f64 / out.seconds.max(1e-9);
    let pitches = score
        .pitch_range()
        .map_or(String::new(), |(lo, hi)| format!(", pitches {lo}–{hi}"));
    let tracks = score.tracks.iter().filter(|t| !t.notes.is_empty()).count();
    let report = format!(
        "{} new tokens ({rate:.0} tokens/s), {} notes in {tracks} track{}{pitches}, {:.1} s, {} repaired by the grammar{}",
        out.ids.len(),
        score.note_count(),
        if tracks == 1 { "" } else { "s" },
        score.seconds_at(score.end()),
        out.repaired,
        if out.ended {
            ", ended by the model"
        } else {
            ""
        }
    );
    Ok((score, report))
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

/// The sampler `train` calls every `sample_interval` steps: a sample from scratch, written to
/// `RUN/samples/step-NNNNNN.mid` with its piano roll and audio beside it (`.png`, `.wav`: the
/// installed SoundFont or the built-in synthesizer; well under a second for a sample).
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
        let path = dir.join(format!("step-{step:06}.mid"));
        let result = std::fs::create_dir_all(dir)
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                write_sample(
                    model,
                    tokenizer.as_ref(),
                    &[],
                    tokens,
                    &SamplingConfig::default(),
                    step,
                    &path,
                )
            })
            .and_then(|(score, _)| write_companions(&score, &path, renderer.as_ref(), true));
        if let Err(e) = result {
            eprintln!("sample at step {step} failed: {e:#}");
        }
    }
}
