//! Attachments and received email on the real binary, with the files in the object store: the local
//! directory (the default) on both backend profiles and S3 (a moto server started by the test). An attachment
//! is stored at accept, sent with its bytes by the worker, and downloaded through a link that expires; a
//! vendor's inbound post and a raw MIME message become `email.received` with their files as objects.

mod common;
#[path = "../../irisx-objects/tests/support/moto.rs"]
mod moto;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::email::*;
use common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

/// Where the objects are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Objects {
    Local,
    S3,
}

/// Points the environment at a new bucket of `moto`.
async fn use_s3(env: &mut TestEnv, moto: &moto::Moto) {
    moto.bucket("irisx-e2e").await;
    env.set("IRISX_OBJECT_STORE_URL", "s3://irisx-e2e");
    env.set("IRISX_S3_ENDPOINT", &moto.url);
    env.set("IRISX_S3_REGION", "us-east-1");
    env.set("IRISX_S3_ACCESS_KEY_ID", "test");
    env.set("IRISX_S3_SECRET_ACCESS_KEY", "test");
    env.set("IRISX_S3_ALLOW_HTTP", "true");
}

/// Downloads a link with no IRISX credentials.
async fn fetch(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("download")
}

async fn attachments_round_trip(profile: Profile, objects: Objects) {
    let mut env = TestEnv::new(profile).await;
    let moto = match objects {
        Objects::S3 => Some(moto::Moto::start().await),
        Objects::Local => None,
    };
    if let Some(m) = &moto {
        use_s3(&mut env, m).await;
    }
    let (env, server, staff) = boot_in(env).await;
    let api = server.api();
    let sendgrid = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(ResponseTemplate::new(202).insert_header("x-message-id", "sg-1"))
        .mount(&sendgrid)
        .await;
    email_account(
        &api,
        &staff,
        "sendgrid",
        json!({"api_key": "SG.test"}),
        Some(&sendgrid.uri()),
        ("*", 100),
    )
    .await;
    let (tenant, key) = email_tenant(&api, &staff, "objects").await;
    let sent = api
        .post(
            "/v1/email/send",
            Auth::Key(&key),
            json!({"from": "billing@acme.example", "to": ["ann@example.com"], "subject": "Your invoice",
                   "text": "Attached.", "attachments": [
                       {"filename": "invoice.pdf", "content_type": "application/pdf", "content": B64.encode(PDF)},
                       {"filename": "notes €.txt", "content_type": "text/plain", "content": B64.encode("ça va")}]}),
        )
        .await
        .expect(202);
    let m = wait_email(&api, &key, sent["id"].as_str().unwrap(), "sent").await;

    // The vendor received the bytes the worker read back from the object store.
    let requests = sendgrid.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["attachments"][0]["filename"], "invoice.pdf");
    assert_eq!(body["attachments"][0]["content"], B64.encode(PDF));
    assert_eq!(body["attachments"][1]["content"], B64.encode("ça va"));

    let object_id = m["attachments"][0]["object_id"]
        .as_str()
        .expect("an object id")
        .to_owned();
    let o = api
        .get(&format!("/v1/objects/{object_id}"), Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(
        (o["purpose"].as_str(), o["filename"].as_str(), o["size"].as_u64()),
        (Some("email_attachment"), Some("invoice.pdf"), Some(PDF.len() as u64))
    );
    assert_eq!(o["sha256"], hex::encode(Sha256::digest(PDF)));
    let stored_at = format!("email_attachment/{tenant}/{object_id}");
    let local = env.dir.path().join("objects").join(&stored_at);
    match objects {
        Objects::Local => assert_eq!(std::fs::read(&local).unwrap(), PDF),
        // In S3 the bytes are in the bucket only (the presigned download below reads them from moto).
        Objects::S3 => assert!(!local.exists()),
    }

    let link = api
        .get(&format!("/v1/objects/{object_id}/url"), Auth::Key(&key))
        .await
        .expect(200);
    let url = link["url"].as_str().unwrap();
    let expires = time::OffsetDateTime::parse(
        link["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ttl = expires - time::OffsetDateTime::now_utc();
    assert!(
        (3540..=3601).contains(&ttl.whole_seconds()),
        "the link lasts an hour: {ttl}"
    );
    let got = fetch(url).await;
    assert_eq!(got.status(), 200, "{url}");
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(got.bytes().await.unwrap(), PDF);
    match objects {
        Objects::S3 => assert!(
            url.starts_with(&moto.as_ref().unwrap().url) && url.contains("X-Amz-Signature="),
            "{url}"
        ),
        Objects::Local => {
            assert!(
                url.starts_with(&format!("{}/v1/objects/{object_id}/download?", api.base)),
                "{url}"
            );
            let got = fetch(url).await;
            assert!(
                got.headers()["content-disposition"]
                    .to_str()
                    .unwrap()
                    .contains("invoice.pdf")
            );
            assert_eq!(got.headers()["x-content-type-options"], "nosniff");
            // Changing the expiry (or anything else) breaks the signature.
            let later = url.replace("expires=", "expires=9");
            let refused = fetch(&later).await;
            assert_eq!(refused.status(), 403);
            assert_error_shape(&refused.json().await.unwrap());
            let last = if url.ends_with('0') { '1' } else { '0' };
            let forged = format!("{}{last}", &url[..url.len() - 1]);
            assert_eq!(fetch(&forged).await.status(), 403);
        }
    }

    // Another tenant's file is not found, even by its owner (who holds every read scope; the scope itself is
    // checked in its own test below).
    let (_, owner) = api
        .tenant_with_owner(&staff, "Objects other", "owner@objects-other.test")
        .await;
    for path in [
        format!("/v1/objects/{object_id}"),
        format!("/v1/objects/{object_id}/url"),
    ] {
        api.get(&path, Auth::Bearer(&owner)).await.expect(404);
    }
    env.cleanup().await;
}

#[tokio::test]
async fn an_attachment_is_kept_in_the_local_store_sent_with_its_bytes_and_downloaded_through_a_signed_link() {
    for p in profiles("attachments in the local store") {
        attachments_round_trip(p, Objects::Local).await;
    }
}

#[tokio::test]
async fn an_attachment_is_kept_in_s3_sent_with_its_bytes_and_downloaded_through_a_presigned_url() {
    attachments_round_trip(Profile::Embedded, Objects::S3).await;
}

#[tokio::test]
async fn a_key_without_the_channels_read_scope_cannot_read_its_tenants_files() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, key, _) = sandbox_email_tenant(&api, &staff, "scopes").await;
    let sent = api
        .post(
            "/v1/email/send",
            Auth::Key(&key),
            json!({"from": "a@acme.example", "to": ["b@example.com"], "subject": "s", "text": "t",
                   "attachments": [{"filename": "a.txt", "content_type": "text/plain", "content": "aGk="}]}),
        )
        .await
        .expect(202);
    let m = api
        .get(&format!("/v1/email/{}", sent["id"].as_str().unwrap()), Auth::Key(&key))
        .await
        .expect(200);
    let object_id = m["attachments"][0]["object_id"].as_str().unwrap();
    let owner = api.login("owner@scopes.test", OWNER_PASSWORD).await;
    let (_, send_only) = api.api_key(&owner, &["email:send"]).await;
    api.get(&format!("/v1/objects/{object_id}/url"), Auth::Key(&send_only))
        .await
        .expect(403);
    api.get(&format!("/v1/objects/{object_id}/url"), Auth::Bearer(&owner))
        .await
        .expect(200);
    env.cleanup().await;
}

