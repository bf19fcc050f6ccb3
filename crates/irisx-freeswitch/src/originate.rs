//! Outbound calls: one `bgapi originate … &park()` per trunk, in the order given, each on a fresh channel UUID
//! and with a Job-UUID chosen by the driver (so its `BACKGROUND_JOB` can never arrive before someone waits for
//! it). An attempt ends with `CHANNEL_ANSWER`, with `CHANNEL_HANGUP_COMPLETE` (cause and SIP status), or with a
//! job that failed before FreeSWITCH made a channel; `dial::classify` decides whether the next trunk is tried.

use std::sync::Arc;
use std::time::Duration;

use irisx_core::ports::voice::{CallEvent, CallHandle, Destination, HangupCause, Originate, VoiceError};
use tokio::sync::{mpsc, oneshot};

use crate::call::{Call, News, Phase};
use crate::dial::{self, Target};
use crate::engine::{Inner, new_uuid};

/// How long past `originate_timeout` the driver waits before it gives an attempt up itself.
const RING_GUARD: Duration = Duration::from_secs(10);
/// How long a failed job waits for its channel's `CHANNEL_HANGUP_COMPLETE` (which carries the SIP status).
const HANGUP_GRACE: Duration = Duration::from_secs(2);

/// How one attempt ended.
#[derive(Debug)]
enum Attempt {
    Answered,
    Ended {
        cause: String,
        sip_code: Option<u16>,
    },
    NotPlaced,
    Canceled,
    /// The call ended elsewhere (the socket dropped).
    Lost,
}

impl Inner {
    /// Checks the request, takes a slot of the tenant's limit and starts the attempts in the background.
    pub(crate) async fn originate(self: &Arc<Self>, request: Originate) -> Result<CallHandle, VoiceError> {
        let targets = self.targets(&request).await?;
        self.conn()?;
        if !self.limits.acquire(&request.tenant) {
            return Err(VoiceError::CallLimit {
                tenant: request.tenant.clone(),
                limit: self.limits.max(),
            });
        }
        let (call, events) = Call::new(Phase::Dialling, None);
        call.set_tenant(request.tenant.clone());
        self.insert_call(&call);
        let handle = CallHandle {
            call: call.id.clone(),
            events,
        };
        tokio::spawn(self.clone().dial(call, request, targets));
        Ok(handle)
    }

    async fn targets(&self, request: &Originate) -> Result<Vec<Target>, VoiceError> {
        let targets = match &request.destination {
            Destination::Trunks(trunks) => trunks
                .iter()
                .map(|t| dial::trunk_target(&self.config.trunks, t, &request.to, &request.from))
                .collect::<Result<Vec<_>, _>>()?,
            Destination::Agent { user } => {
                let target = dial::agent_target(user, &self.config.agent_domain)?;
                let contact = self
                    .api(&format!("sofia_contact {user}@{}", self.config.agent_domain))
                    .await?;
                if contact.starts_with("error/") {
                    return Err(VoiceError::NotRegistered(user.clone()));
                }
                vec![target]
            }
        };
        if targets.is_empty() {
            return Err(VoiceError::NoRoute);
        }
        Ok(targets)
    }

    #[tracing::instrument(skip_all, fields(call = %call.id))]
    async fn dial(self: Arc<Self>, call: Arc<Call>, request: Originate, targets: Vec<Target>) {
        let mut last = (HangupCause::Failed, None);
        for (i, target) in targets.iter().enumerate() {
            let outcome = self.attempt(&call, &request, target).await;
            tracing::info!(target = %target.name, ?outcome, "call attempt ended");
            let (failover, cause, code) = match outcome {
                Attempt::Answered | Attempt::Lost => return,
                Attempt::Canceled => return self.end(&call, HangupCause::Canceled, None),
                Attempt::NotPlaced => (true, HangupCause::Failed, None),
                Attempt::Ended { cause, sip_code } => {
                    let (failover, meaning) = dial::classify(&cause, sip_code);
                    (failover, meaning, dial::reported_code(meaning, sip_code))
                }
            };
            last = (cause, code);
            if !failover {
                break;
            }
            if i + 1 < targets.len() {
                call.emit(CallEvent::FailedOver {
                    trunk: target.name.clone(),
                    sip_code: code,
                });
            }
        }
        self.end(&call, last.0, last.1);
    }

