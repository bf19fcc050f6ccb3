//! Vonage's SMS API against a mock server speaking its documented contract: the exact form post, the per-part
//! `status` codes of its 200 answers and HTTP failures with their classes, the absence of a lookup, and signed
//! delivery receipts and inbound messages.
//!
//! HTTP-level error bodies are not documented for the SMS API; the `{"Error": …}` bodies below are the ones
//! vonage-python-sdk's `http_client/tests/data` uses.

mod support;

use std::time::Duration;

use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{CallbackRequest, ProviderError, SmsProvider};
use irisx_providers::sms::form;
use irisx_providers::sms::vonage::{Credentials, SignatureMethod, Vonage, normalize, sign};
use rstest::rstest;
use serde_json::{Value, json};
use support::*;
use time::OffsetDateTime;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "abcd1234";
const SECRET: &str = "abcdef0123456789";
const SIGNATURE_SECRET: &str = "s1gnature-secret";
const CALLBACK_URL: &str = "https://irisx.example/v1/providers/vonage/status?account=pa_1";

fn adapter_signing_with(base: &str, signature_method: SignatureMethod) -> Vonage {
    let creds = Credentials {
        api_key: KEY.into(),
        api_secret: SECRET.into(),
        signature_secret: SIGNATURE_SECRET.into(),
        signature_method,
    };
    Vonage::new(creds, Some(base), http())
}

fn adapter(base: &str) -> Vonage {
    adapter_signing_with(base, SignatureMethod::Sha256)
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect()
}

/// A documented payload with the signing parameters Vonage adds.
fn signed(file: &str, method: SignatureMethod, timestamp: i64) -> Vec<(String, String)> {
    let mut p = pairs(&contract(file));
    p.push(("timestamp".into(), timestamp.to_string()));
    p.push(("nonce".into(), "6d1a8a34-7a3d-4c2e-9d0a-1f2b3c4d5e6f".into()));
    let sig = sign(method, SIGNATURE_SECRET, &p);
    p.push(("sig".into(), sig));
    p
}

fn form_callback(params: &[(String, String)]) -> CallbackRequest {
    callback(
        CALLBACK_URL,
        &[],
        form::encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    )
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_send_is_the_documented_form_post_with_our_id_as_client_ref() {
    let mock = MockServer::start().await;
    let want = form::encode([
        ("api_key", KEY),
        ("api_secret", SECRET),
        ("from", "15017122661"),
        ("to", "15558675310"),
        ("text", "Hello from IRISX"),
        ("callback", "https://irisx.example/v1/providers/callbacks/status"),
        ("client-ref", "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12"),
    ]);
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(want))
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("vonage/sms_send_response_200_success.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&sms()).await.unwrap();
    assert_eq!(ok.provider_message_id, "0C000000217B7F02");
    assert_eq!(ok.status, DeliveryStatus::Accepted);
    assert_eq!(ok.segments, Some(1));
}

#[tokio::test]
async fn a_unicode_text_with_a_validity_period_is_sent_as_unicode_with_a_ttl_in_milliseconds() {
    let mock = MockServer::start().await;
    let mut m = sms();
    m.from = "AcmeInc".into();
    m.body = "Привет 👋".into();
    m.status_callback = None;
    m.validity_period = Some(3600);
    let want = form::encode([
        ("api_key", KEY),
        ("api_secret", SECRET),
        ("from", "AcmeInc"),
        ("to", "15558675310"),
        ("text", "Привет 👋"),
        ("type", "unicode"),
        ("client-ref", "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12"),
        ("ttl", "3600000"),
    ]);
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .and(body_string(want))
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("vonage/sms_send_response_200_success.json")))
        .expect(1)
        .mount(&mock)
        .await;
    adapter(&mock.uri()).send(&m).await.unwrap();
}

fn refused(status: &str, text: &str) -> Value {
    json!({"message-count": "1", "messages": [{"status": status, "error-text": text}]})
}

