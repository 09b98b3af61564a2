//! The sandbox's pages (built only with the `dev` feature, mounted only in `mujibak dev`):
//! the customer simulator, the billing button and a sandbox number in one click. The
//! sandbox services they talk to are `mujibak_devtools::sandbox`.

mod billing;
mod connect;
mod simulator;

use super::routes::Routes;

/// Every sandbox page.
pub fn routes() -> Routes {
    simulator::routes().merge(billing::routes()).merge(connect::routes())
}
