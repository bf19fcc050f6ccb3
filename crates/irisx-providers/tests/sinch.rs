//! Sinch (XMS batches) against a mock server speaking its documented contract: the exact request, the documented
//! answers and errors with their classes, reconciliation by batch id or client reference, Basic-auth callbacks,
//! delivery reports and inbound messages.

mod support;

use std::time::Duration;

use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{CallbackError, ProviderError, ProviderKind, SmsProvider};
use irisx_providers::sms::build;
use irisx_providers::sms::sinch::{Credentials, Region, Sinch, normalize, sign};
use serde_json::{Value, json};
use support::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PLAN: &str = "jd63jf88477ll123ab4567cd89012ef3";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const BATCH: &str = "01FC66621XXXXX119Z8PMV1QPQ";
const BATCHES: &str = "/xms/v1/jd63jf88477ll123ab4567cd89012ef3/batches";
const CALLBACK_URL: &str = "https://irisx.example/v1/providers/sinch/status";
const USER: &str = "irisx";
const PASSWORD: &str = "correct horse battery staple";

fn adapter(base: &str) -> Sinch {
    Sinch::new(
        Credentials {
            service_plan_id: PLAN.into(),
            api_token: TOKEN.into(),
            callback_username: USER.into(),
            callback_password: PASSWORD.into(),
            region: Region::Eu,
        },
        Some(base),
        http(),
    )
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

#[tokio::test]
async fn a_send_is_the_documented_batch_post_with_the_bearer_token_and_reads_the_201_batch() {
    let mock = MockServer::start().await;
    let want = json!({
        "from": "+15017122661",
        "to": ["15558675310"],
        "body": "Hello from IRISX",
        "delivery_report": "per_recipient",
        "callback_url": "https://irisx.example/v1/providers/callbacks/status",
        "client_reference": "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12",
    });
    let documented = contract("sinch/send_batch_request.json");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&want),
        keys(&documented),
        "the documented request's fields, no more"
    );
    Mock::given(method("POST"))
        .and(path(BATCHES))
        .and(header("authorization", bearer().as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(&want))
        .respond_with(ResponseTemplate::new(201).set_body_json(contract("sinch/send_batch_response_201.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&sms()).await.unwrap();
    assert_eq!(ok.provider_message_id, BATCH);
    assert_eq!(ok.status, DeliveryStatus::Queued);
}

#[tokio::test]
async fn a_validity_becomes_expire_at_and_without_a_callback_no_reports_are_asked_for() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BATCHES))
        .respond_with(ResponseTemplate::new(201).set_body_json(contract("sinch/send_batch_response_201.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let mut m = sms();
    m.status_callback = None;
    m.validity_period = Some(3600);
    let before = OffsetDateTime::now_utc();
    adapter(&mock.uri()).send(&m).await.unwrap();
    let sent: Value = mock.received_requests().await.unwrap()[0].body_json().unwrap();
    assert!(
        sent.get("delivery_report").is_none() && sent.get("callback_url").is_none(),
        "{sent}"
    );
    let expire_at = OffsetDateTime::parse(sent["expire_at"].as_str().unwrap(), &Rfc3339).unwrap();
    let ahead = (expire_at - before).whole_seconds();
    assert!((3598..=3602).contains(&ahead), "expire_at is {ahead} s ahead");
}

#[tokio::test]
async fn media_is_refused_permanently_without_calling_sinch() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&mock)
        .await;
    let mut m = sms();
    m.media_urls = vec!["https://irisx.example/cat.jpg".into()];
    assert_eq!(
        class(adapter(&mock.uri()).send(&m).await.unwrap_err()),
        "permanent:media_unsupported"
    );
}

#[tokio::test]
async fn errors_are_classified_from_the_documented_bodies() {
    let cases: Vec<(u16, Option<Value>, Option<&str>, &str)> = vec![
        (
            400,
            Some(contract("sinch/error_400.json")),
            None,
            "permanent:syntax_invalid_parameter_format",
        ),
        (401, None, None, "permanent:401"),
        (
            403,
            Some(contract("sinch/error_403_missing_callback_url_from_doc.json")),
            None,
            "permanent:missing_callback_url",
        ),
        (429, None, Some("3"), "retryable:429:3"),
        (500, None, None, "retryable:500:-"),
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
            .and(path(BATCHES))
            .respond_with(resp)
            .mount(&mock)
            .await;
        let got = class(adapter(&mock.uri()).send(&sms()).await.unwrap_err());
        assert_eq!(got, want, "HTTP {status}");
    }
}

#[tokio::test]
async fn the_error_message_is_sinchs_text() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(contract("sinch/error_400.json")))
        .mount(&mock)
        .await;
    let ProviderError::Permanent { message, .. } = adapter(&mock.uri()).send(&sms()).await.unwrap_err() else {
        panic!("a 400 is permanent");
    };
    assert_eq!(message, "The recipient number is invalid.");
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

