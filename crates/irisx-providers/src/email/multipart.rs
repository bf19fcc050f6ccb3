//! Reading `multipart/form-data` bodies (RFC 7578), as the inbound-parse webhooks of SendGrid and Mailgun post
//! them, and header blocks (RFC 5322) as SendGrid passes them. Writing them is reqwest's job.

use bytes::Bytes;
use irisx_core::email::provider::CallbackError;

/// One field or file of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The field name.
    pub name: String,
    /// The file name, for file parts.
    pub filename: Option<String>,
    /// The part's media type, when given.
    pub content_type: Option<String>,
    /// The content.
    pub data: Bytes,
}

impl Part {
    /// The content as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

fn malformed(why: &str) -> CallbackError {
    CallbackError::Malformed(format!("not a multipart/form-data body: {why}"))
}

/// A parameter of a header value such as `multipart/form-data; boundary=x` or `form-data; name="a"`.
pub fn param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Splits a form body into its parts; `content_type` is the request's `Content-Type` (it carries the boundary).
pub fn parse(content_type: Option<&str>, body: &Bytes) -> Result<Vec<Part>, CallbackError> {
    let ct = content_type.ok_or_else(|| malformed("no Content-Type"))?;
    if !ct.trim().to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(malformed("the Content-Type is not multipart/form-data"));
    }
    let boundary = param(ct, "boundary").ok_or_else(|| malformed("no boundary"))?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = &body[find(body, &delimiter).ok_or_else(|| malformed("no opening boundary"))?..];
    loop {
        rest = &rest[delimiter.len()..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let rest_start = body.len() - rest.len();
        let end = find(rest, &delimiter).ok_or_else(|| malformed("a part has no closing boundary"))?;
        parts.push(part(body.slice(rest_start..rest_start + end))?);
        rest = &rest[end..];
    }
}

fn part(raw: Bytes) -> Result<Part, CallbackError> {
    let raw = if raw.starts_with(b"\r\n") { raw.slice(2..) } else { raw };
    let split = find(&raw, b"\r\n\r\n").ok_or_else(|| malformed("a part has no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut data = raw.slice(split + 4..);
    if data.ends_with(b"\r\n") {
        data = data.slice(..data.len() - 2);
    }
    let headers = header_block(&head);
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let disposition = get("content-disposition").ok_or_else(|| malformed("a part has no Content-Disposition"))?;
    Ok(Part {
        name: param(&disposition, "name").ok_or_else(|| malformed("a part has no name"))?,
        filename: param(&disposition, "filename"),
        content_type: get("content-type"),
        data,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads an RFC 5322 header block: one `(name, value)` per header, folded lines joined.
pub fn header_block(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

/// The text of the first field called `name`.
pub fn field(parts: &[Part], name: &str) -> Option<String> {
    parts
        .iter()
        .find(|p| p.name == name && p.filename.is_none())
        .map(Part::text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_files_are_read_with_their_names_and_types() {
        let body = Bytes::from_static(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nHello \xc3\xa9\r\n\
              --XyZ\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"a.txt\"\r\n\
              Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n",
        );
        let parts = parse(Some("multipart/form-data; boundary=XyZ"), &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(field(&parts, "subject").as_deref(), Some("Hello é"));
        assert_eq!(parts[1].filename.as_deref(), Some("a.txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(&parts[1].data[..], b"line1\r\nline2");
    }

    #[test]
    fn a_body_without_its_boundary_is_refused() {
        let body = Bytes::from_static(b"subject=hello");
        assert!(parse(Some("multipart/form-data; boundary=XyZ"), &body).is_err());
        assert!(parse(Some("application/json"), &body).is_err());
    }

    #[test]
    fn folded_header_lines_are_joined() {
        let h = header_block("Subject: a\r\n long one\r\nTo: b@example.com\r\n");
        assert_eq!(
            h,
            vec![
                ("Subject".into(), "a long one".into()),
                ("To".into(), "b@example.com".into())
            ]
        );
    }
}
