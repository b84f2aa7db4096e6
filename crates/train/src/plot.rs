//! `RUN/loss.png`: training and validation loss against step.
//!
//! Drawn with plotters' bitmap backend; text uses the small DejaVu Sans subset that
//! `midigpt-render` compiles into the binary, registered with plotters by
//! [`midigpt_metrics::register_plot_font`], so no system font, fontconfig or freetype is needed.

use std::path::{Path, PathBuf};

use midigpt_store::{MetricRecord, Split, StoreError};
use plotters::prelude::*;

use crate::error::TrainError;

/// Width and height of the picture, in pixels.
pub const LOSS_PLOT_SIZE: (u32, u32) = (1000, 600);

const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOR: RGBColor = RGBColor(214, 39, 40);

/// Draws the train and val losses of `records` to `path` (a `.png`), on a log-scale loss axis
/// (late improvements stay visible next to the initial drop). The picture is drawn under a
/// temporary name and renamed, so a viewer never sees half a picture. Non-finite losses are
/// skipped; with no records the axes are drawn empty.
pub fn plot_loss(records: &[MetricRecord], path: &Path) -> Result<(), TrainError> {
    midigpt_metrics::register_plot_font();
    let tmp = tmp_png(path);
    draw(records, &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        TrainError::Plot {
            path: path.to_owned(),
            message: e.to_string(),
        }
    })?;
    std::fs::rename(&tmp, path).map_err(StoreError::io(path))?;
    Ok(())
}

/// `loss.png` → `loss.tmp.png`: the extension must stay `.png`, it selects the encoder.
fn tmp_png(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.tmp.png"))
}

fn series(records: &[MetricRecord], split: Split) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter(|r| r.split == split && r.loss.is_finite() && r.loss > 0.0)
        .map(|r| (r.step as f64, r.loss))
        .collect()
}

fn draw(records: &[MetricRecord], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let train = series(records, Split::Train);
    let val = series(records, Split::Val);
    let all = || train.iter().chain(&val);
    let max_step = all().map(|p| p.0).fold(1.0, f64::max);
    let (lo, hi) = all().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    // Some margin, and at least a factor 2 of range so a flat curve does not fill the axis.
    let (lo, hi) = if lo.is_finite() {
        (lo * 0.95, hi * 1.05)
    } else {
        (1.0, 10.0)
    };
    let mid = (lo * hi).sqrt();
    let (lo, hi) = (lo.min(mid / 1.5), hi.max(mid * 1.5));

    let best = val.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let caption = match best {
        Some((step, loss)) => format!("loss   (best val {loss:.4} at step {step})"),
        None => "loss".to_owned(),
    };

    let root = BitMapBackend::new(path, LOSS_PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(
            0.0..max_step,
            (lo..hi).log_scale().with_key_points(log_ticks(lo, hi)),
        )?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss (nats per token, log scale)")
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y}"))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;

    chart
        .draw_series(LineSeries::new(train, TRAIN_COLOR.stroke_width(1)))?
        .label("train")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], TRAIN_COLOR.stroke_width(3)));
    chart
        .draw_series(LineSeries::new(val.clone(), VAL_COLOR.stroke_width(3)))?
        .label("val")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], VAL_COLOR.stroke_width(3)));
    chart.draw_series(
        val.into_iter()
            .map(|p| Circle::new(p, 4, VAL_COLOR.filled())),
    )?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Round values between `lo` and `hi` for a log axis: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times
/// powers of ten, thinned to about ten. (plotters' own log ticks are powers of ten only, which
/// leaves a loss axis spanning 1.2 to 6 without a single label.)
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powi(lo.log10().floor() as i32);
    while decade <= hi {
        for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0] {
            // Round to drop binary noise, so labels print as "0.3", not "0.30000000000000004".
            let tick = format!("{:.6e}", m * decade)
                .parse::<f64>()
                .unwrap_or(m * decade);
            if (lo..=hi).contains(&tick) {
                ticks.push(tick);
            }
        }
        decade *= 10.0;
    }
    let step = ticks.len().div_ceil(10).max(1);
    ticks.into_iter().step_by(step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(path: &Path) -> png::OutputInfo {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap()
    }

    /// A plausible run: train loss decaying with noise, val every 50 steps.
    pub(crate) fn fake_run(steps: u64) -> Vec<MetricRecord> {
        let mut records = Vec::new();
        for step in 0..steps {
            let base = 1.2 + 4.5 * (-(step as f64) / 300.0).exp();
            if step % 50 == 0 {
                let val = base + 0.05 + (step as f64 / 2000.0).powi(2);
                records.push(MetricRecord::new(step, Split::Val, val, 1e-3, 0.0));
            }
            let noise = 0.08 * ((step as f64 * 12.9898).sin() * 43758.5453).fract();
            records.push(MetricRecord::new(
                step,
                Split::Train,
                base + noise,
                1e-3,
                0.0,
            ));
        }
        records
    }

    #[test]
    fn writes_a_png_of_the_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        plot_loss(&fake_run(2000), &path).unwrap();
        let info = decode(&path);
        assert_eq!((info.width, info.height), LOSS_PLOT_SIZE);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary picture left behind");
        if let Ok(keep) = std::env::var("MIDIGPT_KEEP_PLOT") {
            std::fs::copy(&path, keep).unwrap();
        }
    }

    #[test]
    fn log_ticks_are_round() {
        assert_eq!(
            log_ticks(1.1, 6.2),
            vec![1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(log_ticks(0.25, 0.9), vec![0.25, 0.3, 0.4, 0.5, 0.6, 0.8]);
        assert!(log_ticks(0.01, 100.0).len() <= 10);
    }

    #[test]
    fn empty_and_degenerate_inputs_still_draw() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        plot_loss(&[], &path).unwrap();
        assert_eq!(decode(&path).width, LOSS_PLOT_SIZE.0);
        let one = [MetricRecord::new(0, Split::Train, 5.0, 1e-3, 0.0)];
        plot_loss(&one, &path).unwrap();
        let bad = [MetricRecord::new(3, Split::Val, f64::NAN, 1e-3, 0.0)];
        plot_loss(&bad, &path).unwrap();
    }
}
