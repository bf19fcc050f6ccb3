//! IRISX's voice engine driver for FreeSWITCH: [`FreeSwitchEngine`] implements core's `VoiceEngine` port by
//! driving a FreeSWITCH server over its Event Socket (ESL, inbound mode: the driver connects to
//! `mod_event_socket`, authenticates and subscribes to plain-text events).
//!
//! **How it is tested.** FreeSWITCH is not installed where IRISX's tests run, and no test starts one. The
//! driver is tested only against recorded Event Socket exchanges (`tests/exchanges/*.esl`) that a mock server
//! replays, failing the test when the driver sends anything other than the expected bytes. The exchanges were
//! written in FreeSWITCH's documented wire format (frames, URL-encoded event headers, job results), not
//! captured from a live server, and their events carry only the headers the driver reads plus the common ones.
//! Whatever depends on FreeSWITCH itself (its dialplan, sofia gateways, the `speak` module, codecs, the real
//! timing and order of its events) is only as right as those recordings until the driver meets a real server.
//!
//! What FreeSWITCH must provide: `mod_event_socket` reachable at [`FreeSwitchConfig::esl_addr`]; a dialplan
//! that `park`s the calls IRISX should receive; a gateway per trunk (or a profile to dial hosts directly, see
//! [`TrunkDialing`]); agents in its directory under [`FreeSwitchConfig::agent_domain`] (with an `irisx_tenant`
//! variable, so an agent's own calls name their tenant); a `speak` module for Say; and the media directory
//! mounted on both sides.
//!
//! **What it supports, and where it differs from the native engine.** Every verb of the port: originate to
//! trunks (with the same failover rules) or to an agent, incoming calls, answer, reject, play, say, gather
//! (type-ahead, barge-in, finish key), record, pause, bridge and hangup. The differences:
//! - Audio crosses the shared media directory as WAV files, and speech is FreeSWITCH's `speak` module.
//! - A recording of the far end runs FreeSWITCH's `record` application. A recording of both directions
//!   (`Record::both_directions`: whole calls, a Dial's conversation) is a media bug (`uuid_record`) that
//!   FreeSWITCH mixes into one 8 kHz track itself, so the mix and its timing are FreeSWITCH's. It is stopped
//!   at the limit or the finish key, and its file is read once FreeSWITCH reports it closed (`RECORD_STOP`),
//!   which can be a moment after the call ended; its length is the file's, not the time the verb ran.
//! - Agents register with FreeSWITCH and are users of its directory; the port's `SipRegistrar` is not asked.
//!
//! Where things are: `esl` (framing and the connection), `engine` (shared state, the event loop, reconnects),
//! `events` (events applied to calls), `originate` (attempts and failover), `control` (answer, reject, bridge,
//! hangup), `media` (play, say, gather, record, pause), `record_both` (recordings of both directions), `dial`
//! (dial strings and cause tables), `call` and `port` (the port's methods).

mod call;
pub mod config;
mod control;
mod dial;
mod engine;
pub mod error;
pub mod esl;
mod events;
mod media;
mod originate;
mod port;
mod record_both;

pub use config::{FreeSwitchConfig, TrunkDialing};
pub use engine::FreeSwitchEngine;
pub use error::Error;
