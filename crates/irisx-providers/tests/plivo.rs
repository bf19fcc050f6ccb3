//! Plivo against a mock server speaking its documented contract: the exact request, the documented answers
//! and errors with their classes, reconciliation by `message_uuid`, and V3/V2 callback signatures and parsing.
//!
//! `contracts/plivo/message_get_response_200.json` is plivo-python's `tests/resources/fixtures/messageGetResponse.json`.

mod support;

use std::time::Duration;

use base64::Engine;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{ProviderError, SmsProvider};
use irisx_providers::sms::form;
use irisx_providers::sms::plivo::{Credentials, Plivo, normalize, sign, sign_v2};
use rstest::rstest;
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AUTH_ID: &str = "MAXXXXXXXXXXXXXXXXXX";
const TOKEN: &str = "MjAxNzA1MjIxMjM0NTY3ODkwMTIzNDU2Nzg5MA";
const SEND_PATH: &str = "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/";
const UUID: &str = "5b40a428-bfc7-4daf-9d06-726c558bf3b8";
const CALLBACK_URL: &str = "https://irisx.example/v1/providers/plivo/status?account=pa_1";

fn adapter(base: &str) -> Plivo {
    Plivo::new(
        Credentials {
            auth_id: AUTH_ID.into(),
            auth_token: TOKEN.into(),
        },
        Some(base),
        http(),
    )
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{AUTH_ID}:{TOKEN}"))
    )
}

fn form_body(params: &[(String, String)]) -> String {
    form::encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

#[tokio::test]
async fn a_send_is_the_documented_json_post_and_reads_the_queued_uuid() {
    let mock = MockServer::start().await;
    let want = json!({
        "src": "+15017122661",
        "dst": "+15558675310",
        "text": "Hello from IRISX",
        "type": "sms",
        "url": "https://irisx.example/v1/providers/callbacks/status",
        "method": "POST",
    });
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", basic().as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(want))
        .respond_with(ResponseTemplate::new(202).set_body_json(contract("plivo/send_message_response_202.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&sms()).await.unwrap();
    assert_eq!(ok.provider_message_id, UUID);
    assert_eq!(ok.status, DeliveryStatus::Queued);
}

#[tokio::test]
async fn an_mms_with_a_validity_period_sends_the_media_and_the_expiry() {
    let mock = MockServer::start().await;
    let mut m = sms();
    m.media_urls = vec!["https://irisx.example/media/1.png".into()];
    m.validity_period = Some(600);
    m.status_callback = None;
    let want = json!({
        "src": "+15017122661",
        "dst": "+15558675310",
        "text": "Hello from IRISX",
        "type": "mms",
        "media_urls": ["https://irisx.example/media/1.png"],
        "message_expiry": 600,
    });
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(body_json(want))
        .respond_with(ResponseTemplate::new(202).set_body_json(contract("plivo/send_message_response_202.json")))
        .expect(1)
        .mount(&mock)
        .await;
    adapter(&mock.uri()).send(&m).await.unwrap();
}

#[rstest]
#[case::invalid_parameter_is_permanent(400, contract("plivo/error_400.json"), None, "permanent:400")]
#[case::bad_credentials_are_permanent(401, json!({"api_id": "a1", "error": "authentication failed"}), None, "permanent:401")]
#[case::rate_limit_is_retryable_after_the_delay(429, json!({"api_id": "a1", "error": "too many requests"}), Some("3"), "retryable:429:3")]
#[case::server_error_is_retryable(500, json!({"api_id": "a1", "error": "internal error"}), None, "retryable:500:-")]
#[case::answer_without_uuid_is_unknown(202, json!({"api_id": "a1", "message": "message(s) queued"}), None, "unknown")]
#[tokio::test]
async fn answers_are_classified_from_the_documented_bodies(
    #[case] status: u16,
    #[case] body: Value,
    #[case] retry_after: Option<&str>,
    #[case] want: &str,
) {
    let mock = MockServer::start().await;
    let mut resp = ResponseTemplate::new(status).set_body_json(body);
    if let Some(r) = retry_after {
        resp = resp.insert_header("retry-after", r);
    }
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .respond_with(resp)
        .mount(&mock)
        .await;
    let got = adapter(&mock.uri()).send(&sms()).await.unwrap_err();
    if status == 400 {
        assert!(
            got.to_string().contains("not found"),
            "Plivo's `error` text is kept: {got}"
        );
    }
    assert_eq!(class(got), want, "HTTP {status}");
}

#[tokio::test]
async fn a_timeout_after_the_request_left_is_unknown() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(3)))
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
async fn reconciliation_reads_the_message_by_uuid_and_a_404_means_never_processed() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{SEND_PATH}{UUID}/")))
        .and(header("authorization", basic().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("plivo/message_get_response_200.json")))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{SEND_PATH}00000000-0000-0000-0000-000000000000/")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"api_id": "a1", "error": "not found"})))
        .mount(&mock)
        .await;
    let a = adapter(&mock.uri());
    let found = a.fetch_status(&sms(), Some(UUID)).await.unwrap().unwrap();
    assert_eq!(found.provider_message_id, UUID);
    assert_eq!(found.status, DeliveryStatus::Sent);
    assert_eq!(found.error_code, None);
    assert_eq!(found.occurred_at.unwrap().unix_timestamp(), 1_724_245_131);
    let missing = a
        .fetch_status(&sms(), Some("00000000-0000-0000-0000-000000000000"))
        .await
        .unwrap();
    assert!(missing.is_none());
}

#[tokio::test]
async fn reconciliation_without_a_uuid_is_unknown_because_plivo_has_no_client_reference() {
    let got = adapter("http://unused").fetch_status(&sms(), None).await.unwrap_err();
    assert_eq!(class(got), "unknown");
}

#[rstest]
#[case::post_with_query_and_body(
    "POST",
    "https://irisx.example/v1/providers/plivo/status?account=pa_1&b=2",
    &[("Status", "delivered"), ("MessageUUID", "abc"), ("To", "14155550100")],
    "12345",
    "+qiajIqX4M6obK0397YITCWfStp5WxC3zSAPlCXRb04="
)]
#[case::post_without_query("POST", "https://irisx.example/cb", &[("Text", "a b&c"), ("From", "1")], "999", "R34k3uh1TYdXlkK9zVJg3EoiV7mA8LTaJ1jnvo4aJcg=")]
#[case::get_with_a_repeated_key("GET", "https://irisx.example/cb?To=1&Status=sent&Status=queued", &[], "42", "skPpPG3dhwD0lKoI0PhJAv9wX+mdr7zVgZMmRXhzht0=")]
fn the_v3_signature_matches_vectors_computed_with_plivos_sdk_algorithm(
    #[case] method: &str,
    #[case] url: &str,
    #[case] params: &[(&str, &str)],
    #[case] nonce: &str,
    #[case] want: &str,
) {
    let params: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    assert_eq!(sign(TOKEN, method, url, &params, nonce), want);
}

