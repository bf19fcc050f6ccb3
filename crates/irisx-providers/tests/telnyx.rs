//! Telnyx against a mock server speaking its documented contract: the exact request, the documented answers
//! and errors with their classes, reconciliation, and webhook signatures (Ed25519) and parsing.

mod support;

use std::time::Duration;

use ed25519_dalek::SigningKey;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{CallbackError, ProviderError, ProviderKind, SmsProvider};
use irisx_providers::sms::telnyx::{Credentials, Telnyx, normalize, public_key, sign};
use rstest::rstest;
use serde_json::{Value, json};
use support::*;
use time::OffsetDateTime;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "KEY0123456789ABCDEF_test";
const PROFILE: &str = "4000eba1-a0c0-4563-9925-b25e842a7cb6";
const MESSAGE_ID: &str = "40385f64-5717-4562-b3fc-2c963f66afa6";
const CALLBACK_URL: &str = "https://irisx.example/v1/providers/telnyx/status?account=pa_1";

/// Callback headers, owned so a table of cases can hold them.
type Headers = Vec<(&'static str, String)>;

/// The account's webhook signing key, fixed so runs are reproducible.
fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn adapter(base: &str) -> Telnyx {
    Telnyx::new(
        Credentials {
            api_key: API_KEY.into(),
            public_key: public_key(&signing_key()),
            messaging_profile_id: Some(PROFILE.into()),
        },
        Some(base),
        http(),
    )
    .unwrap()
}

/// A webhook as Telnyx posts it: the raw body, signed at `timestamp`.
fn signed_webhook(file: &str, timestamp: i64) -> (String, String, String) {
    let body = contract(file).to_string();
    let signature = sign(&signing_key(), timestamp, body.as_bytes());
    (body, signature, timestamp.to_string())
}

#[tokio::test]
async fn a_send_is_the_documented_json_post_with_a_bearer_key_and_reads_the_200_message() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/messages"))
        .and(header("authorization", format!("Bearer {API_KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "from": "+15017122661",
            "to": "+15558675310",
            "text": "Hello from IRISX",
            "messaging_profile_id": PROFILE,
            "webhook_url": "https://irisx.example/v1/providers/callbacks/status",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("telnyx/send_message_response_200.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&sms()).await.unwrap();
    assert_eq!(ok.provider_message_id, MESSAGE_ID);
    assert_eq!(ok.status, DeliveryStatus::Queued);
    assert_eq!(ok.segments, Some(1));
}

#[tokio::test]
async fn an_mms_without_a_profile_sends_media_urls_and_no_profile_id() {
    let mock = MockServer::start().await;
    let mut mms = sms();
    mms.body.clear();
    mms.status_callback = None;
    mms.media_urls = vec!["https://irisx.example/media/cat.png".into()];
    Mock::given(method("POST"))
        .and(path("/v2/messages"))
        .and(body_json(json!({
            "from": "+15017122661",
            "to": "+15558675310",
            "media_urls": ["https://irisx.example/media/cat.png"],
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("telnyx/send_message_response_200.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let creds = json!({"api_key": API_KEY, "public_key": public_key(&signing_key())});
    let a = irisx_providers::sms::build(ProviderKind::Telnyx, &creds, Some(&mock.uri()), http()).unwrap();
    a.send(&mms).await.unwrap();
}

#[rstest]
#[case::invalid_to_is_permanent_with_its_code(
    400,
    contract("telnyx/error_400_invalid_to.json"),
    None,
    "permanent:40310"
)]
// The bodies below follow the documented envelope and code table of PROVIDERS.md §2.1.
#[case::bad_credentials_are_permanent(401, json!({"errors": [{"code": "10009", "title": "Authentication failed", "detail": "The required authentication headers were either invalid or not included in the request."}]}), None, "permanent:10009")]
#[case::too_many_requests_is_retryable_after_the_delay(429, json!({"errors": [{"code": "10011", "title": "Too many requests", "detail": "Too many requests."}]}), Some("3"), "retryable:10011:3")]
#[case::a_server_error_is_retryable(500, json!({"errors": [{"code": "10007", "title": "Unexpected error", "detail": "An unexpected error occurred."}]}), None, "retryable:10007:-")]
#[case::an_error_without_the_envelope_keeps_the_http_status(503, json!("upstream unavailable"), None, "retryable:503:-")]
#[tokio::test]
async fn errors_are_classified_from_the_documented_bodies(
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
        .and(path("/v2/messages"))
        .respond_with(resp)
        .mount(&mock)
        .await;
    let got = class(adapter(&mock.uri()).send(&sms()).await.unwrap_err());
    assert_eq!(got, want, "HTTP {status}");
}

#[tokio::test]
async fn a_timeout_after_the_request_left_is_unknown_and_a_refused_connection_is_retryable() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&mock)
        .await;
    assert_eq!(class(adapter(&mock.uri()).send(&sms()).await.unwrap_err()), "unknown");
    let refused = adapter(&dead_address()).send(&sms()).await.unwrap_err();
    assert!(matches!(refused, ProviderError::Retryable { .. }), "{refused:?}");
}

#[tokio::test]
async fn a_2xx_answer_that_is_not_a_message_is_unknown() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>ok</html>"))
        .mount(&mock)
        .await;
    assert_eq!(class(adapter(&mock.uri()).send(&sms()).await.unwrap_err()), "unknown");
}

#[tokio::test]
async fn reconciliation_reads_the_message_by_id_and_a_404_means_never_processed() {
    let mock = MockServer::start().await;
    // `GET /v2/messages/{id}` answers the same message object the webhooks carry.
    let message = contract("telnyx/webhook_message_finalized_delivered.json")["data"]["payload"].clone();
    Mock::given(method("GET"))
        .and(path(format!("/v2/messages/{MESSAGE_ID}")))
        .and(header("authorization", format!("Bearer {API_KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": message })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/messages/50385f64-5717-4562-b3fc-2c963f66afa7"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errors": [{"code": "10005", "title": "Resource not found", "detail": "The requested resource was not found."}]}),
        ))
        .mount(&mock)
        .await;
    let a = adapter(&mock.uri());
    let found = a.fetch_status(&sms(), Some(MESSAGE_ID)).await.unwrap().unwrap();
    assert_eq!(found.provider_message_id, MESSAGE_ID);
    assert_eq!(found.status, DeliveryStatus::Delivered);
    assert!(found.occurred_at.is_some());
    let missing = a
        .fetch_status(&sms(), Some("50385f64-5717-4562-b3fc-2c963f66afa7"))
        .await
        .unwrap();
    assert!(missing.is_none(), "a message Telnyx does not know was never processed");
    let without_id = a.fetch_status(&sms(), None).await.unwrap_err();
    assert!(
        matches!(without_id, ProviderError::Unknown { .. }),
        "Telnyx has no client reference to search by"
    );
}

#[tokio::test]
async fn a_signed_webhook_is_accepted_and_any_change_or_staleness_is_refused() {
    let a = adapter("http://unused");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (body, sig, ts) = signed_webhook("telnyx/webhook_message_finalized_delivered.json", now);
    let headers = |sig: &str, ts: &str| -> Headers {
        vec![
            ("telnyx-signature-ed25519", sig.to_owned()),
            ("telnyx-timestamp", ts.to_owned()),
        ]
    };
    let verify = |h: Headers, body: String| {
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        a.verify(&callback(CALLBACK_URL, &h, body))
    };
    verify(headers(&sig, &ts), body.clone()).unwrap();

    let (stale_body, stale_sig, stale_ts) = signed_webhook("telnyx/webhook_message_sent.json", now - 301);
    let (future_body, future_sig, future_ts) = signed_webhook("telnyx/webhook_message_sent.json", now + 301);
    let other_key = sign(&SigningKey::from_bytes(&[8u8; 32]), now, body.as_bytes());
    let mut flipped = sig.clone();
    flipped.replace_range(0..1, if flipped.starts_with('A') { "B" } else { "A" });
    let refused: Vec<(&str, Headers, String)> = vec![
        (
            "a changed body",
            headers(&sig, &ts),
            body.replace("delivered", "delivery_failed"),
        ),
        ("a changed signature", headers(&flipped, &ts), body.clone()),
        ("a signature by another key", headers(&other_key, &ts), body.clone()),
        (
            "a changed timestamp",
            headers(&sig, &(now + 1).to_string()),
            body.clone(),
        ),
        ("a stale timestamp", headers(&stale_sig, &stale_ts), stale_body),
        (
            "a timestamp from the future",
            headers(&future_sig, &future_ts),
            future_body,
        ),
        (
            "no signature header",
            vec![("telnyx-timestamp", ts.clone())],
            body.clone(),
        ),
        (
            "no timestamp header",
            vec![("telnyx-signature-ed25519", sig.clone())],
            body.clone(),
        ),
        (
            "a signature that is not base64",
            headers("not base64!", &ts),
            body.clone(),
        ),
    ];
    for (case, h, body) in refused {
        assert!(
            matches!(verify(h, body), Err(CallbackError::Signature(_))),
            "{case} must be refused"
        );
    }
}

#[tokio::test]
async fn the_tolerance_is_measured_from_when_the_webhook_arrived() {
    let a = adapter("http://unused");
    let then = OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let (body, sig, ts) = signed_webhook("telnyx/webhook_message_sent.json", then.unix_timestamp() + 299);
    let mut req = callback(
        CALLBACK_URL,
        &[("telnyx-signature-ed25519", &sig), ("telnyx-timestamp", &ts)],
        body,
    );
    req.received_at = then;
    a.verify(&req).unwrap();
}

#[rstest]
#[case::sent("telnyx/webhook_message_sent.json", DeliveryStatus::Sent, None)]
#[case::finalized_delivered("telnyx/webhook_message_finalized_delivered.json", DeliveryStatus::Delivered, None)]
#[case::finalized_delivery_failed(
    "telnyx/webhook_message_finalized_delivery_failed.json",
    DeliveryStatus::Undelivered,
    Some("40008")
)]
fn every_documented_delivery_webhook_maps_to_the_normalized_set(
    #[case] file: &str,
    #[case] want: DeliveryStatus,
    #[case] error_code: Option<&str>,
) {
    let a = adapter("http://unused");
    let updates = a
        .parse_status(&callback(CALLBACK_URL, &[], contract(file).to_string()))
        .unwrap();
    assert_eq!(updates.len(), 1, "{file}");
    assert_eq!(updates[0].provider_message_id, MESSAGE_ID);
    assert_eq!(updates[0].status, want, "{file}");
    assert_eq!(updates[0].error_code.as_deref(), error_code, "{file}");
    assert!(updates[0].occurred_at.is_some(), "{file}");
}

