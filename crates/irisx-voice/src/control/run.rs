//! Running a parsed document on a call through the `VoiceEngine` port, verb by verb, as TwiML does: an
//! incoming call is answered by its first verb other than Reject; Gather with digits, Record with an action,
//! Dial with an action and Redirect hand over to another document; the end of the document hangs up.

use async_trait::async_trait;
use bytes::Bytes;
use irisx_core::ports::voice::{
    Audio, CallEvent, CallRef, Destination, Gather, HangupCause, Originate, Prompt, Record, Recording, TrunkTarget,
    VoiceEngine, VoiceError,
};

use super::{DialTarget, Verb};

/// What the executor needs from the orchestrator.
#[async_trait]
pub trait ControlEnv: Send + Sync {
    /// The WAV bytes at a Play URL.
    async fn fetch_audio(&self, url: &str) -> Result<Bytes, VoiceError>;
    /// Stores a finished recording; returns the URL the next document receives as `RecordingUrl`.
    async fn save_recording(&self, call: &CallRef, recording: &Recording) -> Result<String, VoiceError>;
    /// The trunks to reach a number through from caller id `from`, cheapest first.
    async fn route(&self, number: &str, from: &str) -> Result<Vec<TrunkTarget>, VoiceError>;
}

/// What happens after a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Fetch a document (from `url`, or the current document's URL when `None`) with these parameters, and run it.
    Fetch {
        /// Where.
        url: Option<String>,
        /// Form parameters (`Digits`, `RecordingUrl`, `DialCallStatus` ...).
        params: Vec<(String, String)>,
    },
    /// The call is over.
    Ended,
}

/// The call a document runs on.
pub struct CallContext<'a> {
    /// The engine.
    pub engine: &'a dyn VoiceEngine,
    /// The orchestrator's side.
    pub env: &'a dyn ControlEnv,
    /// The call.
    pub call: &'a CallRef,
    /// Its tenant.
    pub tenant: &'a str,
    /// The caller id Dial presents unless the verb says otherwise.
    pub caller_id: &'a str,
    /// Whether the call is answered (false for an incoming call still ringing).
    pub answered: bool,
}

