//! The framing parser against FreeSWITCH's own frames, split reads, absurd lengths and random bytes.

use super::*;

const BACKGROUND_JOB: &str = "Content-Length: 235\nContent-Type: text/event-plain\n\n\
Job-UUID: 7f4db78a-17d7-11dd-b7a0-db4edd065621\n\
Job-Command: originate\n\
Job-Command-Arg: sofia/gateway/gw1/15551234567%20%26park()\n\
Event-Name: BACKGROUND_JOB\n\
Event-Date-Local: 2026-11-25%2010%3A00%3A00\n\
Content-Length: 15\n\n\
-ERR USER_BUSY\n";

fn frames(input: &[u8]) -> Vec<Frame> {
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(frame) = decode(&mut buf).unwrap() {
        out.push(frame);
    }
    out
}

#[test]
fn a_command_reply_and_an_api_response_are_read_with_their_bodies() {
    let input = b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n\
Content-Type: api/response\nContent-Length: 4\n\n+OK\n";
    let got = frames(input);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].content_type(), "command/reply");
    assert_eq!(got[0].reply(), "+OK accepted");
    assert_eq!(got[1].content_type(), "api/response");
    assert_eq!(&got[1].body[..], b"+OK\n");
}

#[test]
fn an_event_body_is_url_decoded_and_keeps_its_own_body() {
    let frame = frames(BACKGROUND_JOB.as_bytes()).remove(0);
    assert_eq!(frame.body.len(), 235);
    let event = parse_event(&frame.body).unwrap();
    assert_eq!(event.name(), "BACKGROUND_JOB");
    assert_eq!(event.get("job-uuid"), Some("7f4db78a-17d7-11dd-b7a0-db4edd065621"));
    assert_eq!(
        event.get("Job-Command-Arg"),
        Some("sofia/gateway/gw1/15551234567 &park()")
    );
    assert_eq!(event.get("Event-Date-Local"), Some("2026-11-25 10:00:00"));
    assert_eq!(event.body, "-ERR USER_BUSY\n");
}

#[test]
fn a_frame_split_across_reads_waits_for_its_last_byte() {
    let mut buf = BytesMut::new();
    let bytes = BACKGROUND_JOB.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        let got = decode(&mut buf).unwrap();
        assert_eq!(got.is_some(), i == bytes.len() - 1, "at byte {i}");
    }
    assert!(buf.is_empty());
}

#[test]
fn absurd_or_malformed_lengths_are_refused_before_any_body_is_buffered() {
    let refused = |input: &str| decode(&mut BytesMut::from(input.as_bytes())).unwrap_err();
    assert!(matches!(
        refused("Content-Length: 99999999999\n\n"),
        FrameError::BodyTooLong(_)
    ));
    assert!(matches!(refused("Content-Length: -1\n\n"), FrameError::BadLength(_)));
    assert!(matches!(refused("Content-Length: 1e9\n\n"), FrameError::BadLength(_)));
    assert!(matches!(refused("no colon here\n\n"), FrameError::BadHeader));
    let endless = "X-Pad: ".to_owned() + &"a".repeat(MAX_HEADER_BLOCK + 10);
    assert!(matches!(refused(&endless), FrameError::HeaderTooLong));
    assert!(matches!(
        parse_event(b"Event-Name: X\nContent-Length: 50\n\nshort"),
        Err(FrameError::BadLength(_))
    ));
}

#[test]
fn url_decoding_keeps_malformed_escapes_literally() {
    assert_eq!(url_decode("%2B15551234567"), "+15551234567");
    assert_eq!(url_decode("100%"), "100%");
    assert_eq!(url_decode("%zz%4"), "%zz%4");
    assert_eq!(url_decode("%+f"), "%+f");
    assert_eq!(url_decode("a%20b%3Ac"), "a b:c");
}

/// A small deterministic generator, so a failing input can be reproduced from its seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random input skewed towards the bytes the parser branches on, so it gets past the first line.
fn garbage(rng: &mut XorShift) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"Content-Length: ",
        b"Content-Type: text/event-plain",
        b"\n",
        b"\n\n",
        b"\r\n",
        b":",
        b"%",
        b"%4",
        b"%zz",
        b"12",
        b"99999999999999999999",
        b"Event-Name: DTMF",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.below(40) {
        if rng.below(3) == 0 {
            out.push(rng.next() as u8);
        } else {
            out.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
    }
    out
}

#[test]
fn random_bytes_never_panic_the_parser_and_every_frame_fits_its_input() {
    for seed in 1..=20_000u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let input = garbage(&mut rng);
        let mut buf = BytesMut::new();
        let mut consumed = 0;
        // Fed in random chunk sizes, as a socket would deliver it.
        let mut rest = &input[..];
        while !rest.is_empty() {
            let take = 1 + rng.below(rest.len());
            buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            loop {
                let before = buf.len();
                match decode(&mut buf) {
                    Ok(Some(frame)) => {
                        consumed += before - buf.len();
                        assert!(frame.body.len() <= MAX_BODY);
                        let _ = parse_event(&frame.body);
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }
        assert!(consumed <= input.len(), "seed {seed}");
        let _ = parse_event(&input);
    }
}
