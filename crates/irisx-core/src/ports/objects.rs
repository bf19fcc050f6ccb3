//! The object store port: attachments, recordings and exports as bytes under a key, in a local directory (the
//! embedded default) or an S3 bucket. Keys are IRISX's own (`<tenant>/<object id>`), never a caller's text.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

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
