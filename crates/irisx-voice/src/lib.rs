//! IRISX's native voice engine: SIP signalling over UDP and TCP (rsipstack), RTP media with G.711 and RFC 4733
//! digits, call-control verbs (play, say, gather, record, pause, bridge), a registrar for agents, and the
//! protections a public SIP port needs. [`NativeVoiceEngine`] implements core's `VoiceEngine` port.

pub mod config;
pub mod error;
pub mod g711;
pub mod media;
pub mod protect;
pub mod rtp;
pub mod sdp;

pub use config::VoiceConfig;
pub use error::Error;
