//! SIP trunks: the tenant's own under `/v1/sip-trunks`, the platform's under `/admin/sip-trunks`. A tenant's
//! calls use its own trunks when it has any, else the platform's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::CoreError;
use irisx_core::calls::{CallerIdMode, NumberFormat, SipTrunk, TrunkRate, TrunkTransport};
use irisx_core::id::SipTrunkId;
use irisx_core::usecase::accounts::Owner;
use irisx_core::usecase::trunks::{self, NewTrunk, TrunkChange};
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
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
}

/// The staff routes.
pub fn admin() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin_list, admin_create))
        .routes(routes!(admin_get, admin_update, admin_delete))
}

/// A cost per minute for destinations starting with a prefix.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateIo {
    /// `+` then digits (`+1`, `+4420`), or `+` for every destination. The longest matching prefix applies.
    pub prefix: String,
    /// The carrier's cost per minute, micro-units.
    pub cost_micros_per_minute: i64,
}

/// A trunk to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkIn {
    /// A name.
    pub name: String,
    /// The carrier's SIP host.
    pub host: String,
    /// Its SIP port (default 5060).
    pub port: Option<u16>,
    /// `udp` (default) or `tcp`.
    pub transport: Option<TrunkTransport>,
    /// Digest user name, when the carrier challenges.
    pub username: Option<String>,
    /// Digest password: sealed at rest, never shown again.
    pub password: Option<String>,
    /// The caller id every call through it presents (E.164), replacing the call's `from`.
    pub caller_id: Option<String>,
    /// `any` (default): the call's `from` is presented as given; `owned`: only the tenant's own numbers, a call
    /// from another number does not use this trunk (a fixed `caller_id` is always presented).
    pub caller_id_mode: Option<CallerIdMode>,
    /// How numbers are written in the INVITE's To and From: `e164` (default, `+15551234567`) or `digits`
    /// (`15551234567`).
    pub number_format: Option<NumberFormat>,
    /// Codecs in preference order: `PCMU`, `PCMA` (default both).
    #[serde(default)]
    pub codecs: Vec<String>,
    /// Concurrent calls the carrier allows (0: none of its own).
    #[serde(default)]
    pub max_calls: u32,
    /// Cost per minute by destination prefix.
    pub rates: Vec<RateIo>,
    /// ISO 4217 (default USD).
    pub currency: Option<String>,
}

/// A trunk (its credentials are never shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrunkOut {
    /// Its id.
    pub id: SipTrunkId,
    /// Name.
    pub name: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `udp` or `tcp`.
    pub transport: TrunkTransport,
    /// Whether digest credentials are set.
    pub has_credentials: bool,
    /// The caller id it presents.
    pub caller_id: Option<String>,
    /// Which caller ids it presents: `any` or `owned`.
    pub caller_id_mode: CallerIdMode,
    /// How numbers are written to its carrier: `e164` or `digits`.
    pub number_format: NumberFormat,
    /// Codecs.
    pub codecs: Vec<String>,
    /// Concurrent calls the carrier allows.
    pub max_calls: u32,
    /// Cost per minute by destination prefix.
    pub rates: Vec<RateIo>,
    /// Currency.
    pub currency: String,
    /// Whether calls use it.
    pub enabled: bool,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<SipTrunk> for TrunkOut {
    fn from(t: SipTrunk) -> Self {
        Self {
            id: t.id,
            name: t.name,
            host: t.host,
            port: t.port,
            transport: t.transport,
            has_credentials: t.sealed_credentials.is_some(),
            caller_id: t.caller_id,
            caller_id_mode: t.caller_id_mode,
            number_format: t.number_format,
            codecs: t.codecs,
            max_calls: t.max_calls,
            rates: t
                .rates
                .into_iter()
                .map(|r| RateIo {
                    prefix: r.prefix,
                    cost_micros_per_minute: r.cost_micros_per_minute,
                })
                .collect(),
            currency: t.currency,
            enabled: t.enabled,
            created_at: t.created_at,
        }
    }
}

