//! `mujibak eval`: asks a question set (the shipped Riyadh shop, or `--set FILE`) through
//! the configured OpenAI-compatible model (`OPENAI_BASE_URL`, `OPENAI_MODEL`) exactly as a
//! customer's message is answered, and prints each question's verdict and the totals, so a
//! model or prompt change is judged by numbers (`mujibak_core::eval`). It exits non-zero
//! when the model failed to answer any question (the scores would be incomplete), and with
//! `--require P` below P % passed, for CI.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use mujibak_core::{
    clients::openai::ReplyModel,
    eval::{self, Outcome, Set},
    Config,
};

use crate::roles::{connect, ensure_migrated};

#[derive(Args)]
pub struct Eval {
    /// A question set in TOML (default: the shipped Riyadh dates-and-coffee shop).
    #[arg(long)]
    set: Option<PathBuf>,
    /// Fail (exit 1) when fewer than this percentage of the questions pass.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    require: Option<u8>,
}

pub async fn run(config: &Config, args: Eval) -> anyhow::Result<()> {
    let text = match &args.set {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        None => eval::RIYADH_SHOP.to_owned(),
    };
    let set = Set::parse(&text)?;
    let pool = connect(config).await?;
    ensure_migrated(&pool).await?;
    let model = ReplyModel::new(&config.ai);
    println!(
        "{}: {} questions, model {} at {}",
        set.name,
        set.case.len(),
        model.model_for(None),
        config.ai.base_url
    );
    let outcomes = eval::run(&pool, &model, &set).await?;
    println!("{:>3}  lang  verdict  grounded  language  hand-off  found  question → answer", "#");
    for (i, o) in outcomes.iter().enumerate() {
        println!("{}", line(i + 1, o));
    }
    let t = eval::totals(&outcomes);
    println!(
        "passed {} of {}; grounded {}/{}, language {}/{}, hand-off {}/{}; the search found the facts for {}/{}",
        t.passed,
        t.cases,
        t.grounded.0,
        t.grounded.1,
        t.language.0,
        t.language.1,
        t.handoff.0,
        t.handoff.1,
        t.found.0,
        t.found.1
    );
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.failed).collect();
    if let Some(first) = failed.first() {
        anyhow::bail!(
            "the model gave no answer to {} of {} questions, so the scores are incomplete (first: {})",
            failed.len(),
            t.cases,
            first.said
        );
    }
    if let Some(required) = args.require {
        let percent = t.passed * 100 / t.cases.max(1);
        anyhow::ensure!(percent >= usize::from(required), "{percent} % passed, {required} % required");
    }
    Ok(())
}

fn line(n: usize, o: &Outcome) -> String {
    let v = &o.verdict;
    let mark = |check: Option<bool>| match check {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "-",
    };
    let mut why = Vec::new();
    if !v.missing.is_empty() {
        why.push(format!("missing {}", v.missing.join(", ")));
    }
    if !v.invented.is_empty() {
        why.push(format!("invented {}", v.invented.join(", ")));
    }
    let answer: String = o.said.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(90).collect();
    let why = if why.is_empty() { String::new() } else { format!(" [{}]", why.join("; ")) };
    format!(
        "{n:>3}  {:<4}  {:<7}  {:<8}  {:<8}  {:<8}  {:<5}  {} → {answer}{why}",
        o.lang,
        if v.passed() { "PASS" } else { "FAIL" },
        mark(v.grounded),
        mark(v.language),
        mark(Some(v.handoff)),
        mark(v.found),
        o.question
    )
}
