//! Turning messaging rows into domain values, and the few encodings the messaging SQL shares (enum wire
//! names, string lists, the delimited tag text), written once for both backends.

use irisx_core::ports::messaging::UsageTotal;
use irisx_core::sms::model::{Attempt, Event, Message, OptOut, PhoneNumber, ProviderAccount, Route, StatusChange};
use irisx_core::sms::provider::StatusUpdate;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::rows::{Cols, parse};

/// The delimiter of `messages.tags_search`: a control character no tag is expected to hold.
const TAG_SEP: char = '\u{1f}';

/// The wire name of a serde enum (`DeliveryStatus`, `ProviderKind`, `Encoding`).
pub(crate) fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        other => panic!("a unit enum serializes to a string, got {other:?}"),
    }
}

/// A serde enum from its stored wire name.
pub(crate) fn unwire<T: DeserializeOwned>(what: &'static str, text: &str) -> sqlx::Result<T> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|e| sqlx::Error::Decode(format!("stored {what} `{text}` is invalid: {e}").into()))
}

/// The JSON array stored for a list of strings.
pub(crate) fn list_json(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

fn list(r: &impl Cols, col: &str) -> sqlx::Result<Vec<String>> {
    serde_json::from_value(r.json(col)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The tags as delimited text (`\x1fa\x1fb\x1f`), so that "carries tag t" is a `LIKE` both dialects share.
pub(crate) fn tags_search(tags: &[String]) -> String {
    let mut out = String::from(TAG_SEP);
    for t in tags {
        out.extend(t.chars().filter(|c| *c != TAG_SEP));
        out.push(TAG_SEP);
    }
    out
}

/// The `LIKE` pattern matching messages that carry `tag`.
pub(crate) fn tag_pattern(tag: &str) -> String {
    let tag: String = tag.chars().filter(|c| *c != TAG_SEP).collect();
    format!("%{TAG_SEP}{}{TAG_SEP}%", crate::rows::like_escape(&tag))
}

fn opt_parse<T: std::str::FromStr>(what: &'static str, v: Option<String>) -> sqlx::Result<Option<T>>
where
    T::Err: std::fmt::Debug,
{
    v.map(|s| parse(what, &s)).transpose()
}

fn u32_of(v: i64) -> sqlx::Result<u32> {
    u32::try_from(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// A provider account from columns prefixed `p`.
pub(crate) fn account(r: &impl Cols, p: &str) -> sqlx::Result<ProviderAccount> {
    let c = |n: &str| format!("{p}{n}");
    Ok(ProviderAccount {
        id: parse("provider account id", &r.text(&c("id"))?)?,
        tenant_id: opt_parse("tenant id", r.opt_text(&c("tenant_id"))?)?,
        kind: unwire("provider kind", &r.text(&c("kind"))?)?,
        channel: parse("channel", &r.text(&c("channel"))?)?,
        name: r.text(&c("name"))?,
        sealed_credentials: r.text(&c("sealed_credentials"))?,
        base_url: r.opt_text(&c("base_url"))?,
        enabled: r.flag(&c("enabled"))?,
        created_at: r.time(&c("created_at"))?,
    })
}

/// A route from columns prefixed `p`.
pub(crate) fn route(r: &impl Cols, p: &str) -> sqlx::Result<Route> {
    let c = |n: &str| format!("{p}{n}");
    Ok(Route {
        id: parse("route id", &r.text(&c("id"))?)?,
        tenant_id: opt_parse("tenant id", r.opt_text(&c("tenant_id"))?)?,
        prefix: r.text(&c("prefix"))?,
        account_id: parse("provider account id", &r.text(&c("account_id"))?)?,
        cost_micros: r.int(&c("cost_micros"))?,
        currency: r.text(&c("currency"))?,
        priority: i32::try_from(r.int(&c("priority"))?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        enabled: r.flag(&c("enabled"))?,
        created_at: r.time(&c("created_at"))?,
    })
}

/// A phone number.
pub(crate) fn phone_number(r: &impl Cols) -> sqlx::Result<PhoneNumber> {
    Ok(PhoneNumber {
        id: parse("phone number id", &r.text("id")?)?,
        tenant_id: opt_parse("tenant id", r.opt_text("tenant_id")?)?,
        number: r.text("number")?,
        account_id: opt_parse("provider account id", r.opt_text("account_id")?)?,
        sender_type: parse("sender type", &r.text("sender_type")?)?,
        capabilities: list(r, "capabilities")?,
        help_text: r.opt_text("help_text")?,
        pool: r.opt_text("pool")?,
        voice_url: r.opt_text("voice_url")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// A message.
pub(crate) fn message(r: &impl Cols) -> sqlx::Result<Message> {
    Ok(Message {
        id: parse("message id", &r.text("id")?)?,
        tenant_id: parse("tenant id", &r.text("tenant_id")?)?,
        channel: parse("channel", &r.text("channel")?)?,
        direction: parse("direction", &r.text("direction")?)?,
        from: r.text("from_addr")?,
        to: r.text("to_addr")?,
        body: r.text("body")?,
        media_urls: list(r, "media_urls")?,
        segments: u32_of(r.int("segments")?)?,
        encoding: r.opt_text("encoding")?.map(|s| unwire("encoding", &s)).transpose()?,
        status: unwire("status", &r.text("status")?)?,
        status_callback: r.opt_text("status_callback")?,
        validity_period: r.opt_int("validity_period")?.map(u32_of).transpose()?,
        send_at: r.opt_time("send_at")?,
        tags: list(r, "tags")?,
        metadata: r.json("metadata")?,
        account_id: opt_parse("provider account id", r.opt_text("account_id")?)?,
        provider_message_id: r.opt_text("provider_message_id")?,
        error_code: r.opt_text("error_code")?,
        error_message: r.opt_text("error_message")?,
        price_micros: r.opt_int("price_micros")?,
        currency: r.opt_text("currency")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// A send attempt.
pub(crate) fn attempt(r: &impl Cols) -> sqlx::Result<Attempt> {
    Ok(Attempt {
        id: parse("attempt id", &r.text("id")?)?,
        message_id: parse("message id", &r.text("message_id")?)?,
        tenant_id: parse("tenant id", &r.text("tenant_id")?)?,
        account_id: parse("provider account id", &r.text("account_id")?)?,
        provider: unwire("provider kind", &r.text("provider")?)?,
        started_at: r.time("started_at")?,
        latency_ms: r.int("latency_ms")?,
        outcome: parse("attempt outcome", &r.text("outcome")?)?,
        code: r.opt_text("code")?,
        detail: r.opt_text("detail")?,
    })
}

/// A status history entry.
pub(crate) fn status_change(r: &impl Cols) -> sqlx::Result<StatusChange> {
    Ok(StatusChange {
        id: parse("status change id", &r.text("id")?)?,
        message_id: parse("message id", &r.text("message_id")?)?,
        tenant_id: parse("tenant id", &r.text("tenant_id")?)?,
        status: unwire("status", &r.text("status")?)?,
        provider_status: r.opt_text("provider_status")?,
        error_code: r.opt_text("error_code")?,
        applied: r.flag("applied")?,
        raw: r.json("raw")?,
        occurred_at: r.time("occurred_at")?,
    })
}

/// A parked receipt.
pub(crate) fn parked_receipt(r: &impl Cols) -> sqlx::Result<StatusUpdate> {
    Ok(StatusUpdate {
        provider_message_id: r.text("provider_message_id")?,
        status: unwire("status", &r.text("status")?)?,
        provider_status: r.text("provider_status")?,
        error_code: r.opt_text("error_code")?,
        occurred_at: r.opt_time("occurred_at")?,
        raw: r.json("raw")?,
    })
}

/// An opt-out.
pub(crate) fn opt_out(r: &impl Cols) -> sqlx::Result<OptOut> {
    Ok(OptOut {
        tenant_id: parse("tenant id", &r.text("tenant_id")?)?,
        number: r.text("number")?,
        source: r.text("source")?,
        created_at: r.time("created_at")?,
    })
}

/// A usage total row.
pub(crate) fn usage_total(r: &impl Cols) -> sqlx::Result<UsageTotal> {
    Ok(UsageTotal {
        channel: parse("channel", &r.text("channel")?)?,
        quantity: r.int("quantity")?,
        unit: r.text("unit")?,
        price_micros: r.int("price_micros")?,
        currency: r.text("currency")?,
        records: r.int("records")?,
    })
}

/// An event.
pub(crate) fn event(r: &impl Cols) -> sqlx::Result<Event> {
    Ok(Event {
        id: parse("event id", &r.text("id")?)?,
        tenant_id: parse("tenant id", &r.text("tenant_id")?)?,
        event_type: r.text("event_type")?,
        resource_id: r.text("resource_id")?,
        data: r.json("data")?,
        occurred_at: r.time("occurred_at")?,
        callback_url: None,
    })
}
