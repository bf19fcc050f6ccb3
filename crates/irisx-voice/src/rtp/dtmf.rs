//! RFC 4733 telephone events: the 4-byte payload, a receiver that reports each key press once (the end packet
//! is sent three times; they share the event's RTP timestamp), and the packets that send one digit.

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// Event code: 0-9, 10 `*`, 11 `#`, 12-15 `A`-`D`.
    pub event: u8,
    /// The E bit: the last packet(s) of the event.
    pub end: bool,
    /// Volume in -dBm0.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl DtmfEvent {
    /// Parses a payload; `None` when it is shorter than four bytes.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let b = payload.get(..4)?;
        Some(DtmfEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The payload bytes.
    pub fn write(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [self.event, (u8::from(self.end) << 7) | (self.volume & 0x3F), d[0], d[1]]
    }
}

/// The key of an event code.
pub fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The event code of a key.
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// Turns a stream of telephone-event packets into key presses, each reported once.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    last_reported: Option<u32>,
}

impl DtmfReceiver {
    /// Feeds one packet (its RTP timestamp and payload); returns the key when this packet ends a new event.
    pub fn push(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let ev = DtmfEvent::parse(payload)?;
        if !ev.end || self.last_reported == Some(timestamp) {
            return None;
        }
        self.last_reported = Some(timestamp);
        event_to_digit(ev.event)
    }
}

/// The payloads (with their marker flags) that send one key of `duration_ms`: one packet per 20 ms, then the
/// end packet three times, as RFC 4733 §2.5.1.4 recommends. All share one RTP timestamp.
pub fn digit_packets(digit: char, duration_ms: u16) -> Option<Vec<(bool, [u8; 4])>> {
    let event = digit_to_event(digit)?;
    let steps = (duration_ms / 20).max(1);
    let mut out = Vec::new();
    for i in 1..=steps {
        let ev = DtmfEvent {
            event,
            end: false,
            volume: 10,
            duration: i * 160,
        };
        out.push((i == 1, ev.write()));
    }
    let end = DtmfEvent {
        event,
        end: true,
        volume: 10,
        duration: steps * 160,
    };
    out.extend(std::iter::repeat_n((false, end.write()), 3));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_payload_decodes_its_fields() {
        let ev = DtmfEvent::parse(&[0x01, 0x8a, 0x08, 0xc0]).unwrap();
        assert_eq!(
            ev,
            DtmfEvent {
                event: 1,
                end: true,
                volume: 10,
                duration: 2240
            }
        );
        assert_eq!(DtmfEvent::parse(&ev.write()), Some(ev));
        assert_eq!(DtmfEvent::parse(&[1, 2]), None);
    }

    #[test]
    fn a_key_press_is_reported_once_despite_the_repeated_end_packets() {
        let mut rx = DtmfReceiver::default();
        let packets = digit_packets('5', 100).unwrap();
        let keys: Vec<char> = packets.iter().filter_map(|(_, p)| rx.push(1000, p)).collect();
        assert_eq!(keys, vec!['5']);
        // The same key pressed again is a new event with a new timestamp.
        let again: Vec<char> = packets.iter().filter_map(|(_, p)| rx.push(3000, p)).collect();
        assert_eq!(again, vec!['5']);
    }

    #[test]
    fn every_key_maps_to_its_event_and_back() {
        for key in "0123456789*#ABCD".chars() {
            assert_eq!(event_to_digit(digit_to_event(key).unwrap()), Some(key));
        }
        assert_eq!(digit_to_event('x'), None);
        assert_eq!(event_to_digit(16), None);
    }
}