/// A Mailgun Routes post (multipart) for `recipient`, signed with `key`, with one attachment.
fn mailgun_inbound(key: &str, recipient: &str, message_id: &str) -> (String, Vec<u8>) {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let token = format!("tok-{message_id}");
    let signature = irisx_providers::email::mailgun::sign(key, &ts, &token);
    let headers = json!([["Message-Id", message_id], ["Subject", "Help with order 42"]]).to_string();
    let boundary = "irisx-test-boundary";
    let mut body = Vec::new();
    for (name, value) in [
        ("timestamp", ts.as_str()),
        ("token", token.as_str()),
        ("signature", signature.as_str()),
        ("recipient", recipient),
        ("sender", "zoe@example.org"),
        ("from", "Zoë <zoe@example.org>"),
        ("subject", "Help with order 42"),
        ("body-plain", "My order has not arrived."),
        ("body-html", "<p>My order has not arrived.</p>"),
        ("message-headers", headers.as_str()),
        ("Message-Id", message_id),
    ] {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment-1\"; filename=\"receipt.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .bytes(),
    );
    body.extend(PDF);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn received_through_mailgun(profile: Profile) {
    let (env, server, staff) = boot(profile).await;
    let api = server.api();
    let (_, owner) = api.tenant_with_owner(&staff, "Inbound", "owner@inbound.test").await;
    let account = api
        .post(
            "/v1/providers",
            Auth::Bearer(&owner),
            json!({"kind": "mailgun", "channel": "email", "name": "our mailgun",
                   "credentials": {"api_key": "key-test", "domain": "mg.acme.example", "webhook_signing_key": "mg-signing"}}),
        )
        .await
        .expect(201);
    let account = account["id"].as_str().unwrap();
    let (_, key) = api.api_key(&owner, EMAIL_SCOPES).await;
    let post = |signing: &'static str| {
        let api = api.clone();
        let url = format!("/v1/callbacks/email/{account}/inbound");
        async move {
            let (ct, body) = mailgun_inbound(signing, "support@acme.example", "<m1@example.org>");
            api.raw(
                reqwest::Method::POST,
                &url,
                Auth::None,
                &[("content-type", ct.as_str())],
                Some(body),
            )
            .await
        }
    };
    post("not-the-key").await.expect(403);
    assert_eq!(
        api.get("/v1/email?direction=inbound", Auth::Key(&key))
            .await
            .expect(200)["data"],
        json!([]),
        "a forged post stores nothing"
    );
    let first = post("mg-signing").await.expect(200);
    let again = post("mg-signing").await.expect(200);
    assert_eq!(first["id"], again["id"], "a repeated post is the same email");
    let id = first["id"].as_str().unwrap();
    let m = api.get(&format!("/v1/email/{id}"), Auth::Key(&key)).await.expect(200);
    assert_eq!(
        (m["direction"].as_str(), m["status"].as_str()),
        (Some("inbound"), Some("received"))
    );
    assert_eq!(m["text"], "My order has not arrived.");
    assert_eq!(m["to"], json!(["support@acme.example"]));
    let events = api
        .get("/v1/events?type=email.received", Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(
        events["data"].as_array().unwrap().len(),
        1,
        "one event for the repeated post"
    );
    let data = &events["data"][0]["data"];
    assert_eq!(data["subject"], "Help with order 42");
    assert_eq!(data["from_name"], "Zoë");
    assert_eq!(data["attachments"][0]["filename"], "receipt.pdf");
    let object_id = data["attachments"][0]["object_id"].as_str().unwrap();
    let link = api
        .get(&format!("/v1/objects/{object_id}/url"), Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(fetch(link["url"].as_str().unwrap()).await.bytes().await.unwrap(), PDF);
    env.cleanup().await;
}

#[tokio::test]
async fn a_signed_mailgun_inbound_post_becomes_one_received_email_with_its_attachment_stored() {
    for p in profiles("mailgun inbound") {
        received_through_mailgun(p).await;
    }
}

#[tokio::test]
async fn inbound_to_a_platform_account_is_refused_because_it_has_no_tenant() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let account = email_account(
        &api,
        &staff,
        "mailgun",
        json!({"api_key": "k", "domain": "mg.example", "webhook_signing_key": "mg-signing"}),
        None,
        ("*", 100),
    )
    .await;
    let (ct, body) = mailgun_inbound("mg-signing", "x@acme.example", "<m2@example.org>");
    let r = api
        .raw(
            reqwest::Method::POST,
            &format!("/v1/callbacks/email/{account}/inbound"),
            Auth::None,
            &[("content-type", ct.as_str())],
            Some(body),
        )
        .await
        .expect(422);
    assert!(r["error"]["message"].as_str().unwrap().contains("tenant's own"), "{r}");
    env.cleanup().await;
}

const RAW: &str = "From: Ann Example <ann@example.org>\r\nTo: sales@acme.example\r\nSubject: =?UTF-8?Q?Devis_=E2=82=AC?=\r\n\
Message-ID: <raw-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease quote.\r\n\
--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rfq.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n--b--\r\n";

#[tokio::test]
async fn a_raw_mime_message_is_parsed_into_a_received_email_with_its_parts() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, key) = email_tenant(&api, &staff, "raw").await;
    let post = |ct: &'static str, body: &'static str| {
        let api = api.clone();
        let key = key.clone();
        async move {
            api.raw(
                reqwest::Method::POST,
                "/v1/email/inbound?to=quotes@acme.example",
                Auth::Key(&key),
                &[("content-type", ct)],
                Some(body.as_bytes().to_vec()),
            )
            .await
        }
    };
    let wrong = post("text/plain", RAW).await.expect(415);
    assert_eq!(wrong["error"]["code"], "unsupported_media_type");
    let garbage = post("message/rfc822", "no headers at all").await.expect(422);
    assert_eq!(garbage["error"]["details"][0]["code"], "invalid_mime");
    let stored = post("message/rfc822", RAW).await.expect(201);
    let m = api
        .get(
            &format!("/v1/email/{}", stored["id"].as_str().unwrap()),
            Auth::Key(&key),
        )
        .await
        .expect(200);
    assert_eq!(m["subject"], "Devis €");
    assert_eq!(m["from"], "ann@example.org");
    assert_eq!(m["to"], json!(["quotes@acme.example"]), "the envelope recipient wins");
    assert_eq!(m["text"].as_str().map(str::trim), Some("Please quote."));
    assert_eq!(m["attachments"][0]["filename"], "rfq.pdf");
    let object_id = m["attachments"][0]["object_id"].as_str().unwrap();
    let link = api
        .get(&format!("/v1/objects/{object_id}/url"), Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(
        &fetch(link["url"].as_str().unwrap()).await.bytes().await.unwrap()[..],
        b"%PDF-1.7\n"
    );
    let events = api
        .get("/v1/events?type=email.received", Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(events["data"][0]["data"]["attachments"][0]["object_id"], object_id);
    env.cleanup().await;
}
