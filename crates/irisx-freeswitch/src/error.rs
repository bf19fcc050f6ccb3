//! The driver's errors, and how they reach the port's callers.

use irisx_core::ports::voice::VoiceError;

use crate::esl::frame::FrameError;

/// Why a driver operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work.
    #[error("invalid FreeSWITCH configuration: {0}")]
    Config(String),
    /// The event socket could not be reached.
    #[error("cannot connect to the FreeSWITCH event socket at {addr}")]
    Connect {
        /// The address tried.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Connecting and authenticating took longer than the connect timeout.
    #[error("the FreeSWITCH event socket at {0} did not complete the handshake in time")]
    ConnectTimeout(String),
    /// FreeSWITCH refused the event socket password (`-ERR invalid`).
    #[error("FreeSWITCH refused the event socket password: {0}")]
    AuthRejected(String),
    /// The socket failed while reading or writing.
    #[error("the FreeSWITCH event socket failed")]
    Io(#[from] std::io::Error),
    /// FreeSWITCH sent bytes that are not an event socket frame (or an absurd one).
    #[error("the FreeSWITCH event socket sent a bad frame")]
    Frame(#[from] FrameError),
    /// FreeSWITCH said something other than what the protocol expects at this point.
    #[error("unexpected answer from FreeSWITCH: {0}")]
    Protocol(String),
    /// The event socket is down (the driver is reconnecting).
    #[error("the FreeSWITCH event socket is not connected")]
    Disconnected,
    /// A command got no reply within the command timeout.
    #[error("FreeSWITCH did not answer `{0}` in time")]
    CommandTimeout(String),
    /// FreeSWITCH answered a command with `-ERR`.
    #[error("FreeSWITCH refused `{command}`: {reply}")]
    Refused {
        /// The command (its first word).
        command: String,
        /// FreeSWITCH's reply.
        reply: String,
    },
    /// A value that would change the meaning of a command (a separator, a line break) was refused.
    #[error("{what} holds characters a FreeSWITCH command cannot carry: {value:?}")]
    UnsafeArgument {
        /// Which value.
        what: &'static str,
        /// The value (never a password).
        value: String,
    },
    /// A media file in the shared directory could not be written, read or removed.
    #[error("media file {path}")]
    MediaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// FreeSWITCH did not finish writing a recording in time (its WAV header never came to cover the file).
    #[error("FreeSWITCH did not finish writing the recording {0} in time")]
    RecordingUnfinished(std::path::PathBuf),
    /// Audio in a form the driver does not play, or a recording that is not 8 kHz mono 16-bit.
    #[error("unsupported audio: {0}")]
    Audio(String),
    /// A WAV file could not be read or written.
    #[error("WAV")]
    Wav(#[from] hound::Error),
}

impl From<Error> for VoiceError {
    fn from(e: Error) -> Self {
        match e {
            Error::Audio(reason) => VoiceError::UnsupportedAudio(reason),
            e => VoiceError::Engine(Box::new(e)),
        }
    }
}
