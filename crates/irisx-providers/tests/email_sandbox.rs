//! The email sandbox: magic recipients refuse as documented, accepted sends post signed events that the
//! sandbox itself verifies and maps, and the builder makes every kind from its credentials JSON.

mod support;

use std::time::Duration;

use irisx_core::email::provider::{CallbackError, EmailProvider, EmailProviderKind};
use irisx_core::email::{BounceClass, EmailEventKind, Mailbox};
use irisx_providers::email;
use irisx_providers::sms::sandbox::sign;
use rstest::rstest;
use serde_json::json;
use support::*;
use time::OffsetDateTime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "sandbox-secret";
const CALLBACK_URL: &str = "https://irisx.example/v1/callbacks/email/sandbox/events";

fn sandbox(events_url: Option<&str>) -> std::sync::Arc<dyn EmailProvider> {
    let creds = json!({"secret": SECRET, "events_url": events_url, "event_delay_ms": 5});
    email::build(EmailProviderKind::Sandbox, &creds, None, http()).unwrap()
}

#[rstest]
#[case::reject_is_permanent("reject@example.com", "permanent:invalid_recipient")]
#[case::unavailable_is_retryable("unavailable@example.org", "retryable:503:-")]
#[case::timeout_is_unknown("timeout@example.net", "unknown")]
#[tokio::test]
async fn magic_recipients_refuse_as_documented(#[case] to: &str, #[case] want: &str) {
    let mut e = email();
    e.cc = vec![Mailbox::new(addr(to))];
    assert_eq!(class(sandbox(None).send(&e).await.unwrap_err()), want);
}

#[tokio::test]
async fn an_accepted_send_posts_signed_events_the_sandbox_verifies_and_maps() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let mut e = email();
    e.to.push(Mailbox::new(addr("bounce@example.com")));
    e.to.push(Mailbox::new(addr("complaint@example.com")));
    let s = sandbox(Some(&receiver.uri()));
    let accepted = s.send(&e).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let posts = loop {
        let posts = receiver.received_requests().await.unwrap();
        if posts.len() >= 4 || std::time::Instant::now() > deadline {
            break posts;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut seen = Vec::new();
    for post in &posts {
        let signature = post.headers.get("x-irisx-sandbox-signature").unwrap().to_str().unwrap();
        let req = callback(
            CALLBACK_URL,
            &[("x-irisx-sandbox-signature", signature)],
            post.body.clone(),
        );
        for ev in s.verify_and_parse_events(&req).await.unwrap().into_events() {
            assert_eq!(
                ev.provider_message_id.as_deref(),
                Some(accepted.provider_message_id.as_str())
            );
            assert_eq!(ev.message_id.as_deref(), Some(e.message_id.as_str()));
            seen.push((ev.recipient, ev.kind));
        }
    }
    assert_eq!(
        seen,
        vec![
            ("john.doe@example.com".to_owned(), EmailEventKind::Delivered),
            (
                "bounce@example.com".to_owned(),
                EmailEventKind::Bounced {
                    class: BounceClass::Hard
                }
            ),
            ("complaint@example.com".to_owned(), EmailEventKind::Delivered),
            ("complaint@example.com".to_owned(), EmailEventKind::SpamReport),
        ]
    );
}

#[rstest]
#[case::a_changed_body("changed body")]
#[case::a_changed_signature("changed signature")]
#[case::a_stale_timestamp("stale")]
#[case::no_signature("none")]
#[tokio::test]
async fn a_tampered_or_stale_event_post_is_refused(#[case] case: &str) {
    let body = json!({"events": [{"id": "e1", "recipient": "a@example.com", "event": "delivered"}]}).to_string();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (sig, body) = match case {
        "changed body" => (
            sign(SECRET, now, body.as_bytes()),
            body.replace("delivered", "bounced_hard"),
        ),
        "changed signature" => (sign("another secret", now, body.as_bytes()), body),
        "stale" => (sign(SECRET, now - 301, body.as_bytes()), body),
        _ => (String::new(), body),
    };
    let headers: Vec<(&str, &str)> = if sig.is_empty() {
        vec![]
    } else {
        vec![("x-irisx-sandbox-signature", &sig)]
    };
    let got = sandbox(None)
        .verify_and_parse_events(&callback(CALLBACK_URL, &headers, body))
        .await;
    assert!(matches!(got, Err(CallbackError::Signature(_))), "{case}: {got:?}");
}

#[rstest]
#[case::sendgrid(EmailProviderKind::Sendgrid, json!({"api_key": "SG.x"}))]
#[case::mailgun(EmailProviderKind::Mailgun, json!({"api_key": "k", "domain": "mg.example.com"}))]
#[case::postmark(EmailProviderKind::Postmark, json!({"server_token": "t"}))]
#[case::ses(EmailProviderKind::Ses, json!({"access_key_id": "AKID", "secret_access_key": "s", "region": "eu-west-1"}))]
#[case::smtp(EmailProviderKind::Smtp, json!({"host": "smtp.example.com", "security": "starttls"}))]
#[case::sandbox(EmailProviderKind::Sandbox, json!({"secret": "s"}))]
fn every_kind_is_built_from_its_credentials_and_refuses_foreign_fields(
    #[case] kind: EmailProviderKind,
    #[case] creds: serde_json::Value,
) {
    let built = email::build(kind, &creds, None, http()).unwrap();
    assert_eq!(built.kind(), kind);
    let mut extra = creds.clone();
    extra["unexpected"] = json!(true);
    let err = email::build(kind, &extra, None, http()).err().unwrap().to_string();
    assert!(err.contains(kind.as_str()) && err.contains("unexpected"), "{err}");
}

#[tokio::test]
async fn a_vendor_without_inbound_mail_says_so() {
    let got = sandbox(None).parse_inbound(&callback(CALLBACK_URL, &[], "{}"));
    assert!(matches!(got, Err(CallbackError::Malformed(m)) if m.contains("no inbound-parse webhook")));
}
