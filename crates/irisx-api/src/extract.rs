//! Extractors: JSON bodies with field-level errors, pagination, client metadata, and the authenticated
//! principals with the permission each route needs in its signature.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use irisx_core::domain::AdminRole;
use irisx_core::page::{MAX_LIMIT, PageRequest};
use irisx_core::usecase::principal::{AdminPrincipal, Need, TenantPrincipal};
use irisx_core::usecase::{RequestMeta, api_keys, users};
use irisx_core::{CoreError, FieldError};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Malformed JSON is 400; a wrong type, a missing or an unknown field is 422 naming the field;
/// a missing JSON content type is 415; a body over the limit is 413.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json") || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::http(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is too large",
                )
            } else {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    "the request body could not be read",
                )
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// An optional JSON body: an empty body is `None`; anything else must be JSON as for [`ApiJson`].
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_body = req.headers().get(CONTENT_TYPE).is_some()
            || req.headers().contains_key(axum::http::header::TRANSFER_ENCODING)
            || req
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v != "0");
        if !has_body {
            return Ok(OptionalJson(None));
        }
        ApiJson::<T>::from_request(req, state)
            .await
            .map(|j| OptionalJson(Some(j.0)))
    }
}

/// Parses a JSON body, naming the bad field on a type or shape error. The body must be one JSON object.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let invalid = |e: &serde_json::Error| {
        ApiError::http(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
        )
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            return Err(invalid(&e));
        }
        return Err(CoreError::field("body", "invalid_type", "the body must be a JSON object").into());
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let first = match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    // A failure may come from the bytes (bad JSON) or from the shape (a wrong type, which serde_json sometimes
    // reports as a syntax error, e.g. a number for an enum): only well-formed JSON is a shape error.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| invalid(&e))?;
    let e = match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(_) => first,
        Err(e) => e,
    };
    let path = e.path().to_string();
    Err(CoreError::Validation(vec![field_error(&path, &e.inner().to_string())]).into())
}

fn field_error(path: &str, message: &str) -> FieldError {
    let base = if path == "." { "" } else { path };
    let join = |name: &str| {
        if base.is_empty() {
            name.to_owned()
        } else {
            format!("{base}.{name}")
        }
    };
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_owned);
    let message = message.split(" at line ").next().unwrap_or(message).to_owned();
    if message.starts_with("missing field") {
        let f = quoted(&message).map_or_else(|| base.to_owned(), |n| join(&n));
        FieldError::new(f, "required", message)
    } else if message.starts_with("unknown field") {
        // The path already ends with the unknown key.
        let f = if base.is_empty() {
            quoted(&message).unwrap_or_default()
        } else {
            base.to_owned()
        };
        FieldError::new(f, "unknown_field", message)
    } else if message.starts_with("unknown variant") {
        FieldError::new(base, "invalid_value", message)
    } else {
        FieldError::new(if base.is_empty() { "body" } else { base }, "invalid_type", message)
    }
}

/// `?limit=&cursor=` on every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page request, or a 422 naming the bad parameter.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(irisx_core::page::DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(CoreError::field("limit", "out_of_range", format!("limit must be 1 to {MAX_LIMIT}")).into());
        }
        if let Some(c) = &self.cursor
            && (c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(CoreError::field("cursor", "invalid_cursor", "the cursor is not one this API returned").into());
        }
        Ok(PageRequest {
            cursor: self.cursor.clone(),
            limit,
        })
    }
}

/// Query strings that are parsed with our error shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                CoreError::field(
                    "query",
                    "invalid_query",
                    e.body_text().replace("Failed to deserialize query string: ", ""),
                )
                .into()
            })
    }
}

/// Parses a path id of the expected type, answering 404 for anything else (it cannot exist).
pub fn path_id<T: std::str::FromStr>(raw: &str, resource: &'static str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| CoreError::NotFound { resource }.into())
}

/// Where the request came from: the peer address and the user agent.
pub fn request_meta(parts: &Parts) -> RequestMeta {
    let ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(512).collect());
    RequestMeta { ip, user_agent }
}

/// The client metadata as an extractor.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Meta(request_meta(parts)))
    }
}

