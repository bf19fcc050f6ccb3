//! [`HttpWebhookSender`]: one pooled HTTP client whose every connection goes through the SSRF-guarded
//! resolver, never follows a redirect and never uses a proxy.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use irisx_core::ports::webhooks::{UrlRefused, WebhookAttempt, WebhookOutcome, WebhookRequest, WebhookSender};
use irisx_core::webhook::WebhookUrl;
use reqwest::header::HeaderValue;
use reqwest::{Client, Response, Url, redirect};
use tokio::time::Instant;
use url::Host;

use crate::config::SenderConfig;
use crate::policy::AddressPolicy;
use crate::resolver::{GuardedResolver, lookup, refusal_message, split};
use crate::{WebhookError, headers, outcome};

/// The deadline used when `now + timeout` would overflow.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

/// Sends webhooks over HTTP under the SSRF rules. Cheap to share: hold one per process.
#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    client: Client,
    policy: Arc<AddressPolicy>,
    user_agent: HeaderValue,
    max_timeout: Duration,
    body_limit: usize,
}

impl HttpWebhookSender {
    /// Builds the sender; fails on an allowlist entry that is neither a CIDR block, an address nor a host
    /// name, on a user agent that cannot be a header, or when the TLS client cannot be set up.
    pub fn new(config: SenderConfig) -> Result<Self, WebhookError> {
        let policy = Arc::new(AddressPolicy::parse(&config.allowlist)?);
        let user_agent = HeaderValue::from_str(&config.user_agent).map_err(WebhookError::UserAgent)?;
        let client = Client::builder()
            .dns_resolver(GuardedResolver::new(Arc::clone(&policy)))
            .no_proxy()
            .redirect(redirect::Policy::none())
            .connect_timeout(config.max_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(WebhookError::Client)?;
        Ok(Self {
            client,
            policy,
            user_agent,
            max_timeout: config.max_timeout,
            body_limit: config.response_body_limit,
        })
    }

    /// The URL to call; an IP literal is checked here because the client connects to it without resolving.
    fn target(&self, url: &WebhookUrl) -> Result<Url, WebhookError> {
        let parsed = Url::parse(url.as_str()).map_err(|e| WebhookError::Refused(format!("not a valid URL: {e}")))?;
        if let Some(ip) = literal(&parsed) {
            self.check_ip(ip)?;
        }
        Ok(parsed)
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), WebhookError> {
        match self.policy.refusal(ip) {
            None => Ok(()),
            Some(class) => Err(WebhookError::Refused(format!("{ip} is {class}"))),
        }
    }

    /// Registration: every address the name resolves to now must be allowed.
    async fn check_name(&self, host: &str) -> Result<(), WebhookError> {
        if self.policy.allows_host(host) {
            return Ok(());
        }
        let (_, refused) = split(&self.policy, lookup(host).await?);
        if refused.is_empty() {
            Ok(())
        } else {
            Err(WebhookError::Refused(refusal_message(host, &refused)))
        }
    }

    /// GETs `url` under the SSRF rules: the whole body of a 2xx answer of at most `limit` bytes.
    pub(crate) async fn fetch(&self, url: &WebhookUrl, limit: usize) -> Result<bytes::Bytes, String> {
        let target = self.target(url).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + self.max_timeout;
        let call = self
            .client
            .get(target)
            .header(reqwest::header::USER_AGENT, self.user_agent.clone())
            .send();
        let mut response = match tokio::time::timeout_at(deadline, call).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(describe(&e.without_url())),
            Err(_) => return Err("no answer in time".into()),
        };
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status().as_u16()));
        }
        let mut body = Vec::new();
        match tokio::time::timeout_at(deadline, read_capped(&mut response, limit + 1, &mut body)).await {
            Ok(Ok(())) if body.len() <= limit => Ok(body.into()),
            Ok(Ok(())) => Err(format!("larger than {limit} bytes")),
            Ok(Err(e)) => Err(format!("reading the answer: {}", error_chain(&e.without_url()))),
            Err(_) => Err("the answer was cut off at the timeout".into()),
        }
    }

    /// Reads the status, the outcome and the start of the body of an answer, within the deadline.
    async fn answered(&self, mut response: Response, deadline: Instant, attempt: Attempt) -> WebhookAttempt {
        let status = response.status();
        let outcome = outcome::classify(status, response.headers(), SystemTime::now());
        let mut body = Vec::new();
        let error =
            match tokio::time::timeout_at(deadline, read_capped(&mut response, self.body_limit, &mut body)).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("reading the answer: {}", error_chain(&e.without_url()))),
                Err(_) => Some("the answer's body was cut off at the timeout".to_owned()),
            };
        WebhookAttempt {
            outcome,
            status: Some(status.as_u16()),
            latency: attempt.started.elapsed(),
            request_headers: attempt.headers,
            response_body: Some(String::from_utf8_lossy(&body).into_owned()),
            error,
        }
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn check_url(&self, url: &WebhookUrl) -> Result<(), UrlRefused> {
        let parsed = self.target(url).map_err(|e| UrlRefused(e.to_string()))?;
        match parsed.host() {
            Some(Host::Domain(name)) => self.check_name(name).await.map_err(|e| UrlRefused(e.to_string())),
            Some(_) => Ok(()),
            None => Err(UrlRefused("the URL names no host".into())),
        }
    }

    #[tracing::instrument(skip_all, fields(webhook_id = %request.webhook_id))]
    async fn send(&self, request: &WebhookRequest) -> WebhookAttempt {
        let started = Instant::now();
        let prepared = match headers::prepare(request, &self.user_agent) {
            Ok(prepared) => prepared,
            Err(error) => return Attempt::new(started, Vec::new()).failed(error),
        };
        let attempt = Attempt::new(started, prepared.recorded);
        let url = match self.target(&request.url) {
            Ok(url) => url,
            Err(refused) => return attempt.failed(refused.to_string()),
        };
        let timeout = request.timeout.min(self.max_timeout);
        // A configured cap of centuries must not overflow the clock.
        let deadline = started.checked_add(timeout).unwrap_or(started + FAR_FUTURE);
        let call = self
            .client
            .post(url)
            .headers(prepared.headers)
            .body(request.body.clone())
            .send();
        match tokio::time::timeout_at(deadline, call).await {
            Ok(Ok(response)) => self.answered(response, deadline, attempt).await,
            Ok(Err(e)) => attempt.failed(describe(&e.without_url())),
            Err(_) => attempt.failed(format!("no answer within {} ms", timeout.as_millis())),
        }
    }
}

