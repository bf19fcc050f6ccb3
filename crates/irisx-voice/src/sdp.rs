//! SDP offer/answer (RFC 3264) for one audio stream: PCMU (0), PCMA (8) and telephone-event. The parser reads
//! only what the engine needs (connection address, audio port, payload types and their rtpmaps) and refuses an
//! offer with no G.711 in common.

use std::net::{IpAddr, SocketAddr};

use crate::g711::Law;
use crate::rtp::Negotiated;

/// Our telephone-event payload type in offers.
pub const DTMF_PT: u8 = 101;

/// The audio description of a remote SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAudio {
    /// Connection address (media level over session level).
    pub addr: IpAddr,
    /// The audio port.
    pub port: u16,
    /// Payload types in the far end's preference order.
    pub payload_types: Vec<u8>,
    /// The dynamic payload type mapped to `telephone-event/8000`, if any.
    pub telephone_event: Option<u8>,
}

/// Why an SDP could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// Missing or unreadable connection line, audio line or port.
    #[error("unusable SDP: {0}")]
    Malformed(&'static str),
    /// No PCMU or PCMA offered.
    #[error("no common codec (PCMU or PCMA)")]
    NoCommonCodec,
}

/// Parses the first audio stream of an SDP body.
pub fn parse(body: &str) -> Result<RemoteAudio, SdpError> {
    let mut session_addr = None;
    let mut media_addr = None;
    let mut audio: Option<(u16, Vec<u8>)> = None;
    let mut telephone_event = None;
    let mut in_audio = false;
    for line in body.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix("c=") {
            let addr = c
                .split_whitespace()
                .nth(2)
                .and_then(|a| a.split('/').next()?.parse::<IpAddr>().ok());
            let addr = addr.ok_or(SdpError::Malformed("connection address"))?;
            if in_audio {
                media_addr = Some(addr)
            } else if audio.is_none() {
                session_addr = Some(addr)
            }
        } else if let Some(m) = line.strip_prefix("m=") {
            in_audio = m.starts_with("audio ") && audio.is_none();
            if in_audio {
                let mut parts = m.split_whitespace().skip(1);
                let port = parts
                    .next()
                    .and_then(|p| p.split('/').next()?.parse().ok())
                    .ok_or(SdpError::Malformed("audio port"))?;
                let pts = parts.skip(1).filter_map(|p| p.parse().ok()).collect();
                audio = Some((port, pts));
            }
        } else if let Some(map) = line.strip_prefix("a=rtpmap:").filter(|_| in_audio) {
            let mut parts = map.split_whitespace();
            let pt = parts.next().and_then(|p| p.parse::<u8>().ok());
            if let (Some(pt), Some(enc)) = (pt, parts.next())
                && enc.to_ascii_lowercase().starts_with("telephone-event/8000")
            {
                telephone_event = Some(pt);
            }
        }
    }
    let (port, payload_types) = audio.ok_or(SdpError::Malformed("no audio stream"))?;
    let addr = media_addr
        .or(session_addr)
        .ok_or(SdpError::Malformed("connection address"))?;
    Ok(RemoteAudio {
        addr,
        port,
        payload_types,
        telephone_event,
    })
}

impl RemoteAudio {
    /// What we use with this far end: its first G.711 codec, its telephone-event type.
    pub fn negotiate(&self) -> Result<Negotiated, SdpError> {
        let law = self
            .payload_types
            .iter()
            .find_map(|&pt| Law::from_payload_type(pt))
            .ok_or(SdpError::NoCommonCodec)?;
        Ok(Negotiated {
            remote: SocketAddr::new(self.addr, self.port),
            law,
            dtmf_pt: self.telephone_event,
        })
    }
}

fn body(addr: IpAddr, port: u16, session_id: u64, codecs: &[Law], dtmf_pt: Option<u8>) -> String {
    let family = if addr.is_ipv4() { "IP4" } else { "IP6" };
    let mut pts: Vec<String> = codecs.iter().map(|l| l.payload_type().to_string()).collect();
    pts.extend(dtmf_pt.map(|p| p.to_string()));
    let mut s = format!(
        "v=0\r\no=irisx {session_id} {session_id} IN {family} {addr}\r\ns=irisx\r\nc=IN {family} {addr}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {}\r\n",
        pts.join(" ")
    );
    for law in codecs {
        let name = match law {
            Law::Pcmu => "PCMU",
            Law::Pcma => "PCMA",
        };
        s.push_str(&format!("a=rtpmap:{} {name}/8000\r\n", law.payload_type()));
    }
    if let Some(pt) = dtmf_pt {
        s.push_str(&format!("a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n"));
    }
    s.push_str("a=ptime:20\r\na=sendrecv\r\n");
    s
}

