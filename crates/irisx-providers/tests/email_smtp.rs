//! SMTP against a real SMTP server (aiosmtpd, started by each test on a free port): what arrives is parsed back
//! and checked (headers, multipart/alternative, the attachment, a UTF-8 subject, Bcc only in the envelope),
//! connections are reused, and reply codes are classified (4yz retryable, 5yz permanent).
//!
//! Needs Python 3 with aiosmtpd (`pip install aiosmtpd`); without it the suite fails and says so.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use irisx_core::email::Mailbox;
use irisx_core::email::provider::EmailProvider;
use irisx_providers::email::smtp::{Credentials, Security, Smtp};
use mail_parser::{MessageParser, MimeHeaders};
use rstest::rstest;
use serde_json::Value;
use support::*;

/// The SMTP server of one test, stopped when dropped.
struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// A certificate for `localhost` made for the test, PEM.
struct TestCert {
    cert: String,
    key: String,
}

fn test_cert() -> TestCert {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    TestCert {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

impl Sink {
    fn start() -> Sink {
        Self::start_with(&[])
    }

    /// A sink speaking TLS (`mode`: `starttls` or `implicit`) with this certificate.
    fn start_tls(mode: &str, cert: &TestCert) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, &cert.cert).unwrap();
        std::fs::write(&key_path, &cert.key).unwrap();
        let args = [
            "--tls",
            mode,
            "--cert",
            cert_path.to_str().unwrap(),
            "--key",
            key_path.to_str().unwrap(),
        ];
        let sink = Self::start_with(&args);
        drop(dir);
        sink
    }

    fn start_with(extra: &[&str]) -> Sink {
        let has_aiosmtpd = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            has_aiosmtpd,
            "the SMTP suite needs Python 3 with aiosmtpd: run `pip install aiosmtpd`"
        );
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "the SMTP sink did not start");
        Sink { child, dir, port }
    }

    fn adapter(&self) -> Smtp {
        Smtp::new(self.credentials()).unwrap()
    }

    fn credentials(&self) -> Credentials {
        Credentials {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            security: Security::None,
            username: None,
            password: None,
            helo_name: Some("irisx.test".into()),
            root_certificate_pem: None,
            timeout_secs: Some(5),
            pool_size: None,
        }
    }

    /// The `n`th message received (from 1): its bytes and envelope, waiting a little for it.
    fn message(&self, n: usize) -> (Vec<u8>, Value) {
        let base: PathBuf = self.dir.path().join(format!("{n:04}"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !base.with_extension("eml").exists() {
            assert!(Instant::now() < deadline, "message {n} never arrived");
            std::thread::sleep(Duration::from_millis(20));
        }
        let envelope = std::fs::read_to_string(base.with_extension("json")).unwrap();
        (
            std::fs::read(base.with_extension("eml")).unwrap(),
            serde_json::from_str(&envelope).unwrap(),
        )
    }

    fn connections(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("connections")).unwrap_or_default()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_message_reaches_a_real_smtp_server_with_its_headers_alternative_bodies_and_attachment() {
    let sink = Sink::start();
    let mut e = full_email();
    e.subject = "Grüße aus IRISX ✓".into();
    e.from = Mailbox::named("Zoë Sender", addr("sender@example.com"));
    let ok = sink.adapter().send(&e).await.unwrap();
    assert_eq!(
        ok.provider_message_id,
        "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12@example.com"
    );
    assert_eq!(ok.raw["code"], "250");

    let (raw, envelope) = sink.message(1);
    assert_eq!(envelope["mail_from"], "sender@example.com");
    assert_eq!(
        envelope["rcpt_tos"],
        serde_json::json!(["john.doe@example.com", "cc@example.com", "bcc@example.com"])
    );
    let m = MessageParser::default().parse(&raw).expect("a MIME message");
    assert_eq!(m.subject(), Some("Grüße aus IRISX ✓"));
    let from = m.from().and_then(|a| a.first()).unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Zoë Sender"), Some("sender@example.com"))
    );
    let to = m.to().and_then(|a| a.first()).unwrap();
    assert_eq!(
        (to.name(), to.address()),
        (Some("John Doe"), Some("john.doe@example.com"))
    );
    assert_eq!(
        m.cc().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("cc@example.com")
    );
    assert!(m.bcc().is_none(), "Bcc travels only in the envelope");
    assert_eq!(
        m.reply_to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("support@example.com")
    );
    assert_eq!(m.message_id(), Some("msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12@example.com"));
    assert_eq!(m.header("X-Campaign").and_then(|h| h.as_text()), Some("spring"));
    assert_eq!(
        m.content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("multipart", Some("mixed")))
    );
    let alternative = m.parts.iter().any(|p| {
        p.content_type()
            .is_some_and(|c| c.ctype() == "multipart" && c.subtype() == Some("alternative"))
    });
    assert!(alternative, "the bodies are a multipart/alternative");
    assert_eq!(m.body_text(0).as_deref(), Some("Hello"));
    assert_eq!(m.body_html(0).as_deref(), Some("<p>Hello</p>"));
    let attachments: Vec<_> = m.attachments().collect();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].attachment_name(), Some("report.pdf"));
    assert_eq!(attachments[0].contents(), b"%PDF-1.4 test");
    assert_eq!(
        attachments[0].content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("application", Some("pdf")))
    );
}

