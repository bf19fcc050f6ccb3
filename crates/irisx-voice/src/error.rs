//! The voice engine's errors, and how they reach the port's callers.

use irisx_core::ports::voice::VoiceError;

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work.
    #[error("invalid voice configuration: {0}")]
    Config(String),
    /// No RTP port pair was free in the configured range.
    #[error("no free RTP port in the configured range")]
    NoRtpPort,
    /// An RTP socket failed.
    #[error("RTP socket failed")]
    Rtp(#[source] std::io::Error),
    /// A SIP listener could not be opened.
    #[error("cannot listen for SIP on {addr}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why (boxed: the stack's error is large).
        #[source]
        source: Box<rsipstack::Error>,
    },
    /// The SIP stack failed.
    #[error("SIP stack failed")]
    Sip(#[source] Box<rsipstack::Error>),
    /// A SIP URI or address could not be built from the request (a trunk's host, a number, a contact).
    #[error("bad SIP address")]
    Address(#[from] rsipstack::sip::Error),
    /// The far end's SDP was unusable.
    #[error(transparent)]
    Sdp(#[from] crate::sdp::SdpError),
    /// The far end offered no telephone-event payload type, so digits cannot be sent.
    #[error("the far end takes no RFC 4733 digits")]
    NoTelephoneEvent,
    /// Not a DTMF key.
    #[error("{0:?} is not a DTMF key")]
    BadDigit(char),
    /// Audio in a form the engine does not play.
    #[error("unsupported audio: {0}")]
    Audio(String),
    /// The text-to-speech program failed or is missing.
    #[error("text to speech failed: {0}")]
    Speech(String),
    /// A WAV file could not be read or written.
    #[error("WAV")]
    Wav(#[from] hound::Error),
}

impl From<rsipstack::Error> for Error {
    fn from(e: rsipstack::Error) -> Self {
        Error::Sip(Box::new(e))
    }
}

impl From<Error> for VoiceError {
    fn from(e: Error) -> Self {
        match e {
            Error::Audio(reason) => VoiceError::UnsupportedAudio(reason),
            e => VoiceError::Engine(Box::new(e)),
        }
    }
}