#[test]
fn the_v2_signature_matches_a_vector_computed_with_plivos_sdk_algorithm() {
    assert_eq!(
        sign_v2(TOKEN, "https://irisx.example/cb?ignored=1", "42"),
        "hWHI7HE4HhIQB8IIUT2gB1JtLoNe8W/33U1aDLl7JLk="
    );
}

#[test]
fn a_v3_signed_status_callback_is_accepted_and_any_change_is_refused() {
    let a = adapter("http://unused");
    let params = contract_form("plivo/status_callback_delivered_form.json");
    let body = form_body(&params);
    let sig = sign(TOKEN, "POST", CALLBACK_URL, &params, "31625365");
    let signed = |sig: &str, body: String| {
        callback(
            CALLBACK_URL,
            &[
                ("X-Plivo-Signature-V3", sig),
                ("X-Plivo-Signature-V3-Nonce", "31625365"),
            ],
            body,
        )
    };
    a.verify(&signed(&sig, body.clone())).unwrap();
    a.verify(&signed(&format!("c29tZXRoaW5nIGVsc2U=,{sig}"), body.clone()))
        .expect("any of several comma-separated signatures may match");

    assert!(a.verify(&signed(&sig, body.replace("delivered", "failed"))).is_err());
    let mut bad = sig.clone();
    bad.replace_range(0..1, if bad.starts_with('A') { "B" } else { "A" });
    assert!(a.verify(&signed(&bad, body.clone())).is_err());
    assert!(a.verify(&callback(CALLBACK_URL, &[], body.clone())).is_err());
    let no_nonce = callback(CALLBACK_URL, &[("X-Plivo-Signature-V3", &sig)], body.clone());
    assert!(a.verify(&no_nonce).is_err());
    let mut other_url = signed(&sig, body);
    other_url.url = CALLBACK_URL.replace("pa_1", "pa_2");
    assert!(a.verify(&other_url).is_err());
}

#[test]
fn a_v3_signed_get_callback_is_verified_over_its_query() {
    let a = adapter("http://unused");
    let url = format!("{CALLBACK_URL}&MessageUUID={UUID}&Status=sent");
    let sig = sign(TOKEN, "GET", &url, &[], "7");
    let mut req = callback(
        &url,
        &[("X-Plivo-Signature-V3", &sig), ("X-Plivo-Signature-V3-Nonce", "7")],
        "",
    );
    req.method = "GET".into();
    a.verify(&req).unwrap();
    assert_eq!(a.parse_status(&req).unwrap()[0].status, DeliveryStatus::Sent);
    req.url = req.url.replace("sent", "delivered");
    assert!(a.verify(&req).is_err());
}

