//! The knowledge base's rules (pure): what a search asks Postgres for, what an FAQ entry
//! reads as in the prompt, and the limits of what a business can store. Spelling is
//! normalised in SQL (`kb_normalize`, one definition for passages and questions); here a
//! question only becomes search terms: its words, split by script (Arabic words are
//! stemmed by the `arabic` configuration, the others by `english`), common Arabic
//! function words left out (the `arabic` configuration has no stop words).

/// A passage a search found.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Passage {
    pub body: String,
    /// The entry it belongs to (`None`: the bot page's knowledge text).
    pub title: Option<String>,
    pub rank: f32,
}

/// Passages put in the prompt, at most, and their total size.
pub const MAX_PASSAGES: i64 = 6;
pub const MAX_PASSAGE_CHARS: usize = 4_000;
/// Entries a business can keep, and the size of one.
pub const MAX_ENTRIES: i64 = 500;
pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_BODY_CHARS: usize = 50_000;
/// Words of a question that are searched for.
const MAX_TERMS: usize = 30;

/// A question as `to_tsquery` terms (words joined by ` | `, any one may match): Arabic
/// words for the `arabic` configuration, the rest for `english`. Each holds only letters
/// and digits, so neither can be read as query syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms {
    pub arabic: String,
    pub other: String,
}

impl Terms {
    pub fn is_empty(&self) -> bool {
        self.arabic.is_empty() && self.other.is_empty()
    }
}

/// The search terms of `question`.
pub fn terms(question: &str) -> Terms {
    let plain: String = question.chars().filter(|c| !is_mark(*c)).collect();
    let (mut arabic, mut other): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for word in plain.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 2) {
        let word = word.to_lowercase();
        let list = if word.chars().any(is_arabic_letter) { &mut arabic } else { &mut other };
        if list.len() + 1 > MAX_TERMS || list.contains(&word) || ARABIC_STOP.contains(&fold(&word).as_str()) {
            continue;
        }
        list.push(word);
    }
    Terms { arabic: arabic.join(" | "), other: other.join(" | ") }
}

/// An FAQ entry as one passage (the form the prompt gives every FAQ pair).
pub fn faq_passage(question: &str, answer: &str) -> String {
    let answer =
        answer.trim().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\nA: ");
    format!("Q: {}\nA: {answer}", question.trim())
}

/// Arabic diacritics (tashkeel), the superscript alef and tatweel.
fn is_mark(c: char) -> bool {
    ('\u{064B}'..='\u{065F}').contains(&c) || c == '\u{0670}' || c == '\u{0640}'
}

fn is_arabic_letter(c: char) -> bool {
    ('\u{0621}'..='\u{064A}').contains(&c) || ('\u{0671}'..='\u{06D3}').contains(&c)
}

/// The letter variants `kb_normalize` folds, folded the same way (for the stop list only).
fn fold(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ى' => 'ي',
            'ة' => 'ه',
            c => c,
        })
        .collect()
}

/// Arabic function words (folded) that would match nearly every passage.
const ARABIC_STOP: &[&str] = &[
    "في",
    "من",
    "علي",
    "الي",
    "عن",
    "مع",
    "هل",
    "ما",
    "ماذا",
    "متي",
    "كيف",
    "كم",
    "لو",
    "او",
    "ثم",
    "هذا",
    "هذه",
    "ذلك",
    "تلك",
    "التي",
    "الذي",
    "انا",
    "انت",
    "انتم",
    "نحن",
    "هو",
    "هي",
    "لا",
    "لم",
    "لن",
    "قد",
    "يا",
    "ان",
    "اذا",
    "بس",
    "ولا",
    "وش",
    "ايش",
    "شو",
    "عندكم",
    "عندك",
    "ابغي",
    "ابي",
    "ممكن",
    "اللي",
    "فيه",
    "فيها",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_becomes_terms_by_script_without_marks_function_words_or_repeats() {
        let t = terms("هل عندكم التَّوْصِيل؟ Do you deliver, deliver to Riyadh?");
        assert_eq!(t.arabic, "التوصيل");
        assert_eq!(t.other, "do | you | deliver | to | riyadh");
        assert!(terms("؟ ! -").is_empty());
    }

    #[test]
    fn terms_hold_only_letters_and_digits() {
        let t = terms("price' | !x & (y) <-> z:* ١٥");
        for term in t.other.split(" | ").chain(t.arabic.split(" | ")).filter(|s| !s.is_empty()) {
            assert!(term.chars().all(char::is_alphanumeric), "{term}");
        }
        assert!(t.other.contains("١٥"));
    }

    #[test]
    fn an_faq_entry_reads_as_a_question_and_its_answer() {
        assert_eq!(
            faq_passage(" Do you deliver? ", "Yes.\n\nFree above 100 SAR."),
            "Q: Do you deliver?\nA: Yes.\nA: Free above 100 SAR."
        );
    }
}
