//! Provider accounts and routes: the tenant's own (bring your own credentials) under `/v1/providers` and
//! `/v1/routes`, the platform's under `/admin/providers` and `/admin/routes`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::id::{ProviderAccountId, RouteId};
use irisx_core::sms::model::{Channel, ProviderAccount, Route};
use irisx_core::sms::provider::ProviderKind;
use irisx_core::usecase::accounts::{self, NewAccount, NewRoute, Owner};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::ListOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AnyStaff, ApiJson, ApiQuery, ManageNumbers, PageQuery, Staff, StaffAdmin, Tenant, path_id};

/// The tenant routes.
pub fn tenant() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(delete_account))
        .routes(routes!(list_routes, create_route))
        .routes(routes!(delete_route))
}

/// The staff routes.
pub fn admin() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin_list_accounts, admin_create_account))
        .routes(routes!(admin_delete_account))
        .routes(routes!(admin_list_routes, admin_create_route))
        .routes(routes!(admin_delete_route))
}

/// A provider account (its credentials are never shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    /// Its id.
    pub id: ProviderAccountId,
    /// The vendor.
    pub kind: ProviderKind,
    /// What it carries: `sms` or `email`.
    pub channel: Channel,
    /// Name.
    pub name: String,
    /// Another API address.
    pub base_url: Option<String>,
    /// Whether it is used.
    pub enabled: bool,
    /// Where the vendor must post delivery receipts and inbound messages: `<public url>/v1/callbacks/sms/<id>/status`
    /// and `.../inbound`; for email, tracking events to `<public url>/v1/callbacks/email/<id>/events`.
    pub callback_path: String,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<ProviderAccount> for AccountOut {
    fn from(a: ProviderAccount) -> Self {
        Self {
            callback_path: format!("/v1/callbacks/{}/{}", a.channel.as_str(), a.id),
            id: a.id,
            kind: a.kind,
            channel: a.channel,
            name: a.name,
            base_url: a.base_url,
            enabled: a.enabled,
            created_at: a.created_at,
        }
    }
}

/// A route.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteOut {
    /// Its id.
    pub id: RouteId,
    /// Destination prefix (`+` for all).
    pub prefix: String,
    /// The account.
    pub account_id: ProviderAccountId,
    /// Cost per segment, micro-units.
    pub cost_micros: i64,
    /// Currency.
    pub currency: String,
    /// Tie-breaker.
    pub priority: i32,
}

impl From<Route> for RouteOut {
    fn from(r: Route) -> Self {
        Self {
            id: r.id,
            prefix: r.prefix,
            account_id: r.account_id,
            cost_micros: r.cost_micros,
            currency: r.currency,
            priority: r.priority,
        }
    }
}

/// A new provider account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountIn {
    /// The vendor: an SMS vendor, an email vendor (`sendgrid`, `mailgun`, `postmark`, `ses`, `smtp`) or `sandbox`.
    pub kind: ProviderKind,
    /// `sms` or `email`; by default email for the email vendors and SMS for the others (and the sandbox).
    pub channel: Option<Channel>,
    /// A name.
    pub name: String,
    /// The vendor's credentials, e.g. `{"account_sid": …, "auth_token": …}` for Twilio. Sealed at rest, never
    /// shown again.
    pub credentials: serde_json::Value,
    /// Another API address (platform accounts only).
    pub base_url: Option<String>,
}

impl From<AccountIn> for NewAccount {
    fn from(b: AccountIn) -> Self {
        NewAccount {
            kind: b.kind,
            channel: b.channel,
            name: b.name,
            credentials: b.credentials,
            base_url: b.base_url,
        }
    }
}

/// A new route.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteIn {
    /// SMS: destination prefix with `+` (`+1`, `+4420`), or `+` for every destination. Email: a recipient domain
    /// (`example.com`, also serving its subdomains), or `*` for every domain.
    pub prefix: String,
    /// The account that sends.
    pub account_id: ProviderAccountId,
    /// The provider's cost per segment (SMS) or per recipient (email), in micro-units.
    pub cost_micros: i64,
    /// ISO 4217 (default USD).
    pub currency: Option<String>,
    /// Among equal costs, lower first.
    #[serde(default)]
    pub priority: i32,
}

impl From<RouteIn> for NewRoute {
    fn from(b: RouteIn) -> Self {
        NewRoute {
            prefix: b.prefix,
            account_id: b.account_id,
            cost_micros: b.cost_micros,
            currency: b.currency.unwrap_or_else(|| "USD".into()),
            priority: b.priority,
        }
    }
}

