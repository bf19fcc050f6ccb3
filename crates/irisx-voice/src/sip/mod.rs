//! SIP signalling on rsipstack: UDP and TCP listeners on one port, an endpoint whose transport inspector drops
//! banned addresses and scanners before any transaction exists, and the helpers that read users and addresses
//! out of requests.

pub mod registrar;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use rsipstack::EndpointBuilder;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Host, Request, SipMessage};
use rsipstack::transaction::TransactionReceiver;
use rsipstack::transaction::endpoint::{EndpointInnerRef, TransportEventInspector};
use rsipstack::transport::TransportLayer;
use rsipstack::transport::connection::{SipConnection, TransportEvent};
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use tokio_util::sync::CancellationToken;

use crate::config::VoiceConfig;
use crate::error::Error;
use crate::protect::Guard;

/// The running SIP stack.
pub struct SipStack {
    /// The transaction layer.
    pub endpoint: EndpointInnerRef,
    /// Dialogs (calls) on top of it.
    pub dialog_layer: Arc<DialogLayer>,
    /// Where SIP listens (UDP, and TCP on the same port).
    pub local: SocketAddr,
    /// The address written into Contact headers and SDP.
    pub advertised: IpAddr,
}

/// Drops everything from banned addresses and every request from a scanner's user agent, unanswered.
struct Protect {
    guard: Arc<Guard>,
}

#[async_trait]
impl TransportEventInspector for Protect {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        let TransportEvent::Incoming(msg, _, from) = &event else {
            return Some(event);
        };
        if let Host::IpAddr(ip) = from.addr.host
            && self.guard.is_banned(ip)
        {
            tracing::debug!(%ip, "dropped a message from a banned address");
            return None;
        }
        if let SipMessage::Request(req) = msg
            && let Some(ua) = req.user_agent_header()
            && self.guard.is_scanner(ua.value())
        {
            tracing::info!(source = %from, user_agent = ua.value(), "dropped a request from a SIP scanner");
            return None;
        }
        Some(event)
    }
}

impl SipStack {
    /// Opens the listeners and starts the endpoint; returns the stack and its incoming transactions.
    pub async fn start(
        config: &VoiceConfig,
        guard: Arc<Guard>,
        cancel: &CancellationToken,
    ) -> Result<(SipStack, TransactionReceiver), Error> {
        let transport = TransportLayer::new(cancel.child_token());
        let mut addr = SocketAddr::new(config.bind_ip, config.sip_port);
        let mut advertised = config.public_ip.unwrap_or(config.bind_ip);
        let external = |port| config.public_ip.map(|ip| SocketAddr::new(ip, port));
        if config.udp {
            let (udp, port, ip) = bind_udp(config, addr, &external, cancel).await?;
            addr.set_port(port);
            if advertised.is_unspecified() {
                advertised = ip;
            }
            transport.add_transport(udp.into());
        }
        if config.tcp {
            let tcp = TcpListenerConnection::new(addr, external(addr.port()))
                .await
                .map_err(|source| Error::Listen {
                    addr,
                    source: Box::new(source),
                })?;
            transport.add_transport(tcp.into());
        }
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.child_token())
            .with_transport_layer(transport)
            .with_user_agent("IRISX")
            .with_transport_inspector(Box::new(Protect { guard }))
            .build();
        let incoming = endpoint.incoming_transactions()?;
        let inner = endpoint.inner.clone();
        let dialog_layer = Arc::new(DialogLayer::new(inner.clone()));
        tokio::spawn(async move { endpoint.serve().await });
        if advertised.is_unspecified() {
            advertised = IpAddr::from([127, 0, 0, 1]);
        }
        Ok((
            SipStack {
                endpoint: inner,
                dialog_layer,
                local: addr,
                advertised,
            },
            incoming,
        ))
    }
}

/// Binds the UDP listener. With port 0 (tests), it retries until the port it got is also free for TCP, which
/// listens on the same port (rsipstack binds TCP only once serving, where a clash would go unnoticed).
/// Returns the connection, its port and the address rsipstack reports for it (for an unspecified bind
/// address: the host's first non-loopback IPv4 address).
async fn bind_udp(
    config: &VoiceConfig,
    addr: SocketAddr,
    external: &impl Fn(u16) -> Option<SocketAddr>,
    cancel: &CancellationToken,
) -> Result<(UdpConnection, u16, IpAddr), Error> {
    for _ in 0..10 {
        let udp = UdpConnection::create_connection(addr, external(addr.port()), Some(cancel.child_token()))
            .await
            .map_err(|source| Error::Listen {
                addr,
                source: Box::new(source),
            })?;
        let bound = udp.get_addr().addr.clone();
        let port = bound.port.map(u16::from).unwrap_or(addr.port());
        let ip = match bound.host {
            Host::IpAddr(ip) => ip,
            Host::Domain(_) => addr.ip(),
        };
        let tcp_free = std::net::TcpListener::bind(SocketAddr::new(addr.ip(), port)).is_ok();
        if !config.tcp || addr.port() != 0 || tcp_free {
            return Ok((udp, port, ip));
        }
    }
    Err(Error::Config("no port free for both UDP and TCP SIP".into()))
}

/// The user part of a request's Request-URI (the number or user dialled).
pub fn request_user(req: &Request) -> String {
    req.uri.auth.as_ref().map(|a| a.user.clone()).unwrap_or_default()
}

/// The user part of the From header.
pub fn from_user(req: &Request) -> String {
    req.from_header()
        .ok()
        .and_then(|f| f.uri().ok())
        .and_then(|u| u.auth.map(|a| a.user))
        .unwrap_or_default()
}

/// The address a request came from (the Via's received/rport the transport layer wrote).
pub fn source(req: &Request) -> Option<SocketAddr> {
    let (_, hp) = SipConnection::parse_target_from_via(req.via_header().ok()?).ok()?;
    let Host::IpAddr(ip) = hp.host else { return None };
    Some(SocketAddr::new(ip, hp.port.map(u16::from).unwrap_or(5060)))
}

/// The source IP, or the unspecified address when unknown.
pub fn source_ip(req: &Request) -> IpAddr {
    source(req).map(|s| s.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}
