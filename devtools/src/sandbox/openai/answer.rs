//! The simulated model's answers: deterministic, clearly marked, taken from the Q/A
//! pairs of the business's FAQ when a question shares words with the customer's message,
//! in the language the prompt asks for (else the customer's).

use std::collections::HashSet;

use serde_json::Value;

pub(super) const ARABIC_TAG: &str = "[رد تجريبي] ";
pub(super) const ARABIC_DEFAULT: &str = "شكرًا لتواصلك! هذا رد تجريبي من بيئة التجربة.";
pub(super) const ENGLISH_TAG: &str = "[simulated] ";
pub(super) const ENGLISH_DEFAULT: &str =
    "Thanks for your message! This is a simulated reply from the sandbox.";

pub(super) fn simulated_reply(request: &Value) -> String {
    let messages = request["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let system: Vec<String> = messages
        .iter()
        .filter(|m| m["role"] == "system" || m["role"] == "developer")
        .map(|m| text_of(&m["content"]))
        .collect();
    let last_user = messages.iter().rev().find(|m| m["role"] == "user").map(|m| text_of(&m["content"]));
    reply(&system.join("\n"), &last_user.unwrap_or_default())
}

pub(super) fn reply(system: &str, last_user: &str) -> String {
    let faq = faq_answer(system, last_user);
    if replies_in_arabic(system, last_user) {
        format!("{ARABIC_TAG}{}", faq.as_deref().unwrap_or(ARABIC_DEFAULT))
    } else {
        format!("{ENGLISH_TAG}{}", faq.as_deref().unwrap_or(ENGLISH_DEFAULT))
    }
}

/// A message's text: a plain string, or the `text` parts of an array of content parts.
pub(super) fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            let texts: Vec<&str> =
                parts.iter().filter(|p| p["type"] == "text").filter_map(|p| p["text"].as_str()).collect();
            texts.join("\n")
        }
        _ => String::new(),
    }
}

pub(super) fn replies_in_arabic(system: &str, last_user: &str) -> bool {
    let system = system.to_lowercase();
    if system.contains("reply in arabic") {
        true
    } else if system.contains("reply in english") {
        false
    } else {
        last_user.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
    }
}

/// The answer of the `Q:`/`A:` (or `س:`/`ج:`) pair sharing the most words with the question;
/// the first such pair on a tie, none when no word is shared.
fn faq_answer(system: &str, last_user: &str) -> Option<String> {
    let asked = words(last_user);
    let mut best: Option<(usize, String)> = None;
    for (question, answer) in faq_pairs(system) {
        let shared = words(&question).intersection(&asked).count();
        if shared > 0 && best.as_ref().is_none_or(|(most, _)| shared > *most) {
            best = Some((shared, answer));
        }
    }
    best.map(|(_, answer)| answer)
}

/// `(question, answer)` pairs: a `Q:` line followed directly by one or more `A:` lines.
fn faq_pairs(system: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut open = false;
    for line in system.lines().map(|l| l.trim().trim_start_matches(['-', '*', '•', ' '])) {
        if let Some(question) = strip_label(line, &["Q:", "q:", "س:"]) {
            pairs.push((question.to_owned(), String::new()));
            open = true;
        } else if let (true, Some(answer), Some(pair)) =
            (open, strip_label(line, &["A:", "a:", "ج:"]), pairs.last_mut())
        {
            if !pair.1.is_empty() {
                pair.1.push('\n');
            }
            pair.1.push_str(answer);
        } else {
            open = false;
        }
    }
    pairs.retain(|(_, answer)| !answer.is_empty());
    pairs
}

fn strip_label<'a>(line: &'a str, labels: &[&str]) -> Option<&'a str> {
    labels.iter().find_map(|label| line.strip_prefix(label)).map(str::trim)
}

/// Lower-cased words of three or more characters, Arabic normalised (no diacritics or tatweel,
/// one alef, ة→ه, ى→ي, leading ال dropped) so that spelling variants still match.
fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric()).map(normalise).filter(|w| w.chars().count() >= 3).collect()
}

fn normalise(word: &str) -> String {
    let word: String = word
        .chars()
        .filter(|c| !('\u{064B}'..='\u{065F}').contains(c) && *c != '\u{0670}' && *c != '\u{0640}')
        .map(|c| match c {
            'أ' | 'إ' | 'آ' => 'ا',
            'ة' => 'ه',
            'ى' => 'ي',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    match word.strip_prefix("ال") {
        Some(rest) if rest.chars().count() >= 3 => rest.to_owned(),
        _ => word,
    }
}
