//! Bandwidth against a mock server speaking its documented contract: the exact request, the documented answers
//! and errors with their classes, reconciliation through the message search, and callback credentials and
//! parsing.

mod support;

use std::time::Duration;

use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{CallbackError, ProviderError, ProviderKind, SmsProvider};
use irisx_providers::sms::bandwidth::{Bandwidth, Credentials, failure, normalize, normalize_search, sign};
use rstest::rstest;
use serde_json::{Value, json};
use support::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT: &str = "9900000";
const USER: &str = "api-user";
const PASSWORD: &str = "api-password";
const APPLICATION: &str = "93de2206-9669-4e07-948d-329f4b722ee2";
const CALLBACK_USER: &str = "irisx-callbacks";
const CALLBACK_PASSWORD: &str = "0123456789abcdef0123456789abcdef";
const SEND_PATH: &str = "/api/v2/users/9900000/messages";
const MESSAGE_ID: &str = "14762070468292kw2fuqty55yp2b2";
const CALLBACK_URL: &str = "https://irisx.example/v1/providers/bandwidth/status?account=pa_1";

fn creds() -> Value {
    json!({
        "account_id": ACCOUNT,
        "username": USER,
        "password": PASSWORD,
        "application_id": APPLICATION,
        "callback_username": CALLBACK_USER,
        "callback_password": CALLBACK_PASSWORD,
    })
}

fn adapter(base: &str) -> Bandwidth {
    let creds: Credentials = serde_json::from_value(creds()).unwrap();
    Bandwidth::new(creds, Some(base), http())
}

#[tokio::test]
async fn a_send_is_the_documented_json_post_with_basic_auth_and_our_id_as_tag() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", sign(USER, PASSWORD).as_str()))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_json(json!({
            "applicationId": APPLICATION,
            "to": ["+15558675310"],
            "from": "+15017122661",
            "text": "Hello from IRISX",
            "tag": "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12",
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(contract("bandwidth/send_message_response_202.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&sms()).await.unwrap();
    assert_eq!(ok.provider_message_id, MESSAGE_ID);
    assert_eq!(ok.status, DeliveryStatus::Accepted);
    assert_eq!(ok.segments, Some(1));
}

#[tokio::test]
async fn an_mms_sends_media_and_a_validity_period_becomes_an_rfc3339_expiration() {
    let mock = MockServer::start().await;
    let mut mms = sms();
    mms.body.clear();
    mms.media_urls = vec!["https://irisx.example/media/cat.png".into()];
    mms.validity_period = Some(3600);
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .respond_with(ResponseTemplate::new(202).set_body_json(contract("bandwidth/send_message_response_202.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let a = irisx_providers::sms::build(ProviderKind::Bandwidth, &creds(), Some(&mock.uri()), http()).unwrap();
    a.send(&mms).await.unwrap();
    let mut sent: Value = mock.received_requests().await.unwrap()[0].body_json().unwrap();
    let expiration = sent.as_object_mut().unwrap().remove("expiration").unwrap();
    let at = OffsetDateTime::parse(expiration.as_str().unwrap(), &Rfc3339).unwrap();
    let want = OffsetDateTime::now_utc() + Duration::from_secs(3600);
    assert!((at - want).abs() < time::Duration::seconds(5), "expiration {at}");
    let media = ["https://irisx.example/media/cat.png"];
    let tag = "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12";
    let want = json!({"applicationId": APPLICATION, "to": ["+15558675310"], "from": "+15017122661", "media": media, "tag": tag});
    assert_eq!(sent, want);
}

fn with_field_errors() -> Value {
    let mut body = contract("bandwidth/error_400.json");
    body["fieldErrors"] = json!([{"fieldName": "to", "description": "'+1555' must be a valid E164 number"}]);
    body
}

#[rstest]
#[case::a_validation_error_is_permanent_with_its_type(
    400,
    contract("bandwidth/error_400.json"),
    None,
    "permanent:request-validation"
)]
#[case::field_errors_do_not_change_the_class(400, with_field_errors(), None, "permanent:request-validation")]
#[case::bad_credentials_are_permanent(401, contract("bandwidth/error_401.json"), None, "permanent:unauthorized")]
#[case::a_forbidden_account_is_permanent(403, contract("bandwidth/error_403.json"), None, "permanent:forbidden")]
#[case::a_full_queue_is_retryable_after_the_delay(
    429,
    contract("bandwidth/error_429.json"),
    Some("3"),
    "retryable:max-message-queue-size-exceeded:3"
)]
#[case::a_full_queue_without_retry_after_is_retryable(
    429,
    contract("bandwidth/error_429.json"),
    None,
    "retryable:max-message-queue-size-exceeded:-"
)]
// The spec's 500 body has the same `{type, description}` schema; no example is published.
#[case::a_server_error_is_retryable(500, json!({"type": "internal-server-error", "description": "Internal Server Error"}), None, "retryable:internal-server-error:-")]
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
        .and(path(SEND_PATH))
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
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&mock)
        .await;
    assert_eq!(class(adapter(&mock.uri()).send(&sms()).await.unwrap_err()), "unknown");
    let refused = adapter(&dead_address()).send(&sms()).await.unwrap_err();
    assert!(matches!(refused, ProviderError::Retryable { .. }), "{refused:?}");
}

