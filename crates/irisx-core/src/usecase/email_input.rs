//! Checking a send request's email parts: addresses, subject, bodies, headers and attachments, with their
//! size limits. Every bad field is reported at once, named by its JSON path.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::email::content::{Address, EmailContent, Header, StoredAttachment};
use crate::error::FieldError;
use crate::validate::Checks;

/// The most recipients (to, cc and bcc together) of one email.
pub const MAX_RECIPIENTS: usize = 50;
/// The longest subject, in characters (RFC 5322's line limit).
pub const MAX_SUBJECT_CHARS: usize = 998;
/// The largest HTML or text part, in bytes.
pub const MAX_PART_BYTES: usize = 512 * 1024;
/// The most extra headers.
pub const MAX_HEADERS: usize = 20;
/// The most attachments.
pub const MAX_ATTACHMENTS: usize = 10;
/// The largest total of attachments, decoded, in bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// Headers IRISX writes itself; a request may not set them.
const RESERVED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "reply-to",
    "sender",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "return-path",
];

/// File types mail filters drop and tenants should not send: refused by extension.
const BLOCKED_EXTENSIONS: &[&str] = &[
    "exe", "bat", "cmd", "com", "scr", "pif", "msi", "vbs", "js", "jse", "jar", "ps1", "cpl", "hta",
];

/// An attachment as the API received it.
#[derive(Debug, Clone, Default)]
pub struct AttachmentInput {
    /// File name.
    pub filename: String,
    /// Media type, e.g. `application/pdf`.
    pub content_type: String,
    /// The bytes, base64.
    pub content_base64: String,
}

/// The email parts of a send request.
#[derive(Debug, Clone, Default)]
pub struct PartsInput {
    /// Sender: `addr` or `Name <addr>`.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Copies.
    pub cc: Vec<String>,
    /// Blind copies.
    pub bcc: Vec<String>,
    /// Where replies go.
    pub reply_to: Option<String>,
    /// Subject.
    pub subject: String,
    /// HTML part.
    pub html: Option<String>,
    /// Text part.
    pub text: Option<String>,
    /// Extra headers, name → value.
    pub headers: Vec<(String, String)>,
    /// Attachments.
    pub attachments: Vec<AttachmentInput>,
}

fn addresses(c: &mut Checks, field: &str, list: &[String]) -> Vec<Address> {
    list.iter()
        .enumerate()
        .filter_map(|(i, a)| c.check(Address::parse(&format!("{field}[{i}]"), a)))
        .collect()
}

fn header_ok(c: &mut Checks, (name, value): &(String, String)) -> Option<Header> {
    let field = format!("headers.{name}");
    let token = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !token {
        c.push(FieldError::new(
            field,
            "invalid_header",
            "a header name is 1 to 64 letters, digits and `-`",
        ));
        return None;
    }
    if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        c.push(FieldError::new(
            field,
            "reserved_header",
            "IRISX sets this header from the request's fields",
        ));
        return None;
    }
    if value.len() > MAX_SUBJECT_CHARS || value.chars().any(|ch| ch == '\r' || ch == '\n') {
        c.push(FieldError::new(
            field,
            "invalid_header",
            "at most 998 characters on one line",
        ));
        return None;
    }
    Some(Header {
        name: name.clone(),
        value: value.clone(),
    })
}

fn attachment_ok(c: &mut Checks, i: usize, a: &AttachmentInput) -> Option<StoredAttachment> {
    let field = |f: &str| format!("attachments[{i}].{f}");
    let name_ok = !a.filename.is_empty()
        && a.filename.chars().count() <= 255
        && !a.filename.chars().any(|ch| ch.is_control() || ch == '/' || ch == '\\');
    if !name_ok {
        c.push(FieldError::new(
            field("filename"),
            "invalid_filename",
            "1 to 255 characters, no path",
        ));
    }
    let extension = a.filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if extension.is_some_and(|e| BLOCKED_EXTENSIONS.contains(&e.as_str())) {
        c.push(FieldError::new(
            field("filename"),
            "blocked_file_type",
            "executable and script files are not sent",
        ));
    }
    let media_ok = a.content_type.split_once('/').is_some_and(|(t, s)| {
        let token = |x: &str| {
            !x.is_empty()
                && x.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
        };
        token(t) && token(s)
    });
    if !media_ok || a.content_type.len() > 127 {
        c.push(FieldError::new(
            field("content_type"),
            "invalid_content_type",
            "a media type such as `application/pdf`",
        ));
    }
    let bytes = c.check(
        B64.decode(&a.content_base64)
            .map_err(|_| FieldError::new(field("content"), "invalid_base64", "the content must be base64")),
    )?;
    let content_type = a.content_type.to_ascii_lowercase();
    let sniffed = sniff(&bytes);
    if sniffed.is_some_and(|s| s.executable) {
        c.push(FieldError::new(
            field("content"),
            "blocked_file_type",
            "executable and script files are not sent, whatever their name",
        ));
    } else if SNIFFED_TYPES.contains(&content_type.as_str()) && sniffed.is_none_or(|s| s.media_type != content_type) {
        c.push(FieldError::new(
            field("content_type"),
            "content_type_mismatch",
            format!("the content is not {content_type}"),
        ));
    }
    Some(StoredAttachment {
        filename: a.filename.clone(),
        content_type,
        size: bytes.len() as u64,
        object_id: None,
        content_base64: Some(a.content_base64.clone()),
    })
}

