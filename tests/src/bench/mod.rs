//! What `make bench` measures with: a Runtime API emulator, a counting proxy in front of moto, the
//! function processes' own numbers, and the statistics and table they end up in.

pub mod cgroup;
pub mod parity;
pub mod process;
pub mod provenance;
pub mod proxy;
pub mod runtime;
pub mod stats;
