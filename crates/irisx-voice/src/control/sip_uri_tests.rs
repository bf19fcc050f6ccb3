//! `<Sip>` URIs: the forms taken and the ones refused.

use irisx_core::ports::voice::SipTransport;

use super::SipUri;

#[rstest::rstest]
#[case::plain("sip:alice@pbx.example.com", "alice", "pbx.example.com", 5060, SipTransport::Udp)]
#[case::port_and_tcp(
    "sip:+15551234567@10.0.0.5:5080;transport=tcp",
    "+15551234567",
    "10.0.0.5",
    5080,
    SipTransport::Tcp
)]
#[case::ipv6("sip:bob@[2001:db8::1]:5062", "bob", "2001:db8::1", 5062, SipTransport::Udp)]
#[case::explicit_udp(
    " sip:carol@example.org;transport=UDP ",
    "carol",
    "example.org",
    5060,
    SipTransport::Udp
)]
fn a_sip_uri_gives_its_user_host_port_and_transport(
    #[case] text: &str,
    #[case] user: &str,
    #[case] host: &str,
    #[case] port: u16,
    #[case] transport: SipTransport,
) {
    let uri = SipUri::parse(text).expect("parses");
    assert_eq!(
        (uri.user.as_str(), uri.host.as_str(), uri.port, uri.transport),
        (user, host, port, transport)
    );
}

#[rstest::rstest]
#[case::other_scheme("sips:alice@example.com")]
#[case::no_user("sip:example.com")]
#[case::empty_user("sip:@example.com")]
#[case::bad_port("sip:alice@example.com:99999")]
#[case::zero_port("sip:alice@example.com:0")]
#[case::other_param("sip:alice@example.com;maddr=10.0.0.1")]
#[case::tls("sip:alice@example.com;transport=tls")]
#[case::header_injection("sip:alice@example.com\r\nVia: x")]
#[case::space_in_user("sip:al ice@example.com")]
fn a_malformed_or_unsupported_sip_uri_is_refused(#[case] text: &str) {
    assert_eq!(SipUri::parse(text), None);
}
