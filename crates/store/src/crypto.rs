//! Encryption at rest.
//!
//! - Each patient has a random 256-bit data key. Their rows are sealed with AES-256-GCM
//!   under it, with the row's address (organization, type, id) as associated data, so a
//!   ciphertext moved to another row does not decrypt.
//! - Data keys are stored wrapped (AES-256-GCM) by a key derived from the master key.
//!   Erasing a patient deletes their wrapped key, after which their rows are noise.
//! - Exact-match look-ups use a blind index: HMAC-SHA256 under a second key derived from
//!   the master key, so equal values can be found without being stored.
//!
//! Sealed format: version byte `1`, 12-byte random nonce, ciphertext with its 16-byte tag.

use careloop_domain::ResourceId;
use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
/// Domain separation for the two keys derived from the master key.
const WRAP_LABEL: &[u8] = b"careloop/data-key-wrap/v1";
const INDEX_LABEL: &[u8] = b"careloop/blind-index/v1";

/// The 32-byte key everything else is derived from (`CARELOOP_MASTER_KEY`).
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    #[error("expected standard base64")]
    NotBase64,
    #[error("expected 32 bytes, got {0}")]
    WrongLength(usize),
}

impl MasterKey {
    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| MasterKeyError::NotBase64)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::WrongLength(bytes.len()))?;
        Ok(Self(key))
    }

    /// A fresh random key, for a first start without configuration.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key)?;
        Ok(Self(key))
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    fn derive(&self, label: &[u8]) -> [u8; 32] {
        let mut mac = hmac_sha256(&self.0);
        mac.update(label);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this never fails.
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// A sealed value did not open: wrong key or tampered bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("decryption failed")]
pub struct OpenError;

/// A per-patient data key, in the clear only in memory.
pub struct DataKey(Aes256Gcm);

impl DataKey {
    fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(bytes.into()))
    }

    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        seal_with(&self.0, aad, plaintext)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        open_with(&self.0, aad, sealed)
    }
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS random source failing is not something to recover from: no key or nonce
    // may ever be produced without it.
    if let Err(error) = getrandom::getrandom(&mut bytes) {
        panic!("the operating system's random source failed: {error}");
    }
    bytes
}

fn seal_with(cipher: &Aes256Gcm, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random_bytes::<NONCE_LEN>();
    let payload = Payload {
        msg: plaintext,
        aad,
    };
    // AES-GCM encryption fails only for inputs longer than 64 GiB.
    let ciphertext = match cipher.encrypt(Nonce::from_slice(&nonce), payload) {
        Ok(ciphertext) => ciphertext,
        Err(_) => panic!("AES-GCM refused a plaintext of {} bytes", plaintext.len()),
    };
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn open_with(cipher: &Aes256Gcm, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
    let (&version, rest) = sealed.split_first().ok_or(OpenError)?;
    if version != FORMAT_V1 || rest.len() < NONCE_LEN {
        return Err(OpenError);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| OpenError)
}

/// The keys derived from the master key, ready to use.
pub struct Vault {
    wrap: Aes256Gcm,
    index: [u8; 32],
}

impl Vault {
    pub fn new(master: &MasterKey) -> Self {
        Self {
            wrap: Aes256Gcm::new(&master.derive(WRAP_LABEL).into()),
            index: master.derive(INDEX_LABEL),
        }
    }

    /// A new data key and its wrapped form, bound to `key_id`.
    pub fn new_data_key(&self, key_id: &str) -> (DataKey, Vec<u8>) {
        let bytes = random_bytes::<32>();
        let wrapped = seal_with(&self.wrap, key_id.as_bytes(), &bytes);
        (DataKey::from_bytes(&bytes), wrapped)
    }

    pub fn unwrap_data_key(&self, key_id: &str, wrapped: &[u8]) -> Result<DataKey, OpenError> {
        let bytes = open_with(&self.wrap, key_id.as_bytes(), wrapped)?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| OpenError)?;
        Ok(DataKey::from_bytes(&bytes))
    }

    /// The blind-index hash of one searchable value. The parts are length-prefixed so
    /// that no two different inputs hash alike.
    pub fn blind_index(&self, parts: &[&str]) -> Vec<u8> {
        let mut mac = hmac_sha256(&self.index);
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().to_vec()
    }
}

/// A random identifier for a data key.
pub fn new_key_id() -> String {
    random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 16 random bytes, for server-assigned resource ids.
fn random_id_bytes() -> [u8; 16] {
    random_bytes::<16>()
}

/// A new server-assigned resource id: a version 7 UUID of the wall clock and random bits.
#[expect(
    clippy::disallowed_methods,
    reason = "the time only places the row near its neighbours in the indexes and nobody \
              reads it back, so a manual clock has no say in it"
)]
pub fn new_resource_id() -> ResourceId {
    let unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    ResourceId::time_ordered(unix_ms, random_id_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vault() -> Vault {
        Vault::new(&MasterKey::from_base64(&BASE64.encode([7u8; 32])).unwrap())
    }

    #[test]
    fn master_key_must_be_32_bytes_of_base64() {
        assert_eq!(
            MasterKey::from_base64("not base64!").unwrap_err(),
            MasterKeyError::NotBase64
        );
        assert_eq!(
            MasterKey::from_base64(&BASE64.encode([1u8; 16])).unwrap_err(),
            MasterKeyError::WrongLength(16)
        );
        let generated = MasterKey::generate().unwrap();
        assert!(MasterKey::from_base64(&generated.to_base64()).is_ok());
        assert_eq!(format!("{generated:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn a_wrapped_key_opens_only_under_its_id_and_master() {
        let vault = vault();
        let (key, wrapped) = vault.new_data_key("k1");
        let sealed = key.seal(b"row", b"Peter Chalmers");
        let unwrapped = vault.unwrap_data_key("k1", &wrapped).unwrap();
        assert_eq!(unwrapped.open(b"row", &sealed).unwrap(), b"Peter Chalmers");
        assert!(vault.unwrap_data_key("k2", &wrapped).is_err());
        let other = Vault::new(&MasterKey::generate().unwrap());
        assert!(other.unwrap_data_key("k1", &wrapped).is_err());
    }

    #[test]
    fn sealed_rows_are_bound_to_their_address() {
        let (key, _) = vault().new_data_key("k1");
        let sealed = key.seal(b"Patient/1", b"secret");
        assert_eq!(key.open(b"Patient/2", &sealed), Err(OpenError));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(key.open(b"Patient/1", &tampered), Err(OpenError));
        assert_eq!(key.open(b"Patient/1", &[]), Err(OpenError));
    }

    #[test]
    fn blind_index_separates_parts() {
        let vault = vault();
        // Deterministic across processes with the same master key: look-ups depend on it.
        assert_eq!(
            vault.blind_index(&["a", "bc"]),
            super::tests::vault().blind_index(&["a", "bc"])
        );
        assert_ne!(
            vault.blind_index(&["ab", "c"]),
            vault.blind_index(&["a", "bc"])
        );
    }

    proptest! {
        #[test]
        fn seal_then_open_is_identity(plain in proptest::collection::vec(any::<u8>(), 0..512), aad in ".{0,40}") {
            let (key, _) = vault().new_data_key("k");
            let sealed = key.seal(aad.as_bytes(), &plain);
            prop_assert!(sealed.windows(plain.len().max(1)).all(|w| plain.len() < 8 || w != plain.as_slice()));
            prop_assert_eq!(key.open(aad.as_bytes(), &sealed).unwrap(), plain);
        }
    }
}
