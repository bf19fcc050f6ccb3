//! `/v1/email`: send, list, read (with content, attempts, status history and events), cancel a scheduled send.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use irisx_core::email::content::Address;
use irisx_core::id::MessageId;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::model::{Channel, Message};
use irisx_core::usecase::email::{self, AttachmentInput, EmailInput, recipients_of};
use irisx_core::usecase::email_input::PartsInput;
use irisx_core::usecase::principal::Need;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sms::{AttemptOut, MessageQuery, StatusChangeOut};
use super::usage::EventOut;
use crate::AppState;
use crate::dto::{ListOut, rfc3339_param};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Permission, Tenant, path_id};

/// The largest send request: 10 MB of attachments is about 13.4 MB of base64, plus the bodies.
pub const SEND_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Send email: any user or `email:send`.
pub struct SendEmail;
impl Permission for SendEmail {
    const NEED: Option<Need> = Some(email::SEND);
}
/// Read email: any user or `email:read`.
pub struct ReadEmail;
impl Permission for ReadEmail {
    const NEED: Option<Need> = Some(email::READ);
}

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    let send = OpenApiRouter::new()
        .routes(routes!(send))
        .layer(DefaultBodyLimit::max(SEND_BODY_LIMIT));
    OpenApiRouter::new()
        .merge(send)
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(cancel))
}

/// A file to attach.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentIn {
    /// File name, e.g. `invoice.pdf` (executables and scripts are refused).
    pub filename: String,
    /// Media type, e.g. `application/pdf`.
    pub content_type: String,
    /// The file, base64 (all attachments together at most 10 MB decoded).
    pub content: String,
}

/// An email to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSendIn {
    /// Sender: `noreply@example.com` or `Example <noreply@example.com>`.
    pub from: String,
    /// Recipients (to, cc and bcc together at most 50).
    pub to: Vec<String>,
    /// Copies.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Blind copies.
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Where replies go.
    pub reply_to: Option<String>,
    /// Subject, one line of at most 998 characters (or from `template_id`).
    #[serde(default)]
    pub subject: String,
    /// HTML part (at most 512 KB).
    pub html: Option<String>,
    /// Text part (at most 512 KB). Give html, text or both.
    pub text: Option<String>,
    /// Files to attach, at most 10.
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
    /// Extra headers, name to value (at most 20; IRISX sets From, To, Subject and the like itself).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Tags for filtering and for the vendor's statistics (at most 10).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Send later: RFC 3339, at most 35 days ahead.
    pub send_at: Option<String>,
    /// Where to post this message's status changes.
    pub status_callback: Option<String>,
    /// Your own JSON object, kept with the message (at most 4 KB).
    pub metadata: Option<serde_json::Value>,
    /// One of your templates, rendered for the subject, html and text (then give none of those).
    pub template_id: Option<String>,
    /// The template's variables, a JSON object (at most 64 KB).
    pub variables: Option<serde_json::Value>,
}

/// An email.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailOut {
    /// Its id.
    pub id: MessageId,
    /// `outbound` (sent by you) or `inbound` (received).
    pub direction: String,
    /// Sender address.
    pub from: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Current delivery status.
    pub status: DeliveryStatus,
    /// The provider's id.
    pub provider_message_id: Option<String>,
    /// The provider's error code, on failure.
    pub error_code: Option<String>,
    /// The error, for people.
    pub error_message: Option<String>,
    /// Price in micro-units of `currency`.
    pub price_micros: Option<i64>,
    /// Currency.
    pub currency: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Your metadata.
    pub metadata: serde_json::Value,
    /// Scheduled time.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub send_at: Option<OffsetDateTime>,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last changed at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Message> for EmailOut {
    fn from(m: Message) -> Self {
        Self {
            to: recipients_of(&m).into_iter().map(str::to_owned).collect(),
            id: m.id,
            direction: m.direction.as_str().to_owned(),
            from: m.from,
            subject: m.body,
            status: m.status,
            provider_message_id: m.provider_message_id,
            error_code: m.error_code,
            error_message: m.error_message,
            price_micros: m.price_micros,
            currency: m.currency,
            tags: m.tags,
            metadata: m.metadata,
            send_at: m.send_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// An attached file (its content is not repeated).
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    /// File name.
    pub filename: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// The stored file: `GET /v1/objects/{id}/url` gives a download link.
    pub object_id: Option<String>,
}

/// An email with its content, attempts, status history and events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailDetailOut {
    /// The email.
    #[serde(flatten)]
    pub email: EmailOut,
    /// Sender with its name.
    pub sender: Address,
    /// Copies.
    pub cc: Vec<Address>,
    /// Blind copies.
    pub bcc: Vec<Address>,
    /// Where replies go.
    pub reply_to: Option<Address>,
    /// HTML part.
    pub html: Option<String>,
    /// Text part.
    pub text: Option<String>,
    /// Extra headers.
    pub headers: BTreeMap<String, String>,
    /// Attached files.
    pub attachments: Vec<AttachmentOut>,
    /// Attempts, oldest first.
    pub attempts: Vec<AttemptOut>,
    /// Status history, oldest first.
    pub status_history: Vec<StatusChangeOut>,
    /// Events, newest first.
    pub events: Vec<EventOut>,
}

