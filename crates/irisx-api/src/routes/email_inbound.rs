//! Receiving email: vendors' inbound-parse webhooks at `/v1/callbacks/email/{account}/inbound` (verified with
//! the account's own scheme, like tracking webhooks) and `POST /v1/email/inbound`, where a tenant posts a raw
//! MIME message. Both answer with the stored email; both take bodies up to [`INBOUND_BODY_LIMIT`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use irisx_core::usecase::email_inbound;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::callbacks::request;
use super::email::{EmailOut, SendEmail};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Tenant, path_id};

/// The largest inbound post: vendors pass messages of up to 25-30 MB with their attachments.
pub const INBOUND_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The tenant route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(raw))
        .layer(DefaultBodyLimit::max(INBOUND_BODY_LIMIT))
}

/// The vendors' route.
pub fn callbacks() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbound))
        .layer(DefaultBodyLimit::max(INBOUND_BODY_LIMIT))
}

/// A vendor's inbound-parse post for one of your email accounts (Mailgun Routes with `store()` off, SendGrid
/// Inbound Parse with its basic-auth URL, Postmark inbound). The account must be the tenant's own. Posting
/// the same message again returns the email stored the first time.
#[utoipa::path(post, path = "/v1/callbacks/email/{account}/inbound", tag = "callbacks", params(("account" = String, Path)),
    request_body(content = String, description = "the vendor's own inbound format"),
    responses((status = 200, body = EmailOut, description = "stored, with an `email.received` event"),
        (status = 403, body = ErrorBody, description = "signature or credentials refused"), (status = 404, body = ErrorBody),
        (status = 413, description = "larger than 32 MB"), (status = 422, body = ErrorBody)))]
async fn inbound(
    State(st): State<AppState>,
    Path(account): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<EmailOut>> {
    let req = request(&st, method, &uri, &headers, body);
    let m = email_inbound::webhook(&st.platform, &path_id(&account, "provider account")?, &req).await?;
    Ok(Json(m.into()))
}

/// Who a raw message was delivered for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RawQuery {
    /// The envelope recipients, comma-separated (default: the message's `To` and `Cc`).
    pub to: Option<String>,
}

/// Receive a raw email: the body is the whole RFC 5322 message with `Content-Type: message/rfc822`. It is
/// stored as an inbound email (attachments as objects) and reported by an `email.received` event.
#[utoipa::path(post, path = "/v1/email/inbound", operation_id = "email_receive_raw", tag = "email", params(RawQuery),
    request_body(content = String, content_type = "message/rfc822", description = "the raw MIME message"),
    security(("bearer" = []), ("api_key" = ["email:send"])),
    responses((status = 201, body = EmailOut), (status = 413, description = "larger than 32 MB"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody, description = "not a MIME message")))]
async fn raw(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendEmail>,
    ApiQuery(q): ApiQuery<RawQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<EmailOut>)> {
    let is_mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("message/rfc822"));
    if !is_mime {
        return Err(ApiError::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "post the raw message with `Content-Type: message/rfc822`",
        ));
    }
    let to: Vec<String> =
        q.to.iter()
            .flat_map(|t| t.split(','))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
    let m = email_inbound::raw(&st.platform, &p, &body, &to).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}
