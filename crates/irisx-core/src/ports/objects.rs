//! The object store port: attachments, recordings and exports as bytes under a key, in a local directory (the
//! embedded default) or an S3 bucket. Keys are IRISX's own (`<purpose>/<tenant>/<object id>`), never a
//! caller's text; the [`ObjectIndex`] records whose each object is.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::id::{ObjectId, TenantId};
use crate::ports::store::StoreResult;

/// Why an object operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// No object has this key.
    #[error("object {0} not found")]
    NotFound(String),
    /// The store could not be reached or refused the operation.
    #[error("the object store failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The object store port.
#[async_trait]
pub trait Objects: Send + Sync + 'static {
    /// Stores bytes under a key (replacing any), with their media type where the backend keeps one.
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), ObjectError>;
    /// The bytes under a key.
    async fn get(&self, key: &str) -> Result<Bytes, ObjectError>;
    /// A URL that downloads the object for `ttl`, when the backend signs its own (S3 presigned URLs); `None`
    /// when IRISX serves the download itself (the local directory).
    async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<Option<String>, ObjectError>;
}

impl From<ObjectError> for crate::CoreError {
    fn from(e: ObjectError) -> Self {
        match e {
            ObjectError::NotFound(_) => crate::CoreError::NotFound { resource: "object" },
            e @ ObjectError::Unavailable(_) => crate::CoreError::Unavailable(Box::new(e)),
        }
    }
}

crate::domain::wire_enum!(
    /// What an object is for, which decides the scope that reads it.
    ObjectPurpose, "object purpose" {
        /// A file attached to an outbound email.
        EmailAttachment => "email_attachment",
        /// A part of an email IRISX received.
        InboundEmail => "inbound_email",
        /// A call recording.
        Recording => "recording",
    }
);

/// A stored object's record: the bytes live in the object store under `key`, this row in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its id.
    pub id: ObjectId,
    /// The owning tenant.
    pub tenant_id: TenantId,
    /// What it is for.
    pub purpose: ObjectPurpose,
    /// Where its bytes are in the object store.
    pub key: String,
    /// The file name it is downloaded as.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// When it was stored.
    pub created_at: OffsetDateTime,
}

/// The records of stored objects (the same database as everything else).
#[async_trait]
pub trait ObjectIndex: Send + Sync + 'static {
    /// Records an object whose bytes are already stored.
    async fn create_object(&self, object: &StoredObject) -> StoreResult<()>;
    /// A tenant's object (another tenant's is not found).
    async fn get_object(&self, tenant: &TenantId, id: &ObjectId) -> StoreResult<StoredObject>;
    /// Any tenant's object, for a download whose signed link already names it.
    async fn get_object_any(&self, id: &ObjectId) -> StoreResult<StoredObject>;
}