/// A format recognised by its first bytes.
#[derive(Debug, Clone, Copy)]
struct Magic {
    prefix: &'static [u8],
    media_type: &'static str,
    executable: bool,
}

const MAGIC: &[Magic] = &[
    Magic {
        prefix: b"MZ",
        media_type: "application/vnd.microsoft.portable-executable",
        executable: true,
    },
    Magic {
        prefix: b"\x7fELF",
        media_type: "application/x-executable",
        executable: true,
    },
    Magic {
        prefix: b"\xcf\xfa\xed\xfe",
        media_type: "application/x-mach-binary",
        executable: true,
    },
    Magic {
        prefix: b"\xfe\xed\xfa\xcf",
        media_type: "application/x-mach-binary",
        executable: true,
    },
    Magic {
        prefix: b"#!",
        media_type: "text/x-shellscript",
        executable: true,
    },
    Magic {
        prefix: b"\x89PNG\r\n\x1a\n",
        media_type: "image/png",
        executable: false,
    },
    Magic {
        prefix: b"\xff\xd8\xff",
        media_type: "image/jpeg",
        executable: false,
    },
    Magic {
        prefix: b"GIF87a",
        media_type: "image/gif",
        executable: false,
    },
    Magic {
        prefix: b"GIF89a",
        media_type: "image/gif",
        executable: false,
    },
    Magic {
        prefix: b"%PDF-",
        media_type: "application/pdf",
        executable: false,
    },
    Magic {
        prefix: b"PK\x03\x04",
        media_type: "application/zip",
        executable: false,
    },
];

/// Declared types whose bytes must agree (a `.pdf` that is not a PDF is refused).
const SNIFFED_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "application/pdf",
    "application/zip",
];

/// The format the bytes start with, if IRISX knows it.
fn sniff(bytes: &[u8]) -> Option<Magic> {
    MAGIC.iter().copied().find(|m| bytes.starts_with(m.prefix))
}

