//! Reading a downloaded PDF the way a customer's tools would, with Poppler (installed by
//! `scripts/test`): its text as `pdftotext` extracts it, and its QR code as a phone would
//! scan it from the page rendered by `pdftoppm` (grey pixels, decoded by rqrr).

use std::{path::PathBuf, process::Command};

/// A PDF written to a fresh folder in the temp folder, removed when dropped.
struct Saved {
    dir: PathBuf,
    file: PathBuf,
}

impl Drop for Saved {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn saved(bytes: &[u8]) -> Saved {
    let dir = std::env::temp_dir().join(format!("mujibak-pdf-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.pdf");
    std::fs::write(&file, bytes).unwrap();
    Saved { dir, file }
}

/// The text of the PDF `bytes`, as `pdftotext` extracts it, without the bidi embedding
/// marks it writes around each run and without Arabic short vowels: Poppler orders a
/// combining mark by its position on the page, so `مُ` can come out as `ُم`.
pub fn text(bytes: &[u8]) -> String {
    let saved = saved(bytes);
    let file = &saved.file;
    let out = Command::new("pdftotext").arg(file).arg("-").output().expect("pdftotext (poppler-utils) runs");
    assert!(out.status.success(), "pdftotext reads the PDF: {}", String::from_utf8_lossy(&out.stderr));
    bare(&String::from_utf8(out.stdout).unwrap())
}

/// `text` without bidi controls and Arabic marks (tashkeel).
pub fn bare(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{064B}'..='\u{065F}'))
        .collect()
}

/// The number of pages `pdfinfo` counts.
pub fn pages(bytes: &[u8]) -> usize {
    let saved = saved(bytes);
    let file = &saved.file;
    let out = Command::new("pdfinfo").arg(file).output().expect("pdfinfo (poppler-utils) runs");
    assert!(out.status.success(), "pdfinfo reads the PDF: {}", String::from_utf8_lossy(&out.stderr));
    let info = String::from_utf8(out.stdout).unwrap();
    let line = info.lines().find(|l| l.starts_with("Pages:")).expect("a page count");
    line.trim_start_matches("Pages:").trim().parse().unwrap()
}

/// Every QR code on the first page, decoded, from the page rendered in grey at 200 dpi.
pub fn qr_codes(bytes: &[u8]) -> Vec<String> {
    let saved = saved(bytes);
    let file = &saved.file;
    let prefix = file.with_file_name("page");
    let out = Command::new("pdftoppm")
        .args(["-gray", "-r", "200", "-f", "1", "-l", "1", "-singlefile"])
        .arg(file)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (poppler-utils) runs");
    assert!(out.status.success(), "pdftoppm renders the PDF: {}", String::from_utf8_lossy(&out.stderr));
    let (width, height, pixels) = pgm(&std::fs::read(prefix.with_extension("pgm")).unwrap());
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    image.detect_grids().iter().map(|grid| grid.decode().expect("the QR code decodes").1).collect()
}

/// A binary PGM (P5, 8-bit): width, height, pixels.
fn pgm(data: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&data[start..at]).unwrap().to_owned());
    }
    assert_eq!(fields[0], "P5", "a binary grey image");
    let (width, height): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = data[at + 1..].to_vec();
    assert_eq!(pixels.len(), width * height);
    (width, height, pixels)
}
