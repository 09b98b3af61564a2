//! How one answer is judged (pure): the facts it must state, numbers it may not invent,
//! the language it must answer in, and whether it hands off when it should.
//!
//! Text is compared after `handoff::normalize` (Arabic letter variants, diacritics, case)
//! with Arabic-Indic digits read as ASCII, so "٦٥ ريالًا" states the fact "65".

use serde::Serialize;

use crate::domain::{digits::ascii_digits, handoff::normalize};

/// What was said back to one question.
pub enum Said<'a> {
    /// A person was asked for: the hand-off phrase list matched, or the model answered
    /// HANDOFF.
    HandedOff,
    /// The model's answer, and the passages it was given (one text).
    Answer { text: &'a str, passages: &'a str },
    /// The model gave no answer (an error).
    Failed,
}

/// The judgement of one answer. `None`: the check does not apply (a hand-off has no facts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub grounded: Option<bool>,
    pub language: Option<bool>,
    pub handoff: bool,
    /// Whether the passages the search found hold every expected fact (a diagnosis, not a
    /// check: a fact the search missed cannot be stated without inventing it).
    pub found: Option<bool>,
    /// Expected facts the answer does not state.
    pub missing: Vec<String>,
    /// Numbers in the answer that no passage holds (an invented price, hour or count).
    pub invented: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.handoff && self.grounded != Some(false) && self.language != Some(false)
    }
}

/// Judges what was said to a question in `lang` (`ar` or `en`) that expects `facts` (each
/// a list of `|`-separated alternatives) and, if `handoff`, a hand-off.
pub fn judge(said: &Said<'_>, lang: &str, facts: &[String], handoff: bool) -> Verdict {
    match said {
        Said::HandedOff => Verdict { handoff, ..Verdict::default() },
        Said::Failed => {
            Verdict { handoff: !handoff, grounded: Some(false), language: Some(false), ..Verdict::default() }
        }
        Said::Answer { text, passages } => {
            let answer = plain(text);
            let missing: Vec<String> = facts
                .iter()
                .filter(|fact| {
                    !fact.split('|').any(|alt| !plain(alt).is_empty() && contains_words(&answer, &plain(alt)))
                })
                .cloned()
                .collect();
            let held = numbers(&plain(passages));
            let mut invented: Vec<String> =
                numbers(&answer).into_iter().filter(|n| !held.contains(n)).collect();
            invented.dedup();
            let in_passages = plain(passages);
            let found = (!facts.is_empty()).then(|| facts.iter().all(|fact| states(&in_passages, fact)));
            Verdict {
                found,
                grounded: Some(missing.is_empty() && invented.is_empty()),
                language: Some(language_of(text) == lang),
                handoff: !handoff,
                missing,
                invented,
            }
        }
    }
}

/// `ar` if Arabic letters are at least as many as Latin ones, else `en`.
pub fn language_of(text: &str) -> &'static str {
    let arabic = text.chars().filter(|c| ('\u{0621}'..='\u{064A}').contains(c)).count();
    let latin = text.chars().filter(char::is_ascii_alphabetic).count();
    if arabic >= latin && arabic > 0 {
        "ar"
    } else {
        "en"
    }
}

/// Whether the normalised `text` states `fact` (any of its `|` alternatives).
fn states(text: &str, fact: &str) -> bool {
    fact.split('|').map(plain).any(|alt| !alt.is_empty() && contains_words(text, &alt))
}

fn plain(text: &str) -> String {
    normalize(&ascii_digits(text))
}

/// Whether `needle` occurs in `hay` on word boundaries (both normalised); an Arabic needle
/// may also open a longer word ("ريال" in "ريالا"), and a one-letter prefix (و، ب، ل، ال) is allowed.
fn contains_words(hay: &str, needle: &str) -> bool {
    let spaced = format!(" {hay} ");
    if needle.is_ascii() {
        return spaced.contains(&format!(" {needle} "));
    }
    spaced.match_indices(needle).any(|(at, _)| {
        let before = spaced[..at].chars().rev().take_while(|c| *c != ' ').collect::<String>();
        matches!(
            before.chars().rev().collect::<String>().as_str(),
            "" | "و" | "ب" | "ل" | "ال" | "بال" | "وال" | "لل"
        )
    })
}

/// The whole numbers written in `text` (digit runs; runs of zeros, as in "9:00", left out).
fn numbers(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty() && n.chars().any(|c| c != '0'))
        .map(|n| n.trim_start_matches('0').to_owned())
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer<'a>(text: &'a str, passages: &'a str) -> Said<'a> {
        Said::Answer { text, passages }
    }

    #[test]
    fn a_fact_is_found_in_either_digit_set_and_with_any_letter_forms() {
        let passages = "Q: كم سعر السكري؟\nA: تمر سكري 1 كجم: 65 ريال";
        let v = judge(
            &answer("سعر السُّكَّري ٦٥ ريالًا للكيلو.", passages),
            "ar",
            &["65".into(), "السكري".into()],
            false,
        );
        assert!(v.passed(), "{v:?}");
        let v = judge(&answer("The Sukkari is 65 SAR.", passages), "ar", &["65".into()], false);
        assert_eq!(
            (v.grounded, v.language),
            (Some(true), Some(false)),
            "an English answer to an Arabic question"
        );
    }

    #[test]
    fn a_number_no_passage_holds_is_invented_and_a_missing_fact_fails() {
        let passages = "Delivery in Riyadh costs 20 SAR; free over 200 SAR.";
        let v =
            judge(&answer("Delivery is 25 SAR, free over 200 SAR.", passages), "en", &["20".into()], false);
        assert_eq!(v.invented, vec!["25".to_owned()]);
        assert_eq!(v.missing, vec!["20".to_owned()]);
        assert!(!v.passed());
        let v = judge(&answer("We open at 9:00 and close at 23:00.", "Daily 9 to 23."), "en", &[], false);
        assert!(v.invented.is_empty(), "the minutes of a time are no invented number: {v:?}");
        assert!(!judge(&answer("Price: 1200 SAR", "Price: 120 SAR"), "en", &["120".into()], false).passed());
    }

    #[test]
    fn alternatives_and_word_boundaries() {
        let v = judge(&answer("Yes, we take ابل باي.", ""), "en", &["Apple Pay|ابل باي".into()], false);
        assert!(v.missing.is_empty());
        let v = judge(&answer("Call 2200.", "2200"), "en", &["20".into()], false);
        assert_eq!(v.missing, vec!["20".to_owned()], "20 is not stated by 2200");
        assert_eq!(v.found, Some(false), "nor do the passages hold it");
    }

    #[test]
    fn a_handoff_passes_only_when_one_was_expected() {
        assert!(judge(&Said::HandedOff, "ar", &[], true).passed());
        assert!(!judge(&Said::HandedOff, "ar", &["65".into()], false).passed());
        assert!(!judge(&answer("65 SAR", "65"), "en", &[], true).passed(), "answered instead of handing off");
        assert!(!judge(&Said::Failed, "en", &[], false).passed());
    }
}
