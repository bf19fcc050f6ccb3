//! Dial strings, the values allowed in them, and what FreeSWITCH's hangup causes mean for a call attempt.
//!
//! Every value that enters a command is checked against a small alphabet first: a space, a comma, a brace or a
//! line break in a number would change which command FreeSWITCH runs.

use std::time::Duration;

use irisx_core::ports::voice::{HangupCause, SipTransport, TrunkTarget};

use crate::config::TrunkDialing;
use crate::error::Error;

/// Whether a value may stand in a dial string or a channel variable.
pub fn is_safe(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_' | '.' | '@' | '*' | '#' | ':'))
}

/// Whether a `speak` engine setting (`engine|voice`) is safe.
pub fn is_safe_tts(value: &str) -> bool {
    value.split('|').all(is_safe)
}

/// Whether a path can be an application argument (no whitespace, which separates arguments).
pub fn is_safe_path(path: &std::path::Path) -> bool {
    path.to_str()
        .is_some_and(|p| !p.is_empty() && p.chars().all(|c| !c.is_whitespace() && !c.is_control()))
}

/// `value`, or an error naming it when it is not safe.
pub fn checked<'a>(what: &'static str, value: &'a str) -> Result<&'a str, Error> {
    if is_safe(value) {
        Ok(value)
    } else {
        Err(Error::UnsafeArgument {
            what,
            value: value.chars().take(64).collect(),
        })
    }
}

/// A secret for a channel variable: anything printable but the separators of `{a=b,c=d}` and of arguments.
fn checked_secret(value: &str) -> Result<&str, Error> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, ',' | '{' | '}' | '[' | ']' | '\'' | '"');
    if value.is_empty() || value.len() > 128 || value.chars().any(bad) {
        return Err(Error::UnsafeArgument {
            what: "the trunk password",
            value: "[redacted]".into(),
        });
    }
    Ok(value)
}

/// Where one attempt goes: the dial string and the channel variables it needs beyond the common ones.
#[derive(Clone)]
pub struct Target {
    /// The trunk's name (events, logs) or the agent's user name.
    pub name: String,
    /// The trunk that answers, for `Answered { trunk }`; `None` for agents.
    pub trunk: Option<String>,
    /// `sofia/gateway/gw/15551234567`, `user/alice@irisx` …
    pub dial: String,
    /// Extra `name=value` channel variables (codecs, credentials).
    pub vars: Vec<String>,
    /// The caller id this attempt presents instead of the call's (a trunk's fixed one, as the trunk writes it).
    pub caller_id: Option<String>,
}

/// The attempt through one trunk.
pub fn trunk_target(dialing: &TrunkDialing, trunk: &TrunkTarget, to: &str, from: &str) -> Result<Target, Error> {
    let bare = |n: &str| {
        if trunk.strip_plus {
            n.trim_start_matches('+').to_owned()
        } else {
            n.to_owned()
        }
    };
    let to = bare(checked("the number called", to)?);
    let presented = bare(trunk.caller_id.as_deref().unwrap_or(from));
    let mut vars = Vec::new();
    let dial = match dialing {
        TrunkDialing::Gateways(map) => {
            let gateway = map.get(&trunk.name).unwrap_or(&trunk.name);
            format!("sofia/gateway/{}/{to}", checked("the gateway name", gateway)?)
        }
        TrunkDialing::Profile(profile) => {
            let host = checked("the trunk host", &trunk.host)?;
            let transport = if trunk.transport == SipTransport::Tcp {
                ";transport=tcp"
            } else {
                ""
            };
            if let (Some(user), Some(password)) = (&trunk.username, &trunk.password) {
                vars.push(format!("sip_auth_username={}", checked("the trunk user", user)?));
                vars.push(format!("sip_auth_password={}", checked_secret(password)?));
            }
            format!(
                "sofia/{}/{to}@{host}:{}{transport}",
                checked("the profile", profile)?,
                trunk.port
            )
        }
    };
    if !trunk.codecs.is_empty() {
        let codecs: Result<Vec<&str>, Error> = trunk.codecs.iter().map(|c| checked("a codec", c)).collect();
        // `^^:` makes `:` the list separator, so the list needs no comma inside the `{…}` block.
        vars.push(format!("absolute_codec_string=^^:{}", codecs?.join(":")));
    }
    Ok(Target {
        name: trunk.name.clone(),
        trunk: Some(trunk.name.clone()),
        dial,
        vars,
        caller_id: (presented != from).then_some(presented),
    })
}

