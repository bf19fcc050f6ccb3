//! Sending SMS: validation, the opt-out and number checks, and one transaction that stores the message, its
//! `message.queued` event and its send task. No provider is called here: the worker sends.

use serde_json::{Value, json};
use sha2::Digest;
use time::OffsetDateTime;

use super::Platform;
use super::principal::{Need, TenantPrincipal};
use crate::domain::{Role, Scope};
use crate::error::{CoreError, FieldError};
use crate::id::{MessageId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::messaging::{MessageFilter, UsageTotal};
use crate::sms::model::{Attempt, Channel, Direction, Event, Message, OptOut, StatusChange};
use crate::sms::{DeliveryStatus, E164, segments};
use crate::task::{NewTask, SendSmsV1, Task};
use crate::validate::Checks;

/// Sending needs a user or the `sms:send` scope.
pub const SEND: Need = Need {
    role: Role::User,
    scope: Some(Scope::SmsSend),
};
/// Reading needs a user or the `sms:read` scope.
pub const READ: Need = Need {
    role: Role::User,
    scope: Some(Scope::SmsRead),
};

/// The longest body, in characters (ten concatenated segments of GSM-7 and then some, as Twilio allows).
pub const MAX_BODY_CHARS: usize = 1600;
/// The most media URLs per message.
pub const MAX_MEDIA: usize = 10;
/// The latest a message may be scheduled, in days.
pub const MAX_SCHEDULE_DAYS: i64 = 35;

/// A send request, as the API received it.
#[derive(Debug, Clone, Default)]
pub struct SendInput {
    /// Recipient, E.164.
    pub to: String,
    /// Sender: a number the tenant holds (empty when `sender_pool` is given).
    pub from: String,
    /// Send from one of the numbers in this pool instead of `from`; a recipient always gets the same one.
    pub sender_pool: Option<String>,
    /// Text.
    pub body: String,
    /// Media URLs (MMS).
    pub media_urls: Vec<String>,
    /// Where IRISX posts this message's status changes.
    pub status_callback: Option<String>,
    /// Seconds the provider may keep trying (1 to 14,400).
    pub validity_period: Option<u32>,
    /// Send later (at most 35 days ahead).
    pub send_at: Option<OffsetDateTime>,
    /// Tags for filtering.
    pub tags: Vec<String>,
    /// Free-form JSON object, kept with the message (at most 4 KB).
    pub metadata: Option<Value>,
}

fn http_url(field: &str, url: &str) -> Result<(), FieldError> {
    let ok = (url.starts_with("https://") || url.starts_with("http://")) && url.len() <= 2048 && !url.contains(' ');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "invalid_url",
            "must be an http(s) URL of at most 2048 characters",
        ))
    }
}

/// Refuses a status callback URL whose host resolves to an address the SSRF rules forbid (checked again on
/// every delivery).
pub(crate) async fn check_callback(p: &Platform, status_callback: Option<&str>) -> Result<(), CoreError> {
    let Some(cb) = status_callback else { return Ok(()) };
    let url =
        crate::webhook::WebhookUrl::parse(cb).map_err(|why| CoreError::field("status_callback", "invalid_url", why))?;
    match p.webhook_sender.check_url(&url).await {
        Ok(()) => Ok(()),
        Err(refused) => Err(CoreError::field("status_callback", "url_refused", refused.0)),
    }
}

