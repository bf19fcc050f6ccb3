//! The engine's configuration: where SIP listens, which RTP ports media may use, the address written into
//! Contact and SDP, and the protection limits; the `voice` role fills it from its settings.

use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

/// How the voice engine listens and protects itself.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// The address SIP and RTP sockets bind to.
    pub bind_ip: IpAddr,
    /// The SIP port for UDP and TCP (0: any free port, for tests).
    pub sip_port: u16,
    /// Listen for SIP over UDP.
    pub udp: bool,
    /// Listen for SIP over TCP (on the port UDP got, when `sip_port` is 0).
    pub tcp: bool,
    /// The RTP port range (RTP on even ports, RTCP on the port above).
    pub rtp_ports: RangeInclusive<u16>,
    /// The address advertised in Contact headers and SDP (the public address behind NAT). When unset: `bind_ip`,
    /// or, when that is unspecified, the first non-loopback IPv4 address of the host.
    pub public_ip: Option<IpAddr>,
    /// How long an incoming call may ring unanswered before the engine refuses it (480).
    pub answer_timeout: Duration,
    /// How long an answered call may go without receiving RTP before the engine hangs it up (a far end that
    /// vanished without a BYE).
    pub media_timeout: Duration,
    /// The digest realm of REGISTER challenges.
    pub realm: String,
    /// Concurrent calls allowed per tenant.
    pub max_calls_per_tenant: usize,
    /// Failed digest authentications from one IP address within `ban_window` that get it banned.
    pub ban_after_failures: u32,
    /// The window those failures are counted in.
    pub ban_window: Duration,
    /// How long a banned address is ignored.
    pub ban_duration: Duration,
    /// User-Agent substrings (case-insensitive) of SIP scanners whose requests are dropped unanswered.
    pub scanner_agents: Vec<String>,
    /// The text-to-speech program (espeak-ng).
    pub espeak_program: String,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            bind_ip: IpAddr::from([0, 0, 0, 0]),
            sip_port: 5060,
            udp: true,
            tcp: true,
            rtp_ports: 20000..=30000,
            public_ip: None,
            answer_timeout: Duration::from_secs(60),
            media_timeout: Duration::from_secs(120),
            realm: "irisx".into(),
            max_calls_per_tenant: 100,
            ban_after_failures: 5,
            ban_window: Duration::from_secs(60),
            ban_duration: Duration::from_secs(3600),
            scanner_agents: [
                "friendly-scanner",
                "sipvicious",
                "sipcli",
                "vaxsipuseragent",
                "sipsak",
                "sip-scan",
                "iWar",
                "sundayddr",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            espeak_program: "espeak-ng".into(),
        }
    }
}

impl VoiceConfig {
    /// Checks the settings once, at start-up.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |reason: &str| Err(crate::Error::Config(reason.to_owned()));
        if !self.udp && !self.tcp {
            return bad("SIP needs UDP, TCP or both");
        }
        if !self.udp && self.sip_port == 0 {
            // The TCP listener takes the port UDP was given; alone it needs a fixed one.
            return bad("SIP over TCP alone needs a fixed SIP port");
        }
        let (lo, hi) = (*self.rtp_ports.start(), *self.rtp_ports.end());
        if hi < lo || hi - lo < 3 {
            return bad("the RTP port range must hold at least two even/odd port pairs");
        }
        if self.max_calls_per_tenant == 0 || self.ban_after_failures == 0 {
            return bad("the call limit and the ban threshold must be at least 1");
        }
        if self.answer_timeout.is_zero() || self.media_timeout.is_zero() {
            return bad("the answer and media timeouts must be longer than zero");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_nonsense_is_refused_with_a_reason() {
        assert!(VoiceConfig::default().validate().is_ok());
        let refused = |change: fn(&mut VoiceConfig)| {
            let mut c = VoiceConfig::default();
            change(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(refused(|c| (c.udp, c.tcp) = (false, false)).contains("UDP"));
        assert!(refused(|c| (c.udp, c.sip_port) = (false, 0)).contains("fixed SIP port"));
        assert!(refused(|c| c.rtp_ports = 20000..=20001).contains("RTP port range"));
        assert!(refused(|c| c.max_calls_per_tenant = 0).contains("call limit"));
        assert!(refused(|c| c.media_timeout = Duration::ZERO).contains("timeouts"));
    }
}
