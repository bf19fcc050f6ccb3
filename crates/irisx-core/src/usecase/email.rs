//! Sending email on the SMS spine: one transaction stores the message (a `messages` row of channel `email`
//! with its content beside it), its `email.queued` event and its `SendEmailV1` task. Suppressed recipients
//! are refused here, before any provider is called. Reads, lists and cancellation are the messaging ones.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Platform;
use super::email_input::{PartsInput, check_parts};
use super::objects::{self, NewObject};
use super::principal::{Need, TenantPrincipal};
use super::sms::{check_callback, check_options};
use crate::domain::{Role, Scope};
use crate::email::Attachment;
use crate::email::content::EmailContent;
use crate::error::{CoreError, FieldError};
use crate::id::{MessageId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::messaging::MessageFilter;
use crate::ports::objects::ObjectPurpose;
use crate::sms::DeliveryStatus;
use crate::sms::model::{Attempt, Channel, Direction, Event, Message, StatusChange};
use crate::task::{NewTask, SendEmailV1, Task};
use crate::validate::Checks;

pub use super::email_input::{AttachmentInput, MAX_ATTACHMENT_BYTES, MAX_RECIPIENTS};

/// Sending needs a user or the `email:send` scope.
pub const SEND: Need = Need {
    role: Role::User,
    scope: Some(Scope::EmailSend),
};
/// Reading needs a user or the `email:read` scope.
pub const READ: Need = Need {
    role: Role::User,
    scope: Some(Scope::EmailRead),
};

/// A send request, as the API received it.
#[derive(Debug, Clone, Default)]
pub struct EmailInput {
    /// Addresses, subject, bodies, headers, attachments.
    pub parts: PartsInput,
    /// Tags for filtering and for the vendor's statistics.
    pub tags: Vec<String>,
    /// Send later (at most 35 days ahead).
    pub send_at: Option<OffsetDateTime>,
    /// Where IRISX posts this message's status changes.
    pub status_callback: Option<String>,
    /// Free-form JSON object kept with the message (at most 4 KB).
    pub metadata: Option<Value>,
    /// A template of the tenant's that gives the subject, html and text (instead of the request).
    pub template_id: Option<String>,
    /// The template's variables (a JSON object).
    pub variables: Option<Value>,
}

/// The event payload of an email (what webhooks carry for `email.*`).
pub fn event_data(m: &Message) -> Value {
    json!({
        "id": m.id, "channel": m.channel, "direction": m.direction, "from": m.from, "to": recipients_of(m),
        "subject": m.body, "status": m.status, "error_code": m.error_code, "tags": m.tags, "metadata": m.metadata,
    })
}

/// The `to` recipients of an email's row (kept as one comma-separated text).
pub fn recipients_of(m: &Message) -> Vec<&str> {
    m.to.split(", ").filter(|s| !s.is_empty()).collect()
}

/// The event of an email reaching `status`: `email.<status>`.
pub fn status_event(m: &Message, status: DeliveryStatus) -> Event {
    let mut after = m.clone();
    after.status = status;
    Event::now(
        &m.tenant_id,
        &format!("email.{}", status.as_str()),
        m.id.as_str(),
        event_data(&after),
    )
    .with_callback(m.status_callback.clone())
}

fn check(input: &EmailInput, now: OffsetDateTime) -> Result<EmailContent, CoreError> {
    let mut c = Checks::new();
    let content = check_parts(&mut c, &input.parts);
    check_options(
        &mut c,
        input.status_callback.as_deref(),
        input.send_at,
        &input.tags,
        input.metadata.as_ref(),
        now,
    );
    c.finish()?;
    content.ok_or_else(|| CoreError::internal("checks passed without content"))
}

/// Fills the subject and parts from a rendered template; a request that also gives them is refused.
async fn apply_template(p: &Platform, tenant: &TenantId, id: &str, input: &mut EmailInput) -> Result<(), CoreError> {
    let parts = &input.parts;
    if !parts.subject.is_empty() || parts.html.is_some() || parts.text.is_some() {
        return Err(CoreError::field(
            "template_id",
            "conflicting_content",
            "give either a template or a subject, html and text, not both",
        ));
    }
    let t = super::email_templates::for_send(p, tenant, id).await?;
    let variables = input.variables.take().unwrap_or_else(|| json!({}));
    let rendered = super::email_templates::render(&t, &variables, "variables")?;
    input.parts.subject = rendered.subject;
    input.parts.html = rendered.html;
    input.parts.text = rendered.text;
    Ok(())
}

/// Refuses a send when any recipient is suppressed for the tenant (422 naming them).
async fn refuse_suppressed(p: &Platform, tenant: &TenantId, content: &EmailContent) -> Result<(), CoreError> {
    let all: Vec<String> = content.recipients().map(|a| a.email.clone()).collect();
    let suppressed = p.email.suppressed_among(tenant, &all).await?;
    if suppressed.is_empty() {
        return Ok(());
    }
    Err(CoreError::Validation(
        suppressed
            .into_iter()
            .map(|a| {
                FieldError::new(
                    "to",
                    "suppressed",
                    format!("{a} is suppressed (a hard bounce, a complaint or an unsubscribe); remove the suppression to send to it"),
                )
            })
            .collect(),
    ))
}

/// Accepts an email for sending: stored with its event and task in one transaction, then the relay is woken.
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id()))]
pub async fn send(p: &Platform, by: &TenantPrincipal, input: EmailInput) -> Result<Message, CoreError> {
    by.authorize(SEND)?;
    let now = OffsetDateTime::now_utc();
    let mut input = input;
    if let Some(id) = input.template_id.take() {
        apply_template(p, by.tenant_id(), &id, &mut input).await?;
    } else if input.variables.is_some() {
        return Err(CoreError::field(
            "variables",
            "not_allowed",
            "variables go with a template_id",
        ));
    }
    let mut content = check(&input, now)?;
    check_callback(p, input.status_callback.as_deref()).await?;
    refuse_suppressed(p, by.tenant_id(), &content).await?;
    store_attachments(p, by.tenant_id(), &mut content).await?;
    let message = Message {
        id: MessageId::new(),
        tenant_id: by.tenant_id().clone(),
        channel: Channel::Email,
        direction: Direction::Outbound,
        from: content.from.email.clone(),
        to: content
            .to
            .iter()
            .map(|a| a.email.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        body: content.subject.clone(),
        media_urls: Vec::new(),
        segments: 1,
        encoding: None,
        status: DeliveryStatus::Queued,
        status_callback: input.status_callback,
        validity_period: None,
        send_at: input.send_at,
        tags: input.tags,
        metadata: input.metadata.unwrap_or_else(|| json!({})),
        account_id: None,
        provider_message_id: None,
        error_code: None,
        error_message: None,
        price_micros: None,
        currency: None,
        created_at: now,
        updated_at: now,
    };
    let event = Event::now(
        &message.tenant_id,
        "email.queued",
        message.id.as_str(),
        event_data(&message),
    );
    let task = SendEmailV1 {
        tenant_id: message.tenant_id.clone(),
        message_id: message.id.clone(),
    };
    let task = NewTask::at(Task::SendEmailV1(task), message.send_at.unwrap_or(now));
    p.email.create_email(&message, &content, &event, &task).await?;
    p.outbox_wake.notify_one();
    Ok(message)
}

/// Moves each attachment's bytes to the object store, leaving its object id in the content. Runs before the
/// email is stored, so an accepted email's attachments are always there.
async fn store_attachments(p: &Platform, tenant: &TenantId, content: &mut EmailContent) -> Result<(), CoreError> {
    for a in &mut content.attachments {
        let Some(b64) = a.content_base64.take() else {
            continue;
        };
        let bytes = B64
            .decode(b64)
            .map_err(|_| CoreError::field("attachments", "invalid_base64", "the content must be base64"))?;
        let object = objects::store(
            p,
            tenant,
            NewObject {
                purpose: ObjectPurpose::EmailAttachment,
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                bytes: bytes.into(),
            },
        )
        .await?;
        a.object_id = Some(object.id);
    }
    Ok(())
}

/// The attachments of a stored email with their bytes, as an adapter sends them.
pub async fn attachment_bytes(
    p: &Platform,
    tenant: &TenantId,
    content: &EmailContent,
) -> Result<Vec<Attachment>, CoreError> {
    let mut out = Vec::with_capacity(content.attachments.len());
    for a in &content.attachments {
        let bytes = match (&a.object_id, &a.content_base64) {
            (Some(id), _) => objects::bytes(p, tenant, id).await?,
            (None, Some(b64)) => B64
                .decode(b64)
                .map_err(|e| CoreError::internal(format!("a stored attachment is not base64: {e}")))?
                .into(),
            (None, None) => return Err(CoreError::internal("a stored attachment has no bytes")),
        };
        out.push(Attachment {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            content: bytes,
        });
    }
    Ok(out)
}

/// An email with its content, attempts, status history and events.
#[derive(Debug, Clone)]
pub struct EmailDetail {
    /// The message row.
    pub message: Message,
    /// Its addresses, subject and parts.
    pub content: EmailContent,
    /// Its attempts, oldest first.
    pub attempts: Vec<Attempt>,
    /// Its status history, oldest first.
    pub history: Vec<StatusChange>,
    /// Its events, newest first (the first page).
    pub events: Vec<Event>,
}

/// A tenant's email (another tenant's, or an SMS, is not found).
async fn own_email(p: &Platform, by: &TenantPrincipal, id: &MessageId) -> Result<Message, CoreError> {
    let m = p.messaging.get_message(by.tenant_id(), id).await?;
    if m.channel != Channel::Email {
        return Err(CoreError::NotFound { resource: "email" });
    }
    Ok(m)
}

/// Reads an email with its content, attempts, history and events.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &MessageId) -> Result<EmailDetail, CoreError> {
    by.authorize(READ)?;
    let message = own_email(p, by, id).await?;
    let events = p
        .messaging
        .list_events(by.tenant_id(), None, Some(id.as_str()), &PageRequest::default())
        .await?;
    Ok(EmailDetail {
        content: p.email.get_email_content(id).await?,
        attempts: p.messaging.list_attempts(id).await?,
        history: p.messaging.list_status_changes(id).await?,
        events: events.items,
        message,
    })
}

/// Lists emails (the filter's channel is set to email).
pub async fn list(
    p: &Platform,
    by: &TenantPrincipal,
    filter: &MessageFilter,
    page: &PageRequest,
) -> Result<Page<Message>, CoreError> {
    by.authorize(READ)?;
    let filter = MessageFilter {
        channel: Some(Channel::Email),
        ..filter.clone()
    };
    Ok(p.messaging.list_messages(by.tenant_id(), &filter, page).await?)
}

/// Cancels a scheduled email that has not been sent.
pub async fn cancel(p: &Platform, by: &TenantPrincipal, id: &MessageId) -> Result<Message, CoreError> {
    by.authorize(SEND)?;
    let current = own_email(p, by, id).await?;
    let event = status_event(&current, DeliveryStatus::Canceled);
    Ok(p.messaging.cancel_message(by.tenant_id(), id, &event).await?)
}
