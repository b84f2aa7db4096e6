//! Labels laid out and rasterised with ab_glyph from the bundled font: no system font,
//! fontconfig, freetype or plotting library, so everything that shows a piano roll (the
//! studio included) links nothing more than a glyph rasteriser.

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, Glyph, Point, PxScale, ScaleFont};

/// DejaVu Sans cut down to printable ASCII, `·` and `−` (see `assets/README.md` for the
/// licence): the one copy of the font in the workspace. The piano roll draws its labels with
/// it; the plotters charts of other crates register these bytes as their "sans-serif".
pub static FONT: &[u8] = include_bytes!("../assets/DejaVuSans-ascii.ttf");

/// Where a label sits relative to its point.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Anchor {
    /// Point at the left end, vertically centred.
    Left,
    /// Point at the right end, vertically centred.
    Right,
    /// Point at the top centre.
    Top,
}

/// The bundled font, parsed once per process.
fn font() -> &'static FontRef<'static> {
    static PARSED: OnceLock<FontRef<'static>> = OnceLock::new();
    // The font is a constant of the build: failing to parse it is a bug, not an input error.
    PARSED.get_or_init(|| FontRef::try_from_slice(FONT).expect("bundled font parses"))
}

/// The bundled font has glyphs for ASCII, `·` and `−` only: anything else prints as `?`.
pub(crate) fn ascii(text: &str) -> String {
    let drawable = |c: char| c == ' ' || c == '·' || c == '−' || c.is_ascii_graphic();
    text.chars()
        .map(|c| if drawable(c) { c } else { '?' })
        .collect()
}

/// The glyphs of `text` at `size` pixels (ascent to descent), the pen starting at `origin`
/// on the baseline and moving by each glyph's advance and the kerning between pairs; and the
/// distance the pen moved.
fn layout(text: &str, size: f32, origin: Point) -> (Vec<Glyph>, f32) {
    let font = font().as_scaled(PxScale::from(size));
    let mut glyphs = Vec::with_capacity(text.len());
    let mut pen = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(previous) = previous {
            pen += font.kern(previous, id);
        }
        glyphs.push(id.with_scale_and_position(size, point(origin.x + pen, origin.y)));
        pen += font.h_advance(id);
        previous = Some(id);
    }
    (glyphs, pen)
}

/// Width of `text` at `size` in whole pixels (rounded down): the box labels are anchored by,
/// so layouts built on it line up with the labels drawn.
pub(crate) fn width(text: &str, size: f64) -> f64 {
    layout(text, size as f32, point(0.0, 0.0)).1.floor() as f64
}

/// Rasterises `text` at `size` pixels anchored at `(x, y)`, calling `plot(x, y, coverage)`
/// for every pixel a glyph touches (coverage in 0..=1; pixels may lie outside the picture).
///
/// The label's box is [`width`] wide and `size / 1.24` tall (about an em of the font),
/// rounded down, and its baseline lies `size / 2` below the box's top, rounded to a whole
/// pixel so horizontal strokes stay crisp. "Vertically centred" centres that box on `y`,
/// which sets the text a little above `y`; the piano roll's spacing is tuned to it.
pub(crate) fn draw(
    text: &str,
    (x, y): (i32, i32),
    size: f64,
    anchor: Anchor,
    mut plot: impl FnMut(i32, i32, f32),
) {
    let width = width(text, size) as i32;
    let height = (size / 1.24) as i32;
    let (left, top) = match anchor {
        Anchor::Left => (x, y - height / 2),
        Anchor::Right => (x - width, y - height / 2),
        Anchor::Top => (x - width / 2, y),
    };
    let baseline = top as f32 + (size as f32 / 2.0).round();
    let (glyphs, _) = layout(text, size as f32, point(left as f32, baseline));
    for glyph in glyphs {
        // Spaces have no outline.
        let Some(outlined) = font().outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
        outlined.draw(|gx, gy, coverage| plot(x0 + gx as i32, y0 + gy as i32, coverage));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_add_advances_and_kerning() {
        // The widths the piano roll's layout was tuned with.
        assert_eq!(width("POP909_008.mid", 22.0), 160.0);
        assert_eq!(width("Piano", 14.0), 32.0);
        assert_eq!(width("Lead: Lead 2 (sawtooth)", 14.0), 146.0);
        assert_eq!(width("AVAWAY To.", 15.0), 79.0);
        assert_eq!(width("1:05  ·  4/4  ·  96-120 BPM", 15.0), 168.0);
        assert_eq!(width("", 14.0), 0.0);
    }

    #[test]
    fn anchors_place_the_box() {
        let extent = |anchor| {
            let (mut x0, mut x1, mut y0, mut y1) = (i32::MAX, i32::MIN, i32::MAX, i32::MIN);
            draw("HH", (100, 100), 20.0, anchor, |x, y, c| {
                if c > 0.5 {
                    (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
                }
            });
            (x0, x1, y0, y1)
        };
        let w = width("HH", 20.0) as i32;
        let (x0, x1, y0, y1) = extent(Anchor::Left);
        assert!((100..104).contains(&x0) && (100 + w - 4..100 + w).contains(&x1));
        // Caps sit on a baseline a little below the point and reach well above it.
        assert!((100..=104).contains(&y1) && y0 < 92, "{y0}..{y1}");
        let (rx0, rx1, ry0, ry1) = extent(Anchor::Right);
        assert_eq!((rx0 + w, rx1 + w, ry0, ry1), (x0, x1, y0, y1));
        // Top: the same box, moved left by half its width and down by half its height.
        let (tx0, tx1, ty0, ty1) = extent(Anchor::Top);
        let half_height = (20.0 / 1.24) as i32 / 2;
        assert_eq!(
            (
                tx0 + w / 2,
                tx1 + w / 2,
                ty0 - half_height,
                ty1 - half_height
            ),
            (x0, x1, y0, y1)
        );
    }

    #[test]
    fn unknown_characters_print_as_question_marks() {
        assert_eq!(ascii("Flöte · −1"), "Fl?te · −1");
    }
}
