//! Outbound calls: one INVITE per trunk in price order, with the trunk's digest credentials. A trunk that
//! answers 503 or another 5xx, does not answer within the ring timeout, or cannot be reached makes the engine
//! try the next one; busy (486/600) and definite refusals (404, 403, 603 ...) end the call with no failover.

use std::sync::Arc;

use irisx_core::ports::voice::{
    CallEvent, CallHandle, CallRef, Destination, HangupCause, Originate, SipTransport, VoiceError,
};
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::invitation::{InviteAsyncResult, InviteOption};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{HostWithPort, Response, Transport, Uri};
use rsipstack::transport::SipAddr;
use tokio::sync::mpsc;

use crate::call::{Call, Phase};
use crate::engine::Inner;
use crate::error::Error;
use crate::rtp::RtpSession;
use crate::sdp;

/// Where one attempt goes.
enum Target {
    Trunk(irisx_core::ports::voice::TrunkTarget),
    Agent { user: String, contact: String },
}

impl Target {
    fn name(&self) -> String {
        match self {
            Target::Trunk(t) => t.name.clone(),
            Target::Agent { user, .. } => user.clone(),
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Answered,
    Final(u16),
    NoAnswer,
    Unreachable,
    Canceled,
}

/// Whether a final status moves on to the next trunk, and what it means if it is the last word.
pub fn classify(code: u16) -> (bool, HangupCause) {
    match code {
        486 | 600 => (false, HangupCause::Busy),
        408 | 480 => (true, HangupCause::NoAnswer),
        500..=599 => (true, HangupCause::Failed),
        _ => (false, HangupCause::Rejected),
    }
}

/// A number as a trunk takes it: with its `+`, or bare digits.
fn number(n: &str, strip_plus: bool) -> &str {
    if strip_plus { n.trim_start_matches('+') } else { n }
}

/// A fresh call id.
pub fn new_call_ref() -> CallRef {
    CallRef(format!("vc_{}", hex::encode(rand::random::<[u8; 12]>())))
}

impl Inner {
    /// Opens a leg and its media for a new call, holding a slot of `tenant`'s limit when given.
    pub async fn new_leg(
        self: &Arc<Self>,
        phase: Phase,
        tenant: Option<&str>,
    ) -> Result<(Arc<Call>, mpsc::UnboundedReceiver<CallEvent>), VoiceError> {
        if let Some(tenant) = tenant
            && !self.limits.acquire(tenant)
        {
            return Err(VoiceError::CallLimit {
                tenant: tenant.to_owned(),
                limit: self.limits.max(),
            });
        }
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let ended = self.cancel.child_token();
        let digits_tx = events_tx.clone();
        let rtp = RtpSession::open(self.config.bind_ip, &self.config.rtp_ports, ended.clone(), move |d| {
            digits_tx.send(CallEvent::Dtmf(d)).ok();
        })
        .await;
        let rtp = match rtp {
            Ok(rtp) => rtp,
            Err(e) => {
                tenant.inspect(|t| self.limits.release(t));
                return Err(e.into());
            }
        };
        let call = Call::new(new_call_ref(), rtp, ended, phase, events_tx);
        if let Some(tenant) = tenant {
            call.set_tenant(tenant.to_owned());
        }
        self.insert_call(call.clone());
        Ok((call, events_rx))
    }

    /// Places a call; the attempts run in the background.
    pub async fn originate(self: Arc<Self>, request: Originate) -> Result<CallHandle, VoiceError> {
        let targets: Vec<Target> = match &request.destination {
            Destination::Trunks(trunks) => trunks.iter().cloned().map(Target::Trunk).collect(),
            Destination::Agent { user } => {
                let binding = self
                    .registrar
                    .lookup(user)
                    .ok_or_else(|| VoiceError::NotRegistered(user.clone()))?;
                vec![Target::Agent {
                    user: user.clone(),
                    contact: binding.contact,
                }]
            }
        };
        if targets.is_empty() {
            return Err(VoiceError::NoRoute);
        }
        let (call, events) = self.new_leg(Phase::Dialling, Some(&request.tenant)).await?;
        let handle = CallHandle {
            call: call.id.clone(),
            events,
        };
        tokio::spawn(self.dial(call, request, targets));
        Ok(handle)
    }

    #[tracing::instrument(skip_all, fields(call = %call.id))]
    async fn dial(self: Arc<Self>, call: Arc<Call>, request: Originate, targets: Vec<Target>) {
        let mut last = (HangupCause::Failed, None);
        for (i, target) in targets.iter().enumerate() {
            let outcome = self.attempt(&call, &request, target).await;
            tracing::info!(target = %target.name(), ?outcome, "call attempt ended");
            let (failover, cause, code) = match outcome {
                Attempt::Answered => return self.watch_media(call),
                Attempt::Canceled => return self.end(&call, HangupCause::Canceled, None),
                Attempt::Final(code) => {
                    let (failover, cause) = classify(code);
                    (failover, cause, Some(code))
                }
                Attempt::NoAnswer => (true, HangupCause::NoAnswer, None),
                Attempt::Unreachable => (true, HangupCause::Failed, None),
            };
            last = (cause, code);
            if !failover {
                break;
            }
            if i + 1 < targets.len() {
                call.emit(CallEvent::FailedOver {
                    trunk: target.name(),
                    sip_code: code,
                });
            }
        }
        self.end(&call, last.0, last.1);
    }

    fn invite_option(&self, call: &Call, request: &Originate, target: &Target) -> Result<InviteOption, Error> {
        let adv = self.stack.advertised;
        let port = self.stack.local.port();
        let session = u64::from(rand::random::<u32>());
        let offer = match target {
            Target::Trunk(t) => sdp::offer_of(adv, call.rtp.port(), session, &sdp::laws_named(&t.codecs)),
            Target::Agent { .. } => sdp::offer(adv, call.rtp.port(), session),
        };
        let (callee, destination, credential) = match target {
            Target::Trunk(t) => {
                let transport = match t.transport {
                    SipTransport::Udp => Transport::Udp,
                    SipTransport::Tcp => Transport::Tcp,
                };
                let suffix = if transport == Transport::Tcp {
                    ";transport=tcp"
                } else {
                    ""
                };
                let to = number(&request.to, t.strip_plus);
                let callee = Uri::try_from(format!("sip:{to}@{}:{}{suffix}", t.host, t.port))?;
                let addr = HostWithPort::try_from(format!("{}:{}", t.host, t.port))?;
                let destination = SipAddr {
                    r#type: Some(transport),
                    addr,
                };
                let credential = t.username.as_ref().map(|u| Credential {
                    username: u.clone(),
                    password: t.password.clone().unwrap_or_default(),
                    realm: None,
                    auth_username: None,
                });
                (callee, Some(destination), credential)
            }
            Target::Agent { contact, .. } => (Uri::try_from(contact.as_str())?, None, None),
        };
        let from = match target {
            Target::Trunk(t) => number(t.caller_id.as_deref().unwrap_or(&request.from), t.strip_plus),
            Target::Agent { .. } => &request.from,
        };
        Ok(InviteOption {
            caller: Uri::try_from(format!("sip:{from}@{adv}:{port}"))?,
            callee,
            destination,
            credential,
            contact: Uri::try_from(format!("sip:irisx@{adv}:{port}"))?,
            content_type: Some("application/sdp".into()),
            offer: Some(offer.into_bytes()),
            ..Default::default()
        })
    }

    /// One INVITE to one target, until its final response, the ring timeout or the call's end.
    async fn attempt(self: &Arc<Self>, call: &Arc<Call>, request: &Originate, target: &Target) -> Attempt {
        let option = match self.invite_option(call, request, target) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "cannot build the INVITE");
                return Attempt::Unreachable;
            }
        };
        let (dialog, handle) = match self.stack.dialog_layer.do_invite_async(option, self.state_tx.clone()) {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "cannot send the INVITE");
                return Attempt::Unreachable;
            }
        };
        let sip_call_id = dialog.id().call_id;
        self.map_sip_call_id(sip_call_id.clone(), &call.id);
        call.set_dialog(dialog.clone());
        let outcome = match self.final_response(call, request, &dialog, handle).await {
            Ok(response) => self.settle(call, target, &dialog, &response).await,
            Err(outcome) => outcome,
        };
        if outcome != Attempt::Answered {
            // Late news of this attempt's dialog must not reach the call any more.
            self.forget_sip_call_id(&sip_call_id);
        }
        outcome
    }

    async fn final_response(
        &self,
        call: &Call,
        request: &Originate,
        dialog: &InviteDialog,
        handle: tokio::task::JoinHandle<InviteAsyncResult>,
    ) -> Result<Response, Attempt> {
        let result = tokio::select! {
            r = handle => r,
            _ = tokio::time::sleep(request.ring_timeout) => {
                dialog.cancel().await.ok();
                return Err(Attempt::NoAnswer);
            }
            _ = call.ended.cancelled() => {
                dialog.cancel().await.ok();
                return Err(Attempt::Canceled);
            }
        };
        match result {
            Ok(Ok((_, Some(response)))) => Ok(response),
            Ok(Ok((_, None))) => Err(Attempt::Unreachable),
            Ok(Err(e)) => {
                tracing::info!(error = %e, "INVITE failed");
                Err(Attempt::Unreachable)
            }
            Err(e) => {
                tracing::warn!(error = %e, "INVITE task failed");
                Err(Attempt::Unreachable)
            }
        }
    }

    /// A final response: an answer with usable SDP starts the media, anything else is that status.
    async fn settle(&self, call: &Arc<Call>, target: &Target, dialog: &InviteDialog, response: &Response) -> Attempt {
        let code = response.status_code.code();
        if !(200..300).contains(&code) {
            return Attempt::Final(code);
        }
        match sdp::parse(&String::from_utf8_lossy(&response.body)).and_then(|r| r.negotiate()) {
            Ok(n) => {
                call.rtp.set_negotiated(n);
                call.ringing();
                call.set_phase(Phase::Answered);
                let trunk = matches!(target, Target::Trunk(_)).then(|| target.name());
                call.emit(CallEvent::Answered { trunk });
                Attempt::Answered
            }
            Err(e) => {
                tracing::warn!(error = %e, "the answer's SDP is unusable; hanging up");
                dialog.hangup().await.ok();
                Attempt::Final(488)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case(503, true, HangupCause::Failed)]
    #[case(500, true, HangupCause::Failed)]
    #[case(408, true, HangupCause::NoAnswer)]
    #[case(486, false, HangupCause::Busy)]
    #[case(600, false, HangupCause::Busy)]
    #[case(404, false, HangupCause::Rejected)]
    #[case(603, false, HangupCause::Rejected)]
    fn a_final_status_decides_failover(#[case] code: u16, #[case] failover: bool, #[case] cause: HangupCause) {
        assert_eq!(classify(code), (failover, cause));
    }
}
