//! MessageBird (legacy REST SMS API) against a mock server speaking its documented contract: the exact request,
//! the documented answers and errors with their classes, reconciliation, and the Signature-JWT on status reports
//! and inbound messages.

mod support;

use std::time::Duration;

use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{CallbackRequest, ProviderError, SmsProvider};
use irisx_providers::sms::form;
use irisx_providers::sms::messagebird::{Credentials, MessageBird, normalize, sign};
use serde_json::{Value, json};
use support::*;
use time::OffsetDateTime;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCESS_KEY: &str = "live_xxxxxxxxxxxxxxxxxxxxxxxxx";
const SIGNING_KEY: &str = "36efdd1aace2e26cd490f0d951138253bef2f7c6d34d18981da781555cc4cebb";
const MESSAGE_ID: &str = "e8077d803532c0b5937c639b60216938";
const CALLBACK_URL: &str = "https://irisx.example/v1/providers/messagebird/status";

fn adapter(base: &str) -> MessageBird {
    MessageBird::new(
        Credentials {
            access_key: ACCESS_KEY.into(),
            signing_key: SIGNING_KEY.into(),
        },
        Some(base),
        http(),
    )
}

fn access_key() -> String {
    format!("AccessKey {ACCESS_KEY}")
}

#[tokio::test]
async fn a_send_is_the_documented_json_post_with_the_access_key_and_reads_the_201_message() {
    let mock = MockServer::start().await;
    let want = json!({
        "originator": "+15017122661",
        "recipients": [15558675310_u64],
        "body": "Hello from IRISX",
        "reference": "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12",
        "reportUrl": "https://irisx.example/v1/providers/callbacks/status",
        "datacoding": "auto",
    });
    // Every field of the documented request, with the same JSON type (recipients are numbers).
    for (k, v) in contract("messagebird/send_sms_request.json").as_object().unwrap() {
        assert_eq!(std::mem::discriminant(v), std::mem::discriminant(&want[k]), "{k}");
    }
    Mock::given(method("POST"))
        .and(path("/messages"))
        .and(header("authorization", access_key().as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(&want))
        .respond_with(ResponseTemplate::new(201).set_body_json(contract("messagebird/send_sms_response_201.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&sms()).await.unwrap();
    assert_eq!(ok.provider_message_id, MESSAGE_ID);
    assert_eq!(
        ok.status,
        DeliveryStatus::Sent,
        "the recipient's status in the 201 answer"
    );
}

#[tokio::test]
async fn a_validity_is_sent_in_seconds_and_without_a_callback_there_is_no_report_url() {
    let mock = MockServer::start().await;
    let want = json!({
        "originator": "+15017122661",
        "recipients": [15558675310_u64],
        "body": "Hello from IRISX",
        "reference": "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12",
        "validity": 3600,
        "datacoding": "auto",
    });
    Mock::given(method("POST"))
        .and(path("/messages"))
        .and(body_json(&want))
        .respond_with(ResponseTemplate::new(201).set_body_json(contract("messagebird/send_sms_response_201.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let mut m = sms();
    m.status_callback = None;
    m.validity_period = Some(3600);
    adapter(&mock.uri()).send(&m).await.unwrap();
}

#[tokio::test]
async fn media_is_refused_permanently_without_calling_messagebird() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&mock)
        .await;
    let mut m = sms();
    m.media_urls = vec!["https://irisx.example/cat.jpg".into()];
    let err = adapter(&mock.uri()).send(&m).await.unwrap_err();
    assert_eq!(class(err), "permanent:media_unsupported");
}

#[tokio::test]
async fn errors_are_classified_from_the_documented_bodies() {
    let cases: Vec<(u16, Option<Value>, Option<&str>, &str)> = vec![
        (
            401,
            Some(contract("messagebird/error_401_from_doc.json")),
            None,
            "permanent:2",
        ),
        (
            422,
            Some(contract("messagebird/error_422_from_doc.json")),
            None,
            "permanent:10",
        ),
        (429, None, Some("3"), "retryable:429:3"),
        (
            500,
            Some(contract("messagebird/error_500_from_doc.json")),
            None,
            "retryable:99:-",
        ),
    ];
    for (status, body, retry_after, want) in cases {
        let mock = MockServer::start().await;
        let mut resp = ResponseTemplate::new(status);
        if let Some(b) = body {
            resp = resp.set_body_json(b);
        }
        if let Some(r) = retry_after {
            resp = resp.insert_header("retry-after", r);
        }
        Mock::given(method("POST"))
            .and(path("/messages"))
            .respond_with(resp)
            .mount(&mock)
            .await;
        let err = adapter(&mock.uri()).send(&sms()).await.unwrap_err();
        if status == 422 {
            assert!(
                err.to_string().contains("parameter `recipients`"),
                "the refused parameter is named: {err}"
            );
        }
        assert_eq!(class(err), want, "HTTP {status}");
    }
}

#[tokio::test]
async fn a_timeout_after_the_request_left_or_a_garbled_201_is_unknown_and_a_refused_connection_is_retryable() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&mock)
        .await;
    assert_eq!(class(adapter(&mock.uri()).send(&sms()).await.unwrap_err()), "unknown");

    let garbled = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_string("<html>"))
        .mount(&garbled)
        .await;
    assert_eq!(
        class(adapter(&garbled.uri()).send(&sms()).await.unwrap_err()),
        "unknown"
    );

    let refused = adapter(&dead_address()).send(&sms()).await.unwrap_err();
    assert!(matches!(refused, ProviderError::Retryable { .. }), "{refused:?}");
}

#[tokio::test]
async fn reconciliation_reads_the_message_by_id_or_finds_it_by_reference() {
    let mock = MockServer::start().await;
    let mut message = contract("messagebird/send_sms_response_201.json");
    message["recipients"]["items"][0]["recipient"] = 15558675310_u64.into();
    message["recipients"]["items"][0]["status"] = "delivered".into();
    message["reference"] = "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12".into();
    Mock::given(method("GET"))
        .and(path(format!("/messages/{MESSAGE_ID}")))
        .and(header("authorization", access_key().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(&message))
        .mount(&mock)
        .await;
    let mut other = message.clone();
    other["id"] = "00000000000000000000000000000000".into();
    other["reference"] = "msg_other".into();
    Mock::given(method("GET"))
        .and(path("/messages"))
        .and(header("authorization", access_key().as_str()))
        .and(query_param("originator", "+15017122661"))
        .and(query_param("recipient", "15558675310"))
        .and(query_param("direction", "mt"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "offset": 0, "limit": 20, "count": 2, "totalCount": 2, "items": [other, message],
        })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/messages/ffffffffffffffffffffffffffffffff"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "errors": [{"code": 20, "description": "message not found", "parameter": null}],
        })))
        .mount(&mock)
        .await;
    let a = adapter(&mock.uri());
    let by_id = a.fetch_status(&sms(), Some(MESSAGE_ID)).await.unwrap().unwrap();
    assert_eq!(by_id.status, DeliveryStatus::Delivered);
    assert_eq!(by_id.provider_status, "delivered");
    assert!(by_id.occurred_at.is_some());
    let by_reference = a.fetch_status(&sms(), None).await.unwrap().unwrap();
    assert_eq!(by_reference.provider_message_id, MESSAGE_ID);
    let missing = a
        .fetch_status(&sms(), Some("ffffffffffffffffffffffffffffffff"))
        .await
        .unwrap();
    assert!(
        missing.is_none(),
        "a message MessageBird does not know was never processed"
    );
}

