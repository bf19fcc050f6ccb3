//! Mailgun against a mock server speaking its documented contract: the exact Messages API form, the documented
//! answers and errors with their classes, signed webhooks (HMAC-SHA256 of timestamp and token) and Routes.

mod support;

use std::time::Duration;

use irisx_core::email::provider::{CallbackError, EmailProvider};
use irisx_core::email::{BounceClass, EmailEventKind};
use irisx_providers::email::mailgun::{Credentials, Mailgun, sign};
use irisx_providers::email::multipart;
use rstest::rstest;
use serde_json::{Value, json};
use support::*;
use time::OffsetDateTime;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "key-0123456789abcdef";
const DOMAIN: &str = "mg.example.com";
const SIGNING_KEY: &str = "webhook-signing-key-0123";
const CALLBACK_URL: &str = "https://irisx.example/v1/callbacks/email/mailgun/events";

fn adapter(base: &str) -> Mailgun {
    Mailgun::new(
        Credentials {
            api_key: API_KEY.into(),
            domain: DOMAIN.into(),
            webhook_signing_key: Some(SIGNING_KEY.into()),
        },
        Some(base),
        http(),
    )
}

/// The form fields of a request the mock received, sorted.
async fn received_fields(mock: &MockServer) -> (Vec<(String, String)>, Vec<multipart::Part>) {
    let reqs = mock.received_requests().await.unwrap();
    let req = reqs.last().unwrap();
    let ct = req.headers.get("content-type").unwrap().to_str().unwrap().to_owned();
    let parts = multipart::parse(Some(&ct), &bytes::Bytes::from(req.body.clone())).unwrap();
    let mut fields: Vec<(String, String)> = parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| (p.name.clone(), p.text()))
        .collect();
    fields.sort();
    (fields, parts.into_iter().filter(|p| p.filename.is_some()).collect())
}

