//! `/admin`: platform staff. Login, tenants (create with owner, list, read, change, suspend, reactivate,
//! delete), users across tenants, and the audit log. Support and readonly staff only read; only a
//! superadmin deletes tenants.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::CoreError;
use irisx_core::audit::{ActorKind, AuditFilter};
use irisx_core::domain::{Plan, TenantStatus};
use irisx_core::id::{TaskId, TenantId};
use irisx_core::ports::store::{TenantFilter, UserFilter};
use irisx_core::usecase::tenants::{self, NewTenantInput};
use irisx_core::usecase::{auth, users};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{AdminUserOut, AuditOut, ListOut, TenantOut, UserOut, rfc3339_param};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{
    AnyStaff, ApiJson, ApiQuery, Meta, OptionalJson, PageQuery, Staff, StaffAdmin, Superadmin, path_id,
};
use crate::routes::auth::LoginIn;
use crate::routes::users::UserPatchIn;

/// The staff login.
pub fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login))
}

/// Everything else under `/admin`.
pub fn protected() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_tenants, create_tenant))
        .routes(routes!(get_tenant, patch_tenant, delete_tenant))
        .routes(routes!(suspend_tenant))
        .routes(routes!(reactivate_tenant))
        .routes(routes!(list_users))
        .routes(routes!(get_user, patch_user))
        .routes(routes!(audit_log))
}

/// A staff login.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminLoginOut {
    /// The JWT (4 h), for `Authorization: Bearer` on `/admin`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// When the token expires.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// The staff member.
    pub admin: AdminUserOut,
}

/// Log in as platform staff.
#[utoipa::path(post, path = "/admin/auth/login", tag = "admin", request_body = LoginIn,
    responses((status = 200, body = AdminLoginOut), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(st): State<AppState>,
    Meta(meta): Meta,
    ApiJson(b): ApiJson<LoginIn>,
) -> ApiResult<Json<AdminLoginOut>> {
    let l = auth::admin_login(&st.platform, &b.email, &b.password, &meta).await?;
    Ok(Json(AdminLoginOut {
        token: l.token.token,
        token_type: "Bearer",
        expires_at: l.token.expires_at,
        admin: l.admin.into(),
    }))
}

/// End the staff session.
#[utoipa::path(post, path = "/admin/auth/logout", tag = "admin", security(("admin_bearer" = [])), responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(st): State<AppState>, Staff(a, ..): Staff<AnyStaff>) -> ApiResult<StatusCode> {
    auth::admin_logout(&st.platform, &a).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calling staff member.
#[utoipa::path(get, path = "/admin/auth/me", tag = "admin", security(("admin_bearer" = [])), responses((status = 200, body = AdminUserOut)))]
async fn me(Staff(a, ..): Staff<AnyStaff>) -> Json<AdminUserOut> {
    Json(a.admin.into())
}

/// The owner of a new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerIn {
    /// Email: the owner's login.
    pub email: String,
    /// Password.
    pub password: String,
    /// Name.
    pub name: String,
}

/// A new tenant with its owner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantIn {
    /// Name.
    pub name: String,
    /// Plan (default `free`).
    pub plan: Option<Plan>,
    /// The first owner.
    pub owner: OwnerIn,
}

/// A tenant just created, with its owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantCreatedOut {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: TenantOut,
    /// Its owner.
    pub owner: UserOut,
}

/// Changes to a tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatchIn {
    /// New name.
    pub name: Option<String>,
    /// New plan.
    pub plan: Option<Plan>,
}

/// Why a tenant is suspended.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendIn {
    /// A note for the audit log.
    pub reason: Option<String>,
}

/// Tenant list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TenantQuery {
    /// Items per page, 1 to 200.
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only this status.
    pub status: Option<TenantStatus>,
    /// Only names containing this.
    pub q: Option<String>,
}

/// Create a tenant with its owner.
#[utoipa::path(post, path = "/admin/tenants", tag = "admin", request_body = TenantIn, security(("admin_bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same request")),
    responses((status = 201, body = TenantCreatedOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_tenant(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    ApiJson(b): ApiJson<TenantIn>,
) -> ApiResult<(StatusCode, Json<TenantCreatedOut>)> {
    let input = NewTenantInput {
        name: b.name,
        plan: b.plan,
        owner_name: b.owner.name,
        owner_email: b.owner.email,
        owner_password: b.owner.password,
    };
    let (tenant, owner) = tenants::create(&st.platform, &a, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(TenantCreatedOut {
            tenant: tenant.into(),
            owner: owner.into(),
        }),
    ))
}

/// List tenants.
#[utoipa::path(get, path = "/admin/tenants", tag = "admin", params(TenantQuery), security(("admin_bearer" = [])), responses((status = 200, body = ListOut<TenantOut>)))]
async fn list_tenants(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    ApiQuery(q): ApiQuery<TenantQuery>,
) -> ApiResult<Json<ListOut<TenantOut>>> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let filter = TenantFilter {
        status: q.status,
        name_contains: q.q,
    };
    Ok(Json(ListOut::from_page(
        tenants::list(&st.platform, &a, &filter, &page).await?,
        TenantOut::from,
    )))
}

/// Read a tenant.
#[utoipa::path(get, path = "/admin/tenants/{id}", tag = "admin", params(("id" = String, Path)), security(("admin_bearer" = [])),
    responses((status = 200, body = TenantOut), (status = 404, body = ErrorBody)))]