async fn mount_get(mock: &MockServer, at: String, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(at))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(mock)
        .await;
}

#[tokio::test]
async fn reconciliation_reads_the_recipient_report_by_batch_id_or_finds_the_batch_by_client_reference() {
    let mock = MockServer::start().await;
    let mut batch = contract("sinch/send_batch_response_201.json");
    batch["client_reference"] = "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12".into();
    mount_get(&mock, format!("{BATCHES}/{BATCH}"), 200, batch.clone()).await;
    let report = contract("sinch/callback_recipient_delivery_report.json");
    mount_get(
        &mock,
        format!("{BATCHES}/{BATCH}/delivery_report/15558675310"),
        200,
        report,
    )
    .await;
    Mock::given(method("GET"))
        .and(path(BATCHES))
        .and(query_param("client_reference", "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1, "page": 0, "page_size": 30, "batches": [batch],
        })))
        .mount(&mock)
        .await;
    let unknown = json!({"code": "not_found", "text": "Batch not found"});
    mount_get(&mock, format!("{BATCHES}/01FC66621XXXXX119Z8PMV1ZZZ"), 404, unknown).await;

    let a = adapter(&mock.uri());
    let by_id = a.fetch_status(&sms(), Some(BATCH)).await.unwrap().unwrap();
    assert_eq!(by_id.status, DeliveryStatus::Delivered);
    assert_eq!(by_id.provider_status, "Delivered");
    assert!(by_id.occurred_at.is_some());
    let by_reference = a.fetch_status(&sms(), None).await.unwrap().unwrap();
    assert_eq!(by_reference.provider_message_id, BATCH);
    let missing = a
        .fetch_status(&sms(), Some("01FC66621XXXXX119Z8PMV1ZZZ"))
        .await
        .unwrap();
    assert!(missing.is_none(), "a batch Sinch does not know was never processed");
}

#[tokio::test]
async fn a_batch_without_a_report_yet_is_queued_and_one_nobody_sent_by_reference_is_absent() {
    let mock = MockServer::start().await;
    let batch = contract("sinch/send_batch_response_201.json");
    mount_get(&mock, format!("{BATCHES}/{BATCH}"), 200, batch).await;
    let no_report = json!({"code": "not_found", "text": "No delivery report"});
    mount_get(
        &mock,
        format!("{BATCHES}/{BATCH}/delivery_report/15558675310"),
        404,
        no_report,
    )
    .await;
    let empty = json!({"count": 0, "page": 0, "page_size": 30, "batches": []});
    mount_get(&mock, BATCHES.to_owned(), 200, empty).await;

    let a = adapter(&mock.uri());
    let queued = a.fetch_status(&sms(), Some(BATCH)).await.unwrap().unwrap();
    assert_eq!(queued.status, DeliveryStatus::Queued);
    assert!(a.fetch_status(&sms(), None).await.unwrap().is_none());
}

#[tokio::test]
async fn a_callback_with_the_configured_basic_credentials_is_accepted_and_anything_else_refused() {
    let a = adapter("http://unused");
    let body = serde_json::to_vec(&contract("sinch/callback_recipient_delivery_report.json")).unwrap();
    a.verify(&callback(
        CALLBACK_URL,
        &[("Authorization", &sign(USER, PASSWORD))],
        body.clone(),
    ))
    .unwrap();
    let lowercase_scheme = sign(USER, PASSWORD).replacen("Basic", "basic", 1);
    a.verify(&callback(
        CALLBACK_URL,
        &[("Authorization", &lowercase_scheme)],
        body.clone(),
    ))
    .unwrap();
    let refused = [
        ("a wrong password", sign(USER, "wrong")),
        ("another user", sign("someone", PASSWORD)),
        ("a bearer token", format!("Bearer {TOKEN}")),
        ("credentials that are not base64", "Basic %%%".to_owned()),
    ];
    for (what, auth) in refused {
        let req = callback(CALLBACK_URL, &[("Authorization", &auth)], body.clone());
        assert!(
            matches!(a.verify(&req), Err(CallbackError::Signature(_))),
            "{what} must be refused"
        );
    }
    assert!(a.verify(&callback(CALLBACK_URL, &[], body)).is_err(), "no credentials");
}