/// A change to a trunk: fields left out keep their values; `null` clears `caller_id`, and `username` with
/// `password` replace the credentials (both `null` removes them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkPatch {
    /// A name.
    pub name: Option<String>,
    /// The carrier's SIP host.
    pub host: Option<String>,
    /// Its SIP port.
    pub port: Option<u16>,
    /// `udp` or `tcp`.
    pub transport: Option<TrunkTransport>,
    /// Digest user name (with `password`).
    #[serde(default, deserialize_with = "crate::dto::nullable")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
    /// Digest password (with `username`): sealed at rest, never shown again.
    #[serde(default, deserialize_with = "crate::dto::nullable")]
    #[schema(value_type = Option<String>)]
    pub password: Option<Option<String>>,
    /// The fixed caller id, or `null` for none.
    #[serde(default, deserialize_with = "crate::dto::nullable")]
    #[schema(value_type = Option<String>)]
    pub caller_id: Option<Option<String>>,
    /// `any` or `owned`.
    pub caller_id_mode: Option<CallerIdMode>,
    /// `e164` or `digits`.
    pub number_format: Option<NumberFormat>,
    /// Codecs in preference order.
    pub codecs: Option<Vec<String>>,
    /// Concurrent calls the carrier allows (0: none of its own).
    pub max_calls: Option<u32>,
    /// Cost per minute by destination prefix (replaces them all).
    pub rates: Option<Vec<RateIo>>,
    /// ISO 4217.
    pub currency: Option<String>,
    /// Whether calls use it.
    pub enabled: Option<bool>,
}

impl TrunkPatch {
    fn into_change(self) -> ApiResult<TrunkChange> {
        let credentials = match (self.username, self.password) {
            (None, None) => None,
            (Some(Some(u)), Some(Some(pw))) => Some(Some((u, pw))),
            (Some(None), Some(None)) => Some(None),
            _ => {
                return Err(CoreError::field(
                    "password",
                    "incomplete_credentials",
                    "give both username and password, or both null to remove them",
                )
                .into());
            }
        };
        Ok(TrunkChange {
            name: self.name,
            host: self.host,
            port: self.port,
            transport: self.transport,
            credentials,
            caller_id: self.caller_id,
            caller_id_mode: self.caller_id_mode,
            number_format: self.number_format,
            codecs: self.codecs,
            max_calls: self.max_calls,
            rates: self.rates.map(rates),
            currency: self.currency,
            enabled: self.enabled,
        })
    }
}

fn rates(io: Vec<RateIo>) -> Vec<TrunkRate> {
    io.into_iter()
        .map(|r| TrunkRate {
            prefix: r.prefix,
            cost_micros_per_minute: r.cost_micros_per_minute,
        })
        .collect()
}

impl From<TrunkIn> for NewTrunk {
    fn from(b: TrunkIn) -> Self {
        NewTrunk {
            name: b.name,
            host: b.host,
            port: b.port.unwrap_or(5060),
            transport: b.transport.unwrap_or(TrunkTransport::Udp),
            username: b.username,
            password: b.password,
            caller_id: b.caller_id,
            caller_id_mode: b.caller_id_mode.unwrap_or(CallerIdMode::Any),
            number_format: b.number_format.unwrap_or(NumberFormat::E164),
            codecs: b.codecs,
            max_calls: b.max_calls,
            rates: rates(b.rates),
            currency: b.currency.unwrap_or_else(|| "USD".into()),
        }
    }
}

/// Your own SIP trunks.
#[utoipa::path(get, path = "/v1/sip-trunks", tag = "calls", params(PageQuery), security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 200, body = ListOut<TrunkOut>)))]
async fn list(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<TrunkOut>>> {
    Ok(Json(ListOut::from_page(
        trunks::list(&st.platform, Owner::Tenant(&p), &q.page()?).await?,
        TrunkOut::from,
    )))
}

/// Add a SIP trunk of your own. When you have trunks, the platform's are not used for your calls.
#[utoipa::path(post, path = "/v1/sip-trunks", tag = "calls", request_body = TrunkIn, security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 201, body = TrunkOut), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    ApiJson(b): ApiJson<TrunkIn>,
) -> ApiResult<(StatusCode, Json<TrunkOut>)> {
    let t = trunks::create(&st.platform, Owner::Tenant(&p), b.into()).await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

/// Read one of your SIP trunks.
#[utoipa::path(get, path = "/v1/sip-trunks/{id}", tag = "calls", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 200, body = TrunkOut), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    Path(id): Path<String>,
) -> ApiResult<Json<TrunkOut>> {
    let t = trunks::get(&st.platform, Owner::Tenant(&p), &path_id(&id, "SIP trunk")?).await?;
    Ok(Json(t.into()))
}

