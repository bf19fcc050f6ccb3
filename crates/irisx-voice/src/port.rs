//! The `VoiceEngine` port on the native engine: call setup goes to the outbound and inbound modules, media
//! verbs run on the answered call's RTP session and end early when the call does.

use std::time::Duration;

use async_trait::async_trait;
use irisx_core::ports::voice::{
    Audio, CallHandle, CallRef, Gather, HangupCause, IncomingCall, Originate, Record, Recording, VoiceEngine,
    VoiceError,
};

use crate::call::Phase;
use crate::engine::NativeVoiceEngine;
use crate::media;

/// How long a hangup waits for the ACK of our answer before sending BYE anyway.
const ACK_WAIT: Duration = Duration::from_secs(4);

#[async_trait]
impl VoiceEngine for NativeVoiceEngine {
    #[tracing::instrument(skip_all, fields(tenant = %request.tenant))]
    async fn originate(&self, request: Originate) -> Result<CallHandle, VoiceError> {
        self.inner.clone().originate(request).await
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
        self.inner.answer(call, tenant)
    }

    #[tracing::instrument(skip_all, fields(call = %call, sip_code))]
    async fn reject(&self, call: &CallRef, sip_code: u16) -> Result<(), VoiceError> {
        self.inner.reject(call, sip_code)
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn play(&self, call: &CallRef, audio: Audio) -> Result<(), VoiceError> {
        let call = self.inner.answered(call)?;
        let samples = match audio {
            Audio::Pcm(samples) => samples,
            Audio::Wav(bytes) => media::wav_to_samples(&bytes)?,
        };
        call.rtp.play(&samples, &call.ended).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn say(&self, call: &CallRef, text: &str) -> Result<(), VoiceError> {
        let call = self.inner.answered(call)?;
        let samples = media::speak(&self.inner.config.espeak_program, text).await?;
        call.rtp.play(&samples, &call.ended).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn gather(&self, call: &CallRef, gather: Gather) -> Result<String, VoiceError> {
        let call = self.inner.answered(call)?;
        let first = if gather.prompts.is_empty() {
            None
        } else {
            // Barge-in: the first key stops the prompt and is the first digit.
            tokio::select! {
                played = self.inner.prompt(&call, &gather.prompts) => { played?; None }
                d = call.rtp.next_digit() => d,
            }
        };
        let (n, timeout, key) = (gather.num_digits, gather.timeout, gather.finish_on_key);
        Ok(media::gather(&call.rtp, first, n, timeout, key, &call.ended).await)
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn record(&self, call: &CallRef, record: Record) -> Result<Recording, VoiceError> {
        let call = self.inner.answered(call)?;
        let recorded = media::record(
            &call.rtp,
            record.max_length,
            record.finish_on_key,
            record.both_directions,
        )
        .await;
        let duration = Duration::from_secs_f64(recorded.samples.len() as f64 / f64::from(media::RATE));
        let wav = media::samples_to_wav(&recorded.samples)?;
        Ok(Recording {
            wav,
            duration,
            finished_by: recorded.finished_by,
        })
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn pause(&self, call: &CallRef, duration: Duration) -> Result<(), VoiceError> {
        let call = self.inner.answered(call)?;
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = call.ended.cancelled() => {}
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(a = %a, b = %b))]
    async fn bridge(&self, a: &CallRef, b: &CallRef) -> Result<(), VoiceError> {
        let (a, b) = (self.inner.answered(a)?, self.inner.answered(b)?);
        crate::bridge::run(&a, &b).await;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(call = %call))]
    async fn hangup(&self, call: &CallRef) -> Result<(), VoiceError> {
        let call = self.inner.call(call)?;
        match call.phase() {
            Phase::Offered => return self.inner.reject(&call.id, 487),
            Phase::Dialling => call.ended.cancel(),
            Phase::Answered => {
                // Our 200's ACK may still be on its way; the BYE waits for it (a short while).
                tokio::select! {
                    _ = call.confirmed.cancelled() => {}
                    _ = tokio::time::sleep(ACK_WAIT) => {}
                }
                if let Some(dialog) = call.dialog() {
                    dialog.hangup().await.ok();
                }
                self.inner.end(&call, HangupCause::Completed, None);
            }
            Phase::Ended => {}
        }
        Ok(())
    }
}