#[tokio::test]
async fn a_send_is_the_documented_multipart_post_with_basic_auth_and_reads_the_200_id() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v3/{DOMAIN}/messages")))
        .and(header("authorization", basic_auth("api", API_KEY).as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("mailgun/send_message_response_200.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&full_email()).await.unwrap();
    assert_eq!(ok.provider_message_id, "20111114174239.25659.5817@samples.mailgun.org");
    let reqs = mock.received_requests().await.unwrap();
    let ct = reqs[0].headers.get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    let (fields, files) = received_fields(&mock).await;
    // The documented fields (contracts/mailgun/send_message_request_form.json), with this message's values.
    let documented = contract("mailgun/send_message_request_form.json");
    let mut want: Vec<(String, String)> = vec![
        ("from", "Example Sender <sender@example.com>"),
        ("to", "John Doe <john.doe@example.com>"),
        ("cc", "cc@example.com"),
        ("bcc", "bcc@example.com"),
        ("subject", "Hello, World!"),
        ("text", "Hello"),
        ("html", "<p>Hello</p>"),
        ("h:Reply-To", "support@example.com"),
        ("h:X-Campaign", "spring"),
        ("o:tag", "transactional"),
        ("v:irisx_message_id", "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    want.sort();
    for (k, _) in documented.as_object().unwrap() {
        let known = want.iter().any(|(w, _)| {
            w == k || (k.starts_with("v:") && w.starts_with("v:")) || (k.starts_with("h:") && w.starts_with("h:"))
        });
        assert!(known, "documented field {k} is sent");
    }
    assert_eq!(fields, want);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "attachment");
    assert_eq!(files[0].filename.as_deref(), Some("report.pdf"));
    assert_eq!(files[0].content_type.as_deref(), Some("application/pdf"));
    assert_eq!(&files[0].data[..], b"%PDF-1.4 test");
}

#[rstest]
#[case::a_bad_request_is_permanent(400, json!(contract("mailgun/error_400.json")), None, "permanent:400")]
#[case::bad_credentials_are_permanent(401, json!("Forbidden"), None, "permanent:401")]
#[case::too_many_requests_is_retryable_after_the_delay(429, json!({"message": "Too many requests"}), Some("3"), "retryable:429:3")]
#[case::a_server_error_is_retryable(500, json!({"message": "Internal error"}), None, "retryable:500:-")]
#[tokio::test]
async fn errors_are_classified_from_the_documented_bodies(
    #[case] status: u16,
    #[case] body: Value,
    #[case] retry_after: Option<&str>,
    #[case] want: &str,
) {
    let mock = MockServer::start().await;
    let mut resp = match &body {
        Value::String(text) => ResponseTemplate::new(status).set_body_string(text.clone()),
        other => ResponseTemplate::new(status).set_body_json(other.clone()),
    };
    if let Some(r) = retry_after {
        resp = resp.insert_header("retry-after", r);
    }
    Mock::given(method("POST")).respond_with(resp).mount(&mock).await;
    let err = adapter(&mock.uri()).send(&email()).await.unwrap_err();
    if status == 400 {
        assert!(err.to_string().contains("to parameter is not a valid address"), "{err}");
    }
    assert_eq!(class(err), want, "HTTP {status}");
}

#[tokio::test]
async fn a_timeout_after_the_request_left_is_unknown_and_a_refused_connection_is_retryable() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&mock)
        .await;
    assert_eq!(class(adapter(&mock.uri()).send(&email()).await.unwrap_err()), "unknown");
    assert!(class(adapter(&dead_address()).send(&email()).await.unwrap_err()).starts_with("retryable:connect"));
}

/// A documented webhook re-signed at `timestamp` with the test key.
fn signed_webhook(file: &str, timestamp: i64) -> Value {
    let mut body = contract(file);
    let token = body["signature"]["token"].as_str().unwrap().to_owned();
    let ts = timestamp.to_string();
    body["signature"]["timestamp"] = json!(ts);
    body["signature"]["signature"] = json!(sign(SIGNING_KEY, &ts, &token));
    body
}

#[rstest]
#[case::delivered(
    "mailgun/webhook_delivered.json",
    EmailEventKind::Delivered,
    "20130503182626.18666.16540@mg.example.com",
    "OK"
)]
#[case::a_permanent_failure_is_a_hard_bounce(
    "mailgun/webhook_failed_permanent.json",
    EmailEventKind::Bounced { class: BounceClass::Hard },
    "20130503192659.13651.20287@mg.example.com",
    "5.1.1 The email account that you tried to reach does not exist."
)]
#[tokio::test]
async fn a_signed_webhook_is_accepted_and_mapped(
    #[case] file: &str,
    #[case] kind: EmailEventKind,
    #[case] message_id: &str,
    #[case] reason: &str,
) {
    let body = signed_webhook(file, OffsetDateTime::now_utc().unix_timestamp()).to_string();
    let events = adapter("http://unused")
        .verify_and_parse_events(&callback(CALLBACK_URL, &[("content-type", "application/json")], body))
        .await
        .unwrap()
        .into_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, kind);
    assert_eq!(events[0].recipient, "alice@example.com");
    assert_eq!(events[0].provider_message_id.as_deref(), Some(message_id));
    assert_eq!(events[0].reason.as_deref(), Some(reason));
    assert_eq!(events[0].occurred_at.unwrap().unix_timestamp(), 1770920772);
}

#[rstest]
#[case::a_temporary_failure_is_deferred(json!({"event": "failed", "severity": "temporary", "reason": "generic"}), Some(EmailEventKind::Deferred))]
#[case::a_suppressed_address_is_dropped(json!({"event": "failed", "severity": "permanent", "reason": "suppress-bounce"}), Some(EmailEventKind::Dropped))]
#[case::a_rejection_is_dropped(json!({"event": "rejected"}), Some(EmailEventKind::Dropped))]
#[case::a_click_keeps_its_url(json!({"event": "clicked", "url": "https://example.com/a"}), Some(EmailEventKind::Clicked { url: "https://example.com/a".into() }))]
#[case::a_complaint_is_a_spam_report(json!({"event": "complained"}), Some(EmailEventKind::SpamReport))]
#[case::accepted_is_not_tracked(json!({"event": "accepted"}), None)]
fn every_event_maps_to_the_normalized_set(#[case] data: Value, #[case] want: Option<EmailEventKind>) {
    assert_eq!(irisx_providers::email::mailgun::normalize(&data), want);
}