#[tokio::test]
async fn every_documented_delivery_report_maps_to_the_normalized_set() {
    let a = adapter("http://unused");
    let base = contract("sinch/callback_recipient_delivery_report.json");
    for (word, want, failure) in [
        ("Queued", DeliveryStatus::Queued, false),
        ("Dispatched", DeliveryStatus::Sent, false),
        ("Delivered", DeliveryStatus::Delivered, false),
        ("Failed", DeliveryStatus::Undelivered, true),
        ("Expired", DeliveryStatus::Undelivered, true),
        ("Deleted", DeliveryStatus::Undelivered, true),
        ("Rejected", DeliveryStatus::Failed, true),
        ("Aborted", DeliveryStatus::Failed, true),
        ("Cancelled", DeliveryStatus::Canceled, false),
        ("Unknown", DeliveryStatus::Unknown, false),
    ] {
        let mut report = base.clone();
        report["status"] = word.into();
        report["code"] = if failure { 402.into() } else { base["code"].clone() };
        let updates = a
            .parse_status(&callback(CALLBACK_URL, &[], report.to_string()))
            .unwrap();
        assert_eq!(updates.len(), 1, "{word}");
        assert_eq!(updates[0].provider_message_id, BATCH, "{word}");
        assert_eq!(updates[0].status, want, "{word}");
        assert_eq!(normalize(word), want, "{word}");
        let want_code = failure.then(|| "402".to_owned());
        assert_eq!(
            updates[0].error_code, want_code,
            "{word}: the code is kept on failures only"
        );
    }
    let u = &a.parse_status(&callback(CALLBACK_URL, &[], base.to_string())).unwrap()[0];
    assert_eq!(u.occurred_at.unwrap().unix_timestamp(), 1_729_850_562, "`at` is read");
}

#[tokio::test]
async fn a_batch_delivery_report_gives_one_update_per_status() {
    let a = adapter("http://unused");
    let body = contract("sinch/callback_batch_delivery_report_from_doc.json").to_string();
    let updates = a.parse_status(&callback(CALLBACK_URL, &[], body)).unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].provider_message_id, BATCH);
    assert_eq!(updates[0].status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn an_inbound_message_is_parsed_from_the_documented_mo_text() {
    let a = adapter("http://unused");
    let body = contract("sinch/callback_inbound_mo_text.json").to_string();
    let m = a.parse_inbound(&callback(CALLBACK_URL, &[], body)).unwrap();
    assert_eq!(m.provider_message_id, BATCH);
    assert_eq!(m.from, "+123456789", "an MSISDN comes back as E.164");
    assert_eq!(m.to, "12345", "a short code stays as it is");
    assert_eq!(m.body, "Hello");
    assert!(m.media.is_empty());
}

#[tokio::test]
async fn callbacks_of_the_wrong_kind_or_not_json_are_malformed() {
    let a = adapter("http://unused");
    let inbound = contract("sinch/callback_inbound_mo_text.json").to_string();
    let report = contract("sinch/callback_recipient_delivery_report.json").to_string();
    let malformed = |r: Result<(), CallbackError>| matches!(r, Err(CallbackError::Malformed(_)));
    assert!(malformed(
        a.parse_status(&callback(CALLBACK_URL, &[], inbound)).map(drop)
    ));
    assert!(malformed(
        a.parse_inbound(&callback(CALLBACK_URL, &[], report)).map(drop)
    ));
    assert!(malformed(
        a.parse_status(&callback(CALLBACK_URL, &[], "type=mo_text")).map(drop)
    ));
}

#[test]
fn credentials_take_a_region_and_refuse_unknown_fields_or_regions() {
    let kind = ProviderKind::Sinch;
    let mut creds = json!({
        "service_plan_id": PLAN, "api_token": TOKEN, "callback_username": USER, "callback_password": PASSWORD,
    });
    assert!(build(kind, &creds, None, http()).is_ok(), "the region defaults to us");
    creds["region"] = "eu".into();
    assert!(build(kind, &creds, None, http()).is_ok());
    creds["region"] = "mars".into();
    assert!(build(kind, &creds, None, http()).is_err());
    creds["region"] = "eu".into();
    creds["hmac_secret"] = "s".into();
    assert!(build(kind, &creds, None, http()).is_err());
}
