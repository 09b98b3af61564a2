//! Hand-off to a person: whether a customer asks for one, in Arabic (Gulf dialect
//! included) or English, from a built-in list of phrases the business can extend, or
//! because the model judged so (it answers with [`MODEL_TOKEN`] when the customer asks for
//! a person in words the list does not hold). Text is compared after normalising Arabic letter variants,
//! diacritics and tatweel, and English case, so "أبغى أكلم موظف" and "ابغي اكلم الموظف"
//! are the same request.

/// What the model answers instead of a reply when a person should take over.
pub const MODEL_TOKEN: &str = "HANDOFF";

/// The instruction that asks the model for [`MODEL_TOKEN`].
pub const PROMPT: &str = "If the customer asks to talk to a person (a human, an employee, customer service, \
    a manager), answer with exactly the word HANDOFF and nothing else.";

/// Said to the customer when the business wrote nothing of its own.
pub const DEFAULT_MESSAGE: &str =
    "حوّلنا محادثتك إلى أحد أفراد فريقنا، وسيرد عليك قريبًا. A member of our team will reply to you shortly.";

/// Requests for a person as customers write them (normalised when compared).
const PHRASES: &[&str] = &[
    "موظف",
    "اكلم شخص",
    "اكلم احد",
    "اكلم حد",
    "اكلم انسان",
    "اتكلم مع شخص",
    "اتكلم مع احد",
    "اتواصل مع شخص",
    "خدمه العملاء",
    "شخص حقيقي",
    "انسان حقيقي",
    "مو بوت",
    "مندوب",
    "human",
    "real person",
    "a person",
    "an agent",
    "live agent",
    "representative",
    "customer service",
    "talk to someone",
    "speak to someone",
    "talk to a",
    "speak to a",
];

/// `text` as compared: Arabic letter variants unified (أإآ→ا, ة→ه, ى→ي, ؤ→و, ئ→ي),
/// diacritics and tatweel removed, lower case, punctuation as spaces, one space between words.
pub fn normalize(text: &str) -> String {
    let mapped: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}'))
        .map(|c| match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ة' => 'ه',
            'ى' => 'ي',
            'ؤ' => 'و',
            'ئ' => 'ي',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .flat_map(char::to_lowercase)
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `said` asks for a person: a built-in phrase or one of the business's own
/// (`extra`, one per line).
pub fn requested(said: &str, extra: &str) -> bool {
    let text = normalize(said);
    let spaced = format!(" {text} ");
    let contains = |phrase: &str| {
        let p = normalize(phrase);
        // English as whole words ("human" is not in "humane"); Arabic inside words too
        // ("موظف" is in "الموظف" and "موظفين").
        !p.is_empty() && if p.is_ascii() { spaced.contains(&format!(" {p} ")) } else { text.contains(&p) }
    };
    PHRASES.iter().any(|p| contains(p))
        || extra.lines().map(str::trim).filter(|l| !l.is_empty()).any(contains)
}

/// Whether the model's answer hands the conversation to a person.
pub fn model_asked(answer: &str) -> bool {
    answer.split(|c: char| !c.is_ascii_alphabetic()).any(|w| w == MODEL_TOKEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_for_a_person_are_found_in_dialect_and_with_any_letter_forms() {
        for said in [
            "أبغى أكلم موظف",
            "ابغي اكلم الموظف لو سمحت",
            "أُرِيدُ خِدْمَةَ العُمَلاءِ",
            "ممكن أتكلم مع شخص؟",
            "I want to talk to a human",
            "Can I speak to someone please",
            "REAL PERSON!!",
        ] {
            assert!(requested(said, ""), "{said}");
        }
        for said in ["متى تفتحون؟", "كم سعر التوصيل", "Do you deliver?", "Thank you, humane service!"]
        {
            assert!(!requested(said, ""), "{said}");
        }
        assert!(requested("أبي المدير", "مدير\n"), "the business's own phrase");
        assert!(!requested("أبي المدير", ""));
    }

    #[test]
    fn the_models_token_is_a_word_of_its_own() {
        assert!(model_asked("HANDOFF") && model_asked("[simulated] HANDOFF") && model_asked(" HANDOFF."));
        assert!(!model_asked("We handoff parcels daily") && !model_asked("HANDOFFS"));
    }
}
