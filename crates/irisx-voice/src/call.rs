//! One call leg inside the engine: its RTP session, its SIP dialog, its event sender, and the single way it
//! ends (one `Hangup` event, the tenant's slot given back, media stopped, the dialog forgotten).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use irisx_core::ports::voice::{CallEvent, CallRef, HangupCause, VoiceError};
use rsipstack::dialog::invite_dialog::InviteDialog;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::rtp::{Negotiated, RtpSession};

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Outbound, trying trunks.
    Dialling = 0,
    /// Inbound, waiting for the orchestrator's answer.
    Offered = 1,
    /// Answered: media verbs allowed.
    Answered = 2,
    /// Over.
    Ended = 3,
}

/// One call leg.
pub struct Call {
    /// The engine's id.
    pub id: CallRef,
    /// Its media.
    pub rtp: Arc<RtpSession>,
    /// Fires when the call ends (also stops the RTP session).
    pub ended: CancellationToken,
    /// Fires once the dialog is confirmed (our answer's ACK arrived, or we acknowledged theirs): a BYE must
    /// not go out before (RFC 3261 §15).
    pub confirmed: CancellationToken,
    phase: AtomicU8,
    hung_up: AtomicBool,
    /// Whether `Ringing` was sent; held while it is sent, so it never follows `Answered`.
    rang: Mutex<bool>,
    events: mpsc::UnboundedSender<CallEvent>,
    dialog: Mutex<Option<InviteDialog>>,
    tenant: Mutex<Option<String>>,
    offer: Mutex<Option<Negotiated>>,
}

impl Call {
    /// A new leg in `phase`, sending its events to `events`; `ended` is also the RTP session's token.
    pub fn new(
        id: CallRef,
        rtp: Arc<RtpSession>,
        ended: CancellationToken,
        phase: Phase,
        events: mpsc::UnboundedSender<CallEvent>,
    ) -> Arc<Self> {
        Arc::new(Call {
            id,
            rtp,
            ended,
            confirmed: CancellationToken::new(),
            phase: AtomicU8::new(phase as u8),
            hung_up: AtomicBool::new(false),
            rang: Mutex::new(false),
            events,
            dialog: Mutex::new(None),
            tenant: Mutex::new(None),
            offer: Mutex::new(None),
        })
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Dialling,
            1 => Phase::Offered,
            2 => Phase::Answered,
            _ => Phase::Ended,
        }
    }

    /// Moves to `phase`.
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// Sends an event (ignored when nobody listens any more).
    pub fn emit(&self, event: CallEvent) {
        self.events.send(event).ok();
    }

    /// Sends `Ringing` once, while the call is still being dialled. The far end's 18x reaches the engine on
    /// another task than its 200, so the answer also calls this before it sends `Answered`: an answered call
    /// has rung even when its ringing is still on its way (or never came), and `Ringing` never follows
    /// `Answered`.
    pub fn ringing(&self) {
        let mut rang = self.rang.lock().unwrap_or_else(|e| e.into_inner());
        if !*rang && self.phase() == Phase::Dialling {
            *rang = true;
            self.emit(CallEvent::Ringing);
        }
    }

    /// The SIP dialog of the current attempt or of the answered call.
    pub fn dialog(&self) -> Option<InviteDialog> {
        self.dialog.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sets the SIP dialog.
    pub fn set_dialog(&self, dialog: InviteDialog) {
        *self.dialog.lock().unwrap_or_else(|e| e.into_inner()) = Some(dialog);
    }

    /// Records the tenant holding a call slot for this call.
    pub fn set_tenant(&self, tenant: String) {
        *self.tenant.lock().unwrap_or_else(|e| e.into_inner()) = Some(tenant);
    }

    /// Takes the tenant whose slot must be released.
    pub fn take_tenant(&self) -> Option<String> {
        self.tenant.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The negotiated media of an incoming offer, kept until the answer.
    pub fn set_offer(&self, offer: Negotiated) {
        *self.offer.lock().unwrap_or_else(|e| e.into_inner()) = Some(offer);
    }

    /// The incoming offer's negotiated media.
    pub fn offer(&self) -> Option<Negotiated> {
        *self.offer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fails unless the call is answered.
    pub fn require_answered(&self) -> Result<(), VoiceError> {
        match self.phase() {
            Phase::Answered => Ok(()),
            Phase::Ended => Err(VoiceError::CallNotFound(self.id.clone())),
            other => Err(VoiceError::InvalidState {
                call: self.id.clone(),
                reason: format!("the call is {other:?}"),
            }),
        }
    }

    /// Ends the leg once: emits `Hangup`, stops media. Returns `false` when it had already ended.
    pub fn finish(&self, cause: HangupCause, sip_code: Option<u16>) -> bool {
        if self.hung_up.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.set_phase(Phase::Ended);
        self.ended.cancel();
        self.emit(CallEvent::Hangup { cause, sip_code });
        true
    }
}
