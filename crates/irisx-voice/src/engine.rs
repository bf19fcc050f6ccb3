//! The native engine behind core's `VoiceEngine` port: it owns the SIP stack, the registrar, the live calls
//! and the protections, dispatches incoming SIP transactions and dialog news, and ends calls. The port's
//! methods themselves are in `port.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use irisx_core::ports::voice::{Audio, CallRef, HangupCause, IncomingCall, Prompt, SipRegistrar, VoiceError};
use rsipstack::dialog::dialog::{Dialog, DialogState, DialogStateReceiver, DialogStateSender};
use rsipstack::sip::{Method, StatusCode};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::transaction::Transaction;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::call::{Call, Phase};
use crate::config::VoiceConfig;
use crate::error::Error;
use crate::media;
use crate::protect::Guard;
use crate::sip::registrar::Registrar;
use crate::sip::{SipStack, source_ip};
use irisx_core::calls::CallLimits;

/// The engine's shared state.
pub(crate) struct Inner {
    pub config: VoiceConfig,
    pub stack: SipStack,
    pub registrar: Registrar,
    pub limits: CallLimits,
    pub state_tx: DialogStateSender,
    pub incoming_tx: mpsc::UnboundedSender<IncomingCall>,
    pub cancel: CancellationToken,
    calls: Mutex<HashMap<CallRef, Arc<Call>>>,
    by_sip_call_id: Mutex<HashMap<String, CallRef>>,
}

/// IRISX's native SIP/RTP voice engine.
pub struct NativeVoiceEngine {
    pub(crate) inner: Arc<Inner>,
    pub(crate) incoming_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<IncomingCall>>,
}

impl NativeVoiceEngine {
    /// Opens the SIP listeners and starts the engine's loops; they stop when `cancel` fires.
    #[tracing::instrument(skip_all, fields(bind = %config.bind_ip, port = config.sip_port))]
    pub async fn start(
        config: VoiceConfig,
        agents: Arc<dyn SipRegistrar>,
        cancel: CancellationToken,
    ) -> Result<NativeVoiceEngine, Error> {
        config.validate()?;
        let guard = Arc::new(Guard::new(
            &config.scanner_agents,
            config.ban_after_failures,
            config.ban_window,
            config.ban_duration,
        ));
        let (stack, transactions) = SipStack::start(&config, guard.clone(), &cancel).await?;
        let (state_tx, state_rx) = stack.dialog_layer.new_dialog_state_channel();
        let (incoming_tx, incoming_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            registrar: Registrar::new(config.realm.clone(), agents, guard),
            limits: CallLimits::new(config.max_calls_per_tenant),
            config,
            stack,
            state_tx,
            incoming_tx,
            cancel,
            calls: Mutex::default(),
            by_sip_call_id: Mutex::default(),
        });
        tokio::spawn(inner.clone().dispatch(transactions));
        tokio::spawn(inner.clone().dialog_states(state_rx));
        tracing::info!(sip = %inner.stack.local, "voice engine listening");
        Ok(NativeVoiceEngine {
            inner,
            incoming_rx: tokio::sync::Mutex::new(incoming_rx),
        })
    }

    /// Where SIP listens (UDP and TCP).
    pub fn sip_addr(&self) -> std::net::SocketAddr {
        self.inner.stack.local
    }

    /// The binding of a registered agent, if any.
    pub fn registration(&self, user: &str) -> Option<crate::sip::registrar::Binding> {
        self.inner.registrar.lookup(user)
    }

    /// The RTP counters of a live call (packets each way, the last payload type received).
    pub fn rtp_counters(&self, call: &CallRef) -> Result<crate::rtp::rtcp::RtpCounters, VoiceError> {
        Ok(self.inner.call(call)?.rtp.counters())
    }

    /// Whether an address is banned.
    pub fn is_banned(&self, ip: std::net::IpAddr) -> bool {
        self.inner.registrar.guard().is_banned(ip)
    }

    /// Sends one DTMF key on an answered call (RFC 4733).
    pub async fn send_digit(&self, call: &CallRef, digit: char) -> Result<(), VoiceError> {
        let call = self.inner.answered(call)?;
        Ok(call.rtp.send_digit(digit, 100).await?)
    }
}

