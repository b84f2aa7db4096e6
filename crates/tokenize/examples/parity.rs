//! Compares midigpt's tokens with MidiTok reference files.
//!
//! `cargo run --release -p midigpt-tokenize --example parity -- MIDI_ROOT REF_DIR...`
//!
//! Each `REF_DIR` holds `tokenizer_<config>.json` and either `<name>__<config>.json` files
//! (one per MIDI file, with a `source` path relative to `MIDI_ROOT`) or `<config>.jsonl`
//! files (one line per MIDI file, as `bench/miditok_sweep.py` writes them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use midigpt_tokenize::{load_tokenizer, Tokenizer};
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (root, dirs) = args
        .split_first()
        .ok_or("usage: parity MIDI_ROOT REF_DIR...")?;
    let (mut same, mut differ, mut failed) = (0, 0, 0);
    for dir in dirs {
        let mut tokenizers: HashMap<String, Box<dyn Tokenizer>> = HashMap::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            if let Some(config) = name.strip_suffix(".jsonl") {
                let tokenizer =
                    load_tokenizer(Path::new(dir).join(format!("tokenizer_{config}.json")))?;
                let counts = sweep(root, &path, tokenizer.as_ref())?;
                println!(
                    "{config}: {} same, {} differ, {} failed, {} both failed",
                    counts.0, counts.1, counts.2, counts.3
                );
                (same, differ, failed) = (same + counts.0, differ + counts.1, failed + counts.2);
                continue;
            }
            let Some((_, config)) = name.strip_suffix(".json").and_then(|n| n.split_once("__"))
            else {
                continue;
            };
            let reference: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
            if !tokenizers.contains_key(config) {
                tokenizers.insert(
                    config.to_string(),
                    load_tokenizer(Path::new(dir).join(format!("tokenizer_{config}.json")))?,
                );
            }
            let tokenizer = &tokenizers[config];
            let source = reference["source"].as_str().unwrap_or_default();
            let score = match midigpt_midi::Score::from_file(Path::new(root).join(source)) {
                Ok(s) => s,
                Err(e) => {
                    println!("LOAD FAIL {name}: {e}");
                    failed += 1;
                    continue;
                }
            };
            let ids = match tokenizer.encode(&score) {
                Ok(ids) => ids,
                Err(e) => {
                    println!("ENCODE FAIL {name}: {e}");
                    failed += 1;
                    continue;
                }
            };
            let want: Vec<Vec<String>> = serde_json::from_value(reference["tokens"].clone())?;
            let got: Vec<Vec<String>> = ids
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|&i| tokenizer.vocab().token(i).unwrap_or("?").to_string())
                        .collect()
                })
                .collect();
            if got == want {
                same += 1;
            } else {
                differ += 1;
                report(&name, &want, &got);
            }
        }
    }
    println!("{same} same, {differ} differ, {failed} failed");
    Ok(())
}

fn report(name: &str, want: &[Vec<String>], got: &[Vec<String>]) {
    if want.len() != got.len() {
        let lens = |v: &[Vec<String>]| v.iter().map(Vec::len).collect::<Vec<_>>();
        println!(
            "DIFF {name}: {} sequences {:?} vs reference {} {:?}",
            got.len(),
            lens(got),
            want.len(),
            lens(want)
        );
        return;
    }
    for (si, (w, g)) in want.iter().zip(got).enumerate() {
        if let Some(i) = (0..w.len().max(g.len())).find(|&i| w.get(i) != g.get(i)) {
            let from = i.saturating_sub(6);
            println!(
                "DIFF {name} seq {si} at {i} (len {} vs ref {})\n  got {:?}\n  ref {:?}",
                g.len(),
                w.len(),
                &g[from..(i + 6).min(g.len())],
                &w[from..(i + 6).min(w.len())]
            );
            return;
        }
    }
}

/// Compares every line of a sweep file: (same, differ, failed here only, failed in both).
fn sweep(
    root: &str,
    jsonl: &Path,
    tokenizer: &dyn Tokenizer,
) -> Result<(usize, usize, usize, usize), Box<dyn std::error::Error>> {
    let mut counts = (0, 0, 0, 0);
    for line in std::fs::read_to_string(jsonl)?.lines() {
        let row: Value = serde_json::from_str(line)?;
        let rel = row["path"].as_str().unwrap_or_default();
        let ours = midigpt_midi::Score::from_file(Path::new(root).join(rel))
            .map_err(|e| e.to_string())
            .and_then(|s| tokenizer.encode(&s).map_err(|e| e.to_string()));
        match (ours, row.get("ids")) {
            (Ok(ids), Some(want)) => {
                let want: Vec<Vec<u32>> = serde_json::from_value(want.clone())?;
                if ids == want {
                    counts.0 += 1;
                } else {
                    counts.1 += 1;
                    let tokens = |v: &[Vec<u32>]| -> Vec<Vec<String>> {
                        v.iter()
                            .map(|s| {
                                s.iter()
                                    .map(|&i| tokenizer.vocab().token(i).unwrap_or("?").to_string())
                                    .collect()
                            })
                            .collect()
                    };
                    report(rel, &tokens(&want), &tokens(&ids));
                }
            }
            (Err(e), Some(_)) => {
                counts.2 += 1;
                println!("FAIL {rel}: {e} (MidiTok tokenized it)");
            }
            (Ok(_), None) => {
                counts.0 += 1;
                println!(
                    "NOTE {rel}: MidiTok failed ({}), midigpt tokenized it",
                    row["error"]
                );
            }
            (Err(e), None) => {
                counts.3 += 1;
                println!("BOTH FAIL {rel}: {e} / {}", row["error"]);
            }
        }
    }
    Ok(counts)
}
