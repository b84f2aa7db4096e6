//! The files a run encodes: byte-identical copies dropped, each remaining file assigned to a
//! split by its content, and both splits non-empty.
//!
//! Real corpora repeat themselves (the Lakh MIDI dataset holds many byte-identical files, and
//! merged corpora share songs). A copy adds nothing to training, and a copy on each side of
//! the split leaks training data into validation. So every file is read and hashed first; the
//! first file of each content (in path order) is kept, the others are listed in `meta.json`
//! as duplicates of it, and the split follows the content hash, so any copy lands where the
//! kept one did.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::files::unit;
use crate::meta::Duplicate;
use crate::{fnv1a, split_of, MidiFile, Progress, Split};

/// A file to encode and its split.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// The file.
    pub file: MidiFile,
    /// Where its documents go.
    pub split: Split,
    /// Its content hash (of its path, when it could not be read: the encoder then reports why).
    key: u64,
}

/// What [`catalog`] found.
#[derive(Debug)]
pub(crate) struct Catalog {
    /// Files to encode, in path order.
    pub jobs: Vec<Job>,
    /// Files left out as byte-identical copies of an earlier one.
    pub duplicates: Vec<Duplicate>,
}

/// Hashes every file (in parallel), drops duplicates and assigns splits.
pub(crate) fn catalog(files: Vec<MidiFile>, val_fraction: f64, progress: &dyn Progress) -> Catalog {
    progress.stage("hashing", files.len() as u64);
    let hashes: Vec<Option<u64>> = files
        .par_iter()
        .map(|file| {
            // A file that cannot be read (or is too large) is encoded anyway, so that the
            // encoder's error lists it among the skipped files.
            let hash = midigpt_midi::read_file_bytes(&file.path)
                .ok()
                .map(|bytes| fnv1a(&bytes));
            progress.advance();
            hash
        })
        .collect();
    let mut first_of: HashMap<u64, usize> = HashMap::new();
    let mut jobs: Vec<Job> = Vec::with_capacity(files.len());
    let mut duplicates = Vec::new();
    for (file, hash) in files.into_iter().zip(hashes) {
        let key = match hash {
            Some(hash) => match first_of.get(&hash) {
                Some(&kept) => {
                    duplicates.push(Duplicate {
                        path: file.relative,
                        same_as: jobs[kept].file.relative.clone(),
                    });
                    continue;
                }
                None => {
                    first_of.insert(hash, jobs.len());
                    hash
                }
            },
            None => fnv1a(file.relative.as_bytes()),
        };
        let split = split_of(key, val_fraction);
        jobs.push(Job { file, split, key });
    }
    balance(&mut jobs);
    Catalog { jobs, duplicates }
}

/// With two or more files, makes sure neither split is empty: a small folder at the default
/// fraction easily draws no validation file, and training needs both. The file moved is the
/// one whose hash comes closest to the other side, so the choice is as stable as the split.
/// A single file goes to training (one file cannot make a validation split).
fn balance(jobs: &mut [Job]) {
    if let [only] = jobs {
        only.split = Split::Train;
    }
    if jobs.len() < 2 {
        return;
    }
    for (missing, from) in [(Split::Val, Split::Train), (Split::Train, Split::Val)] {
        if jobs.iter().any(|j| j.split == missing) {
            continue;
        }
        let closest = match missing {
            Split::Val => jobs
                .iter_mut()
                .min_by(|a, b| unit(a.key).total_cmp(&unit(b.key))),
            Split::Train => jobs
                .iter_mut()
                .max_by(|a, b| unit(a.key).total_cmp(&unit(b.key))),
        };
        if let Some(job) = closest.filter(|j| j.split == from) {
            job.split = missing;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(key: u64, split: Split) -> Job {
        Job {
            file: MidiFile {
                path: format!("{key}.mid").into(),
                relative: format!("{key}.mid"),
            },
            split,
            key,
        }
    }

    #[test]
    fn balance_moves_the_closest_file() {
        let mut jobs = vec![
            job(9 << 60, Split::Train),
            job(2 << 60, Split::Train),
            job(5 << 60, Split::Train),
        ];
        balance(&mut jobs);
        let val: Vec<u64> = jobs
            .iter()
            .filter(|j| j.split == Split::Val)
            .map(|j| j.key)
            .collect();
        assert_eq!(val, [2 << 60]);

        let mut jobs = vec![job(1 << 60, Split::Val), job(7 << 60, Split::Val)];
        balance(&mut jobs);
        assert_eq!(jobs[1].split, Split::Train);
        assert_eq!(jobs[0].split, Split::Val);

        let mut one = vec![job(1, Split::Val)];
        balance(&mut one);
        assert_eq!(one[0].split, Split::Train);
    }
}
