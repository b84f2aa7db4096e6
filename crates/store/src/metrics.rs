//! `RUN/metrics.jsonl`: one JSON object per logged loss, appended and flushed line by line, so
//! a crashed run keeps every line it logged and a plot can be drawn while training runs.
//!
//! A line looks like
//! `{"step":250,"split":"val","loss":2.41,"lr":0.00098,"elapsed_s":61.2}`; train lines carry
//! `tokens_per_s` too, and the training loop may add its own keys (`grad_norm`, `mfu`, ...).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Split;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::write_file;

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    /// The step the loss was measured at (0-based; train losses are logged after the
    /// optimizer step of that index, val losses at evaluation before it).
    pub step: u64,
    /// `"train"` or `"val"`.
    pub split: Split,
    /// Mean cross-entropy loss (nats per token). Always finite in files written now; read
    /// as NaN from the `null` that older versions wrote for a diverged loss.
    #[serde(deserialize_with = "number_or_null")]
    pub loss: f64,
    /// Learning rate of the step.
    pub lr: f64,
    /// Training throughput over the last logging interval, for train lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    /// Seconds since the run started (time before a resume included).
    pub elapsed_s: f64,
    /// Further values the training loop logs, kept in order.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl MetricRecord {
    /// A record without extra values.
    pub fn new(step: u64, split: Split, loss: f64, lr: f64, elapsed_s: f64) -> MetricRecord {
        MetricRecord {
            step,
            split,
            loss,
            lr,
            tokens_per_s: None,
            elapsed_s,
            extra: serde_json::Map::new(),
        }
    }
}

/// Appends records to a metrics file.
#[derive(Debug)]
pub struct MetricsWriter {
    path: PathBuf,
    file: File,
}

impl MetricsWriter {
    /// Starts a new, empty file at `path` (replacing any).
    pub fn create(path: &Path) -> Result<MetricsWriter, StoreError> {
        let file = File::create(path).map_err(StoreError::io(path))?;
        Ok(MetricsWriter {
            path: path.to_owned(),
            file,
        })
    }