async fn get_tenant(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantOut>> {
    Ok(Json(
        tenants::get(&st.platform, &a, &path_id(&id, "tenant")?).await?.into(),
    ))
}

/// Change a tenant's name or plan.
#[utoipa::path(patch, path = "/admin/tenants/{id}", tag = "admin", params(("id" = String, Path)), request_body = TenantPatchIn, security(("admin_bearer" = [])),
    responses((status = 200, body = TenantOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn patch_tenant(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TenantPatchIn>,
) -> ApiResult<Json<TenantOut>> {
    Ok(Json(
        tenants::patch(&st.platform, &a, &path_id(&id, "tenant")?, b.name, b.plan)
            .await?
            .into(),
    ))
}

/// Suspend a tenant: its keys and tokens are refused at once.
#[utoipa::path(post, path = "/admin/tenants/{id}/suspend", tag = "admin", params(("id" = String, Path)), request_body = Option<SuspendIn>, security(("admin_bearer" = [])),
    responses((status = 200, body = TenantOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn suspend_tenant(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<SuspendIn>,
) -> ApiResult<Json<TenantOut>> {
    let reason = body.and_then(|b| b.reason);
    Ok(Json(
        tenants::set_active(&st.platform, &a, &path_id(&id, "tenant")?, false, reason)
            .await?
            .into(),
    ))
}

/// Reactivate a suspended tenant.
#[utoipa::path(post, path = "/admin/tenants/{id}/reactivate", tag = "admin", params(("id" = String, Path)), security(("admin_bearer" = [])),
    responses((status = 200, body = TenantOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reactivate_tenant(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
) -> ApiResult<Json<TenantOut>> {
    Ok(Json(
        tenants::set_active(&st.platform, &a, &path_id(&id, "tenant")?, true, None)
            .await?
            .into(),
    ))
}

/// A deletion under way.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionOut {
    /// The tenant.
    pub id: TenantId,
    /// Always `deleting`.
    pub status: TenantStatus,
    /// The purge task.
    pub purge_task_id: TaskId,
}

/// Delete a tenant (superadmin): it stops at once and its data is purged by the worker.
#[utoipa::path(delete, path = "/admin/tenants/{id}", tag = "admin", params(("id" = String, Path)), security(("admin_bearer" = [])),
    responses((status = 202, body = DeletionOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_tenant(
    State(st): State<AppState>,
    Staff(a, ..): Staff<Superadmin>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<DeletionOut>)> {
    let id: TenantId = path_id(&id, "tenant")?;
    let task = tenants::delete(&st.platform, &a, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(DeletionOut {
            id,
            status: TenantStatus::Deleting,
            purge_task_id: task,
        }),
    ))
}

/// User list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Items per page, 1 to 200.
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only this tenant's users.
    pub tenant_id: Option<TenantId>,
    /// Only emails containing this.
    pub email: Option<String>,
}

/// List users across tenants.
#[utoipa::path(get, path = "/admin/users", tag = "admin", params(UserQuery), security(("admin_bearer" = [])), responses((status = 200, body = ListOut<UserOut>)))]
async fn list_users(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<ListOut<UserOut>>> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let filter = UserFilter {
        tenant_id: q.tenant_id,
        email_contains: q.email,
    };
    Ok(Json(ListOut::from_page(
        users::admin_list(&st.platform, &a, &filter, &page).await?,
        UserOut::from,
    )))
}

/// Read any user.
#[utoipa::path(get, path = "/admin/users/{id}", tag = "admin", params(("id" = String, Path)), security(("admin_bearer" = [])),
    responses((status = 200, body = UserOut), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    Path(id): Path<String>,
) -> ApiResult<Json<UserOut>> {
    Ok(Json(
        users::admin_get(&st.platform, &a, &path_id(&id, "user")?).await?.into(),
    ))
}

/// Change any user's name, role or status.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", params(("id" = String, Path)), request_body = UserPatchIn, security(("admin_bearer" = [])),
    responses((status = 200, body = UserOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn patch_user(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserPatchIn>,
) -> ApiResult<Json<UserOut>> {
    Ok(Json(
        users::admin_update(&st.platform, &a, &path_id(&id, "user")?, b.into())
            .await?
            .into(),
    ))
}

/// Audit log filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Items per page, 1 to 200.
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only this tenant's entries.
    pub tenant_id: Option<TenantId>,
    /// Only this kind of actor: admin, user, api_key, system, anonymous.
    pub actor_type: Option<String>,
    /// Only this actor.
    pub actor_id: Option<String>,
    /// Only this action, or a prefix ending in `.` (e.g. `tenant.`).
    pub action: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Only entries before this time (RFC 3339).
    pub to: Option<String>,
}

/// Read the audit log.
#[utoipa::path(get, path = "/admin/audit-log", tag = "admin", params(AuditQuery), security(("admin_bearer" = [])), responses((status = 200, body = ListOut<AuditOut>), (status = 422, body = ErrorBody)))]
async fn audit_log(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<ListOut<AuditOut>>> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let actor_kind = q
        .actor_type
        .map(|s| s.parse::<ActorKind>())
        .transpose()
        .map_err(|e| CoreError::Validation(vec![e]))?;
    let filter = AuditFilter {
        tenant_id: q.tenant_id,
        actor_kind,
        actor_id: q.actor_id,
        action: q.action,
        from: rfc3339_param("from", q.from)?,
        to: rfc3339_param("to", q.to)?,
    };
    Ok(Json(ListOut::from_page(
        tenants::audit_log(&st.platform, &a, &filter, &page).await?,
        AuditOut::from,
    )))
}
