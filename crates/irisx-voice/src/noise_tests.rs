//! Random input into every parser that faces the network or a tenant: none may panic.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::rtp::dtmf::{DtmfEvent, DtmfReceiver};
use crate::rtp::jitter::JitterBuffer;
use crate::rtp::packet::RtpPacket;
use crate::rtp::rtcp;

fn noise(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.random_range(0..300);
    let mut buf: Vec<u8> = (0..len).map(|_| rng.random()).collect();
    // Half the time, look like RTP/RTCP version 2 so parsing gets past the first check.
    if rng.random_bool(0.5)
        && let Some(b) = buf.first_mut()
    {
        *b = 0x80 | (*b & 0x3F);
    }
    buf
}

#[test]
fn random_datagrams_never_panic_the_rtp_rtcp_and_dtmf_parsers() {
    let mut rng = StdRng::seed_from_u64(4733);
    let mut dtmf = DtmfReceiver::default();
    let mut jitter = JitterBuffer::new(4);
    for _ in 0..20_000 {
        let buf = noise(&mut rng);
        if let Ok(p) = RtpPacket::parse(&buf) {
            dtmf.push(p.timestamp, p.payload);
            jitter.push(p.sequence, p.payload.len());
        }
        rtcp::parse_reports(&buf);
        DtmfEvent::parse(&buf);
    }
}

#[test]
fn random_text_never_panics_the_sdp_and_document_parsers() {
    let mut rng = StdRng::seed_from_u64(3264);
    let pieces = [
        "v=0\r\n",
        "c=IN IP4 127.0.0.1\r\n",
        "c=IN IP6 ::1\r\n",
        "m=audio ",
        "RTP/AVP ",
        "0 8 101",
        "\r\n",
        "a=rtpmap:101 telephone-event/8000\r\n",
        "<Response>",
        "</Response>",
        "<Gather numDigits=\"",
        "\">",
        "<Say>",
        "</Say>",
        "<Dial>",
        "<Client>",
        "&amp;",
        "\u{0}",
        "99999999999",
        "-1",
        " ",
        "/",
    ];
    for _ in 0..20_000 {
        let text: String = (0..rng.random_range(0..12))
            .map(|_| pieces[rng.random_range(0..pieces.len())])
            .collect();
        if let Ok(remote) = crate::sdp::parse(&text) {
            remote.negotiate().ok();
        }
        crate::control::parse(&text).ok();
    }
}
