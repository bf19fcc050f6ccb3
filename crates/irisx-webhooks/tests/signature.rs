//! The signature a receiver gets verifies with the reference Standard Webhooks library, and stops verifying
//! when any part of the message changes, when it is too old, or with another secret.

mod support;

use irisx_core::ports::webhooks::{WebhookOutcome, WebhookSender};
use irisx_core::webhook::WebhookSecret;
use rstest::rstest;
use support::{Delivered, LOOPBACK, Verdict, received, receiver, request, sender, verify};
use wiremock::ResponseTemplate;

/// Sends one webhook signed with `secrets`, stamped `age_seconds` ago, and returns what the receiver got.
async fn deliver(secrets: &[WebhookSecret], age_seconds: i64) -> Delivered {
    let server = receiver(ResponseTemplate::new(204)).await;
    let mut req = request(&format!("{}/hooks", server.uri()), secrets);
    req.timestamp -= age_seconds;
    let attempt = sender(&[LOOPBACK]).send(&req).await;
    assert_eq!(attempt.outcome, WebhookOutcome::Delivered, "{attempt:?}");
    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    Delivered::from_request(&requests[0])
}

/// Changes the byte at `index` (counted from the end when negative) to another byte of the same kind, so
/// the text stays a number, base64 or UTF-8 and only the signature can fail.
fn change_byte(text: &mut [u8], index: isize) {
    let i = if index < 0 {
        text.len() - index.unsigned_abs()
    } else {
        index as usize
    };
    text[i] = match text[i] {
        b'9' => b'0',
        b @ b'0'..=b'8' => b + 1,
        b'a' => b'b',
        _ => b'a',
    };
}

#[derive(Debug, Clone, Copy)]
enum Part {
    Body,
    Id,
    Timestamp,
    Signature,
}

#[tokio::test]
async fn the_reference_library_verifies_what_the_receiver_got() {
    let secret = WebhookSecret::generate();
    let delivered = deliver(std::slice::from_ref(&secret), 0).await;
    assert_eq!(verify(secret.expose(), &delivered), Verdict::Verified);
}

// The signature's last base64 character before `=` carries two padding bits a lenient decoder ignores, so
// the changed signature bytes sit inside the MAC.
#[rstest]
#[case::first_byte_of_the_body(Part::Body, 0)]
#[case::a_middle_byte_of_the_body(Part::Body, 30)]
#[case::last_byte_of_the_body(Part::Body, -1)]
#[case::first_byte_of_the_id(Part::Id, 0)]
#[case::last_byte_of_the_id(Part::Id, -1)]
#[case::last_digit_of_the_timestamp(Part::Timestamp, -1)]
#[case::first_byte_of_the_mac(Part::Signature, 3)]
#[case::a_middle_byte_of_the_mac(Part::Signature, 25)]
#[case::the_version(Part::Signature, 1)]
#[tokio::test]
async fn any_changed_byte_makes_the_signature_fail(#[case] part: Part, #[case] index: isize) {
    let secret = WebhookSecret::generate();
    let mut delivered = deliver(std::slice::from_ref(&secret), 0).await;
    let mut bytes = match part {
        Part::Body => delivered.body.clone(),
        Part::Id => delivered.id.clone().into_bytes(),
        Part::Timestamp => delivered.timestamp.clone().into_bytes(),
        Part::Signature => delivered.signature.clone().into_bytes(),
    };
    change_byte(&mut bytes, index);
    let changed = String::from_utf8(bytes.clone()).unwrap();
    match part {
        Part::Body => delivered.body = bytes,
        Part::Id => delivered.id = changed,
        Part::Timestamp => delivered.timestamp = changed,
        Part::Signature => delivered.signature = changed,
    }
    assert!(
        matches!(verify(secret.expose(), &delivered), Verdict::Refused(_)),
        "{part:?}[{index}] changed and still verified"
    );
}

#[tokio::test]
async fn a_timestamp_older_than_five_minutes_fails() {
    let secret = WebhookSecret::generate();
    let delivered = deliver(std::slice::from_ref(&secret), 5 * 60 + 30).await;
    match verify(secret.expose(), &delivered) {
        Verdict::Refused(reason) => assert!(reason.contains("too old"), "{reason}"),
        Verdict::Verified => panic!("a message stamped 5.5 minutes ago verified"),
    }
}

#[tokio::test]
async fn a_timestamp_within_five_minutes_still_verifies() {
    let secret = WebhookSecret::generate();
    let delivered = deliver(std::slice::from_ref(&secret), 4 * 60).await;
    assert_eq!(verify(secret.expose(), &delivered), Verdict::Verified);
}

#[tokio::test]
async fn during_a_rotation_both_secrets_verify_and_no_other_does() {
    let (new, old) = (WebhookSecret::generate(), WebhookSecret::generate());
    let delivered = deliver(&[new.clone(), old.clone()], 0).await;
    assert_eq!(delivered.signature.split(' ').count(), 2, "{}", delivered.signature);
    assert_eq!(verify(new.expose(), &delivered), Verdict::Verified);
    assert_eq!(verify(old.expose(), &delivered), Verdict::Verified);
    let stranger = WebhookSecret::generate();
    assert!(matches!(verify(stranger.expose(), &delivered), Verdict::Refused(_)));
}
