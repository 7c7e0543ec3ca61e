//! The explicit (visible) label on images (GB 45438-2025): a notice drawn in a corner of the
//! picture, on a semi-opaque dark box with light text so that it reads on any background.
//!
//! Sizing. The standard asks for text at least 5 % of the image's shorter side tall. "Text
//! height" here is the height of the font's capitals (the ink of 'H'); CJK ideographs are taller
//! than capitals, so a Chinese notice exceeds the floor by about a fifth. The notice is drawn at
//! 6 % (one point of headroom), shrunk towards 5 % when it is too wide for one line, and wrapped
//! onto more lines when it still is; it never goes below 5 %. A readable minimum of
//! [`READABLE_PX`] applies as well, unless the image cannot hold a single glyph box at that size.
//! Where even one glyph per line does not fit (absurdly narrow or small images) the box is
//! clipped at the image's edge, keeping the beginning of the notice visible.

use std::io::Cursor;
use std::ops::Range;

use ab_glyph::{Font, FontVec, Glyph, GlyphId, OutlinedGlyph, PxScale, PxScaleFactor, point};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, ImageDecoder, ImageFormat, ImageReader, Pixel};

/// Noto Sans CJK SC Bold, subset to ASCII and the default notices.
pub const DEFAULT_FONT: &[u8] = include_bytes!("../assets/fonts/NotoSansSC-Bold-notice.otf");

/// Floor on text height, in per cent of the shorter side (the standard's rule).
const MIN_PERCENT: u64 = 5;
/// Preferred text height, in per cent of the shorter side; given up before wrapping.
const PREFERRED_PERCENT: u64 = 6;
/// Capital height (px) below which text is hard to read.
const READABLE_PX: u32 = 12;
/// Gap between the box and the image's edges, in per cent of the shorter side.
const MARGIN_PERCENT: u64 = 2;
/// Box padding around the text, in per cent of the text height.
const PAD_PERCENT: u64 = 35;
/// Extra space between wrapped lines, in per cent of the text height.
const LINE_GAP_PERCENT: u64 = 30;
/// Opacity of the black backing box: white on the brightest background still gets about 7:1.
const BOX_ALPHA: f32 = 0.65;
const JPEG_QUALITY: u8 = 90;

/// The corner of the image that carries the notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Corner {
    BottomRight,
    BottomLeft,
    TopRight,
    TopLeft,
}

#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error("the notice is empty or has nothing visible to draw")]
    EmptyNotice,
    #[error("the font cannot be read: {0}")]
    Font(#[from] ab_glyph::InvalidFont),
    #[error("the font has no glyph for '{}' (U+{:04X}) in the notice", .0.escape_debug(), u32::from(*.0))]
    MissingGlyph(char),
    #[error("the font's glyph for '{}' (U+{:04X}) in the notice has no outline", .0.escape_debug(), u32::from(*.0))]
    EmptyGlyph(char),
    #[error("cannot decode the image: {0}")]
    Decode(#[source] image::ImageError),
    #[error("image format not supported for a visible notice: {0} (only PNG and JPEG are)")]
    Unsupported(String),
    #[error("cannot encode the stamped image: {0}")]
    Encode(#[source] image::ImageError),
}

/// One character of the notice, resolved against the font once.
struct NoticeGlyph {
    ch: char,
    id: GlyphId,
    /// Advance width, font units.
    advance: f32,
    /// Kerning against the preceding glyph of the notice, font units.
    kern: f32,
}

/// A font and a notice, checked together so that drawing never meets a missing glyph.
pub struct Stamp {
    font: FontVec,
    notice: String,
    glyphs: Vec<NoticeGlyph>,
    /// Height of the capitals, font units: the measure of "text height".
    cap: f32,
    /// Highest and lowest ink of the notice relative to the baseline, font units (y up).
    ink_top: f32,
    ink_bottom: f32,
    /// Widest single advance in the notice, font units.
    widest: f32,
}

impl std::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stamp")
            .field("notice", &self.notice)
            .finish_non_exhaustive()
    }
}

/// Where and how large the notice is drawn in one image.
struct Layout {
    /// Pixels per font unit.
    scale: f32,
    pad: u32,
    line_pitch: u32,
    lines: Vec<Range<usize>>,
    /// The box, clipped to the image: (x, y, width, height).
    region: (u32, u32, u32, u32),
}

/// Size-dependent metrics at one text height.
struct Metrics {
    scale: f32,
    pad: u32,
    line_height: u32,
    gap: u32,
}

/// Bounds on what one image may take to decode: a small compressed file can claim a huge
/// canvas, and the sidecar shares the pod's memory with the model server.
pub const MAX_SIDE: u32 = 16_384;
pub const MAX_DECODE_BYTES: u64 = 256 << 20;

fn decode_limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

