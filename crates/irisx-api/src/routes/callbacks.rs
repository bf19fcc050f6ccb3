//! `/v1/callbacks/sms/{account}`: where vendors post delivery receipts and inbound messages. No IRISX
//! credentials: each request is verified with the account's own signature scheme (a forged or stale one
//! gets 403 and changes nothing).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use irisx_core::sms::provider::CallbackRequest;
use irisx_core::usecase::receipts;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::path_id;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status)).routes(routes!(inbound))
}

/// The callback as the adapters read it: the URL as the vendor called it, the headers, the raw body.
pub(crate) fn request(st: &AppState, method: Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> CallbackRequest {
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    CallbackRequest {
        url: format!("{}{path}", st.platform.public_url.trim_end_matches('/')),
        method: method.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        received_at: OffsetDateTime::now_utc(),
    }
}

/// A vendor's delivery receipt for a message sent through this account.
#[utoipa::path(post, path = "/v1/callbacks/sms/{account}/status", tag = "callbacks", params(("account" = String, Path)),
    request_body(content = String, description = "the vendor's own receipt format"),
    responses((status = 200, description = "applied (or kept in the history)"), (status = 403, body = ErrorBody, description = "signature refused"),
        (status = 404, body = ErrorBody)))]
async fn status(
    State(st): State<AppState>,
    Path(account): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req = request(&st, method, &uri, &headers, body);
    receipts::status(&st.platform, &path_id(&account, "provider account")?, &req).await?;
    Ok(StatusCode::OK)
}

/// A vendor's inbound message to a number on this account.
#[utoipa::path(post, path = "/v1/callbacks/sms/{account}/inbound", tag = "callbacks", params(("account" = String, Path)),
    request_body(content = String, description = "the vendor's own inbound format"),
    responses((status = 200, description = "stored; an empty TwiML document for vendors that expect one"),
        (status = 403, body = ErrorBody, description = "signature refused"), (status = 404, body = ErrorBody)))]
async fn inbound(
    State(st): State<AppState>,
    Path(account): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let req = request(&st, method, &uri, &headers, body);
    receipts::inbound(&st.platform, &path_id(&account, "provider account")?, &req).await?;
    let twiml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";
    Ok(([(header::CONTENT_TYPE, "text/xml")], twiml).into_response())
}
