//! The probes: each turns one check into an [`Outcome`](crate::outcome::Outcome).

pub mod connect;
pub mod dns;
pub mod ecs;
pub mod http;
pub mod tcp;
pub mod tls;