#[rstest]
#[case::missing_parameters_are_permanent(contract("vonage/sms_send_response_200_error.json"), "permanent:2")]
#[case::throttled_is_retryable(contract("vonage/sms_send_response_200_throttled.json"), "retryable:1:-")]
#[case::invalid_parameters_are_permanent(refused("3", "Invalid from param"), "permanent:3")]
#[case::invalid_credentials_are_permanent(refused("4", "Bad Credentials"), "permanent:4")]
#[case::internal_error_is_retryable(refused("5", "Internal Error"), "retryable:5:-")]
#[case::unroutable_is_permanent(refused("6", "Invalid Message"), "permanent:6")]
#[case::no_credit_is_permanent(refused("9", "Partner Quota Violation"), "permanent:9")]
#[case::invalid_sender_is_permanent(refused("15", "Invalid Sender Address"), "permanent:15")]
#[case::numeric_status_is_read_too(json!({"messages": [{"status": 7, "error-text": "Number Barred"}]}), "permanent:7")]
#[case::a_refusal_after_accepted_parts_is_never_resent(
    json!({"message-count": "2", "messages": [
        {"to": "15558675310", "message-id": "0C000000217B7F02", "status": "0"},
        {"status": "1", "error-text": "Throttled"}]}),
    "permanent:1"
)]
#[case::an_answer_without_messages_is_unknown(json!({"message-count": "0"}), "unknown")]
#[tokio::test]
async fn the_per_message_status_of_a_200_is_classified(#[case] body: Value, #[case] want: &str) {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&mock)
        .await;
    assert_eq!(class(adapter(&mock.uri()).send(&sms()).await.unwrap_err()), want);
}

#[rstest]
#[case::bad_request_in_plain_text_is_permanent(400, json!("Bad Request"), None, "permanent:400")]
#[case::unauthorised_is_permanent(401, json!({"Error": "Authentication Failed"}), None, "permanent:401")]
#[case::rate_limited_is_retryable_after_the_delay(429, json!({"Error": "Too Many Requests"}), Some("3"), "retryable:429:3")]
#[case::server_error_is_retryable(500, json!({"Error": "Internal Server Error"}), None, "retryable:500:-")]
#[tokio::test]
async fn http_failures_are_classified_by_status_and_keep_what_vonage_said(
    #[case] status: u16,
    #[case] body: Value,
    #[case] retry_after: Option<&str>,
    #[case] want: &str,
) {
    let mock = MockServer::start().await;
    let said = body.as_str().or(body["Error"].as_str()).unwrap().to_owned();
    let mut resp = match body {
        Value::String(text) => ResponseTemplate::new(status).set_body_string(text),
        json => ResponseTemplate::new(status).set_body_json(json),
    };
    if let Some(r) = retry_after {
        resp = resp.insert_header("retry-after", r);
    }
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(resp)
        .mount(&mock)
        .await;
    let got = adapter(&mock.uri()).send(&sms()).await.unwrap_err();
    assert!(got.to_string().ends_with(&format!(": {said}")), "{got}");
    assert_eq!(class(got), want, "HTTP {status}");
}

#[tokio::test]
async fn a_timeout_after_the_request_left_is_unknown() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&mock)
        .await;
    assert_eq!(class(adapter(&mock.uri()).send(&sms()).await.unwrap_err()), "unknown");
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let got = adapter(&dead_address()).send(&sms()).await.unwrap_err();
    assert!(matches!(got, ProviderError::Retryable { .. }), "{got:?}");
}

#[tokio::test]
async fn reconciliation_is_unknown_because_the_sms_api_documents_no_lookup() {
    let mock = MockServer::start().await;
    let a = adapter(&mock.uri());
    assert_eq!(
        class(a.fetch_status(&sms(), Some("0C000000217B7F02")).await.unwrap_err()),
        "unknown"
    );
    assert_eq!(class(a.fetch_status(&sms(), None).await.unwrap_err()), "unknown");
    assert!(mock.received_requests().await.unwrap().is_empty());
}

fn vector_params(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    extra.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()
}

