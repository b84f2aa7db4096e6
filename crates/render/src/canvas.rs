//! A small RGB picture: rectangles filled straight into the pixel buffer (a piano roll is
//! thousands of them, all axis-aligned), text rasterised from the bundled font and blended
//! over them, PNG out.

use crate::text::{self, Anchor};

/// A colour.
pub(crate) type Rgb = [u8; 3];

struct Label {
    text: String,
    x: i32,
    y: i32,
    size: f64,
    color: Rgb,
    anchor: Anchor,
}

/// An RGB picture being drawn.
pub(crate) struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    labels: Vec<Label>,
}

impl Canvas {
    pub(crate) fn new(width: u32, height: u32, background: Rgb) -> Self {
        let rgb = background.repeat(width as usize * height as usize);
        Canvas {
            width,
            height,
            rgb,
            labels: Vec::new(),
        }
    }

    /// Fills the pixels from `(x0, y0)` up to, not including, `(x1, y1)`; coordinates round
    /// to the nearest pixel edge and are clipped to the picture.
    pub(crate) fn fill(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, color: Rgb) {
        let clip = |v: f64, max: u32| v.round().clamp(0.0, max as f64) as usize;
        let (x0, x1) = (clip(x0, self.width), clip(x1, self.width));
        let (y0, y1) = (clip(y0, self.height), clip(y1, self.height));
        for y in y0..y1 {
            let row = (y * self.width as usize) * 3;
            for px in self.rgb[row + 3 * x0..row + 3 * x1].chunks_exact_mut(3) {
                px.copy_from_slice(&color);
            }
        }
    }

    /// A rectangle with a one-pixel border of another colour (the fill alone when it is too
    /// small for a border to leave any fill visible).
    pub(crate) fn framed(&mut self, (x0, y0, x1, y1): (f64, f64, f64, f64), fill: Rgb, line: Rgb) {
        if x1 - x0 >= 4.0 && y1 - y0 >= 4.0 {
            self.fill(x0, y0, x1, y1, line);
            self.fill(x0 + 1.0, y0 + 1.0, x1 - 1.0, y1 - 1.0, fill);
        } else {
            self.fill(x0, y0, x1, y1, fill);
        }
    }

    /// Queues a label; labels are drawn over the shapes when the picture is encoded.
    pub(crate) fn text(
        &mut self,
        text: &str,
        (x, y): (f64, f64),
        size: f64,
        color: Rgb,
        anchor: Anchor,
    ) {
        self.labels.push(Label {
            text: text::ascii(text),
            x: x.round() as i32,
            y: y.round() as i32,
            size,
            color,
            anchor,
        });
    }

    /// Width in pixels of `text` at `size`.
    pub(crate) fn text_width(text: &str, size: f64) -> f64 {
        text::width(&text::ascii(text), size)
    }

    /// Draws the labels and encodes the picture as PNG.
    pub(crate) fn into_png(mut self) -> Result<Vec<u8>, String> {
        self.draw_labels();
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&self.rgb)
            .map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
        Ok(bytes)
    }

    /// Each label's glyph coverage blends its colour over what is drawn beneath, so the
    /// antialiased edges take the colour of a note bar or a shaded row as well as of white.
    fn draw_labels(&mut self) {
        let (width, height) = (self.width as i32, self.height as i32);
        for label in &self.labels {
            let at = (label.x, label.y);
            text::draw(
                &label.text,
                at,
                label.size,
                label.anchor,
                |x, y, coverage| {
                    if (0..width).contains(&x) && (0..height).contains(&y) {
                        let i = 3 * (y as usize * width as usize + x as usize);
                        let px = &mut self.rgb[i..i + 3];
                        let blended = mix([px[0], px[1], px[2]], label.color, coverage);
                        px.copy_from_slice(&blended);
                    }
                },
            );
        }
    }
}

/// `a` and `b` mixed: `t` = 0 gives `a`, 1 gives `b`.
pub(crate) fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    std::array::from_fn(|i| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * t).round() as u8)
}
