//! SendGrid against a mock server speaking its documented contract: the exact Mail Send request, the documented
//! answers and errors with their classes, the Signed Event Webhook (ECDSA P-256) and Inbound Parse.

mod support;

use std::time::Duration;

use irisx_core::email::provider::{CallbackError, EmailProvider};
use irisx_core::email::{BounceClass, EmailEventKind, TrackingOutcome};
use irisx_providers::email::sendgrid::{Credentials, SendGrid, public_key, sign};
use p256::ecdsa::SigningKey;
use rstest::rstest;
use serde_json::{Value, json};
use support::*;
use time::OffsetDateTime;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "SG.test-key.0123456789";
const CALLBACK_URL: &str = "https://irisx.example/v1/callbacks/email/sendgrid/events";

fn signing_key() -> SigningKey {
    SigningKey::from_slice(&[7u8; 32]).unwrap()
}

fn adapter(base: &str) -> SendGrid {
    SendGrid::new(
        Credentials {
            api_key: API_KEY.into(),
            webhook_public_key: Some(public_key(&signing_key())),
            inbound_user: Some("parse".into()),
            inbound_password: Some("s3cret".into()),
        },
        Some(base),
        http(),
    )
    .unwrap()
}

/// The documented request, with IRISX's message id as its custom argument.
fn documented_request() -> Value {
    let mut want = contract("sendgrid/mail_send_request.json");
    want["personalizations"][0]["custom_args"] = json!({"irisx_message_id": email().message_id});
    want
}

#[tokio::test]
async fn a_send_is_the_documented_json_post_with_a_bearer_key_and_reads_the_202_message_id() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", format!("Bearer {API_KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(documented_request()))
        .respond_with(ResponseTemplate::new(202).insert_header("x-message-id", "14c5d75ce93.dfd.64b469"))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&email()).await.unwrap();
    assert_eq!(ok.provider_message_id, "14c5d75ce93.dfd.64b469");
}

#[tokio::test]
async fn copies_headers_and_attachments_are_sent_in_their_documented_fields() {
    let mock = MockServer::start().await;
    let mut want = documented_request();
    want["personalizations"][0]["cc"] = json!([{"email": "cc@example.com"}]);
    want["personalizations"][0]["bcc"] = json!([{"email": "bcc@example.com"}]);
    want["headers"] = json!({"X-Campaign": "spring"});
    want["attachments"] = json!([{
        "content": "JVBERi0xLjQgdGVzdA==", "type": "application/pdf", "filename": "report.pdf", "disposition": "attachment",
    }]);
    Mock::given(method("POST"))
        .and(body_json(want))
        .respond_with(ResponseTemplate::new(202).insert_header("x-message-id", "abc"))
        .expect(1)
        .mount(&mock)
        .await;
    adapter(&mock.uri()).send(&full_email()).await.unwrap();
}

#[rstest]
#[case::a_validation_error_is_permanent(400, contract("sendgrid/error_400.json"), None, "permanent:400")]
#[case::bad_credentials_are_permanent(401, json!({"errors": [{"field": null, "message": "The provided authorization grant is invalid, expired, or revoked"}]}), None, "permanent:401")]
#[case::too_many_requests_is_retryable_after_the_delay(
    429,
    contract("sendgrid/error_429.json"),
    Some("3"),
    "retryable:429:3"
)]
#[case::a_server_error_is_retryable(500, json!({"errors": [{"field": null, "message": "internal error"}]}), None, "retryable:500:-")]
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
    Mock::given(method("POST")).respond_with(resp).mount(&mock).await;
    let err = adapter(&mock.uri()).send(&email()).await.unwrap_err();
    if status == 400 {
        assert!(err.to_string().contains("from.email"), "{err}");
    }
    assert_eq!(class(err), want, "HTTP {status}");
}

#[tokio::test]
async fn a_timeout_after_the_request_left_is_unknown_and_a_refused_connection_is_retryable() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_secs(3)))
        .mount(&mock)
        .await;
    assert_eq!(class(adapter(&mock.uri()).send(&email()).await.unwrap_err()), "unknown");
    assert!(class(adapter(&dead_address()).send(&email()).await.unwrap_err()).starts_with("retryable:connect"));
}

