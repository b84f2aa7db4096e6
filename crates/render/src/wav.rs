//! From the synthesizers' mix to a WAV file: a fade at the cut, peak normalisation, 16-bit
//! samples, written atomically.

use std::path::Path;

use midigpt_store::write_atomic_with;

use crate::error::RenderError;

/// Peak level after normalisation: -1 dBFS, a little headroom so that no sample reaches full
/// scale (and lossy encoders or resamplers downstream do not clip).
pub const PEAK_DBFS: f32 = -1.0;

/// Seconds of fade-out at the very end: voices that still ring there (a crash cymbal, a
/// SoundFont's long release or reverb) are cut without a click.
const END_FADE_SECONDS: f32 = 0.05;

/// Fades out the end of `samples` (interleaved stereo) and scales its peak to [`PEAK_DBFS`].
/// Silence stays silence.
pub(crate) fn finish(samples: &mut [f32], sample_rate: u32) {
    let frames = samples.len() / 2;
    let fade = ((END_FADE_SECONDS * sample_rate as f32) as usize).min(frames);
    for (i, frame) in samples[2 * (frames - fade)..]
        .chunks_exact_mut(2)
        .enumerate()
    {
        let gain = 1.0 - (i + 1) as f32 / fade as f32;
        frame.iter_mut().for_each(|v| *v *= gain);
    }
    let peak = samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.0 && peak.is_finite() {
        let gain = 10f32.powf(PEAK_DBFS / 20.0) / peak;
        samples.iter_mut().for_each(|v| *v *= gain);
    }
}

/// Writes interleaved stereo `samples` in [-1, 1] as a 16-bit stereo WAV file, encoded
/// straight into a temporary file (no second copy of a long song in memory) that is then
/// renamed, so `path` never holds half a file.
pub(crate) fn write_wav(samples: &[f32], sample_rate: u32, path: &Path) -> Result<(), RenderError> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    // hound's errors carry I/O errors inside; they travel back as one.
    let io = |e: hound::Error| match e {
        hound::Error::IoError(e) => e,
        other => std::io::Error::other(other.to_string()),
    };
    write_atomic_with(path, |tmp| {
        let mut writer = hound::WavWriter::create(tmp, spec).map_err(io)?;
        let mut block = writer.get_i16_writer(samples.len() as u32);
        for &v in samples {
            block.write_sample((v.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16);
        }
        block.flush().map_err(io)?;
        writer.finalize().map_err(io)
    })
    .map_err(|source| RenderError::Io {
        path: path.to_owned(),
        source,
    })
}
