//! Twilio against a mock server speaking its documented contract: the exact request, the documented answers
//! and errors with their classes, reconciliation, and callback signatures and parsing.

mod support;

use std::time::Duration;

use base64::Engine;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{ProviderError, SmsProvider};
use irisx_providers::sms::form;
use irisx_providers::sms::twilio::{Credentials, Twilio, sign};
use support::*;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN: &str = "12345678901234567890123456789012";
const SEND_PATH: &str = "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json";

fn adapter(base: &str) -> Twilio {
    Twilio::new(
        Credentials {
            account_sid: SID.into(),
            auth_token: TOKEN.into(),
        },
        Some(base),
        http(),
    )
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"))
    )
}

#[tokio::test]
async fn a_send_is_the_documented_form_post_and_reads_the_201_resource() {
    let mock = MockServer::start().await;
    let want = form::encode([
        ("To", "+15558675310"),
        ("From", "+15017122661"),
        ("Body", "Hello from IRISX"),
        ("StatusCallback", "https://irisx.example/v1/providers/callbacks/status"),
    ]);
    Mock::given(method("POST"))
        .and(path(SEND_PATH))
        .and(header("authorization", basic().as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(want))
        .respond_with(ResponseTemplate::new(201).set_body_json(contract("twilio/send_message_response_201.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&sms()).await.unwrap();
    assert_eq!(ok.provider_message_id, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(ok.status, DeliveryStatus::Queued);
    assert_eq!(ok.segments, Some(1));
}

#[tokio::test]
async fn errors_are_classified_from_the_documented_bodies() {
    let cases: Vec<(u16, serde_json::Value, Option<&str>, &str)> = vec![
        (
            400,
            contract("twilio/error_400_invalid_to.json"),
            None,
            "permanent:21211",
        ),
        (
            401,
            serde_json::json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
            None,
            "permanent:20003",
        ),
        (
            429,
            serde_json::json!({"code": 20429, "message": "Too many requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}),
            Some("3"),
            "retryable:20429:3",
        ),
        (
            500,
            serde_json::json!({"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500", "status": 500}),
            None,
            "retryable:20500:-",
        ),
    ];
    for (status, body, retry_after, want) in cases {
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
}

#[tokio::test]
async fn a_timeout_after_the_request_left_is_unknown_and_a_refused_connection_is_retryable() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&mock)
        .await;
    assert!(matches!(
        adapter(&mock.uri()).send(&sms()).await,
        Err(ProviderError::Unknown { .. })
    ));
    assert!(matches!(
        adapter(&dead_address()).send(&sms()).await,
        Err(ProviderError::Retryable { .. })
    ));
}

#[tokio::test]
async fn reconciliation_reads_the_message_by_sid_or_finds_it_by_recipient_and_body() {
    let mock = MockServer::start().await;
    let mut resource = contract("twilio/send_message_response_201.json");
    resource["status"] = "delivered".into();
    resource["body"] = "Hello from IRISX".into();
    Mock::given(method("GET"))
        .and(path(
            "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(resource.clone()))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path(SEND_PATH))
        .and(query_param("To", "+15558675310"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"messages": [resource]})))
        .mount(&mock)
        .await;
    let a = adapter(&mock.uri());
    let by_sid = a
        .fetch_status(&sms(), Some("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_sid.status, DeliveryStatus::Delivered);
    let by_search = a.fetch_status(&sms(), None).await.unwrap().unwrap();
    assert_eq!(by_search.provider_message_id, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let missing = a
        .fetch_status(&sms(), Some("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"))
        .await
        .unwrap();
    assert!(missing.is_none(), "a message Twilio does not know was never processed");
}

const CALLBACK_URL: &str = "https://irisx.example/v1/providers/twilio/status?account=pa_1";

#[tokio::test]
async fn a_signed_status_callback_is_accepted_and_parsed_and_any_change_is_refused() {
    let a = adapter("http://unused");
    let params = contract_form("twilio/status_callback_delivered_form.json");
    let body = form::encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let signature = sign(TOKEN, CALLBACK_URL, &params);
    let ok = callback(CALLBACK_URL, &[("X-Twilio-Signature", &signature)], body.clone());
    a.verify(&ok).unwrap();
    let updates = a.parse_status(&ok).unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].status, DeliveryStatus::Delivered);
    assert!(updates[0].provider_message_id.starts_with("SM"));

    let changed_body = callback(
        CALLBACK_URL,
        &[("X-Twilio-Signature", &signature)],
        body.replace("delivered", "failed"),
    );
    assert!(a.verify(&changed_body).is_err());
    let mut bad_sig = signature.clone();
    bad_sig.replace_range(0..1, if bad_sig.starts_with('A') { "B" } else { "A" });
    assert!(
        a.verify(&callback(
            CALLBACK_URL,
            &[("X-Twilio-Signature", &bad_sig)],
            body.clone()
        ))
        .is_err()
    );
    assert!(a.verify(&callback(CALLBACK_URL, &[], body.clone())).is_err());
    let other_url = CALLBACK_URL.replace("pa_1", "pa_2");
    assert!(
        a.verify(&callback(&other_url, &[("X-Twilio-Signature", &signature)], body))
            .is_err()
    );
}

#[tokio::test]
async fn the_signature_holds_with_or_without_the_default_port() {
    let a = adapter("http://unused");
    let params = contract_form("twilio/status_callback_sent_form.json");
    let body = form::encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let with_port = "https://irisx.example:443/v1/providers/twilio/status";
    let signature = sign(TOKEN, with_port, &params);
    a.verify(&callback(
        "https://irisx.example/v1/providers/twilio/status",
        &[("X-Twilio-Signature", &signature)],
        body,
    ))
    .unwrap();
}

#[tokio::test]
async fn every_documented_status_callback_maps_to_the_normalized_set() {
    let a = adapter("http://unused");
    for (file, want) in [
        ("twilio/status_callback_sent_form.json", DeliveryStatus::Sent),
        ("twilio/status_callback_delivered_form.json", DeliveryStatus::Delivered),
        (
            "twilio/status_callback_undelivered_form.json",
            DeliveryStatus::Undelivered,
        ),
    ] {
        let params = contract_form(file);
        let body = form::encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let u = &a.parse_status(&callback(CALLBACK_URL, &[], body)).unwrap()[0];
        assert_eq!(u.status, want, "{file}");
        if want == DeliveryStatus::Undelivered {
            assert!(
                u.error_code.is_some(),
                "an undelivered receipt carries Twilio's ErrorCode"
            );
        }
    }
}

#[tokio::test]
async fn an_inbound_message_is_parsed_from_the_documented_form() {
    let a = adapter("http://unused");
    let params = contract_form("twilio/inbound_sms_form.json");
    let body = form::encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let m = a.parse_inbound(&callback(CALLBACK_URL, &[], body)).unwrap();
    assert!(m.provider_message_id.starts_with("SM") || m.provider_message_id.starts_with("MM"));
    assert!(m.from.starts_with('+') && m.to.starts_with('+'));
    assert!(!m.body.is_empty());
}