impl Inner {
    pub fn call(&self, id: &CallRef) -> Result<Arc<Call>, VoiceError> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls
            .get(id)
            .cloned()
            .ok_or_else(|| VoiceError::CallNotFound(id.clone()))
    }

    pub(crate) fn answered(&self, id: &CallRef) -> Result<Arc<Call>, VoiceError> {
        let call = self.call(id)?;
        call.require_answered()?;
        Ok(call)
    }

    pub fn insert_call(&self, call: Arc<Call>) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(call.id.clone(), call);
    }

    pub fn map_sip_call_id(&self, sip_call_id: String, call: &CallRef) {
        self.by_sip_call_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sip_call_id, call.clone());
    }

    /// Forgets which call a SIP Call-ID belonged to.
    pub fn forget_sip_call_id(&self, sip_call_id: &str) {
        self.by_sip_call_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(sip_call_id);
    }

    /// The call a dialog belongs to.
    pub fn call_of_dialog(&self, id: &rsipstack::dialog::DialogId) -> Option<Arc<Call>> {
        self.by_sip_call_id(&id.call_id)
    }

    fn by_sip_call_id(&self, sip_call_id: &str) -> Option<Arc<Call>> {
        let id = self
            .by_sip_call_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(sip_call_id)
            .cloned()?;
        self.call(&id).ok()
    }

    /// Ends a call and forgets it.
    pub fn end(&self, call: &Call, cause: HangupCause, sip_code: Option<u16>) {
        if call.finish(cause, sip_code)
            && let Some(tenant) = call.take_tenant()
        {
            self.limits.release(&tenant);
        }
        if let Some(dialog) = call.dialog() {
            self.stack.dialog_layer.remove_dialog(&dialog.id());
            self.by_sip_call_id
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&dialog.id().call_id);
        }
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).remove(&call.id);
    }

    /// Hangs up an answered call once no RTP has arrived for the media timeout.
    pub fn watch_media(self: &Arc<Self>, call: Arc<Call>) {
        let timeout = self.config.media_timeout;
        let period = (timeout / 4).max(Duration::from_millis(100));
        let inner = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(period) => {}
                    _ = call.ended.cancelled() => return,
                }
                if call.rtp.idle_for() >= timeout {
                    tracing::warn!(call = %call.id, "no media for {timeout:?}; hanging up");
                    if let Some(dialog) = call.dialog() {
                        dialog.hangup().await.ok();
                    }
                    inner.end(&call, HangupCause::Completed, None);
                    return;
                }
            }
        });
    }

    /// Plays a gather's prompt to the end (or the call's).
    pub(crate) async fn prompt(&self, call: &Call, prompts: &[Prompt]) -> Result<(), VoiceError> {
        for prompt in prompts {
            match prompt {
                Prompt::Audio(Audio::Pcm(samples)) => {
                    call.rtp.play(samples, &call.ended).await?;
                }
                Prompt::Audio(Audio::Wav(bytes)) => {
                    call.rtp.play(&media::wav_to_samples(bytes)?, &call.ended).await?;
                }
                Prompt::Say(text) => {
                    let samples = media::speak(&self.config.espeak_program, text).await?;
                    call.rtp.play(&samples, &call.ended).await?;
                }
                Prompt::Pause(length) => {
                    tokio::select! {
                        _ = tokio::time::sleep(*length) => {}
                        _ = call.ended.cancelled() => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes a call slot for `tenant` on `call`.
    pub fn acquire_slot(&self, call: &Call, tenant: &str) -> Result<(), VoiceError> {
        if !self.limits.acquire(tenant) {
            return Err(VoiceError::CallLimit {
                tenant: tenant.to_owned(),
                limit: self.limits.max(),
            });
        }
        call.set_tenant(tenant.to_owned());
        Ok(())
    }

    async fn dispatch(self: Arc<Self>, mut transactions: TransactionReceiver) {
        loop {
            let tx = tokio::select! {
                tx = transactions.recv() => match tx { Some(tx) => tx, None => return },
                _ = self.cancel.cancelled() => return,
            };
            tokio::spawn(self.clone().on_transaction(tx));
        }
    }

    #[tracing::instrument(skip_all, fields(method = %tx.original.method))]
    async fn on_transaction(self: Arc<Self>, mut tx: Transaction) {
        let method = tx.original.method;
        if let Some(Dialog::Invite(mut dialog)) = self.stack.dialog_layer.match_dialog(&tx) {
            if let Err(e) = dialog.handle(&mut tx).await {
                tracing::debug!(error = %e, "in-dialog request failed");
            }
            return;
        }
        match method {
            Method::Register => {
                let source = source_ip(&tx.original);
                self.registrar.handle(&mut tx, source).await
            }
            Method::Options => drop(tx.reply(StatusCode::OK).await),
            Method::Invite => self.clone().inbound(tx).await,
            Method::Ack => {}
            Method::Bye | Method::Cancel | Method::Info | Method::Update | Method::PRack => {
                tx.reply(StatusCode::CallTransactionDoesNotExist).await.ok();
            }
            _ => drop(tx.reply(StatusCode::MethodNotAllowed).await),
        }
    }

    async fn dialog_states(self: Arc<Self>, mut states: DialogStateReceiver) {
        loop {
            let state = tokio::select! {
                s = states.recv() => match s { Some(s) => s, None => return },
                _ = self.cancel.cancelled() => return,
            };
            match state {
                DialogState::Early(id, _) => {
                    if let Some(call) = self.by_sip_call_id(&id.call_id) {
                        call.ringing();
                    }
                }
                DialogState::Confirmed(id, _) => {
                    if let Some(call) = self.by_sip_call_id(&id.call_id) {
                        call.confirmed.cancel();
                    }
                }
                DialogState::Terminated(id, reason) => {
                    let Some(call) = self.by_sip_call_id(&id.call_id) else {
                        continue;
                    };
                    match call.phase() {
                        Phase::Answered => self.end(&call, HangupCause::Completed, None),
                        Phase::Offered => {
                            tracing::debug!(?reason, "incoming call ended before an answer");
                            self.end(&call, HangupCause::Canceled, None);
                        }
                        // Outbound attempts are settled by the originate loop.
                        Phase::Dialling | Phase::Ended => {}
                    }
                }
                state @ (DialogState::Updated(..)
                | DialogState::Options(..)
                | DialogState::Info(..)
                | DialogState::Refer(..)
                | DialogState::Message(..)
                | DialogState::Notify(..)) => {
                    tokio::spawn(self.clone().in_dialog(state));
                }
                _ => {}
            }
        }
    }
}
