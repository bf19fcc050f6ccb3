//! Running a call's documents: fetched from the tenant's URL (a signed POST, as webhooks are, through the
//! SSRF-safe sender) or given inline, parsed and executed by `irisx_voice::control`; an action or a redirect
//! fetches the next one with its parameters (`Digits`, `RecordingUrl`, `DialCallStatus` ...); a tenant's
//! redirect stops the running document and runs the new one.
//!
//! The request body is JSON with TwiML's field names (`CallSid`, `AccountSid`, `From`, `To`, `CallStatus`,
//! `Direction`, then the action's parameters), signed with the tenant's status-callback secret under the
//! Standard Webhooks headers, so a tenant verifies it as it verifies its status callbacks.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use irisx_core::calls::Call;
use irisx_core::id::EventId;
use irisx_core::ports::voice::{CallRef, Recording, TrunkTarget, VoiceError};
use irisx_core::ports::webhooks::{WebhookOutcome, WebhookRequest};
use irisx_core::usecase::trunks::{self, Routing};
use irisx_core::usecase::{Platform, calls, webhooks};
use irisx_core::webhook::WebhookUrl;
use irisx_voice::control::{self, CallContext, ControlEnv, DialTarget, Next, Verb};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::voice::VoiceRuntime;

/// The most documents one call runs (actions and redirects included).
const MAX_DOCUMENTS: usize = 50;
/// The largest `Play` file.
const MAX_AUDIO: usize = 8 * 1024 * 1024;
/// How long the tenant's URL may take to answer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The orchestrator's side of the executor for one call.
struct Env<'a> {
    p: &'a Platform,
    rt: &'a VoiceRuntime,
    call: &'a Call,
    recordings: Mutex<usize>,
}

fn engine_error(e: impl std::fmt::Display) -> VoiceError {
    VoiceError::Engine(e.to_string().into())
}

#[async_trait]
impl ControlEnv for Env<'_> {
    async fn fetch_audio(&self, url: &str) -> Result<Bytes, VoiceError> {
        let url = WebhookUrl::parse(url).map_err(|why| VoiceError::UnsupportedAudio(format!("Play URL: {why}")))?;
        self.rt
            .media
            .get(&url, MAX_AUDIO)
            .await
            .map_err(|why| VoiceError::UnsupportedAudio(format!("Play URL {}: {why}", url.as_str())))
    }

    async fn save_recording(&self, _call: &CallRef, recording: &Recording) -> Result<String, VoiceError> {
        let n = {
            let mut n = self.recordings.lock().unwrap_or_else(|e| e.into_inner());
            *n += 1;
            *n
        };
        let ms = i64::try_from(recording.duration.as_millis()).unwrap_or(i64::MAX);
        let (_, object) = calls::save_recording(self.p, self.call, n, recording.wav.clone(), ms)
            .await
            .map_err(engine_error)?;
        Ok(format!(
            "{}/v1/objects/{}/url",
            self.p.public_url.trim_end_matches('/'),
            object.id
        ))
    }

    async fn route(&self, number: &str, from: &str) -> Result<Vec<TrunkTarget>, VoiceError> {
        let to = if number.starts_with('+') {
            number.to_owned()
        } else {
            format!("+{number}")
        };
        let routing = trunks::route(self.p, &self.call.tenant_id, from, &to)
            .await
            .map_err(engine_error)?;
        let Routing::Trunks(route) = routing else {
            return Err(VoiceError::NoRoute);
        };
        route
            .iter()
            .map(|(t, _)| trunks::target(self.p, t).map_err(engine_error))
            .collect()
    }
}

