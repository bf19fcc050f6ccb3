//! Amazon SES v2 against a mock server speaking its documented contract (the exact SendEmail request, signed
//! with SigV4 and checked by the mock with the test key; the documented errors with their classes), and SES
//! notifications through Amazon SNS, signed with a certificate made for the test.

mod support;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use irisx_core::email::provider::{CallbackError, EmailProvider};
use irisx_core::email::{BounceClass, EmailEventKind, TrackingOutcome};
use irisx_providers::email::ses::{Credentials, Ses};
use irisx_providers::email::sigv4;
use irisx_providers::email::sns::{CertificateSource, HttpCertificates};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rstest::rstest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOPIC: &str = "arn:aws:sns:us-west-2:123456789012:MyTopic";
const CALLBACK_URL: &str = "https://irisx.example/v1/callbacks/email/ses/events";

fn creds() -> Credentials {
    Credentials {
        access_key_id: AKID.into(),
        secret_access_key: SECRET.into(),
        session_token: None,
        region: "us-east-1".into(),
        configuration_set: Some("my-config-set".into()),
        sns_topic_arns: vec![TOPIC.into()],
    }
}

fn adapter(base: &str) -> Ses {
    Ses::new(creds(), Some(base), http()).with_certificates(Arc::new(TestCertificate), Duration::from_secs(3600))
}

/// Recomputes the request's SigV4 signature with the test key from what reached the mock.
struct SignedWithTestKey;

impl Match for SignedWithTestKey {
    fn matches(&self, req: &Request) -> bool {
        let Some(auth) = req.headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let part = |name: &str| {
            auth.split(", ")
                .find_map(|p| p.split_once(name))
                .map(|(_, v)| v.to_owned())
        };
        let (Some(credential), Some(signed), Some(signature)) =
            (part("Credential="), part("SignedHeaders="), part("Signature="))
        else {
            return false;
        };
        let scope: Vec<&str> = credential.split('/').collect();
        if scope.len() != 5 || scope[0] != AKID || scope[2..] != ["us-east-1", "ses", "aws4_request"] {
            return false;
        }
        let headers: Vec<(String, String)> = signed
            .split(';')
            .map(|h| {
                (
                    h.to_owned(),
                    req.headers
                        .get(h)
                        .map(|v| v.to_str().unwrap_or_default().to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let stamp = req
            .headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let (canonical, _) = sigv4::canonical_request(req.method.as_str(), &req.url, &headers, &req.body);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{}\n{}",
            scope[1..].join("/"),
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key = sigv4::signing_key(SECRET, scope[1], "us-east-1", "ses");
        let want = hex::encode(irisx_providers::signing::hmac_sha256(&key, to_sign.as_bytes()));
        signed.split(';').collect::<Vec<_>>() == ["content-type", "host", "x-amz-date"] && want == signature
    }
}

/// The documented request's shape with this message's values.
fn documented_request() -> Value {
    let mut want = contract("ses/send_email_request.json");
    want["FromEmailAddress"] = json!("Example Sender <sender@example.com>");
    want["Destination"]["ToAddresses"] = json!(["John Doe <john.doe@example.com>"]);
    want["Content"]["Simple"]["Subject"]["Data"] = json!("Hello, World!");
    want["EmailTags"] = json!([
        {"Name": "irisx_message_id", "Value": "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12"},
        {"Name": "transactional", "Value": "true"},
    ]);
    want
}

#[tokio::test]
async fn a_send_is_the_documented_json_post_signed_with_sigv4_and_reads_the_200_message_id() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/email/outbound-emails"))
        .and(header("content-type", "application/json"))
        .and(SignedWithTestKey)
        .and(body_json(documented_request()))
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("ses/send_email_response_200.json")))
        .expect(1)
        .mount(&mock)
        .await;
    let ok = adapter(&mock.uri()).send(&email()).await.unwrap();
    assert_eq!(
        ok.provider_message_id,
        "0102015fd91a5ca3-93c245fe-e333-46ae-8fed-96160d20cfab-000000"
    );
}

#[tokio::test]
async fn attachments_and_headers_go_in_the_simple_content() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(SignedWithTestKey)
        .respond_with(ResponseTemplate::new(200).set_body_json(contract("ses/send_email_response_200.json")))
        .mount(&mock)
        .await;
    adapter(&mock.uri()).send(&full_email()).await.unwrap();
    let body: Value = mock.received_requests().await.unwrap()[0].body_json().unwrap();
    let simple = &body["Content"]["Simple"];
    assert_eq!(simple["Headers"], json!([{"Name": "X-Campaign", "Value": "spring"}]));
    assert_eq!(simple["Attachments"][0]["FileName"], "report.pdf");
    assert_eq!(simple["Attachments"][0]["RawContent"], "JVBERi0xLjQgdGVzdA==");
    assert_eq!(body["Destination"]["BccAddresses"], json!(["bcc@example.com"]));
}

