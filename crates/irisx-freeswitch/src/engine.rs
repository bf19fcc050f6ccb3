//! The driver's shared state and its one supervising loop: it applies FreeSWITCH's events in the order they
//! arrived, and when the event socket drops it ends every call in flight and reconnects with backoff.
//!
//! Why calls in flight end as `Hangup { cause: Failed }` when the socket drops: while it is down the driver
//! misses events (answers, digits, hangups, application completions) and cannot tell which of them happened,
//! so no call's state can be trusted afterwards. Each call therefore ends, once, with a cause that says the
//! engine failed, so the orchestrator writes a final state and bills no more than it knows. After reconnecting,
//! the driver asks FreeSWITCH to hang those channels up (`uuid_kill`), so none stays parked unsupervised.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use irisx_core::ports::voice::{CallRef, HangupCause, IncomingCall, VoiceError};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::call::{Call, Phase};
use crate::config::FreeSwitchConfig;
use crate::error::Error;
use crate::esl::conn::Conn;
use crate::esl::frame::Event;
use irisx_core::calls::CallLimits;

/// The driver's shared state.
pub(crate) struct Inner {
    pub config: FreeSwitchConfig,
    pub limits: CallLimits,
    pub cancel: CancellationToken,
    pub incoming_tx: mpsc::UnboundedSender<IncomingCall>,
    conn: Mutex<Option<Arc<Conn>>>,
    calls: Mutex<HashMap<CallRef, Arc<Call>>>,
    channels: Mutex<HashMap<String, Arc<Call>>>,
    jobs: Mutex<HashMap<String, oneshot::Sender<String>>>,
    record_stops: Mutex<HashMap<String, oneshot::Sender<()>>>,
    orphans: Mutex<Vec<String>>,
}

/// IRISX's voice engine on FreeSWITCH, driven over its event socket.
pub struct FreeSwitchEngine {
    pub(crate) inner: Arc<Inner>,
    pub(crate) incoming_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<IncomingCall>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fresh UUID for a channel, a job or an application (FreeSWITCH takes any UUID text).
pub(crate) fn new_uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl FreeSwitchEngine {
    /// Connects to FreeSWITCH's event socket, authenticates and subscribes, then keeps the connection (and
    /// reconnects it) until `cancel` fires. Fails when the first connection cannot be made or the password is
    /// refused, so a wrong setting shows at start-up.
    #[tracing::instrument(skip_all, fields(addr = %config.esl_addr))]
    pub async fn connect(config: FreeSwitchConfig, cancel: CancellationToken) -> Result<FreeSwitchEngine, Error> {
        config.validate()?;
        let (conn, events) = Conn::open(&config).await?;
        let (incoming_tx, incoming_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            limits: CallLimits::new(config.max_calls_per_tenant),
            config,
            cancel,
            incoming_tx,
            conn: Mutex::new(Some(conn)),
            calls: Mutex::default(),
            channels: Mutex::default(),
            jobs: Mutex::default(),
            record_stops: Mutex::default(),
            orphans: Mutex::default(),
        });
        tokio::spawn(inner.clone().supervise(events));
        Ok(FreeSwitchEngine {
            inner,
            incoming_rx: tokio::sync::Mutex::new(incoming_rx),
        })
    }

    /// Whether the event socket is connected now.
    pub fn is_connected(&self) -> bool {
        self.inner.conn().is_ok()
    }
}

impl Inner {
    /// The live connection.
    pub fn conn(&self) -> Result<Arc<Conn>, Error> {
        lock(&self.conn).clone().ok_or(Error::Disconnected)
    }

    /// Runs an `api` command on the live connection.
    pub async fn api(&self, command: &str) -> Result<String, Error> {
        self.conn()?.api(command).await
    }

    /// A live call.
    pub fn call(&self, id: &CallRef) -> Result<Arc<Call>, VoiceError> {
        lock(&self.calls)
            .get(id)
            .cloned()
            .ok_or_else(|| VoiceError::CallNotFound(id.clone()))
    }

    /// Keeps a new call.
    pub fn insert_call(&self, call: &Arc<Call>) {
        lock(&self.calls).insert(call.id.clone(), call.clone());
    }

    /// Routes `channel`'s events to `call`.
    pub fn bind_channel(&self, channel: &str, call: &Arc<Call>) {
        lock(&self.channels).insert(channel.to_owned(), call.clone());
    }

