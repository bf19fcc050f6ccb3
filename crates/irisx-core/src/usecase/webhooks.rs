//! Webhook endpoints and their operations: register (checked against the SSRF rules), change, rotate the
//! secret (the old one keeps signing for 24 h), list attempts, retry one event, replay failures, send a test
//! event; and the secret that signs status callbacks.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Platform;
use super::principal::{Need, TenantPrincipal};
use crate::domain::{Role, Scope};
use crate::error::{CoreError, FieldError};
use crate::id::{EventId, WebhookEndpointId};
use crate::page::{Page, PageRequest};
use crate::sms::model::Event;
use crate::webhook::model::{EventPattern, WebhookAttemptLog, WebhookEndpoint};
use crate::webhook::{WebhookSecret, WebhookUrl};

/// Managing webhooks needs an admin user or the `webhooks:manage` scope.
pub const MANAGE: Need = Need {
    role: Role::Admin,
    scope: Some(Scope::WebhooksManage),
};

/// How long the secret before a rotation keeps signing.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);
/// Custom headers an endpoint may carry at most.
const MAX_HEADERS: usize = 20;

/// Delivery rules that configuration may change.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// When failed attempts are tried again.
    pub schedule: crate::webhook::RetrySchedule,
    /// How long an attempt waits for the answer.
    pub timeout: Duration,
    /// An endpoint failing this long without a success is disabled.
    pub disable_after: Duration,
    /// Attempts in flight to one endpoint at most.
    pub per_endpoint_concurrency: u32,
    /// How long events (and their deliveries) are kept.
    pub event_retention: Duration,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            schedule: crate::webhook::RetrySchedule::default(),
            timeout: Duration::from_secs(10),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            per_endpoint_concurrency: 4,
            event_retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// An endpoint as the tenant sees it: custom header values are never shown again.
#[derive(Debug, Clone)]
pub struct EndpointView {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Custom header names.
    pub header_names: Vec<String>,
}

/// A new endpoint, or the fields a change sets (`None` keeps the current value).
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    /// Where events are posted.
    pub url: Option<String>,
    /// A note.
    pub description: Option<Option<String>>,
    /// Event type patterns (`*` by default).
    pub event_types: Option<Vec<String>>,
    /// Whether it receives events (true by default). Enabling clears an automatic disable.
    pub enabled: Option<bool>,
    /// Custom headers, replacing the current ones.
    pub headers: Option<Vec<(String, String)>>,
    /// Deliveries per second at most (`Some(None)` removes the limit).
    pub rate_limit_per_second: Option<Option<u32>>,
}

fn context(p: &TenantPrincipal) -> String {
    p.tenant_id().to_string()
}

fn check_headers(headers: &[(String, String)]) -> Result<(), FieldError> {
    if headers.len() > MAX_HEADERS {
        return Err(FieldError::new(
            "headers",
            "too_many",
            format!("at most {MAX_HEADERS} headers"),
        ));
    }
    for (name, value) in headers {
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let reserved = name.to_ascii_lowercase().starts_with("webhook-")
            || ["content-type", "content-length", "host", "user-agent"].contains(&name.to_ascii_lowercase().as_str());
        if !token || reserved || value.len() > 1024 || value.chars().any(char::is_control) {
            return Err(FieldError::new(
                "headers",
                "invalid_header",
                format!("`{name}` is not a header IRISX can send (reserved, malformed, or a value over 1 KiB)"),
            ));
        }
    }
    Ok(())
}