#[rstest]
#[case::a_rejected_message_is_permanent_with_its_error_type(
    400,
    Some("MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/"),
    contract("ses/error_message_rejected.json"),
    None,
    "permanent:MessageRejected"
)]
#[case::bad_credentials_are_permanent(403, Some("UnrecognizedClientException"), json!({"message": "The security token included in the request is invalid."}), None, "permanent:UnrecognizedClientException")]
#[case::too_many_requests_is_retryable_after_the_delay(429, Some("TooManyRequestsException"), json!({"message": "Too many requests"}), Some("3"), "retryable:TooManyRequestsException:3")]
#[case::throttling_is_retryable_though_it_is_a_400(400, Some("ThrottlingException"), json!({"message": "Rate exceeded"}), None, "retryable:ThrottlingException:-")]
#[case::a_server_error_is_retryable(500, Some("InternalFailure"), json!({"message": "internal"}), None, "retryable:InternalFailure:-")]
#[case::an_error_without_a_type_keeps_the_http_status(503, None, json!(""), None, "retryable:503:-")]
#[tokio::test]
async fn errors_are_classified_from_the_documented_error_types(
    #[case] status: u16,
    #[case] error_type: Option<&str>,
    #[case] body: Value,
    #[case] retry_after: Option<&str>,
    #[case] want: &str,
) {
    let mock = MockServer::start().await;
    let mut resp = ResponseTemplate::new(status).set_body_json(body);
    if let Some(t) = error_type {
        resp = resp.insert_header("x-amzn-errortype", t);
    }
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

/// A self-signed RSA certificate made for this run, and its private key.
struct TestCa {
    pem: String,
    key: rsa::PrivateKey,
}

static CA: LazyLock<TestCa> = LazyLock::new(|| {
    let pair = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["sns.us-west-2.amazonaws.com".into()])
        .unwrap()
        .self_signed(&pair)
        .unwrap();
    TestCa {
        pem: cert.pem(),
        key: rsa::PrivateKey::from_pkcs8_der(&pair.serialize_der()).unwrap(),
    }
});

/// Serves the test certificate for any (already checked) SNS address.
struct TestCertificate;

#[async_trait]
impl CertificateSource for TestCertificate {
    async fn pem(&self, _url: &Url) -> Result<String, String> {
        Ok(CA.pem.clone())
    }
}

/// Signs an envelope as SNS does: the canonical `Key\nValue\n` string, written out here from the documentation.
fn sign_envelope(env: &mut Value) {
    let keys: &[&str] = if env["Type"] == "Notification" {
        &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let text: String = keys
        .iter()
        .filter_map(|k| env[*k].as_str().map(|v| format!("{k}\n{v}\n")))
        .collect();
    let sig = if env["SignatureVersion"] == "2" {
        rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(CA.key.clone())
            .sign(text.as_bytes())
            .to_vec()
    } else {
        rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(CA.key.clone())
            .sign(text.as_bytes())
            .to_vec()
    };
    use base64::Engine;
    env["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
}

/// The documented notification envelope carrying `message`, sent `age_secs` ago and signed with `version`.
fn notification(message: Option<Value>, version: &str, age_secs: i64) -> Value {
    let mut env = contract("ses/sns_envelope_notification.json");
    if let Some(m) = message {
        env["Message"] = json!(m.to_string());
    }
    let sent = OffsetDateTime::now_utc() - time::Duration::seconds(age_secs);
    env["Timestamp"] = json!(sent.format(&Rfc3339).unwrap());
    env["SignatureVersion"] = json!(version);
    sign_envelope(&mut env);
    env
}

async fn outcome(env: &Value) -> Result<TrackingOutcome, CallbackError> {
    let headers = [
        ("content-type", "text/plain; charset=UTF-8"),
        ("x-amz-sns-message-type", "Notification"),
    ];
    adapter("http://unused")
        .verify_and_parse_events(&callback(CALLBACK_URL, &headers, env.to_string()))
        .await
}

#[rstest]
#[case::signature_version_1_sha1("1")]
#[case::signature_version_2_sha256("2")]
#[tokio::test]
async fn a_signed_bounce_notification_is_accepted_and_mapped(#[case] version: &str) {
    let events = outcome(&notification(None, version, 0)).await.unwrap().into_events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.recipient, "bounce@simulator.amazonses.com");
    assert_eq!(
        e.kind,
        EmailEventKind::Bounced {
            class: BounceClass::Hard
        }
    );
    assert_eq!(
        e.provider_message_id.as_deref(),
        Some("0102015fd91a5ca3-93c245fe-e333-46ae-8fed-96160d20cfab-000000")
    );
    assert_eq!(
        e.provider_event_id.as_deref(),
        Some("0102015fd91a6479-ae22395c-1f7d-4423-a9e5-e0715bffc731-000000")
    );
    assert_eq!(e.reason.as_deref(), Some("smtp; 550 5.1.1 user unknown"));
    assert!(e.occurred_at.is_some());
}

#[rstest]
#[case::delivery(
    "ses/sns_message_delivery.json",
    EmailEventKind::Delivered,
    "success@simulator.amazonses.com"
)]
#[case::complaint(
    "ses/sns_message_complaint.json",
    EmailEventKind::SpamReport,
    "complaint@simulator.amazonses.com"
)]
#[tokio::test]
async fn delivery_and_complaint_notifications_are_mapped(
    #[case] file: &str,
    #[case] kind: EmailEventKind,
    #[case] recipient: &str,
) {
    let events = outcome(&notification(Some(contract(file)), "2", 0))
        .await
        .unwrap()
        .into_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, kind);
    assert_eq!(events[0].recipient, recipient);
}

