//! What the chaos run and the benchmark share: the real `mujibak` binary as `web` and
//! `worker` processes (`fleet`), and businesses with their customers' messages delivered
//! as Meta delivers them (`load`).

pub mod fleet;
pub mod load;
