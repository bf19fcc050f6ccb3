//! `/v1/objects`: the files IRISX keeps for a tenant (email attachments, received emails' parts, recordings).
//! Reading one needs the read scope of its channel; downloading goes through a link that expires after an
//! hour, which `GET /v1/objects/{id}/url` hands out: S3 presigned, or IRISX's own signed download route.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use irisx_core::id::ObjectId;
use irisx_core::ports::objects::{ObjectPurpose, StoredObject};
use irisx_core::usecase::objects;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AnyCaller, ApiQuery, Tenant, path_id};

/// The tenant routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get)).routes(routes!(url))
}

/// The signed download route (no IRISX credentials: the link's signature is the credential).
pub fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download))
}

/// A stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectOut {
    /// Its id (`obj_…`).
    pub id: String,
    /// What it is for.
    pub purpose: ObjectPurpose,
    /// The name it downloads as.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// When it was stored.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<StoredObject> for ObjectOut {
    fn from(o: StoredObject) -> Self {
        Self {
            id: o.id.to_string(),
            purpose: o.purpose,
            filename: o.filename,
            content_type: o.content_type,
            size: o.size,
            sha256: o.sha256,
            created_at: o.created_at,
        }
    }
}

/// A download link.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectUrlOut {
    /// The URL; it needs no other credential.
    pub url: String,
    /// When it stops working (an hour from now).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// Read a stored file's details.
#[utoipa::path(get, path = "/v1/objects/{id}", operation_id = "object_get", tag = "objects", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = ["email:read", "calls:read"])),
    responses((status = 200, body = ObjectOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<AnyCaller>,
    Path(id): Path<String>,
) -> ApiResult<Json<ObjectOut>> {
    let id: ObjectId = path_id(&id, "object")?;
    Ok(Json(objects::get(&st.platform, &p, &id).await?.into()))
}

/// A link that downloads the file for the next hour: an S3 presigned URL when objects are kept in S3,
/// otherwise a signed IRISX URL. Reading needs the scope of the file's channel (`email:read` for email files,
/// `calls:read` for recordings).
#[utoipa::path(get, path = "/v1/objects/{id}/url", operation_id = "object_url", tag = "objects", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = ["email:read", "calls:read"])),
    responses((status = 200, body = ObjectUrlOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn url(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<AnyCaller>,
    Path(id): Path<String>,
) -> ApiResult<Json<ObjectUrlOut>> {
    let id: ObjectId = path_id(&id, "object")?;
    let link = objects::download_link(&st.platform, &p, &id).await?;
    Ok(Json(ObjectUrlOut {
        url: link.url,
        expires_at: link.expires_at,
    }))
}

/// The signature of a download link.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// When the link expires (Unix seconds).
    pub expires: i64,
    /// The link's signature.
    pub signature: String,
}

/// Download a file through a signed link from `GET /v1/objects/{id}/url`. A changed or expired link is 403.
#[utoipa::path(get, path = "/v1/objects/{id}/download", operation_id = "object_download", tag = "objects",
    params(("id" = String, Path), DownloadQuery),
    responses((status = 200, description = "the file's bytes, with its media type", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody, description = "the link is not valid or has expired"), (status = 404, body = ErrorBody)))]
async fn download(
    State(st): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DownloadQuery>,
) -> ApiResult<Response> {
    let id: ObjectId = path_id(&id, "object")?;
    let (object, bytes) = objects::download(&st.platform, &id, q.expires, &q.signature).await?;
    // The stored type was checked at upload, but the browser is told not to guess and to save, never render.
    let content_type = HeaderValue::from_str(&object.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", ascii_name(&object.filename)))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600")),
        ],
        bytes,
    )
        .into_response())
}

/// The file name as a quoted-string: printable ASCII without quotes or backslashes.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
