//! What can go wrong in the storage layer, in terms a caller can act on.

use crate::backend::BackendError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer changed the resource first, or it already exists.
    #[error("the resource was changed concurrently or already exists")]
    Conflict,
    /// The version the caller expected is not the current one (`If-Match`).
    #[error("expected version {expected}, the current version is {current}")]
    VersionMismatch { expected: u32, current: u32 },
    /// The resource the caller expected to exist does not.
    #[error("no such resource")]
    NotFound,
    /// A protected row whose data key was destroyed (the patient was erased).
    #[error("the data key of this record was destroyed")]
    KeyDestroyed,
    /// A referenced patient has no data key (it does not exist or was erased).
    #[error("the patient that owns this record does not exist")]
    MissingOwner,
    /// Ciphertext that does not decrypt: a wrong master key or a tampered row.
    #[error(
        "a stored record could not be decrypted; is CARELOOP_MASTER_KEY the key this database was created with?"
    )]
    Decrypt,
    /// The master key does not open the keys this database was created with.
    #[error("the master key is not the one this database was created with")]
    WrongMasterKey,
    #[error("the database failed")]
    Backend(#[source] BackendError),
}

impl From<BackendError> for StoreError {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::Conflict => Self::Conflict,
            other => Self::Backend(other),
        }
    }
}
