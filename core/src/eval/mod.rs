//! Answer quality you can measure (`mujibak eval`): a set of customer questions in Arabic
//! and English, each with the facts its answer must state (or that a person should take
//! over), asked against a knowledge base exactly as a customer's message is answered —
//! the hand-off phrases first, then the passages Postgres finds, the reply prompt, the
//! configured model — and judged (`score`). The set's knowledge base is loaded into a
//! scratch business inside one transaction that is rolled back: nothing is kept.

mod score;

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

pub use score::{judge, language_of, Said, Verdict};

use crate::{
    clients::openai::{ReplyModel, Turn},
    db::{bot_settings::BotSettings, knowledge, tenants},
    domain::{handoff, knowledge as rules, reply, TenantId},
};

/// The set shipped with Mujibak: a Riyadh dates-and-coffee shop, 40+ questions.
pub const RIYADH_SHOP: &str = include_str!("../../assets/eval/riyadh-shop.toml");

/// How an outcome's text starts when the model gave no answer.
const MODEL_ERROR: &str = "model error: ";

/// A question set with the knowledge base it is asked against.
#[derive(Debug, Clone, Deserialize)]
pub struct Set {
    pub name: String,
    pub business: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub faq: Vec<Faq>,
    #[serde(default)]
    pub document: Vec<Document>,
    pub case: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Faq {
    pub question: String,
    pub answer: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    pub title: String,
    pub text: String,
}

/// One customer question.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub question: String,
    /// `ar` or `en`: the language the answer must be in.
    pub lang: String,
    /// Facts the answer must state; `a|b` accepts either spelling.
    #[serde(default)]
    pub expect: Vec<String>,
    /// A person should take over instead of an answer.
    #[serde(default)]
    pub handoff: bool,
}

/// One question's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub question: String,
    pub lang: String,
    /// The answer, `HANDOFF`, or the model's error.
    pub said: String,
    /// The model gave no answer (`said` holds its error).
    pub failed: bool,
    pub verdict: Verdict,
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("the set is not valid: {0}")]
    Set(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Set {
    /// Reads a set from its TOML text (the shipped one is [`RIYADH_SHOP`]).
    pub fn parse(text: &str) -> Result<Self, EvalError> {
        let set: Set = toml::from_str(text).map_err(|e| EvalError::Set(e.to_string()))?;
        set.check()?;
        Ok(set)
    }

    /// Checks what a TOML parser cannot: languages, and that there is something to ask.
    pub fn check(&self) -> Result<(), EvalError> {
        if self.case.is_empty() {
            return Err(EvalError::Set("it has no [[case]]".into()));
        }
        if let Some(c) = self.case.iter().find(|c| c.lang != "ar" && c.lang != "en") {
            return Err(EvalError::Set(format!("lang must be ar or en, not {:?} ({})", c.lang, c.question)));
        }
        Ok(())
    }
}

/// Asks every question of `set` and judges each answer, in the set's order.
pub async fn run(pool: &PgPool, model: &ReplyModel, set: &Set) -> Result<Vec<Outcome>, EvalError> {
    set.check()?;
    let mut tx = pool.begin().await?;
    let tenant = TenantId::new();
    tenants::insert(&mut tx, tenant, &set.business).await?;
    for f in &set.faq {
        let passage = rules::faq_passage(&f.question, &f.answer);
        knowledge::add_faq(&mut tx, tenant, &f.question, &f.answer, &passage).await?;
    }
    for d in &set.document {
        knowledge::add_document(&mut tx, tenant, &d.title, &d.text).await?;
    }
    let settings = BotSettings {
        enabled: true,
        description: set.description.clone(),
        reply_language: "match".into(),
        ..Default::default()
    };
    let mut outcomes = Vec::with_capacity(set.case.len());
    for case in &set.case {
        let passages = passages(&mut tx, tenant, case).await?;
        outcomes.push(ask(model, &set.business, &settings, case, &passages).await);
    }
    tx.rollback().await?;
    Ok(outcomes)
}

/// The passages of `tenant`'s knowledge base a customer's message `case` would be
/// answered from.
pub async fn passages(
    conn: &mut PgConnection,
    tenant: TenantId,
    case: &Case,
) -> Result<Vec<knowledge::Passage>, sqlx::Error> {
    knowledge::relevant(conn, tenant, &rules::terms(&case.question), rules::MAX_PASSAGES).await
}

/// Asks `case` as a customer's message is answered (the hand-off phrases of `settings`,
/// the reply prompt with `passages`, the default model) and judges the answer.
pub async fn ask(
    model: &ReplyModel,
    business: &str,
    settings: &BotSettings,
    case: &Case,
    passages: &[knowledge::Passage],
) -> Outcome {
    let held = passages.iter().map(|p| p.body.as_str()).collect::<Vec<_>>().join("\n");
    let judged = |said: &Said<'_>| judge(said, &case.lang, &case.expect, case.handoff);
    let (said, verdict) = if handoff::requested(&case.question, &settings.handoff_phrases) {
        (handoff::MODEL_TOKEN.to_owned(), judged(&Said::HandedOff))
    } else {
        let system = reply::system_prompt(business, settings, passages);
        let asked = [Turn { from_customer: true, text: case.question.clone() }];
        match model.reply(None, &system, &asked).await {
            Ok(answer) if handoff::model_asked(&answer) => (answer, judged(&Said::HandedOff)),
            Ok(answer) => {
                let verdict = judged(&Said::Answer { text: &answer, passages: &held });
                (answer, verdict)
            }
            Err(e) => (format!("{MODEL_ERROR}{e}"), judged(&Said::Failed)),
        }
    };
    let failed = said.starts_with(MODEL_ERROR);
    Outcome { question: case.question.clone(), lang: case.lang.clone(), said, failed, verdict }
}

impl Case {
    /// An owner's sample question, one line: `question`, or `question => fact; fact` (`؛`
    /// too) with the facts its answer must state, or `question => handoff` when a person
    /// should take over. The answer's language is the question's. `None` for a blank line.
    pub fn from_line(line: &str) -> Option<Case> {
        let (question, expected) = line.split_once("=>").unwrap_or((line, ""));
        let question = question.trim();
        if question.is_empty() {
            return None;
        }
        let expected = expected.trim();
        let handoff = expected.eq_ignore_ascii_case("handoff") || expected == "موظف";
        let expect = if handoff {
            Vec::new()
        } else {
            expected.split([';', '؛']).map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect()
        };
        Some(Case { question: question.to_owned(), lang: language_of(question).to_owned(), expect, handoff })
    }
}

/// The totals of a run: passed, and each check as (passed, applicable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub passed: usize,
    pub cases: usize,
    pub grounded: (usize, usize),
    pub language: (usize, usize),
    pub handoff: (usize, usize),
    /// Questions whose facts were all in the passages the search found.
    pub found: (usize, usize),
}