fn events_request(body: &str, signature: &str, timestamp: &str) -> irisx_core::email::provider::CallbackRequest {
    callback(
        CALLBACK_URL,
        &[
            ("X-Twilio-Email-Event-Webhook-Signature", signature),
            ("X-Twilio-Email-Event-Webhook-Timestamp", timestamp),
            ("Content-Type", "application/json"),
        ],
        body.to_owned(),
    )
}

#[tokio::test]
async fn a_signed_event_batch_is_accepted_and_mapped_to_the_normalized_kinds() {
    let body = contract("sendgrid/event_webhook.json").to_string() + "\r\n";
    let ts = OffsetDateTime::now_utc().unix_timestamp().to_string();
    let sig = sign(&signing_key(), &ts, body.as_bytes());
    let outcome = adapter("http://unused")
        .verify_and_parse_events(&events_request(&body, &sig, &ts))
        .await
        .unwrap();
    let TrackingOutcome::Events(events) = outcome else {
        panic!("events expected")
    };
    let kinds: Vec<&EmailEventKind> = events.iter().map(|e| &e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            &EmailEventKind::Deferred,
            &EmailEventKind::Delivered,
            &EmailEventKind::Opened,
            &EmailEventKind::Clicked {
                url: "http://www.sendgrid.com/".into()
            },
            &EmailEventKind::Bounced {
                class: BounceClass::Hard
            },
            &EmailEventKind::Dropped,
            &EmailEventKind::SpamReport,
            &EmailEventKind::Unsubscribed,
            &EmailEventKind::Unsubscribed,
        ],
        "processed and group_resubscribe are not tracked"
    );
    let bounce = &events[4];
    assert_eq!(bounce.recipient, "example@test.com");
    assert_eq!(bounce.provider_message_id.as_deref(), Some("sg_message_id"));
    assert_eq!(bounce.provider_event_id.as_deref(), Some("sg_event_id"));
    assert_eq!(bounce.reason.as_deref(), Some("500 unknown recipient"));
    assert_eq!(bounce.occurred_at.unwrap().unix_timestamp(), 1513299569);
}

#[tokio::test]
async fn the_message_id_and_irisx_id_are_read_back_from_an_event() {
    let body = json!([{
        "email": "john.doe@example.com", "timestamp": 1513299569, "event": "delivered",
        "sg_event_id": "ev1", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "irisx_message_id": "msg_1",
    }])
    .to_string();
    let ts = OffsetDateTime::now_utc().unix_timestamp().to_string();
    let sig = sign(&signing_key(), &ts, body.as_bytes());
    let events = adapter("http://unused")
        .verify_and_parse_events(&events_request(&body, &sig, &ts))
        .await
        .unwrap()
        .into_events();
    assert_eq!(events[0].provider_message_id.as_deref(), Some("14c5d75ce93"));
    assert_eq!(events[0].message_id.as_deref(), Some("msg_1"));
}

#[rstest]
#[case::a_changed_body("changed body")]
#[case::a_changed_signature("changed signature")]
#[case::a_changed_timestamp("changed timestamp")]
#[case::a_stale_timestamp("stale timestamp")]
#[case::a_signature_by_another_key("another key")]
#[case::no_signature("no signature")]
#[tokio::test]
async fn a_tampered_or_stale_event_webhook_is_refused(#[case] case: &str) {
    let body = contract("sendgrid/event_webhook.json").to_string();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ts = now.to_string();
    let sig = sign(&signing_key(), &ts, body.as_bytes());
    let stale = (now - 301).to_string();
    let req = match case {
        "changed body" => events_request(&body.replace("bounce", "delivered"), &sig, &ts),
        "changed signature" => {
            let other = sign(&signing_key(), &ts, b"something else");
            events_request(&body, &other, &ts)
        }
        "changed timestamp" => events_request(&body, &sig, &(now + 1).to_string()),
        "stale timestamp" => events_request(&body, &sign(&signing_key(), &stale, body.as_bytes()), &stale),
        "another key" => {
            let other = SigningKey::from_slice(&[8u8; 32]).unwrap();
            events_request(&body, &sign(&other, &ts, body.as_bytes()), &ts)
        }
        _ => callback(CALLBACK_URL, &[], body.clone()),
    };
    let got = adapter("http://unused").verify_and_parse_events(&req).await;
    assert!(matches!(got, Err(CallbackError::Signature(_))), "{case}: {got:?}");
}

