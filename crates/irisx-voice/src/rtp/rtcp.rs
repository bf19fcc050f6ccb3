//! RTCP basics (RFC 3550 §6.4): a sender report with one reception report block, sent every few seconds, and
//! a parser that notes what the far end reports. Enough for carriers that expect RTCP and for call quality
//! numbers; no extended reports.

use std::time::{SystemTime, UNIX_EPOCH};

/// What this side has sent and received, for its reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RtpCounters {
    /// RTP packets sent.
    pub packets_sent: u32,
    /// Payload octets sent.
    pub octets_sent: u32,
    /// RTP packets received.
    pub packets_received: u32,
    /// The far end's SSRC, once seen.
    pub remote_ssrc: Option<u32>,
    /// The highest sequence number received (extended).
    pub highest_sequence: u32,
    /// The last RTP timestamp sent.
    pub last_timestamp: u32,
    /// The payload type of the last audio or event packet received.
    pub last_payload_type: Option<u8>,
    /// RTCP sender and receiver reports received from the far end.
    pub rtcp_reports_received: u32,
}

/// A report the far end sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteReport {
    /// The far end's SSRC.
    pub ssrc: u32,
    /// Whether it was a sender report (200) rather than a receiver report (201).
    pub sender: bool,
    /// Packets it says it sent (sender reports only).
    pub packets_sent: Option<u32>,
}

fn ntp_now() -> (u32, u32) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() + 2_208_988_800;
    let frac = (u64::from(now.subsec_nanos()) << 32) / 1_000_000_000;
    (secs as u32, frac as u32)
}

/// A sender report (with one report block when something was received) followed by an SDES CNAME.
pub fn sender_report(ssrc: u32, counters: &RtpCounters, cname: &str) -> Vec<u8> {
    let blocks = u8::from(counters.remote_ssrc.is_some());
    let mut out = Vec::with_capacity(64);
    out.push(0x80 | blocks);
    out.push(200);
    let words: u16 = 6 + 6 * u16::from(blocks);
    out.extend_from_slice(&words.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    let (secs, frac) = ntp_now();
    out.extend_from_slice(&secs.to_be_bytes());
    out.extend_from_slice(&frac.to_be_bytes());
    out.extend_from_slice(&counters.last_timestamp.to_be_bytes());
    out.extend_from_slice(&counters.packets_sent.to_be_bytes());
    out.extend_from_slice(&counters.octets_sent.to_be_bytes());
    if let Some(remote) = counters.remote_ssrc {
        out.extend_from_slice(&remote.to_be_bytes());
        out.extend_from_slice(&[0; 4]); // fraction lost and cumulative loss: not tracked
        out.extend_from_slice(&counters.highest_sequence.to_be_bytes());
        out.extend_from_slice(&[0; 12]); // jitter, LSR, DLSR
    }
    out.extend_from_slice(&sdes_cname(ssrc, cname));
    out
}

fn sdes_cname(ssrc: u32, cname: &str) -> Vec<u8> {
    let name = &cname.as_bytes()[..cname.len().min(255)];
    let mut chunk = ssrc.to_be_bytes().to_vec();
    chunk.push(1);
    chunk.push(name.len() as u8);
    chunk.extend_from_slice(name);
    chunk.push(0);
    while !chunk.len().is_multiple_of(4) {
        chunk.push(0);
    }
    let mut out = vec![0x81, 202];
    out.extend_from_slice(&((chunk.len() / 4) as u16).to_be_bytes());
    out.extend_from_slice(&chunk);
    out
}

/// The sender and receiver reports in a compound RTCP packet; anything malformed ends the walk.
pub fn parse_reports(buf: &[u8]) -> Vec<RemoteReport> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= 8 && rest[0] >> 6 == 2 {
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        // A length word of 0 is a bare header without the SSRC every report starts with.
        let Some(packet) = rest.get(..len).filter(|p| p.len() >= 8) else {
            break;
        };
        let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        match packet[1] {
            200 if packet.len() >= 28 => out.push(RemoteReport {
                ssrc,
                sender: true,
                packets_sent: Some(u32::from_be_bytes([packet[20], packet[21], packet[22], packet[23]])),
            }),
            201 => out.push(RemoteReport {
                ssrc,
                sender: false,
                packets_sent: None,
            }),
            _ => {}
        }
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_report_parses_back_with_its_packet_count() {
        let counters = RtpCounters {
            packets_sent: 42,
            remote_ssrc: Some(7),
            ..Default::default()
        };
        let buf = sender_report(99, &counters, "irisx");
        assert_eq!(buf.len() % 4, 0);
        assert_eq!(
            parse_reports(&buf),
            vec![RemoteReport {
                ssrc: 99,
                sender: true,
                packets_sent: Some(42)
            }]
        );
    }

    #[test]
    fn garbage_yields_no_reports() {
        assert!(parse_reports(&[0x80, 200, 0xFF, 0xFF, 0, 0, 0, 0]).is_empty());
        assert!(parse_reports(&[1, 2, 3]).is_empty());
        assert!(parse_reports(&[0x80, 201, 0, 0, 0x80, 201, 0, 0]).is_empty());
    }
}
