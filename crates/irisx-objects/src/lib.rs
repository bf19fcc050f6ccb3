//! IRISX object store adapters (core's [`Objects`] port) over the `object_store` crate: a local directory by
//! default (`file://path`), an S3 bucket when configured (`s3://bucket`, any S3-compatible server through an
//! endpoint). S3 downloads are presigned URLs; the local store's downloads are served by IRISX itself.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use irisx_core::ports::objects::{ObjectError, Objects};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::{Method, Signer};
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};

/// How to reach an S3 bucket.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); AWS when absent.
    pub endpoint: Option<String>,
    /// The region (default `us-east-1`).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Allow a plain-HTTP endpoint (local servers).
    pub allow_http: bool,
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is neither `file://` nor `s3://`.
    #[error("IRISX_OBJECT_STORE_URL must start with file:// or s3://, not `{0}`")]
    Scheme(String),
    /// The directory could not be created.
    #[error("creating the object directory {path}")]
    Dir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The backend refused its settings.
    #[error("configuring the object store")]
    Backend(#[from] object_store::Error),
}

enum Backend {
    Local(LocalFileSystem),
    S3(AmazonS3),
}

/// The object store chosen by configuration.
pub struct Store {
    backend: Backend,
}

/// Opens the store named by `url`: `file://<dir>` (created when missing) or `s3://<bucket>`.
pub fn open(url: &str, s3: &S3Settings) -> Result<Arc<dyn Objects>, OpenError> {
    let backend = if let Some(dir) = url.strip_prefix("file://") {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Dir {
            path: dir.to_owned(),
            source,
        })?;
        Backend::Local(LocalFileSystem::new_with_prefix(dir)?)
    } else if let Some(bucket) = url.strip_prefix("s3://") {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket.trim_end_matches('/'))
            .with_region(s3.region.clone().unwrap_or_else(|| "us-east-1".into()))
            .with_allow_http(s3.allow_http);
        if let Some(e) = &s3.endpoint {
            b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
        }
        Backend::S3(b.build()?)
    } else {
        return Err(OpenError::Scheme(url.to_owned()));
    };
    Ok(Arc::new(Store { backend }))
}

fn failed(key: &str, e: object_store::Error) -> ObjectError {
    match e {
        object_store::Error::NotFound { .. } => ObjectError::NotFound(key.to_owned()),
        other => ObjectError::Unavailable(Box::new(other)),
    }
}

impl Store {
    fn inner(&self) -> &dyn ObjectStore {
        match &self.backend {
            Backend::Local(l) => l,
            Backend::S3(s) => s,
        }
    }
}

#[async_trait]
impl Objects for Store {
    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), ObjectError> {
        let path = Path::from(key);
        let payload = PutPayload::from(bytes);
        let done = match &self.backend {
            // The local directory keeps no attributes; IRISX keeps the media type with the object's record.
            Backend::Local(l) => l.put(&path, payload).await,
            Backend::S3(s) => {
                let attributes = Attributes::from_iter([(Attribute::ContentType, content_type.to_owned())]);
                let opts = PutOptions {
                    attributes,
                    ..PutOptions::default()
                };
                s.put_opts(&path, payload, opts).await
            }
        };
        done.map(drop).map_err(|e| failed(key, e))
    }

    async fn get(&self, key: &str) -> Result<Bytes, ObjectError> {
        let got = self.inner().get(&Path::from(key)).await.map_err(|e| failed(key, e))?;
        got.bytes().await.map_err(|e| failed(key, e))
    }

    async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<Option<String>, ObjectError> {
        match &self.backend {
            Backend::Local(_) => Ok(None),
            Backend::S3(s) => {
                let url = s
                    .signed_url(Method::GET, &Path::from(key), ttl)
                    .await
                    .map_err(|e| failed(key, e))?;
                Ok(Some(url.to_string()))
            }
        }
    }
}
