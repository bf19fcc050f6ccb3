//! The SSRF rules: with nothing allowlisted, registration refuses internal destinations with a message
//! naming the address class, and a send never reaches one, whether the URL names an address or a host
//! name that resolves to one (checked on the address actually connected to).

mod support;

use irisx_core::ports::webhooks::{WebhookOutcome, WebhookSender};
use irisx_core::webhook::{WebhookSecret, WebhookUrl};
use irisx_webhooks::{HttpWebhookSender, SenderConfig, WebhookError};
use rstest::rstest;
use support::{LOOPBACK, received, receiver, request, sender};
use wiremock::ResponseTemplate;

fn url(text: &str) -> WebhookUrl {
    WebhookUrl::parse(text).unwrap()
}

#[rstest]
#[case::loopback("http://127.0.0.1/", "127.0.0.1 is a loopback address")]
#[case::private("http://10.0.0.1/", "10.0.0.1 is a private address")]
#[case::cloud_metadata("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address")]
#[case::ipv6_loopback("http://[::1]/", "::1 is a loopback address")]
#[case::ipv4_mapped_loopback("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address")]
#[case::decimal_loopback("http://2130706433/", "127.0.0.1 is a loopback address")]
#[case::carrier_grade_nat("https://100.64.0.1/", "100.64.0.1 is a shared (carrier-grade NAT) address")]
#[case::unique_local("https://[fd00::1]:8443/", "fd00::1 is a unique local address")]
#[case::unspecified("http://0.0.0.0:8080/", "0.0.0.0 is an unspecified address")]
#[tokio::test]
async fn registration_refuses_internal_addresses_naming_their_class(#[case] target: &str, #[case] message: &str) {
    let refused = sender(&[]).check_url(&url(target)).await.unwrap_err();
    assert_eq!(refused.0, message);
}

#[tokio::test]
async fn registration_refuses_a_name_that_resolves_to_loopback() {
    let server = receiver(ResponseTemplate::new(200)).await;
    let port = server.address().port();
    let refused = sender(&[])
        .check_url(&url(&format!("http://localhost:{port}/")))
        .await
        .unwrap_err();
    assert!(
        refused.0.starts_with("localhost resolves to ") && refused.0.contains("127.0.0.1, a loopback address"),
        "{refused}"
    );
}

#[rstest]
#[case::a_public_address("https://93.184.215.14/hooks", &[])]
#[case::an_allowlisted_block("http://127.0.0.1:9/", &[LOOPBACK])]
#[case::an_allowlisted_name("http://localhost:9/", &["localhost"])]
#[tokio::test]
async fn registration_accepts(#[case] target: &str, #[case] allowlist: &[&str]) {
    sender(allowlist).check_url(&url(target)).await.unwrap();
}

#[rstest]
// localhost may resolve to ::1 too, listed first or second.
#[case::by_name("localhost", "localhost resolves to ", "127.0.0.1, a loopback address")]
#[case::by_address("127.0.0.1", "127.0.0.1 is ", "a loopback address")]
#[tokio::test]
async fn a_send_to_a_live_local_receiver_is_refused_before_any_request(
    #[case] host: &str,
    #[case] start: &str,
    #[case] naming: &str,
) {
    let server = receiver(ResponseTemplate::new(200)).await;
    let target = format!("http://{host}:{}/hooks", server.address().port());

    let attempt = sender(&[]).send(&request(&target, &[WebhookSecret::generate()])).await;

    assert_eq!(attempt.outcome, WebhookOutcome::Failed { retry_after: None });
    assert_eq!(attempt.status, None);
    let error = attempt.error.unwrap();
    assert!(error.starts_with(start) && error.contains(naming), "{error}");
    assert!(received(&server).await.is_empty(), "the receiver was called");
}

#[tokio::test]
async fn a_send_by_name_uses_only_the_allowlisted_addresses_of_the_name() {
    // localhost may also resolve to ::1, which 127.0.0.0/8 does not cover; the receiver listens on 127.0.0.1.
    let server = receiver(ResponseTemplate::new(200)).await;
    let target = format!("http://localhost:{}/hooks", server.address().port());

    let attempt = sender(&[LOOPBACK])
        .send(&request(&target, &[WebhookSecret::generate()]))
        .await;

    assert_eq!(attempt.outcome, WebhookOutcome::Delivered, "{attempt:?}");
    assert_eq!(received(&server).await.len(), 1);
}

#[rstest]
#[case::a_prefix_too_long("127.0.0.0/33")]
#[case::not_a_name("http://localhost")]
#[case::a_bad_address("10.0.0.256")]
fn the_constructor_refuses_a_bad_allowlist_entry_naming_it(#[case] entry: &str) {
    let err = HttpWebhookSender::new(SenderConfig {
        allowlist: vec![LOOPBACK.into(), entry.into()],
        ..SenderConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, WebhookError::AllowlistEntry { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("allowlist entry `{entry}` is refused: ")),
        "{err}"
    );
}
