//! Name resolution under the SSRF rules. The HTTP client resolves every host through [`GuardedResolver`],
//! which passes on only the addresses the policy allows, so the address connected to is the address checked.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::WebhookError;
use crate::address::AddressClass;
use crate::policy::AddressPolicy;

/// How long a lookup may take before the host counts as unresolvable.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves with the system resolver (through tokio) and keeps only the allowed addresses; fails when none
/// is left, naming the refused ones.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl GuardedResolver {
    pub(crate) fn new(policy: Arc<AddressPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = lookup(&host).await?;
            if policy.allows_host(&host) {
                return Ok(to_addrs(addresses));
            }
            let (allowed, refused) = split(&policy, addresses);
            if allowed.is_empty() {
                return Err(Box::new(WebhookError::Refused(refusal_message(&host, &refused))) as _);
            }
            if !refused.is_empty() {
                tracing::debug!(host, refused = refused.len(), "skipping refused addresses");
            }
            Ok(to_addrs(allowed))
        })
    }
}

/// Every address `host` resolves to now (port 0: the client puts the URL's port in).
pub(crate) async fn lookup(host: &str) -> Result<Vec<IpAddr>, WebhookError> {
    let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 0)))
        .await
        .map_err(|_| WebhookError::NoAddress { host: host.to_owned() })?
        .map_err(|source| WebhookError::Resolve {
            host: host.to_owned(),
            source,
        })?;
    let mut addresses: Vec<IpAddr> = found.map(|a| a.ip()).collect();
    addresses.dedup();
    if addresses.is_empty() {
        return Err(WebhookError::NoAddress { host: host.to_owned() });
    }
    Ok(addresses)
}

/// The allowed addresses, and the refused ones with their class.
pub(crate) fn split(policy: &AddressPolicy, addresses: Vec<IpAddr>) -> (Vec<IpAddr>, Vec<(IpAddr, AddressClass)>) {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    for ip in addresses {
        match policy.refusal(ip) {
            None => allowed.push(ip),
            Some(class) => refused.push((ip, class)),
        }
    }
    (allowed, refused)
}

/// `"localhost resolves to 127.0.0.1, a loopback address; ::1, a loopback address"`.
pub(crate) fn refusal_message(host: &str, refused: &[(IpAddr, AddressClass)]) -> String {
    let list: Vec<String> = refused.iter().map(|(ip, class)| format!("{ip}, {class}")).collect();
    format!("{host} resolves to {}", list.join("; "))
}

fn to_addrs(addresses: Vec<IpAddr>) -> Addrs {
    Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_each_address_and_its_class() {
        let refused = [
            ("127.0.0.1".parse().unwrap(), AddressClass::Loopback),
            ("::1".parse().unwrap(), AddressClass::Loopback),
        ];
        assert_eq!(
            refusal_message("localhost", &refused),
            "localhost resolves to 127.0.0.1, a loopback address; ::1, a loopback address"
        );
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses_and_fails_when_none_is_left() {
        let open = GuardedResolver::new(Arc::new(AddressPolicy::parse(&["127.0.0.0/8".into()]).unwrap()));
        let addrs: Vec<_> = open.resolve("localhost".parse().unwrap()).await.unwrap().collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.is_ipv4()), "{addrs:?}");

        let closed = GuardedResolver::new(Arc::new(AddressPolicy::default()));
        let err = closed.resolve("localhost".parse().unwrap()).await.err().unwrap();
        assert!(err.to_string().contains("127.0.0.1, a loopback address"), "{err}");
    }
}