impl Stamp {
    /// Parses the font and checks that it can draw every character of the notice (leading and
    /// trailing whitespace is dropped).
    pub fn new(font: Vec<u8>, notice: &str) -> Result<Stamp, DrawError> {
        let notice = notice.trim();
        if notice.is_empty() {
            return Err(DrawError::EmptyNotice);
        }
        let font = FontVec::try_from_vec(font)?;

        let mut glyphs: Vec<NoticeGlyph> = Vec::with_capacity(notice.len());
        let (mut ink_top, mut ink_bottom) = (f32::MIN, f32::MAX);
        for ch in notice.chars() {
            let id = font.glyph_id(ch);
            if id.0 == 0 {
                return Err(DrawError::MissingGlyph(ch));
            }
            if !ch.is_whitespace() {
                // Outline bounds are y-up; ab_glyph stores the top in `min.y`.
                let bounds = font.outline(id).ok_or(DrawError::EmptyGlyph(ch))?.bounds;
                ink_top = ink_top.max(bounds.min.y);
                ink_bottom = ink_bottom.min(bounds.max.y);
            }
            let kern = glyphs
                .last()
                .map_or(0.0, |prev| font.kern_unscaled(prev.id, id));
            let advance = font.h_advance_unscaled(id);
            glyphs.push(NoticeGlyph {
                ch,
                id,
                advance,
                kern,
            });
        }
        // A trimmed, non-empty notice has a non-whitespace character, so the ink is known.
        let widest = glyphs.iter().map(|g| g.advance).fold(0.0, f32::max);

        let cap = Some(font.glyph_id('H'))
            .filter(|id| id.0 != 0)
            .and_then(|id| font.outline(id))
            .map(|outline| outline.bounds.min.y)
            .filter(|&top| top > 0.0)
            // Without capitals, the notice's own tallest ink stands in for them.
            .unwrap_or(ink_top);
        if cap <= 0.0 || ink_top <= ink_bottom {
            return Err(DrawError::EmptyNotice);
        }

        Ok(Stamp {
            font,
            notice: notice.to_owned(),
            glyphs,
            cap,
            ink_top,
            ink_bottom,
            widest,
        })
    }

    pub fn notice(&self) -> &str {
        &self.notice
    }

    /// Decodes a PNG or JPEG, draws the notice, re-encodes in the same format (JPEG at quality
    /// 90; PNG in the decoded color type). An Exif orientation is applied first, since the
    /// re-encoded file carries no Exif: the output looks the way the input was displayed.
    /// Metadata (Exif, ICC, text chunks) and animation frames beyond the first are not kept.
    pub fn stamp(&self, bytes: &[u8], corner: Corner) -> Result<Vec<u8>, DrawError> {
        let format = image::guess_format(bytes).map_err(DrawError::Decode)?;
        if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
            return Err(DrawError::Unsupported(format!("{format:?}")));
        }
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
        reader.limits(decode_limits());
        let mut decoder = reader.into_decoder().map_err(DrawError::Decode)?;
        // A malformed Exif block is no reason to refuse the image.
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let mut img = DynamicImage::from_decoder(decoder).map_err(DrawError::Decode)?;
        img.apply_orientation(orientation);

        self.draw(&mut img, corner)?;