#[tokio::test]
async fn reconciliation_searches_by_message_id_and_no_match_means_never_processed() {
    let mock = MockServer::start().await;
    let listed = contract("bandwidth/list_messages_response_200.json");
    let found_id = listed["messages"][0]["messageId"].as_str().unwrap().to_owned();
    let mut failed = listed.clone();
    failed["messages"][0]["messageId"] = "1589228074636failedmessage00".into();
    failed["messages"][0]["messageStatus"] = "FAILED".into();
    failed["messages"][0]["errorCode"] = 4432.into();
    for (id, answer) in [
        (found_id.as_str(), listed.clone()),
        ("1589228074636failedmessage00", failed),
        (
            "1589228074636unknownmessage0",
            json!({"totalCount": 0, "pageInfo": {}, "messages": []}),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(SEND_PATH))
            .and(query_param("messageId", id))
            .and(header("authorization", sign(USER, PASSWORD).as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&mock)
            .await;
    }
    // The documented 404 body of errors.mdx.
    Mock::given(method("GET"))
        .and(path(SEND_PATH))
        .and(query_param("messageId", "gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "timestamp": "2019-09-09T19:02:19.253+0000", "status": 404, "error": "Not Found", "message": "Not Found",
            "path": "/api/v2/users/9900000/messages"
        })))
        .mount(&mock)
        .await;
    let a = adapter(&mock.uri());
    let found = |id: &'static str| {
        let a = &a;
        async move {
            a.fetch_status(&sms(), Some(id))
                .await
                .unwrap()
                .map(|u| (u.status, u.error_code))
        }
    };
    let delivered = a.fetch_status(&sms(), Some(&found_id)).await.unwrap().unwrap();
    assert_eq!(
        (delivered.status, delivered.error_code),
        (DeliveryStatus::Delivered, None)
    );
    assert_eq!(
        found("1589228074636failedmessage00").await,
        Some((DeliveryStatus::Failed, Some("4432".into())))
    );
    assert_eq!(
        found("1589228074636unknownmessage0").await,
        None,
        "an empty search: never processed"
    );
    assert_eq!(found("gone").await, None, "a 404: never processed");
    let without_id = a.fetch_status(&sms(), None).await.unwrap_err();
    assert!(
        matches!(without_id, ProviderError::Unknown { .. }),
        "the search cannot find a send by its tag"
    );
}

#[test]
fn callbacks_with_the_configured_basic_credentials_are_accepted_and_all_others_refused() {
    let a = adapter("http://unused");
    let body = contract("bandwidth/callback_message_delivered.json").to_string();
    let good = sign(CALLBACK_USER, CALLBACK_PASSWORD);
    a.verify(&callback(CALLBACK_URL, &[("Authorization", &good)], body.clone()))
        .unwrap();
    // Basic credentials do not bind the body (Bandwidth signs nothing); TLS protects it in transit.
    let lower_scheme = good.replacen("Basic", "basic", 1);
    a.verify(&callback(
        CALLBACK_URL,
        &[("Authorization", &lower_scheme)],
        body.clone(),
    ))
    .unwrap();

    let mut flipped = good.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'A' { 'B' } else { 'A' });
    for (case, headers) in [
        (
            "a wrong password",
            vec![("Authorization", sign(CALLBACK_USER, "wrong"))],
        ),
        (
            "a wrong user",
            vec![("Authorization", sign("someone", CALLBACK_PASSWORD))],
        ),
        ("the API credentials", vec![("Authorization", sign(USER, PASSWORD))]),
        ("a changed header", vec![("Authorization", flipped)]),
        (
            "another scheme",
            vec![("Authorization", good.replacen("Basic", "Bearer", 1))],
        ),
        (
            "credentials that are not base64",
            vec![("Authorization", "Basic %%%".to_owned())],
        ),
        ("no Authorization header", vec![]),
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let got = a.verify(&callback(CALLBACK_URL, &h, body.clone()));
        assert!(
            matches!(got, Err(CallbackError::Signature(_))),
            "{case} must be refused"
        );
    }
}

