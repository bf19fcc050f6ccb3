//! Call control that is not media: answering and rejecting parked incoming calls, bridging two calls, and
//! hanging up in any phase.

use std::sync::Arc;

use irisx_core::ports::voice::{CallEvent, CallRef, HangupCause, VoiceError};

use crate::call::{Call, Phase};
use crate::dial;
use crate::engine::Inner;

impl Inner {
    /// The live, answered call and its channel.
    pub(crate) fn answered(&self, id: &CallRef) -> Result<(Arc<Call>, String), VoiceError> {
        let call = self.call(id)?;
        let channel = call.require_answered()?;
        Ok((call, channel))
    }

    fn offered(&self, id: &CallRef) -> Result<(Arc<Call>, String), VoiceError> {
        let call = self.call(id)?;
        match (call.phase(), call.channel()) {
            (Phase::Offered, Some(channel)) => Ok((call, channel)),
            (phase, _) => Err(VoiceError::InvalidState {
                call: id.clone(),
                reason: format!("the call is {phase:?}, not ringing"),
            }),
        }
    }

    /// `uuid_answer` under a slot of `tenant`'s limit.
    pub(crate) async fn answer_call(&self, id: &CallRef, tenant: &str) -> Result<(), VoiceError> {
        let (call, channel) = self.offered(id)?;
        if !self.limits.acquire(tenant) {
            return Err(VoiceError::CallLimit {
                tenant: tenant.to_owned(),
                limit: self.limits.max(),
            });
        }
        // Set before the command: if the caller hangs up meanwhile, the call's end gives the slot back.
        call.set_tenant(tenant.to_owned());
        if let Err(e) = self.api(&format!("uuid_answer {channel}")).await {
            if let Some(tenant) = call.take_tenant() {
                self.limits.release(&tenant);
            }
            return Err(e.into());
        }
        if !call.advance(Phase::Offered, Phase::Answered) {
            return Err(VoiceError::CallNotFound(id.clone()));
        }
        call.emit(CallEvent::Answered { trunk: None });
        Ok(())
    }

    /// Refuses a ringing incoming call with the cause FreeSWITCH turns into `sip_code`.
    pub(crate) async fn reject_call(&self, call: &Call, sip_code: u16) -> Result<(), VoiceError> {
        let (call, channel) = self.offered(&call.id)?;
        self.api(&format!("uuid_kill {channel} {}", dial::reject_cause(sip_code)))
            .await?;
        self.end(&call, dial::classify_sip(sip_code).1, Some(sip_code));
        Ok(())
    }

    /// Ends a call in whatever phase it is: refused (487) while offered, canceled while dialling, cleared when
    /// answered.
    pub(crate) async fn hangup_call(&self, id: &CallRef) -> Result<(), VoiceError> {
        let call = self.call(id)?;
        match call.phase() {
            Phase::Offered => self.reject_call(&call, 487).await,
            Phase::Dialling => {
                call.cancel_dialling();
                if let Some(channel) = call.channel() {
                    self.kill(&channel, "ORIGINATOR_CANCEL").await;
                }
                Ok(())
            }
            Phase::Answered => {
                if let Some(channel) = call.channel() {
                    self.kill(&channel, "NORMAL_CLEARING").await;
                }
                self.end(&call, HangupCause::Completed, None);
                Ok(())
            }
            Phase::Ended => Ok(()),
        }
    }

    /// `uuid_bridge`, then waits until either call ends.
    pub(crate) async fn bridge_calls(&self, a: &CallRef, b: &CallRef) -> Result<(), VoiceError> {
        let ((a, a_channel), (b, b_channel)) = (self.answered(a)?, self.answered(b)?);
        self.api(&format!("uuid_bridge {a_channel} {b_channel}")).await?;
        tokio::select! {
            _ = a.ended.cancelled() => {}
            _ = b.ended.cancelled() => {}
        }
        Ok(())
    }
}
