//! The SSRF policy: refuse every address [`classify`] names, except what the operator allowlisted (CIDR
//! blocks, single addresses or exact host names, for development and tests).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::WebhookError;
use crate::address::{AddressClass, classify};

/// The allowlist, parsed once at start-up.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressPolicy {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

impl AddressPolicy {
    /// Parses allowlist entries: `127.0.0.0/8`, `::1/128`, `10.1.2.3`, `hooks.internal`.
    pub(crate) fn parse(entries: &[String]) -> Result<Self, WebhookError> {
        let mut policy = Self::default();
        for entry in entries {
            match parse_entry(entry.trim()) {
                Ok(Entry::Net(net)) => policy.nets.push(net),
                Ok(Entry::Host(host)) => policy.hosts.push(host),
                Err(reason) => {
                    return Err(WebhookError::AllowlistEntry {
                        entry: entry.clone(),
                        reason,
                    });
                }
            }
        }
        Ok(policy)
    }

    /// Why `ip` may not be connected to, or `None` when it may.
    pub(crate) fn refusal(&self, ip: IpAddr) -> Option<AddressClass> {
        let canonical = ip.to_canonical();
        if self
            .nets
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return None;
        }
        classify(ip)
    }

    /// Whether the host name was allowlisted as such (every address it resolves to is then allowed).
    pub(crate) fn allows_host(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.hosts.contains(&host)
    }
}

enum Entry {
    Net(IpNet),
    Host(String),
}

fn parse_entry(entry: &str) -> Result<Entry, String> {
    if entry.is_empty() {
        return Err("it is empty".into());
    }
    if entry.contains('/') {
        let net: IpNet = entry
            .parse()
            .map_err(|_| "it is not a CIDR block like 127.0.0.0/8 or fd00::/8".to_owned())?;
        return Ok(Entry::Net(net.trunc()));
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Ok(Entry::Net(IpNet::from(ip)));
    }
    let host = normalize_host(entry);
    check_host_name(&host)?;
    Ok(Entry::Host(host))
}

fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A DNS name: dot-separated labels of letters, digits and inner hyphens; the last label not all digits (so
/// `10.0.0.256` is a bad address, not a name).
fn check_host_name(host: &str) -> Result<(), String> {
    if host.contains(':') || host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err("it is not a valid IP address".into());
    }
    if host.len() > 253 {
        return Err("a host name has at most 253 characters".into());
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !host.split('.').all(label_ok) {
        return Err("it is not a host name (letters, digits, hyphens and dots)".into());
    }
    if host
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("a host name's last label cannot be all digits".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn policy(entries: &[&str]) -> AddressPolicy {
        AddressPolicy::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[rstest]
    #[case("127.0.0.0/8", "127.9.9.9")]
    #[case("127.0.0.0/8", "::ffff:127.0.0.1")]
    #[case("10.0.0.1/8", "10.200.0.1")]
    #[case("10.1.2.3", "10.1.2.3")]
    #[case("::1/128", "::1")]
    #[case("::1", "::1")]
    #[case("fd00::/8", "fd00::42")]
    #[case(" 192.168.0.0/16 ", "192.168.7.7")]
    fn an_allowlisted_block_lets_its_addresses_through(#[case] entry: &str, #[case] ip: &str) {
        assert_eq!(policy(&[entry]).refusal(ip.parse().unwrap()), None);
    }

    #[rstest]
    #[case("127.0.0.0/8", "10.0.0.1", AddressClass::Private)]
    #[case("127.0.0.0/8", "::1", AddressClass::Loopback)]
    #[case("10.1.2.3", "10.1.2.4", AddressClass::Private)]
    #[case("localhost", "127.0.0.1", AddressClass::Loopback)]
    fn addresses_outside_the_allowlist_keep_their_refusal(
        #[case] entry: &str,
        #[case] ip: &str,
        #[case] class: AddressClass,
    ) {
        assert_eq!(policy(&[entry]).refusal(ip.parse().unwrap()), Some(class));
    }

    #[test]
    fn an_empty_allowlist_refuses_loopback_and_allows_public_addresses() {
        let policy = policy(&[]);
        assert_eq!(
            policy.refusal("127.0.0.1".parse().unwrap()),
            Some(AddressClass::Loopback)
        );
        assert_eq!(policy.refusal("8.8.8.8".parse().unwrap()), None);
    }

    #[rstest]
    #[case("localhost", "localhost")]
    #[case("Hooks.Internal.", "hooks.internal")]
    #[case("receiver-1.test", "RECEIVER-1.test")]
    fn host_names_match_exactly_ignoring_case_and_the_final_dot(#[case] entry: &str, #[case] host: &str) {
        let policy = policy(&[entry]);
        assert!(policy.allows_host(host));
        assert!(!policy.allows_host("other.test"));
        assert!(!policy.allows_host(&format!("sub.{host}")));
    }

    #[rstest]
    #[case("")]
    #[case("127.0.0.0/33")]
    #[case("::1/129")]
    #[case("10.0.0.0/x")]
    #[case("not a host")]
    #[case("10.0.0.256")]
    #[case("1.2.3")]
    #[case("fe80::zz")]
    #[case("-bad.example")]
    #[case("under_score.example")]
    #[case("http://localhost")]
    fn a_bad_allowlist_entry_is_refused_naming_it(#[case] entry: &str) {
        let err = AddressPolicy::parse(&[entry.to_owned()]).unwrap_err();
        assert!(matches!(err, WebhookError::AllowlistEntry { .. }), "{err:?}");
        assert!(err.to_string().contains(&format!("`{entry}`")), "{err}");
    }
}
