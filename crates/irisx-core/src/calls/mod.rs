//! Voice calls as the control plane sees them: SIP trunks with their rates, agents, the calls ledger and its
//! recordings ([`model`]), and the rules that pick trunks and rate a finished call ([`rating`]).

pub mod limits;
pub mod model;
pub mod rating;

pub use limits::CallLimits;
pub use model::{
    Agent, Call, CallControl, CallRecording, CallStatus, CallerIdMode, NumberFormat, SipTrunk, TrunkRate,
    TrunkTransport,
};
pub use rating::{BillingIncrements, VoicePolicy};
