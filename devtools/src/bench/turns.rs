//! Customers writing turns of one or more messages at a paced rate, and when each was
//! answered: the paced load of the burst, latency and fairness scenarios. A customer's
//! messages go `gap` apart, each with the customer's number in its text (the model fake's
//! record of what it waited on names the customer), and the time counted is from the turn's
//! last message posted to the first reply the Graph fake accepted for that customer. A
//! delivery the web refuses is posted again as Meta retries (with backoff), and that wait
//! counts in the customer's time.

use std::{
    collections::HashMap,
    sync::{atomic::Ordering, Arc, Mutex},
    time::{Duration, SystemTime},
};

use tokio::task::JoinSet;

use super::stage::Stage;
use crate::harness::load;

/// One customer's turn: `messages` in a row to business number `business`.
pub struct Turn {
    pub business: usize,
    pub customer: String,
    pub messages: usize,
}

/// A turn answered.
pub struct Answered {
    pub customer: String,
    /// Last message posted → first reply accepted, in ms.
    pub ms: f64,
    /// When the last message was posted, and when the first reply was accepted.
    pub posted: SystemTime,
    pub replied: SystemTime,
}

/// Posts each turn's messages (turns started at `rate` a second, a turn's messages `gap`
/// apart), then waits (up to `limit`) until every customer got a reply.
pub async fn write(
    stage: &Stage,
    turns: &[Turn],
    rate: f64,
    gap: Duration,
    limit: Duration,
) -> anyhow::Result<Vec<Answered>> {
    let last_posted: Arc<Mutex<HashMap<String, SystemTime>>> = Arc::default();
    let stats = Arc::new(load::PostStats::default());
    let started = tokio::time::Instant::now();
    let mut posting = JoinSet::new();
    for (i, turn) in turns.iter().enumerate() {
        tokio::time::sleep_until(started + Duration::from_secs_f64(i as f64 / rate)).await;
        let deliveries: Vec<_> = (1..=turn.messages)
            .map(|m| {
                let text = format!("Hi, open now? #{} {m}/{}", turn.customer, turn.messages);
                let wamid = format!("wamid.TURN.{}.{m}", turn.customer);
                load::text_delivery(&stage.businesses[turn.business], &wamid, &turn.customer, &text)
            })
            .collect();
        let (http, posted, customer) = (stage.http.clone(), last_posted.clone(), turn.customer.clone());
        let stats = stats.clone();
        posting.spawn(async move {
            for (m, d) in deliveries.iter().enumerate() {
                if m > 0 {
                    tokio::time::sleep(gap).await;
                }
                posted.lock().unwrap_or_else(|p| p.into_inner()).insert(customer.clone(), SystemTime::now());
                load::post(&http, d, false, Duration::from_secs(300), &stats).await;
            }
        });
    }
    while posting.join_next().await.is_some() {}
    let (retried, lost) = (stats.retried.load(Ordering::Relaxed), stats.lost.load(Ordering::Relaxed));
    if retried > 0 {
        println!("bench: {retried} deliveries were refused at first and posted again (as Meta retries)");
    }
    anyhow::ensure!(lost == 0, "{lost} deliveries were refused for five minutes");
    let posted = std::mem::take(&mut *last_posted.lock().unwrap_or_else(|p| p.into_inner()));
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let mut first: HashMap<String, SystemTime> = HashMap::new();
        for s in stage.graph.sends() {
            let Some(to) = s.body["to"].as_str() else { continue };
            let at = first.entry(to.to_owned()).or_insert(s.at);
            *at = (*at).min(s.at);
        }
        let answered: Vec<Answered> = posted
            .iter()
            .filter_map(|(customer, at)| {
                let replied = first.get(customer)?;
                let ms = replied.duration_since(*at).unwrap_or_default().as_secs_f64() * 1000.0;
                Some(Answered { customer: customer.clone(), ms, posted: *at, replied: *replied })
            })
            .collect();
        if answered.len() >= posted.len() {
            return Ok(answered);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "only {} of {} customers answered",
            answered.len(),
            posted.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replies the Graph fake accepted, per customer.
pub fn replies(stage: &Stage) -> HashMap<String, usize> {
    let mut count = HashMap::new();
    for s in stage.graph.sends() {
        if let Some(to) = s.body["to"].as_str() {
            *count.entry(to.to_owned()).or_insert(0) += 1;
        }
    }
    count
}

/// The model's work on one customer's turn.
#[derive(Clone, Copy)]
pub struct ModelTime {
    /// Every completion whose last customer message names them, in ms.
    pub ms: f64,
    /// When the last of those completions reached the model, and when it was answered.
    pub asked: SystemTime,
    pub answered: SystemTime,
}

/// The model's work on each customer's turn.
pub fn model_times(stage: &Stage) -> HashMap<String, ModelTime> {
    let mut times: HashMap<String, ModelTime> = HashMap::new();
    for (text, waited, asked) in stage.model.waits() {
        let Some(customer) = text.split('#').nth(1).and_then(|rest| rest.split_whitespace().next()) else {
            continue;
        };
        let t = times.entry(customer.to_owned()).or_insert(ModelTime { ms: 0.0, asked, answered: asked });
        t.ms += waited.as_secs_f64() * 1000.0;
        if asked >= t.asked {
            (t.asked, t.answered) = (asked, asked + waited);
        }
    }
    times
}
