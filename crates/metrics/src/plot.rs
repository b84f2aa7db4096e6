//! A PNG of every metric's distribution, the sets side by side: one panel per metric with a
//! density curve per set (the kernel density estimates [`crate::overlap`] integrates).

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;

use crate::stats::{density, scott};
use crate::{overlap, Metric, MetricsError, Set};

/// Width and height of one metric's panel, in pixels (four panels a row).
pub const PLOT_PANEL_SIZE: (u32, u32) = (420, 300);
const COLUMNS: usize = 4;
const COLORS: [RGBColor; 2] = [RGBColor(214, 39, 40), RGBColor(31, 119, 180)];
/// Points of each density curve.
const CURVE_POINTS: usize = 200;

/// Makes plotters' "sans-serif" the bundled font of `midigpt-render` (once per process), for
/// every plotters chart in the workspace: these distributions and `midigpt-train`'s loss plot.
/// Call before drawing text with plotters.
///
/// It lives here because this is the lightest crate that has plotters and that the trainer
/// can depend on: `midigpt-render` keeps to ab_glyph so the studio links no plotting library,
/// and the trainer, which pulls in the model and burn, could not be a dependency of this crate
/// without making it heavy.
pub fn register_plot_font() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        // The font is a constant of the build: failing to parse it is a bug, not an input error.
        let font = midigpt_render::FONT;
        if plotters::style::register_font("sans-serif", FontStyle::Normal, font).is_err() {
            panic!("bundled font does not parse");
        }
    });
}

/// Draws the distributions of every metric of `sets` (the first two) to `path`, a `.png`,
/// written under a temporary name and renamed. A set with one value or none of a metric gets
/// a mark at its mean instead of a curve.
pub fn plot_distributions(sets: &[Set], path: &Path) -> Result<(), MetricsError> {
    register_plot_font();
    let tmp = tmp_png(path);
    draw(&sets[..sets.len().min(2)], &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        MetricsError::Plot {
            path: path.to_owned(),
            message: e.to_string(),
        }
    })?;
    std::fs::rename(&tmp, path).map_err(|e| MetricsError::Plot {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// `a.png` → `a.tmp.png`: the extension selects the encoder, so it stays.
fn tmp_png(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.tmp.png"))
}

fn draw(sets: &[Set], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let rows = Metric::ALL.len().div_ceil(COLUMNS);
    let legend = 40;
    let size = (
        PLOT_PANEL_SIZE.0 * COLUMNS as u32,
        PLOT_PANEL_SIZE.1 * rows as u32 + legend,
    );
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(legend);
    for (i, set) in sets.iter().enumerate() {
        let x = 20 + 420 * i as i32;
        top.draw(&Rectangle::new([(x, 14), (x + 30, 26)], COLORS[i].filled()))?;
        let label = format!("{} ({} pieces)", set.name, set.pieces.len());
        top.draw(&Text::new(label, (x + 38, 10), ("sans-serif", 18)))?;
    }
    let panels = body.split_evenly((rows, COLUMNS));
    for (metric, area) in Metric::ALL.iter().zip(&panels) {
        panel(area, *metric, sets)?;
    }
    root.present()?;
    Ok(())
}

/// One metric's panel.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    metric: Metric,
    sets: &[Set],
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let values: Vec<Vec<f64>> = sets
        .iter()
        .map(|s| {
            s.values(metric)
                .into_iter()
                .filter(|v| v.is_finite())
                .collect()
        })
        .collect();
    let all = || values.iter().flatten().copied();
    let (lo, hi) = (
        all().fold(f64::INFINITY, f64::min),
        all().fold(f64::NEG_INFINITY, f64::max),
    );
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let margin = ((hi - lo) * 0.1).max(1e-3 * (1.0 + hi.abs()));
    let (lo, hi) = (lo - margin, hi + margin);
    let curves: Vec<Vec<(f64, f64)>> = values
        .iter()
        .map(|v| {
            let h = scott(v);
            if h <= 0.0 {
                return Vec::new();
            }
            (0..CURVE_POINTS)
                .map(|i| lo + (hi - lo) * i as f64 / (CURVE_POINTS - 1) as f64)
                .map(|x| (x, density(v, h, x)))
                .collect()
        })
        .collect();
    let top = curves.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let caption = match values.as_slice() {
        [a, b] => format!("{}  (overlap {:.2})", metric.key(), overlap(a, b)),
        _ => metric.key().to_owned(),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(40)
        .build_cartesian_2d(lo..hi, 0.0..top)?;
    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(4)
        .label_style(("sans-serif", 12))
        .x_label_formatter(&|x| short(*x))
        .y_label_formatter(&|y| short(*y))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.1))
        .draw()?;
    for (i, (curve, v)) in curves.into_iter().zip(&values).enumerate() {
        let color = COLORS[i];
        if curve.is_empty() {
            // No spread to estimate a density from: a bar at the value.
            if let Some(&x) = v.first() {
                chart.draw_series(LineSeries::new([(x, 0.0), (x, top)], color.stroke_width(2)))?;
            }
        } else {
            chart.draw_series(LineSeries::new(curve, color.stroke_width(2)))?;
        }
    }
    Ok(())
}

/// An axis label: few digits.
fn short(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