/// Our offer: PCMU, PCMA and telephone-event 101.
pub fn offer(addr: IpAddr, port: u16, session_id: u64) -> String {
    offer_of(addr, port, session_id, &[Law::Pcmu, Law::Pcma])
}

/// Our offer of these codecs, in this order, with telephone-event.
pub fn offer_of(addr: IpAddr, port: u16, session_id: u64, codecs: &[Law]) -> String {
    body(addr, port, session_id, codecs, Some(DTMF_PT))
}

/// The codecs named (`PCMU`, `PCMA`, any case), in their order, unknown names left out; both when none is
/// known.
pub fn laws_named(names: &[String]) -> Vec<Law> {
    let mut laws: Vec<Law> = Vec::new();
    for name in names {
        let law = match name.to_ascii_uppercase().as_str() {
            "PCMU" => Law::Pcmu,
            "PCMA" => Law::Pcma,
            _ => continue,
        };
        if !laws.contains(&law) {
            laws.push(law);
        }
    }
    if laws.is_empty() {
        laws = vec![Law::Pcmu, Law::Pcma];
    }
    laws
}

/// Our answer to a parsed offer: the codec chosen and the far end's telephone-event type.
pub fn answer(addr: IpAddr, port: u16, session_id: u64, negotiated: &Negotiated) -> String {
    body(addr, port, session_id, &[negotiated.law], negotiated.dtmf_pt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
        t=0 0\r\nm=audio 6000 RTP/AVP 8 0 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 telephone-event/8000\r\n";

    #[test]
    fn a_trunks_codecs_are_offered_in_its_order_and_none_known_offers_both() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(laws_named(&names(&["PCMA"])), vec![Law::Pcma]);
        assert_eq!(
            laws_named(&names(&["pcma", "PCMU", "PCMA"])),
            vec![Law::Pcma, Law::Pcmu]
        );
        assert_eq!(laws_named(&names(&["G729"])), vec![Law::Pcmu, Law::Pcma]);
        assert_eq!(laws_named(&[]), vec![Law::Pcmu, Law::Pcma]);
        let only_a = offer_of("10.0.0.1".parse().unwrap(), 20000, 1, &[Law::Pcma]);
        assert!(only_a.contains("m=audio 20000 RTP/AVP 8 101\r\n"), "{only_a}");
        assert!(!only_a.contains("PCMU"), "{only_a}");
    }

    #[test]
    fn the_far_ends_first_g711_codec_and_its_event_type_are_chosen() {
        let remote = parse(SIPP_OFFER).unwrap();
        assert_eq!(remote.payload_types, vec![8, 0, 96]);
        let n = remote.negotiate().unwrap();
        assert_eq!(
            (n.law, n.dtmf_pt, n.remote),
            (Law::Pcma, Some(96), "127.0.0.1:6000".parse().unwrap())
        );
        let ans = answer("10.0.0.1".parse().unwrap(), 20000, 1, &n);
        assert!(ans.contains("m=audio 20000 RTP/AVP 8 96\r\n"), "{ans}");
        assert!(ans.contains("a=rtpmap:96 telephone-event/8000"));
    }

    #[test]
    fn our_offer_parses_as_pcmu_first_with_event_101() {
        let n = parse(&offer("192.0.2.7".parse().unwrap(), 30000, 5))
            .unwrap()
            .negotiate()
            .unwrap();
        assert_eq!((n.law, n.dtmf_pt), (Law::Pcmu, Some(101)));
        assert_eq!(n.remote, "192.0.2.7:30000".parse().unwrap());
    }

    #[test]
    fn an_offer_without_g711_or_without_audio_is_refused() {
        let g729 = SIPP_OFFER.replace("RTP/AVP 8 0 96", "RTP/AVP 18");
        assert_eq!(parse(&g729).unwrap().negotiate(), Err(SdpError::NoCommonCodec));
        assert!(matches!(
            parse("v=0\r\nc=IN IP4 1.2.3.4\r\n"),
            Err(SdpError::Malformed(_))
        ));
        assert!(matches!(parse("m=audio x RTP/AVP 0\r\n"), Err(SdpError::Malformed(_))));
        assert!(matches!(
            parse("c=IN IP4 nonsense\r\nm=audio 5 RTP/AVP 0\r\n"),
            Err(SdpError::Malformed(_))
        ));
    }
}