/// Checks the parts and returns them as stored, or pushes every bad field.
pub(crate) fn check_parts(c: &mut Checks, input: &PartsInput) -> Option<EmailContent> {
    let from = c.check(Address::parse("from", &input.from));
    let (to, cc, bcc) = (
        addresses(c, "to", &input.to),
        addresses(c, "cc", &input.cc),
        addresses(c, "bcc", &input.bcc),
    );
    if input.to.is_empty() {
        c.push(FieldError::new("to", "required", "give at least one recipient"));
    }
    if input.to.len() + input.cc.len() + input.bcc.len() > MAX_RECIPIENTS {
        c.push(FieldError::new(
            "to",
            "too_many",
            format!("at most {MAX_RECIPIENTS} recipients in to, cc and bcc"),
        ));
    }
    let reply_to = input
        .reply_to
        .as_deref()
        .and_then(|r| c.check(Address::parse("reply_to", r)));
    let subject = input.subject.trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS || subject.contains(['\r', '\n']) {
        c.push(FieldError::new(
            "subject",
            "invalid_subject",
            "1 to 998 characters on one line",
        ));
    }
    if input.html.as_deref().is_none_or(str::is_empty) && input.text.as_deref().is_none_or(str::is_empty) {
        c.push(FieldError::new(
            "text",
            "required",
            "give an html or a text part (or a template)",
        ));
    }
    for (name, part) in [("html", &input.html), ("text", &input.text)] {
        if part.as_ref().is_some_and(|p| p.len() > MAX_PART_BYTES) {
            c.push(FieldError::new(
                name,
                "too_large",
                format!("at most {MAX_PART_BYTES} bytes"),
            ));
        }
    }
    if input.headers.len() > MAX_HEADERS {
        c.push(FieldError::new(
            "headers",
            "too_many",
            format!("at most {MAX_HEADERS} headers"),
        ));
    }
    let headers: Vec<Header> = input.headers.iter().filter_map(|h| header_ok(c, h)).collect();
    if input.attachments.len() > MAX_ATTACHMENTS {
        c.push(FieldError::new(
            "attachments",
            "too_many",
            format!("at most {MAX_ATTACHMENTS} attachments"),
        ));
    }
    let attachments: Vec<StoredAttachment> = input
        .attachments
        .iter()
        .enumerate()
        .filter_map(|(i, a)| attachment_ok(c, i, a))
        .collect();
    if attachments.iter().map(|a| a.size as usize).sum::<usize>() > MAX_ATTACHMENT_BYTES {
        c.push(FieldError::new(
            "attachments",
            "too_large",
            format!("at most {MAX_ATTACHMENT_BYTES} bytes in all"),
        ));
    }
    Some(EmailContent {
        from: from?,
        to,
        cc,
        bcc,
        reply_to,
        subject: subject.to_owned(),
        html: input.html.clone().filter(|h| !h.is_empty()),
        text: input.text.clone().filter(|t| !t.is_empty()),
        headers,
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PartsInput {
        PartsInput {
            from: "Acme <noreply@acme.example>".into(),
            to: vec!["ann@example.com".into()],
            subject: "Hello".into(),
            text: Some("Hi".into()),
            ..Default::default()
        }
    }

    fn errors(i: &PartsInput) -> Vec<(String, String)> {
        let mut c = Checks::new();
        check_parts(&mut c, i);
        match c.finish() {
            Ok(()) => Vec::new(),
            Err(crate::CoreError::Validation(v)) => v.into_iter().map(|e| (e.field, e.code)).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    fn with_attachment(filename: &str, content_type: &str, bytes: &[u8]) -> PartsInput {
        PartsInput {
            attachments: vec![AttachmentInput {
                filename: filename.into(),
                content_type: content_type.into(),
                content_base64: B64.encode(bytes),
            }],
            ..input()
        }
    }

    #[rstest::rstest]
    #[case::a_windows_program_named_as_text(
        "notes.txt",
        "text/plain",
        b"MZ\x90\x00\x03",
        "attachments[0].content",
        "blocked_file_type"
    )]
    #[case::a_linux_program(
        "data.bin",
        "application/octet-stream",
        b"\x7fELF\x02\x01",
        "attachments[0].content",
        "blocked_file_type"
    )]
    #[case::a_script(
        "run.txt",
        "text/plain",
        b"#!/bin/sh\nrm -rf /",
        "attachments[0].content",
        "blocked_file_type"
    )]
    #[case::text_declared_as_pdf(
        "invoice.pdf",
        "application/pdf",
        b"hello",
        "attachments[0].content_type",
        "content_type_mismatch"
    )]
    #[case::a_jpeg_declared_as_png(
        "a.png",
        "image/png",
        b"\xff\xd8\xff\xe0",
        "attachments[0].content_type",
        "content_type_mismatch"
    )]
    fn an_attachment_whose_bytes_are_a_program_or_contradict_its_type_is_refused(
        #[case] filename: &str,
        #[case] content_type: &str,
        #[case] bytes: &[u8],
        #[case] field: &str,
        #[case] code: &str,
    ) {
        assert_eq!(
            errors(&with_attachment(filename, content_type, bytes)),
            vec![(field.to_owned(), code.to_owned())]
        );
    }

    #[rstest::rstest]
    #[case::a_real_png("a.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00")]
    #[case::a_real_pdf("a.pdf", "application/pdf", b"%PDF-1.7\n")]
    #[case::plain_text("a.txt", "text/plain", b"hello")]
    #[case::unknown_bytes_of_an_unchecked_type("a.csv", "text/csv", b"a,b\n1,2")]
    fn an_attachment_whose_bytes_agree_with_its_type_passes(
        #[case] filename: &str,
        #[case] content_type: &str,
        #[case] bytes: &[u8],
    ) {
        assert!(errors(&with_attachment(filename, content_type, bytes)).is_empty());
    }

    #[test]
    fn a_plain_email_passes() {
        assert!(errors(&input()).is_empty());
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let mut i = input();
        i.to = vec!["ann@example.com".into(), "nope".into()];
        i.subject = "two\nlines".into();
        i.headers = vec![("Subject".into(), "x".into()), ("X-Ok".into(), "fine".into())];
        i.attachments = vec![AttachmentInput {
            filename: "setup.exe".into(),
            content_type: "application/octet-stream".into(),
            content_base64: "TVo=".into(),
        }];
        let got = errors(&i);
        for want in [
            ("to[1]", "invalid_email"),
            ("subject", "invalid_subject"),
            ("headers.Subject", "reserved_header"),
            ("attachments[0].filename", "blocked_file_type"),
            ("attachments[0].content", "blocked_file_type"),
        ] {
            assert!(got.contains(&(want.0.into(), want.1.into())), "{want:?} not in {got:?}");
        }
        assert_eq!(got.len(), 5, "{got:?}");
    }

    #[test]
    fn recipients_and_attachments_have_size_limits() {
        let mut i = input();
        i.bcc = (0..MAX_RECIPIENTS).map(|n| format!("r{n}@example.com")).collect();
        i.text = Some("x".repeat(MAX_PART_BYTES + 1));
        let got = errors(&i);
        assert!(got.contains(&("to".into(), "too_many".into())), "{got:?}");
        assert!(got.contains(&("text".into(), "too_large".into())), "{got:?}");
    }
}