#[rstest]
#[case("scheduled", DeliveryStatus::Queued)]
#[case("queued", DeliveryStatus::Queued)]
#[case("sending", DeliveryStatus::Queued)]
#[case("sent", DeliveryStatus::Sent)]
#[case("delivered", DeliveryStatus::Delivered)]
#[case("delivery_unconfirmed", DeliveryStatus::Unknown)]
#[case("delivery_failed", DeliveryStatus::Undelivered)]
#[case("sending_failed", DeliveryStatus::Failed)]
#[case("expired", DeliveryStatus::Undelivered)]
#[case("cancelled", DeliveryStatus::Canceled)]
#[case("something_new", DeliveryStatus::Unknown)]
fn every_documented_recipient_status_normalizes_as_the_table_says(#[case] status: &str, #[case] want: DeliveryStatus) {
    assert_eq!(normalize(status), want);
}

#[test]
fn an_inbound_message_on_the_status_route_is_not_a_receipt() {
    let a = adapter("http://unused");
    let body = contract("telnyx/webhook_message_received.json").to_string();
    assert!(a.parse_status(&callback(CALLBACK_URL, &[], body)).unwrap().is_empty());
}

#[test]
fn an_inbound_message_is_parsed_from_the_documented_webhook_with_or_without_meta() {
    let a = adapter("http://unused");
    let mut webhook = contract("telnyx/webhook_message_received.json");
    let m = a
        .parse_inbound(&callback(CALLBACK_URL, &[], webhook.to_string()))
        .unwrap();
    assert_eq!(m.provider_message_id, "7ee4241c-f127-47e5-9c34-3aac291f8058");
    assert_eq!((m.from.as_str(), m.to.as_str()), ("+18665550001", "+18445550001"));
    assert_eq!(m.body, "Hello, World!");
    assert!(m.media.is_empty());

    webhook["meta"] = json!({"attempt": 1, "delivered_to": CALLBACK_URL});
    webhook["data"]["payload"]["media"] = json!([{"url": "https://media.telnyx.example/cat.png", "content_type": "image/png", "size": 1024, "hash_sha256": "ab"}]);
    let mms = a
        .parse_inbound(&callback(CALLBACK_URL, &[], webhook.to_string()))
        .unwrap();
    assert_eq!(mms.media.len(), 1);
    assert_eq!(mms.media[0].content_type.as_deref(), Some("image/png"));
}

#[test]
fn a_body_without_the_envelope_is_malformed() {
    let a = adapter("http://unused");
    for body in ["not json", r#"{"data": {"event_type": "message.sent"}}"#] {
        assert!(matches!(
            a.parse_status(&callback(CALLBACK_URL, &[], body)),
            Err(CallbackError::Malformed(_))
        ));
        assert!(matches!(
            a.parse_inbound(&callback(CALLBACK_URL, &[], body)),
            Err(CallbackError::Malformed(_))
        ));
    }
}

#[rstest]
#[case::a_key_that_is_not_base64(json!({"api_key": "k", "public_key": "%%%"}))]
#[case::a_key_of_the_wrong_length(json!({"api_key": "k", "public_key": "AAAA"}))]
#[case::an_unknown_field(json!({"api_key": "k", "public_key": public_key(&signing_key()), "api_secret": "x"}))]
#[case::no_api_key(json!({"public_key": public_key(&signing_key())}))]
fn credentials_that_are_not_telnyx_s_are_refused_when_building(#[case] creds: Value) {
    assert!(irisx_providers::sms::build(ProviderKind::Telnyx, &creds, None, http()).is_err());
}
