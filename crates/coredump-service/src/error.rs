//! The one error type of the service's operations; the HTTP layer maps each variant to a status.

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The client sent something wrong (400).
    #[error("{0}")]
    BadRequest(String),
    /// Nothing under that name (404).
    #[error("{0}")]
    NotFound(String),
    /// A different object is already stored under that name (409).
    #[error("{0}")]
    Conflict(String),
    /// The body or the dump is over the limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// The store failed (503: try again).
    #[error("storage: {0}")]
    Storage(#[from] object_store::Error),
    /// Something that should not happen (500).
    #[error("{0}")]
    Internal(String),
}

impl From<crate::key::InvalidName> for ServiceError {
    fn from(e: crate::key::InvalidName) -> Self {
        ServiceError::BadRequest(e.to_string())
    }
}

impl From<crate::intake::IntakeError> for ServiceError {
    fn from(e: crate::intake::IntakeError) -> Self {
        match e {
            crate::intake::IntakeError::TooLarge { .. } => ServiceError::TooLarge(e.to_string()),
            e => ServiceError::BadRequest(e.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ServiceError {
    fn from(e: tokio::task::JoinError) -> Self {
        ServiceError::Internal(format!("a worker task failed: {e}"))
    }
}