/// Checks the options every channel's send shares: the status callback URL, the schedule, tags and metadata.
pub(crate) fn check_options(
    c: &mut Checks,
    status_callback: Option<&str>,
    send_at: Option<OffsetDateTime>,
    tags: &[String],
    metadata: Option<&Value>,
    now: OffsetDateTime,
) {
    if let Some(cb) = status_callback
        && let Err(why) = crate::webhook::WebhookUrl::parse(cb)
    {
        c.push(FieldError::new("status_callback", "invalid_url", why));
    }
    if let Some(at) = send_at
        && (at <= now || at > now + time::Duration::days(MAX_SCHEDULE_DAYS))
    {
        c.push(FieldError::new(
            "send_at",
            "out_of_range",
            format!("must be in the future and at most {MAX_SCHEDULE_DAYS} days ahead"),
        ));
    }
    if tags.len() > 10 || tags.iter().any(|t| t.is_empty() || t.len() > 64) {
        c.push(FieldError::new(
            "tags",
            "invalid",
            "at most 10 tags of 1 to 64 characters",
        ));
    }
    if let Some(m) = metadata
        && (!m.is_object() || m.to_string().len() > 4096)
    {
        c.push(FieldError::new(
            "metadata",
            "invalid",
            "must be a JSON object of at most 4 KB",
        ));
    }
}

fn check_input(input: &SendInput, now: OffsetDateTime) -> Result<E164, CoreError> {
    let mut c = Checks::new();
    let to = c.check(E164::parse("to", &input.to));
    match (input.from.trim().is_empty(), &input.sender_pool) {
        (true, None) => c.push(FieldError::new(
            "from",
            "required",
            "give the number to send from, or a `sender_pool`",
        )),
        (false, Some(_)) => c.push(FieldError::new(
            "sender_pool",
            "conflict",
            "give either `from` or `sender_pool`, not both",
        )),
        (true, Some(pool)) => {
            c.check(super::accounts::pool_name("sender_pool", pool));
        }
        (false, None) => {}
    }
    let chars = input.body.chars().count();
    if chars == 0 && input.media_urls.is_empty() {
        c.push(FieldError::new("body", "required", "give a body or media"));
    }
    if chars > MAX_BODY_CHARS {
        c.push(FieldError::new(
            "body",
            "too_long",
            format!("at most {MAX_BODY_CHARS} characters"),
        ));
    }
    if input.media_urls.len() > MAX_MEDIA {
        c.push(FieldError::new(
            "media_urls",
            "too_many",
            format!("at most {MAX_MEDIA} media URLs"),
        ));
    }
    for (i, u) in input.media_urls.iter().enumerate() {
        c.check(http_url(&format!("media_urls[{i}]"), u));
    }
    if input.validity_period.is_some_and(|v| !(1..=14_400).contains(&v)) {
        c.push(FieldError::new(
            "validity_period",
            "out_of_range",
            "must be 1 to 14400 seconds",
        ));
    }
    check_options(
        &mut c,
        input.status_callback.as_deref(),
        input.send_at,
        &input.tags,
        input.metadata.as_ref(),
        now,
    );
    c.finish()?;
    to.ok_or_else(|| CoreError::internal("checks passed without a recipient"))
}

/// The event payload of a message (what webhooks carry for `message.*`).
pub fn event_data(m: &Message) -> Value {
    json!({
        "id": m.id, "channel": m.channel, "direction": m.direction, "from": m.from, "to": m.to,
        "status": m.status, "segments": m.segments, "error_code": m.error_code, "tags": m.tags,
        "metadata": m.metadata,
    })
}

/// Accepts a message for sending: stored with its event and task in one transaction, then the relay is woken.
pub async fn send(p: &Platform, by: &TenantPrincipal, input: SendInput) -> Result<Message, CoreError> {
    by.authorize(SEND)?;
    let now = OffsetDateTime::now_utc();
    let to = check_input(&input, now)?;
    let from = match &input.sender_pool {
        Some(pool) => from_pool(p, by.tenant_id(), pool, &to).await?,
        None => input.from.trim().to_owned(),
    };
    let sender = p.messaging.find_sender(by.tenant_id(), &from, to.as_str()).await?;
    let Some((_, opted_out)) = sender.filter(|(n, _)| n.tenant_id.as_ref() == Some(by.tenant_id())) else {
        return Err(CoreError::field(
            "from",
            "number_not_held",
            "this account does not hold that number",
        ));
    };
    check_callback(p, input.status_callback.as_deref()).await?;
    if opted_out {
        return Err(CoreError::field(
            "to",
            "opted_out",
            "the recipient has opted out of your messages (STOP)",
        ));
    }
    let message = outbound(by.tenant_id(), &from, to.as_str(), input.body, now);
    let message = Message {
        media_urls: input.media_urls,
        status_callback: input.status_callback,
        validity_period: input.validity_period,
        send_at: input.send_at,
        tags: input.tags,
        metadata: input.metadata.unwrap_or_else(|| json!({})),
        ..message
    };
    queue(p, &message).await?;
    Ok(message)
}

