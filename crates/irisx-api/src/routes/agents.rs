//! Agents under `/v1/agents`: SIP users a softphone registers as (digest authentication, the user name and
//! password given here) to be reached by `<Dial><Client>user</Client></Dial>`. User names are unique across
//! the platform.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::calls::Agent;
use irisx_core::id::AgentId;
use irisx_core::usecase::agents::{self, NewAgent};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::ListOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ManageAgents, PageQuery, Tenant, path_id};

/// The tenant routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, delete))
}

/// An agent to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentIn {
    /// The SIP user name: 3 to 64 lower-case letters, digits, `.`, `-` or `_`, unique on the platform.
    pub username: String,
    /// A display name.
    pub name: String,
    /// The SIP digest password, 12 to 128 characters: sealed at rest, never shown again.
    pub password: String,
}

/// An agent (its password is never shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentOut {
    /// Its id.
    pub id: AgentId,
    /// The SIP user name.
    pub username: String,
    /// The display name.
    pub name: String,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Agent> for AgentOut {
    fn from(a: Agent) -> Self {
        Self {
            id: a.id,
            username: a.username,
            name: a.name,
            created_at: a.created_at,
        }
    }
}

/// Your agents.
#[utoipa::path(get, path = "/v1/agents", tag = "calls", params(PageQuery), security(("bearer" = []), ("api_key" = ["calls:write"])),
    responses((status = 200, body = ListOut<AgentOut>)))]
async fn list(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageAgents>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<AgentOut>>> {
    Ok(Json(ListOut::from_page(
        agents::list(&st.platform, &p, &q.page()?).await?,
        AgentOut::from,
    )))
}

/// Create an agent (409 when the user name is taken).
#[utoipa::path(post, path = "/v1/agents", tag = "calls", request_body = AgentIn, security(("bearer" = []), ("api_key" = ["calls:write"])),
    responses((status = 201, body = AgentOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageAgents>,
    ApiJson(b): ApiJson<AgentIn>,
) -> ApiResult<(StatusCode, Json<AgentOut>)> {
    let input = NewAgent {
        username: b.username,
        name: b.name,
        password: b.password,
    };
    Ok((
        StatusCode::CREATED,
        Json(agents::create(&st.platform, &p, input).await?.into()),
    ))
}

/// Read one of your agents.
#[utoipa::path(get, path = "/v1/agents/{id}", tag = "calls", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["calls:write"])),
    responses((status = 200, body = AgentOut), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageAgents>,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentOut>> {
    Ok(Json(
        agents::get(&st.platform, &p, &path_id(&id, "agent")?).await?.into(),
    ))
}

/// Delete one of your agents.
#[utoipa::path(delete, path = "/v1/agents/{id}", tag = "calls", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["calls:write"])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageAgents>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    agents::delete(&st.platform, &p, &path_id(&id, "agent")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
