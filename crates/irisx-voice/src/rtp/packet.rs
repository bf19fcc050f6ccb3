//! The RTP fixed header (RFC 3550 §5.1): parsed from and written to datagrams by hand. It is twelve bytes plus
//! CSRCs and an optional extension; parsing checks every length, so a hostile datagram is an error, never a panic.

/// A parsed RTP packet borrowing its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit (start of a talkspurt, or the first packet of a DTMF event).
    pub marker: bool,
    /// Payload type (0 PCMU, 8 PCMA, the negotiated telephone-event type ...).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp (8 kHz units for G.711).
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// The payload after header, CSRCs, extension and without padding.
    pub payload: &'a [u8],
}

/// Why a datagram is not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpParseError {
    /// Shorter than its header says.
    #[error("truncated RTP packet")]
    Truncated,
    /// Not RTP version 2.
    #[error("not RTP version 2")]
    Version,
}

const HEADER_LEN: usize = 12;

impl<'a> RtpPacket<'a> {
    /// Parses one datagram.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpParseError> {
        if buf.len() < HEADER_LEN {
            return Err(RtpParseError::Truncated);
        }
        if buf[0] >> 6 != 2 {
            return Err(RtpParseError::Version);
        }
        let padding = buf[0] & 0x20 != 0;
        let extension = buf[0] & 0x10 != 0;
        let csrc_count = usize::from(buf[0] & 0x0F);
        let mut start = HEADER_LEN + 4 * csrc_count;
        if extension {
            let ext = buf.get(start..start + 4).ok_or(RtpParseError::Truncated)?;
            start += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        }
        let mut end = buf.len();
        if padding {
            let pad = usize::from(*buf.last().ok_or(RtpParseError::Truncated)?);
            end = end.checked_sub(pad).ok_or(RtpParseError::Truncated)?;
        }
        if start > end {
            return Err(RtpParseError::Truncated);
        }
        Ok(RtpPacket {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7F,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
            payload: &buf[start..end],
        })
    }

    /// Writes the packet (no CSRCs, no extension, no padding).
    pub fn write(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        out.push(0x80);
        out.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(self.payload);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_packet_parses_back_to_the_same_fields() {
        let p = RtpPacket {
            marker: true,
            payload_type: 8,
            sequence: 65535,
            timestamp: 160,
            ssrc: 0xDEADBEEF,
            payload: &[1, 2, 3],
        };
        assert_eq!(RtpPacket::parse(&p.write()).unwrap(), p);
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let mut buf = vec![0xB1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        buf.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        buf.extend_from_slice(&[0xBE, 0xDE, 0, 1, 7, 7, 7, 7]); // extension of one word
        buf.extend_from_slice(&[0xAA, 0xBB, 0, 2]); // payload, then two bytes of padding
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.payload, &[0xAA, 0xBB]);
        assert_eq!((p.sequence, p.timestamp, p.ssrc), (1, 2, 3));
    }

    #[test]
    fn short_or_foreign_datagrams_are_errors() {
        assert_eq!(RtpPacket::parse(&[0x80; 5]), Err(RtpParseError::Truncated));
        assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpParseError::Version));
        // A CSRC count larger than the datagram.
        assert_eq!(
            RtpPacket::parse(&[0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(RtpParseError::Truncated)
        );
        // Padding longer than the packet.
        let mut buf = vec![0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200];
        buf[0] = 0xA0;
        assert_eq!(RtpPacket::parse(&buf), Err(RtpParseError::Truncated));
    }
}