/// The number of a sender pool that sends to `to`: chosen by a hash of the recipient, so a recipient keeps
/// hearing from the same number while the pool stays the same (sticky sender).
async fn from_pool(p: &Platform, tenant: &TenantId, pool: &str, to: &E164) -> Result<String, CoreError> {
    let numbers: Vec<_> = p
        .messaging
        .pool_numbers(tenant, pool)
        .await?
        .into_iter()
        .filter(|n| n.capabilities.iter().any(|c| c == "sms"))
        .collect();
    if numbers.is_empty() {
        return Err(CoreError::field(
            "sender_pool",
            "empty_pool",
            format!("you hold no SMS number in the pool `{pool}`"),
        ));
    }
    let digest = sha2::Sha256::digest(to.as_str().as_bytes());
    let pick = u64::from_be_bytes(digest[..8].try_into().expect("eight bytes")) % numbers.len() as u64;
    Ok(numbers[pick as usize].number.clone())
}

/// A new outbound SMS, queued, with no options.
pub fn outbound(tenant: &TenantId, from: &str, to: &str, body: String, now: OffsetDateTime) -> Message {
    let seg = segments(&body);
    Message {
        id: MessageId::new(),
        tenant_id: tenant.clone(),
        channel: Channel::Sms,
        direction: Direction::Outbound,
        from: from.to_owned(),
        to: to.to_owned(),
        body,
        media_urls: Vec::new(),
        segments: seg.count,
        encoding: Some(seg.encoding),
        status: DeliveryStatus::Queued,
        status_callback: None,
        validity_period: None,
        send_at: None,
        tags: Vec::new(),
        metadata: json!({}),
        account_id: None,
        provider_message_id: None,
        error_code: None,
        error_message: None,
        price_micros: None,
        currency: None,
        created_at: now,
        updated_at: now,
    }
}

/// Stores a message with its `message.queued` event and send task, and wakes the relay.
async fn queue(p: &Platform, message: &Message) -> Result<(), CoreError> {
    let event = Event::now(
        &message.tenant_id,
        "message.queued",
        message.id.as_str(),
        event_data(message),
    )
    .with_callback(message.status_callback.clone());
    let task = SendSmsV1 {
        tenant_id: message.tenant_id.clone(),
        message_id: message.id.clone(),
    };
    let task = NewTask::at(Task::SendSmsV1(task), message.send_at.unwrap_or(message.created_at));
    p.messaging.create_message(message, &event, &task).await?;
    p.outbox_wake.notify_one();
    Ok(())
}

/// Queues IRISX's own answer on a tenant's behalf (the HELP reply), bypassing the caller checks.
pub(crate) async fn reply(
    p: &Platform,
    tenant: &TenantId,
    from: &str,
    to: &str,
    body: String,
) -> Result<Message, CoreError> {
    let message = outbound(tenant, from, to, body, OffsetDateTime::now_utc());
    queue(p, &message).await?;
    Ok(message)
}

/// A message with its attempts and status history.
#[derive(Debug, Clone)]
pub struct MessageDetail {
    /// The message.
    pub message: Message,
    /// Its attempts, oldest first.
    pub attempts: Vec<Attempt>,
    /// Its status history, oldest first.
    pub history: Vec<StatusChange>,
}

