//! The truncation and corruption sweep, shared by `tests/corruption.rs` (over the fixtures)
//! and `examples/corruption_sweep.rs` (over any folder).
//!
//! Every file is cut at 10 points and, separately, has a few bytes changed at random (seeded by
//! the file's contents, so a run is reproducible). Each variant must either read, and then
//! encode and decode with every tokenizer (an encoder may refuse a score with an error, a
//! decoder must take what the encoder made), or fail with an error whose message says
//! something. A panic anywhere is a failure.

use std::panic::{catch_unwind, AssertUnwindSafe};

use midigpt_midi::Score;
use midigpt_tokenize::Tokenizer;

/// Cut points per file (at 1/11, 2/11, ... 10/11 of its length).
pub const TRUNCATIONS: usize = 10;
/// Corrupted copies per file.
pub const CORRUPTIONS: usize = 10;

/// Counts over all variants tried.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Variants tried.
    pub variants: usize,
    /// Variants that read as a score.
    pub read_ok: usize,
    /// Variants refused by the reader with an error.
    pub read_err: usize,
    /// Encodings that succeeded (each decoded back successfully).
    pub encode_ok: usize,
    /// Encodings refused with an error.
    pub encode_err: usize,
    /// What went wrong: a panic, an empty message, a failed decode (one line each).
    pub failures: Vec<String>,
}

impl Tally {
    /// Adds another tally's counts.
    pub fn merge(&mut self, other: Tally) {
        self.variants += other.variants;
        self.read_ok += other.read_ok;
        self.read_err += other.read_err;
        self.encode_ok += other.encode_ok;
        self.encode_err += other.encode_err;
        self.failures.extend(other.failures);
    }
}

/// SplitMix64: a tiny deterministic generator, enough to pick bytes to change.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The variants of one file: (label, bytes).
pub fn variants(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::with_capacity(TRUNCATIONS + CORRUPTIONS);
    for k in 1..=TRUNCATIONS {
        let cut = bytes.len() * k / (TRUNCATIONS + 1);
        out.push((format!("cut at {cut}"), bytes[..cut].to_vec()));
    }
    if bytes.is_empty() {
        return out;
    }
    // FNV-1a of the contents: the same file gets the same corruptions wherever it lies.
    let seed = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = SplitMix(seed);
    for k in 0..CORRUPTIONS {
        let mut copy = bytes.to_vec();
        // 1 to 8 bytes changed. Half the time anything near the start, where the header and
        // the first events decide how the rest is read; half the time anywhere, but keeping
        // each byte's top bit, which leaves status bytes and variable-length numbers in place
        // and so makes readable files with strange values (times, pitches, tempos).
        let changes = 1 + k % 8;
        let (span, mask) = if k % 2 == 0 {
            (copy.len().min(64), 0xFF)
        } else {
            (copy.len(), 0x7F)
        };
        let mut at = Vec::with_capacity(changes);
        for _ in 0..changes {
            let i = rng.below(span);
            copy[i] ^= (1 + rng.below(255) as u8) & mask;
            at.push(i);
        }
        out.push((format!("bytes {at:?} changed"), copy));
    }
    out
}

/// Reads, encodes and decodes one variant with every tokenizer.
pub fn check(label: &str, bytes: &[u8], tokenizers: &[(&str, &dyn Tokenizer)]) -> Tally {
    let mut tally = Tally {
        variants: 1,
        ..Tally::default()
    };
    let score = match catch_unwind(|| Score::from_bytes(bytes)) {
        Ok(Ok(score)) => score,
        Ok(Err(e)) => {
            tally.read_err += 1;
            if e.to_string().trim().is_empty() {
                tally
                    .failures
                    .push(format!("{label}: read error without a message"));
            }
            return tally;
        }
        Err(_) => {
            tally.failures.push(format!("{label}: read panicked"));
            return tally;
        }
    };
    tally.read_ok += 1;
    for (name, tokenizer) in tokenizers {
        let result = catch_unwind(AssertUnwindSafe(|| round_trip(*tokenizer, &score)));
        match result {
            Ok(Ok(true)) => tally.encode_ok += 1,
            Ok(Ok(false)) => tally.encode_err += 1,
            Ok(Err(problem)) => tally.failures.push(format!("{label}, {name}: {problem}")),
            Err(_) => tally.failures.push(format!("{label}, {name}: panicked")),
        }
    }
    tally
}

/// `Ok(true)`: encoded and decoded; `Ok(false)`: the encoder refused with a message;
/// `Err`: what broke.
fn round_trip(tokenizer: &dyn Tokenizer, score: &Score) -> Result<bool, String> {
    let ids = match tokenizer.encode(score) {
        Ok(ids) => ids,
        Err(e) if e.to_string().trim().is_empty() => {
            return Err("encode error without a message".into())
        }
        Err(_) => return Ok(false),
    };
    let decoded = tokenizer
        .decode(&ids)
        .map_err(|e| format!("the encoder's ids do not decode: {e}"))?;
    decoded
        .to_bytes()
        .map_err(|e| format!("the decoded score does not write: {e}"))?;
    Ok(true)
}

/// Every variant of one file.
pub fn sweep_file(name: &str, bytes: &[u8], tokenizers: &[(&str, &dyn Tokenizer)]) -> Tally {
    let mut tally = Tally::default();
    for (label, variant) in variants(bytes) {
        tally.merge(check(&format!("{name}, {label}"), &variant, tokenizers));
    }
    tally
}

/// The built-in tokenizers and REMI with BPE (the MidiTok-trained fixture), by name.
pub fn tokenizers() -> Vec<(&'static str, Box<dyn Tokenizer>)> {
    let bpe =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bpe/tokenizer.json");
    let mut all: Vec<(&'static str, Box<dyn Tokenizer>)> = midigpt_tokenize::BUILTIN_NAMES
        .iter()
        .map(|&name| (name, midigpt_tokenize::builtin(name).expect("built-in")))
        .collect();
    all.push((
        "remi+bpe",
        midigpt_tokenize::load_tokenizer(bpe).expect("the BPE fixture loads"),
    ));
    all
}

/// Every `.mid`, `.midi` and `.rmi` file below `dir` (any case), sorted.
pub fn midi_files(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_lowercase);
            if path.is_dir() {
                folders.push(path);
            } else if matches!(ext.as_deref(), Some("mid" | "midi" | "rmi")) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