#[tokio::test]
async fn a_changed_body_under_an_already_used_signature_is_refused_as_a_replay() {
    // Mailgun signs the timestamp and token only, so a changed body is caught by refusing the token twice.
    let a = adapter("http://unused");
    let body = signed_webhook(
        "mailgun/webhook_delivered.json",
        OffsetDateTime::now_utc().unix_timestamp(),
    )
    .to_string();
    a.verify_and_parse_events(&callback(CALLBACK_URL, &[], body.clone()))
        .await
        .unwrap();
    let changed = body.replace("\"delivered\"", "\"failed\"");
    let got = a.verify_and_parse_events(&callback(CALLBACK_URL, &[], changed)).await;
    assert!(matches!(got, Err(CallbackError::Signature(_))), "{got:?}");
    let again = a.verify_and_parse_events(&callback(CALLBACK_URL, &[], body)).await;
    assert!(matches!(again, Err(CallbackError::Signature(_))), "{again:?}");
}

#[rstest]
#[case::a_changed_signature("changed signature")]
#[case::a_changed_token("changed token")]
#[case::a_stale_timestamp("stale timestamp")]
#[case::no_signature_object("no signature")]
#[tokio::test]
async fn a_tampered_or_stale_webhook_is_refused(#[case] case: &str) {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut body = signed_webhook("mailgun/webhook_delivered.json", now);
    match case {
        "changed signature" => body["signature"]["signature"] = json!(sign("another key", &now.to_string(), "t")),
        "changed token" => body["signature"]["token"] = json!("f0b5477167110d68991efc6b9f89f0a11066af27834600e123"),
        "stale timestamp" => body = signed_webhook("mailgun/webhook_delivered.json", now - 301),
        "no signature" => {
            body.as_object_mut().unwrap().remove("signature");
        }
        _ => {}
    }
    let got = adapter("http://unused")
        .verify_and_parse_events(&callback(CALLBACK_URL, &[], body.to_string()))
        .await;
    assert!(matches!(got, Err(CallbackError::Signature(_))), "{case}: {got:?}");
}

#[tokio::test]
async fn a_route_forward_is_read_with_its_attachment_and_its_signature_checked() {
    let ts = OffsetDateTime::now_utc().unix_timestamp().to_string();
    let token = "a".repeat(50);
    let fields = |signature: &str| {
        form_data(
            "b0undary",
            &[
                ("recipient", "support@mg.example.com"),
                ("sender", "ann@example.com"),
                ("from", "Ann <ann@example.com>"),
                ("subject", "Re: Hello"),
                ("body-plain", "Thanks!"),
                ("body-html", "<p>Thanks!</p>"),
                (
                    "message-headers",
                    r#"[["Message-Id", "<abc@mail.example.com>"], ["Subject", "Re: Hello"]]"#,
                ),
                ("attachment-count", "1"),
                ("timestamp", &ts),
                ("token", &token),
                ("signature", signature),
            ],
            &[("attachment-1", "a.txt", "text/plain", b"hello file")],
        )
    };
    let ct = [("content-type", "multipart/form-data; boundary=b0undary")];
    let a = adapter("http://unused");
    let m = a
        .parse_inbound(&callback(CALLBACK_URL, &ct, fields(&sign(SIGNING_KEY, &ts, &token))))
        .unwrap();
    assert_eq!(m.from, "Ann <ann@example.com>");
    assert_eq!(m.to, vec!["support@mg.example.com".to_owned()]);
    assert_eq!(m.text.as_deref(), Some("Thanks!"));
    assert_eq!(m.provider_message_id.as_deref(), Some("<abc@mail.example.com>"));
    assert_eq!(m.attachments[0].filename, "a.txt");
    let forged = a.parse_inbound(&callback(CALLBACK_URL, &ct, fields(&sign("other", &ts, &token))));
    assert!(matches!(forged, Err(CallbackError::Signature(_))), "{forged:?}");
}
