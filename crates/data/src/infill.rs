//! Infill training examples drawn inside the ordinary loop: a fraction of each batch's
//! windows becomes bar-fill examples ([`midigpt_tokenize::infill`]), drawn from a seed the
//! trainer derives from the run's seed and the step, so a resumed run draws the same ones.
//!
//! A window is cut at its first special token (documents lie back to back with BOS/EOS
//! between them): the longest stretch of one document is transformed, the rest stays. A
//! hole is 1 to 8 whole bars of that stretch (all of them one time in ten), of one program
//! present in it (70%), a random subset (20%) or all (10%); REMI sequences hold one track,
//! which is filled whole. The example is longer than the window by the fill's markers: the
//! tokens after the stretch go first, then those before the hole, then the last ones of the
//! music after it, never the hole or the fill. The loss stays on every token, as in both MMM
//! code bases.

use std::ops::Range;

use midigpt_tokenize::infill::{atoms, make_example, AtomKind, Bars, Hole, InfillVocab, Kind};
use midigpt_tokenize::TokenId;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::Batch;

/// The most bars in a hole, except for the whole-window holes.
pub const MAX_HOLE_BARS: usize = 8;

/// Turns each row of `batch` into an infill example with probability `rate`, drawing from
/// `seed`; returns how many rows changed. Rows keep their length; `y` stays `x` shifted.
pub fn infill_batch(batch: &mut Batch, v: &InfillVocab, rate: f64, seed: u64) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t = batch.block_size;
    let mut changed = 0;
    for b in 0..batch.batch_size {
        // Drawn for every row, so one row's outcome does not shift the next row's draws.
        let (coin, row_seed) = (rng.random::<f64>(), rng.random::<u64>());
        if coin >= rate {
            continue;
        }
        let mut row = batch.x[b * t..(b + 1) * t].to_vec();
        row.push(batch.y[(b + 1) * t - 1]);
        let Some(new) = infill_row(v, &row, &mut ChaCha8Rng::seed_from_u64(row_seed)) else {
            continue;
        };
        batch.x[b * t..(b + 1) * t].copy_from_slice(&new[..t]);
        batch.y[b * t..(b + 1) * t].copy_from_slice(&new[1..]);
        changed += 1;
    }
    changed
}

/// `row` as an infill example of the same length, or `None` when it has no whole bar to
/// fill or the example does not fit.
pub fn infill_row(v: &InfillVocab, row: &[TokenId], rng: &mut impl Rng) -> Option<Vec<TokenId>> {
    let seg = longest_document(v, row);
    let ids = &row[seg.clone()];
    let hole = draw_hole(v, ids, rng)?;
    let example = make_example(v, ids, &hole)?;
    let bars = Bars::of(v, ids).bars;
    let hole_start = bars[hole.bars.start].start;
    let suffix = ids.len() - bars[hole.bars.end - 1].end;
    let mut out = row[..seg.start].to_vec();
    out.extend_from_slice(&example.tokens);
    out.extend_from_slice(&row[seg.end..]);
    let mut excess = out.len().checked_sub(row.len())?;
    // Room for the fill's markers: the next document's tokens first, then the music before
    // the hole, then the music after it (from its end, as a window's end cuts it).
    let from_tail = excess.min(row.len() - seg.end);
    out.truncate(out.len() - from_tail);
    excess -= from_tail;
    let from_front = excess.min(seg.start + hole_start);
    out.drain(..from_front);
    excess -= from_front;
    if excess > suffix {
        return None;
    }
    let fill_start = seg.start + example.fill_start - from_front;
    out.drain(fill_start - excess..fill_start);
    Some(out)
}

/// The longest stretch of `row` without a special token (one document's part).
pub fn longest_document(v: &InfillVocab, row: &[TokenId]) -> Range<usize> {
    let mut best = 0..0;
    let mut start = 0;
    for i in 0..=row.len() {
        if i == row.len() || v.kind(row[i]) == Kind::Special {
            if i - start > best.len() {
                best = start..i;
            }
            start = i + 1;
        }
    }
    best
}

