//! `prepare --bpe` streams the corpus through BPE training: its memory does not grow with the
//! number of files, only with the distinct words (bars).
//!
//! This test binary counts every heap allocation, and compares the peak of `prepare` with BPE
//! on 300 files and on 2,400 files made of the same eight bars. Holding every sequence, as a
//! corpus-sized buffer would, costs about 4.4 KB per file here (10 MB more for the larger run).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use midigpt_data::{prepare, NoProgress, PrepareOptions};
use midigpt_midi::{Note, Score, Track};
use midigpt_tokenize::builtin;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// 64 bars, each one of eight four-note patterns chosen by `seed`: every file differs (no
/// duplicates to drop), the bars do not.
fn song(seed: u64) -> Vec<u8> {
    let mut score = Score::new(480);
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut notes = Vec::new();
    for bar in 0..64u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let pattern = (x % 8) as u8;
        for beat in 0..4u32 {
            notes.push(Note {
                time: (bar * 4 + beat) * 480,
                duration: 480,
                pitch: 48 + pattern * 3 + beat as u8 * 2,
                velocity: 80,
            });
        }
    }
    score.tracks.push(Track {
        notes,
        ..Default::default()
    });
    score.to_bytes().unwrap()
}

/// Peak heap bytes above the start while preparing `files` songs with BPE.
fn peak_of_prepare(files: u64, root: &Path) -> usize {
    let input = root.join(format!("midi{files}"));
    std::fs::create_dir_all(&input).unwrap();
    for i in 0..files {
        std::fs::write(input.join(format!("{i:05}.mid")), song(i)).unwrap();
    }
    let output = root.join(format!("data{files}"));
    let mut options = PrepareOptions::new(&input, &output);
    options.threads = Some(2);
    let tokenizer = builtin("remi").unwrap();
    options.bpe_vocab_size = Some(tokenizer.vocab_size() + 20);
    let start = CURRENT.load(Ordering::Relaxed);
    PEAK.store(start, Ordering::Relaxed);
    let meta = prepare(tokenizer, &options, &NoProgress).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - start;
    assert_eq!(meta.counts.files_ok as u64, files);
    assert_eq!(meta.counts.files_duplicate, 0);
    peak
}

#[test]
fn bpe_memory_does_not_grow_with_the_corpus() {
    let root = tempfile::tempdir().unwrap();
    let small = peak_of_prepare(300, root.path());
    let large = peak_of_prepare(2_400, root.path());
    // 2,100 more files: per-file bookkeeping (paths, hashes, meta.json entries) is ~0.5 KB
    // each; the sequences themselves would be ~9 MB more.
    let growth = large.saturating_sub(small);
    assert!(
        growth < 3 << 20,
        "peak grew by {growth} bytes ({small} -> {large}) for 8x the files"
    );
}
