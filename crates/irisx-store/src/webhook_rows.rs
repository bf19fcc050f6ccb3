//! Turning webhook rows into domain values, for both backends.

use irisx_core::webhook::WebhookUrl;
use irisx_core::webhook::model::{EventPattern, WebhookAttemptLog, WebhookDelivery, WebhookEndpoint};
use serde_json::Value;

use crate::rows::{Cols, parse};

fn decode(what: &'static str) -> impl Fn(String) -> sqlx::Error {
    move |e| sqlx::Error::Decode(format!("stored {what} is invalid: {e}").into())
}

/// An endpoint (columns of `webhook_endpoints`).
pub(crate) fn endpoint(r: &impl Cols) -> sqlx::Result<WebhookEndpoint> {
    let patterns = match r.json("event_types")? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| EventPattern::parse(v.as_str().unwrap_or_default()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(decode("event type pattern"))?,
        other => return Err(decode("event types")(other.to_string())),
    };
    let previous = match (
        r.opt_text("previous_sealed_secret")?,
        r.opt_time("previous_secret_until")?,
    ) {
        (Some(secret), Some(until)) => Some((secret, until)),
        _ => None,
    };
    Ok(WebhookEndpoint {
        id: parse("endpoint id", &r.text("id")?)?,
        tenant_id: parse("tenant id", &r.text("tenant_id")?)?,
        url: WebhookUrl::parse(&r.text("url")?).map_err(decode("endpoint url"))?,
        description: r.opt_text("description")?,
        event_types: patterns,
        enabled: r.flag("enabled")?,
        sealed_headers: r.opt_text("sealed_headers")?,
        rate_limit_per_second: r
            .opt_int("rate_limit_per_second")?
            .map(|n| n.clamp(0, u32::MAX as i64) as u32),
        sealed_secret: r.text("sealed_secret")?,
        previous_secret: previous,
        disabled_reason: r.opt_text("disabled_reason")?,
        failing_since: r.opt_time("failing_since")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// A delivery (columns of `webhook_deliveries`).
pub(crate) fn delivery(r: &impl Cols) -> sqlx::Result<WebhookDelivery> {
    Ok(WebhookDelivery {
        id: parse("delivery id", &r.text("id")?)?,
        tenant_id: parse("tenant id", &r.text("tenant_id")?)?,
        endpoint_id: r
            .opt_text("endpoint_id")?
            .map(|t| parse("endpoint id", &t))
            .transpose()?,
        url: r.opt_text("url")?,
        event_id: parse("event id", &r.text("event_id")?)?,
        state: parse("delivery state", &r.text("state")?)?,
        attempts: u32::try_from(r.int("attempts")?).unwrap_or(0),
        created_at: r.time("created_at")?,
    })
}

/// An attempt (columns of `webhook_attempts`).
pub(crate) fn attempt(r: &impl Cols) -> sqlx::Result<WebhookAttemptLog> {
    Ok(WebhookAttemptLog {
        id: parse("attempt id", &r.text("id")?)?,
        tenant_id: parse("tenant id", &r.text("tenant_id")?)?,
        delivery_id: parse("delivery id", &r.text("delivery_id")?)?,
        endpoint_id: r
            .opt_text("endpoint_id")?
            .map(|t| parse("endpoint id", &t))
            .transpose()?,
        event_id: parse("event id", &r.text("event_id")?)?,
        attempt: u32::try_from(r.int("attempt")?).unwrap_or(0),
        url: r.text("url")?,
        started_at: r.time("started_at")?,
        status_code: r.opt_int("status_code")?.and_then(|c| u16::try_from(c).ok()),
        latency_ms: r.int("latency_ms")?,
        result: parse("attempt result", &r.text("result")?)?,
        request_headers: r.json("request_headers")?,
        response_body: r.opt_text("response_body")?,
        error: r.opt_text("error")?,
    })
}