/// Runs the call's documents until the call ends; `Err` is the reason the tenant reads in `call.failed`.
pub(crate) async fn run(
    p: &Platform,
    rt: &VoiceRuntime,
    call: &Call,
    leg: &CallRef,
    answered: bool,
    redirects: &mut mpsc::UnboundedReceiver<(Option<String>, Option<String>)>,
) -> Result<(), String> {
    let env = Env {
        p,
        rt,
        call,
        recordings: Mutex::new(0),
    };
    let mut ctx = CallContext {
        engine: rt.engine.as_ref(),
        env: &env,
        call: leg,
        tenant: call.tenant_id.as_str(),
        caller_id: &call.from,
        answered,
    };
    let mut url = call.url.clone();
    let mut inline = call.document.clone();
    let mut params = Vec::new();
    for _ in 0..MAX_DOCUMENTS {
        if let Ok((to, doc)) = redirects.try_recv() {
            (url, inline, params) = (to.or(url), doc, Vec::new());
        }
        let xml = match inline.take() {
            Some(doc) => doc,
            None => {
                let at = url.as_deref().ok_or("an action without a URL in an inline document")?;
                fetch(p, rt, call, at, &params).await?
            }
        };
        let verbs = control::parse(&xml).map_err(|e| format!("the document is refused: {e}"))?;
        own_agents_only(p, call, &verbs).await?;
        let outcome = tokio::select! {
            done = control::run(&mut ctx, &verbs) => done,
            Some((to, doc)) = redirects.recv() => {
                (url, inline, params) = (to.or(url), doc, Vec::new());
                continue;
            }
        };
        match outcome {
            Ok(Next::Ended) => return Ok(()),
            Ok(Next::Fetch {
                url: next,
                params: given,
            }) => {
                if let Some(next) = next {
                    url = Some(resolve(url.as_deref(), &next)?);
                }
                params = given;
            }
            Err(e) => return Err(format!("the document could not run: {e}")),
        }
    }
    Err(format!("more than {MAX_DOCUMENTS} documents in one call"))
}

/// Refuses a document that dials an agent of another tenant (agent names are unique on the platform, so a
/// name alone would otherwise reach anyone's softphone).
async fn own_agents_only(p: &Platform, call: &Call, verbs: &[Verb]) -> Result<(), String> {
    for verb in verbs {
        let Verb::Dial {
            target: DialTarget::Agent(user),
            ..
        } = verb
        else {
            continue;
        };
        let agent = p
            .calls
            .agent_by_username(user)
            .await
            .map_err(|e| format!("the agent {user} could not be looked up: {e}"))?;
        if agent.is_none_or(|a| a.tenant_id != call.tenant_id) {
            return Err(format!("<Client>{user}</Client> is not one of your agents"));
        }
    }
    Ok(())
}

/// An action's URL: absolute, or a path on the current document's host.
fn resolve(current: Option<&str>, next: &str) -> Result<String, String> {
    if next.starts_with("http://") || next.starts_with("https://") {
        return Ok(next.to_owned());
    }
    let base = current.ok_or_else(|| format!("a relative action `{next}` in an inline document"))?;
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    if next.starts_with('/') {
        Ok(format!("{}{next}", &base[..host_end]))
    } else {
        Err(format!("the action `{next}` is neither an absolute URL nor a path"))
    }
}

/// POSTs the signed request for a document and returns the document.
async fn fetch(
    p: &Platform,
    rt: &VoiceRuntime,
    call: &Call,
    url: &str,
    params: &[(String, String)],
) -> Result<String, String> {
    let target = WebhookUrl::parse(url).map_err(|why| format!("the document URL is refused: {why}"))?;
    let mut body = Map::new();
    let direction = if call.direction.as_str() == "inbound" {
        "inbound"
    } else {
        "outbound-api"
    };
    for (k, v) in [
        ("CallSid", call.id.as_str()),
        ("AccountSid", call.tenant_id.as_str()),
        ("From", call.from.as_str()),
        ("To", call.to.as_str()),
        ("CallStatus", "in-progress"),
        ("Direction", direction),
    ] {
        body.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    for (k, v) in params {
        body.insert(k.clone(), Value::String(v.clone()));
    }
    let secret = webhooks::callback_secret(p, &call.tenant_id)
        .await
        .map_err(|e| format!("the request could not be signed: {e}"))?;
    let request = WebhookRequest {
        url: target,
        webhook_id: EventId::new().to_string(),
        timestamp: OffsetDateTime::now_utc().unix_timestamp(),
        body: Bytes::from(Value::Object(body).to_string()),
        secrets: vec![secret],
        headers: Vec::new(),
        timeout: FETCH_TIMEOUT,
    };
    let attempt = rt.documents.send(&request).await;
    match (attempt.outcome, attempt.response_body) {
        (WebhookOutcome::Delivered, Some(doc)) => Ok(doc),
        _ => Err(match (attempt.status, attempt.error) {
            (Some(status), _) => format!("the document URL {url} answered {status}"),
            (None, Some(error)) => format!("the document URL {url} could not be reached: {error}"),
            (None, None) => format!("the document URL {url} gave no document"),
        }),
    }
}