/// Parses and applies `input` to `w`, checking the URL against the SSRF rules when it changes.
async fn apply(
    p: &Platform,
    by: &TenantPrincipal,
    w: &mut WebhookEndpoint,
    input: EndpointInput,
) -> Result<(), CoreError> {
    let mut errors = Vec::new();
    if let Some(url) = &input.url {
        match WebhookUrl::parse(url) {
            Ok(url) => match p.webhook_sender.check_url(&url).await {
                Ok(()) => w.url = url,
                Err(refused) => errors.push(FieldError::new("url", "url_refused", refused.0)),
            },
            Err(why) => errors.push(FieldError::new("url", "invalid_url", why)),
        }
    }
    if let Some(description) = input.description {
        match description.as_deref().map(str::trim) {
            Some(d) if d.chars().count() > 500 => {
                errors.push(FieldError::new("description", "too_long", "at most 500 characters"))
            }
            d => w.description = d.filter(|d| !d.is_empty()).map(str::to_owned),
        }
    }
    if let Some(types) = input.event_types {
        match types
            .iter()
            .map(|t| EventPattern::parse(t))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(patterns) if !patterns.is_empty() && patterns.len() <= 50 => w.event_types = patterns,
            Ok(_) => errors.push(FieldError::new(
                "event_types",
                "invalid_event_types",
                "give 1 to 50 patterns",
            )),
            Err(why) => errors.push(FieldError::new("event_types", "invalid_event_types", why)),
        }
    }
    if let Some(enabled) = input.enabled {
        w.enabled = enabled;
        if enabled {
            w.disabled_reason = None;
            w.failing_since = None;
        }
    }
    if let Some(headers) = input.headers {
        match check_headers(&headers) {
            Ok(()) if headers.is_empty() => w.sealed_headers = None,
            Ok(()) => {
                let object: serde_json::Map<String, Value> =
                    headers.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
                w.sealed_headers = Some(
                    p.secrets
                        .seal(Value::Object(object).to_string().as_bytes(), &context(by)),
                );
            }
            Err(e) => errors.push(e),
        }
    }
    if let Some(limit) = input.rate_limit_per_second {
        match limit {
            Some(0) => errors.push(FieldError::new(
                "rate_limit_per_second",
                "invalid",
                "must be at least 1",
            )),
            limit => w.rate_limit_per_second = limit,
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CoreError::Validation(errors))
    }
}

/// The custom headers of an endpoint, opened.
pub fn open_headers(p: &Platform, w: &WebhookEndpoint) -> Result<Vec<(String, String)>, CoreError> {
    let Some(sealed) = &w.sealed_headers else {
        return Ok(Vec::new());
    };
    let text = p
        .secrets
        .open(sealed, w.tenant_id.as_str())
        .map_err(|e| CoreError::internal(format!("endpoint headers do not open: {e}")))?;
    let object: serde_json::Map<String, Value> =
        serde_json::from_slice(&text).map_err(|e| CoreError::internal(e.to_string()))?;
    Ok(object
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
        .collect())
}

fn view(p: &Platform, endpoint: WebhookEndpoint) -> Result<EndpointView, CoreError> {
    let header_names = open_headers(p, &endpoint)?.into_iter().map(|(k, _)| k).collect();
    Ok(EndpointView { endpoint, header_names })
}

/// Registers an endpoint; returns it with its secret, shown this once.
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id()))]
pub async fn create(
    p: &Platform,
    by: &TenantPrincipal,
    input: EndpointInput,
) -> Result<(EndpointView, String), CoreError> {
    by.authorize(MANAGE)?;
    if input.url.is_none() {
        return Err(CoreError::field("url", "required", "the endpoint's URL is required"));
    }
    let secret = WebhookSecret::generate();
    let now = OffsetDateTime::now_utc();
    let mut w = WebhookEndpoint {
        id: WebhookEndpointId::new(),
        tenant_id: by.tenant_id().clone(),
        url: WebhookUrl::parse("https://placeholder.invalid/").expect("a valid URL"),
        description: None,
        event_types: vec![EventPattern::all()],
        enabled: true,
        sealed_headers: None,
        rate_limit_per_second: None,
        sealed_secret: p.secrets.seal(secret.expose().as_bytes(), &context(by)),
        previous_secret: None,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    apply(p, by, &mut w, input).await?;
    p.messaging.create_webhook_endpoint(&w).await?;
    Ok((view(p, w)?, secret.expose().to_owned()))
}

/// A tenant's endpoint.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &WebhookEndpointId) -> Result<EndpointView, CoreError> {
    by.authorize(MANAGE)?;
    view(p, p.messaging.get_webhook_endpoint(by.tenant_id(), id).await?)
}

/// A tenant's endpoints, newest first.
pub async fn list(p: &Platform, by: &TenantPrincipal, page: &PageRequest) -> Result<Page<EndpointView>, CoreError> {
    by.authorize(MANAGE)?;
    let page = p.messaging.list_webhook_endpoints(by.tenant_id(), page).await?;
    let items = page
        .items
        .into_iter()
        .map(|w| view(p, w))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// Changes an endpoint.
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id(), endpoint_id = %id))]
pub async fn update(
    p: &Platform,
    by: &TenantPrincipal,
    id: &WebhookEndpointId,
    input: EndpointInput,
) -> Result<EndpointView, CoreError> {
    by.authorize(MANAGE)?;
    let mut w = p.messaging.get_webhook_endpoint(by.tenant_id(), id).await?;
    apply(p, by, &mut w, input).await?;
    w.updated_at = OffsetDateTime::now_utc();
    p.messaging.update_webhook_endpoint(&w).await?;
    view(p, w)
}

