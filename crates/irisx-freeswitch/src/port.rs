//! The `VoiceEngine` port on FreeSWITCH: call setup goes to `originate` and `control`, media verbs to `media`;
//! every verb checks the call exists (`CallNotFound`) and, for media, that it is answered (`InvalidState`).

use std::time::Duration;

use async_trait::async_trait;
use irisx_core::ports::voice::{
    Audio, CallHandle, CallRef, Gather, IncomingCall, Originate, Record, Recording, VoiceEngine, VoiceError,
};

use crate::engine::FreeSwitchEngine;

#[async_trait]
impl VoiceEngine for FreeSwitchEngine {
    #[tracing::instrument(skip_all, fields(tenant = %request.tenant))]
    async fn originate(&self, request: Originate) -> Result<CallHandle, VoiceError> {
        self.inner.originate(request).await
    }

    async fn next_incoming(&self) -> Option<IncomingCall> {
        let mut rx = self.incoming_rx.lock().await;
        tokio::select! {
            call = rx.recv() => call,
            _ = self.inner.cancel.cancelled() => None,
        }
    }

    #[tracing::instrument(skip_all, fields(call = %call, tenant = %tenant))]
    async fn answer(&self, call: &CallRef, tenant: &str) -> Result<(), VoiceError> {
        self.inner.answer_call(call, tenant).await
    }

    #[tracing::instrument(skip_all, fields(call = %call, sip_code))]
    async fn reject(&self, call: &CallRef, sip_code: u16) -> Result<(), VoiceError> {
        let call = self.inner.call(call)?;
        self.inner.reject_call(&call, sip_code).await
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn play(&self, call: &CallRef, audio: Audio) -> Result<(), VoiceError> {
        let (call, _) = self.inner.answered(call)?;
        self.inner.play_audio(&call, &audio).await
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn say(&self, call: &CallRef, text: &str) -> Result<(), VoiceError> {
        let (call, _) = self.inner.answered(call)?;
        self.inner.speak(&call, text).await
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn gather(&self, call: &CallRef, gather: Gather) -> Result<String, VoiceError> {
        let (call, _) = self.inner.answered(call)?;
        self.inner.gather_digits(&call, &gather).await
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn record(&self, call: &CallRef, record: Record) -> Result<Recording, VoiceError> {
        let (call, _) = self.inner.answered(call)?;
        self.inner.record_audio(&call, &record).await
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn pause(&self, call: &CallRef, duration: Duration) -> Result<(), VoiceError> {
        let (call, _) = self.inner.answered(call)?;
        self.inner.silence(&call, duration).await
    }

    #[tracing::instrument(skip_all, fields(a = %a, b = %b))]
    async fn bridge(&self, a: &CallRef, b: &CallRef) -> Result<(), VoiceError> {
        self.inner.bridge_calls(a, b).await
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn hangup(&self, call: &CallRef) -> Result<(), VoiceError> {
        self.inner.hangup_call(call).await
    }
}
