//! What the chaos run and the benchmark share: the real `mujibak` binary as `web` and
//! `worker` processes (`fleet`), and businesses with their customers' messages delivered
//! as Meta delivers them (`load`), and a TCP proxy that freezes like a network partition
//! (`proxy`).

pub mod fleet;
pub mod load;
pub mod proxy;
