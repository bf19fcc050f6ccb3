//! Incoming calls: an INVITE for a known agent who is not registered is answered 404 at once; one from an agent
//! is challenged for the agent's digest first (the incoming call then names the agent); any other INVITE
//! with a usable G.711 offer rings (180) and is handed to the orchestrator, which answers (200 with our SDP
//! answer, under its tenant's call limit) or rejects it with a status of its choice.

use std::sync::Arc;

use irisx_core::ports::voice::{CallEvent, CallHandle, CallRef, HangupCause, IncomingCall, VoiceError};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, StatusCode, Uri};
use rsipstack::transaction::transaction::Transaction;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::call::{Call, Phase};
use crate::engine::Inner;
use crate::outbound::classify;
use crate::rtp::Negotiated;
use crate::sdp;
use crate::sip::{from_user, request_user, source, source_ip};

impl Inner {
    /// Handles a new INVITE until its transaction ends.
    #[tracing::instrument(skip_all, fields(to))]
    pub async fn inbound(self: Arc<Self>, mut tx: Transaction) {
        let to = request_user(&tx.original);
        tracing::Span::current().record("to", to.as_str());
        if self.registrar.is_agent(&to).await && self.registrar.lookup(&to).is_none() {
            tx.reply(StatusCode::NotFound).await.ok();
            return;
        }
        // A caller who is an agent must prove it; anyone else is a carrier or a peer the orchestrator judges.
        let from = from_user(&tx.original);
        let source_addr = source_ip(&tx.original);
        let agent = if self.registrar.is_agent(&from).await {
            let Some(agent) = self.registrar.authenticate_invite(&mut tx, source_addr).await else {
                return;
            };
            Some(agent)
        } else {
            None
        };
        let offer = sdp::parse(&String::from_utf8_lossy(&tx.original.body)).and_then(|r| r.negotiate());
        let Ok(offer) = offer else {
            tx.reply(StatusCode::NotAcceptableHere).await.ok();
            return;
        };
        let Some((call, events, mut dialog)) = self.offered_leg(&mut tx, offer).await else {
            return;
        };
        dialog.ringing(None, None).ok();
        let incoming = IncomingCall {
            handle: CallHandle {
                call: call.id.clone(),
                events,
            },
            to,
            from,
            peer: source(&tx.original).map(|s| s.to_string()).unwrap_or_default(),
            agent,
        };
        self.clone().refuse_unanswered(call.id.clone());
        if self.incoming_tx.send(incoming).is_err() {
            dialog.reject(Some(StatusCode::TemporarilyUnavailable), None).ok();
            self.end(&call, HangupCause::Failed, Some(480));
        }
        if let Err(e) = dialog.handle(&mut tx).await {
            tracing::debug!(error = %e, "incoming INVITE transaction ended with an error");
        }
    }

    /// A leg with media and a server dialog for an INVITE; `None` after answering the INVITE with an error.
    async fn offered_leg(
        self: &Arc<Self>,
        tx: &mut Transaction,
        offer: Negotiated,
    ) -> Option<(Arc<Call>, UnboundedReceiver<CallEvent>, InviteDialog)> {
        let (call, events) = match self.new_leg(Phase::Offered, None).await {
            Ok(leg) => leg,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take an incoming call");
                tx.reply(StatusCode::ServiceUnavailable).await.ok();
                return None;
            }
        };
        call.set_offer(offer);
        let contact = Uri::try_from(format!(
            "sip:irisx@{}:{}",
            self.stack.advertised,
            self.stack.local.port()
        ))
        .ok();
        let layer = &self.stack.dialog_layer;
        match layer.get_or_create_server_invite(tx, self.state_tx.clone(), None, contact) {
            Ok(dialog) => {
                self.map_sip_call_id(dialog.id().call_id.clone(), &call.id);
                call.set_dialog(dialog.clone());
                Some((call, events, dialog))
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot make a dialog of the INVITE");
                tx.reply(StatusCode::ServerInternalError).await.ok();
                self.end(&call, HangupCause::Failed, Some(500));
                None
            }
        }
    }

    /// Refuses the call with 480 if it is still ringing after the answer timeout.
    fn refuse_unanswered(self: Arc<Self>, id: CallRef) {
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(self.config.answer_timeout) => {}
                _ = self.cancel.cancelled() => return,
            }
            if self.call(&id).is_ok_and(|c| c.phase() == Phase::Offered) {
                tracing::info!(call = %id, "incoming call not answered in time");
                self.reject(&id, 480).ok();
            }
        });
    }

    /// Answers an offered call for `tenant`.
    pub fn answer(self: &Arc<Self>, id: &CallRef, tenant: &str) -> Result<(), VoiceError> {
        let call = self.call(id)?;
        let invalid = |reason: &str| VoiceError::InvalidState {
            call: id.clone(),
            reason: reason.into(),
        };
        if call.phase() != Phase::Offered {
            return Err(invalid("only an incoming call that is ringing can be answered"));
        }
        let (Some(offer), Some(dialog)) = (call.offer(), call.dialog()) else {
            return Err(invalid("the call has no offer"));
        };
        self.acquire_slot(&call, tenant)?;
        let answer = sdp::answer(
            self.stack.advertised,
            call.rtp.port(),
            u64::from(rand::random::<u32>()),
            &offer,
        );
        let headers = vec![Header::ContentType("application/sdp".into())];
        dialog
            .accept(Some(headers), Some(answer.into_bytes()))
            .map_err(|e| VoiceError::Engine(Box::new(e)))?;
        call.rtp.set_negotiated(offer);
        call.set_phase(Phase::Answered);
        self.watch_media(call.clone());
        call.emit(CallEvent::Answered { trunk: None });
        Ok(())
    }

    /// Rejects an offered call with `sip_code`.
    pub fn reject(&self, id: &CallRef, sip_code: u16) -> Result<(), VoiceError> {
        let call = self.call(id)?;
        if call.phase() != Phase::Offered {
            return Err(VoiceError::InvalidState {
                call: id.clone(),
                reason: "the call is not ringing".into(),
            });
        }
        if let Some(dialog) = call.dialog() {
            dialog.reject(Some(StatusCode::from(sip_code)), None).ok();
        }
        self.end(&call, classify(sip_code).1, Some(sip_code));
        Ok(())
    }
}