#[test]
fn a_v2_signature_covers_the_url_and_nonce_only() {
    let a = adapter("http://unused");
    let body = form_body(&contract_form("plivo/status_callback_delivered_form.json"));
    let sig = sign_v2(TOKEN, CALLBACK_URL, "8812");
    for header_name in ["X-Plivo-Signature-V2", "X-Plivo-Signature-Ma-V2"] {
        let headers = [(header_name, sig.as_str()), ("X-Plivo-Signature-V2-Nonce", "8812")];
        a.verify(&callback(CALLBACK_URL, &headers, body.clone())).unwrap();
        let elsewhere = "https://irisx.example/v1/providers/plivo/inbound";
        assert!(a.verify(&callback(elsewhere, &headers, body.clone())).is_err());
        let other_nonce = [(header_name, sig.as_str()), ("X-Plivo-Signature-V2-Nonce", "8813")];
        assert!(a.verify(&callback(CALLBACK_URL, &other_nonce, body.clone())).is_err());
    }
    let wrong_v3_beside_a_good_v2 = [
        ("X-Plivo-Signature-V3", "c29tZXRoaW5nIGVsc2U="),
        ("X-Plivo-Signature-V3-Nonce", "8812"),
        ("X-Plivo-Signature-V2", sig.as_str()),
        ("X-Plivo-Signature-V2-Nonce", "8812"),
    ];
    assert!(
        a.verify(&callback(CALLBACK_URL, &wrong_v3_beside_a_good_v2, body))
            .is_err(),
        "when V3 is sent it alone decides"
    );
}

#[test]
fn every_status_in_the_normalized_map_maps_as_the_contract_says() {
    let map = contract("normalized_status_map.json");
    for (word, want) in map["plivo"].as_object().unwrap() {
        assert_eq!(normalize(word).as_str(), want.as_str().unwrap(), "{word}");
    }
    assert_eq!(normalize("something-new"), DeliveryStatus::Unknown);
}

#[rstest]
#[case::delivered("delivered", "", DeliveryStatus::Delivered, None)]
#[case::sent("sent", "", DeliveryStatus::Sent, None)]
#[case::queued("queued", "", DeliveryStatus::Queued, None)]
#[case::undelivered_with_code("undelivered", "70", DeliveryStatus::Undelivered, Some("70"))]
#[case::failed_with_code("failed", "900", DeliveryStatus::Failed, Some("900"))]
#[case::legacy_rejected("rejected", "30", DeliveryStatus::Failed, Some("30"))]
fn the_documented_status_callback_maps_to_the_normalized_set(
    #[case] status: &str,
    #[case] error_code: &str,
    #[case] want: DeliveryStatus,
    #[case] want_code: Option<&str>,
) {
    let mut params = contract_form("plivo/status_callback_delivered_form.json");
    for (k, v) in &mut params {
        match k.as_str() {
            "Status" => *v = status.into(),
            "ErrorCode" => *v = error_code.into(),
            _ => {}
        }
    }
    let u = &adapter("http://unused")
        .parse_status(&callback(CALLBACK_URL, &[], form_body(&params)))
        .unwrap()[0];
    assert_eq!(u.provider_message_id, "db3ce55a-7f1d-11e1-8ea7-1231380bc196");
    assert_eq!((u.status, u.provider_status.as_str()), (want, status));
    assert_eq!(u.error_code.as_deref(), want_code);
    assert_eq!(
        u.occurred_at.unwrap().unix_timestamp(),
        1_704_103_205,
        "DeliveryReportTime, UTC"
    );
    assert_eq!(u.raw["PartInfo"], "1 of 1");
}

#[test]
fn an_inbound_message_is_parsed_from_the_documented_form() {
    let body = form_body(&contract_form("plivo/inbound_message_form.json"));
    let m = adapter("http://unused")
        .parse_inbound(&callback(CALLBACK_URL, &[], body))
        .unwrap();
    assert_eq!(m.provider_message_id, "2a340179-9ba2-4e63-b3e2-0f4b8c4ea35f");
    assert_eq!((m.from.as_str(), m.to.as_str()), ("+14155550100", "+14155550111"));
    assert_eq!(m.body, "Hello");
    assert!(m.media.is_empty());
    assert_eq!(m.raw["Units"], "1");
}

#[test]
fn a_status_callback_without_its_fields_is_malformed() {
    let a = adapter("http://unused");
    let inbound = form_body(&contract_form("plivo/inbound_message_form.json"));
    assert!(a.parse_status(&callback(CALLBACK_URL, &[], inbound)).is_err());
}
