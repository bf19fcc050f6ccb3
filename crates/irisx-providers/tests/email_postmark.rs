//! Postmark against a mock server speaking its documented contract: the exact `/email` request, the documented
//! answers and errors with their classes, and webhooks authenticated with HTTP Basic credentials.

mod support;

use std::time::Duration;

use irisx_core::email::provider::{CallbackError, EmailProvider};
use irisx_core::email::{BounceClass, EmailEventKind};
use irisx_providers::email::postmark::{Credentials, Postmark, normalize};
use rstest::rstest;
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "server-token-0123";
const CALLBACK_URL: &str = "https://irisx.example/v1/callbacks/email/postmark/events";

fn adapter(base: &str) -> Postmark {
    Postmark::new(
        Credentials {
            server_token: TOKEN.into(),
            message_stream: None,
            webhook_user: Some("postmark".into()),
            webhook_password: Some("hook-pass".into()),
        },
        Some(base),
        http(),
    )
}

#[tokio::test]
async fn a_send_is_the_documented_json_post_with_the_server_token_and_reads_the_200_message_id() {
    let mock = MockServer::start().await;
    // The documented request's fields (contracts/postmark/send_email_request.json), with this message's values.
    let documented = contract("postmark/send_email_request.json");
    let want = json!({
        "From": "Example Sender <sender@example.com>",
        "To": "John Doe <john.doe@example.com>",
        "Cc": "cc@example.com",
        "Bcc": "bcc@example.com",
        "Subject": "Hello, World!",
        "TextBody": "Hello",
        "HtmlBody": "<p>Hello</p>",
        "ReplyTo": "support@example.com",
        "MessageStream": "outbound",
        "Tag": "transactional",
        "Metadata": {"irisx_message_id": "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12"},
        "Headers": [{"Name": "X-Campaign", "Value": "spring"}],
        "Attachments": [{"Name": "report.pdf", "Content": "JVBERi0xLjQgdGVzdA==", "ContentType": "application/pdf"}],
    });
    for key in documented.as_object().unwrap().keys().filter(|k| *k != "TrackOpens") {
        assert!(want.get(key).is_some(), "documented field {key} is sent");
    }
    Mock::given(method("POST"))
        .and(path("/email"))
        .and(header("x-postmark-server-token", TOKEN))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/json"))
        .and(body_json(want))
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("postmark/send_email_response_200.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&full_email()).await.unwrap();
    assert_eq!(ok.provider_message_id, "0a129aee-e1cd-480d-b08d-4f48548ff48d");
}

#[rstest]
#[case::an_invalid_request_is_permanent_with_its_code(
    422,
    contract("postmark/error_422_invalid_request.json"),
    None,
    "permanent:300"
)]
#[case::an_inactive_recipient_is_permanent_with_its_code(
    422,
    contract("postmark/error_422_inactive_recipient.json"),
    None,
    "permanent:406"
)]
#[case::a_bad_request_is_permanent(400, json!({"ErrorCode": 402, "Message": "Invalid JSON"}), None, "permanent:402")]
#[case::a_bad_token_is_permanent(401, json!({"ErrorCode": 10, "Message": "No Account or Server API tokens were supplied in the HTTP headers."}), None, "permanent:10")]
#[case::too_many_requests_is_retryable_after_the_delay(429, json!({"ErrorCode": 429, "Message": "Rate limit exceeded"}), Some("3"), "retryable:429:3")]
#[case::a_server_error_is_retryable(500, json!({"ErrorCode": 500, "Message": "Internal Server Error"}), None, "retryable:500:-")]
#[case::unavailable_without_a_body_is_retryable(503, json!(""), None, "retryable:503:-")]
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
    assert_eq!(
        class(adapter(&mock.uri()).send(&email()).await.unwrap_err()),
        want,
        "HTTP {status}"
    );
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