/// A status report or inbound message as MessageBird sends it: a GET whose query holds the fields.
fn report(file: &str) -> (String, CallbackRequest) {
    let params = contract_form(file);
    let url = format!(
        "{CALLBACK_URL}?{}",
        form::encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    );
    let mut req = callback(&url, &[], "");
    req.method = "GET".into();
    (url, req)
}

fn signed(mut req: CallbackRequest, token: &str) -> CallbackRequest {
    req.headers.push(("messagebird-signature-jwt".into(), token.to_owned()));
    req
}

#[tokio::test]
async fn a_signed_status_report_is_accepted_and_any_change_or_a_stale_token_is_refused() {
    let a = adapter("http://unused");
    let (url, req) = report("messagebird/status_report_delivered_query_from_doc.json");
    let now = OffsetDateTime::now_utc();
    let token = sign(SIGNING_KEY, &url, b"", now);
    a.verify(&signed(req.clone(), &token)).unwrap();

    let mut changed_query = signed(req.clone(), &token);
    changed_query.url = url.replace("delivered", "delivery_failed");
    // The first character of the signature part carries six signature bits (the last one carries padding).
    let mut bad_signature = token.clone();
    let at = token.rfind('.').unwrap() + 1;
    let flipped = if token[at..].starts_with('A') { "B" } else { "A" };
    bad_signature.replace_range(at..=at, flipped);
    let refused = [
        ("a changed query", changed_query),
        ("a changed signature", signed(req.clone(), &bad_signature)),
        (
            "a token signed with another key",
            signed(req.clone(), &sign("another key", &url, b"", now)),
        ),
        (
            "a stale token",
            signed(
                req.clone(),
                &sign(SIGNING_KEY, &url, b"", now - Duration::from_secs(600)),
            ),
        ),
        (
            "a token not valid yet",
            signed(
                req.clone(),
                &sign(SIGNING_KEY, &url, b"", now + Duration::from_secs(600)),
            ),
        ),
        ("no signature", req.clone()),
        ("an unsigned JWT", signed(req.clone(), &unsigned(&token))),
    ];
    for (what, r) in refused {
        assert!(a.verify(&r).is_err(), "{what} must be refused");
    }
}