/// Send an email. It is stored and queued at once (202); a provider is chosen and called by the worker. A
/// suppressed recipient (hard bounce, complaint, unsubscribe) is refused with 422 before any provider call.
#[utoipa::path(post, path = "/v1/email/send", operation_id = "email_send", tag = "email", request_body = EmailSendIn, security(("bearer" = []), ("api_key" = ["email:send"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same request")),
    responses((status = 202, body = EmailOut), (status = 422, body = ErrorBody, description = "invalid, too large, or a suppressed recipient")))]
async fn send(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendEmail>,
    ApiJson(b): ApiJson<EmailSendIn>,
) -> ApiResult<(StatusCode, Json<EmailOut>)> {
    let input = EmailInput {
        parts: PartsInput {
            from: b.from,
            to: b.to,
            cc: b.cc,
            bcc: b.bcc,
            reply_to: b.reply_to,
            subject: b.subject,
            html: b.html,
            text: b.text,
            headers: b.headers.into_iter().collect(),
            attachments: b
                .attachments
                .into_iter()
                .map(|a| AttachmentInput {
                    filename: a.filename,
                    content_type: a.content_type,
                    content_base64: a.content,
                })
                .collect(),
        },
        tags: b.tags,
        send_at: rfc3339_param("send_at", b.send_at)?,
        status_callback: b.status_callback,
        metadata: b.metadata,
        template_id: b.template_id,
        variables: b.variables,
    };
    let m = email::send(&st.platform, &p, input).await?;
    Ok((StatusCode::ACCEPTED, Json(m.into())))
}

/// List emails, newest first.
#[utoipa::path(get, path = "/v1/email", operation_id = "email_list", tag = "email", params(MessageQuery), security(("bearer" = []), ("api_key" = ["email:read"])),
    responses((status = 200, body = ListOut<EmailOut>), (status = 422, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadEmail>,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<Json<ListOut<EmailOut>>> {
    let (page, filter) = q.split(Channel::Email)?;
    Ok(Json(ListOut::from_page(
        email::list(&st.platform, &p, &filter, &page).await?,
        EmailOut::from,
    )))
}

/// Read an email with its content, attempts, status history and events.
#[utoipa::path(get, path = "/v1/email/{id}", operation_id = "email_get", tag = "email", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["email:read"])),
    responses((status = 200, body = EmailDetailOut), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadEmail>,
    Path(id): Path<String>,
) -> ApiResult<Json<EmailDetailOut>> {
    let d = email::get(&st.platform, &p, &path_id(&id, "email")?).await?;
    let c = d.content;
    Ok(Json(EmailDetailOut {
        email: d.message.into(),
        sender: c.from,
        cc: c.cc,
        bcc: c.bcc,
        reply_to: c.reply_to,
        html: c.html,
        text: c.text,
        headers: c.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        attachments: c
            .attachments
            .into_iter()
            .map(|a| AttachmentOut {
                filename: a.filename,
                content_type: a.content_type,
                size: a.size,
                object_id: a.object_id.map(|o| o.to_string()),
            })
            .collect(),
        attempts: d.attempts.into_iter().map(Into::into).collect(),
        status_history: d.history.into_iter().map(Into::into).collect(),
        events: d.events.into_iter().map(Into::into).collect(),
    }))
}

/// Cancel a scheduled email that has not been sent.
#[utoipa::path(post, path = "/v1/email/{id}/cancel", operation_id = "email_cancel", tag = "email", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["email:send"])),
    responses((status = 200, body = EmailOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already sent")))]
async fn cancel(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendEmail>,
    Path(id): Path<String>,
) -> ApiResult<Json<EmailOut>> {
    Ok(Json(
        email::cancel(&st.platform, &p, &path_id(&id, "email")?).await?.into(),
    ))
}