/// A random hole in `ids`: whole bars (the last, which a window may cut, never), and the
/// programs to fill.
pub fn draw_hole(v: &InfillVocab, ids: &[TokenId], rng: &mut impl Rng) -> Option<Hole> {
    let bars = Bars::of(v, ids).bars;
    let whole = bars.len().checked_sub(1).filter(|&n| n > 0)?;
    let len = if rng.random_bool(0.1) {
        whole
    } else {
        rng.random_range(1..=whole.min(MAX_HOLE_BARS))
    };
    let start = rng.random_range(0..=whole - len);
    let span = start..start + len;
    if !v.programs {
        return Some(Hole {
            bars: span,
            programs: None,
        });
    }
    let range = bars[span.start].start..bars[span.end - 1].end;
    let mut present: Vec<i16> = atoms(v, ids, range)
        .iter()
        .filter_map(|a| match a.what {
            AtomKind::Note { program } => program,
            _ => None,
        })
        .collect();
    present.sort_unstable();
    present.dedup();
    if present.is_empty() {
        return None;
    }
    let r = rng.random::<f64>();
    let programs = if r < 0.7 {
        vec![present[rng.random_range(0..present.len())]]
    } else if r < 0.9 {
        let keep: Vec<i16> = present
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.5))
            .collect();
        match keep.is_empty() {
            true => vec![present[rng.random_range(0..present.len())]],
            false => keep,
        }
    } else {
        present
    };
    Some(Hole {
        bars: span,
        programs: Some(programs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use midigpt_midi::Score;
    use midigpt_tokenize::{builtin, with_infill_tokens, Tokenizer};

    fn setup() -> (Box<dyn Tokenizer>, InfillVocab, Vec<TokenId>) {
        let tok = with_infill_tokens(builtin("remi-plus").unwrap().as_ref()).unwrap();
        let v = InfillVocab::new(tok.as_ref()).unwrap();
        let path = "../tokenize/tests/data/midi/Funkytown.mid";
        let ids = tok
            .encode(&Score::from_file(path).unwrap())
            .unwrap()
            .remove(0);
        // Two documents back to back, as in a shard.
        let (bos, eos) = (tok.vocab().bos().unwrap(), tok.vocab().eos().unwrap());
        let mut shard = vec![bos];
        shard.extend(&ids);
        shard.extend([eos, bos]);
        shard.extend(&ids);
        (tok, v, shard)
    }

    #[test]
    fn rows_keep_their_length_and_hold_one_whole_fill() {
        let (_, v, shard) = setup();
        let t = 256;
        let mut transformed = 0;
        for (k, start) in (0..shard.len() - t - 1).step_by(97).enumerate() {
            let row = &shard[start..start + t + 1];
            let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
            let Some(new) = infill_row(&v, row, &mut rng) else {
                continue;
            };
            transformed += 1;
            assert_eq!(new.len(), row.len());
            let count = |id| new.iter().filter(|&&x| x == id).count();
            assert_eq!((count(v.fill_start), count(v.fill_end)), (1, 1));
            let (s, e) = (
                new.iter().position(|&x| x == v.fill_start).unwrap(),
                new.iter().position(|&x| x == v.fill_end).unwrap(),
            );
            assert!(s < e);
            // As many hole bars in the context as bars in the fill.
            let holes = count(v.infill_bar);
            let fill_bars = new[s..e].iter().filter(|&&x| x == v.bar).count();
            assert_eq!(holes, fill_bars, "row at {start}");
        }
        assert!(transformed > 20, "{transformed} rows transformed");
    }

    #[test]
    fn the_rate_decides_how_many_rows_change_and_the_seed_which() {
        let (_, v, shard) = setup();
        // Long enough windows for a few whole bars of this dense song (~200 tokens a bar).
        let (b, t) = (32, 1024);
        let batch = || {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for i in 0..b {
                let start = i * (shard.len() - t - 1) / b;
                x.extend_from_slice(&shard[start..start + t]);
                y.extend_from_slice(&shard[start + 1..start + t + 1]);
            }
            Batch {
                x,
                y,
                batch_size: b,
                block_size: t,
            }
        };
        let mut none = batch();
        assert_eq!(infill_batch(&mut none, &v, 0.0, 1), 0);
        assert_eq!(none, batch());
        let (mut half, mut again, mut all) = (batch(), batch(), batch());
        let n_half = infill_batch(&mut half, &v, 0.5, 7);
        assert_eq!(infill_batch(&mut again, &v, 0.5, 7), n_half);
        assert_eq!(half, again, "same seed, same examples");
        let n_all = infill_batch(&mut all, &v, 1.0, 7);

        assert!(
            n_half > 4 && n_half < n_all && n_all > 24,
            "{n_half} {n_all}"
        );
        for row in 0..b {
            let (x, y) = (
                &all.x[row * t..(row + 1) * t],
                &all.y[row * t..(row + 1) * t],
            );
            assert_eq!(x[1..], y[..t - 1], "y is x shifted");
        }
    }
}
