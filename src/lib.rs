//! The HTTP app and the process roles. `router` builds the exact production router, so
//! tests exercise what ships; `roles` holds what each Procfile line runs.

pub mod eval_cli;
pub mod mail;
pub mod roles;
pub mod shutdown;
pub mod staff_cli;
pub mod state;
pub mod web;

pub use state::AppState;
pub use web::router;
