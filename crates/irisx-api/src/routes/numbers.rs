//! Phone numbers: the tenant's own under `/v1/phone-numbers`, the pool and assignments under `/admin/phone-numbers`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::id::{PhoneNumberId, ProviderAccountId, TenantId};
use irisx_core::ports::messaging::NumberPatch;
use irisx_core::sms::model::{PhoneNumber, SenderType};
use irisx_core::usecase::accounts::{self, NewNumber};
use irisx_core::usecase::calls;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::ListOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{
    AnyStaff, ApiJson, ApiQuery, ManageNumbers, PageQuery, ReadSms, Staff, StaffAdmin, Tenant, path_id,
};

/// The tenant routes.
pub fn tenant() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_numbers))
        .routes(routes!(update_number))
}

/// The staff routes.
pub fn admin() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin_list_numbers, admin_create_number))
        .routes(routes!(admin_assign_number))
}

/// A phone number.
#[derive(Debug, Serialize, ToSchema)]
pub struct NumberOut {
    /// Its id.
    pub id: PhoneNumberId,
    /// The holding tenant (staff views).
    pub tenant_id: Option<TenantId>,
    /// The number or sender id.
    pub number: String,
    /// `long_code`, `toll_free`, `short_code` or `alphanumeric`.
    pub sender_type: SenderType,
    /// e.g. `sms`.
    pub capabilities: Vec<String>,
    /// The account it is on.
    pub account_id: Option<ProviderAccountId>,
    /// The HELP answer.
    pub help_text: Option<String>,
    /// The sender pool it belongs to.
    pub pool: Option<String>,
    /// Where calls to it fetch their call-control document.
    pub voice_url: Option<String>,
}

impl From<PhoneNumber> for NumberOut {
    fn from(n: PhoneNumber) -> Self {
        Self {
            id: n.id,
            tenant_id: n.tenant_id,
            number: n.number,
            sender_type: n.sender_type,
            capabilities: n.capabilities,
            account_id: n.account_id,
            help_text: n.help_text,
            pool: n.pool,
            voice_url: n.voice_url,
        }
    }
}

/// Changes to a number; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberPatchIn {
    /// The HELP answer (null for the default).
    #[serde(default, deserialize_with = "crate::dto::nullable")]
    #[schema(value_type = Option<String>)]
    pub help_text: Option<Option<String>>,
    /// The sender pool (null to leave it): `POST /v1/sms/send` with `sender_pool` sends from its numbers.
    #[serde(default, deserialize_with = "crate::dto::nullable")]
    #[schema(value_type = Option<String>)]
    pub pool: Option<Option<String>>,
    /// Where calls to the number fetch their call-control document (null to stop taking calls on it).
    #[serde(default, deserialize_with = "crate::dto::nullable")]
    #[schema(value_type = Option<String>)]
    pub voice_url: Option<Option<String>>,
}

/// Your numbers.
#[utoipa::path(get, path = "/v1/phone-numbers", tag = "numbers", params(PageQuery), security(("bearer" = []), ("api_key" = ["sms:read"])),
    responses((status = 200, body = ListOut<NumberOut>)))]
async fn list_numbers(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadSms>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<NumberOut>>> {
    Ok(Json(ListOut::from_page(
        accounts::list_numbers(&st.platform, &p, &q.page()?).await?,
        NumberOut::from,
    )))
}

/// Set a number's HELP answer, sender pool and voice URL.
#[utoipa::path(patch, path = "/v1/phone-numbers/{id}", tag = "numbers", params(("id" = String, Path)), request_body = NumberPatchIn,
    security(("bearer" = []), ("api_key" = ["numbers:manage"])), responses((status = 200, body = NumberOut), (status = 404, body = ErrorBody)))]
async fn update_number(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<NumberPatchIn>,
) -> ApiResult<Json<NumberOut>> {
    let patch = NumberPatch {
        help_text: b.help_text,
        pool: b.pool,
    };
    let id = path_id(&id, "phone number")?;
    let n = accounts::update_number(&st.platform, &p, &id, &patch).await?;
    let voice_url = match b.voice_url {
        Some(url) => calls::set_voice_url(&st.platform, &p, &id, url.as_deref()).await?,
        None => calls::voice_url(&st.platform, &p, &id).await?,
    };
    Ok(Json(NumberOut { voice_url, ..n.into() }))
}

/// A number to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberIn {
    /// E.164, or a sender id with `sender_type: alphanumeric`.
    pub number: String,
    /// Default `long_code`.
    pub sender_type: Option<SenderType>,
    /// The account it is provisioned on.
    pub account_id: Option<ProviderAccountId>,
    /// Assign straight to this tenant.
    pub tenant_id: Option<TenantId>,
    /// Default `["sms"]`.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// Which numbers to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NumberQuery {
    /// Items per page, 1 to 200.
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// A tenant's numbers; the unassigned pool when absent.
    pub tenant_id: Option<TenantId>,
}

/// The number pool, or a tenant's numbers.
#[utoipa::path(get, path = "/admin/phone-numbers", tag = "admin", params(NumberQuery), security(("admin_bearer" = [])), responses((status = 200, body = ListOut<NumberOut>)))]
async fn admin_list_numbers(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    ApiQuery(q): ApiQuery<NumberQuery>,
) -> ApiResult<Json<ListOut<NumberOut>>> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    Ok(Json(ListOut::from_page(
        accounts::admin_list_numbers(&st.platform, &a, q.tenant_id.as_ref(), &page).await?,
        NumberOut::from,
    )))
}

/// Add a number to the pool or to a tenant.
#[utoipa::path(post, path = "/admin/phone-numbers", tag = "admin", request_body = NumberIn, security(("admin_bearer" = [])),
    responses((status = 201, body = NumberOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn admin_create_number(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    ApiJson(b): ApiJson<NumberIn>,
) -> ApiResult<(StatusCode, Json<NumberOut>)> {
    let input = NewNumber {
        number: b.number,
        sender_type: b.sender_type.unwrap_or(SenderType::LongCode),
        account_id: b.account_id,
        tenant_id: b.tenant_id,
        capabilities: b.capabilities,
    };
    Ok((
        StatusCode::CREATED,
        Json(accounts::create_number(&st.platform, &a, input).await?.into()),
    ))
}

/// An assignment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// The tenant, or null to return the number to the pool.
    pub tenant_id: Option<TenantId>,
}

/// Assign a number to a tenant, or return it to the pool.
#[utoipa::path(post, path = "/admin/phone-numbers/{id}/assign", tag = "admin", params(("id" = String, Path)), request_body = AssignIn, security(("admin_bearer" = [])),
    responses((status = 200, body = NumberOut), (status = 404, body = ErrorBody)))]
async fn admin_assign_number(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AssignIn>,
) -> ApiResult<Json<NumberOut>> {
    let n = accounts::assign_number(&st.platform, &a, &path_id(&id, "phone number")?, b.tenant_id.as_ref()).await?;
    Ok(Json(n.into()))
}
