//! Token shards: ids back to back, little-endian, written through a temporary file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use midigpt_tokenize::TokenId;
use serde::{Deserialize, Serialize};

use crate::DataError;

/// Width of one id in a shard file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 2 bytes, little-endian: vocabularies of at most 65,536 ids.
    U16,
    /// 4 bytes, little-endian.
    U32,
}

impl Dtype {
    /// The narrowest width that holds every id of a vocabulary of `vocab_size`.
    pub fn for_vocab(vocab_size: usize) -> Dtype {
        if vocab_size <= 1 << 16 {
            Dtype::U16
        } else {
            Dtype::U32
        }
    }

    /// Bytes per id.
    pub fn size(self) -> usize {
        match self {
            Dtype::U16 => 2,
            Dtype::U32 => 4,
        }
    }
}

/// Writes one shard to `<name>.tmp`, streaming; [`ShardWriter::finish`] flushes it, and the
/// caller renames it into place once every output is complete.
pub struct ShardWriter {
    out: BufWriter<File>,
    tmp: PathBuf,
    dtype: Dtype,
    tokens: u64,
    bytes: Vec<u8>,
}

impl ShardWriter {
    /// Creates (or truncates) `path` + `.tmp`.
    pub fn create(path: &Path, dtype: Dtype) -> Result<ShardWriter, DataError> {
        let tmp = tmp_path(path);
        let file = File::create(&tmp).map_err(DataError::io(&tmp))?;
        Ok(ShardWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            tmp,
            dtype,
            tokens: 0,
            bytes: Vec::new(),
        })
    }

    /// Number of ids written so far: the offset of the next document.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Appends ids. Callers pass ids below the vocabulary size, which [`Dtype::for_vocab`]
    /// guarantees fit.
    pub fn write(&mut self, ids: &[TokenId]) -> Result<(), DataError> {
        // One conversion into a reused buffer, one write: far cheaper than a write per id.
        self.bytes.clear();
        match self.dtype {
            Dtype::U16 => ids
                .iter()
                .for_each(|&id| self.bytes.extend((id as u16).to_le_bytes())),
            Dtype::U32 => ids
                .iter()
                .for_each(|&id| self.bytes.extend(id.to_le_bytes())),
        }
        self.out
            .write_all(&self.bytes)
            .map_err(DataError::io(&self.tmp))?;
        self.tokens += ids.len() as u64;
        Ok(())
    }

    /// Flushes and syncs the temporary file; returns its path.
    pub fn finish(self) -> Result<PathBuf, DataError> {
        let tmp = self.tmp;
        let file = self.out.into_inner().map_err(|e| DataError::Io {
            path: tmp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(DataError::io(&tmp))?;
        Ok(tmp)
    }
}

/// `path` with `.tmp` appended to its file name.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Reads a whole shard back as ids.
pub fn read_shard(path: &Path, dtype: Dtype) -> Result<Vec<TokenId>, DataError> {
    let bytes = std::fs::read(path).map_err(DataError::io(path))?;
    Ok(match dtype {
        Dtype::U16 => bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as TokenId)
            .collect(),
        Dtype::U32 => bytes
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_boundary() {
        assert_eq!(Dtype::for_vocab(65_536), Dtype::U16);
        assert_eq!(Dtype::for_vocab(65_537), Dtype::U32);
    }

    #[test]
    fn write_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        for dtype in [Dtype::U16, Dtype::U32] {
            let path = dir.path().join("s.bin");
            let mut w = ShardWriter::create(&path, dtype).unwrap();
            w.write(&[1, 2, 65_535]).unwrap();
            w.write(&[7]).unwrap();
            assert_eq!(w.tokens(), 4);
            let tmp = w.finish().unwrap();
            assert_eq!(tmp, dir.path().join("s.bin.tmp"));
            assert_eq!(
                std::fs::metadata(&tmp).unwrap().len(),
                4 * dtype.size() as u64
            );
            assert_eq!(read_shard(&tmp, dtype).unwrap(), vec![1, 2, 65_535, 7]);
        }
    }
}