/// The same claims with `alg: none` and no signature.
fn unsigned(token: &str) -> String {
    use base64::Engine;
    let claims = token.split('.').nth(1).unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{claims}.")
}

#[tokio::test]
async fn a_signed_body_is_covered_by_the_payload_hash() {
    let a = adapter("http://unused");
    let body = r#"{"id":"e8077d803532c0b5937c639b60216938","status":"delivered"}"#;
    let now = OffsetDateTime::now_utc();
    let ok = signed(
        callback(CALLBACK_URL, &[], body),
        &sign(SIGNING_KEY, CALLBACK_URL, body.as_bytes(), now),
    );
    a.verify(&ok).unwrap();
    let mut changed = ok.clone();
    changed.body = body.replace("delivered", "expired").into();
    assert!(a.verify(&changed).is_err(), "a changed body");
    let no_payload_hash = signed(
        callback(CALLBACK_URL, &[], body),
        &sign(SIGNING_KEY, CALLBACK_URL, b"", now),
    );
    assert!(a.verify(&no_payload_hash).is_err(), "a body the token does not hash");
}

#[tokio::test]
async fn every_documented_status_report_maps_to_the_normalized_set() {
    let a = adapter("http://unused");
    for (file, want, error_code) in [
        ("status_report_sent_query_from_doc.json", DeliveryStatus::Sent, None),
        (
            "status_report_delivered_query_from_doc.json",
            DeliveryStatus::Delivered,
            None,
        ),
        (
            "status_report_delivery_failed_query_from_doc.json",
            DeliveryStatus::Undelivered,
            Some("1"),
        ),
    ] {
        let (_, req) = report(&format!("messagebird/{file}"));
        let updates = a.parse_status(&req).unwrap();
        assert_eq!(updates.len(), 1, "{file}");
        let u = &updates[0];
        assert_eq!(u.provider_message_id, MESSAGE_ID, "{file}");
        assert_eq!(u.status, want, "{file}");
        assert_eq!(u.error_code.as_deref(), error_code, "{file}");
        assert!(u.occurred_at.is_some(), "{file}: statusDatetime is read");
    }
    for (word, want) in [
        ("scheduled", DeliveryStatus::Queued),
        ("sent", DeliveryStatus::Sent),
        ("buffered", DeliveryStatus::Sent),
        ("delivered", DeliveryStatus::Delivered),
        ("expired", DeliveryStatus::Undelivered),
        ("delivery_failed", DeliveryStatus::Undelivered),
        ("something_new", DeliveryStatus::Unknown),
    ] {
        assert_eq!(normalize(word), want, "{word}");
    }
}

#[tokio::test]
async fn a_report_whose_offset_plus_arrived_unescaped_still_has_its_time() {
    let a = adapter("http://unused");
    let url = format!("{CALLBACK_URL}?id={MESSAGE_ID}&status=delivered&statusDatetime=2016-05-03T14:26:57+00:00");
    let mut req = callback(&url, &[], "");
    req.method = "GET".into();
    let u = &a.parse_status(&req).unwrap()[0];
    assert_eq!(u.occurred_at.unwrap().unix_timestamp(), 1_462_285_617);
}

#[tokio::test]
async fn a_report_without_a_status_is_malformed() {
    let a = adapter("http://unused");
    let req = callback(&format!("{CALLBACK_URL}?id={MESSAGE_ID}"), &[], "");
    assert!(a.parse_status(&req).is_err());
}

#[tokio::test]
async fn an_inbound_message_is_parsed_from_the_documented_query() {
    let a = adapter("http://unused");
    let (url, req) = report("messagebird/inbound_sms_query_from_doc.json");
    let req = signed(req, &sign(SIGNING_KEY, &url, b"", OffsetDateTime::now_utc()));
    a.verify(&req).unwrap();
    let m = a.parse_inbound(&req).unwrap();
    assert_eq!(m.provider_message_id, "3ba4e1d0f2a64f3b9c7d8e1f2a3b4c5d");
    assert_eq!(m.from, "+15558675310", "MSISDNs come back as E.164");
    assert_eq!(m.to, "+15017122661");
    assert_eq!(m.body, "Hi IRISX");
    assert!(m.media.is_empty());
}

#[test]
fn credentials_refuse_unknown_fields_and_need_the_signing_key() {
    use irisx_core::sms::provider::ProviderKind;
    use irisx_providers::sms::build;
    let kind = ProviderKind::Messagebird;
    let ok = json!({"access_key": ACCESS_KEY, "signing_key": SIGNING_KEY});
    assert!(build(kind, &ok, None, http()).is_ok());
    assert!(build(kind, &json!({"access_key": ACCESS_KEY}), None, http()).is_err());
    let extra = json!({"access_key": ACCESS_KEY, "signing_key": SIGNING_KEY, "region": "eu"});
    assert!(build(kind, &extra, None, http()).is_err());
}