    /// Continues the file of a run resumed from the checkpoint of step `step`: lines with
    /// `step >= step` (and a torn last line) are dropped, so that after the resumed run
    /// logs them again the file equals that of a run never interrupted. The other lines are
    /// kept byte for byte. A missing file starts empty.
    pub fn resume(path: &Path, step: u64) -> Result<MetricsWriter, StoreError> {
        let kept = match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut kept = String::new();
                for (line, record) in parse_lines(path, &text)? {
                    if record.step < step {
                        kept.push_str(line);
                        kept.push('\n');
                    }
                }
                kept
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(StoreError::io(path)(e)),
        };
        write_file(path, kept.as_bytes())?;
        let file = File::options()
            .append(true)
            .open(path)
            .map_err(StoreError::io(path))?;
        Ok(MetricsWriter {
            path: path.to_owned(),
            file,
        })
    }

    /// Appends one line. The line goes to the OS in one write, so a crash leaves whole lines
    /// (a torn last line at worst, which readers skip). A loss that is not a finite number
    /// is refused: JSON cannot hold it (it would be written as `null`).
    pub fn append(&mut self, record: &MetricRecord) -> Result<(), StoreError> {
        if !record.loss.is_finite() {
            return Err(StoreError::Json {
                path: self.path.clone(),
                message: format!(
                    "step {}: loss {} is not a number JSON holds",
                    record.step, record.loss
                ),
            });
        }
        let mut line = serde_json::to_string(record).expect("a MetricRecord serializes");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(StoreError::io(&self.path))
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads every record of a metrics file, in file order.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricRecord>, StoreError> {
    let text = std::fs::read_to_string(path).map_err(StoreError::io(path))?;
    Ok(parse_lines(path, &text)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// A number, or NaN for `null` (how serde_json writes NaN and infinities).
fn number_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Parses the lines of a metrics file. A last line without its newline that does not parse
/// is a write torn by a crash and is skipped; any other bad line is an error.
fn parse_lines<'a>(path: &Path, text: &'a str) -> Result<Vec<(&'a str, MetricRecord)>, StoreError> {
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => records.push((*line, record)),
            Err(_) if !complete && i + 1 == lines.len() => {}
            Err(e) => {
                return Err(StoreError::Json {
                    path: path.to_owned(),
                    message: format!("line {}: {e}", i + 1),
                })
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(step: u64, split: Split) -> MetricRecord {
        let mut r = MetricRecord::new(
            step,
            split,
            4.0 / (step + 1) as f64,
            1e-3,
            step as f64 * 0.1,
        );
        if split == Split::Train {
            r.tokens_per_s = Some(12_345.5);
            r.extra.insert("grad_norm".into(), 0.75.into());
        }
        r
    }

    fn log(writer: &mut MetricsWriter, steps: std::ops::Range<u64>) {
        for step in steps {
            if step % 5 == 0 {
                writer.append(&record(step, Split::Val)).unwrap();
            }
            writer.append(&record(step, Split::Train)).unwrap();
        }
    }

    #[test]
    fn lines_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut writer = MetricsWriter::create(&path).unwrap();
        log(&mut writer, 0..3);
        let records = read_metrics(&path).unwrap();
        assert_eq!(
            records,
            vec![
                record(0, Split::Val),
                record(0, Split::Train),
                record(1, Split::Train),
                record(2, Split::Train)
            ]
        );
        let first = std::fs::read_to_string(&path).unwrap();
        assert!(
            first.starts_with(r#"{"step":0,"split":"val","loss":4.0,"lr":0.001,"elapsed_s":0.0}"#)
        );
        assert!(first.contains(r#""tokens_per_s":12345.5,"elapsed_s":0.0,"grad_norm":0.75}"#));
    }

    #[test]
    fn resume_drops_lines_past_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole.jsonl");
        let mut writer = MetricsWriter::create(&whole).unwrap();
        log(&mut writer, 0..20);

        // Interrupted at step 17 after a checkpoint of step 10, with a torn last line.
        let cut = dir.path().join("cut.jsonl");
        let mut writer = MetricsWriter::create(&cut).unwrap();
        log(&mut writer, 0..17);
        drop(writer);
        let mut f = File::options().append(true).open(&cut).unwrap();
        f.write_all(br#"{"step":17,"spl"#).unwrap();

        let mut writer = MetricsWriter::resume(&cut, 10).unwrap();
        assert!(read_metrics(&cut).unwrap().iter().all(|r| r.step < 10));
        log(&mut writer, 10..20);
        assert_eq!(std::fs::read(&cut).unwrap(), std::fs::read(&whole).unwrap());
    }

    #[test]
    fn null_losses_of_older_runs_read_as_nan_and_are_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        std::fs::write(
            &path,
            "{\"step\":0,\"split\":\"train\",\"loss\":2.5,\"lr\":0.001,\"elapsed_s\":0.1}\n\
             {\"step\":1,\"split\":\"train\",\"loss\":null,\"lr\":0.001,\"elapsed_s\":0.2}\n",
        )
        .unwrap();
        let records = read_metrics(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert!(records[1].loss.is_nan());
        let mut writer = MetricsWriter::resume(&path, 2).unwrap();
        let err = writer
            .append(&MetricRecord::new(
                2,
                Split::Train,
                f64::INFINITY,
                1e-3,
                0.3,
            ))
            .unwrap_err();
        assert!(err.to_string().contains("step 2"), "{err}");
        assert_eq!(read_metrics(&path).unwrap().len(), 2);
    }

    #[test]
    fn corrupt_middle_line_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        std::fs::write(&path, "{\"step\":0}\n").unwrap();
        let err = read_metrics(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        let missing = dir.path().join("none.jsonl");
        MetricsWriter::resume(&missing, 5).unwrap();
        assert!(read_metrics(&missing).unwrap().is_empty());
    }
}
