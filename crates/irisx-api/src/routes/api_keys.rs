//! `/v1/api-keys`: create (the key is shown once), list, read, revoke.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::domain::{ApiKeyEnvironment, Scope};
use irisx_core::usecase::api_keys;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{ApiKeyOut, ListOut};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ManageKeys, PageQuery, Tenant, path_id};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, revoke))
}

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyIn {
    /// A name for people.
    pub name: String,
    /// What it may do (at least one).
    pub scopes: Vec<Scope>,
    /// `live` (default) or `test`.
    pub environment: Option<ApiKeyEnvironment>,
}

/// A key just created: `key` is shown only in this response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedOut {
    /// The key.
    #[serde(flatten)]
    pub api_key: ApiKeyOut,
    /// The key's text, `irisx_live_<64 hex>`: store it now, it is never shown again.
    pub key: String,
}

/// List your tenant's keys (revoked ones included).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(PageQuery), security(("bearer" = []), ("api_key" = ["api_keys:manage"])),
    responses((status = 200, body = ListOut<ApiKeyOut>), (status = 403, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageKeys>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<ApiKeyOut>>> {
    let page = api_keys::list(&st.platform, &p, &q.page()?).await?;
    Ok(Json(ListOut::from_page(page, ApiKeyOut::from)))
}

/// Create a key. The key's text is in this response only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = ApiKeyIn, security(("bearer" = []), ("api_key" = ["api_keys:manage"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same request")),
    responses((status = 201, body = ApiKeyCreatedOut), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageKeys>,
    ApiJson(b): ApiJson<ApiKeyIn>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreatedOut>)> {
    let env = b.environment.unwrap_or(ApiKeyEnvironment::Live);
    let created = api_keys::create(&st.platform, &p, &b.name, b.scopes, env).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreatedOut {
            api_key: created.key.into(),
            key: created.secret,
        }),
    ))
}

/// Read one key.
#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["api_keys:manage"])),
    responses((status = 200, body = ApiKeyOut), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageKeys>,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyOut>> {
    Ok(Json(
        api_keys::get(&st.platform, &p, &path_id(&id, "API key")?).await?.into(),
    ))
}

/// Revoke a key: it is refused from the next request on.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["api_keys:manage"])),
    responses((status = 200, body = ApiKeyOut), (status = 404, body = ErrorBody)))]
async fn revoke(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageKeys>,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiKeyOut>> {
    Ok(Json(
        api_keys::revoke(&st.platform, &p, &path_id(&id, "API key")?)
            .await?
            .into(),
    ))
}