/// Reads a message with its attempts and history.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &MessageId) -> Result<MessageDetail, CoreError> {
    by.authorize(READ)?;
    let message = p.messaging.get_message(by.tenant_id(), id).await?;
    let attempts = p.messaging.list_attempts(id).await?;
    let history = p.messaging.list_status_changes(id).await?;
    Ok(MessageDetail {
        message,
        attempts,
        history,
    })
}

/// Lists messages.
pub async fn list(
    p: &Platform,
    by: &TenantPrincipal,
    filter: &MessageFilter,
    page: &PageRequest,
) -> Result<Page<Message>, CoreError> {
    by.authorize(READ)?;
    Ok(p.messaging.list_messages(by.tenant_id(), filter, page).await?)
}

/// Cancels a scheduled message that has not been sent.
pub async fn cancel(p: &Platform, by: &TenantPrincipal, id: &MessageId) -> Result<Message, CoreError> {
    by.authorize(SEND)?;
    let current = p.messaging.get_message(by.tenant_id(), id).await?;
    let mut canceled = current.clone();
    canceled.status = DeliveryStatus::Canceled;
    let event = Event::now(by.tenant_id(), "message.canceled", id.as_str(), event_data(&canceled))
        .with_callback(current.status_callback.clone());
    Ok(p.messaging.cancel_message(by.tenant_id(), id, &event).await?)
}

/// Lists the numbers that opted out of the caller's messages.
pub async fn list_opt_outs(p: &Platform, by: &TenantPrincipal, page: &PageRequest) -> Result<Page<OptOut>, CoreError> {
    by.authorize(READ)?;
    Ok(p.messaging.list_opt_outs(by.tenant_id(), page).await?)
}

/// Opts a number out by hand.
pub async fn add_opt_out(p: &Platform, by: &TenantPrincipal, number: &str) -> Result<OptOut, CoreError> {
    by.authorize(SEND)?;
    let number = E164::parse("number", number).map_err(|e| CoreError::Validation(vec![e]))?;
    let o = OptOut {
        tenant_id: by.tenant_id().clone(),
        number: number.as_str().to_owned(),
        source: "api".into(),
        created_at: OffsetDateTime::now_utc(),
    };
    p.messaging.add_opt_out(&o).await?;
    Ok(o)
}

/// Opts a number back in; `NotFound` when it was not opted out.
pub async fn remove_opt_out(p: &Platform, by: &TenantPrincipal, number: &str) -> Result<(), CoreError> {
    by.authorize(SEND)?;
    let number = E164::parse("number", number).map_err(|_| CoreError::NotFound { resource: "opt-out" })?;
    if p.messaging.remove_opt_out(by.tenant_id(), number.as_str()).await? {
        Ok(())
    } else {
        Err(CoreError::NotFound { resource: "opt-out" })
    }
}

/// Usage between two times, per channel.
pub async fn usage(
    p: &Platform,
    by: &TenantPrincipal,
    from: OffsetDateTime,
    to: OffsetDateTime,
    channel: Option<Channel>,
) -> Result<Vec<UsageTotal>, CoreError> {
    by.authorize(Need {
        role: Role::Admin,
        scope: Some(Scope::UsageRead),
    })?;
    if to <= from {
        return Err(CoreError::field("to", "out_of_range", "`to` must be after `from`"));
    }
    Ok(p.messaging.usage_totals(by.tenant_id(), from, to, channel).await?)
}

/// The tenant's event log.
pub async fn events(
    p: &Platform,
    by: &TenantPrincipal,
    filter: &crate::ports::messaging::EventFilter,
    page: &PageRequest,
) -> Result<Page<Event>, CoreError> {
    by.authorize(Need {
        role: Role::Admin,
        scope: Some(Scope::EventsRead),
    })?;
    Ok(p.messaging.search_events(by.tenant_id(), filter, page).await?)
}