#[tokio::test]
async fn an_inbound_parse_post_is_read_with_its_attachment_and_refused_without_the_credentials() {
    let boundary = "xYzZY";
    let body = form_data(
        boundary,
        &[
            ("headers", "Message-ID: <abc@mail.example.com>\nSubject: Re: Hello\n"),
            ("from", "Ann <ann@example.com>"),
            ("to", "support@irisx.example"),
            ("subject", "Re: Hello"),
            ("text", "Thanks!"),
            ("html", "<p>Thanks!</p>"),
            (
                "envelope",
                r#"{"to":["support@irisx.example"],"from":"ann@example.com"}"#,
            ),
            ("attachments", "1"),
            (
                "attachment-info",
                r#"{"attachment1":{"filename":"a.txt","name":"a.txt","type":"text/plain"}}"#,
            ),
        ],
        &[("attachment1", "a.txt", "text/plain", b"hello file")],
    );
    let ct = format!("multipart/form-data; boundary={boundary}");
    let a = adapter("http://unused");
    let auth = basic_auth("parse", "s3cret");
    let m = a
        .parse_inbound(&callback(
            CALLBACK_URL,
            &[("content-type", &ct), ("authorization", &auth)],
            body.clone(),
        ))
        .unwrap();
    assert_eq!(m.from, "Ann <ann@example.com>");
    assert_eq!(m.to, vec!["support@irisx.example".to_owned()]);
    assert_eq!(m.subject, "Re: Hello");
    assert_eq!(m.text.as_deref(), Some("Thanks!"));
    assert_eq!(m.provider_message_id.as_deref(), Some("<abc@mail.example.com>"));
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(&m.attachments[0].content[..], b"hello file");
    let wrong = basic_auth("parse", "wrong");
    for headers in [
        vec![("content-type", ct.as_str())],
        vec![("content-type", &ct), ("authorization", &wrong)],
    ] {
        let got = a.parse_inbound(&callback(CALLBACK_URL, &headers, body.clone()));
        assert!(matches!(got, Err(CallbackError::Signature(_))), "{got:?}");
    }
}

#[tokio::test]
async fn a_raw_mode_inbound_parse_post_is_read_from_its_mime_message_for_the_envelope_recipients() {
    let boundary = "xYzZY";
    let raw = "From: Ann <ann@example.com>\r\nTo: list@irisx.example\r\nSubject: Raw hello\r\n\
               Message-ID: <raw@mail.example.com>\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n\
               --m\r\nContent-Type: text/plain\r\n\r\nRaw body\r\n\
               --m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"n.txt\"\r\n\r\nnote\r\n--m--\r\n";
    let body = form_data(
        boundary,
        &[
            ("email", raw),
            (
                "envelope",
                r#"{"to":["support@irisx.example"],"from":"ann@example.com"}"#,
            ),
            ("charsets", r#"{"to":"UTF-8"}"#),
        ],
        &[],
    );
    let ct = format!("multipart/form-data; boundary={boundary}");
    let auth = basic_auth("parse", "s3cret");
    let m = adapter("http://unused")
        .parse_inbound(&callback(
            CALLBACK_URL,
            &[("content-type", &ct), ("authorization", &auth)],
            body,
        ))
        .unwrap();
    assert_eq!(m.from, "\"Ann\" <ann@example.com>");
    assert_eq!(m.to, vec!["support@irisx.example".to_owned()]);
    assert_eq!(m.subject, "Raw hello");
    assert_eq!(m.text.as_deref().map(str::trim), Some("Raw body"));
    assert_eq!(m.provider_message_id.as_deref(), Some("raw@mail.example.com"));
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(&m.attachments[0].content[..], b"note");
}
