//! The voice engine port: what the call orchestrator needs from a SIP/RTP engine, whatever speaks the wire (the
//! native engine in `irisx-voice`, or a FreeSWITCH driver later).
//!
//! The design, in the words the orchestrator uses:
//! - **Originate** places a call to a destination: a list of carrier trunks in price order (the engine tries
//!   them in turn, failing over on 503, other 5xx and no answer, never on busy or not found), or a registered
//!   agent. It returns a [`CallHandle`]: the call's id and its ordered [`CallEvent`] stream, which always ends with
//!   one [`CallEvent::Hangup`].
//! - **Incoming calls** are handed over by [`VoiceEngine::next_incoming`]; the orchestrator decides which tenant
//!   owns the dialled number, then answers or rejects.
//! - **Media commands** act on a live, answered call: play audio, say text, gather DTMF digits, record, pause,
//!   bridge two calls, hang up. Each returns when its media has finished (or the call ended), so a call-control
//!   document is executed by awaiting its verbs in order.
//! - **Agents** are SIP users who register with the engine; the engine asks a [`SipRegistrar`] for their digest
//!   credentials and keeps their current contact itself.
//!
//! Nothing here names a transport library: addresses are strings and ports, audio is 8 kHz mono 16-bit PCM or
//! WAV bytes, recordings are WAV bytes that the orchestrator stores in the object store.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

/// The engine's id of one call leg (opaque; unique within the engine process).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub String);

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SIP transport to a trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipTransport {
    /// SIP over UDP (the default of most carriers).
    Udp,
    /// SIP over TCP.
    Tcp,
}

/// One carrier trunk to try, with the digest credentials the carrier may challenge for.
#[derive(Clone)]
pub struct TrunkTarget {
    /// The trunk's name in events and logs (for example the trunks table's id).
    pub name: String,
    /// Host name or IP address of the carrier's SIP server.
    pub host: String,
    /// Its SIP port.
    pub port: u16,
    /// UDP or TCP.
    pub transport: SipTransport,
    /// Digest user name, when the carrier challenges.
    pub username: Option<String>,
    /// Digest password (never logged).
    pub password: Option<String>,
    /// The codecs to offer the carrier, in preference order (`PCMU`, `PCMA`); empty offers both.
    pub codecs: Vec<String>,
    /// The caller id presented through this trunk instead of the call's own, when the trunk fixes one.
    pub caller_id: Option<String>,
    /// Write the To and From numbers without their leading `+` (carriers that take bare digits).
    pub strip_plus: bool,
}

impl fmt::Debug for TrunkTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrunkTarget")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("transport", &self.transport)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("codecs", &self.codecs)
            .field("caller_id", &self.caller_id)
            .field("strip_plus", &self.strip_plus)
            .finish()
    }
}

/// Where an originated call goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Carrier trunks in price order; the engine fails over from one to the next.
    Trunks(Vec<TrunkTarget>),
    /// A SIP user registered with the engine (an agent).
    Agent {
        /// The agent's SIP user name.
        user: String,
    },
}

/// A request to place a call.
#[derive(Debug, Clone)]
pub struct Originate {
    /// The tenant placing the call (its concurrent-call limit applies).
    pub tenant: String,
    /// The number or user called (the Request-URI's user part).
    pub to: String,
    /// The caller id presented (the From user part).
    pub from: String,
    /// Trunks or an agent.
    pub destination: Destination,
    /// How long each attempt may ring before it counts as no answer (and the next trunk is tried).
    pub ring_timeout: Duration,
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupCause {
    /// The call was answered and then ended by either side.
    Completed,
    /// The callee was busy (486/600); no failover.
    Busy,
    /// Nobody answered within the ring timeout, on every trunk tried.
    NoAnswer,
    /// The callee rejected or does not exist (404, 403, 603 ...); no failover.
    Rejected,
    /// Every trunk failed (5xx, unreachable) or the engine could not place the call.
    Failed,
    /// The caller gave up before an answer (an incoming call's CANCEL).
    Canceled,
}

/// What happens on a call, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// The callee is ringing (180/183).
    Ringing,
    /// A trunk failed and the next one is tried.
    FailedOver {
        /// The trunk that failed.
        trunk: String,
        /// Its final SIP status, or `None` for no answer or no response.
        sip_code: Option<u16>,
    },
    /// The call was answered (2xx; for incoming calls, our own answer).
    Answered {
        /// The trunk that answered, for outbound trunk calls.
        trunk: Option<String>,
    },
    /// The far end sent a DTMF digit (RFC 4733), reported once per key press.
    Dtmf(char),
    /// The call ended; always the last event.
    Hangup {
        /// Why.
        cause: HangupCause,
        /// The final SIP status when the call failed with one.
        sip_code: Option<u16>,
    },
}

/// A call leg and its event stream.
#[derive(Debug)]
pub struct CallHandle {
    /// The call's id, for media commands.
    pub call: CallRef,
    /// The call's events; ends after [`CallEvent::Hangup`].
    pub events: mpsc::UnboundedReceiver<CallEvent>,
}

/// An agent who placed a call, authenticated by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingAgent {
    /// The agent's SIP user name.
    pub user: String,
    /// The agent's tenant.
    pub tenant: String,
}

/// A call arriving at the engine, waiting for the orchestrator's answer or rejection.
#[derive(Debug)]
pub struct IncomingCall {
    /// The new leg and its events.
    pub handle: CallHandle,
    /// The number or user dialled (Request-URI user part).
    pub to: String,
    /// The caller (From user part).
    pub from: String,
    /// The signalling peer's address, `ip:port`.
    pub peer: String,
    /// The agent who placed the call, when the caller is an agent (the engine has checked its digest).
    pub agent: Option<CallingAgent>,
}