#[rstest]
#[case::md5_hash_the_sdk_vector(SignatureMethod::Md5hash, "secret", "6af838ef94998832dbfc29020b564830")]
#[case::hmac_md5(SignatureMethod::Md5, "secret", "c15c21ced558c93a226c305f58f902f2")]
#[case::hmac_sha1(SignatureMethod::Sha1, "secret", "3e19a4e6880fdc2c1426bfd0587c98b9532f0210")]
#[case::hmac_sha256(
    SignatureMethod::Sha256,
    "secret",
    "a321e824b9b816be7c3f28859a31749a098713d39f613c80d455bbaffae1cd24"
)]
#[case::hmac_sha512(
    SignatureMethod::Sha512,
    "secret",
    "812a18f76680fa0fe1b8bd9ee1625466ceb1bd96242e4d050d2cfd9a7b40166c63ed26ec9702168781b6edcf1633db8ff95af9341701004eec3fcf9550572ee8"
)]
fn the_signature_matches_vectors_from_vonages_algorithm(
    #[case] method: SignatureMethod,
    #[case] secret: &str,
    #[case] want: &str,
) {
    let p = vector_params(&[("b", "2"), ("timestamp", "1461605396"), ("a", "1"), ("sig", "ignored")]);
    assert_eq!(sign(method, secret, &p), want);
}

#[rstest]
#[case::md5_hash(SignatureMethod::Md5hash, "8631b16927c0862bee9f234add8b047a")]
#[case::hmac_md5_with_a_key_longer_than_a_block(SignatureMethod::Md5, "77a62ed033737faebe517dc1907c43f0")]
fn values_with_ampersands_and_equals_are_signed_with_underscores(#[case] method: SignatureMethod, #[case] want: &str) {
    let p = vector_params(&[
        ("text", "a=b&c d"),
        ("msisdn", "447700900001"),
        ("timestamp", "1700000000"),
        ("nonce", "abc-123"),
    ]);
    assert_eq!(sign(method, &"k".repeat(100), &p), want);
}

#[rstest]
#[case(SignatureMethod::Md5hash)]
#[case(SignatureMethod::Md5)]
#[case(SignatureMethod::Sha1)]
#[case(SignatureMethod::Sha256)]
#[case(SignatureMethod::Sha512)]
fn a_signed_receipt_is_accepted_with_the_accounts_method_and_any_change_is_refused(#[case] method: SignatureMethod) {
    let a = adapter_signing_with("http://unused", method);
    let params = signed("vonage/sms_dlr_delivered.json", method, now());
    a.verify(&form_callback(&params)).unwrap();

    let with = |key: &str, value: &str| {
        let mut p = params.clone();
        p.iter_mut()
            .filter(|(k, _)| k == key)
            .for_each(|(_, v)| *v = value.into());
        p
    };
    let sig = form::get(&params, "sig").unwrap().to_owned();
    a.verify(&form_callback(&with("sig", &sig.to_ascii_uppercase())))
        .expect("Vonage writes HMAC signatures in upper case");
    assert!(
        a.verify(&form_callback(&with("status", "failed"))).is_err(),
        "changed body"
    );
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    assert!(
        a.verify(&form_callback(&with("sig", &format!("{flipped}{}", &sig[1..]))))
            .is_err()
    );
    let without_sig: Vec<_> = params.iter().filter(|(k, _)| k != "sig").cloned().collect();
    assert!(a.verify(&form_callback(&without_sig)).is_err(), "missing signature");
}

#[test]
fn a_receipt_signed_outside_five_minutes_or_without_a_timestamp_is_refused() {
    let a = adapter("http://unused");
    a.verify(&form_callback(&signed(
        "vonage/sms_dlr_delivered.json",
        SignatureMethod::Sha256,
        now() - 290,
    )))
    .unwrap();
    for ts in [now() - 301, now() + 301] {
        let stale = signed("vonage/sms_dlr_delivered.json", SignatureMethod::Sha256, ts);
        assert!(a.verify(&form_callback(&stale)).is_err(), "timestamp {ts}");
    }
    let mut p = pairs(&contract("vonage/sms_dlr_delivered.json"));
    let sig = sign(SignatureMethod::Sha256, SIGNATURE_SECRET, &p);
    p.push(("sig".into(), sig));
    assert!(a.verify(&form_callback(&p)).is_err());
}

