//! Where dumps, records and debug files live: one [`ObjectStore`] (local disk, memory, or any
//! S3-compatible bucket), so every backend runs the same code.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};

/// A store URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreUrlError {
    /// Not a URL.
    #[error("invalid store URL {url:?}: {reason}")]
    Url {
        /// The text given.
        url: String,
        /// Why it does not parse.
        reason: url::ParseError,
    },
    /// A scheme other than `file`, `memory` and `s3`.
    #[error("unsupported store URL {0:?}: use file:///path, memory:// or s3://bucket/prefix")]
    Scheme(String),
    /// The directory cannot be created.
    #[error("cannot use {path} as the store: {reason}")]
    Directory {
        /// The directory.
        path: String,
        /// Why.
        reason: std::io::Error,
    },
    /// The object store refused its configuration.
    #[error("cannot open store {url}: {reason}")]
    Open {
        /// The URL.
        url: String,
        /// Why.
        reason: object_store::Error,
    },
}

/// The service's storage. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    description: String,
}

/// What [`Store::create`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The object is new.
    New,
    /// An object was already there under that path (it was not replaced).
    Exists,
}

impl Store {
    /// Opens `url`: `file:///path` (created if missing), `memory://`, or `s3://bucket/prefix`
    /// (endpoint, region and credentials from the usual `AWS_*` environment variables; set
    /// `AWS_ENDPOINT_URL` for R2 or MinIO, and `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).
    pub fn open(url: &str) -> Result<Store, StoreUrlError> {
        let parsed = url::Url::parse(url).map_err(|reason| StoreUrlError::Url {
            url: url.into(),
            reason,
        })?;
        let inner: Arc<dyn ObjectStore> = match parsed.scheme() {
            "memory" => Arc::new(InMemory::new()),
            "file" => {
                let path = parsed
                    .to_file_path()
                    .map_err(|()| StoreUrlError::Scheme(url.into()))?;
                std::fs::create_dir_all(&path).map_err(|reason| StoreUrlError::Directory {
                    path: path.display().to_string(),
                    reason,
                })?;
                let local = LocalFileSystem::new_with_prefix(&path)
                    .map_err(|reason| StoreUrlError::Open {
                        url: url.into(),
                        reason,
                    })?
                    .with_automatic_cleanup(true);
                Arc::new(local)
            }
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .ok_or_else(|| StoreUrlError::Scheme(url.into()))?;
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|reason| StoreUrlError::Open {
                        url: url.into(),
                        reason,
                    })?;
                let prefix = parsed.path().trim_matches('/');
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix))
                }
            }
            _ => return Err(StoreUrlError::Scheme(url.into())),
        };
        Ok(Store {
            inner,
            description: url.into(),
        })
    }

    /// A store over any object store (tests use this to wrap one).
    pub fn from_object_store(inner: Arc<dyn ObjectStore>, description: &str) -> Store {
        Store {
            inner,
            description: description.into(),
        }
    }

    /// The URL or description it was opened with.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Writes `bytes` at `path` unless something is already there (create-if-absent: never
    /// replaces an object).
    pub async fn create(&self, path: &Path, bytes: Bytes) -> object_store::Result<Created> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .inner
            .put_opts(path, PutPayload::from_bytes(bytes), opts)
            .await
        {
            Ok(_) => Ok(Created::New),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(Created::Exists),
            Err(e) => Err(e),
        }
    }

    /// Writes `bytes` at `path`, replacing what is there (records that are rewritten whole).
    pub async fn put(&self, path: &Path, bytes: Bytes) -> object_store::Result<()> {
        self.inner.put(path, PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    /// Starts a multipart upload to `path`: nothing is visible there until it completes.
    pub async fn upload(&self, path: &Path) -> object_store::Result<WriteMultipart> {
        Ok(WriteMultipart::new(self.inner.put_multipart(path).await?))
    }

    /// The object at `path`, whole; `None` if there is none.
    pub async fn get(&self, path: &Path) -> object_store::Result<Option<Bytes>> {
        match self.inner.get(path).await {
            Ok(result) => Ok(Some(result.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The object at `path` as a stream of pieces; `None` if there is none.
    pub async fn get_stream(
        &self,
        path: &Path,
    ) -> object_store::Result<
        Option<futures::stream::BoxStream<'static, object_store::Result<Bytes>>>,
    > {
        match self.inner.get(path).await {
            Ok(result) => Ok(Some(result.into_stream())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the object at `path` (no error if it is gone).
    pub async fn delete(&self, path: &Path) -> object_store::Result<()> {
        match self.inner.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The names (last path segments) under `prefix`, in order, starting after `after` if given,
    /// at most `limit` of them.
    pub async fn list_names(
        &self,
        prefix: &Path,
        after: Option<&Path>,
        limit: usize,
    ) -> object_store::Result<Vec<String>> {
        let stream = match after {
            Some(after) => self.inner.list_with_offset(Some(prefix), after),
            None => self.inner.list(Some(prefix)),
        };
        let mut metas: Vec<_> = stream.try_collect().await?;
        // Not every store lists in order.
        metas.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(metas
            .into_iter()
            .take(limit)
            .filter_map(|m| m.location.filename().map(str::to_string))
            .collect())
    }

    /// Every path under `prefix`.
    pub async fn list_paths(&self, prefix: &Path) -> object_store::Result<Vec<Path>> {
        let metas: Vec<_> = self.inner.list(Some(prefix)).try_collect().await?;
        let mut paths: Vec<Path> = metas.into_iter().map(|m| m.location).collect();
        paths.sort();
        Ok(paths)
    }
}