/// Audio to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audio {
    /// 8 kHz mono signed 16-bit samples.
    Pcm(Vec<i16>),
    /// A WAV file's bytes (8 kHz mono 16-bit; other formats are refused clearly).
    Wav(Bytes),
}

/// One part of a Gather's prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Audio to play.
    Audio(Audio),
    /// Text to speak.
    Say(String),
    /// Silence.
    Pause(Duration),
}

/// How to gather DTMF digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    /// Played first; the first key pressed stops it (barge-in) and counts as input.
    pub prompts: Vec<Prompt>,
    /// Stop after this many digits.
    pub num_digits: Option<usize>,
    /// Stop when no digit came for this long (counted from the end of the prompt and after each digit).
    pub timeout: Duration,
    /// A key that ends the input (not included in the digits), `#` by default in call-control documents.
    pub finish_on_key: Option<char>,
}

/// How to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The longest recording.
    pub max_length: Duration,
    /// A key that ends the recording.
    pub finish_on_key: Option<char>,
    /// Also record what is sent to the far end (prompts, a bridged party's voice), mixed into the one track:
    /// a conversation rather than one side of it.
    pub both_directions: bool,
}

/// A finished recording.
#[derive(Debug, Clone)]
pub struct Recording {
    /// A WAV file: 8 kHz mono 16-bit.
    pub wav: Bytes,
    /// Its length.
    pub duration: Duration,
    /// The key that ended it, if one did.
    pub finished_by: Option<char>,
}

/// A SIP user's digest credentials, as the registrar knows them.
#[derive(Clone)]
pub struct AgentCredentials {
    /// The tenant the agent belongs to.
    pub tenant: String,
    /// The digest password (never logged).
    pub password: String,
}

impl fmt::Debug for AgentCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentCredentials")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// Why a voice operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// No live call has this id (it never existed or has ended).
    #[error("call {0} not found")]
    CallNotFound(CallRef),
    /// The call is not in a state for this command (not answered yet, already answered ...).
    #[error("call {call} cannot do that now: {reason}")]
    InvalidState {
        /// The call.
        call: CallRef,
        /// What is wrong.
        reason: String,
    },
    /// The tenant already has its maximum number of concurrent calls.
    #[error("tenant {tenant} is at its limit of {limit} concurrent calls")]
    CallLimit {
        /// The tenant.
        tenant: String,
        /// Its limit.
        limit: usize,
    },
    /// An originate with no trunk to try.
    #[error("no trunk to place the call through")]
    NoRoute,
    /// The agent called is not registered.
    #[error("agent {0} is not registered")]
    NotRegistered(String),
    /// The audio given cannot be played (format, rate, channels).
    #[error("unsupported audio: {0}")]
    UnsupportedAudio(String),
    /// The engine failed (sockets, a helper program, the SIP stack).
    #[error("the voice engine failed")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The registrar the engine asks for agents' digest credentials.
#[async_trait]
pub trait SipRegistrar: Send + Sync + 'static {
    /// The credentials of SIP user `user`, or `None` when there is no such agent.
    async fn credentials(&self, user: &str) -> Option<AgentCredentials>;
}

/// The voice engine port.
#[async_trait]
pub trait VoiceEngine: Send + Sync + 'static {
    /// Places a call; returns once the first attempt is under way. Its outcome arrives as events.
    async fn originate(&self, request: Originate) -> Result<CallHandle, VoiceError>;
    /// The next incoming call, or `None` when the engine has stopped.
    async fn next_incoming(&self) -> Option<IncomingCall>;
    /// Answers an incoming call on behalf of `tenant` (whose concurrent-call limit applies).
    async fn answer(&self, call: &CallRef, tenant: &str) -> Result<(), VoiceError>;
    /// Rejects an incoming call with a SIP status (486 busy, 404, 603 ...).
    async fn reject(&self, call: &CallRef, sip_code: u16) -> Result<(), VoiceError>;
    /// Plays audio to the far end; returns when it has been sent.
    async fn play(&self, call: &CallRef, audio: Audio) -> Result<(), VoiceError>;
    /// Speaks text (text to speech) to the far end.
    async fn say(&self, call: &CallRef, text: &str) -> Result<(), VoiceError>;
    /// Plays the gather's prompt until a key is pressed, then collects DTMF digits; returns the digits (without
    /// the finish key). Digits pressed before the gather began count (type-ahead).
    async fn gather(&self, call: &CallRef, gather: Gather) -> Result<String, VoiceError>;
    /// Records the far end's audio (and, when asked, what the far end hears).
    async fn record(&self, call: &CallRef, record: Record) -> Result<Recording, VoiceError>;
    /// Keeps the line silent for a while.
    async fn pause(&self, call: &CallRef, duration: Duration) -> Result<(), VoiceError>;
    /// Connects two answered calls' media both ways until either ends.
    async fn bridge(&self, a: &CallRef, b: &CallRef) -> Result<(), VoiceError>;
    /// Ends a call (BYE when answered, CANCEL while ringing).
    async fn hangup(&self, call: &CallRef) -> Result<(), VoiceError>;
}

impl From<VoiceError> for crate::CoreError {
    fn from(e: VoiceError) -> Self {
        match e {
            VoiceError::CallNotFound(_) => crate::CoreError::NotFound { resource: "call" },
            e @ VoiceError::InvalidState { .. } => crate::CoreError::Conflict(e.to_string()),
            e @ (VoiceError::CallLimit { .. }
            | VoiceError::NoRoute
            | VoiceError::NotRegistered(_)
            | VoiceError::UnsupportedAudio(_)) => crate::CoreError::Unprocessable(e.to_string()),
            e @ VoiceError::Engine(_) => crate::CoreError::Unavailable(Box::new(e)),
        }
    }
}
