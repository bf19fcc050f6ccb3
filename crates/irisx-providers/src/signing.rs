//! Signature primitives shared by adapters: HMAC, constant-time comparison, timestamp tolerance.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use irisx_core::sms::provider::{CallbackError, CallbackRequest};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// HMAC-SHA1 of `message` with `key`.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// MD5 of `message` (only where a vendor still signs with it).
pub fn md5(message: &[u8]) -> Vec<u8> {
    use md5::Digest;
    Md5::digest(message).to_vec()
}

/// HMAC-MD5 of `message` with `key` (only where a vendor still signs with it).
pub fn hmac_md5(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA512 of `message` with `key`.
pub fn hmac_sha512(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC-SHA256 of `message` with `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Compares two byte strings in constant time.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Whether a Unix timestamp (seconds) is within `tolerance_secs` of `now`.
pub fn fresh(timestamp: i64, now: OffsetDateTime, tolerance_secs: i64) -> bool {
    (now.unix_timestamp() - timestamp).abs() <= tolerance_secs
}

/// Checks a callback's HTTP Basic credentials (for vendors that authenticate callbacks only so). Both sides are
/// hashed before the constant-time comparison, so it reveals nothing about the configured credentials' length.
/// Basic credentials prove the caller, not the body: integrity rests on TLS.
pub fn verify_basic(req: &CallbackRequest, user: &str, password: &str) -> Result<(), CallbackError> {
    let given = req
        .header("authorization")
        .ok_or_else(|| CallbackError::Signature("no Authorization header".into()))?;
    let given = given
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| B64.decode(b64.trim()).ok())
        .ok_or_else(|| CallbackError::Signature("Authorization is not HTTP Basic".into()))?;
    let want = format!("{user}:{password}");
    if same(&Sha256::digest(&given), &Sha256::digest(want.as_bytes())) {
        Ok(())
    } else {
        Err(CallbackError::Signature("the callback credentials do not match".into()))
    }
}
