//! Request middleware: request ids, authentication and rate limits, idempotent replays, metrics.

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use irisx_core::CoreError;
use irisx_core::ports::store::IdempotencyRecord;
use irisx_core::usecase::principal::{AdminPrincipal, TenantPrincipal};
use irisx_core::usecase::{auth, rate};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::AppState;
use crate::error::{ApiError, REQUEST_ID, rate_headers};
use crate::extract::request_meta;

/// Runs the rest of the request with its id in [`REQUEST_ID`], so error bodies and logs can quote it.
pub async fn request_id_scope(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| "-".to_owned(), str::to_owned);
    REQUEST_ID.scope(id, next.run(req)).await
}

fn credential(req: &Request) -> Option<String> {
    if let Some(k) = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_owned());
    }
    let auth = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

fn unauthenticated(message: &str) -> Response {
    let mut r = ApiError::Core(CoreError::Unauthenticated(message.into())).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"irisx\""),
    );
    r
}

/// Authenticates a tenant's user token or API key and applies the key and tenant rate limits.
pub async fn tenant_auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(cred) = credential(&req) else {
        return unauthenticated("send an API key in `X-API-Key` or a token in `Authorization: Bearer`");
    };
    let (mut parts, body) = req.into_parts();
    let meta = request_meta(&parts);
    let principal = match auth::authenticate(&st.platform, &cred, &meta).await {
        Ok(p) => p,
        Err(CoreError::Unauthenticated(m)) => return unauthenticated(&m),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let decision = match rate::check_tenant(&st.platform, &principal).await {
        Ok(d) => d,
        Err(e) => return ApiError::from(e).into_response(),
    };
    parts.extensions.insert(principal);
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    rate_headers(resp.headers_mut(), &decision);
    resp
}

/// Authenticates a staff token.
pub async fn admin_auth(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(cred) = credential(&req) else {
        return unauthenticated("send a staff token in `Authorization: Bearer`");
    };
    let (mut parts, body) = req.into_parts();
    let meta = request_meta(&parts);
    match auth::authenticate_admin(&st.platform, &cred, &meta).await {
        Ok(p) => {
            parts.extensions.insert(p);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(CoreError::Unauthenticated(m)) => unauthenticated(&m),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Limits unauthenticated routes (sign-up, logins) per client IP.
pub async fn public_rate_limit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let ip = request_meta(&parts).ip.unwrap_or_else(|| "unknown".into());
    match rate::check_public(&st.platform, &ip).await {
        Ok(d) => {
            let mut resp = next.run(Request::from_parts(parts, body)).await;
            rate_headers(resp.headers_mut(), &d);
            resp
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

const IDEMPOTENCY_WAIT: Duration = Duration::from_secs(10);
const IDEMPOTENCY_LOCK: Duration = Duration::from_secs(60);

/// `Idempotency-Key` on creates: the same key with the same request replays the first response; with another
/// request it is 422; while the first is in flight, later ones wait for it (then replay) or get 409.
pub async fn idempotency(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
    else {
        return next.run(req).await;
    };
    let key = match key {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => k,
        _ => {
            return ApiError::http(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into_response();
        }
    };
    match idempotent(&st, key, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn idempotent(st: &AppState, key: String, req: Request, next: Next) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let scope = if let Some(p) = parts.extensions.get::<TenantPrincipal>() {
        p.tenant_id().to_string()
    } else if let Some(a) = parts.extensions.get::<AdminPrincipal>() {
        format!("admin:{}", a.admin.id)
    } else {
        format!("public:{}", request_meta(&parts).ip.unwrap_or_default())
    };
    // Routes that take large bodies (email) raise their own limit; the extractor behind this still enforces
    // the route's limit on the buffered body.
    let limit = st
        .settings
        .body_limit
        .max(crate::routes::email_inbound::INBOUND_BODY_LIMIT);
    let bytes = to_bytes(body, limit).await.map_err(|_| {
        ApiError::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
    })?;
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update(b" ");
    h.update(parts.uri.path());
    h.update(b"\n");
    h.update(&bytes);
    let hash = hex::encode(h.finalize());
    let store = &st.platform.store;
    let now = OffsetDateTime::now_utc();
    if let Some(rec) = store
        .get_idempotency(&scope, &key, now)
        .await
        .map_err(CoreError::from)?
    {
        return replay(&rec, &hash);
    }
    let lock = format!("idem:{scope}:{key}");
    let owner = uuid::Uuid::now_v7().to_string();
    let cache = &st.platform.cache;
    if !cache
        .try_lock(&lock, &owner, IDEMPOTENCY_LOCK)
        .await
        .map_err(CoreError::from)?
    {
        let started = Instant::now();
        while started.elapsed() < IDEMPOTENCY_WAIT {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let now = OffsetDateTime::now_utc();
            if let Some(rec) = store
                .get_idempotency(&scope, &key, now)
                .await
                .map_err(CoreError::from)?
            {
                return replay(&rec, &hash);
            }
        }
        return Err(CoreError::IdempotencyInProgress.into());
    }
    let result = run_and_record(st, &scope, &key, &hash, parts, bytes, next).await;
    cache.unlock(&lock, &owner).await.map_err(CoreError::from)?;
    result
}

async fn run_and_record(
    st: &AppState,
    scope: &str,
    key: &str,
    hash: &str,
    parts: axum::http::request::Parts,
    bytes: axum::body::Bytes,
    next: Next,
) -> Result<Response, ApiError> {
    let store = &st.platform.store;
    let now = OffsetDateTime::now_utc();
    if let Some(rec) = store.get_idempotency(scope, key, now).await.map_err(CoreError::from)? {
        return replay(&rec, hash);
    }
    let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = resp.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::CONFLICT {
        return Ok(resp);
    }
    let (rparts, rbody) = resp.into_parts();
    let body = to_bytes(rbody, usize::MAX)
        .await
        .map_err(|e| CoreError::Internal(Box::new(e)))?;
    let record = IdempotencyRecord {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_hash: hash.to_owned(),
        status_code: status.as_u16(),
        response_body: String::from_utf8_lossy(&body).into_owned(),
        created_at: now,
        expires_at: now + st.settings.idempotency_ttl,
    };
    store.put_idempotency(&record).await.map_err(CoreError::from)?;
    Ok(Response::from_parts(rparts, Body::from(body)))
}

fn replay(rec: &IdempotencyRecord, hash: &str) -> Result<Response, ApiError> {
    if rec.request_hash != hash {
        return Err(CoreError::IdempotencyMismatch.into());
    }
    let status = StatusCode::from_u16(rec.status_code).unwrap_or(StatusCode::OK);
    let mut resp = (status, rec.response_body.clone()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(resp)
}

/// Counts requests and records their latency by route template, method and status.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("irisx_http_requests_total", &labels).increment(1);
    metrics::histogram!("irisx_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    resp
}
