//! Amazon SNS message verification, for SES notifications posted to an HTTPS subscription.
//!
//! A message is trusted when: its `SigningCertURL` is `https://sns.<region>.amazonaws.com/…` (or the `.com.cn`
//! partition), the certificate there (fetched over TLS through a [`CertificateSource`], cached) is within its
//! validity, and its RSA key verifies `Signature` — PKCS#1 v1.5 with SHA-1 for `SignatureVersion` 1, SHA-256 for
//! 2 — over the canonical string (`Key\nValue\n` for the type's keys, in byte order). Messages older than the
//! verifier's maximum age are refused as replays, and so are topics the account does not list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use irisx_core::email::provider::{CallbackError, CallbackRequest};
use reqwest::Client;
use rsa::PublicKey as RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value;
use time::OffsetDateTime;
use url::Url;
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};

use super::{json, rfc3339};

/// The default maximum age of a message: SNS retries an HTTPS delivery for about an hour under the default
/// delivery policy; longer custom policies need a longer age.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

/// Where signing certificates come from.
#[async_trait]
pub trait CertificateSource: Send + Sync + 'static {
    /// The PEM certificate at `url`, which has already been checked to be an SNS HTTPS address.
    async fn pem(&self, url: &Url) -> Result<String, String>;
}

/// Fetches certificates over HTTPS with the shared client and keeps them (SNS rotates them rarely and under
/// a new URL).
pub struct HttpCertificates {
    http: Client,
    cache: Mutex<HashMap<String, String>>,
}

