//! How a job's future is run ([`Running`]): as a task of its own on the runtime's worker
//! threads (so jobs use every core, not only the thread apalis' `Monitor` polls on),
//! aborted when dropped, so a worker that stops (or a test that kills one) stops its jobs
//! as it would if they were polled in place; or, with `parallel` off, polled where apalis
//! polls it. Either way it answers as apalis' `parallelize` expects:
//! `Result<output, JoinError>`.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::task::{JoinError, JoinHandle};

/// A job being run.
pub(crate) enum Running<F: Future> {
    /// A task of its own; aborted when dropped.
    Spawned(JoinHandle<F::Output>),
    /// Polled in place.
    InPlace(Pin<Box<F>>),
}

impl<F> Running<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// Runs `job` on every core when `parallel`, else in place.
    pub(crate) fn new(job: F, parallel: bool) -> Self {
        if parallel {
            Self::Spawned(tokio::spawn(job))
        } else {
            Self::InPlace(Box::pin(job))
        }
    }
}

impl<F: Future> Future for Running<F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Self::Spawned(handle) => Pin::new(handle).poll(cx),
            Self::InPlace(job) => job.as_mut().poll(cx).map(Ok),
        }
    }
}

impl<F: Future> Drop for Running<F> {
    fn drop(&mut self) {
        if let Self::Spawned(handle) = self {
            handle.abort();
        }
    }
}