        let mut out = Vec::new();
        let written = if format == ImageFormat::Png {
            img.write_with_encoder(PngEncoder::new(&mut out))
        } else {
            img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
        };
        written.map_err(DrawError::Encode)?;
        Ok(out)
    }

    /// The pixel rectangle (x, y, width, height) the notice's box occupies in an image of that
    /// size; nothing outside it is touched.
    pub fn region(&self, width: u32, height: u32, corner: Corner) -> (u32, u32, u32, u32) {
        self.layout(width, height, corner).region
    }

    fn draw(&self, img: &mut DynamicImage, corner: Corner) -> Result<(), DrawError> {
        let layout = self.layout(img.width(), img.height(), corner);
        let coverage = self.coverage(&layout);
        let region = layout.region;
        match img {
            DynamicImage::ImageLuma8(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageLumaA8(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageRgb8(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageRgba8(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageLuma16(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageLumaA16(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageRgb16(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageRgba16(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageRgb32F(buf) => composite(buf, region, &coverage),
            DynamicImage::ImageRgba32F(buf) => composite(buf, region, &coverage),
            other => {
                return Err(DrawError::Unsupported(format!(
                    "pixel layout {:?}",
                    other.color()
                )));
            }
        }
        Ok(())
    }

    fn metrics(&self, text_px: u32) -> Metrics {
        let scale = text_px as f32 / self.cap;
        Metrics {
            scale,
            pad: percent_round(text_px, PAD_PERCENT).max(1),
            line_height: px_ceil((self.ink_top - self.ink_bottom) * scale),
            gap: percent_round(text_px, LINE_GAP_PERCENT),
        }
    }

    fn layout(&self, width: u32, height: u32, corner: Corner) -> Layout {
        let short = width.min(height);
        let margin = percent_floor(short, MARGIN_PERCENT);
        let floor = percent_ceil(short, MIN_PERCENT)
            .max(self.readable_px(width, height, margin))
            .max(1);
        let preferred = percent_ceil(short, PREFERRED_PERCENT).max(floor);
        let total = self.line_units(0..self.glyphs.len());
        let text_px = largest(floor, preferred, |t| {
            let m = self.metrics(t);
            u64::from(px_ceil(total * m.scale)) + 2 * u64::from(m.pad) + 2 * u64::from(margin)
                <= u64::from(width)
        })
        .unwrap_or(floor);

        let m = self.metrics(text_px);
        let room = width.saturating_sub(2 * margin + 2 * m.pad);
        let lines = self.wrap(room as f32 / m.scale);
        let longest = lines
            .iter()
            .map(|line| self.line_units(line.clone()))
            .fold(0.0, f32::max);

        let count = u32::try_from(lines.len()).unwrap_or(u32::MAX);
        let box_w = px_ceil(longest * m.scale).saturating_add(2 * m.pad);
        let box_h = count
            .saturating_mul(m.line_height)
            .saturating_add(count.saturating_sub(1).saturating_mul(m.gap))
            .saturating_add(2 * m.pad);

        let (right, bottom) = match corner {
            Corner::BottomRight => (true, true),
            Corner::BottomLeft => (false, true),
            Corner::TopRight => (true, false),
            Corner::TopLeft => (false, false),
        };
        let x = place(width, box_w, margin, right);
        let y = place(height, box_h, margin, bottom);
        Layout {
            scale: m.scale,
            pad: m.pad,
            line_pitch: m.line_height + m.gap,
            lines,
            region: (x, y, box_w.min(width - x), box_h.min(height - y)),
        }
    }

    /// The largest text height up to [`READABLE_PX`] at which a box holding the notice's widest
    /// glyph fits inside the margins.
    fn readable_px(&self, width: u32, height: u32, margin: u32) -> u32 {
        let room_w = width.saturating_sub(2 * margin);
        let room_h = height.saturating_sub(2 * margin);
        largest(1, READABLE_PX, |t| {
            let m = self.metrics(t);
            px_ceil(self.widest * m.scale) + 2 * m.pad <= room_w
                && m.line_height + 2 * m.pad <= room_h
        })
        .unwrap_or(1)
    }

    /// Width of a run of the notice in font units, ignoring trailing whitespace.
    fn line_units(&self, line: Range<usize>) -> f32 {
        let Some(run) = self.glyphs.get(line) else {
            return 0.0;
        };
        let visible = run
            .iter()
            .rposition(|g| !g.ch.is_whitespace())
            .map_or(0, |last| last + 1);
        run[..visible]
            .iter()
            .enumerate()
            .map(|(i, g)| g.advance + if i > 0 { g.kern } else { 0.0 })
            .sum()
    }

    /// Greedy line breaking at spaces, after hyphens and around CJK characters; a word longer
    /// than a line is broken anywhere. Every line holds at least one glyph.
    fn wrap(&self, max_units: f32) -> Vec<Range<usize>> {
        let glyphs = &self.glyphs;
        let mut lines = Vec::new();
        let mut start = 0;
        loop {
            while glyphs.get(start).is_some_and(|g| g.ch.is_whitespace()) {
                start += 1;
            }
            if start >= glyphs.len() {
                return lines;
            }
            let (mut end, mut pen, mut last_break) = (start, 0.0, None);
            while let Some(g) = glyphs.get(end) {
                let first = end == start;
                if !first && can_break(glyphs[end - 1].ch, g.ch) {
                    last_break = Some(end);
                }
                let step = g.advance + if first { 0.0 } else { g.kern };
                if !first && !g.ch.is_whitespace() && pen + step > max_units {
                    end = last_break.unwrap_or(end);
                    break;
                }
                pen += step;
                end += 1;
            }
            lines.push(start..end);
            start = end;
        }
    }

    /// Glyph coverage (0..=1) over the layout's region, row-major.
    fn coverage(&self, layout: &Layout) -> Vec<f32> {
        let (rx, ry, rw, rh) = layout.region;
        let mut coverage = vec![0.0f32; rw as usize * rh as usize];
        let factor = PxScaleFactor {
            horizontal: layout.scale,
            vertical: layout.scale,
        };
        let px_scale = PxScale::from(layout.scale * self.font.height_unscaled());
        let left = rx as f32 + layout.pad as f32;
        let mut top = ry as f32 + layout.pad as f32;
        for line in &layout.lines {
            let baseline = top + self.ink_top * layout.scale;
            let mut pen = left;
            for (i, g) in self.glyphs[line.clone()].iter().enumerate() {
                if i > 0 {
                    pen += g.kern * layout.scale;
                }
                if let Some(outline) = self.font.outline(g.id) {
                    let glyph = Glyph {
                        id: g.id,
                        scale: px_scale,
                        position: point(pen, baseline),
                    };
                    let outlined = OutlinedGlyph::new(glyph, outline, factor);
                    let origin = outlined.px_bounds().min;
                    outlined.draw(|gx, gy, c| {
                        // Pixels outside the region (overhangs, clipped boxes) are dropped.
                        let x = origin.x as i64 + i64::from(gx) - i64::from(rx);
                        let y = origin.y as i64 + i64::from(gy) - i64::from(ry);
                        if (0..i64::from(rw)).contains(&x) && (0..i64::from(rh)).contains(&y) {
                            let cell = &mut coverage[y as usize * rw as usize + x as usize];
                            *cell = (*cell + c).min(1.0);
                        }
                    });
                }
                pen += g.advance * layout.scale;
            }
            top += layout.line_pitch as f32;
        }
        coverage
    }
}

/// Whether a line may break between `prev` and `next`.
fn can_break(prev: char, next: char) -> bool {
    if next.is_whitespace() {
        return false;
    }
    if prev.is_whitespace() || prev == '-' {
        return true;
    }
    (is_cjk(prev) || is_cjk(next)) && !no_break_before(next) && !no_break_after(prev)
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FFEF}' | '\u{20000}'..='\u{3FFFF}')
}

/// Closing punctuation that must not start a line.
fn no_break_before(c: char) -> bool {
    "，。、；：！？）」』】》〉”’…·,.;:!?)]}".contains(c)
}

/// Opening punctuation that must not end a line.
fn no_break_after(c: char) -> bool {
    "（「『【《〈“‘([{".contains(c)
}

/// The largest value in `lo..=hi` that `fits`, for a `fits` that holds up to some value and not
/// beyond (sizes grow with the text height).
fn largest(lo: u32, hi: u32, fits: impl Fn(u32) -> bool) -> Option<u32> {
    if lo > hi || !fits(lo) {
        return None;
    }
    let (mut good, mut bad) = (u64::from(lo), u64::from(hi) + 1);
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        // `mid` lies between two u32 values, so the conversion holds.
        if fits(u32::try_from(mid).unwrap_or(hi)) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    u32::try_from(good).ok()
}

/// Offset of a box of `size` along an edge of `extent`, `margin` away from the near or the far
/// edge; a box that does not fit starts at 0 so the beginning of the notice stays visible.
fn place(extent: u32, size: u32, margin: u32, far: bool) -> u32 {
    let slack = extent.saturating_sub(size);
    let gap = margin.min(slack);
    if far { slack - gap } else { gap }
}

fn percent_ceil(value: u32, percent: u64) -> u32 {
    u32::try_from((u64::from(value) * percent).div_ceil(100)).unwrap_or(u32::MAX)
}

fn percent_floor(value: u32, percent: u64) -> u32 {
    u32::try_from(u64::from(value) * percent / 100).unwrap_or(u32::MAX)
}

fn percent_round(value: u32, percent: u64) -> u32 {
    u32::try_from((u64::from(value) * percent + 50) / 100).unwrap_or(u32::MAX)
}

fn px_ceil(v: f32) -> u32 {
    // `as` saturates, and NaN becomes 0.
    v.ceil().max(0.0) as u32
}

/// A channel value mapped to and from 0..=1.
trait Channel: Copy {
    fn to_unit(self) -> f32;
    fn from_unit(v: f32) -> Self;
}

impl Channel for u8 {
    fn to_unit(self) -> f32 {
        f32::from(self) / 255.0
    }
    fn from_unit(v: f32) -> Self {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

impl Channel for u16 {
    fn to_unit(self) -> f32 {
        f32::from(self) / 65535.0
    }
    fn from_unit(v: f32) -> Self {
        (v.clamp(0.0, 1.0) * 65535.0).round() as u16
    }
}

impl Channel for f32 {
    fn to_unit(self) -> f32 {
        self
    }
    fn from_unit(v: f32) -> Self {
        v
    }
}

/// Composites white text (the coverage) over the black box over the image inside `region`,
/// with straight-alpha "over", in the image's own pixel type so nothing outside the region
/// changes and no precision is lost there.
fn composite<P>(
    buf: &mut ImageBuffer<P, Vec<P::Subpixel>>,
    region: (u32, u32, u32, u32),
    coverage: &[f32],
) where
    P: Pixel,
    P::Subpixel: Channel,
{
    let (rx, ry, rw, _) = region;
    if rw == 0 {
        return;
    }
    for (row, cells) in (ry..).zip(coverage.chunks_exact(rw as usize)) {
        for (col, &cov) in (rx..).zip(cells) {
            // Text over box: alpha, and the color premultiplied (the box is black, text white).
            let src_a = cov + BOX_ALPHA * (1.0 - cov);
            let src_premul = cov;
            let channels = buf.get_pixel_mut(col, row).channels_mut();
            let (colors, alpha) = if P::HAS_ALPHA {
                match channels.split_last_mut() {
                    Some((alpha, colors)) => (colors, Some(alpha)),
                    None => continue,
                }
            } else {
                (channels, None)
            };
            let dst_a = alpha.as_deref().map_or(1.0, |a| a.to_unit());
            let out_a = src_a + dst_a * (1.0 - src_a);
            for c in colors {
                let v = (src_premul + c.to_unit() * dst_a * (1.0 - src_a)) / out_a;
                *c = Channel::from_unit(v);
            }
            if let Some(a) = alpha {
                *a = Channel::from_unit(out_a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{
        GrayAlphaImage, GrayImage, ImageEncoder, Luma, LumaA, Rgb, RgbImage, Rgba, RgbaImage,
    };
    use proptest::prelude::*;

    const CHINESE: &str = "本内容由人工智能生成";
    const ENGLISH: &str = "AI-generated";
    const CORNERS: [Corner; 4] = [
        Corner::BottomRight,
        Corner::BottomLeft,
        Corner::TopRight,
        Corner::TopLeft,
    ];

    fn stamp(notice: &str) -> Stamp {
        Stamp::new(DEFAULT_FONT.to_vec(), notice).expect("the default font covers the notice")
    }

    /// A smooth, light image: the dark box changes every pixel it covers, the white text stands
    /// out from the darkened background, and JPEG reproduces it closely.
    fn pattern(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let fx = (x * 80 / width.max(1)) as u8;
            let fy = (y * 80 / height.max(1)) as u8;
            Rgb([150 + fx, 150 + fy, 190 - fx / 2])
        })
    }

    fn encode_png(img: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_with_encoder(PngEncoder::new(&mut out))
            .expect("PNG encodes");
        out
    }

    fn encode_jpeg(img: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 95))
            .expect("JPEG encodes");
        out
    }

    /// Pixels as decoded by a decoder other than the `image` crate's.
    struct Decoded {
        width: u32,
        height: u32,
        /// Bytes per pixel.
        step: usize,
        /// Color channels at the start of each pixel (alpha, if any, follows).
        colors: usize,
        data: Vec<u8>,
        color: Option<(png::ColorType, png::BitDepth)>,
    }

    impl Decoded {
        fn pixel(&self, x: u32, y: u32) -> &[u8] {
            let at = (y as usize * self.width as usize + x as usize) * self.step;
            &self.data[at..at + self.step]
        }

        /// The darkest color channel (8-bit images only): high only for light gray/white.
        fn lightness(&self, x: u32, y: u32) -> u8 {
            let px = self.pixel(x, y);
            px[..self.colors].iter().copied().min().unwrap_or(0)
        }
    }

    fn decode_png(bytes: &[u8]) -> Decoded {
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .expect("the png crate reads the header");
        let mut data = vec![0; reader.output_buffer_size().expect("buffer size fits")];
        let info = reader.next_frame(&mut data).expect("the png crate decodes");
        data.truncate(info.buffer_size());
        let bytes_per_channel = if info.bit_depth == png::BitDepth::Sixteen {
            2
        } else {
            1
        };
        let (channels, colors) = match info.color_type {
            png::ColorType::Grayscale => (1, 1),
            png::ColorType::GrayscaleAlpha => (2, 1),
            png::ColorType::Rgb => (3, 3),
            png::ColorType::Rgba => (4, 3),
            png::ColorType::Indexed => panic!("the stamp does not write palettes"),
        };
        Decoded {
            width: info.width,
            height: info.height,
            step: channels * bytes_per_channel,
            colors,
            data,
            color: Some((info.color_type, info.bit_depth)),
        }
    }

    fn decode_jpeg(bytes: &[u8]) -> Decoded {
        let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
        let data = decoder.decode().expect("jpeg-decoder decodes");
        let info = decoder.info().expect("header was read");
        let channels = match info.pixel_format {
            jpeg_decoder::PixelFormat::L8 => 1,
            jpeg_decoder::PixelFormat::RGB24 => 3,
            other => panic!("unexpected JPEG pixel format {other:?}"),
        };
        Decoded {
            width: u32::from(info.width),
            height: u32::from(info.height),
            step: channels,
            colors: channels,
            data,
            color: None,
        }
    }

    fn inside((x, y, w, h): (u32, u32, u32, u32), px: u32, py: u32) -> bool {
        px >= x && px < x + w && py >= y && py < y + h
    }

    /// Checks the region against the image's edges and the chosen corner.
    fn check_region(region: (u32, u32, u32, u32), width: u32, height: u32, corner: Corner) {
        let (x, y, w, h) = region;
        assert!(w > 0 && h > 0, "empty region {region:?}");
        assert!(
            x + w <= width && y + h <= height,
            "{region:?} outside {width}x{height}"
        );
        let margin = percent_floor(width.min(height), MARGIN_PERCENT);
        let (right, bottom) = match corner {
            Corner::BottomRight => (true, true),
            Corner::BottomLeft => (false, true),
            Corner::TopRight => (true, false),
            Corner::TopLeft => (false, false),
        };
        let gap_x = if right { width - x - w } else { x };
        let gap_y = if bottom { height - y - h } else { y };
        assert!(
            gap_x <= margin && gap_y <= margin,
            "{region:?} is not in the {corner:?} corner of {width}x{height}"
        );
    }

    /// Rows of the region holding light pixels (the text; the darkened background never is).
    fn text_rows(out: &Decoded, region: (u32, u32, u32, u32)) -> u32 {
        let (x, y, w, h) = region;
        let rows: Vec<u32> = (y..y + h)
            .filter(|&py| (x..x + w).any(|px| out.lightness(px, py) >= 170))
            .collect();
        match (rows.first(), rows.last()) {
            (Some(first), Some(last)) => last - first + 1,
            _ => 0,
        }
    }

    fn changed(a: &[u8], b: &[u8], by: u8) -> bool {
        a.iter().zip(b).any(|(p, q)| p.abs_diff(*q) >= by)
    }

    fn check_png(stamp: &Stamp, width: u32, height: u32, corner: Corner) {
        let original = encode_png(&DynamicImage::ImageRgb8(pattern(width, height)));
        let stamped = stamp.stamp(&original, corner).expect("stamps");
        let (before, after) = (decode_png(&original), decode_png(&stamped));
        assert_eq!((after.width, after.height), (width, height));
        assert_eq!(after.color, before.color, "color type kept");

        let region = stamp.region(width, height, corner);
        check_region(region, width, height, corner);
        let mut changed_inside = 0u64;
        for py in 0..height {
            for px in 0..width {
                let (b, a) = (before.pixel(px, py), after.pixel(px, py));
                if inside(region, px, py) {
                    changed_inside += u64::from(changed(b, a, 20));
                } else {
                    assert_eq!(b, a, "pixel ({px}, {py}) outside {region:?} changed");
                }
            }
        }
        let area = u64::from(region.2) * u64::from(region.3);
        assert!(
            changed_inside * 10 >= area * 9,
            "{width}x{height} {corner:?}: only {changed_inside} of {area} pixels changed"
        );
        // Below this no glyph is legible, and 5 % is a single pixel row.
        if width.min(height) >= 16 {
            let floor = percent_ceil(width.min(height), MIN_PERCENT);
            let rows = text_rows(&after, region);
            assert!(
                rows >= floor,
                "{width}x{height} {corner:?}: text {rows} px tall, needs {floor}"
            );
        }
    }

    fn check_jpeg(stamp: &Stamp, width: u32, height: u32, corner: Corner) {
        let original = encode_jpeg(&DynamicImage::ImageRgb8(pattern(width, height)));
        let stamped = stamp.stamp(&original, corner).expect("stamps");
        let (before, after) = (decode_jpeg(&original), decode_jpeg(&stamped));
        assert_eq!((after.width, after.height), (width, height));
        assert_eq!(after.step, before.step);

        let region = stamp.region(width, height, corner);
        check_region(region, width, height, corner);
        // Blocks straddling the box's edge ring; compare only beyond two 8x8 blocks of it.
        let (x, y, w, h) = region;
        let near = (x.saturating_sub(16), y.saturating_sub(16), w + 32, h + 32);
        let (mut changed_inside, mut outside, mut drift) = (0u64, 0u64, 0u64);
        for py in 0..height {
            for px in 0..width {
                let (b, a) = (before.pixel(px, py), after.pixel(px, py));
                if inside(region, px, py) {
                    changed_inside += u64::from(changed(b, a, 20));
                } else if !inside(near, px, py) {
                    let worst = b.iter().zip(a).map(|(p, q)| p.abs_diff(*q)).max();
                    let worst = worst.unwrap_or(0);
                    assert!(
                        worst <= 12,
                        "pixel ({px}, {py}) outside {region:?} off by {worst}"
                    );
                    outside += 1;
                    drift += u64::from(worst);
                }
            }
        }
        assert!(
            drift <= outside * 2,
            "mean drift outside the region too large"
        );
        let area = u64::from(w) * u64::from(h);
        assert!(
            changed_inside * 10 >= area * 8,
            "{width}x{height} {corner:?}: only {changed_inside} of {area} pixels changed"
        );
        let floor = percent_ceil(width.min(height), MIN_PERCENT);
        let rows = text_rows(&after, region);
        assert!(
            rows >= floor,
            "{width}x{height} {corner:?}: text {rows} px tall, needs {floor}"
        );
    }

    /// Text of each line of a layout.
    fn line_texts(stamp: &Stamp, layout: &Layout) -> Vec<String> {
        layout
            .lines
            .iter()
            .map(|line| stamp.glyphs[line.clone()].iter().map(|g| g.ch).collect())
            .collect()
    }

    #[test]
    fn default_notices_are_accepted() {
        for notice in [CHINESE, ENGLISH, "AI生成", "Generated by AI"] {
            assert_eq!(stamp(notice).notice(), notice);
        }
        assert_eq!(stamp("  AI-generated \n").notice(), ENGLISH);
    }

    #[test]
    fn a_character_missing_from_the_font_is_named() {
        let err = Stamp::new(DEFAULT_FONT.to_vec(), "本内容由人工智能生成，鬱").unwrap_err();
        assert!(matches!(err, DrawError::MissingGlyph('鬱')), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("'鬱' (U+9B31)"), "{message}");

        let err = Stamp::new(DEFAULT_FONT.to_vec(), "AI\tgenerated").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the font has no glyph for '\\t' (U+0009) in the notice"
        );
    }

    #[test]
    fn empty_notices_and_bad_fonts_are_rejected() {
        for notice in ["", "   ", "\n"] {
            let err = Stamp::new(DEFAULT_FONT.to_vec(), notice).unwrap_err();
            assert!(matches!(err, DrawError::EmptyNotice), "{notice:?}: {err:?}");
        }
        for font in [Vec::new(), vec![0; 64], b"OTTO not really a font".to_vec()] {
            let err = Stamp::new(font, ENGLISH).unwrap_err();
            assert!(matches!(err, DrawError::Font(_)), "{err:?}");
            assert!(
                err.to_string().starts_with("the font cannot be read"),
                "{err}"
            );
        }
    }

    #[test]
    fn corners_have_command_line_names() {
        use clap::ValueEnum;
        for (name, corner) in [
            ("bottom-right", Corner::BottomRight),
            ("bottom-left", Corner::BottomLeft),
            ("top-right", Corner::TopRight),
            ("top-left", Corner::TopLeft),
        ] {
            assert_eq!(Corner::from_str(name, false), Ok(corner));
        }
    }

    #[test]
    fn stamp_is_shareable_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Stamp>();
    }

    #[test]
    fn png_changes_only_the_region() {
        let (chinese, english) = (stamp(CHINESE), stamp(ENGLISH));
        for (width, height) in [
            (300, 200),
            (1600, 90),
            (90, 1600),
            (16, 16),
            (40, 500),
            (7, 3),
        ] {
            for corner in CORNERS {
                check_png(&chinese, width, height, corner);
                check_png(&english, width, height, corner);
            }
        }
        check_png(&chinese, 1024, 1024, Corner::BottomRight);
        check_png(&english, 1024, 1024, Corner::TopLeft);
    }

    #[test]
    fn jpeg_changes_only_the_region() {
        let (chinese, english) = (stamp(CHINESE), stamp(ENGLISH));
        for (width, height) in [(300, 200), (1600, 90), (90, 1600), (16, 16)] {
            for corner in CORNERS {
                check_jpeg(&chinese, width, height, corner);
                check_jpeg(&english, width, height, corner);
            }
        }
        check_jpeg(&chinese, 1024, 1024, Corner::BottomLeft);
        check_jpeg(&english, 1024, 1024, Corner::TopRight);
    }

    #[test]
    fn png_color_types_are_kept() {
        let (width, height) = (120, 80);
        let base = pattern(width, height);
        let gray = GrayImage::from_fn(width, height, |x, y| Luma([base.get_pixel(x, y)[0]]));
        let gray_alpha = GrayAlphaImage::from_fn(width, height, |x, y| {
            LumaA([base.get_pixel(x, y)[1], (x * 255 / width) as u8])
        });
        // Fully transparent on the right: the box must still show there.
        let rgba = RgbaImage::from_fn(width, height, |x, y| {
            let Rgb([r, g, b]) = *base.get_pixel(x, y);
            Rgba([r, g, b, if x > width / 2 { 0 } else { 200 }])
        });
        let images = [
            DynamicImage::ImageLuma8(gray),
            DynamicImage::ImageLumaA8(gray_alpha),
            DynamicImage::ImageRgba8(rgba),
            DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(base.clone()).to_rgb16()),
            DynamicImage::ImageLuma16(DynamicImage::ImageRgb8(base).to_luma16()),
        ];
        let stamp = stamp(ENGLISH);
        let corner = Corner::BottomRight;
        let region = stamp.region(width, height, corner);
        for img in images {
            let original = encode_png(&img);
            let stamped = stamp.stamp(&original, corner).expect("stamps");
            let (before, after) = (decode_png(&original), decode_png(&stamped));
            assert_eq!(after.color, before.color, "{:?}", img.color());
            let mut changed_inside = 0u64;
            for py in 0..height {
                for px in 0..width {
                    let (b, a) = (before.pixel(px, py), after.pixel(px, py));
                    if inside(region, px, py) {
                        changed_inside += u64::from(changed(b, a, 20));
                    } else {
                        assert_eq!(b, a, "{:?}: ({px}, {py}) changed", img.color());
                    }
                }
            }
            let area = u64::from(region.2) * u64::from(region.3);
            assert!(changed_inside * 10 >= area * 9, "{:?}", img.color());
        }
    }

    #[test]
    fn exif_orientation_is_applied() {
        let mut exif = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
        // Orientation (0x0112), SHORT, count 1, value 6: rotate 90 degrees clockwise.
        exif.extend_from_slice(b"\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0");
        let img = pattern(60, 30);
        let mut original = Vec::new();
        let mut encoder = PngEncoder::new(&mut original);
        encoder.set_exif_metadata(exif).expect("PNG takes Exif");
        encoder
            .write_image(img.as_raw(), 60, 30, image::ExtendedColorType::Rgb8)
            .expect("PNG encodes");
        let stamped = stamp(ENGLISH)
            .stamp(&original, Corner::BottomRight)
            .expect("stamps");
        let after = decode_png(&stamped);
        assert_eq!((after.width, after.height), (30, 60));
    }

    #[test]
    fn a_small_file_claiming_a_huge_canvas_is_refused_before_decoding() {
        let mut png = encode_png(&DynamicImage::new_rgb8(4, 4));
        // IHDR data starts at byte 16: width and height, then its CRC at byte 29.
        png[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = stamp(CHINESE)
            .stamp(&png, Corner::TopLeft)
            .expect_err("a 30000x30000 canvas is over the limit");
        assert!(matches!(err, DrawError::Decode(_)), "{err}");
    }

    #[test]
    fn undecodable_and_unsupported_input_is_an_error() {
        let stamp = stamp(CHINESE);
        let err = stamp
            .stamp(b"GIF89a\x01\0\x01\0\0\0\0;", Corner::TopLeft)
            .unwrap_err();
        assert!(matches!(err, DrawError::Unsupported(_)), "{err:?}");
        assert!(err.to_string().contains("Gif"), "{err}");

        let err = stamp.stamp(b"hello", Corner::TopLeft).unwrap_err();
        assert!(matches!(err, DrawError::Decode(_)), "{err:?}");
        assert!(
            err.to_string().starts_with("cannot decode the image: "),
            "{err}"
        );

        let png = encode_png(&DynamicImage::ImageRgb8(pattern(64, 64)));
        let jpeg = encode_jpeg(&DynamicImage::ImageRgb8(pattern(64, 64)));
        // The JPEG decoder fills in a file cut after the scan started, so only the PNG is cut there.
        let png_half = png.len() / 2;
        for (whole, cuts) in [(png, vec![0, 4, 20, png_half]), (jpeg, vec![0, 4, 20])] {
            for cut in cuts {
                let err = stamp.stamp(&whole[..cut], Corner::TopLeft).unwrap_err();
                assert!(matches!(err, DrawError::Decode(_)), "cut at {cut}: {err:?}");
            }
        }
    }

    #[test]
    fn long_notices_wrap_at_break_opportunities() {
        let texts = |stamp: &Stamp, lines: Vec<Range<usize>>| -> Vec<String> {
            let layout = Layout {
                scale: 1.0,
                pad: 0,
                line_pitch: 0,
                lines,
                region: (0, 0, 0, 0),
            };
            line_texts(stamp, &layout)
        };

        let english = stamp(ENGLISH);
        let whole = english.line_units(0..ENGLISH.len());
        assert_eq!(texts(&english, english.wrap(whole)), [ENGLISH]);
        assert_eq!(
            texts(&english, english.wrap(whole - 1.0)),
            ["AI-", "generated"]
        );

        let spaced = stamp("Generated by AI");
        let generated_by = spaced.line_units(0..12);
        let generated = spaced.line_units(0..9);
        assert_eq!(
            texts(&spaced, spaced.wrap(generated_by)),
            ["Generated by ", "AI"]
        );
        // Trailing spaces stay in the range but take no width; the next line starts after them.
        assert_eq!(
            texts(&spaced, spaced.wrap(generated)),
            ["Generated ", "by AI"]
        );
        assert_eq!(
            spaced.line_units(spaced.wrap(generated)[0].clone()),
            generated
        );
        // Nothing fits: one glyph a line, spaces dropped.
        assert_eq!(spaced.wrap(0.0).len(), 13);

        let chinese = stamp(CHINESE);
        let half = chinese.line_units(0..5);
        assert_eq!(
            texts(&chinese, chinese.wrap(half)),
            ["本内容由人", "工智能生成"]
        );
        let layout = chinese.layout(120, 800, Corner::BottomRight);
        let lines = line_texts(&chinese, &layout);
        assert!(lines.len() > 1, "{lines:?}");
        assert_eq!(lines.concat(), CHINESE);

        // Closing punctuation stays with the character before it whenever the two fit a line.
        let punctuated = stamp("AI生成。AI生成。");
        let pair = punctuated.line_units(3..5);
        for extra in 0..40 {
            let lines = texts(&punctuated, punctuated.wrap(pair + 50.0 * extra as f32));
            assert_eq!(lines.concat(), "AI生成。AI生成。");
            assert!(lines.iter().all(|l| !l.starts_with('。')), "{lines:?}");
        }
    }

    #[test]
    fn text_height_shrinks_to_the_floor_before_wrapping() {
        let long = stamp("AI-generated content. AI-generated content.");
        let (mut shrunk, mut wrapped) = (false, false);
        for width in (60..3000).step_by(7) {
            let height = 900;
            let short = width.min(height);
            let layout = long.layout(width, height, Corner::BottomLeft);
            let text_px = (layout.scale * long.cap).round() as u32;
            let floor = percent_ceil(short, MIN_PERCENT).max(READABLE_PX.min(short));
            let preferred = percent_ceil(short, PREFERRED_PERCENT).max(floor);
            assert!(text_px >= floor, "{width}x{height}: {text_px} < {floor}");
            assert!(
                text_px <= preferred,
                "{width}x{height}: {text_px} > {preferred}"
            );
            if layout.lines.len() > 1 {
                assert_eq!(text_px, floor, "{width}x{height} wrapped above the floor");
                wrapped = true;
            } else if text_px < preferred {
                shrunk = true;
            }
        }
        assert!(shrunk && wrapped, "shrunk {shrunk}, wrapped {wrapped}");
    }

    #[test]
    fn readable_minimum_gives_way_only_to_tiny_images() {
        let stamp = stamp(CHINESE);
        for (width, height) in [(100, 100), (60, 400), (400, 60), (190, 190)] {
            let layout = stamp.layout(width, height, Corner::TopLeft);
            let text_px = (layout.scale * stamp.cap).round() as u32;
            assert_eq!(text_px, READABLE_PX, "{width}x{height}");
        }
        let layout = stamp.layout(16, 16, Corner::TopLeft);
        assert!((layout.scale * stamp.cap).round() as u32 >= 1);
        // Ten lines do not fit: the box is clipped at the bottom edge.
        assert_eq!(layout.lines.len(), 10);
        assert_eq!(layout.region.3, 16);
    }

    fn corner() -> impl Strategy<Value = Corner> {
        prop::sample::select(CORNERS.to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn any_size_and_corner_gives_an_image_of_that_size(
            width in 1u32..=72,
            height in 1u32..=72,
            corner in corner(),
            jpeg in any::<bool>(),
            chinese in any::<bool>(),
        ) {
            let stamp = stamp(if chinese { CHINESE } else { ENGLISH });
            let img = DynamicImage::ImageRgb8(pattern(width, height));
            let region = stamp.region(width, height, corner);
            prop_assert!(region.0 + region.2 <= width && region.1 + region.3 <= height);
            let out = if jpeg {
                decode_jpeg(&stamp.stamp(&encode_jpeg(&img), corner).expect("stamps"))
            } else {
                decode_png(&stamp.stamp(&encode_png(&img), corner).expect("stamps"))
            };
            prop_assert_eq!((out.width, out.height), (width, height));
        }

        #[test]
        fn region_lies_inside_any_image(
            width in any::<u32>(),
            height in any::<u32>(),
            corner in corner(),
        ) {
            let (x, y, w, h) = stamp(CHINESE).region(width, height, corner);
            prop_assert!(u64::from(x) + u64::from(w) <= u64::from(width));
            prop_assert!(u64::from(y) + u64::from(h) <= u64::from(height));
        }

        #[test]
        fn garbage_is_an_error(
            prefix in prop::sample::select(vec![&b""[..], b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"]),
            tail in prop::collection::vec(any::<u8>(), 0..512),
        ) {
            let bytes = [prefix, &tail[..]].concat();
            prop_assert!(stamp(ENGLISH).stamp(&bytes, Corner::BottomRight).is_err());
        }

        #[test]
        fn damaged_images_never_panic(
            jpeg in any::<bool>(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let img = DynamicImage::ImageRgb8(pattern(24, 24));
            let mut bytes = if jpeg { encode_jpeg(&img) } else { encode_png(&img) };
            let at = at.index(bytes.len());
            bytes[at] = byte;
            if let Ok(out) = stamp(ENGLISH).stamp(&bytes, Corner::TopLeft) {
                prop_assert!(image::load_from_memory(&out).is_ok());
            }
        }
    }
}
