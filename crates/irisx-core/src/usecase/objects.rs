//! Stored objects: files IRISX keeps for a tenant (email attachments, the parts of received emails, call
//! recordings). The bytes go to the object store first, then the row that makes them the tenant's; a crash
//! between the two leaves unreferenced bytes, never a row without its bytes.
//!
//! Downloads are links that expire after [`URL_TTL`]: an S3 presigned URL when the store is S3, otherwise an
//! IRISX URL (`/v1/objects/{id}/download?expires=…&signature=…`) signed with an HMAC under a key derived from
//! the encryption key, which the download route checks without any other credential.

use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::Platform;
use super::principal::{Need, TenantPrincipal};
use crate::domain::{Role, Scope};
use crate::error::CoreError;
use crate::id::{ObjectId, TenantId};
use crate::ports::objects::{ObjectPurpose, StoredObject};

/// How long a download link works.
pub const URL_TTL: Duration = Duration::from_secs(3600);

/// A file to keep.
#[derive(Debug, Clone)]
pub struct NewObject {
    /// What it is for.
    pub purpose: ObjectPurpose,
    /// The name it is downloaded as.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Bytes,
}

/// The scope that reads objects of a purpose: the channel's own read scope.
fn need(purpose: ObjectPurpose) -> Need {
    let scope = match purpose {
        ObjectPurpose::EmailAttachment | ObjectPurpose::InboundEmail => Scope::EmailRead,
        ObjectPurpose::Recording => Scope::CallsRead,
    };
    Need {
        role: Role::User,
        scope: Some(scope),
    }
}

/// Where an object's bytes go: `<purpose>/<tenant>/<id>`, IRISX's own text only.
fn key_of(tenant: &TenantId, purpose: ObjectPurpose, id: &ObjectId) -> String {
    format!("{}/{tenant}/{id}", purpose.as_str())
}

/// Keeps a file for `tenant`: the bytes in the object store, then its record.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant, purpose = new.purpose.as_str()))]
pub async fn store(p: &Platform, tenant: &TenantId, new: NewObject) -> Result<StoredObject, CoreError> {
    let id = ObjectId::new();
    let key = key_of(tenant, new.purpose, &id);
    put(p, tenant, id, key, new).await
}

/// Keeps a file for `tenant` under a key IRISX chose for it (a recording's dated key).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant, purpose = new.purpose.as_str()))]
pub async fn store_at(p: &Platform, tenant: &TenantId, key: String, new: NewObject) -> Result<StoredObject, CoreError> {
    put(p, tenant, ObjectId::new(), key, new).await
}

async fn put(
    p: &Platform,
    tenant: &TenantId,
    id: ObjectId,
    key: String,
    new: NewObject,
) -> Result<StoredObject, CoreError> {
    let object = StoredObject {
        key,
        id,
        tenant_id: tenant.clone(),
        purpose: new.purpose,
        filename: new.filename,
        content_type: new.content_type,
        size: new.bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&new.bytes)),
        created_at: OffsetDateTime::now_utc(),
    };
    p.objects.put(&object.key, new.bytes, &object.content_type).await?;
    p.object_index.create_object(&object).await?;
    Ok(object)
}

/// A tenant's object, for a caller allowed to read its channel.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &ObjectId) -> Result<StoredObject, CoreError> {
    let object = p.object_index.get_object(by.tenant_id(), id).await?;
    by.authorize(need(object.purpose))?;
    Ok(object)
}

/// The bytes of a tenant's object (for the worker, which acts for the tenant).
pub async fn bytes(p: &Platform, tenant: &TenantId, id: &ObjectId) -> Result<Bytes, CoreError> {
    let object = p.object_index.get_object(tenant, id).await?;
    Ok(p.objects.get(&object.key).await?)
}

/// A download link and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadLink {
    /// The URL.
    pub url: String,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

/// A link that downloads the object for the next hour.
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id(), object_id = %id))]
pub async fn download_link(p: &Platform, by: &TenantPrincipal, id: &ObjectId) -> Result<DownloadLink, CoreError> {
    let object = get(p, by, id).await?;
    let now = OffsetDateTime::now_utc();
    let expires_at = (now + URL_TTL).replace_nanosecond(0).unwrap_or(now + URL_TTL);
    if let Some(url) = p.objects.presigned_get(&object.key, URL_TTL).await? {
        return Ok(DownloadLink { url, expires_at });
    }
    let expires = expires_at.unix_timestamp();
    let signature = p.secrets.sign_link(&link_text(id, expires));
    let base = p.public_url.trim_end_matches('/');
    Ok(DownloadLink {
        url: format!("{base}/v1/objects/{id}/download?expires={expires}&signature={signature}"),
        expires_at,
    })
}

fn link_text(id: &ObjectId, expires: i64) -> String {
    format!("object-download {id} {expires}")
}

/// The object a signed link names, with its bytes, when the link is genuine and has not expired.
#[tracing::instrument(skip_all, fields(object_id = %id))]
pub async fn download(
    p: &Platform,
    id: &ObjectId,
    expires: i64,
    signature: &str,
) -> Result<(StoredObject, Bytes), CoreError> {
    if !p.secrets.verify_link(&link_text(id, expires), signature) {
        return Err(CoreError::Forbidden("this download link is not valid".into()));
    }
    if OffsetDateTime::now_utc().unix_timestamp() > expires {
        return Err(CoreError::Forbidden(
            "this download link has expired; ask GET /v1/objects/{id}/url for a new one".into(),
        ));
    }
    let object = p.object_index.get_object_any(id).await?;
    let bytes = p.objects.get(&object.key).await?;
    Ok((object, bytes))
}
