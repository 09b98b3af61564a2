//! One line of text for the invoice PDF: cut into the runs of the Unicode bidirectional
//! algorithm, in visual order, and each run shaped by rustybuzz in its own direction. So
//! Arabic letters join (initial, medial, final forms and the lam-alef ligature) and read
//! right to left, while the digits of an amount or an invoice number inside them stay
//! left to right, as a browser shows the same line.

use krilla::{
    geom::Point,
    surface::Surface,
    text::{Font, GlyphId, KrillaGlyph},
};
use rustybuzz::{Direction, Face, UnicodeBuffer};
use unicode_bidi::BidiInfo;

/// The font every line is shaped and drawn with: DejaVu Sans, which covers Arabic and
/// Latin (its licence is `core/assets/DejaVuSans-LICENSE`). Subset into each PDF.
pub(super) static FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// A run of one direction, shaped.
pub(super) struct Run {
    pub text: String,
    pub glyphs: Vec<KrillaGlyph>,
    /// The advances summed, in ems.
    pub ems: f32,
}

/// A line shaped at a size, ready to measure and draw.
pub(super) struct Shaped {
    pub runs: Vec<Run>,
    pub size: f32,
}

impl Shaped {
    /// Shapes `text` (one line; a newline is drawn as a space) at `size` points.
    pub fn new(face: &Face<'_>, text: &str, size: f32) -> Shaped {
        let text = text.replace(['\n', '\r'], " ");
        let info = BidiInfo::new(&text, None);
        let mut runs = Vec::new();
        for para in &info.paragraphs {
            let (levels, ranges) = info.visual_runs(para, para.range.clone());
            for range in ranges {
                let rtl = levels[range.start].is_rtl();
                runs.push(shape(face, &text[range], rtl));
            }
        }
        Shaped { runs, size }
    }

    /// The line's width in points.
    pub fn width(&self) -> f32 {
        self.runs.iter().map(|r| r.ems).sum::<f32>() * self.size
    }

    /// Draws the line with its left end at `x` and its baseline at `y`.
    pub fn draw(&self, surface: &mut Surface<'_>, font: &Font, x: f32, y: f32) {
        let mut at = x;
        for run in &self.runs {
            surface.draw_glyphs(
                Point::from_xy(at, y),
                &run.glyphs,
                font.clone(),
                &run.text,
                self.size,
                false,
            );
            at += run.ems * self.size;
        }
    }
}

/// Shapes one run of a single direction. Each glyph keeps the byte range of the text it
/// shows (its cluster up to the next cluster in reading order), which is what lets a PDF
/// reader copy the text back out.
fn shape(face: &Face<'_>, text: &str, rtl: bool) -> Run {
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    buffer.set_direction(if rtl { Direction::RightToLeft } else { Direction::LeftToRight });
    let output = rustybuzz::shape(face, &[], buffer);
    let upem = face.units_per_em() as f32;
    let mut clusters: Vec<usize> = output.glyph_infos().iter().map(|g| g.cluster as usize).collect();
    clusters.sort_unstable();
    clusters.dedup();
    let end_of = |start: usize| clusters.iter().copied().find(|c| *c > start).unwrap_or(text.len());
    let glyphs: Vec<KrillaGlyph> = output
        .glyph_infos()
        .iter()
        .zip(output.glyph_positions())
        .map(|(info, pos)| {
            let start = info.cluster as usize;
            KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                pos.x_advance as f32 / upem,
                pos.x_offset as f32 / upem,
                pos.y_offset as f32 / upem,
                pos.y_advance as f32 / upem,
                start..end_of(start),
                None,
            )
        })
        .collect();
    let ems = output.glyph_positions().iter().map(|p| p.x_advance as f32 / upem).sum();
    Run { text: text.to_owned(), glyphs, ems }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Face<'static> {
        Face::from_slice(FONT_BYTES, 0).expect("the bundled font parses")
    }

    fn glyph_ids(shaped: &Shaped) -> Vec<u32> {
        shaped.runs.iter().flat_map(|r| r.glyphs.iter().map(|g| g.glyph_id.to_u32())).collect()
    }

    #[test]
    fn arabic_letters_join_and_every_character_has_a_glyph() {
        let face = face();
        let word = Shaped::new(&face, "فاتورة", 12.0);
        assert!(!glyph_ids(&word).contains(&0), "no .notdef in an Arabic word");
        // The same letters one by one take their isolated forms; joined, they differ.
        let isolated: Vec<u32> =
            "فاتورة".chars().flat_map(|c| glyph_ids(&Shaped::new(&face, &c.to_string(), 12.0))).collect();
        let mut joined = glyph_ids(&word);
        joined.reverse(); // drawn right to left: visual order is the reverse of reading order
        assert_ne!(joined, isolated, "contextual forms were applied");
    }

    #[test]
    fn digits_inside_arabic_keep_their_order_and_the_runs_come_in_visual_order() {
        let face = face();
        let line = Shaped::new(&face, "رقم INV-2026-000123 فقط", 10.0);
        let texts: Vec<&str> = line.runs.iter().map(|r| r.text.as_str()).collect();
        // Right to left paragraph: the last Arabic word is drawn leftmost.
        assert_eq!(texts.first().map(|t| t.trim()), Some("فقط"), "{texts:?}");
        assert_eq!(texts.get(1).map(|t| t.trim()), Some("INV-2026-000123"), "{texts:?}");
        assert_eq!(texts.last().map(|t| t.trim()), Some("رقم"), "{texts:?}");
        assert!(line.width() > 0.0);
    }

    #[test]
    fn a_latin_line_is_one_left_to_right_run() {
        let line = Shaped::new(&face(), "Total incl. VAT (SAR) 1,150.00", 10.0);
        assert_eq!(line.runs.len(), 1);
        assert!(!glyph_ids(&line).contains(&0));
    }
}
