//! Event Socket framing. A frame is a block of `Name: value` lines ended by a blank line, then exactly
//! `Content-Length` bytes of body. A `text/event-plain` body is itself a header block (values URL-encoded) with
//! an optional body of its own (a `BACKGROUND_JOB`'s result). Everything here is bounded: a header block longer
//! than [`MAX_HEADER_BLOCK`] or a body longer than [`MAX_BODY`] is refused, and no input makes it panic.

use bytes::{Buf, Bytes, BytesMut};

/// The longest header block accepted (FreeSWITCH's outer blocks are a few lines).
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// The longest body accepted (an event with every channel variable is tens of kilobytes).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Why bytes are not a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// No blank line within [`MAX_HEADER_BLOCK`] bytes.
    #[error("header block longer than {MAX_HEADER_BLOCK} bytes")]
    HeaderTooLong,
    /// A `Content-Length` that is not a number, or longer than what follows inside an event.
    #[error("bad Content-Length {0:?}")]
    BadLength(String),
    /// A `Content-Length` over [`MAX_BODY`].
    #[error("Content-Length {0} is over the limit of {MAX_BODY} bytes")]
    BodyTooLong(usize),
    /// A header line without a colon.
    #[error("header line without a colon")]
    BadHeader,
}

/// Header lines in their order; names are compared without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One frame from the socket.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The outer headers (not URL-encoded).
    pub headers: Headers,
    /// The body, `Content-Length` bytes.
    pub body: Bytes,
}

impl Frame {
    /// `Content-Type`, or an empty string.
    pub fn content_type(&self) -> &str {
        self.headers.get("Content-Type").unwrap_or("")
    }

    /// What the frame says: `Reply-Text` of a `command/reply`, else the body's text, trimmed.
    pub fn reply(&self) -> String {
        match self.headers.get("Reply-Text") {
            Some(text) => text.trim().to_owned(),
            None => String::from_utf8_lossy(&self.body).trim().to_owned(),
        }
    }
}

/// An event from a `text/event-plain` body.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// The event's headers, URL-decoded.
    pub headers: Headers,
    /// The event's own body (a background job's result), when it has one.
    pub body: String,
}

impl Event {
    /// A header's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// `Event-Name`, or an empty string.
    pub fn name(&self) -> &str {
        self.get("Event-Name").unwrap_or("")
    }
}

/// Takes one whole frame off the front of `buf`; `None` when more bytes are needed.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
    // Stray line breaks between frames carry nothing.
    let blank = buf.iter().take_while(|b| matches!(b, b'\n' | b'\r')).count();
    buf.advance(blank);
    let Some((end, sep)) = blank_line(buf) else {
        return if buf.len() > MAX_HEADER_BLOCK {
            Err(FrameError::HeaderTooLong)
        } else {
            Ok(None)
        };
    };
    let headers = parse_headers(&buf[..end], false)?;
    let length = content_length(&headers)?;
    if buf.len() < end + sep + length {
        return Ok(None);
    }
    buf.advance(end + sep);
    let body = buf.split_to(length).freeze();
    Ok(Some(Frame { headers, body }))
}

/// Parses a `text/event-plain` body.
pub fn parse_event(body: &[u8]) -> Result<Event, FrameError> {
    let (head, rest) = match blank_line(body) {
        Some((end, sep)) => (&body[..end], &body[end + sep..]),
        None => (body, &body[body.len()..]),
    };
    let headers = parse_headers(head, true)?;
    let length = content_length(&headers)?;
    let inner = rest
        .get(..length)
        .ok_or_else(|| FrameError::BadLength(length.to_string()))?;
    Ok(Event {
        headers,
        body: String::from_utf8_lossy(inner).into_owned(),
    })
}

/// Decodes `%XX` escapes (FreeSWITCH encodes spaces, colons, `+` and the like in event headers); a malformed
/// escape is kept as it is.
pub fn url_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the header block ends: the offset of its last line break and the separator's length (`\n\n` or
/// `\n\r\n`), looking no further than [`MAX_HEADER_BLOCK`].
fn blank_line(buf: &[u8]) -> Option<(usize, usize)> {
    let window = &buf[..buf.len().min(MAX_HEADER_BLOCK + 3)];
    window.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        match (window.get(i + 1), window.get(i + 2)) {
            (Some(b'\n'), _) => Some((i, 2)),
            (Some(b'\r'), Some(b'\n')) => Some((i, 3)),
            _ => None,
        }
    })
}

fn parse_headers(block: &[u8], decode: bool) -> Result<Headers, FrameError> {
    let text = String::from_utf8_lossy(block);
    let mut headers = Vec::new();
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(FrameError::BadHeader)?;
        let value = value.trim_start();
        let value = if decode { url_decode(value) } else { value.to_owned() };
        headers.push((name.trim().to_owned(), value));
    }
    Ok(Headers(headers))
}

fn content_length(headers: &Headers) -> Result<usize, FrameError> {
    let Some(raw) = headers.get("Content-Length") else {
        return Ok(0);
    };
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FrameError::BadLength(raw.chars().take(32).collect()));
    }
    let length: usize = raw.parse().map_err(|_| FrameError::BadLength(raw.to_owned()))?;
    if length > MAX_BODY {
        return Err(FrameError::BodyTooLong(length));
    }
    Ok(length)
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
