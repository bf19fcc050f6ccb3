//! One call as the driver sees it: its phase, the FreeSWITCH channel it currently lives on, its event stream,
//! its buffered digits (type-ahead), and the applications waiting for their `CHANNEL_EXECUTE_COMPLETE`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use irisx_core::ports::voice::{CallEvent, CallRef, HangupCause, VoiceError};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Keys a watcher may fall behind by; people press a few keys a second, so it never does.
const PRESSED_BACKLOG: usize = 32;

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Incoming, parked in FreeSWITCH, waiting for answer or reject.
    Offered,
    /// Outgoing, an attempt under way.
    Dialling,
    /// Answered (either way).
    Answered,
    /// Over.
    Ended,
}

/// What the event loop tells an outbound attempt.
#[derive(Debug)]
pub enum News {
    /// `CHANNEL_CREATE`: FreeSWITCH made the channel.
    Created,
    /// `CHANNEL_ANSWER`.
    Answered,
    /// `CHANNEL_HANGUP_COMPLETE` before an answer.
    Hangup {
        /// `Hangup-Cause`.
        cause: String,
        /// `variable_sip_term_status`.
        sip_code: Option<u16>,
    },
}

/// How an application ended (`CHANNEL_EXECUTE_COMPLETE`).
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// `Application-Response`.
    pub response: String,
    /// The key that stopped a playback or record (`variable_playback_terminator_used`).
    pub terminator: Option<char>,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    channel: Option<String>,
    tenant: Option<String>,
    trunk: Option<String>,
    news: Option<mpsc::UnboundedSender<News>>,
    rang: bool,
    canceled: bool,
}

