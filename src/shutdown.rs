//! The process-wide shutdown signal: SIGTERM (Heroku, systemd) or Ctrl-C.

use futures::{
    future::{BoxFuture, Shared},
    FutureExt,
};

/// A cloneable future that resolves once the process is asked to stop.
pub type Shutdown = Shared<BoxFuture<'static, ()>>;

/// Listens for SIGTERM and SIGINT.
pub fn signal() -> Shutdown {
    async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = ctrl_c => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = ctrl_c.await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    }
    .boxed()
    .shared()
}
