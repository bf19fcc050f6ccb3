//! What IRISX keeps of an outbound email besides its `messages` row: the addresses, subject, parts, headers
//! and attachments, stored as one JSON document and turned back into an [`OutboundEmail`] by the worker.
//!
//! Addresses are parsed here, at the edge (`ann@example.com` or `Ann Example <ann@example.com>`); once
//! stored they are valid.

use serde::{Deserialize, Serialize};

use super::model::{Attachment, Mailbox, OutboundEmail};
use crate::error::FieldError;
use crate::id::ObjectId;
use crate::validate::EmailAddress;

/// An address with an optional display name, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Address {
    /// The address, lower-cased.
    pub email: String,
    /// The display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Address {
    /// Parses `addr` or `Name <addr>` for the field named `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        let (name, addr) = match (text.rfind('<'), text.strip_suffix('>')) {
            (Some(open), Some(inner)) => {
                let name = text[..open].trim().trim_matches('"').trim();
                (Some(name).filter(|n| !n.is_empty()), &inner[open + 1..])
            }
            _ => (None, text),
        };
        if name.is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control)) {
            return Err(FieldError::new(
                field,
                "invalid_name",
                "the display name must be at most 200 characters without control characters",
            ));
        }
        let address = EmailAddress::parse(field, addr)?;
        Ok(Self {
            email: address.as_str().to_owned(),
            name: name.map(str::to_owned),
        })
    }

    /// The domain after `@`.
    pub fn domain(&self) -> &str {
        self.email.rsplit('@').next().unwrap_or_default()
    }

    fn mailbox(&self) -> Result<Mailbox, FieldError> {
        Ok(Mailbox {
            name: self.name.clone(),
            address: EmailAddress::parse("address", &self.email)?,
        })
    }
}

/// One extra MIME header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// An attached file: its bytes are a stored object once the email is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttachment {
    /// File name.
    pub filename: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// The object holding the bytes (`GET /v1/objects/{id}/url` downloads it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<ObjectId>,
    /// The bytes, base64, while the request is checked, before they are stored as an object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
}

/// Everything of an outbound email that its `messages` row does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailContent {
    /// The sender.
    pub from: Address,
    /// Recipients.
    pub to: Vec<Address>,
    /// Copies.
    #[serde(default)]
    pub cc: Vec<Address>,
    /// Blind copies.
    #[serde(default)]
    pub bcc: Vec<Address>,
    /// Where replies go.
    #[serde(default)]
    pub reply_to: Option<Address>,
    /// Subject.
    pub subject: String,
    /// HTML part.
    #[serde(default)]
    pub html: Option<String>,
    /// Text part.
    #[serde(default)]
    pub text: Option<String>,
    /// Extra headers.
    #[serde(default)]
    pub headers: Vec<Header>,
    /// Attached files.
    #[serde(default)]
    pub attachments: Vec<StoredAttachment>,
}

impl EmailContent {
    /// Every recipient: to, cc and bcc.
    pub fn recipients(&self) -> impl Iterator<Item = &Address> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }

    /// The email as an adapter sends it, under IRISX's message id, with its attachments' bytes.
    pub fn outbound(
        &self,
        message_id: &str,
        tags: &[String],
        attachments: Vec<Attachment>,
    ) -> Result<OutboundEmail, FieldError> {
        let list = |v: &[Address]| v.iter().map(Address::mailbox).collect::<Result<Vec<_>, _>>();
        Ok(OutboundEmail {
            message_id: message_id.to_owned(),
            from: self.from.mailbox()?,
            to: list(&self.to)?,
            cc: list(&self.cc)?,
            bcc: list(&self.bcc)?,
            reply_to: self.reply_to.as_ref().map(Address::mailbox).transpose()?,
            subject: self.subject.clone(),
            html: self.html.clone(),
            text: self.text.clone(),
            attachments,
            headers: self.headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect(),
            tags: tags.to_vec(),
        })
    }
}

/// Whether `text` is a lower-case DNS domain of at least two labels (`example.com`).
pub fn is_domain(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    text.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::a_bare_address("Ann@Example.com", "ann@example.com", None)]
    #[case::a_named_address("Ann Example <ann@example.com>", "ann@example.com", Some("Ann Example"))]
    #[case::a_quoted_name("\"Example, Ann\" <ann@example.com>", "ann@example.com", Some("Example, Ann"))]
    #[case::angle_brackets_alone("<ann@example.com>", "ann@example.com", None)]
    fn an_address_is_read_with_its_display_name(#[case] text: &str, #[case] email: &str, #[case] name: Option<&str>) {
        let a = Address::parse("to", text).unwrap();
        assert_eq!(a.email, email);
        assert_eq!(a.name.as_deref(), name);
        assert_eq!(a.domain(), "example.com");
    }

    #[rstest]
    #[case("")]
    #[case("ann")]
    #[case("Ann <ann@>")]
    #[case("Ann\r\nBcc: x@y.com <ann@example.com>")]
    fn a_bad_address_is_refused_naming_the_field(#[case] text: &str) {
        assert_eq!(Address::parse("to[0]", text).unwrap_err().field, "to[0]");
    }

    #[rstest]
    #[case("example.com", true)]
    #[case("mail.example.co.uk", true)]
    #[case("Example.com", false)]
    #[case("com", false)]
    #[case("-a.com", false)]
    #[case("*", false)]
    fn a_route_domain_is_a_lower_case_dns_name(#[case] text: &str, #[case] ok: bool) {
        assert_eq!(is_domain(text), ok);
    }
}