pub fn totals(outcomes: &[Outcome]) -> Totals {
    let mut t = Totals { cases: outcomes.len(), ..Totals::default() };
    for o in outcomes {
        let v = &o.verdict;
        t.passed += usize::from(v.passed());
        for (check, total) in [
            (v.grounded, &mut t.grounded),
            (v.language, &mut t.language),
            (Some(v.handoff), &mut t.handoff),
            (v.found, &mut t.found),
        ] {
            if let Some(ok) = check {
                total.0 += usize::from(ok);
                total.1 += 1;
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shipped_set_parses_and_holds_forty_questions_in_both_languages() {
        let set = super::Set::parse(super::RIYADH_SHOP).expect("the shipped set parses");
        assert!(set.case.len() >= 40, "{}", set.case.len());
        for lang in ["ar", "en"] {
            assert!(set.case.iter().filter(|c| c.lang == lang).count() >= 15, "too few {lang} questions");
        }
        assert!(
            set.case.iter().any(|c| c.handoff) && set.case.iter().any(|c| c.expect.is_empty() && !c.handoff)
        );
    }

    #[test]
    fn an_owners_sample_line_is_a_question_with_its_facts_or_a_handoff() {
        let c = super::Case::from_line("  بكم السكري؟ => 65؛ ريال ").unwrap();
        assert_eq!(
            (c.question.as_str(), c.lang.as_str(), c.expect.clone()),
            ("بكم السكري؟", "ar", vec!["65".into(), "ريال".into()])
        );
        let c = super::Case::from_line("Can I speak to the manager? => handoff").unwrap();
        assert!(c.handoff && c.expect.is_empty() && c.lang == "en");
        let c = super::Case::from_line("Do you deliver?").unwrap();
        assert!(c.expect.is_empty() && !c.handoff);
        assert!(super::Case::from_line("   => 5").is_none() && super::Case::from_line("").is_none());
    }
}