/// Your own provider accounts (bring your own credentials).
#[utoipa::path(get, path = "/v1/providers", tag = "numbers", params(PageQuery), security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 200, body = ListOut<AccountOut>)))]
async fn list_accounts(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<AccountOut>>> {
    Ok(Json(ListOut::from_page(
        accounts::list_accounts(&st.platform, Owner::Tenant(&p), &q.page()?).await?,
        AccountOut::from,
    )))
}

/// Add a provider account with your credentials (checked, sealed, never shown again).
#[utoipa::path(post, path = "/v1/providers", tag = "numbers", request_body = AccountIn, security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 201, body = AccountOut), (status = 422, body = ErrorBody)))]
async fn create_account(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    ApiJson(b): ApiJson<AccountIn>,
) -> ApiResult<(StatusCode, Json<AccountOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            accounts::create_account(&st.platform, Owner::Tenant(&p), b.into())
                .await?
                .into(),
        ),
    ))
}

/// Delete a provider account and its routes.
#[utoipa::path(delete, path = "/v1/providers/{id}", tag = "numbers", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_account(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    accounts::delete_account(&st.platform, Owner::Tenant(&p), &path_id(&id, "provider account")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your own routes.
#[utoipa::path(get, path = "/v1/routes", tag = "numbers", params(PageQuery), security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 200, body = ListOut<RouteOut>)))]
async fn list_routes(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<RouteOut>>> {
    Ok(Json(ListOut::from_page(
        accounts::list_routes(&st.platform, Owner::Tenant(&p), &q.page()?).await?,
        RouteOut::from,
    )))
}

/// Add a route over one of your accounts. When you have routes for a destination, the platform's are not used.
#[utoipa::path(post, path = "/v1/routes", tag = "numbers", request_body = RouteIn, security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 201, body = RouteOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_route(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    ApiJson(b): ApiJson<RouteIn>,
) -> ApiResult<(StatusCode, Json<RouteOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            accounts::create_route(&st.platform, Owner::Tenant(&p), b.into())
                .await?
                .into(),
        ),
    ))
}

/// Delete one of your routes.
#[utoipa::path(delete, path = "/v1/routes/{id}", tag = "numbers", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_route(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    accounts::delete_route(&st.platform, Owner::Tenant(&p), &path_id(&id, "route")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The platform's provider accounts.
#[utoipa::path(get, path = "/admin/providers", tag = "admin", params(PageQuery), security(("admin_bearer" = [])), responses((status = 200, body = ListOut<AccountOut>)))]
async fn admin_list_accounts(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<AccountOut>>> {
    Ok(Json(ListOut::from_page(
        accounts::list_accounts(&st.platform, Owner::Platform(&a), &q.page()?).await?,
        AccountOut::from,
    )))
}

/// Add a platform provider account.
#[utoipa::path(post, path = "/admin/providers", tag = "admin", request_body = AccountIn, security(("admin_bearer" = [])),
    responses((status = 201, body = AccountOut), (status = 422, body = ErrorBody)))]
async fn admin_create_account(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    ApiJson(b): ApiJson<AccountIn>,
) -> ApiResult<(StatusCode, Json<AccountOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            accounts::create_account(&st.platform, Owner::Platform(&a), b.into())
                .await?
                .into(),
        ),
    ))
}

/// Delete a platform provider account.
#[utoipa::path(delete, path = "/admin/providers/{id}", tag = "admin", params(("id" = String, Path)), security(("admin_bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn admin_delete_account(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    accounts::delete_account(&st.platform, Owner::Platform(&a), &path_id(&id, "provider account")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The platform's routes.
#[utoipa::path(get, path = "/admin/routes", tag = "admin", params(PageQuery), security(("admin_bearer" = [])), responses((status = 200, body = ListOut<RouteOut>)))]
async fn admin_list_routes(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<RouteOut>>> {
    Ok(Json(ListOut::from_page(
        accounts::list_routes(&st.platform, Owner::Platform(&a), &q.page()?).await?,
        RouteOut::from,
    )))
}

/// Add a platform route.
#[utoipa::path(post, path = "/admin/routes", tag = "admin", request_body = RouteIn, security(("admin_bearer" = [])),
    responses((status = 201, body = RouteOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn admin_create_route(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    ApiJson(b): ApiJson<RouteIn>,
) -> ApiResult<(StatusCode, Json<RouteOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            accounts::create_route(&st.platform, Owner::Platform(&a), b.into())
                .await?
                .into(),
        ),
    ))
}

/// Delete a platform route.
#[utoipa::path(delete, path = "/admin/routes/{id}", tag = "admin", params(("id" = String, Path)), security(("admin_bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn admin_delete_route(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    accounts::delete_route(&st.platform, Owner::Platform(&a), &path_id(&id, "route")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
