//! Email IRISX receives: a vendor's inbound-parse webhook (Mailgun Routes, SendGrid Inbound Parse, Postmark
//! inbound) for one of a tenant's own email accounts, or a raw MIME message a tenant posts (from its MTA, or
//! any relay). Either becomes an inbound `messages` row of channel `email` with its content, the attachments
//! as stored objects, and an `email.received` event, in one transaction after the objects are stored.
//!
//! A vendor that retries a post it already delivered finds the first email by its `Message-ID` and gets the
//! same answer; nothing is stored twice.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Platform;
use super::accounts::email_adapter;
use super::email::{SEND, event_data};
use super::objects::{self, NewObject};
use super::principal::TenantPrincipal;
use crate::email::content::{Address, EmailContent, Header, StoredAttachment};
use crate::email::{InboundEmail, mime};
use crate::error::CoreError;
use crate::id::{MessageId, ProviderAccountId, TenantId};
use crate::ports::objects::ObjectPurpose;
use crate::sms::DeliveryStatus;
use crate::sms::model::{Channel, Direction, Event, Message, ProviderAccount};
use crate::sms::provider::CallbackRequest;

/// The most text or HTML an `email.received` event carries; the whole part is in `GET /v1/email/{id}`.
pub const EVENT_BODY_CHARS: usize = 64 * 1024;
/// The most headers kept of a received email.
const MAX_HEADERS: usize = 200;

/// Verifies and stores a vendor's inbound-parse post to one of a tenant's email accounts.
#[tracing::instrument(skip_all, fields(account_id = %account))]
pub async fn webhook(p: &Platform, account: &ProviderAccountId, req: &CallbackRequest) -> Result<Message, CoreError> {
    let account = p.messaging.get_provider_account_any(account).await?;
    let tenant = match (&account.channel, &account.tenant_id) {
        (Channel::Email, Some(t)) => t.clone(),
        (Channel::Email, None) => {
            return Err(CoreError::Unprocessable(
                "inbound email is received on a tenant's own email account: a platform account cannot say whose \
                 mail it is"
                    .into(),
            ));
        }
        _ => {
            return Err(CoreError::NotFound {
                resource: "email provider account",
            });
        }
    };
    let email = email_adapter(p, &account)?.parse_inbound(req)?;
    if let Some(id) = &email.provider_message_id
        && let Some(seen) = p.messaging.find_message_by_provider_id(&account.id, id).await?
        && seen.direction == Direction::Inbound
    {
        return Ok(seen);
    }
    receive(p, &tenant, Some(&account), email).await
}

/// Stores a raw MIME message a tenant posts. `envelope_to` are the addresses it was delivered for, when the
/// caller knows them (otherwise `To` and `Cc`).
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id()))]
pub async fn raw(
    p: &Platform,
    by: &TenantPrincipal,
    mime_bytes: &[u8],
    envelope_to: &[String],
) -> Result<Message, CoreError> {
    by.authorize(SEND)?;
    let email = mime::parse(mime_bytes, envelope_to).map_err(|m| CoreError::field("body", "invalid_mime", m))?;
    receive(p, by.tenant_id(), None, email).await
}

/// Stores the attachments, then the message, its content and its event together.
async fn receive(
    p: &Platform,
    tenant: &TenantId,
    account: Option<&ProviderAccount>,
    email: InboundEmail,
) -> Result<Message, CoreError> {
    let mut attachments = Vec::with_capacity(email.attachments.len());
    for a in email.attachments {
        let size = a.content.len() as u64;
        let object = objects::store(
            p,
            tenant,
            NewObject {
                purpose: ObjectPurpose::InboundEmail,
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                bytes: a.content,
            },
        )
        .await?;
        attachments.push(StoredAttachment {
            filename: a.filename,
            content_type: a.content_type,
            size,
            object_id: Some(object.id),
            content_base64: None,
        });
    }
    let content = EmailContent {
        from: lenient_address(&email.from),
        to: email.to.iter().map(|t| lenient_address(t)).collect(),
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: None,
        subject: email.subject,
        html: email.html,
        text: email.text,
        headers: email
            .headers
            .into_iter()
            .take(MAX_HEADERS)
            .map(|(name, value)| Header { name, value })
            .collect(),
        attachments,
    };
    let now = OffsetDateTime::now_utc();
    let message = Message {
        id: MessageId::new(),
        tenant_id: tenant.clone(),
        channel: Channel::Email,
        direction: Direction::Inbound,
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
        status: DeliveryStatus::Received,
        status_callback: None,
        validity_period: None,
        send_at: None,
        tags: Vec::new(),
        metadata: json!({}),
        account_id: account.map(|a| a.id.clone()),
        provider_message_id: email.provider_message_id,
        error_code: None,
        error_message: None,
        price_micros: None,
        currency: None,
        created_at: now,
        updated_at: now,
    };
    let event = Event::now(
        tenant,
        "email.received",
        message.id.as_str(),
        received_data(&message, &content),
    );
    p.email.create_inbound_email(&message, &content, &event).await?;
    Ok(message)
}

/// The `email.received` payload: the email's fields, its parts (cut at [`EVENT_BODY_CHARS`]) and its
/// attachments as objects.
fn received_data(m: &Message, c: &EmailContent) -> Value {
    let cut = |s: &Option<String>| {
        s.as_ref().map(|s| match s.char_indices().nth(EVENT_BODY_CHARS) {
            Some((at, _)) => (s[..at].to_owned(), true),
            None => (s.clone(), false),
        })
    };
    let (text, html) = (cut(&c.text), cut(&c.html));
    let mut data = event_data(m);
    data["from_name"] = json!(c.from.name);
    data["text"] = json!(text.as_ref().map(|t| &t.0));
    data["html"] = json!(html.as_ref().map(|h| &h.0));
    data["truncated"] = json!(text.is_some_and(|t| t.1) || html.is_some_and(|h| h.1));
    data["account_id"] = json!(m.account_id);
    data["provider_message_id"] = json!(m.provider_message_id);
    data["attachments"] = c
        .attachments
        .iter()
        .map(|a| json!({"object_id": a.object_id, "filename": a.filename, "content_type": a.content_type, "size": a.size}))
        .collect();
    data
}

/// An address as the sender wrote it: parsed when it is well formed, otherwise kept as text (mail from the
/// internet is not always tidy, and refusing it would lose it).
fn lenient_address(text: &str) -> Address {
    Address::parse("from", text).unwrap_or_else(|_| Address {
        email: text.trim().to_lowercase(),
        name: None,
    })
}