#[rstest]
#[case::delivery("postmark/webhook_delivery.json", EmailEventKind::Delivered, "john@example.com")]
#[case::an_inactive_hard_bounce("postmark/webhook_bounce.json", EmailEventKind::Bounced { class: BounceClass::Hard }, "john@example.com")]
#[case::open("postmark/webhook_open.json", EmailEventKind::Opened, "john@example.com")]
#[tokio::test]
async fn a_webhook_with_the_basic_credentials_is_accepted_and_mapped(
    #[case] file: &str,
    #[case] kind: EmailEventKind,
    #[case] recipient: &str,
) {
    let auth = basic_auth("postmark", "hook-pass");
    let events = adapter("http://unused")
        .verify_and_parse_events(&callback(
            CALLBACK_URL,
            &[("authorization", &auth)],
            contract(file).to_string(),
        ))
        .await
        .unwrap()
        .into_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, kind);
    assert_eq!(events[0].recipient, recipient);
    assert_eq!(
        events[0].provider_message_id.as_deref(),
        Some("883953f4-6105-42a2-a16a-77a8eac79483")
    );
    assert!(events[0].occurred_at.is_some());
}

#[rstest]
#[case::a_transient_bounce_is_soft(json!({"RecordType": "Bounce", "Type": "Transient", "TypeCode": 2, "Inactive": false}), Some(EmailEventKind::Bounced { class: BounceClass::Soft }))]
#[case::a_spam_complaint_bounce_is_a_spam_report(json!({"RecordType": "Bounce", "Type": "SpamComplaint", "TypeCode": 100001}), Some(EmailEventKind::SpamReport))]
#[case::a_click_keeps_its_link(json!({"RecordType": "Click", "OriginalLink": "https://example.com/a"}), Some(EmailEventKind::Clicked { url: "https://example.com/a".into() }))]
#[case::a_suppressing_subscription_change_is_an_unsubscribe(json!({"RecordType": "SubscriptionChange", "SuppressSending": true}), Some(EmailEventKind::Unsubscribed))]
#[case::a_resubscription_is_not_tracked(json!({"RecordType": "SubscriptionChange", "SuppressSending": false}), None)]
fn every_record_maps_to_the_normalized_set(#[case] record: Value, #[case] want: Option<EmailEventKind>) {
    assert_eq!(normalize(&record), want);
}

#[rstest]
#[case::no_credentials(None)]
#[case::a_wrong_password(Some(("postmark", "wrong")))]
#[case::a_wrong_user(Some(("other", "hook-pass")))]
#[tokio::test]
async fn a_webhook_without_the_right_credentials_is_refused(#[case] creds: Option<(&str, &str)>) {
    let auth = creds.map(|(u, p)| basic_auth(u, p));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let body = contract("postmark/webhook_delivery.json").to_string();
    let got = adapter("http://unused")
        .verify_and_parse_events(&callback(CALLBACK_URL, &headers, body))
        .await;
    assert!(matches!(got, Err(CallbackError::Signature(_))), "{got:?}");
}

#[tokio::test]
async fn an_inbound_webhook_is_read_with_its_attachment_and_refused_without_the_credentials() {
    let body = json!({
        "From": "ann@example.com", "FromName": "Ann", "FromFull": {"Email": "ann@example.com", "Name": "Ann"},
        "To": "support@irisx.example", "ToFull": [{"Email": "support@irisx.example", "Name": ""}],
        "Subject": "Re: Hello", "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "TextBody": "Thanks!", "HtmlBody": "<p>Thanks!</p>",
        "Headers": [{"Name": "Message-ID", "Value": "<abc@mail.example.com>"}],
        "Attachments": [{"Name": "a.txt", "Content": "aGVsbG8gZmlsZQ==", "ContentType": "text/plain", "ContentLength": 10}],
    })
    .to_string();
    let a = adapter("http://unused");
    let auth = basic_auth("postmark", "hook-pass");
    let m = a
        .parse_inbound(&callback(CALLBACK_URL, &[("authorization", &auth)], body.clone()))
        .unwrap();
    assert_eq!(m.from, "ann@example.com");
    assert_eq!(m.to, vec!["support@irisx.example".to_owned()]);
    assert_eq!(
        m.provider_message_id.as_deref(),
        Some("22c74902-a0c1-4511-804f-341342852c90")
    );
    assert_eq!(&m.attachments[0].content[..], b"hello file");
    assert!(
        m.raw["Attachments"][0]["Content"].is_null(),
        "file contents are not kept in the raw fields"
    );
    let refused = a.parse_inbound(&callback(CALLBACK_URL, &[], body));
    assert!(matches!(refused, Err(CallbackError::Signature(_))), "{refused:?}");
}