impl HttpCertificates {
    /// A source over this client.
    pub fn new(http: Client) -> Self {
        Self {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl CertificateSource for HttpCertificates {
    async fn pem(&self, url: &Url) -> Result<String, String> {
        if let Some(pem) = self.cache.lock().map_err(|e| e.to_string())?.get(url.as_str()) {
            return Ok(pem.clone());
        }
        let resp = self.http.get(url.clone()).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("the certificate URL answered {}", resp.status()));
        }
        let pem = resp.text().await.map_err(|e| e.to_string())?;
        self.cache
            .lock()
            .map_err(|e| e.to_string())?
            .insert(url.to_string(), pem.clone());
        Ok(pem)
    }
}

/// Whether `url` is an Amazon SNS HTTPS address: `https://sns.<region>.amazonaws.com[.cn]/…` on the default port.
pub fn is_sns_url(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let region = host.strip_prefix("sns.").and_then(|h| {
        h.strip_suffix(".amazonaws.com")
            .or_else(|| h.strip_suffix(".amazonaws.com.cn"))
    });
    url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && region.is_some_and(|r| {
            !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// The keys signed for a message type, in the order they are signed.
fn signed_keys(kind: &str) -> Result<&'static [&'static str], CallbackError> {
    match kind {
        "Notification" => Ok(&["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]),
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => Ok(&[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]),
        other => Err(CallbackError::Malformed(format!("unknown SNS message type {other:?}"))),
    }
}

/// The string SNS signs for an envelope: `Key\nValue\n` for each signed key present (`Subject` only when
/// given).
pub fn string_to_sign(envelope: &Value) -> Result<String, CallbackError> {
    let kind = envelope["Type"]
        .as_str()
        .ok_or_else(|| CallbackError::Malformed("no Type".into()))?;
    let mut out = String::new();
    for key in signed_keys(kind)? {
        match envelope[*key].as_str() {
            Some(v) => out.push_str(&format!("{key}\n{v}\n")),
            None if *key == "Subject" => {}
            None => return Err(CallbackError::Malformed(format!("no {key}"))),
        }
    }
    Ok(out)
}

fn rejected(why: impl Into<String>) -> CallbackError {
    CallbackError::Signature(why.into())
}

/// Checks an RSA PKCS#1 v1.5 signature (base64) over `message` with the key of a PEM certificate that must be
/// valid at `now`. `version` is SNS's `SignatureVersion`.
pub fn verify_signature(
    pem: &str,
    version: &str,
    message: &[u8],
    signature_b64: &str,
    now: OffsetDateTime,
) -> Result<(), CallbackError> {
    let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| rejected(format!("the certificate: {e}")))?;
    let tbs = cert.tbs_certificate();
    let unix = Duration::from_secs(u64::try_from(now.unix_timestamp()).unwrap_or_default());
    let validity = tbs.validity();
    if unix < validity.not_before.to_unix_duration() || unix > validity.not_after.to_unix_duration() {
        return Err(rejected("the signing certificate is not valid now"));
    }
    let spki = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(|e| rejected(format!("the certificate's key: {e}")))?;
    let key = RsaPublicKey::from_public_key_der(&spki).map_err(|e| rejected(format!("not an RSA key: {e}")))?;
    let sig = B64
        .decode(signature_b64)
        .ok()
        .and_then(|b| Signature::try_from(b.as_slice()).ok())
        .ok_or_else(|| rejected("the signature is not base64"))?;
    let checked = match version {
        "1" => VerifyingKey::<sha1::Sha1>::new(key).verify(message, &sig),
        "2" => VerifyingKey::<sha2::Sha256>::new(key).verify(message, &sig),
        other => return Err(rejected(format!("unknown SignatureVersion {other:?}"))),
    };
    checked.map_err(|_| rejected("the signature does not match"))
}

/// Verifies SNS messages for one account.
pub struct SnsVerifier {
    certificates: Arc<dyn CertificateSource>,
    topic_arns: Vec<String>,
    max_age: Duration,
}

impl SnsVerifier {
    /// A verifier taking certificates from `certificates`; `topic_arns` lists the topics accepted (empty: any).
    pub fn new(certificates: Arc<dyn CertificateSource>, topic_arns: Vec<String>) -> Self {
        Self {
            certificates,
            topic_arns,
            max_age: DEFAULT_MAX_AGE,
        }
    }

    /// Refuses messages older than `max_age`.
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Verifies a posted message and returns its envelope.
    pub async fn verify(&self, req: &CallbackRequest) -> Result<Value, CallbackError> {
        let envelope = json(&req.body)?;
        let field = |k: &str| {
            envelope[k]
                .as_str()
                .ok_or_else(|| CallbackError::Malformed(format!("no {k}")))
        };
        let topic = field("TopicArn")?;
        if !self.topic_arns.is_empty() && !self.topic_arns.iter().any(|t| t == topic) {
            return Err(rejected(format!("topic {topic} is not one of this account's")));
        }
        let cert_url = Url::parse(field("SigningCertURL")?).map_err(|_| rejected("SigningCertURL is not a URL"))?;
        if !is_sns_url(&cert_url) {
            return Err(rejected(format!(
                "SigningCertURL {cert_url} is not an Amazon SNS https address"
            )));
        }
        let sent = rfc3339(&envelope["Timestamp"]).ok_or_else(|| CallbackError::Malformed("no Timestamp".into()))?;
        let age = req.received_at - sent;
        if age > self.max_age || age < -time::Duration::minutes(5) {
            return Err(rejected("the Timestamp is outside the accepted age"));
        }
        let message = string_to_sign(&envelope)?;
        let pem = self
            .certificates
            .pem(&cert_url)
            .await
            .map_err(|e| rejected(format!("the signing certificate could not be fetched: {e}")))?;
        let version = envelope["SignatureVersion"].as_str().unwrap_or("1");
        verify_signature(&pem, version, message.as_bytes(), field("Signature")?, req.received_at)?;
        Ok(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::a_regional_endpoint("https://sns.us-west-2.amazonaws.com/SimpleNotificationService-abc.pem", true)]
    #[case::the_china_partition("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", true)]
    #[case::plain_http("http://sns.us-west-2.amazonaws.com/cert.pem", false)]
    #[case::another_host("https://sns.us-west-2.amazonaws.com.evil.example/cert.pem", false)]
    #[case::a_lookalike_prefix("https://evilsns.us-west-2.amazonaws.com/cert.pem", false)]
    #[case::another_port("https://sns.us-west-2.amazonaws.com:8443/cert.pem", false)]
    #[case::credentials_in_the_url("https://user@sns.us-west-2.amazonaws.com/cert.pem", false)]
    #[case::no_region("https://sns..amazonaws.com/cert.pem", false)]
    fn only_amazon_sns_https_addresses_are_trusted_for_certificates(#[case] url: &str, #[case] ok: bool) {
        assert_eq!(is_sns_url(&Url::parse(url).unwrap()), ok, "{url}");
    }

    #[test]
    fn the_string_to_sign_lists_the_keys_in_order_and_skips_a_missing_subject() {
        let env = serde_json::json!({
            "Type": "Notification", "MessageId": "m", "TopicArn": "t", "Message": "{}",
            "Timestamp": "2012-05-02T00:54:06.655Z", "Signature": "x",
        });
        assert_eq!(
            string_to_sign(&env).unwrap(),
            "Message\n{}\nMessageId\nm\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\nt\nType\nNotification\n"
        );
    }
}