/// Deletes an endpoint.
pub async fn delete(p: &Platform, by: &TenantPrincipal, id: &WebhookEndpointId) -> Result<(), CoreError> {
    by.authorize(MANAGE)?;
    Ok(p.messaging.delete_webhook_endpoint(by.tenant_id(), id).await?)
}

/// Gives an endpoint a new secret; the old one signs too for [`ROTATION_OVERLAP`]. Returns the new secret.
pub async fn rotate_secret(p: &Platform, by: &TenantPrincipal, id: &WebhookEndpointId) -> Result<String, CoreError> {
    by.authorize(MANAGE)?;
    let mut w = p.messaging.get_webhook_endpoint(by.tenant_id(), id).await?;
    let secret = WebhookSecret::generate();
    let now = OffsetDateTime::now_utc();
    w.previous_secret = Some((w.sealed_secret.clone(), now + ROTATION_OVERLAP));
    w.sealed_secret = p.secrets.seal(secret.expose().as_bytes(), &context(by));
    w.updated_at = now;
    p.messaging.update_webhook_endpoint(&w).await?;
    Ok(secret.expose().to_owned())
}

/// An endpoint's attempts, newest first.
pub async fn attempts(
    p: &Platform,
    by: &TenantPrincipal,
    id: &WebhookEndpointId,
    page: &PageRequest,
) -> Result<Page<WebhookAttemptLog>, CoreError> {
    by.authorize(MANAGE)?;
    Ok(p.messaging.list_webhook_attempts(by.tenant_id(), id, page).await?)
}

/// Delivers one event to the endpoint again (even one it never had).
pub async fn retry(
    p: &Platform,
    by: &TenantPrincipal,
    id: &WebhookEndpointId,
    event: &EventId,
) -> Result<u64, CoreError> {
    by.authorize(MANAGE)?;
    let n = p.messaging.redeliver(by.tenant_id(), id, Some(event), None).await?;
    p.outbox_wake.notify_one();
    Ok(n)
}

/// Delivers again every failed delivery to the endpoint created since `since`; returns how many.
pub async fn replay(
    p: &Platform,
    by: &TenantPrincipal,
    id: &WebhookEndpointId,
    since: OffsetDateTime,
) -> Result<u64, CoreError> {
    by.authorize(MANAGE)?;
    let n = p.messaging.redeliver(by.tenant_id(), id, None, Some(since)).await?;
    p.outbox_wake.notify_one();
    Ok(n)
}

/// Sends a `webhook.test` event to this endpoint only; returns the event.
pub async fn send_test(p: &Platform, by: &TenantPrincipal, id: &WebhookEndpointId) -> Result<Event, CoreError> {
    by.authorize(MANAGE)?;
    let w = p.messaging.get_webhook_endpoint(by.tenant_id(), id).await?;
    let event = Event::now(
        by.tenant_id(),
        "webhook.test",
        w.id.as_str(),
        json!({"endpoint_id": w.id, "message": "This is a test event from IRISX."}),
    );
    p.messaging.create_test_delivery(&w, &event).await?;
    p.outbox_wake.notify_one();
    Ok(event)
}

/// The secret that signs this tenant's status callbacks (made on first use).
pub async fn callback_secret(p: &Platform, tenant: &crate::id::TenantId) -> Result<WebhookSecret, CoreError> {
    let candidate = p
        .secrets
        .seal(WebhookSecret::generate().expose().as_bytes(), tenant.as_str());
    let sealed = p.messaging.callback_secret(tenant, &candidate).await?;
    let text = p
        .secrets
        .open(&sealed, tenant.as_str())
        .map_err(|e| CoreError::internal(format!("the callback secret does not open: {e}")))?;
    WebhookSecret::parse(&String::from_utf8_lossy(&text)).map_err(CoreError::internal)
}

/// The status-callback secret, for the tenant to verify its callbacks.
pub async fn show_callback_secret(p: &Platform, by: &TenantPrincipal) -> Result<String, CoreError> {
    by.authorize(MANAGE)?;
    Ok(callback_secret(p, by.tenant_id()).await?.expose().to_owned())
}