/// The attempt to a registered agent.
pub fn agent_target(user: &str, domain: &str) -> Result<Target, Error> {
    let user = checked("the agent", user)?;
    Ok(Target {
        name: user.to_owned(),
        trunk: None,
        dial: format!("user/{user}@{domain}"),
        vars: Vec::new(),
        caller_id: None,
    })
}

/// The `{…}` block of an originate.
pub fn originate_vars(
    channel: &str,
    from: &str,
    ring: Duration,
    tenant: &str,
    extra: &[String],
) -> Result<String, Error> {
    let secs = ring.as_secs() + u64::from(ring.subsec_nanos() > 0);
    let mut vars = vec![
        format!("origination_uuid={channel}"),
        format!("origination_caller_id_number={}", checked("the caller id", from)?),
        format!("originate_timeout={}", secs.max(1)),
        format!("irisx_tenant={}", checked("the tenant", tenant)?),
    ];
    vars.extend_from_slice(extra);
    Ok(format!("{{{}}}", vars.join(",")))
}

/// Whether an unanswered attempt that ended with `cause` (and the SIP status FreeSWITCH saw, if any) moves on to
/// the next trunk, and what it means as the last word.
pub fn classify(cause: &str, sip_code: Option<u16>) -> (bool, HangupCause) {
    if sip_code.is_some_and(|c| (500..600).contains(&c)) {
        return (true, HangupCause::Failed);
    }
    match cause {
        "USER_BUSY" => (false, HangupCause::Busy),
        "NO_ANSWER"
        | "NO_USER_RESPONSE"
        | "ORIGINATOR_CANCEL"
        | "ALLOTTED_TIMEOUT"
        | "SUBSCRIBER_ABSENT"
        | "RECOVERY_ON_TIMER_EXPIRE"
        | "PROGRESS_TIMEOUT" => (true, HangupCause::NoAnswer),
        "CALL_REJECTED"
        | "UNALLOCATED_NUMBER"
        | "NO_ROUTE_DESTINATION"
        | "NO_ROUTE_TRANSIT_NET"
        | "INVALID_NUMBER_FORMAT"
        | "NUMBER_CHANGED"
        | "USER_NOT_REGISTERED"
        | "OUTGOING_CALL_BARRED"
        | "INCOMING_CALL_BARRED"
        | "FACILITY_REJECTED"
        | "INCOMPATIBLE_DESTINATION" => (false, HangupCause::Rejected),
        "NORMAL_TEMPORARY_FAILURE"
        | "DESTINATION_OUT_OF_ORDER"
        | "NETWORK_OUT_OF_ORDER"
        | "SWITCH_CONGESTION"
        | "NORMAL_CIRCUIT_CONGESTION"
        | "GATEWAY_DOWN"
        | "SERVICE_UNAVAILABLE"
        | "EXCHANGE_ROUTING_ERROR"
        | "MEDIA_TIMEOUT" => (true, HangupCause::Failed),
        _ => match sip_code {
            Some(code) => classify_sip(code),
            None => (true, HangupCause::Failed),
        },
    }
}

/// The same rule as the native engine's, for a bare SIP status.
pub fn classify_sip(code: u16) -> (bool, HangupCause) {
    match code {
        486 | 600 => (false, HangupCause::Busy),
        408 | 480 => (true, HangupCause::NoAnswer),
        500..=599 => (true, HangupCause::Failed),
        _ => (false, HangupCause::Rejected),
    }
}

/// The SIP status to report: FreeSWITCH's own CANCEL after `originate_timeout` comes back as 487, which is not
/// the callee's word.
pub fn reported_code(cause: HangupCause, sip_code: Option<u16>) -> Option<u16> {
    sip_code.filter(|&c| !(cause == HangupCause::NoAnswer && c == 487))
}

/// The Q.850 cause `uuid_kill` needs for FreeSWITCH to answer with `sip_code` (its own cause-to-SIP table).
pub fn reject_cause(sip_code: u16) -> &'static str {
    match sip_code {
        403 => "INCOMING_CALL_BARRED",
        404 => "UNALLOCATED_NUMBER",
        408 => "NO_USER_RESPONSE",
        410 => "NUMBER_CHANGED",
        480 => "NO_ANSWER",
        484 => "INVALID_NUMBER_FORMAT",
        486 | 600 => "USER_BUSY",
        487 => "ORIGINATOR_CANCEL",
        488 => "INCOMPATIBLE_DESTINATION",
        501 => "FACILITY_REJECTED",
        502 => "DESTINATION_OUT_OF_ORDER",
        504 => "RECOVERY_ON_TIMER_EXPIRE",
        500..=599 => "NORMAL_TEMPORARY_FAILURE",
        _ => "CALL_REJECTED",
    }
}

#[cfg(test)]
#[path = "dial_tests.rs"]
mod tests;
