//! What an attempt reports for each kind of answer, against real local receivers.

mod support;

use std::time::{Duration, Instant};

use irisx_core::ports::webhooks::{WebhookOutcome, WebhookSender};
use irisx_core::webhook::WebhookSecret;
use irisx_webhooks::{HttpWebhookSender, SenderConfig};
use rstest::rstest;
use support::{LOOPBACK, received, receiver, request, sender};
use wiremock::ResponseTemplate;

fn secrets() -> Vec<WebhookSecret> {
    vec![WebhookSecret::generate()]
}

#[tokio::test]
async fn a_200_is_delivered_with_status_body_latency_and_masked_headers() {
    let server = receiver(ResponseTemplate::new(200).set_body_string("thanks")).await;
    let mut req = request(&format!("{}/hooks", server.uri()), &secrets());
    req.headers = vec![("Authorization".into(), "Bearer tenant-token".into())];

    let attempt = sender(&[LOOPBACK]).send(&req).await;

    assert_eq!(attempt.outcome, WebhookOutcome::Delivered);
    assert_eq!(attempt.status, Some(200));
    assert_eq!(attempt.response_body.as_deref(), Some("thanks"));
    assert_eq!(attempt.error, None);
    assert!(attempt.latency > Duration::ZERO);
    let shown = |name: &str| {
        attempt
            .request_headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(shown("webhook-signature"), Some("v1,***"));
    assert_eq!(shown("authorization"), Some("***"));
    assert_eq!(shown("webhook-id"), Some(req.webhook_id.as_str()));
    assert_eq!(shown("content-type"), Some("application/json"));

    let got = &received(&server).await[0];
    assert_eq!(got.method.as_str(), "POST");
    assert_eq!(got.body, req.body.as_ref());
    assert_eq!(got.headers["content-type"], "application/json");
    assert_eq!(got.headers["authorization"], "Bearer tenant-token");
    assert!(
        got.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("IRISX-Webhooks/")
    );
    assert_eq!(got.headers["webhook-timestamp"], req.timestamp.to_string().as_str());
}

#[tokio::test]
async fn custom_headers_cannot_replace_the_signed_headers() {
    let server = receiver(ResponseTemplate::new(204)).await;
    let mut req = request(&server.uri(), &secrets());
    req.headers = vec![
        ("webhook-id".into(), "msg_forged".into()),
        ("webhook-signature".into(), "v1,Zm9yZ2Vk".into()),
        ("content-type".into(), "text/plain".into()),
        ("x-tenant".into(), "acme".into()),
    ];

    sender(&[LOOPBACK]).send(&req).await;

    let got = &received(&server).await[0];
    let all = |name: &str| -> Vec<String> {
        got.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(all("webhook-id"), vec![req.webhook_id.clone()]);
    assert_eq!(all("content-type"), vec!["application/json".to_owned()]);
    assert!(!all("webhook-signature").contains(&"v1,Zm9yZ2Vk".to_owned()));
    assert_eq!(all("x-tenant"), vec!["acme".to_owned()]);
}

#[rstest]
#[case::ok(200, WebhookOutcome::Delivered)]
#[case::no_content(204, WebhookOutcome::Delivered)]
#[case::gone(410, WebhookOutcome::Gone)]
#[case::bad_request(400, WebhookOutcome::Failed { retry_after: None })]
#[case::not_found(404, WebhookOutcome::Failed { retry_after: None })]
#[case::server_error(500, WebhookOutcome::Failed { retry_after: None })]
#[case::unavailable(503, WebhookOutcome::Failed { retry_after: None })]
#[tokio::test]
async fn each_status_ends_the_attempt_as_classified(#[case] status: u16, #[case] expected: WebhookOutcome) {
    let server = receiver(ResponseTemplate::new(status)).await;
    let attempt = sender(&[LOOPBACK]).send(&request(&server.uri(), &secrets())).await;
    assert_eq!(attempt.outcome, expected);
    assert_eq!(attempt.status, Some(status));
    assert_eq!(attempt.error, None);
}

#[rstest]
#[case::too_many_requests(429)]
#[case::unavailable(503)]
#[tokio::test]
async fn retry_after_seconds_are_kept_on_429_and_5xx(#[case] status: u16) {
    let server = receiver(ResponseTemplate::new(status).insert_header("retry-after", "7")).await;
    let attempt = sender(&[LOOPBACK]).send(&request(&server.uri(), &secrets())).await;
    assert_eq!(
        attempt.outcome,
        WebhookOutcome::Failed {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(attempt.status, Some(status));
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_fails() {
    let target = receiver(ResponseTemplate::new(200)).await;
    let redirecting =
        receiver(ResponseTemplate::new(302).insert_header("location", format!("{}/elsewhere", target.uri()))).await;

    let attempt = sender(&[LOOPBACK]).send(&request(&redirecting.uri(), &secrets())).await;

    assert_eq!(attempt.outcome, WebhookOutcome::Failed { retry_after: None });
    assert_eq!(attempt.status, Some(302));
    assert_eq!(received(&redirecting).await.len(), 1);
    assert!(received(&target).await.is_empty(), "the redirect target was called");
}

#[rstest]
#[case::the_request_timeout(Duration::from_millis(400), Duration::from_secs(30))]
#[case::the_configured_cap(Duration::from_secs(60), Duration::from_millis(400))]
#[tokio::test]
async fn a_hanging_receiver_is_cut_at_the_shorter_of(#[case] timeout: Duration, #[case] cap: Duration) {
    let hang = Duration::from_secs(20);
    let server = receiver(ResponseTemplate::new(200).set_delay(hang)).await;
    let sender = HttpWebhookSender::new(SenderConfig {
        allowlist: vec![LOOPBACK.into()],
        max_timeout: cap,
        ..SenderConfig::default()
    })
    .unwrap();
    let mut req = request(&server.uri(), &secrets());
    req.timeout = timeout;

    let started = Instant::now();
    let attempt = sender.send(&req).await;
    let elapsed = started.elapsed();

    assert!(
        elapsed < Duration::from_secs(3),
        "took {elapsed:?} against a {hang:?} hang"
    );
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    assert_eq!(attempt.outcome, WebhookOutcome::Failed { retry_after: None });
    assert_eq!(attempt.status, None);
    assert!(
        attempt.error.as_deref().unwrap().contains("no answer within 400 ms"),
        "{attempt:?}"
    );
}

#[tokio::test]
async fn only_the_first_bytes_of_a_large_answer_are_kept() {
    let server = receiver(ResponseTemplate::new(500).set_body_string("x".repeat(1 << 20))).await;
    let sender = HttpWebhookSender::new(SenderConfig {
        allowlist: vec![LOOPBACK.into()],
        response_body_limit: 64,
        ..SenderConfig::default()
    })
    .unwrap();

    let attempt = sender.send(&request(&server.uri(), &secrets())).await;

    assert_eq!(attempt.status, Some(500));
    assert_eq!(attempt.response_body, Some("x".repeat(64)));
}

#[tokio::test]
async fn a_closed_port_fails_with_the_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let attempt = sender(&[LOOPBACK])
        .send(&request(&format!("http://127.0.0.1:{port}/"), &secrets()))
        .await;
    assert_eq!(attempt.outcome, WebhookOutcome::Failed { retry_after: None });
    assert_eq!(attempt.status, None);
    assert!(attempt.error.is_some());
    assert!(!attempt.request_headers.is_empty());
}

#[tokio::test]
async fn unbounded_timeouts_neither_panic_nor_hang_a_quick_answer() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let sender = HttpWebhookSender::new(SenderConfig {
        allowlist: vec![LOOPBACK.into()],
        max_timeout: Duration::MAX,
        ..SenderConfig::default()
    })
    .unwrap();
    let mut req = request(&server.uri(), &secrets());
    req.timeout = Duration::MAX;

    assert_eq!(sender.send(&req).await.outcome, WebhookOutcome::Delivered);
}

#[tokio::test]
async fn a_request_without_a_secret_fails_without_reaching_the_receiver() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let attempt = sender(&[LOOPBACK]).send(&request(&server.uri(), &[])).await;
    assert_eq!(attempt.outcome, WebhookOutcome::Failed { retry_after: None });
    assert!(attempt.error.unwrap().contains("no secret"));
    assert!(received(&server).await.is_empty());
}
