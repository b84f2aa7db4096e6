//! BPE: training, round trips, word boundaries, JSON, and agreement with MidiTok 3.1.0.

use midigpt_midi::{Note, Score, Track};
use midigpt_tokenize::{Bpe, TokenId, TokenizeError, Tokenizer, Vocab};
use serde_json::{json, Value};

/// A base tokenizer over a fixed vocabulary. Scores map to ids through note pitches (one
/// sequence per track, pitch = id), which is enough to exercise `encode`/`decode`.
struct Mock {
    vocab: Vocab,
    bar: TokenId,
    config: Value,
}

impl Mock {
    /// Specials, `Bar_None`, then `Pitch_*` and `Duration_*` tokens.
    fn new(split: &str) -> Mock {
        let mut tokens: Vec<String> = ["PAD_None", "BOS_None", "EOS_None", "MASK_None", "Bar_None"]
            .map(String::from)
            .to_vec();
        tokens.extend((0..24).map(|p| format!("Pitch_{}", 60 + p)));
        tokens.extend((0..8).map(|d| format!("Duration_{d}.0.8")));
        Mock {
            vocab: Vocab::new(tokens),
            bar: 4,
            config: json!({
                "encode_ids_split": split,
                "special_tokens": ["PAD_None", "BOS_None", "EOS_None", "MASK_None"],
            }),
        }
    }

    /// A base tokenizer known only by its saved vocabulary and config, for MidiTok's ids.
    fn from_saved(saved: &Value) -> Mock {
        let mut pairs: Vec<(&String, u64)> = saved["_vocab_base"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(t, id)| (t, id.as_u64().unwrap()))
            .collect();
        pairs.sort_by_key(|&(_, id)| id);
        let vocab = Vocab::new(pairs.into_iter().map(|(t, _)| t.clone()));
        Mock {
            bar: vocab.id("Bar_None").unwrap(),
            vocab,
            config: saved["config"].clone(),
        }
    }
}

impl Tokenizer for Mock {
    fn encode(&self, score: &Score) -> Result<Vec<Vec<TokenId>>, TokenizeError> {
        let track = |t: &Track| t.notes.iter().map(|n| TokenId::from(n.pitch)).collect();
        Ok(score.tracks.iter().map(track).collect())
    }

    fn decode(&self, sequences: &[Vec<TokenId>]) -> Result<Score, TokenizeError> {
        let mut score = Score::new(8);
        for ids in sequences {
            let mut track = Track::default();
            for (i, &id) in ids.iter().enumerate() {
                let pitch = u8::try_from(id).map_err(|_| TokenizeError::UnknownId {
                    id,
                    size: self.vocab.len(),
                })?;
                track.notes.push(Note {
                    time: i as u32,
                    duration: 1,
                    pitch,
                    velocity: 64,
                });
            }
            score.tracks.push(track);
        }
        Ok(score)
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn to_json(&self) -> Value {
        json!({ "config": self.config, "tokenization": "Mock" })
    }

    fn one_stream(&self) -> bool {
        false
    }

    fn starts_word(&self, id: TokenId) -> bool {
        id == self.bar
    }
}

/// Deterministic pseudo-random numbers (xorshift), so tests need no extra crates.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Songs made of bars drawn from a few motifs, so that pairs repeat as in real music.
fn corpus(songs: usize, seed: u64) -> Vec<Vec<TokenId>> {
    let mut rng = Rng(seed);
    let motifs: Vec<Vec<TokenId>> = (0..12)
        .map(|_| {
            (0..2 + rng.below(6))
                .flat_map(|_| [5 + rng.below(24) as TokenId, 29 + rng.below(8) as TokenId])
                .collect()
        })
        .collect();
    (0..songs)
        .map(|_| {
            let mut song = Vec::new();
            for _ in 0..10 + rng.below(30) {
                let mut bar = vec![4];
                for _ in 0..1 + rng.below(3) {
                    bar.extend(&motifs[rng.below(motifs.len() as u64) as usize]);
                }
                song.extend(bar);
            }
            song
        })
        .collect()
}

fn trained(split: &str, vocab_size: usize) -> (Bpe, Vec<Vec<TokenId>>) {
    let songs = corpus(60, 7);
    let bpe = Bpe::train(
        Box::new(Mock::new(split)),
        songs.clone().into_iter(),
        vocab_size,
    )
    .unwrap();
    (bpe, songs)
}

#[test]
fn training_grows_the_vocabulary_and_shortens_sequences() {
    let (bpe, songs) = trained("bar", 100);
    assert_eq!(bpe.vocab_size(), 100);
    // Base tokens keep their names and ids.
    for (id, token) in bpe.base().vocab().tokens().iter().enumerate() {
        assert_eq!(bpe.vocab().token(id as TokenId).unwrap(), token);
    }
    let (mut before, mut after) = (0, 0);
    for song in &songs {
        let encoded = bpe.encode_ids(song).unwrap();
        assert_eq!(&bpe.decode_ids(&encoded).unwrap(), song);
        before += song.len();
        after += encoded.len();
    }
    assert!(after * 2 < before, "{before} base ids became {after}");
}

#[test]
fn score_round_trip_through_the_trait() {
    let (bpe, songs) = trained("bar", 100);
    let mut score = Score::new(8);
    for song in &songs[..3] {
        let mut track = Track::default();
        for (i, &id) in song.iter().enumerate() {
            track.notes.push(Note {
                time: i as u32,
                duration: 1,
                pitch: id as u8,
                velocity: 64,
            });
        }
        score.tracks.push(track);
    }
    let ids = bpe.encode(&score).unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().zip(&songs).all(|(e, s)| e.len() < s.len()));
    assert_eq!(bpe.decode(&ids).unwrap(), score);
}