/// One call.
#[derive(Debug)]
pub struct Call {
    /// The engine's id.
    pub id: CallRef,
    /// Fires when the call has ended (media waits stop).
    pub ended: CancellationToken,
    state: Mutex<State>,
    events: mpsc::UnboundedSender<CallEvent>,
    digits: Mutex<VecDeque<char>>,
    digit_added: Notify,
    pressed: broadcast::Sender<char>,
    executes: Mutex<HashMap<String, oneshot::Sender<Completion>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Call {
    /// A new call in `phase`, on `channel` when it has one already.
    pub fn new(phase: Phase, channel: Option<String>) -> (Arc<Call>, mpsc::UnboundedReceiver<CallEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let id = CallRef(format!("fs_{}", uuid::Uuid::now_v7().simple()));
        let state = State {
            phase,
            channel,
            tenant: None,
            trunk: None,
            news: None,
            rang: false,
            canceled: false,
        };
        let call = Call {
            id,
            ended: CancellationToken::new(),
            state: Mutex::new(state),
            events,
            digits: Mutex::default(),
            digit_added: Notify::new(),
            pressed: broadcast::channel(PRESSED_BACKLOG).0,
            executes: Mutex::default(),
        };
        (Arc::new(call), rx)
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        lock(&self.state).phase
    }

    /// Moves from `from` to `to`; `false` when the call was not in `from`.
    pub fn advance(&self, from: Phase, to: Phase) -> bool {
        let mut state = lock(&self.state);
        let moved = state.phase == from;
        if moved {
            state.phase = to;
        }
        moved
    }

    /// The channel the call lives on now.
    pub fn channel(&self) -> Option<String> {
        lock(&self.state).channel.clone()
    }

    /// The channel of an answered call, or why there is none.
    pub fn require_answered(&self) -> Result<String, VoiceError> {
        let state = lock(&self.state);
        match (state.phase, &state.channel) {
            (Phase::Answered, Some(channel)) => Ok(channel.clone()),
            (Phase::Ended, _) => Err(VoiceError::CallNotFound(self.id.clone())),
            (phase, _) => Err(VoiceError::InvalidState {
                call: self.id.clone(),
                reason: format!("the call is {phase:?}, not answered"),
            }),
        }
    }

    /// Starts an outbound attempt on `channel` through `trunk`, reporting to `news`.
    pub fn begin_attempt(&self, channel: String, trunk: Option<String>, news: mpsc::UnboundedSender<News>) {
        let mut state = lock(&self.state);
        state.channel = Some(channel);
        state.trunk = trunk;
        state.news = Some(news);
        state.rang = false;
    }

    /// Passes news to the attempt under way.
    pub fn tell(&self, news: News) {
        if let Some(tx) = &lock(&self.state).news {
            tx.send(news).ok();
        }
    }

    /// `Ringing`, once per attempt and only while dialling.
    pub fn ringing(&self) {
        let mut state = lock(&self.state);
        if state.phase == Phase::Dialling && !state.rang {
            state.rang = true;
            self.emit(CallEvent::Ringing);
        }
    }

    /// The far end answered an outbound attempt: `Answered` naming the trunk, then the attempt hears of it.
    pub fn remote_answered(&self) {
        let trunk = {
            let mut state = lock(&self.state);
            if state.phase != Phase::Dialling {
                return;
            }
            state.phase = Phase::Answered;
            state.trunk.clone()
        };
        self.emit(CallEvent::Answered { trunk });
        self.tell(News::Answered);
    }

    /// Marks a dialling call as given up by us (its attempt ends as `Canceled`, no failover).
    pub fn cancel_dialling(&self) {
        lock(&self.state).canceled = true;
    }

    /// Whether we gave the call up while dialling.
    pub fn canceled(&self) -> bool {
        lock(&self.state).canceled
    }

    /// Records the tenant holding a slot for this call.
    pub fn set_tenant(&self, tenant: String) {
        lock(&self.state).tenant = Some(tenant);
    }

    /// Takes the tenant holding a slot, to give it back.
    pub fn take_tenant(&self) -> Option<String> {
        lock(&self.state).tenant.take()
    }

    /// Sends an event to the call's stream.
    pub fn emit(&self, event: CallEvent) {
        self.events.send(event).ok();
    }

    /// A DTMF key from FreeSWITCH: reported, and buffered for Gather.
    pub fn push_digit(&self, digit: char) {
        lock(&self.digits).push_back(digit);
        self.digit_added.notify_waiters();
        self.pressed.send(digit).ok();
        self.emit(CallEvent::Dtmf(digit));
    }

    /// The keys pressed from now on, without taking them from the buffer: a recording running beside a gather
    /// watches for its finish key while the gather still gets every digit.
    pub fn watch_digits(&self) -> broadcast::Receiver<char> {
        self.pressed.subscribe()
    }

    /// Whether a key is waiting in the buffer.
    pub fn has_digit(&self) -> bool {
        !lock(&self.digits).is_empty()
    }

    /// How many keys are buffered.
    pub fn digit_count(&self) -> usize {
        lock(&self.digits).len()
    }

    /// Drops the keys after the first `keep` (those pressed during a recording belong to it).
    pub fn truncate_digits(&self, keep: usize) {
        lock(&self.digits).truncate(keep);
    }

    /// The next key, waiting for one; `None` once the call has ended.
    pub async fn next_digit(&self) -> Option<char> {
        loop {
            let added = self.digit_added.notified();
            if let Some(d) = lock(&self.digits).pop_front() {
                return Some(d);
            }
            tokio::select! {
                _ = added => {}
                _ = self.ended.cancelled() => return None,
            }
        }
    }

    /// Waits until a key is buffered (without taking it) or the call ends.
    pub async fn next_digit_arrives(&self) {
        loop {
            let added = self.digit_added.notified();
            if self.has_digit() {
                return;
            }
            tokio::select! {
                _ = added => {}
                _ = self.ended.cancelled() => return,
            }
        }
    }

    /// Registers an application about to run with `event_uuid`; the receiver hears of its completion.
    pub fn expect_execute(&self, event_uuid: &str) -> oneshot::Receiver<Completion> {
        let (tx, rx) = oneshot::channel();
        lock(&self.executes).insert(event_uuid.to_owned(), tx);
        rx
    }

    /// Forgets an application that was never started.
    pub fn forget_execute(&self, event_uuid: &str) {
        lock(&self.executes).remove(event_uuid);
    }

    /// Hands an application's completion to whoever waits for it.
    pub fn complete_execute(&self, application_uuid: &str, completion: Completion) {
        if let Some(tx) = lock(&self.executes).remove(application_uuid) {
            tx.send(completion).ok();
        }
    }

    /// Ends the call once: gives its tenant's slot back through `release` (before anyone hears of the end, so a
    /// caller who saw `Hangup` can use the slot at once), then `Hangup`, always the last event. `false` when it
    /// had already ended.
    pub fn finish(&self, cause: HangupCause, sip_code: Option<u16>, release: impl FnOnce(&str)) -> bool {
        let tenant = {
            let mut state = lock(&self.state);
            if state.phase == Phase::Ended {
                return false;
            }
            state.phase = Phase::Ended;
            state.news = None;
            state.tenant.take()
        };
        if let Some(tenant) = tenant {
            release(&tenant);
        }
        self.ended.cancel();
        lock(&self.executes).clear();
        self.emit(CallEvent::Hangup { cause, sip_code });
        true
    }
}
