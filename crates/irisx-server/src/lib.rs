//! The `irisx` binary's library: configuration, wiring of the backends chosen by configuration, telemetry,
//! and the roles (`api`, `worker`, `voice`, `all`) with graceful shutdown.

pub mod config;
pub mod freeswitch;
pub mod secrets;
pub mod serve;
pub mod telemetry;
pub mod voice;
