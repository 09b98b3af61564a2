//! The queue runtime under the jobs, as the product runs it: enqueueing inside a
//! transaction, batching, retries, fairness between businesses, liveness and rescue, the occasional queues' shared places,
//! fences after an outage, crashes and shutdowns, the schema next to apalis', jobs on
//! every core, and the chaos run's short form.

mod batching;
mod chaos;
mod crash;
mod enqueue;
mod fairness;
mod fences;
mod liveness;
mod occasional;
mod parallel;
mod partition;
mod retry;
mod schema;
mod shutdown;
mod taking;