#[rstest]
#[case::a_changed_message("changed message")]
#[case::a_changed_signature("changed signature")]
#[case::a_stale_timestamp("stale")]
#[case::a_certificate_outside_amazon_sns("evil cert url")]
#[case::a_certificate_over_plain_http("http cert url")]
#[case::a_topic_the_account_does_not_list("other topic")]
#[case::an_unknown_signature_version("version 3")]
#[tokio::test]
async fn a_tampered_stale_or_foreign_notification_is_refused(#[case] case: &str) {
    let mut env = notification(None, "1", 0);
    match case {
        "changed message" => env["Message"] = json!(env["Message"].as_str().unwrap().replace("Permanent", "Transient")),
        "changed signature" => {
            let mut other = notification(Some(contract("ses/sns_message_delivery.json")), "1", 0);
            std::mem::swap(&mut env["Signature"], &mut other["Signature"]);
        }
        "stale" => env = notification(None, "1", 2 * 3600),
        "evil cert url" => env["SigningCertURL"] = json!("https://sns.us-west-2.amazonaws.com.evil.example/cert.pem"),
        "http cert url" => env["SigningCertURL"] = json!("http://sns.us-west-2.amazonaws.com/cert.pem"),
        "other topic" => {
            env["TopicArn"] = json!("arn:aws:sns:us-west-2:999999999999:Other");
            sign_envelope(&mut env);
        }
        _ => {
            env["SignatureVersion"] = json!("3");
        }
    }
    let got = outcome(&env).await;
    assert!(matches!(got, Err(CallbackError::Signature(_))), "{case}: {got:?}");
}

#[tokio::test]
async fn a_subscription_confirmation_is_returned_to_be_confirmed_and_only_at_an_sns_address() {
    let mut env = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.",
        "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37",
        "Timestamp": OffsetDateTime::now_utc().format(&Rfc3339).unwrap(),
        "SignatureVersion": "1",
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
    });
    sign_envelope(&mut env);
    let Ok(TrackingOutcome::ConfirmSubscription(c)) = outcome(&env).await else {
        panic!("a confirmation expected")
    };
    assert_eq!(c.topic_arn, TOPIC);
    assert!(
        c.subscribe_url
            .starts_with("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription")
    );
    let mut foreign = c.clone();
    foreign.subscribe_url = "https://attacker.example/confirm".into();
    let refused = adapter("http://unused")
        .confirm_subscription(&foreign)
        .await
        .unwrap_err();
    assert_eq!(class(refused), "permanent:subscribe_url");
}

#[tokio::test]
async fn certificates_are_fetched_once_and_kept() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/SimpleNotificationService-test.pem"))
        .respond_with(ResponseTemplate::new(200).set_body_string(CA.pem.clone()))
        .expect(1)
        .mount(&mock)
        .await;
    let source = HttpCertificates::new(http());
    let url = Url::parse(&format!("{}/SimpleNotificationService-test.pem", mock.uri())).unwrap();
    assert_eq!(source.pem(&url).await.unwrap(), CA.pem);
    assert_eq!(source.pem(&url).await.unwrap(), CA.pem);
}
