//! `/v1/users`: a tenant's users, managed by its owners and admins.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::domain::{Role, UserStatus};
use irisx_core::ports::store::UserPatch;
use irisx_core::usecase::users::{self, NewUserInput};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{ListOut, UserOut};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, PageQuery, ReadUsers, Tenant, WriteUsers, path_id};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    /// Name.
    pub name: String,
    /// Email: the login, unique across IRISX.
    pub email: String,
    /// Initial password.
    pub password: String,
    /// Role; only an owner may create an owner.
    pub role: Role,
}

/// Changes to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchIn {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New status.
    pub status: Option<UserStatus>,
}

impl From<UserPatchIn> for UserPatch {
    fn from(b: UserPatchIn) -> Self {
        UserPatch {
            name: b.name,
            role: b.role,
            status: b.status,
        }
    }
}

/// List your tenant's users.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(PageQuery), security(("bearer" = []), ("api_key" = ["users:read"])),
    responses((status = 200, body = ListOut<UserOut>), (status = 403, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadUsers>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<UserOut>>> {
    let page = users::list(&st.platform, &p, &q.page()?).await?;
    Ok(Json(ListOut::from_page(page, UserOut::from)))
}

/// Add a user to your tenant.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = UserIn, security(("bearer" = []), ("api_key" = ["users:write"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same request")),
    responses((status = 201, body = UserOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<WriteUsers>,
    ApiJson(b): ApiJson<UserIn>,
) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let input = NewUserInput {
        name: b.name,
        email: b.email,
        password: b.password,
        role: b.role,
    };
    let user = users::create(&st.platform, &p, input).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Read one of your tenant's users.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["users:read"])),
    responses((status = 200, body = UserOut), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadUsers>,
    Path(id): Path<String>,
) -> ApiResult<Json<UserOut>> {
    Ok(Json(users::get(&st.platform, &p, &path_id(&id, "user")?).await?.into()))
}

/// Change a user's name, role or status.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UserPatchIn,
    security(("bearer" = []), ("api_key" = ["users:write"])),
    responses((status = 200, body = UserOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<WriteUsers>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserPatchIn>,
) -> ApiResult<Json<UserOut>> {
    Ok(Json(
        users::update(&st.platform, &p, &path_id(&id, "user")?, b.into())
            .await?
            .into(),
    ))
}

/// Remove a user and end its sessions.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["users:write"])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<WriteUsers>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    users::delete(&st.platform, &p, &path_id(&id, "user")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
