//! Secrets at rest: provider credentials are sealed with AES-256-GCM under the configured key.
//!
//! A sealed value is `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The key id (the first 8 hex digits of
//! SHA-256 of the key) is stored with each value so a key rotation can find what an old key sealed; the
//! tenant id is bound as associated data, so a value copied to another tenant's row does not open.
//!
//! The same key also signs IRISX's own expiring links (downloads from the local object store): an
//! HMAC-SHA256 under a key derived from it for that one purpose, so a link's tag never reveals or reuses the
//! encryption key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a sealed value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not of the `v1:<key id>:<data>` form.
    #[error("the sealed value is malformed")]
    Malformed,
    /// Sealed under a key this process does not have.
    #[error("the value was sealed with key {0}, which is not configured")]
    UnknownKey(String),
    /// The data or its binding was changed.
    #[error("the sealed value does not open: it was altered or belongs elsewhere")]
    Tampered,
}

/// Seals and opens secrets with one AES-256-GCM key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    key_id: String,
    link_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SecretBox {
    /// A box over a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        let key_id = hex::encode(&Sha256::digest(key)[..4]);
        let cipher = Aes256Gcm::new_from_slice(key).expect("a 32-byte key is an AES-256 key");
        let link_key = hmac_sha256(key, b"irisx signed links v1").into();
        Self {
            cipher,
            key_id,
            link_key,
        }
    }

    /// The tag that signs a link's text (hex HMAC-SHA256 under the link key).
    pub fn sign_link(&self, text: &str) -> String {
        hex::encode(hmac_sha256(&self.link_key, text.as_bytes()))
    }

    /// Whether `tag` is [`sign_link`](Self::sign_link) of `text`, compared in constant time.
    pub fn verify_link(&self, text: &str, tag: &str) -> bool {
        let Ok(tag) = hex::decode(tag) else {
            return false;
        };
        bool::from(hmac_sha256(&self.link_key, text.as_bytes()).as_slice().ct_eq(&tag))
    }

    /// The key's id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals `plaintext`, bound to `context` (e.g. the owning tenant's id).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer does not fail");
        let mut data = nonce.to_vec();
        data.extend_from_slice(&sealed);
        format!("v1:{}:{}", self.key_id, B64.encode(data))
    }

    /// Opens a value sealed by [`seal`](Self::seal) with the same key and context.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SealError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some("v1"), Some(key_id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SealError::Malformed);
        };
        if key_id != self.key_id {
            return Err(SealError::UnknownKey(key_id.to_owned()));
        }
        let data = B64.decode(data).map_err(|_| SealError::Malformed)?;
        if data.len() < 12 + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ct) = data.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| SealError::Malformed)?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> sha2::digest::Output<Sha256> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_tag_verifies_only_for_its_text_and_key() {
        let b = SecretBox::new(&[7; 32]);
        let tag = b.sign_link("obj_1 1700000000");
        assert!(b.verify_link("obj_1 1700000000", &tag));
        assert!(!b.verify_link("obj_1 1700000001", &tag));
        assert!(!b.verify_link("obj_1 1700000000", &tag[2..]));
        assert!(!b.verify_link("obj_1 1700000000", "zz"));
        assert!(!SecretBox::new(&[8; 32]).verify_link("obj_1 1700000000", &tag));
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let b = SecretBox::new(&[7; 32]);
        let sealed = b.seal(br#"{"auth_token":"t0p"}"#, "ten_a");
        assert!(sealed.starts_with(&format!("v1:{}:", b.key_id())));
        assert!(!sealed.contains("t0p"));
        assert_eq!(b.open(&sealed, "ten_a").unwrap(), br#"{"auth_token":"t0p"}"#);
        assert_eq!(b.open(&sealed, "ten_b"), Err(SealError::Tampered));
        assert!(matches!(
            SecretBox::new(&[8; 32]).open(&sealed, "ten_a"),
            Err(SealError::UnknownKey(_))
        ));
        let mut altered = sealed.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(b.open(&altered, "ten_a").is_err());
        assert_ne!(
            b.seal(b"same", "ten_a"),
            b.seal(b"same", "ten_a"),
            "every seal takes a fresh nonce"
        );
    }
}