#[test]
fn json_and_get_receipts_are_verified_and_parsed_like_forms() {
    let a = adapter("http://unused");
    let params = signed("vonage/sms_inbound.json", SignatureMethod::Sha256, now());
    let object: serde_json::Map<String, Value> = params.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let body = serde_json::to_vec(&object).unwrap();
    let as_json = callback(CALLBACK_URL, &[("Content-Type", "application/json")], body);
    a.verify(&as_json).unwrap();
    assert_eq!(a.parse_inbound(&as_json).unwrap().body, "Hello world");

    let query = form::encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut as_get = callback(
        &format!("https://irisx.example/v1/providers/vonage/inbound?{query}"),
        &[],
        "",
    );
    as_get.method = "GET".into();
    a.verify(&as_get).unwrap();
    assert_eq!(
        a.parse_inbound(&as_get).unwrap().provider_message_id,
        "0A0000000123ABCD1"
    );
}

#[test]
fn every_receipt_status_in_the_normalized_map_maps_as_the_contract_says() {
    let a = adapter("http://unused");
    let map = contract("normalized_status_map.json");
    for (word, want) in map["vonage_sms_dlr"].as_object().unwrap() {
        assert_eq!(normalize(word).as_str(), want.as_str().unwrap(), "{word}");
        let mut p = pairs(&contract("vonage/sms_dlr_delivered.json"));
        p.iter_mut()
            .filter(|(k, _)| k == "status")
            .for_each(|(_, v)| *v = word.clone());
        let u = &a.parse_status(&form_callback(&p)).unwrap()[0];
        assert_eq!(
            (u.status.as_str(), u.provider_status.as_str()),
            (want.as_str().unwrap(), word.as_str())
        );
    }
}

#[test]
fn the_documented_receipt_is_parsed_with_its_time_and_error_code() {
    let a = adapter("http://unused");
    let u = &a
        .parse_status(&form_callback(&pairs(&contract("vonage/sms_dlr_delivered.json"))))
        .unwrap()[0];
    assert_eq!(u.provider_message_id, "0A0000001234567B");
    assert_eq!(u.status, DeliveryStatus::Delivered);
    assert_eq!(u.error_code, None, "err-code 0 is success");
    assert_eq!(
        u.occurred_at.unwrap().unix_timestamp(),
        1_577_887_200,
        "scts 2001011400 is 2020-01-01 14:00 UTC"
    );
    assert_eq!(u.raw["client-ref"], "my-personal-reference");

    let mut failed = pairs(&contract("vonage/sms_dlr_delivered.json"));
    for (k, v) in &mut failed {
        match k.as_str() {
            "status" => *v = "failed".into(),
            "err-code" => *v = "6".into(),
            "scts" => *v = "not-a-time".into(),
            _ => {}
        }
    }
    let u = &a.parse_status(&form_callback(&failed)).unwrap()[0];
    assert_eq!(
        (u.status, u.error_code.as_deref()),
        (DeliveryStatus::Undelivered, Some("6"))
    );
    assert_eq!(
        u.occurred_at.unwrap().unix_timestamp(),
        1_577_880_000,
        "message-timestamp when scts is unreadable"
    );
}

#[test]
fn an_inbound_message_is_parsed_from_the_documented_payload() {
    let a = adapter("http://unused");
    let m = a
        .parse_inbound(&form_callback(&pairs(&contract("vonage/sms_inbound.json"))))
        .unwrap();
    assert_eq!(m.provider_message_id, "0A0000000123ABCD1");
    assert_eq!((m.from.as_str(), m.to.as_str()), ("+447700900001", "+447700900000"));
    assert_eq!(m.body, "Hello world");
    assert_eq!(m.raw["keyword"], "HELLO");
    assert!(
        a.parse_status(&form_callback(&pairs(&contract("vonage/sms_inbound.json"))))
            .is_err()
    );
}
