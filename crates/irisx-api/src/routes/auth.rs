//! `/v1/auth`: sign-up, login, refresh, logout, who am I, password change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use irisx_core::usecase::auth::{self, SignupInput};
use irisx_core::usecase::principal::Caller;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{ApiKeyOut, TenantOut, TokenOut, UserOut};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AnyCaller, ApiJson, Meta, Tenant};

/// The routes that need no authentication.
pub fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(signup)).routes(routes!(login))
}

/// The routes that need a user token or key.
pub fn protected() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupIn {
    /// The company (tenant) name.
    pub company: String,
    /// Your name.
    pub name: String,
    /// Your email: the login.
    pub email: String,
    /// At least 12 characters with three of: lower case, upper case, digits, symbols.
    pub password: String,
}

/// A login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A successful login or sign-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginOut {
    /// The JWT, for `Authorization: Bearer`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// When the token expires (24 h).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: time::OffsetDateTime,
    /// The user.
    pub user: UserOut,
    /// The user's tenant.
    pub tenant: TenantOut,
}

impl From<auth::LoggedIn> for LoginOut {
    fn from(l: auth::LoggedIn) -> Self {
        Self {
            token: l.token.token,
            token_type: "Bearer",
            expires_at: l.token.expires_at,
            user: l.user.into(),
            tenant: l.tenant.into(),
        }
    }
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    /// `user` or `api_key`.
    pub auth_type: &'static str,
    /// The tenant.
    pub tenant: TenantOut,
    /// The user, for a user token.
    pub user: Option<UserOut>,
    /// The key, for an API key.
    pub api_key: Option<ApiKeyOut>,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIn {
    /// The current password.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
}

/// Create a tenant and its owner, and log the owner in. Platforms may switch this off.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = SignupIn,
    responses((status = 201, body = LoginOut), (status = 403, body = ErrorBody, description = "sign-up is switched off"),
        (status = 409, body = ErrorBody, description = "email taken"), (status = 422, body = ErrorBody)))]
async fn signup(
    State(st): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<SignupIn>,
) -> ApiResult<(StatusCode, Json<LoginOut>)> {
    let input = SignupInput {
        company: b.company,
        name: b.name,
        email: b.email,
        password: b.password,
    };
    let done = auth::signup(&st.platform, input, &meta).await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

/// Log in with email and password. Repeated failures slow down, then lock the email for a while.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = LoginOut), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody, description = "locked out")))]
async fn login(
    State(st): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<LoginIn>,
) -> ApiResult<Json<LoginOut>> {
    Ok(Json(
        auth::login(&st.platform, &b.email, &b.password, &meta).await?.into(),
    ))
}

/// The caller: its tenant and its user or API key.
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = MeOut), (status = 401, body = ErrorBody)))]
async fn me(Tenant(p, ..): Tenant<AnyCaller>) -> Json<MeOut> {
    let (auth_type, user, api_key) = match p.caller {
        Caller::User { user, .. } => ("user", Some(user.into()), None),
        Caller::ApiKey(k) => ("api_key", None, Some(k.into())),
    };
    Json(MeOut {
        auth_type,
        tenant: p.tenant.into(),
        user,
        api_key,
    })
}

/// Swap a user token for a fresh one; the old token stops working.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TokenOut), (status = 401, body = ErrorBody)))]
async fn refresh(State(st): State<AppState>, Tenant(p, ..): Tenant<AnyCaller>) -> ApiResult<Json<TokenOut>> {
    Ok(Json(auth::refresh(&st.platform, &p).await?.into()))
}

/// End the session: the token is refused from now on, by every IRISX process.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(st): State<AppState>, Tenant(p, ..): Tenant<AnyCaller>) -> ApiResult<StatusCode> {
    auth::logout(&st.platform, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change your password; your other sessions end.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth", request_body = PasswordIn, security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<AnyCaller>,
    ApiJson(b): ApiJson<PasswordIn>,
) -> ApiResult<StatusCode> {
    auth::change_password(&st.platform, &p, &b.current_password, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
