//! `/v1/email/templates`: a tenant's templates (minijinja, sandboxed, HTML auto-escaped, a text part derived
//! when none is given) and their preview with sample variables. A template error is 422 naming the part and line.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::email::template::{EmailTemplate, Parts};
use irisx_core::id::TemplateId;
use irisx_core::usecase::email_templates::{self, TemplateInput};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::email::{ReadEmail, SendEmail};
use crate::AppState;
use crate::dto::ListOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, PageQuery, Tenant, path_id};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(preview))
}

/// A template to create, or the fields to change (absent fields are kept; an empty html or text removes it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    /// A name, unique among your templates.
    pub name: Option<String>,
    /// The subject's source, e.g. `Welcome, {{ name }}`.
    pub subject: Option<String>,
    /// The HTML part's source (auto-escaped; `|safe` opts out).
    pub html: Option<String>,
    /// The text part's source; derived from the rendered HTML when absent.
    pub text: Option<String>,
}

impl From<TemplateIn> for TemplateInput {
    fn from(b: TemplateIn) -> Self {
        TemplateInput {
            name: b.name,
            subject: b.subject,
            html: b.html,
            text: b.text,
        }
    }
}

/// A template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateOut {
    /// Its id (`tpl_…`).
    pub id: TemplateId,
    /// Name.
    pub name: String,
    /// Subject source.
    pub subject: String,
    /// HTML source.
    pub html: Option<String>,
    /// Text source.
    pub text: Option<String>,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last changed at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<EmailTemplate> for TemplateOut {
    fn from(t: EmailTemplate) -> Self {
        Self {
            id: t.id,
            name: t.name,
            subject: t.parts.subject,
            html: t.parts.html,
            text: t.parts.text,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// Sample variables for a preview.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewIn {
    /// The variables, a JSON object.
    #[serde(default)]
    pub variables: Option<serde_json::Value>,
}

/// A rendered template.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderedOut {
    /// Subject.
    pub subject: String,
    /// HTML part.
    pub html: Option<String>,
    /// Text part (derived from the HTML when the template has none).
    pub text: Option<String>,
}

impl From<Parts> for RenderedOut {
    fn from(p: Parts) -> Self {
        Self {
            subject: p.subject,
            html: p.html,
            text: p.text,
        }
    }
}

/// Your email templates, newest first.
#[utoipa::path(get, path = "/v1/email/templates", operation_id = "email_list_templates", tag = "email", params(PageQuery),
    security(("bearer" = []), ("api_key" = ["email:read"])), responses((status = 200, body = ListOut<TemplateOut>)))]
async fn list(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadEmail>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<TemplateOut>>> {
    Ok(Json(ListOut::from_page(
        email_templates::list(&st.platform, &p, &q.page()?).await?,
        TemplateOut::from,
    )))
}

/// Create a template: every part must parse (a syntax error is 422 naming the part and the line).
#[utoipa::path(post, path = "/v1/email/templates", operation_id = "email_create_template", tag = "email", request_body = TemplateIn,
    security(("bearer" = []), ("api_key" = ["email:send"])),
    responses((status = 201, body = TemplateOut), (status = 409, body = ErrorBody, description = "the name is taken"), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendEmail>,
    ApiJson(b): ApiJson<TemplateIn>,
) -> ApiResult<(StatusCode, Json<TemplateOut>)> {
    let t = email_templates::create(&st.platform, &p, b.into()).await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

/// Read a template.
#[utoipa::path(get, path = "/v1/email/templates/{id}", operation_id = "email_get_template", tag = "email", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = ["email:read"])), responses((status = 200, body = TemplateOut), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadEmail>,
    Path(id): Path<String>,
) -> ApiResult<Json<TemplateOut>> {
    let t = email_templates::get(&st.platform, &p, &path_id(&id, "email template")?).await?;
    Ok(Json(t.into()))
}

/// Change a template.
#[utoipa::path(patch, path = "/v1/email/templates/{id}", operation_id = "email_update_template", tag = "email", params(("id" = String, Path)),
    request_body = TemplateIn, security(("bearer" = []), ("api_key" = ["email:send"])),
    responses((status = 200, body = TemplateOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendEmail>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TemplateIn>,
) -> ApiResult<Json<TemplateOut>> {
    let t = email_templates::update(&st.platform, &p, &path_id(&id, "email template")?, b.into()).await?;
    Ok(Json(t.into()))
}

/// Delete a template.
#[utoipa::path(delete, path = "/v1/email/templates/{id}", operation_id = "email_delete_template", tag = "email", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = ["email:send"])), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendEmail>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    email_templates::delete(&st.platform, &p, &path_id(&id, "email template")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Render a template with sample variables, as a send would (a render error is 422 naming the part and line).
#[utoipa::path(post, path = "/v1/email/templates/{id}/preview", operation_id = "email_preview_template", tag = "email", params(("id" = String, Path)),
    request_body = PreviewIn, security(("bearer" = []), ("api_key" = ["email:read"])),
    responses((status = 200, body = RenderedOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadEmail>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PreviewIn>,
) -> ApiResult<Json<RenderedOut>> {
    let variables = b.variables.unwrap_or_else(|| serde_json::json!({}));
    let r = email_templates::preview(&st.platform, &p, &path_id(&id, "email template")?, &variables).await?;
    Ok(Json(r.into()))
}