/// Change one of your SIP trunks (disable it, change its rates, rules or credentials).
#[utoipa::path(patch, path = "/v1/sip-trunks/{id}", tag = "calls", params(("id" = String, Path)), request_body = TrunkPatch,
    security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 200, body = TrunkOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TrunkPatch>,
) -> ApiResult<Json<TrunkOut>> {
    let id = path_id(&id, "SIP trunk")?;
    let t = trunks::update(&st.platform, Owner::Tenant(&p), &id, b.into_change()?).await?;
    Ok(Json(t.into()))
}

/// Delete one of your SIP trunks.
#[utoipa::path(delete, path = "/v1/sip-trunks/{id}", tag = "calls", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["numbers:manage"])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageNumbers>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    trunks::delete(&st.platform, Owner::Tenant(&p), &path_id(&id, "SIP trunk")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The platform's SIP trunks.
#[utoipa::path(get, path = "/admin/sip-trunks", tag = "admin", params(PageQuery), security(("admin_bearer" = [])), responses((status = 200, body = ListOut<TrunkOut>)))]
async fn admin_list(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<TrunkOut>>> {
    Ok(Json(ListOut::from_page(
        trunks::list(&st.platform, Owner::Platform(&a), &q.page()?).await?,
        TrunkOut::from,
    )))
}

/// Add a platform SIP trunk (used by tenants without trunks of their own).
#[utoipa::path(post, path = "/admin/sip-trunks", tag = "admin", request_body = TrunkIn, security(("admin_bearer" = [])),
    responses((status = 201, body = TrunkOut), (status = 422, body = ErrorBody)))]
async fn admin_create(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    ApiJson(b): ApiJson<TrunkIn>,
) -> ApiResult<(StatusCode, Json<TrunkOut>)> {
    let t = trunks::create(&st.platform, Owner::Platform(&a), b.into()).await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

/// Read a platform SIP trunk.
#[utoipa::path(get, path = "/admin/sip-trunks/{id}", tag = "admin", params(("id" = String, Path)), security(("admin_bearer" = [])),
    responses((status = 200, body = TrunkOut), (status = 404, body = ErrorBody)))]
async fn admin_get(
    State(st): State<AppState>,
    Staff(a, ..): Staff<AnyStaff>,
    Path(id): Path<String>,
) -> ApiResult<Json<TrunkOut>> {
    let t = trunks::get(&st.platform, Owner::Platform(&a), &path_id(&id, "SIP trunk")?).await?;
    Ok(Json(t.into()))
}

/// Change a platform SIP trunk.
#[utoipa::path(patch, path = "/admin/sip-trunks/{id}", tag = "admin", params(("id" = String, Path)), request_body = TrunkPatch,
    security(("admin_bearer" = [])),
    responses((status = 200, body = TrunkOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn admin_update(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TrunkPatch>,
) -> ApiResult<Json<TrunkOut>> {
    let id = path_id(&id, "SIP trunk")?;
    let t = trunks::update(&st.platform, Owner::Platform(&a), &id, b.into_change()?).await?;
    Ok(Json(t.into()))
}

/// Delete a platform SIP trunk.
#[utoipa::path(delete, path = "/admin/sip-trunks/{id}", tag = "admin", params(("id" = String, Path)), security(("admin_bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn admin_delete(
    State(st): State<AppState>,
    Staff(a, ..): Staff<StaffAdmin>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    trunks::delete(&st.platform, Owner::Platform(&a), &path_id(&id, "SIP trunk")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