fn fetch(url: &Option<String>, params: Vec<(&str, String)>) -> Next {
    Next::Fetch {
        url: url.clone(),
        params: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}

/// Runs `verbs` on the call; a call that ends underneath is `Next::Ended`, not an error.
#[tracing::instrument(skip_all, fields(call = %ctx.call))]
pub async fn run(ctx: &mut CallContext<'_>, verbs: &[Verb]) -> Result<Next, VoiceError> {
    match run_verbs(ctx, verbs).await {
        Err(VoiceError::CallNotFound(_)) => Ok(Next::Ended),
        other => other,
    }
}

async fn run_verbs(ctx: &mut CallContext<'_>, verbs: &[Verb]) -> Result<Next, VoiceError> {
    for verb in verbs {
        if !ctx.answered && !matches!(verb, Verb::Reject { .. }) {
            ctx.engine.answer(ctx.call, ctx.tenant).await?;
            ctx.answered = true;
        }
        if let Some(next) = run_verb(ctx, verb).await? {
            return Ok(next);
        }
    }
    ctx.engine.hangup(ctx.call).await?;
    Ok(Next::Ended)
}

async fn prompt(ctx: &CallContext<'_>, verb: &Verb) -> Result<(), VoiceError> {
    match verb {
        Verb::Say { text, repeat } => {
            for _ in 0..*repeat {
                ctx.engine.say(ctx.call, text).await?;
            }
        }
        Verb::Play { url, repeat } => {
            let wav = ctx.env.fetch_audio(url).await?;
            for _ in 0..*repeat {
                ctx.engine.play(ctx.call, Audio::Wav(wav.clone())).await?;
            }
        }
        Verb::Pause { length } => ctx.engine.pause(ctx.call, *length).await?,
        _ => {}
    }
    Ok(())
}

/// A Gather's nested verbs as the engine's prompt (Play's audio fetched now).
async fn gather_prompts(ctx: &CallContext<'_>, verbs: &[Verb]) -> Result<Vec<Prompt>, VoiceError> {
    let mut prompts = Vec::new();
    for verb in verbs {
        match verb {
            Verb::Say { text, repeat } => prompts.extend((0..*repeat).map(|_| Prompt::Say(text.clone()))),
            Verb::Play { url, repeat } => {
                let wav = ctx.env.fetch_audio(url).await?;
                prompts.extend((0..*repeat).map(|_| Prompt::Audio(Audio::Wav(wav.clone()))));
            }
            Verb::Pause { length } => prompts.push(Prompt::Pause(*length)),
            _ => {}
        }
    }
    Ok(prompts)
}

async fn run_verb(ctx: &mut CallContext<'_>, verb: &Verb) -> Result<Option<Next>, VoiceError> {
    match verb {
        Verb::Say { .. } | Verb::Play { .. } | Verb::Pause { .. } => prompt(ctx, verb).await?,
        Verb::Gather {
            prompts,
            num_digits,
            timeout,
            finish_on_key,
            action,
        } => {
            let gather = Gather {
                prompts: gather_prompts(ctx, prompts).await?,
                num_digits: *num_digits,
                timeout: *timeout,
                finish_on_key: *finish_on_key,
            };
            let digits = ctx.engine.gather(ctx.call, gather).await?;
            if !digits.is_empty() {
                return Ok(Some(fetch(action, vec![("Digits", digits)])));
            }
        }
        Verb::Record {
            play_beep,
            max_length,
            finish_on_key,
            action,
        } => {
            return record(
                ctx,
                *play_beep,
                Record {
                    max_length: *max_length,
                    finish_on_key: *finish_on_key,
                    both_directions: false,
                },
                action,
            )
            .await;
        }
        Verb::Dial {
            target,
            timeout,
            caller_id,
            action,
            record,
        } => {
            let (status, recording) = dial(ctx, target, *timeout, caller_id.as_deref(), *record).await?;
            if action.is_some() {
                let mut params = vec![("DialCallStatus", status.to_owned())];
                if let Some((url, duration)) = recording {
                    params.push(("RecordingUrl", url));
                    params.push(("RecordingDuration", duration.to_string()));
                }
                return Ok(Some(fetch(action, params)));
            }
        }
        Verb::Redirect { url } => return Ok(Some(fetch(&Some(url.clone()), vec![]))),
        Verb::Reject { busy } => {
            if ctx.answered {
                ctx.engine.hangup(ctx.call).await?;
            } else {
                ctx.engine.reject(ctx.call, if *busy { 486 } else { 603 }).await?;
            }
            return Ok(Some(Next::Ended));
        }
        Verb::Hangup => {
            ctx.engine.hangup(ctx.call).await?;
            return Ok(Some(Next::Ended));
        }
    }
    Ok(None)
}

/// Records (after a beep, if asked); the recording's details go to `action` when there is one.
async fn record(
    ctx: &CallContext<'_>,
    play_beep: bool,
    record: Record,
    action: &Option<String>,
) -> Result<Option<Next>, VoiceError> {
    if play_beep {
        let beep = crate::media::tone(1000.0, std::time::Duration::from_millis(400), 8000);
        ctx.engine.play(ctx.call, Audio::Pcm(beep)).await?;
    }
    let recording = ctx.engine.record(ctx.call, record).await?;
    let url = ctx.env.save_recording(ctx.call, &recording).await?;
    if action.is_none() {
        return Ok(None);
    }
    let params = vec![
        ("RecordingUrl", url),
        ("RecordingDuration", recording.duration.as_secs().to_string()),
        ("Digits", recording.finished_by.map(String::from).unwrap_or_default()),
    ];
    Ok(Some(fetch(action, params)))
}

/// Calls the target and bridges it to the call; returns TwiML's `DialCallStatus` and, when asked to record,
/// the recording's URL and length in seconds.
async fn dial(
    ctx: &CallContext<'_>,
    target: &DialTarget,
    ring_timeout: std::time::Duration,
    caller_id: Option<&str>,
    record: bool,
) -> Result<(&'static str, Option<(String, u64)>), VoiceError> {
    let from = caller_id.unwrap_or(ctx.caller_id).to_owned();
    let (to, destination) = match target {
        DialTarget::Number(n) => (n.clone(), Destination::Trunks(ctx.env.route(n, &from).await?)),
        DialTarget::Agent(user) => (user.clone(), Destination::Agent { user: user.clone() }),
        DialTarget::Sip(uri) => (uri.user.clone(), Destination::Trunks(vec![sip_target(uri)])),
    };
    let request = Originate {
        tenant: ctx.tenant.to_owned(),
        to,
        from,
        destination,
        ring_timeout,
    };
    let mut leg = match ctx.engine.originate(request).await {
        Ok(leg) => leg,
        Err(VoiceError::CallLimit { .. } | VoiceError::NotRegistered(_)) => return Ok(("failed", None)),
        Err(e) => return Err(e),
    };
    loop {
        match leg.events.recv().await {
            Some(CallEvent::Answered { .. }) => break,
            Some(CallEvent::Hangup { cause, .. }) => {
                let status = match cause {
                    HangupCause::Busy => "busy",
                    HangupCause::NoAnswer => "no-answer",
                    HangupCause::Canceled => "canceled",
                    _ => "failed",
                };
                return Ok((status, None));
            }
            Some(_) => {}
            None => return Ok(("failed", None)),
        }
    }
    // The dialled leg is recorded both ways: it hears the caller and says the callee, and it ends with the
    // conversation, which ends the recording.
    let conversation = Record {
        max_length: std::time::Duration::from_secs(4 * 3600),
        finish_on_key: None,
        both_directions: true,
    };
    let talk = async {
        let bridged = ctx.engine.bridge(ctx.call, &leg.call).await;
        match ctx.engine.hangup(&leg.call).await {
            Ok(()) | Err(VoiceError::CallNotFound(_)) => {}
            Err(e) => tracing::warn!(error = %e, "cannot hang up the dialled leg"),
        }
        bridged
    };
    let (bridged, recording) = if record {
        let (bridged, recording) = tokio::join!(talk, ctx.engine.record(&leg.call, conversation));
        (bridged, Some(recording))
    } else {
        (talk.await, None)
    };
    let saved = match recording {
        Some(Ok(r)) => Some((ctx.env.save_recording(ctx.call, &r).await?, r.duration.as_secs())),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the dialled conversation could not be recorded");
            None
        }
        None => None,
    };
    bridged?;
    Ok(("completed", saved))
}

/// A `<Sip>` address as a one-trunk route: no credentials, both codecs.
fn sip_target(uri: &super::SipUri) -> TrunkTarget {
    TrunkTarget {
        name: format!("sip:{}", uri.host),
        host: uri.host.clone(),
        port: uri.port,
        transport: uri.transport,
        username: None,
        password: None,
        codecs: Vec::new(),
        caller_id: None,
        strip_plus: false,
    }
}
