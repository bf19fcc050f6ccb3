//! Call-control documents: the XML a tenant's URL returns to drive a call, with verbs modelled on TwiML (Say,
//! Play, Gather, Record, Dial, Pause, Redirect, Reject, Hangup). [`parse`] turns a document into [`Verb`]s and
//! refuses anything it would not run; [`run`] executes them on any `VoiceEngine` and says what comes next: a
//! document to fetch (an action or a redirect, with its parameters) or the end of the call.
//!
//! Fetching documents and audio, storing recordings and routing dialled numbers belong to the orchestrator;
//! the executor reaches them through [`ControlEnv`].

mod parse;
mod run;

use std::time::Duration;

pub use parse::{ParseError, parse};
pub use run::{CallContext, ControlEnv, Next, run};

#[cfg(test)]
mod sip_uri_tests;

/// One verb of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Speak text (`loop` times; 0 in a document is clamped to a bounded repeat).
    Say {
        /// The text.
        text: String,
        /// How many times.
        repeat: u32,
    },
    /// Play a WAV from a URL.
    Play {
        /// The audio's URL.
        url: String,
        /// How many times.
        repeat: u32,
    },
    /// Silence.
    Pause {
        /// How long.
        length: Duration,
    },
    /// Collect digits, while playing the nested prompts.
    Gather {
        /// Say, Play and Pause verbs played first.
        prompts: Vec<Verb>,
        /// Stop after this many digits.
        num_digits: Option<usize>,
        /// Stop after this long without a digit.
        timeout: Duration,
        /// The key that ends input.
        finish_on_key: Option<char>,
        /// Where to send the digits (the current document's URL when absent).
        action: Option<String>,
    },
    /// Record the caller.
    Record {
        /// Play a short beep first (TwiML's `playBeep`, on by default).
        play_beep: bool,
        /// The longest recording.
        max_length: Duration,
        /// The key that ends it.
        finish_on_key: Option<char>,
        /// Where to send the recording's details; the document goes on when absent.
        action: Option<String>,
    },
    /// Call someone and bridge the two calls.
    Dial {
        /// Whom.
        target: DialTarget,
        /// How long it may ring.
        timeout: Duration,
        /// The caller id presented; the caller's own when absent.
        caller_id: Option<String>,
        /// Where to send the outcome; the document goes on when absent.
        action: Option<String>,
        /// Record the conversation (both parties, from the answer) and send `RecordingUrl` to the action.
        record: bool,
    },
    /// Fetch another document and run it instead.
    Redirect {
        /// Its URL.
        url: String,
    },
    /// Refuse an incoming call without answering it.
    Reject {
        /// Busy (486) rather than rejected (603).
        busy: bool,
    },
    /// End the call.
    Hangup,
}

/// Whom a Dial calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    /// A telephone number, through the tenant's trunks.
    Number(String),
    /// A registered agent (`<Client>`).
    Agent(String),
    /// A SIP address reached directly, without a trunk (`<Sip>sip:alice@pbx.example.com;transport=tcp</Sip>`).
    Sip(SipUri),
}

/// A `sip:` URI as `<Sip>` takes it: `sip:user@host[:port][;transport=udp|tcp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// The user part (a number or a name).
    pub user: String,
    /// A host name or IP address (IPv6 in brackets).
    pub host: String,
    /// The port (5060 when absent).
    pub port: u16,
    /// UDP unless `;transport=tcp`.
    pub transport: irisx_core::ports::voice::SipTransport,
}

impl SipUri {
    /// Parses a URI; `None` when it is not of the form above (other parameters are refused too).
    pub fn parse(text: &str) -> Option<SipUri> {
        use irisx_core::ports::voice::SipTransport;
        let rest = text.trim().strip_prefix("sip:")?;
        let (address, params) = rest.split_once(';').unwrap_or((rest, ""));
        let transport = match params.to_ascii_lowercase().as_str() {
            "" | "transport=udp" => SipTransport::Udp,
            "transport=tcp" => SipTransport::Tcp,
            _ => return None,
        };
        let (user, hostport) = address.split_once('@')?;
        let user_ok = |c: char| c.is_ascii_alphanumeric() || "+-_.!~*'()&=$,".contains(c);
        if user.is_empty() || user.len() > 64 || !user.chars().all(user_ok) {
            return None;
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if (h.starts_with('[') && h.ends_with(']')) || !h.contains(':') => (h, p.parse().ok()?),
            _ => (hostport, 5060),
        };
        let host_ok = |c: char| c.is_ascii_alphanumeric() || ".-:[]".contains(c);
        if host.is_empty() || host.len() > 253 || !host.chars().all(host_ok) || port == 0 {
            return None;
        }
        Some(SipUri {
            user: user.to_owned(),
            host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port,
            transport,
        })
    }
}