#[test]
fn merges_never_cross_bars() {
    let (bpe, _) = trained("bar", 120);
    let bar = 4;
    for id in 0..bpe.vocab_size() as TokenId {
        let ids = bpe.decode_ids(&[id]).unwrap();
        assert!(
            !ids.iter().skip(1).any(|&b| b == bar),
            "{:?}",
            bpe.vocab().token(id)
        );
        assert_eq!(bpe.starts_word(id), ids.first() == Some(&bar));
    }
    // Merged tokens read as their base tokens; word starts carry the word mark.
    let merged = bpe.vocab().token(bpe.vocab_size() as TokenId - 1).unwrap();
    assert!(
        merged.contains(' ') || merged.starts_with('\u{2581}'),
        "{merged}"
    );

    // Without splitting, some merges do span a bar.
    let (whole, _) = trained("no", 120);
    let crosses = (0..whole.vocab_size() as TokenId).any(|id| {
        whole
            .decode_ids(&[id])
            .unwrap()
            .iter()
            .skip(1)
            .any(|&b| b == bar)
    });
    assert!(crosses);
}

#[test]
fn json_round_trip_gives_identical_encodings() {
    for split in ["bar", "no"] {
        let (bpe, songs) = trained(split, 90);
        let json = bpe.to_json();
        for key in [
            "config",
            "tokenization",
            "_vocab_base",
            "_model",
            "_vocab_base_byte_to_token",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        let text = serde_json::to_string(&json).unwrap();
        let reread: Value = serde_json::from_str(&text).unwrap();
        let back = Bpe::from_json(&reread, Box::new(Mock::new(split))).unwrap();
        assert_eq!(back.to_json(), json);
        assert_eq!(back.vocab(), bpe.vocab());
        for song in &songs {
            assert_eq!(
                back.encode_ids(song).unwrap(),
                bpe.encode_ids(song).unwrap()
            );
        }
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let (bpe, _) = trained("bar", 80);
    let size = bpe.vocab_size() as TokenId;
    assert!(matches!(
        bpe.encode_ids(&[4, 999]),
        Err(TokenizeError::UnknownId { id: 999, .. })
    ));
    assert!(matches!(
        bpe.decode_ids(&[size]),
        Err(TokenizeError::UnknownId { .. })
    ));
    assert_eq!(bpe.encode_ids(&[]).unwrap(), Vec::<TokenId>::new());

    let too_small = Bpe::train(Box::new(Mock::new("bar")), corpus(2, 1).into_iter(), 30);
    assert!(matches!(too_small, Err(TokenizeError::Config(_))));
    let beat = Bpe::train(Box::new(Mock::new("beat")), corpus(2, 1).into_iter(), 80);
    assert!(matches!(beat, Err(TokenizeError::Unsupported(_))));

    let mut json = bpe.to_json();
    json["_model"] = Value::from("{not json");
    assert!(Bpe::from_json(&json, Box::new(Mock::new("bar"))).is_err());
    let mut json = bpe.to_json();
    json["_vocab_base"]["Bar_None"] = Value::from(7);
    assert!(matches!(
        Bpe::from_json(&json, Box::new(Mock::new("bar"))),
        Err(TokenizeError::Config(_))
    ));
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/bpe/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn id_lists(value: &Value) -> Vec<Vec<TokenId>> {
    serde_json::from_value(value.clone()).unwrap()
}

#[test]
fn miditok_tokenizer_json_encodes_like_miditok() {
    let saved = fixture("tokenizer.json");
    let bpe = Bpe::from_json(&saved, Box::new(Mock::from_saved(&saved))).unwrap();
    assert_eq!(bpe.vocab_size(), 450);
    let encoded = fixture("encoded.json");
    for file in encoded["files"].as_array().unwrap() {
        let (base, expected) = (id_lists(&file["base_ids"]), id_lists(&file["bpe_ids"]));
        for (base, expected) in base.iter().zip(&expected) {
            assert_eq!(&bpe.encode_ids(base).unwrap(), expected, "{}", file["name"]);
            assert_eq!(&bpe.decode_ids(expected).unwrap(), base, "{}", file["name"]);
        }
    }
    // Saving gives back MidiTok's BPE fields.
    let ours = bpe.to_json();
    for key in ["_vocab_base", "_vocab_base_byte_to_token"] {
        assert_eq!(ours[key], saved[key], "{key}");
    }
    let model = |v: &Value| -> Value { serde_json::from_str(v.as_str().unwrap()).unwrap() };
    assert_eq!(model(&ours["_model"]), model(&saved["_model"]));
}

#[test]
fn training_on_miditok_base_ids_learns_miditok_merges() {
    let saved = fixture("tokenizer.json");
    let encoded = fixture("encoded.json");
    let training: Vec<Vec<TokenId>> = encoded["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["training"] == true)
        .flat_map(|f| id_lists(&f["base_ids"]))
        .collect();
    let vocab_size = encoded["vocab_size"].as_u64().unwrap() as usize;
    let base = Box::new(Mock::from_saved(&saved));
    let bpe = Bpe::train(base, training.into_iter(), vocab_size).unwrap();
    let model = |v: &Value| -> Value { serde_json::from_str(v.as_str().unwrap()).unwrap() };
    let (ours, theirs) = (model(&bpe.to_json()["_model"]), model(&saved["_model"]));
    assert_eq!(ours["model"]["merges"], theirs["model"]["merges"]);
    assert_eq!(ours, theirs);
}

/// Peak memory of training on a POP909-sized corpus (~25M base ids, mostly distinct bars).
/// Run by hand: `cargo test -p midigpt-tokenize --test bpe -- --ignored --nocapture` under
/// `/usr/bin/time -v`.
#[test]
#[ignore]
fn train_on_25m_ids() {
    let mut rng = Rng(42);
    let total = 25_000_000usize;
    let mut produced = 0usize;
    // 3000 songs of ~8300 ids: bars of 4 to 60 ids, varied enough that most bars differ.
    let songs = std::iter::from_fn(|| {
        if produced >= total {
            return None;
        }
        let mut song = Vec::with_capacity(9000);
        while song.len() < 8300 {
            song.push(4);
            let notes = 2 + rng.below(29);
            for _ in 0..notes {
                song.push(5 + rng.below(24) as TokenId);
                song.push(29 + rng.below(8) as TokenId);
            }
        }
        produced += song.len();
        Some(song)
    });
    let start = std::time::Instant::now();
    let bpe = Bpe::train(Box::new(Mock::new("bar")), songs, 1000).unwrap();
    eprintln!(
        "trained {} tokens on {produced} ids in {:?}",
        bpe.vocab_size(),
        start.elapsed()
    );
}

/// Peak memory of training on real base ids: `BPE_IDS_U16` names a file of little-endian
/// u16 REMI ids (MidiTok's default REMI vocabulary, as in the fixture), sequences separated
/// by 0xFFFF. Run by hand under `/usr/bin/time -v`, like the test above.
#[test]
#[ignore]
fn train_on_id_dump() {
    let Ok(path) = std::env::var("BPE_IDS_U16") else {
        eprintln!("BPE_IDS_U16 not set; nothing to do");
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let vocab_size: usize = std::env::var("BPE_VOCAB_SIZE").map_or(20_000, |v| v.parse().unwrap());
    // Streamed, as a real corpus would be: only the raw file (2 bytes per id) stays resident.
    let mut ids = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]));
    let mut total = 0;
    let songs = std::iter::from_fn(|| {
        let song: Vec<TokenId> = ids
            .by_ref()
            .take_while(|&id| id != u16::MAX)
            .map(TokenId::from)
            .collect();
        total += song.len();
        (!song.is_empty()).then_some(song)
    });
    let saved = fixture("tokenizer.json");
    let start = std::time::Instant::now();
    let bpe = Bpe::train(Box::new(Mock::from_saved(&saved)), songs, vocab_size).unwrap();
    eprintln!(
        "trained {} tokens on {total} ids in {:?}",
        bpe.vocab_size(),
        start.elapsed()
    );
}