    /// Stops routing `channel`'s events.
    pub fn unbind_channel(&self, channel: &str) {
        lock(&self.channels).remove(channel);
    }

    /// The call a channel belongs to.
    pub fn channel_call(&self, channel: &str) -> Option<Arc<Call>> {
        lock(&self.channels).get(channel).cloned()
    }

    /// Registers a background job before it is sent; the receiver gets its result text.
    pub fn expect_job(&self, job: &str) -> oneshot::Receiver<String> {
        let (tx, rx) = oneshot::channel();
        lock(&self.jobs).insert(job.to_owned(), tx);
        rx
    }

    /// Hands a `BACKGROUND_JOB`'s result to the attempt waiting for it.
    pub fn job_done(&self, job: &str, result: String) {
        if let Some(tx) = lock(&self.jobs).remove(job) {
            tx.send(result).ok();
        }
    }

    /// Forgets a job that was never sent.
    pub fn forget_job(&self, job: &str) {
        lock(&self.jobs).remove(job);
    }

    /// Registers a recording about to start on a media bug; the receiver hears of its `RECORD_STOP`, which
    /// FreeSWITCH fires once it has closed the file at `path` (as FreeSWITCH names it).
    pub fn expect_record_stop(&self, path: &str) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        lock(&self.record_stops).insert(path.to_owned(), tx);
        rx
    }

    /// Hands a `RECORD_STOP` to the recording waiting for it (other recordings' stops are no one's).
    pub fn record_stopped(&self, path: &str) {
        if let Some(tx) = lock(&self.record_stops).remove(path) {
            tx.send(()).ok();
        }
    }

    /// Forgets a recording that never started or is no longer waited for.
    pub fn forget_record_stop(&self, path: &str) {
        lock(&self.record_stops).remove(path);
    }

    /// Forgets a call and ends it once, giving its tenant's slot back.
    pub fn end(&self, call: &Call, cause: HangupCause, sip_code: Option<u16>) {
        if let Some(channel) = call.channel() {
            lock(&self.channels).remove(&channel);
        }
        lock(&self.calls).remove(&call.id);
        call.finish(cause, sip_code, |tenant| self.limits.release(tenant));
    }

    async fn supervise(self: Arc<Self>, mut events: mpsc::UnboundedReceiver<Event>) {
        loop {
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Some(event) => self.on_event(event),
                        None => break,
                    },
                    _ = self.cancel.cancelled() => {
                        if let Some(conn) = lock(&self.conn).take() {
                            conn.close();
                        }
                        return;
                    }
                }
            }
            self.connection_lost();
            let Some((conn, next)) = self.reconnect().await else {
                return;
            };
            // The orphans go before the connection is offered to new work, so nothing new waits behind them.
            self.kill_orphans(&conn).await;
            *lock(&self.conn) = Some(conn);
            events = next;
        }
    }

    fn connection_lost(&self) {
        tracing::warn!("the FreeSWITCH event socket dropped; ending the calls in flight");
        lock(&self.conn).take();
        let calls: Vec<Arc<Call>> = lock(&self.calls).values().cloned().collect();
        for call in calls {
            if call.phase() == Phase::Ended {
                continue;
            }
            if let Some(channel) = call.channel() {
                lock(&self.orphans).push(channel);
            }
            self.end(&call, HangupCause::Failed, None);
        }
        lock(&self.jobs).clear();
        lock(&self.record_stops).clear();
    }

    async fn reconnect(&self) -> Option<(Arc<Conn>, mpsc::UnboundedReceiver<Event>)> {
        let mut wait = self.config.reconnect_initial;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.cancel.cancelled() => return None,
            }
            match Conn::open(&self.config).await {
                Ok(connected) => return Some(connected),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?wait, "reconnecting to FreeSWITCH failed");
                    wait = (wait * 2).min(self.config.reconnect_max);
                }
            }
        }
    }

    async fn kill_orphans(&self, conn: &Conn) {
        let orphans = std::mem::take(&mut *lock(&self.orphans));
        for channel in orphans {
            // `-ERR No such channel!` is fine: it hung up while the socket was down.
            if let Err(e) = conn.api(&format!("uuid_kill {channel} NORMAL_CLEARING")).await {
                tracing::debug!(%channel, error = %e, "an orphaned channel was not killed");
            }
        }
    }
}
