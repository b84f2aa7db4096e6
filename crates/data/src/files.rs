//! Finding MIDI files, and the split a file's content goes to.

use std::path::{Path, PathBuf};

use crate::DataError;

/// Extensions recognised as MIDI, compared case-insensitively.
const MIDI_EXTENSIONS: [&str; 3] = ["mid", "midi", "rmi"];

/// Which shard a document goes to (the split a run's metrics name too).
pub use midigpt_store::Split;

/// A MIDI file below the input folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MidiFile {
    /// Full path, for reading.
    pub path: PathBuf,
    /// Path relative to the input folder with `/` separators: the file's name in `meta.json`.
    pub relative: String,
}

/// Every MIDI file below `dir`, recursively, sorted by relative path. Symbolic links to
/// files are followed; links to folders are not (they could loop).
pub fn find_midi_files(dir: &Path) -> Result<Vec<MidiFile>, DataError> {
    if !dir.is_dir() {
        return Err(DataError::NotAFolder(dir.to_path_buf()));
    }
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let entries = std::fs::read_dir(&folder).map_err(DataError::io(&folder))?;
        for entry in entries {
            let entry = entry.map_err(DataError::io(&folder))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(DataError::io(&path))?;
            if kind.is_dir() {
                stack.push(path);
            } else if is_midi(&path) && (kind.is_file() || path.is_file()) {
                let relative = relative_name(dir, &path);
                found.push(MidiFile { path, relative });
            }
        }
    }
    found.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(found)
}

fn is_midi(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    MIDI_EXTENSIONS.iter().any(|m| ext.eq_ignore_ascii_case(m))
}

/// `path` relative to `dir`, components joined by `/` on every platform.
fn relative_name(dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

/// 64-bit FNV-1a: a fixed hash, identical on every run and platform (unlike std's
/// randomly seeded `DefaultHasher`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The split of a file, from the hash of its content ([`fnv1a`] of its bytes): a file stays in
/// the same split however the folder around it changes or it is renamed, and copies of one
/// file always share a split. About `val_fraction` of the files go to validation.
pub fn split_of(content_hash: u64, val_fraction: f64) -> Split {
    if unit(content_hash) < val_fraction {
        Split::Val
    } else {
        Split::Train
    }
}

/// The top 53 bits of a hash as a uniform number in [0, 1).
pub(crate) fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn split_fraction_is_roughly_respected() {
        let hashes: Vec<u64> = (0..10_000)
            .map(|i| fnv1a(format!("MThd song {i}").as_bytes()))
            .collect();
        let val = hashes
            .iter()
            .filter(|&&h| split_of(h, 0.05) == Split::Val)
            .count();
        assert!((350..650).contains(&val), "{val} of 10000 in val");
        assert!(hashes.iter().all(|&h| split_of(h, 0.0) == Split::Train));
        assert!(hashes.iter().all(|&h| split_of(h, 1.0) == Split::Val));
    }

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(is_midi(Path::new("a/B.MID")));
        assert!(is_midi(Path::new("c.Midi")));
        assert!(is_midi(Path::new("d.rmi")));
        assert!(!is_midi(Path::new("e.txt")));
        assert!(!is_midi(Path::new("mid")));
    }
}