/// What a tenant route needs of its caller.
pub trait Permission: Send + Sync + 'static {
    /// The need; `None` accepts any authenticated user or key.
    const NEED: Option<Need>;
}

/// Any authenticated user or key of an active tenant.
pub struct AnyCaller;
impl Permission for AnyCaller {
    const NEED: Option<Need> = None;
}
/// Read users: admin role or `users:read`.
pub struct ReadUsers;
impl Permission for ReadUsers {
    const NEED: Option<Need> = Some(users::READ);
}
/// Change users: admin role or `users:write`.
pub struct WriteUsers;
impl Permission for WriteUsers {
    const NEED: Option<Need> = Some(users::WRITE);
}
/// Manage API keys: admin role or `api_keys:manage`.
pub struct ManageKeys;
impl Permission for ManageKeys {
    const NEED: Option<Need> = Some(api_keys::MANAGE);
}

/// Send SMS: any user or `sms:send`.
pub struct SendSms;
impl Permission for SendSms {
    const NEED: Option<Need> = Some(irisx_core::usecase::sms::SEND);
}
/// Read SMS: any user or `sms:read`.
pub struct ReadSms;
impl Permission for ReadSms {
    const NEED: Option<Need> = Some(irisx_core::usecase::sms::READ);
}
/// Manage numbers, provider accounts and routes: admin role or `numbers:manage`.
pub struct ManageNumbers;
impl Permission for ManageNumbers {
    const NEED: Option<Need> = Some(irisx_core::usecase::accounts::MANAGE);
}

/// Place and control calls: any user or `calls:write`.
pub struct WriteCalls;
impl Permission for WriteCalls {
    const NEED: Option<Need> = Some(irisx_core::usecase::calls::WRITE);
}
/// Read calls and recordings: any user or `calls:read`.
pub struct ReadCalls;
impl Permission for ReadCalls {
    const NEED: Option<Need> = Some(irisx_core::usecase::calls::READ);
}
/// Manage agents: admin role or `calls:write`.
pub struct ManageAgents;
impl Permission for ManageAgents {
    const NEED: Option<Need> = Some(irisx_core::usecase::agents::MANAGE);
}

/// Manage webhook endpoints: admin role or `webhooks:manage`.
pub struct ManageWebhooks;
impl Permission for ManageWebhooks {
    const NEED: Option<Need> = Some(irisx_core::usecase::webhooks::MANAGE);
}

/// The authenticated tenant caller, authorised for `P`. The auth middleware authenticated it already.
pub struct Tenant<P: Permission>(pub TenantPrincipal, pub PhantomData<P>);

impl<S: Send + Sync, P: Permission> FromRequestParts<S> for Tenant<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<TenantPrincipal>()
            .cloned()
            .ok_or_else(|| ApiError::Core(CoreError::Unauthenticated("authentication required".into())))?;
        if let Some(need) = P::NEED {
            principal.authorize(need)?;
        }
        Ok(Tenant(principal, PhantomData))
    }
}

/// What a staff route needs.
pub trait StaffPermission: Send + Sync + 'static {
    /// The least staff role.
    const ROLE: AdminRole;
}
/// Any staff member (readonly and up).
pub struct AnyStaff;
impl StaffPermission for AnyStaff {
    const ROLE: AdminRole = AdminRole::Readonly;
}
/// Staff admins and superadmins.
pub struct StaffAdmin;
impl StaffPermission for StaffAdmin {
    const ROLE: AdminRole = AdminRole::Admin;
}
/// Superadmins only.
pub struct Superadmin;
impl StaffPermission for Superadmin {
    const ROLE: AdminRole = AdminRole::Superadmin;
}

/// The authenticated staff member, with at least `R`'s role.
pub struct Staff<R: StaffPermission>(pub AdminPrincipal, pub PhantomData<R>);

impl<S: Send + Sync, R: StaffPermission> FromRequestParts<S> for Staff<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<AdminPrincipal>()
            .cloned()
            .ok_or_else(|| ApiError::Core(CoreError::Unauthenticated("staff authentication required".into())))?;
        principal.require(R::ROLE)?;
        Ok(Staff(principal, PhantomData))
    }
}
