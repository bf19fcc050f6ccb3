//! The endpoint secret (`whsec_` + base64 of 24 to 64 random bytes) and the signatures made with it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

const PREFIX: &str = "whsec_";
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;
const GENERATED_BYTES: usize = 32;

/// An endpoint's signing secret. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    text: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(whsec_…)")
    }
}

impl WebhookSecret {
    /// A new secret of 32 random bytes.
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_BYTES];
        rand::rng().fill_bytes(&mut key);
        let text = format!("{PREFIX}{}", B64.encode(&key));
        Self { text, key }
    }

    /// Parses `whsec_<base64>`; the decoded key must hold 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        let encoded = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| format!("must start with `{PREFIX}`"))?;
        let key = B64
            .decode(encoded)
            .map_err(|_| format!("must be `{PREFIX}` followed by standard base64"))?;
        if !(MIN_BYTES..=MAX_BYTES).contains(&key.len()) {
            return Err(format!(
                "must carry {MIN_BYTES} to {MAX_BYTES} bytes, not {}",
                key.len()
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            key,
        })
    }

    /// The secret as shown to the tenant (`whsec_…`).
    pub fn expose(&self) -> &str {
        &self.text
    }
}

/// The `v1,<base64>` signature of one message with one secret.
pub fn signature(secret: &WebhookSecret, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret.key).expect("HMAC takes a key of any length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per secret, separated by spaces.
pub fn signature_header(secrets: &[WebhookSecret], webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| signature(s, webhook_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_parses_back_to_the_same_key() {
        let secret = WebhookSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(secret.expose()).unwrap(), secret);
    }

    #[test]
    fn secrets_of_the_wrong_form_or_size_are_refused() {
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(WebhookSecret::parse("whsec_not base64!").is_err());
        assert!(WebhookSecret::parse(&format!("whsec_{}", B64.encode([1u8; 23]))).is_err());
        assert!(WebhookSecret::parse(&format!("whsec_{}", B64.encode([1u8; 65]))).is_err());
        assert!(WebhookSecret::parse(&format!("whsec_{}", B64.encode([1u8; 24]))).is_ok());
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_header_carries_one_signature_per_secret() {
        let (a, b) = (WebhookSecret::generate(), WebhookSecret::generate());
        let header = signature_header(&[a.clone(), b.clone()], "msg_1", 1_700_000_000, b"{}");
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                signature(&a, "msg_1", 1_700_000_000, b"{}"),
                signature(&b, "msg_1", 1_700_000_000, b"{}")
            ]
        );
        assert_ne!(parts[0], parts[1]);
    }
}
