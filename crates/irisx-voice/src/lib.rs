//! IRISX's native voice engine: SIP signalling over UDP and TCP (rsipstack), RTP media with G.711 and RFC 4733
//! digits, call-control verbs (play, say, gather, record, pause, bridge), a registrar for agents, and the
//! protections a public SIP port needs. [`NativeVoiceEngine`] implements core's `VoiceEngine` port.
//!
//! Where things are: `sip` (listeners, the protecting inspector, the registrar), `outbound` (trunk attempts and
//! failover), `inbound` (incoming INVITEs, answer, reject), `indialog` (re-INVITE, INFO, OPTIONS in a call),
//! `rtp` (sessions, packets, digits, jitter buffer, RTCP), `sdp`, `g711`, `media` (WAV, speech, record,
//! gather), `bridge`, `protect` (scanners, bans, call limits), `control` (call-control documents), `engine`
//! and `port` (the shared state and the port's methods).

mod bridge;
mod call;
pub mod config;
pub mod control;
mod engine;
pub mod error;
pub mod g711;
mod inbound;
mod indialog;
pub mod media;
mod outbound;
mod port;
pub mod protect;
pub mod rtp;
pub mod sdp;
pub mod sip;

pub use config::VoiceConfig;
pub use engine::NativeVoiceEngine;
pub use error::Error;

#[cfg(test)]
mod noise_tests;
