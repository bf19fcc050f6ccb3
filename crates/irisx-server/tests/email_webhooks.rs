//! The vendors' tracking webhooks through IRISX's HTTP endpoint, on the real binary: an email is sent through
//! a SendGrid, Mailgun or Postmark account whose API is a mock speaking the vendor's contract; a hard bounce
//! posted in the vendor's own format and signed its way marks the email undelivered and suppresses the address;
//! the same post with a forged signature is refused with 403 and changes nothing.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::email::*;
use common::*;
use irisx_providers::email::{mailgun, sendgrid};
use p256::ecdsa::SigningKey;
use rstest::rstest;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, Clone, Copy)]
enum Vendor {
    Sendgrid,
    Mailgun,
    Postmark,
}

fn sendgrid_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

impl Vendor {
    fn kind(self) -> &'static str {
        match self {
            Vendor::Sendgrid => "sendgrid",
            Vendor::Mailgun => "mailgun",
            Vendor::Postmark => "postmark",
        }
    }

    fn credentials(self) -> Value {
        match self {
            Vendor::Sendgrid => {
                json!({"api_key": "SG.test", "webhook_public_key": sendgrid::public_key(&sendgrid_key(7))})
            }
            Vendor::Mailgun => {
                json!({"api_key": "key-test", "domain": "mg.acme.example", "webhook_signing_key": "mg-signing"})
            }
            Vendor::Postmark => {
                json!({"server_token": "pm-token", "webhook_user": "hook", "webhook_password": "hook-secret"})
            }
        }
    }

    /// The vendor's answer to a send.
    fn accepted(self) -> ResponseTemplate {
        match self {
            Vendor::Sendgrid => ResponseTemplate::new(202).insert_header("x-message-id", "sg-provider-id"),
            Vendor::Mailgun => ResponseTemplate::new(200)
                .set_body_json(json!({"id": "<mg-provider-id@mg.acme.example>", "message": "Queued. Thank you."})),
            Vendor::Postmark => ResponseTemplate::new(200).set_body_json(json!({
                "To": "gone@example.com", "SubmittedAt": "2026-01-01T00:00:00Z", "MessageID": "pm-provider-id",
                "ErrorCode": 0, "Message": "OK"})),
        }
    }

    /// A hard bounce of `recipient` for IRISX message `id`, in the vendor's format, signed (or forged).
    fn bounce(self, id: &str, recipient: &str, genuine: bool) -> (Vec<(String, String)>, String) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match self {
            Vendor::Sendgrid => {
                let body = json!([{"email": recipient, "event": "bounce", "type": "bounce", "sg_event_id": "sg-ev-1",
                    "sg_message_id": "sg-provider-id.filter0001", "timestamp": now, "reason": "550 5.1.1 unknown user",
                    "irisx_message_id": id}])
                .to_string();
                let ts = now.to_string();
                let sig = sendgrid::sign(&sendgrid_key(if genuine { 7 } else { 8 }), &ts, body.as_bytes());
                let headers = vec![
                    (sendgrid::SIGNATURE_HEADER.into(), sig),
                    (sendgrid::TIMESTAMP_HEADER.into(), ts),
                ];
                (headers, body)
            }
            Vendor::Mailgun => {
                let (ts, token) = (now.to_string(), format!("token-{id}"));
                let key = if genuine { "mg-signing" } else { "not-the-key" };
                let body = json!({
                    "signature": {"timestamp": ts, "token": token, "signature": mailgun::sign(key, &ts, &token)},
                    "event-data": {"id": "mg-ev-1", "timestamp": now, "event": "failed", "severity": "permanent",
                        "reason": "bounce", "recipient": recipient,
                        "message": {"headers": {"message-id": "mg-provider-id@mg.acme.example"}},
                        "delivery-status": {"code": 550, "message": "5.1.1 unknown user"},
                        "user-variables": {"irisx_message_id": id}}})
                .to_string();
                (Vec::new(), body)
            }
            Vendor::Postmark => {
                let body = json!({"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "TypeCode": 1,
                    "MessageID": "pm-provider-id", "Email": recipient, "BouncedAt": "2026-01-01T00:00:00Z",
                    "Description": "unknown user", "Metadata": {"irisx_message_id": id}})
                .to_string();
                let password = if genuine { "hook-secret" } else { "guess" };
                let auth = format!("Basic {}", B64.encode(format!("hook:{password}")));
                (vec![("authorization".into(), auth)], body)
            }
        }
    }
}

async fn post_webhook(api: &Api, account: &str, (headers, body): (Vec<(String, String)>, String)) -> Resp {
    let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
    all.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    api.raw(
        reqwest::Method::POST,
        &format!("/v1/callbacks/email/{account}/events"),
        Auth::None,
        &all,
        Some(body.into_bytes()),
    )
    .await
}

#[rstest]
#[case::sendgrid(Vendor::Sendgrid)]
#[case::mailgun(Vendor::Mailgun)]
#[case::postmark(Vendor::Postmark)]
#[tokio::test]
async fn a_signed_hard_bounce_suppresses_the_address_and_a_forged_one_is_refused(#[case] vendor: Vendor) {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(vendor.accepted())
        .mount(&mock)
        .await;
    let account = email_account(
        &api,
        &staff,
        vendor.kind(),
        vendor.credentials(),
        Some(&mock.uri()),
        ("*", 500),
    )
    .await;
    let (_, key) = email_tenant(&api, &staff, vendor.kind()).await;
    let body = json!({"from": "noreply@acme.example", "to": ["gone@example.com"], "subject": "Hi", "text": "Hello"});
    let sent = api
        .post("/v1/email/send", Auth::Key(&key), body.clone())
        .await
        .expect(202);
    let id = sent["id"].as_str().unwrap();
    let m = wait_email(&api, &key, id, "sent").await;
    assert_eq!(m["attempts"][0]["provider"], vendor.kind());

    let forged = post_webhook(&api, &account, vendor.bounce(id, "gone@example.com", false)).await;
    assert_eq!(forged.expect(403)["error"]["code"], "forbidden");
    let s = api.get("/v1/email/suppressions", Auth::Key(&key)).await.expect(200);
    assert_eq!(s["data"], json!([]), "a forged bounce changes nothing");

    let r = post_webhook(&api, &account, vendor.bounce(id, "gone@example.com", true))
        .await
        .expect(200);
    assert_eq!(r["recorded"], 1, "{r}");
    let m = wait_email(&api, &key, id, "undelivered").await;
    assert_eq!(m["status_history"][0]["provider_status"], "bounced");
    let s = api.get("/v1/email/suppressions", Auth::Key(&key)).await.expect(200);
    assert_eq!(s["data"][0]["address"], "gone@example.com");
    assert_eq!(s["data"][0]["reason"], "hard_bounce");
    let refused = api.post("/v1/email/send", Auth::Key(&key), body).await.expect(422);
    assert_eq!(refused["error"]["details"][0]["code"], "suppressed");
    assert_eq!(
        mock.received_requests().await.unwrap().len(),
        1,
        "the refused send reached no provider"
    );
    env.cleanup().await;
}
