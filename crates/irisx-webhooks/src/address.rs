//! Which IP addresses a webhook may never reach: everything that is not a public unicast address. The tables
//! follow the IANA special-purpose registries; an IPv6 address that carries an IPv4 address (mapped,
//! compatible, SIIT, NAT64, 6to4) is judged by the IPv4 address it carries, so `::ffff:127.0.0.1` is loopback.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `0.0.0.0/8`, "this network".
    ThisNetwork,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64.0.0/10`, carrier-grade NAT.
    SharedNat,
    /// `169.254/16` (the cloud metadata service lives there), `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18/15`, `2001:2::/48`.
    Benchmarking,
    /// Every other special-purpose or unallocated range (`240/4`, `192.0.0/24`, `2001::/23`, `fec0::/10`,
    /// IPv6 outside `2000::/3`, ...).
    Reserved,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "an unspecified address",
            Self::ThisNetwork => "a \"this network\" address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::SharedNat => "a shared (carrier-grade NAT) address",
            Self::LinkLocal => "a link-local address",
            Self::UniqueLocal => "a unique local address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
        })
    }
}

use AddressClass::*;

/// IPv4 ranges, first match wins (the broadcast address sits inside `240/4`).
const V4: &[([u8; 4], u8, AddressClass)] = &[
    ([0, 0, 0, 0], 32, Unspecified),
    ([0, 0, 0, 0], 8, ThisNetwork),
    ([10, 0, 0, 0], 8, Private),
    ([100, 64, 0, 0], 10, SharedNat),
    ([127, 0, 0, 0], 8, Loopback),
    ([169, 254, 0, 0], 16, LinkLocal),
    ([172, 16, 0, 0], 12, Private),
    ([192, 0, 0, 0], 24, Reserved),
    ([192, 0, 2, 0], 24, Documentation),
    ([192, 88, 99, 0], 24, Reserved),
    ([192, 168, 0, 0], 16, Private),
    ([198, 18, 0, 0], 15, Benchmarking),
    ([198, 51, 100, 0], 24, Documentation),
    ([203, 0, 113, 0], 24, Documentation),
    ([224, 0, 0, 0], 4, Multicast),
    ([255, 255, 255, 255], 32, Broadcast),
    ([240, 0, 0, 0], 4, Reserved),
];

/// IPv6 ranges that carry no IPv4 address, first match wins (benchmarking sits inside `2001::/23`).
const V6: &[([u16; 8], u8, AddressClass)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, Unspecified),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, Loopback),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, Reserved),
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Documentation),
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
    ([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48, Benchmarking),
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reserved),
    ([0x0100, 0, 0, 0, 0, 0, 0, 0], 64, Reserved),
    ([0x64, 0xff9b, 0x1, 0, 0, 0, 0, 0], 48, Reserved),
];

/// The class of a refused address, or `None` for a public unicast address.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let bits = u32::from(ip);
    V4.iter()
        .find(|(net, len, _)| prefix_matches(bits.into(), u32::from_be_bytes(*net).into(), *len, 32))
        .map(|(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let bits = u128::from(ip);
    if let Some(class) = V6
        .iter()
        .find(|(net, len, _)| prefix_matches(bits, u128::from(Ipv6Addr::from(*net)), *len, 128))
        .map(|(_, _, class)| *class)
    {
        return Some(class);
    }
    if let Some((v4, deprecated)) = embedded_v4(bits) {
        return classify_v4(v4).or(deprecated.then_some(Reserved));
    }
    // IANA allocates global unicast from 2000::/3 only.
    (bits >> 125 != 0b001).then_some(Reserved)
}

/// The IPv4 address an IPv6 address carries, and whether the form is deprecated (then refused even when the
/// IPv4 address is public).
fn embedded_v4(bits: u128) -> Option<(Ipv4Addr, bool)> {
    let low32 = Ipv4Addr::from(bits as u32);
    let forms: [(u128, u8, bool); 4] = [
        (0xffff_0000_0000, 96, false),       // ::ffff:a.b.c.d, mapped
        (0xffff_0000_0000_0000, 96, true),   // ::ffff:0:a.b.c.d, SIIT
        (0x0064_ff9b_u128 << 96, 96, false), // 64:ff9b::a.b.c.d, NAT64
        (0, 96, true),                       // ::a.b.c.d, compatible
    ];
    if let Some((_, _, deprecated)) = forms.iter().find(|(net, len, _)| prefix_matches(bits, *net, *len, 128)) {
        return Some((low32, *deprecated));
    }
    // 2002:aabb:ccdd::/48, 6to4, carries aa.bb.cc.dd.
    (bits >> 112 == 0x2002).then(|| (Ipv4Addr::from((bits >> 80) as u32), false))
}

/// Whether the first `len` of `width` bits of `bits` and `net` agree.
fn prefix_matches(bits: u128, net: u128, len: u8, width: u8) -> bool {
    if len == 0 {
        return true;
    }
    let shift = u32::from(width - len);
    bits >> shift == net >> shift
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("0.0.0.0", Unspecified)]
    #[case("0.1.2.3", ThisNetwork)]
    #[case("127.0.0.1", Loopback)]
    #[case("127.255.255.254", Loopback)]
    #[case("10.0.0.1", Private)]
    #[case("172.16.0.1", Private)]
    #[case("172.31.255.255", Private)]
    #[case("192.168.1.1", Private)]
    #[case("100.64.0.1", SharedNat)]
    #[case("100.127.255.255", SharedNat)]
    #[case("169.254.169.254", LinkLocal)]
    #[case("169.254.0.1", LinkLocal)]
    #[case("224.0.0.1", Multicast)]
    #[case("239.255.255.250", Multicast)]
    #[case("255.255.255.255", Broadcast)]
    #[case("192.0.2.1", Documentation)]
    #[case("198.51.100.7", Documentation)]
    #[case("203.0.113.9", Documentation)]
    #[case("198.18.0.1", Benchmarking)]
    #[case("198.19.255.255", Benchmarking)]
    #[case("192.0.0.8", Reserved)]
    #[case("192.88.99.1", Reserved)]
    #[case("240.0.0.1", Reserved)]
    #[case("::", Unspecified)]
    #[case("::1", Loopback)]
    #[case("fe80::1", LinkLocal)]
    #[case("febf::1", LinkLocal)]
    #[case("fc00::1", UniqueLocal)]
    #[case("fd12:3456::1", UniqueLocal)]
    #[case("ff02::1", Multicast)]
    #[case("2001:db8::1", Documentation)]
    #[case("3fff::1", Documentation)]
    #[case("2001:2::1", Benchmarking)]
    #[case("2001::1", Reserved)]
    #[case("100::1", Reserved)]
    #[case("fec0::1", Reserved)]
    #[case("4000::1", Reserved)]
    #[case("::ffff:127.0.0.1", Loopback)]
    #[case("::ffff:10.1.2.3", Private)]
    #[case("::ffff:169.254.169.254", LinkLocal)]
    #[case("::ffff:100.64.1.1", SharedNat)]
    #[case("::127.0.0.1", Loopback)]
    #[case("::10.0.0.1", Private)]
    #[case("::8.8.8.8", Reserved)]
    #[case("::ffff:0:127.0.0.1", Loopback)]
    #[case("64:ff9b::127.0.0.1", Loopback)]
    #[case("64:ff9b::a9fe:a9fe", LinkLocal)]
    #[case("64:ff9b:1::1", Reserved)]
    #[case("2002:7f00:1::", Loopback)]
    #[case("2002:c0a8:101::1", Private)]
    fn special_purpose_addresses_are_refused_with_their_class(#[case] ip: &str, #[case] class: AddressClass) {
        assert_eq!(classify(ip.parse().unwrap()), Some(class), "{ip}");
    }

    #[rstest]
    #[case("8.8.8.8")]
    #[case("1.1.1.1")]
    #[case("93.184.215.14")]
    #[case("100.63.255.255")]
    #[case("100.128.0.1")]
    #[case("172.15.255.255")]
    #[case("172.32.0.1")]
    #[case("169.253.255.255")]
    #[case("223.255.255.255")]
    #[case("2606:4700:4700::1111")]
    #[case("2a00:1450:4001::200e")]
    #[case("::ffff:8.8.8.8")]
    #[case("64:ff9b::808:808")]
    #[case("2002:808:808::1")]
    fn public_unicast_addresses_are_allowed(#[case] ip: &str) {
        assert_eq!(classify(ip.parse().unwrap()), None, "{ip}");
    }

    #[test]
    fn the_class_reads_as_part_of_a_sentence() {
        assert_eq!(Loopback.to_string(), "a loopback address");
        assert_eq!(LinkLocal.to_string(), "a link-local address");
    }
}