    async fn attempt(&self, call: &Arc<Call>, request: &Originate, target: &Target) -> Attempt {
        if call.canceled() {
            return Attempt::Canceled;
        }
        let (channel, job) = (new_uuid(), new_uuid());
        let (news_tx, news) = mpsc::unbounded_channel();
        call.begin_attempt(channel.clone(), target.trunk.clone(), news_tx);
        self.bind_channel(&channel, call);
        let job_rx = self.expect_job(&job);
        let placed = match dial::originate_vars(
            &channel,
            target.caller_id.as_deref().unwrap_or(&request.from),
            request.ring_timeout,
            &request.tenant,
            &target.vars,
        ) {
            Ok(vars) => match self.conn() {
                Ok(conn) => conn
                    .ok(&format!(
                        "bgapi originate {vars}{} &park()\nJob-UUID: {job}",
                        target.dial
                    ))
                    .await
                    .map(drop),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        let outcome = match placed {
            Ok(()) => self.settle(call, &channel, news, job_rx, request.ring_timeout).await,
            Err(e) => {
                tracing::warn!(error = %e, "originate was not placed");
                Attempt::NotPlaced
            }
        };
        // A job whose result no longer matters (a hangup told the outcome first) is dropped when it arrives.
        self.forget_job(&job);
        if !matches!(outcome, Attempt::Answered) {
            self.unbind_channel(&channel);
        }
        outcome
    }

    /// Waits for the attempt's outcome. News is read before the job's result, so a `CHANNEL_CREATE` that came
    /// first is seen first.
    async fn settle(
        &self,
        call: &Call,
        channel: &str,
        mut news: mpsc::UnboundedReceiver<News>,
        mut job: oneshot::Receiver<String>,
        ring: Duration,
    ) -> Attempt {
        let (mut created, mut job_open, mut failed_job) = (false, true, None::<String>);
        let guard = tokio::time::sleep(ring + RING_GUARD);
        tokio::pin!(guard);
        let grace = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                biased;
                item = news.recv() => match item {
                    Some(News::Created) => created = true,
                    Some(News::Answered) if call.canceled() => {
                        self.kill(channel, "ORIGINATOR_CANCEL").await;
                        return Attempt::Canceled;
                    }
                    Some(News::Answered) => return Attempt::Answered,
                    Some(News::Hangup { .. }) if call.canceled() => return Attempt::Canceled,
                    Some(News::Hangup { cause, sip_code }) => return Attempt::Ended { cause, sip_code },
                    None => return Attempt::Lost,
                },
                _ = call.ended.cancelled() => return Attempt::Lost,
                result = &mut job, if job_open => {
                    job_open = false;
                    let Ok(result) = result else { return Attempt::Lost };
                    if let Some(cause) = result.trim().strip_prefix("-ERR") {
                        let cause = cause.trim().to_owned();
                        if !created {
                            return Attempt::Ended { cause, sip_code: None };
                        }
                        failed_job = Some(cause);
                        grace.as_mut().reset(tokio::time::Instant::now() + HANGUP_GRACE);
                    }
                }
                _ = &mut grace => {
                    let cause = failed_job.take().unwrap_or_default();
                    return Attempt::Ended { cause, sip_code: None };
                }
                _ = &mut guard => {
                    tracing::warn!(%channel, "no outcome past the ring timeout; giving the attempt up");
                    self.kill(channel, "NO_ANSWER").await;
                    return Attempt::Ended { cause: "NO_ANSWER".into(), sip_code: None };
                }
            }
        }
    }

    /// `uuid_kill` that tolerates a channel already gone.
    pub(crate) async fn kill(&self, channel: &str, cause: &str) {
        if let Err(e) = self.api(&format!("uuid_kill {channel} {cause}")).await {
            tracing::debug!(%channel, error = %e, "uuid_kill failed");
        }
    }
}