#[tokio::test]
async fn one_pooled_connection_carries_several_messages() {
    let sink = Sink::start();
    let smtp = sink.adapter();
    let mut e = email();
    for n in 1..=3 {
        e.message_id = format!("msg_{n}");
        smtp.send(&e).await.unwrap();
        // lettre hands a connection back to its pool in a task of its own; let it run.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (raw, _) = sink.message(3);
    assert!(String::from_utf8_lossy(&raw).contains("msg_3@example.com"));
    assert_eq!(sink.connections(), "1", "the transport reuses its connection");
}

#[rstest]
#[case::mailbox_busy_is_retryable("reply-450@example.com", "retryable:450:-")]
#[case::a_local_error_is_retryable("reply-451@example.com", "retryable:451:-")]
#[case::insufficient_storage_is_retryable("reply-452@example.com", "retryable:452:-")]
#[case::an_unknown_mailbox_is_permanent("reply-550@example.com", "permanent:550")]
#[case::a_bad_mailbox_name_is_permanent("reply-553@example.com", "permanent:553")]
#[case::a_failed_transaction_is_permanent("reply-554@example.com", "permanent:554")]
#[tokio::test]
async fn reply_codes_are_classified_as_rfc_5321_says(#[case] to: &str, #[case] want: &str) {
    let sink = Sink::start();
    let mut e = email();
    e.to = vec![Mailbox::new(addr(to))];
    assert_eq!(class(sink.adapter().send(&e).await.unwrap_err()), want);
}

#[tokio::test]
async fn a_relay_that_cannot_be_reached_is_retryable() {
    let smtp = Smtp::new(Credentials {
        host: "127.0.0.1".into(),
        port: Some(free_port()),
        security: Security::None,
        username: None,
        password: None,
        helo_name: None,
        root_certificate_pem: None,
        timeout_secs: Some(2),
        pool_size: None,
    })
    .unwrap();
    assert_eq!(class(smtp.send(&email()).await.unwrap_err()), "retryable:connect:-");
}

#[rstest]
#[case::starttls("starttls", Security::Starttls)]
#[case::implicit_tls("implicit", Security::Tls)]
#[tokio::test]
async fn a_message_travels_over_tls_to_a_relay_with_a_private_ca(#[case] mode: &str, #[case] security: Security) {
    let cert = test_cert();
    let sink = Sink::start_tls(mode, &cert);
    let mut creds = sink.credentials();
    creds.host = "localhost".into();
    creds.security = security;
    creds.root_certificate_pem = Some(cert.cert.clone());
    Smtp::new(creds).unwrap().send(&email()).await.unwrap();
    let (raw, _) = sink.message(1);
    assert!(String::from_utf8_lossy(&raw).contains("Subject: Hello, World!"));
}

#[tokio::test]
async fn a_relay_whose_certificate_is_not_trusted_is_retryable_and_gets_no_message() {
    let sink = Sink::start_tls("starttls", &test_cert());
    let mut creds = sink.credentials();
    creds.host = "localhost".into();
    creds.security = Security::Starttls;
    let got = Smtp::new(creds).unwrap().send(&email()).await.unwrap_err();
    assert!(class(got.clone()).starts_with("retryable:"), "{got:?}");
    assert!(!sink.dir.path().join("0001.eml").exists());
}

#[tokio::test]
async fn a_header_value_with_a_line_break_is_refused_before_anything_is_sent() {
    let mut e = email();
    e.headers = vec![("X-Note".into(), "a\r\nBcc: victim@example.com".into())];
    let smtp = Smtp::new(Credentials {
        host: "127.0.0.1".into(),
        port: Some(free_port()),
        security: Security::None,
        username: None,
        password: None,
        helo_name: None,
        root_certificate_pem: None,
        timeout_secs: Some(2),
        pool_size: None,
    })
    .unwrap();
    assert_eq!(class(smtp.send(&e).await.unwrap_err()), "permanent:invalid_header");
}
