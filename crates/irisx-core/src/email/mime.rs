//! Reading a raw MIME message (RFC 5322, as an MTA or a vendor's "raw" mode hands it over) into an
//! [`InboundEmail`]: the sender, the recipients, the subject, the text and HTML parts as the message has them
//! (never one made up from the other), every header, and the attachments with their bytes.

use bytes::Bytes;
use mail_parser::{Addr, MessageParser, MessagePart, MimeHeaders};
use serde_json::json;

use super::model::{Attachment, InboundEmail};

/// Reads `raw`. `envelope_to` are the addresses the mail was delivered for; when empty, the `To` and `Cc`
/// headers stand in. `Err` says why the bytes are not an email.
pub fn parse(raw: &[u8], envelope_to: &[String]) -> Result<InboundEmail, String> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| "the body is not a MIME message".to_owned())?;
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(mailbox)
        .ok_or_else(|| "the message has no From address".to_owned())?;
    let to = if envelope_to.is_empty() {
        message
            .to()
            .into_iter()
            .chain(message.cc())
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address().map(str::to_owned))
            .collect()
    } else {
        envelope_to.to_vec()
    };
    // A part without a Content-Type is text/plain (RFC 2045 §5.2).
    let body = |part: Option<&MessagePart>, subtype: &str| {
        part.filter(|p| p.is_content_type("text", subtype) || (subtype == "plain" && p.content_type().is_none()))
            .and_then(|p| p.text_contents())
            .map(str::to_owned)
    };
    let attachments = message
        .attachments()
        .enumerate()
        .map(|(i, part)| Attachment {
            filename: part
                .attachment_name()
                .map_or_else(|| format!("attachment-{}", i + 1), str::to_owned),
            content_type: part.content_type().map_or_else(
                || "application/octet-stream".to_owned(),
                |ct| match ct.subtype() {
                    Some(sub) => format!("{}/{sub}", ct.ctype()).to_ascii_lowercase(),
                    None => ct.ctype().to_ascii_lowercase(),
                },
            ),
            content: Bytes::copy_from_slice(part.contents()),
        })
        .collect();
    Ok(InboundEmail {
        provider_message_id: message.message_id().map(str::to_owned),
        from,
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        text: body(message.text_part(0), "plain"),
        html: body(message.html_part(0), "html"),
        headers: message
            .headers_raw()
            .map(|(name, value)| (name.to_owned(), value.trim().to_owned()))
            .collect(),
        attachments,
        raw: json!({"format": "mime", "size": raw.len()}),
    })
}

/// `Name <address>`, or the bare address.
fn mailbox(a: &Addr) -> Option<String> {
    let address = a.address()?;
    Some(match a.name() {
        Some(name) if !name.is_empty() => format!("\"{}\" <{address}>", name.replace(['"', '\\'], "")),
        _ => address.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = b"From: =?UTF-8?B?Wm/Dqw==?= <zoe@example.org>\r\n\
To: support@acme.example\r\n\
Cc: Bob <bob@acme.example>\r\n\
Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n\
Message-ID: <abc@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: multipart/alternative; boundary=\"b2\"\r\n\
\r\n\
--b2\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello there\r\n\
--b2\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>Hello there</p>\r\n\
--b2--\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"report.pdf\"\r\n\
Content-Disposition: attachment; filename=\"report.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjcK\r\n\
--b1--\r\n";

    #[test]
    fn a_multipart_message_is_read_into_its_parts() {
        let e = parse(RAW, &[]).unwrap();
        assert_eq!(e.from, "\"Zoë\" <zoe@example.org>");
        assert_eq!(e.to, vec!["support@acme.example", "bob@acme.example"]);
        assert_eq!(e.subject, "Café");
        assert_eq!(e.provider_message_id.as_deref(), Some("abc@example.org"));
        assert_eq!(e.text.as_deref().map(str::trim), Some("Hello there"));
        assert_eq!(e.html.as_deref().map(str::trim), Some("<p>Hello there</p>"));
        assert_eq!(e.attachments.len(), 1);
        assert_eq!(e.attachments[0].filename, "report.pdf");
        assert_eq!(e.attachments[0].content_type, "application/pdf");
        assert_eq!(&e.attachments[0].content[..], b"%PDF-1.7\n");
        assert!(
            e.headers
                .iter()
                .any(|(n, v)| n == "Message-ID" && v == "<abc@example.org>")
        );
    }

    #[test]
    fn the_envelope_recipients_win_over_the_headers() {
        let e = parse(RAW, &["sales@acme.example".into()]).unwrap();
        assert_eq!(e.to, vec!["sales@acme.example"]);
    }

    #[test]
    fn a_text_only_message_has_no_html_made_up() {
        let e = parse(b"From: a@example.org\r\nSubject: hi\r\n\r\njust text\r\n", &[]).unwrap();
        assert_eq!(e.text.as_deref().map(str::trim), Some("just text"));
        assert_eq!(e.html, None);
        assert!(e.attachments.is_empty());
    }

    #[test]
    fn bytes_without_a_sender_are_refused() {
        assert!(parse(b"", &[]).is_err());
        assert!(parse(b"Subject: no sender\r\n\r\nbody", &[]).is_err());
    }
}
