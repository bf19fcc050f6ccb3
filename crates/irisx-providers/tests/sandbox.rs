//! The sandbox: magic numbers fail like real providers, other sends are accepted and receive signed receipts
//! that the adapter itself verifies and parses.

mod support;

use std::time::Duration;

use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::E164;
use irisx_core::sms::provider::{ProviderError, SmsProvider};
use irisx_providers::sms::sandbox::{Credentials, Sandbox, provider_id, sign};
use support::*;
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "sandbox-secret";

fn sandbox() -> Sandbox {
    Sandbox::new(
        Credentials {
            secret: SECRET.into(),
            receipt_delay_ms: Some(10),
            send_delay_ms: None,
        },
        http(),
    )
}

fn to(number: &str) -> irisx_core::sms::provider::OutboundSms {
    let mut m = sms();
    m.to = E164::parse("to", number).unwrap();
    m.status_callback = None;
    m
}

#[tokio::test]
async fn magic_numbers_fail_with_the_documented_classes() {
    let s = sandbox();
    let class = |r: Result<_, ProviderError>| match r {
        Ok(_) => "accepted".to_owned(),
        Err(ProviderError::Permanent { code, .. }) => format!("permanent:{code}"),
        Err(ProviderError::Retryable { code, .. }) => format!("retryable:{code}"),
        Err(ProviderError::Unknown { .. }) => "unknown".to_owned(),
    };
    for (number, want) in [
        ("+15005550001", "permanent:21211"),
        ("+15005550002", "permanent:21612"),
        ("+15005550003", "retryable:503"),
        ("+15005550004", "unknown"),
        ("+15005550009", "accepted"),
        ("+14155550123", "accepted"),
    ] {
        assert_eq!(class(s.send(&to(number)).await), want, "{number}");
    }
}

#[tokio::test]
async fn an_accepted_send_posts_signed_receipts_that_verify_and_parse() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/receipts"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let s = sandbox();
    for (number, last) in [
        ("+14155550123", DeliveryStatus::Delivered),
        ("+15005550009", DeliveryStatus::Undelivered),
    ] {
        let mut m = to(number);
        m.message_id = format!("msg_for_{number}");
        m.status_callback = Some(format!("{}/receipts", receiver.uri()));
        let accepted = s.send(&m).await.unwrap();
        assert_eq!(accepted.provider_message_id, provider_id(&m.message_id));
        let mut statuses = Vec::new();
        for _ in 0..100 {
            let got: Vec<_> = receiver
                .received_requests()
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    let headers: Vec<(String, String)> = r
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                        .collect();
                    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    callback("http://irisx.test/cb", &refs, r.body.clone())
                })
                .filter(|c| {
                    s.parse_status(c)
                        .is_ok_and(|u| u[0].provider_message_id == accepted.provider_message_id)
                })
                .collect();
            if got.len() == 2 {
                for c in &got {
                    s.verify(c).expect("the sandbox's own receipts verify");
                    statuses.push(s.parse_status(c).unwrap().remove(0));
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            statuses.iter().map(|u| u.status).collect::<Vec<_>>(),
            vec![DeliveryStatus::Sent, last]
        );
        if last == DeliveryStatus::Undelivered {
            assert_eq!(statuses[1].error_code.as_deref(), Some("30003"));
        }
    }
}

#[tokio::test]
async fn a_changed_stale_or_unsigned_receipt_is_refused() {
    let s = sandbox();
    let body = br#"{"message_id":"SBx","status":"delivered","error_code":null,"occurred_at":1}"#;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let good = sign(SECRET, now, body);
    s.verify(&callback(
        "http://x/cb",
        &[("x-irisx-sandbox-signature", &good)],
        body.to_vec(),
    ))
    .unwrap();
    let changed = body
        .to_vec()
        .iter()
        .map(|b| if *b == b'x' { b'y' } else { *b })
        .collect::<Vec<_>>();
    assert!(
        s.verify(&callback(
            "http://x/cb",
            &[("x-irisx-sandbox-signature", &good)],
            changed
        ))
        .is_err()
    );
    let stale = sign(SECRET, now - 301, body);
    assert!(
        s.verify(&callback(
            "http://x/cb",
            &[("x-irisx-sandbox-signature", &stale)],
            body.to_vec()
        ))
        .is_err()
    );
    let wrong_key = sign("other", now, body);
    assert!(
        s.verify(&callback(
            "http://x/cb",
            &[("x-irisx-sandbox-signature", &wrong_key)],
            body.to_vec()
        ))
        .is_err()
    );
    assert!(s.verify(&callback("http://x/cb", &[], body.to_vec())).is_err());
}

#[tokio::test]
async fn reconciliation_finds_a_message_whose_answer_was_lost_and_none_for_a_refused_one() {
    let s = sandbox();
    let lost = to("+15005550004");
    let found = s.fetch_status(&lost, None).await.unwrap().expect("the sandbox took it");
    assert_eq!(found.provider_message_id, provider_id(&lost.message_id));
    assert_eq!(found.status, DeliveryStatus::Sent);
    assert!(s.fetch_status(&to("+15005550001"), None).await.unwrap().is_none());
}
