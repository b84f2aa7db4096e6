//! Writing a file so that readers see the old one or the new one, never a part.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary files written by this process so far: with the process id, a name no other
/// writer of the same file uses at the same time (two threads saving one file each write
/// their own temporary file, and the last rename wins whole).
static WRITES: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: a temporary file of a unique name in the same
/// folder, synced to disk, then renamed over `path`. On failure the temporary file is
/// removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |tmp| std::fs::File::create(tmp)?.write_all(bytes))
}

/// [`write_atomic`] with the content written by `fill` into the temporary file it is given
/// (a serializer that writes files itself, say); then synced and renamed over `path`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temporary_name(path);
    let result = fill(&tmp).and_then(|()| std::fs::File::open(&tmp)?.sync_all());
    result
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp); // the error that matters is returned
        })
}

/// `.NAME.tmp-PID-N` beside `path`.
fn temporary_name(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let failed = write_atomic_with(&path, |_| Err(std::io::Error::other("full")));
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_differ_per_write() {
        let path = Path::new("x/model.safetensors");
        assert_ne!(temporary_name(path), temporary_name(path));
        assert_eq!(temporary_name(path).parent(), Some(Path::new("x")));
    }

    #[test]
    fn threads_writing_one_file_never_mix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.bin");
        std::thread::scope(|s| {
            for byte in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_atomic(path, &[byte; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|&b| b == bytes[0]));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