/// What an attempt knows before any answer.
struct Attempt {
    started: Instant,
    headers: Vec<(String, String)>,
}

impl Attempt {
    fn new(started: Instant, headers: Vec<(String, String)>) -> Self {
        Self { started, headers }
    }

    /// An attempt that got no answer.
    fn failed(self, error: String) -> WebhookAttempt {
        tracing::debug!(error, "webhook attempt failed without an answer");
        WebhookAttempt {
            outcome: WebhookOutcome::Failed { retry_after: None },
            status: None,
            latency: self.started.elapsed(),
            request_headers: self.headers,
            response_body: None,
            error: Some(error),
        }
    }
}

/// The host of a URL when it is an IP literal.
fn literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(ip.into()),
        Host::Ipv6(ip) => Some(ip.into()),
        Host::Domain(_) => None,
    }
}

/// Reads at most `limit` bytes of the body into `into`; the rest is never read.
async fn read_capped(response: &mut Response, limit: usize, into: &mut Vec<u8>) -> Result<(), reqwest::Error> {
    while into.len() < limit {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        let room = limit - into.len();
        into.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(())
}

/// Why a request got no answer: our own refusal when the resolver refused every address, else the chain.
fn describe(error: &reqwest::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(ours) = current.downcast_ref::<WebhookError>() {
            return ours.to_string();
        }
        cause = current.source();
    }
    error_chain(error)
}

/// An error and its causes, `outer: inner: innermost`, skipping causes the outer text already shows.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