#[rstest]
#[case::sending("bandwidth/callback_message_sending.json", DeliveryStatus::Sent, None)]
#[case::delivered("bandwidth/callback_message_delivered.json", DeliveryStatus::Delivered, None)]
#[case::failed_forbidden_to_country("bandwidth/callback_message_failed.json", DeliveryStatus::Failed, Some("4432"))]
fn every_documented_delivery_callback_maps_to_the_normalized_set(
    #[case] file: &str,
    #[case] want: DeliveryStatus,
    #[case] error_code: Option<&str>,
) {
    let a = adapter("http://unused");
    let updates = a
        .parse_status(&callback(CALLBACK_URL, &[], contract(file).to_string()))
        .unwrap();
    assert_eq!(updates.len(), 1, "{file}");
    assert_eq!(
        updates[0].provider_message_id,
        contract(file)[0]["message"]["id"].as_str().unwrap()
    );
    assert_eq!(updates[0].status, want, "{file}");
    assert_eq!(updates[0].error_code.as_deref(), error_code, "{file}");
    assert!(updates[0].occurred_at.is_some(), "{file}");
}

#[rstest]
#[case::rejected_by_bandwidth(Some(4432), DeliveryStatus::Failed)]
#[case::malformed_to_number(Some(4303), DeliveryStatus::Failed)]
#[case::refused_by_the_carrier(Some(4720), DeliveryStatus::Undelivered)]
#[case::a_bandwidth_service_failure(Some(5100), DeliveryStatus::Failed)]
#[case::a_carrier_service_failure(Some(5620), DeliveryStatus::Undelivered)]
#[case::the_delivery_receipt_expired(Some(9902), DeliveryStatus::Unknown)]
#[case::an_unknown_downstream_error(Some(9999), DeliveryStatus::Undelivered)]
#[case::no_error_code(None, DeliveryStatus::Failed)]
fn a_message_failed_is_split_by_its_error_code(#[case] code: Option<i64>, #[case] want: DeliveryStatus) {
    assert_eq!(failure(code), want);
    assert_eq!(normalize("message-failed", code), want);
    assert_eq!(normalize_search("FAILED", code), want);
}

#[test]
fn the_documented_failed_callback_with_a_carrier_code_is_undelivered() {
    let a = adapter("http://unused");
    let mut events = contract("bandwidth/callback_message_failed.json");
    events[0]["errorCode"] = 4720.into();
    let u = &a
        .parse_status(&callback(CALLBACK_URL, &[], events.to_string()))
        .unwrap()[0];
    assert_eq!(
        (u.status, u.error_code.as_deref()),
        (DeliveryStatus::Undelivered, Some("4720"))
    );
}

#[test]
fn every_event_of_a_batch_is_read_and_inbound_ones_are_not_receipts() {
    let a = adapter("http://unused");
    let mut batch = contract("bandwidth/callback_message_sending.json");
    let arr = batch.as_array_mut().unwrap();
    arr.extend(
        contract("bandwidth/callback_message_delivered.json")
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    arr.extend(
        contract("bandwidth/callback_message_received.json")
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    let updates = a.parse_status(&callback(CALLBACK_URL, &[], batch.to_string())).unwrap();
    let statuses: Vec<_> = updates.iter().map(|u| u.status).collect();
    assert_eq!(statuses, [DeliveryStatus::Sent, DeliveryStatus::Delivered]);

    let single = contract("bandwidth/callback_message_delivered.json")[0].to_string();
    assert_eq!(
        a.parse_status(&callback(CALLBACK_URL, &[], single)).unwrap().len(),
        1,
        "one bare event is read"
    );
}

#[test]
fn an_inbound_message_is_parsed_from_the_documented_callback() {
    let a = adapter("http://unused");
    let body = contract("bandwidth/callback_message_received.json").to_string();
    let m = a.parse_inbound(&callback(CALLBACK_URL, &[], body)).unwrap();
    assert_eq!(m.provider_message_id, MESSAGE_ID);
    assert_eq!((m.from.as_str(), m.to.as_str()), ("+12345678901", "+12345678902"));
    assert_eq!(m.body, "Hey, check this out!");
    assert_eq!(m.media.len(), 1);
    assert!(m.media[0].url.ends_with("/0/bw.png"));
}

#[test]
fn bodies_that_are_not_bandwidth_events_are_malformed() {
    let a = adapter("http://unused");
    let delivered = contract("bandwidth/callback_message_delivered.json").to_string();
    assert!(matches!(
        a.parse_inbound(&callback(CALLBACK_URL, &[], delivered)),
        Err(CallbackError::Malformed(_))
    ));
    for body in ["not json", "42", r#"[{"type": "message-delivered"}]"#] {
        assert!(matches!(
            a.parse_status(&callback(CALLBACK_URL, &[], body)),
            Err(CallbackError::Malformed(_))
        ));
    }
}

#[rstest]
#[case::an_unknown_field(json!({"account_id": "1", "username": "u", "password": "p", "application_id": "a", "callback_username": "c", "callback_password": "d", "region": "eu"}))]
#[case::no_callback_credentials(json!({"account_id": "1", "username": "u", "password": "p", "application_id": "a"}))]
fn credentials_that_are_not_bandwidth_s_are_refused_when_building(#[case] creds: Value) {
    assert!(irisx_providers::sms::build(ProviderKind::Bandwidth, &creds, None, http()).is_err());
}
